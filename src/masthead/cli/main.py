"""Entry point: `masthead [--workspace DIR] COMMAND ...`.

Errors the user can act on (`MastheadError`) print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import sys

import click

from masthead import __version__
from masthead.cli.common import CliState, terminal_safe
from masthead.cli.lazy import LazyCommand, LazyGroup
from masthead.errors import ConfigError, MastheadError

# Every command: its name, where it lives and its line in `masthead --help`. Modules are imported
# only when their command runs (or the docs are generated), so start-up stays fast; a new command
# group is one line here.
COMMANDS: dict[str, LazyCommand] = {
    "ab": LazyCommand("masthead.cli.ab:ab_group",
                      "A/B tests of a piece's subject lines: posteriors, probability of being best, the winner."),
    "backup": LazyCommand("masthead.cli.history:backup_cmd",
                          "Back up the workspace's database into a new folder, consistent while writers run."),
    "costs": LazyCommand("masthead.cli.costs:costs_cmd",
                         "Money and tokens spent on model calls, cost per published piece and per won proposal,"
                         " budget use."),
    "demo": LazyCommand("masthead.cli.demo:demo_cmd",
                        "Create a sample workspace and turn sample release notes into reviewed pieces."),
    "export": LazyCommand("masthead.cli.history:export_cmd",
                          "Write the whole log (or the events after --since), with hashes and a manifest, to one"
                          " file."),
    "forget-person": LazyCommand("masthead.cli.user:forget_person_cmd",
                                 "Forget a person's personal data: delete the key it is encrypted with"
                                 " (crypto-shredding)."),
    "import": LazyCommand("masthead.cli.history:import_cmd",
                          "Import an export file into an empty workspace (SQLite or Postgres), verified before and"
                          " after."),
    "init": LazyCommand("masthead.cli.workspace_cmds:init_cmd",
                        "Create a workspace: masthead.toml (commented defaults) and the database."),
    "jobs": LazyCommand("masthead.cli.jobs:jobs_group", "Jobs: one run of a recipe for one signal."),
    "log": LazyCommand("masthead.cli.workspace_cmds:log_cmd", "Print events from the log, oldest first."),
    "memory": LazyCommand("masthead.cli.memory:memory_group",
                          "Project memory: facts, exemplars, past pieces, notes, meta-notes and feedback."),
    "migrate": LazyCommand("masthead.cli.migrate:migrate_cmd",
                           "Apply pending schema migrations (SQLite or Postgres) and print each one applied."),
    "piece": LazyCommand("masthead.cli.inspect:piece_group", "One content item."),
    "pieces": LazyCommand("masthead.cli.inspect:pieces_group", "Content items."),
    "project": LazyCommand("masthead.cli.project:project_group",
                           "Products, clients or campaigns: voice, audience, facts, channels, policies."),
    "proposal": LazyCommand("masthead.cli.proposal:proposal_group",
                            "Client proposals: record whether each was won or lost (it becomes memory)."),
    "publications": LazyCommand("masthead.cli.publications:publications_group",
                                "The outbox: one publication per piece version, channel and publisher."),
    "publishers": LazyCommand("masthead.cli.publishers:publishers_group",
                              "Where pieces go: the [publishers.<name>] tables of masthead.toml (and `file`)."),
    "recipe": LazyCommand("masthead.cli.project:recipe_group",
                          "Workflows: DAGs of steps that turn a kind of signal into pieces."),
    "replay": LazyCommand("masthead.cli.workspace_cmds:replay_cmd",
                          "Check the hash chain and that the read models equal a rebuild from the log (--verify),"
                          " or rebuild the read models in place (--rebuild; other writers wait until it is done)."),
    "restore": LazyCommand("masthead.cli.history:restore_cmd",
                           "Restore a backup folder into a workspace whose log is empty, then run replay --verify."),
    "review": LazyCommand("masthead.cli.review:review_group", "The human review queue."),
    "run": LazyCommand("masthead.cli.run:run_cmd", "Run queued tasks; safe to stop and start again at any moment."),
    "serve": LazyCommand("masthead.cli.serve:serve_cmd",
                         "Serve the JSON API, the review desk and the live stream; run the workers too."),
    "signal": LazyCommand("masthead.cli.signal:signal_group",
                          "Inputs: release notes, analytics rows, feed items, manual requests."),
    "signals": LazyCommand("masthead.cli.signals:signals_group",
                           "Signals that came in (add one with `masthead signal add`)."),
    "snapshot": LazyCommand("masthead.cli.snapshot:snapshot_cmd",
                            "Snapshot every read model as of the newest event, so `replay --rebuild` reads only"
                            " later events."),
    "sources": LazyCommand("masthead.cli.sources:sources_group",
                           "Signal sources that arrive by themselves: feeds, analytics exports, calendars, "
                           "GitHub releases."),
    "template": LazyCommand("masthead.cli.template:template_group",
                            "Document templates (proposals): built-in and the workspace's templates/<name>.md."),
    "token": LazyCommand("masthead.cli.token:token_cmd",
                         "Print the operator token (stored in .masthead/token, mode 0600, never in the log), or"
                         " issue a user's."),
    "undo": LazyCommand("masthead.cli.undo:undo_cmd",
                        "Undo your own last action (approve, reject, edit, revert, reopen) for 2 minutes after it."),
    "user": LazyCommand("masthead.cli.user:user_group",
                        "People: users with a role (owner, editor, reviewer, viewer) and their projects and"
                        " channels."),
    "worker": LazyCommand("masthead.cli.workers:worker_cmd",
                          "Claim and run tasks until stopped (Ctrl-C or SIGTERM); start as many as you like,"
                          " anywhere."),
    "workers": LazyCommand("masthead.cli.workers:workers_cmd", "List live worker processes and the tasks they hold."),
}

# Validation errors from masthead.toml, project and recipe files name the path and the problem
# but carry no fix of their own; every error line the CLI prints should say what to do.
CONFIG_FIX = "correct the field it names in that file (docs/configuration.md lists every key)"


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", metavar="DIR", default=None,
              help="Workspace folder (default: $MASTHEAD_HOME, else the current folder or a parent).")
@click.option("--as", "user", metavar="NAME", envvar="MASTHEAD_USER", default=None,
              help="The user to act as (default: $MASTHEAD_USER, else the workspace operator, an owner).")
@click.version_option(__version__, prog_name="masthead")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, user: str | None) -> None:
    """Masthead: signals in, checked and reviewed content out, every step on an append-only log."""
    state = CliState(workspace, user)
    ctx.obj = state
    ctx.call_on_close(state.close)


def error_lines(error: MastheadError) -> list[str]:
    """One `error: ...` line per problem (a YAML file can have several); the fix ends the last."""
    text = str(error)
    if error.fix is None and isinstance(error, ConfigError):
        text += f" (fix: {CONFIG_FIX})"
    # Errors quote what they found (a piece id, a line of a file): shown escaped, like all output.
    return [f"error: {terminal_safe(line)}" for line in text.splitlines() if line.strip()] or ["error: (no message)"]


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
