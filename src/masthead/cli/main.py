"""Entry point: `masthead [--workspace DIR] COMMAND ...`.

Errors the user can act on (`MastheadError`) print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import sys

import click

from masthead import __version__
from masthead.cli import demo, inspect, project, review, run, signal, workspace_cmds
from masthead.cli.common import CliState
from masthead.errors import MastheadError


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


for module in (workspace_cmds, project, signal, run, review, inspect, demo):
    module.register(cli)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="masthead", standalone_mode=False)
    except MastheadError as error:
        click.echo(f"error: {error}", err=True)
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
