"""`masthead migrate`: apply the database migrations this version has and the database lacks."""

from __future__ import annotations

import sys

import click

from masthead.app.workspace import database_settings, open_database
from masthead.cli.common import CliState, echo, pass_state
from masthead.config_files import find_workspace


@click.command("migrate")
@click.option("--check", is_flag=True, help="Apply nothing; list pending migrations and exit 1 if there are any.")
@pass_state
def migrate_cmd(state: CliState, check: bool) -> None:
    """Apply pending schema migrations (SQLite or Postgres) and print each one applied.

    Every command applies them when it opens the database anyway; run this first when you
    upgrade, so that workers on other machines start on the new schema.
    """
    root = find_workspace(state.workspace_option)
    _, _, database, synchronous = database_settings(root)
    store = open_database(root, database, synchronous, create=False, migrate=False)
    try:
        pending = store.pending_migrations()
        if check:
            for name in pending:
                echo(f"pending {name}")
            echo(f"{len(pending)} pending migration(s) on {store.location}")
            sys.exit(1 if pending else 0)  # click would turn its own Exit into a return value here
        applied = store.migrate()
        for name in applied:
            echo(f"applied {name}")
        echo(f"{store.location}: {'up to date' if not applied else f'{len(applied)} migration(s) applied'}")
    finally:
        store.close()
