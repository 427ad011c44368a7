"""Workspaces whose channels publish through real publishers pointed at loopback fakes."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import write_config

from masthead.app.commands import apply_project
from masthead.app.workspace import Workspace, init_workspace

MASTODON_TOKEN_ENV = "MASTHEAD_TEST_MASTODON_TOKEN"
BLUESKY_PASSWORD_ENV = "MASTHEAD_TEST_BLUESKY_PASSWORD"
HOOK_SECRET_ENV = "MASTHEAD_TEST_PUBLISH_HOOK_SECRET"
GHOST_KEY_ENV = "MASTHEAD_TEST_GHOST_ADMIN_KEY"
WORDPRESS_PASSWORD_ENV = "MASTHEAD_TEST_WORDPRESS_APP_PASSWORD"
SMTP_USER_ENV = "MASTHEAD_TEST_SMTP_USER"
SMTP_PASSWORD_ENV = "MASTHEAD_TEST_SMTP_PASSWORD"
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


def ghost_table(base_url: str, name: str = "ghost", status: str = "published", timeout: float = 5.0) -> str:
    return (f'[publishers.{name}]\nkind = "ghost"\nbase_url = "{base_url}"\nadmin_key_env = "{GHOST_KEY_ENV}"\n'
            f'status = "{status}"\ntimeout_seconds = {timeout}\n')


def wordpress_table(base_url: str, username: str = "ana", name: str = "wordpress", status: str = "publish",
                    timeout: float = 5.0) -> str:
    return (f'[publishers.{name}]\nkind = "wordpress"\nbase_url = "{base_url}"\nusername = "{username}"\n'
            f'app_password_env = "{WORDPRESS_PASSWORD_ENV}"\nstatus = "{status}"\ntimeout_seconds = {timeout}\n')


def smtp_table(port: int, name: str = "mail", starttls: bool = False, ca_file: str | None = None,
               timeout: float = 5.0, login: bool = True) -> str:
    table = (f'[publishers.{name}]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
             f'starttls = {str(starttls).lower()}\nfrom = "Tallybook <news@tallybook.example>"\n'
             f'to = ["readers@lists.tallybook.example", "ana@tallybook.example"]\n'
             f'list_unsubscribe = "https://tallybook.example/unsubscribe"\ntimeout_seconds = {timeout}\n')
    if login:
        table += f'username_env = "{SMTP_USER_ENV}"\npassword_env = "{SMTP_PASSWORD_ENV}"\n'
    if ca_file:
        table += f'ca_file = "{ca_file}"\n'
    return table


def publishing_workspace(root: Path, openai_url: str, tables: str, publish_to: list[str],
                         channel: str = "x", **runtime: object) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    write_config(root, openai_url, **runtime)
    with (root / "masthead.toml").open("a", encoding="utf-8") as config:
        config.write("\n" + tables)
    ws, _ = init_workspace(root)
    (root / "project.yaml").write_text(project_yaml(publish_to, channel), "utf-8")
    apply_project(ws, root / "project.yaml")
    return ws
