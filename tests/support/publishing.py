"""Workspaces whose channels publish through real publishers pointed at loopback fakes."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import write_config

from masthead.app.commands import apply_project
from masthead.app.workspace import Workspace, init_workspace

MASTODON_TOKEN_ENV = "MASTHEAD_TEST_MASTODON_TOKEN"
BLUESKY_PASSWORD_ENV = "MASTHEAD_TEST_BLUESKY_PASSWORD"
HOOK_SECRET_ENV = "MASTHEAD_TEST_PUBLISH_HOOK_SECRET"
X_TOKEN_ENV = "MASTHEAD_TEST_X_TOKEN"
LINKEDIN_TOKEN_ENV = "MASTHEAD_TEST_LINKEDIN_TOKEN"


def project_yaml(publish_to: list[str], channel: str = "x") -> str:
    return f"""\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {{description: Plain.}}
channels:
  {channel}: {{gate: auto, publish_to: [{", ".join(publish_to)}]}}
"""


def mastodon_table(base_url: str, name: str = "mastodon", timeout: float = 5.0) -> str:
    return (f'[publishers.{name}]\nkind = "mastodon"\nbase_url = "{base_url}"\n'
            f'token_env = "{MASTODON_TOKEN_ENV}"\ntimeout_seconds = {timeout}\n')


def bluesky_table(base_url: str, handle: str, name: str = "bluesky", timeout: float = 5.0) -> str:
    return (f'[publishers.{name}]\nkind = "bluesky"\nbase_url = "{base_url}"\nhandle = "{handle}"\n'
            f'app_password_env = "{BLUESKY_PASSWORD_ENV}"\ntimeout_seconds = {timeout}\n')


def x_table(base_url: str, name: str = "x", timeout: float = 5.0) -> str:
    return (f'[publishers.{name}]\nkind = "x"\nbase_url = "{base_url}"\n'
            f'token_env = "{X_TOKEN_ENV}"\ntimeout_seconds = {timeout}\n')


def linkedin_table(base_url: str, author: str, name: str = "linkedin", timeout: float = 5.0,
                   api_version: str = "202511") -> str:
    return (f'[publishers.{name}]\nkind = "linkedin"\nbase_url = "{base_url}"\nauthor = "{author}"\n'
            f'api_version = "{api_version}"\ntoken_env = "{LINKEDIN_TOKEN_ENV}"\ntimeout_seconds = {timeout}\n')


def webhook_table(url: str, name: str = "hook", timeout: float = 5.0) -> str:
    return (f'[publishers.{name}]\nkind = "webhook"\nurl = "{url}"\nsecret_env = "{HOOK_SECRET_ENV}"\n'
            f"timeout_seconds = {timeout}\n")


def publishing_workspace(root: Path, openai_url: str, tables: str, publish_to: list[str],
                         **runtime: object) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    write_config(root, openai_url, **runtime)
    with (root / "masthead.toml").open("a", encoding="utf-8") as config:
        config.write("\n" + tables)
    ws, _ = init_workspace(root)
    (root / "project.yaml").write_text(project_yaml(publish_to), "utf-8")
    apply_project(ws, root / "project.yaml")
    return ws
