"""Shared CLI plumbing: the lazily opened workspace and JSON output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import click

from masthead.app.workspace import Workspace, open_workspace


@dataclass
class CliState:
    workspace_option: str | None
    _workspace: Workspace | None = field(default=None, init=False)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = open_workspace(self.workspace_option)
        return self._workspace

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


pass_state = click.make_pass_decorator(CliState)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def short(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
