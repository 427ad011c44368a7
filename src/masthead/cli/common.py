"""Shared CLI plumbing: the lazily opened workspace, terminal-safe text output and JSON output.

Every line a command prints goes through `echo` (or `echo_json` for --json), the one place
where text from signals, models and other people is made safe for a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the workspace pulls in the store, runtime and providers: only commands that use it pay
    from masthead.app.permissions import Principal
    from masthead.app.workspace import Workspace


def command_path(ctx: click.Context) -> str:
    """The command's path after `masthead`, e.g. "review approve" (whatever the program is called)."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


@dataclass
class CliState:
    """The CLI acts as one person: `--as NAME` (of the command, else of `masthead`), else
    $MASTHEAD_USER, else the workspace's operator (the owner). The first time a command opens the
    workspace, its action (app/permissions.py CLI_ACTIONS) is checked for that person."""

    workspace_option: str | None
    user_option: str | None = None
    _workspace: Workspace | None = field(default=None, init=False)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from masthead.app.workspace import open_workspace

            self._workspace = open_workspace(self.workspace_option)
            self._check_command()
        return self._workspace

    def acting_name(self) -> str | None:
        ctx = click.get_current_context(silent=True)
        own = ctx.params.get("operator") if ctx is not None else None
        return own if isinstance(own, str) and own else self.user_option

    def principal(self) -> Principal:
        from masthead.app.people import as_owner_token

        return as_owner_token(self.workspace(), self.acting_name())

    def _check_command(self) -> None:
        from masthead.app.permissions import authorize, cli_action

        ctx = click.get_current_context(silent=True)
        if ctx is None or ctx.parent is None:
            return
        action = cli_action(command_path(ctx))
        if action == "read" and self.acting_name() is None:
            # Every role may read, and the operator's shell already reads the database file: a
            # plain listing resolves no person (that would load the users and the whole config,
            # about half of its start-up CPU, benchmarks/cli.py). A name given with --as or $MASTHEAD_USER is still checked.
            return
        authorize(self.principal(), action)

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


pass_state = click.make_pass_decorator(CliState)

# Characters a terminal acts on instead of showing: C0 controls (ESC starts `ESC]0;title BEL`
# and `ESC[2J`), DEL, C1 controls (U+009B is a one-character CSI) and the bidi controls that
# reorder what a reader sees (U+202E shows "txt.exe" as "exe.txt"). Newline and tab keep their
# meaning in a printed body. C0 become `\x1b` as Python shows them; the rest `\u202e`, which is
# also a valid JSON escape, so a JSON document that passes through stays valid and equal.
_BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_ESCAPES: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in range(0x20) if chr(code) not in "\n\t"},
    **{code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0), *_BIDI_CONTROLS)},
}


def terminal_safe(text: str) -> str:
    """`text` with every control and bidi character shown as an escape; newlines and tabs kept."""
    return text.replace("\r\n", "\n").translate(_ESCAPES)


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """click.echo for anything that may hold text from outside: signals, model output, names."""
    click.echo(terminal_safe(str(message)), err=err, nl=nl)


def echo_lines(lines: Iterable[str]) -> None:
    """Many lines in one write: a listing of 1,000 rows through 1,000 click.echo calls costs
    ~20 ms in a cProfile of `masthead pieces list` (benchmarks/cli.py builds that workspace)."""
    text = "\n".join(lines)
    if text:
        echo(text)


def echo_json(value: Any, *, one_line: bool = False) -> None:
    """--json output as it is: JSON escapes C0 controls itself, and scripts read the exact values."""
    if one_line:  # JSON Lines (`masthead log --json`): one object per line, keys sorted
        click.echo(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    else:
        click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def short(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
