"""Entry point: `masthead [--workspace DIR] COMMAND ...`.

Errors the user can act on (`MastheadError`) print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import sys

import click

from masthead import __version__
from masthead.cli import (
    ab,
    costs,
    demo,
    inspect,
    jobs,
    memory,
    migrate,
    project,
    publishers,
    review,
    run,
    serve,
    signal,
    signals,
    snapshot,
    token,
    workers,
    workspace_cmds,
)
from masthead.cli.common import CliState
from masthead.errors import ConfigError, MastheadError

# Validation errors from masthead.toml, project and recipe files name the path and the problem
# but carry no fix of their own; every error line the CLI prints should say what to do.
CONFIG_FIX = "correct the field it names in that file (docs/configuration.md lists every key)"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", metavar="DIR", default=None,
              help="Workspace folder (default: $MASTHEAD_HOME, else the current folder or a parent).")
@click.version_option(__version__, prog_name="masthead")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None) -> None:
    """Masthead: signals in, checked and reviewed content out, every step on an append-only log."""
    state = CliState(workspace)
    ctx.obj = state
    ctx.call_on_close(state.close)


for module in (workspace_cmds, project, signal, run, review, inspect, memory, costs, demo, serve, token,
               workers, migrate, snapshot, ab, jobs, signals):
    module.register(cli)
publishers.register(cli)


def error_lines(error: MastheadError) -> list[str]:
    """One `error: ...` line per problem (a YAML file can have several); the fix ends the last."""
    text = str(error)
    if error.fix is None and isinstance(error, ConfigError):
        text += f" (fix: {CONFIG_FIX})"
    return [f"error: {line}" for line in text.splitlines() if line.strip()] or ["error: (no message)"]


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="masthead", standalone_mode=False)
    except MastheadError as error:
        for line in error_lines(error):
            click.echo(line, err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted; run the same command again to resume", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
