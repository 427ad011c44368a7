"""`masthead signal add`."""

from __future__ import annotations

from pathlib import Path

import click

from masthead.app.commands import MAX_SIGNAL_BYTES, add_signal
from masthead.app.outreach import MAX_CONTACT_BYTES, OUTREACH_KIND, add_contacts
from masthead.cli.common import CliState, echo, echo_json, pass_state
from masthead.errors import InputError
from masthead.text_input import STDIN, read_capped, read_text_file

PROGRESS_PAGES = 25  # a long PDF request reports every this many pages


@click.group("signal")
def signal_group() -> None:
    """Inputs: release notes, analytics rows, feed items, manual requests."""


@signal_group.command("add")
@click.argument("project")
@click.option("--kind", required=True, help="Signal kind, e.g. release_notes; recipes trigger on it.")
@click.option("--file", "file", type=click.Path(path_type=Path), help="Read the signal from this UTF-8 file (`-`: standard input); a .pdf or .docx request is read as text.")
@click.option("--text", help="The signal text itself.")
@click.option("--title", help="A short title.")
@click.option("--priority", type=click.Choice(["high", "normal", "low"]), default="normal", show_default=True)
@click.option("--person", metavar="EMAIL", help="The signal holds this person's data (e.g. a client's brief): its title"
              " and text are sealed with their key, and `masthead forget-person EMAIL` erases them.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def signal_add(state: CliState, project: str, kind: str, file: Path | None, text: str | None,
               title: str | None, priority: str, person: str | None, as_json: bool) -> None:
    """Store a signal verbatim and start a job for every recipe it triggers.

    `--kind outreach` reads a contacts CSV (name,email,company,context): one signal per row,
    one email per contact, each approved by a person before it is sent to that contact alone."""
    if kind == OUTREACH_KIND:
        if person is not None:
            raise InputError("--person does not go with --kind outreach: each row of a contacts CSV is sealed with"
                             " its own person's key already", fix="leave out --person")
        _add_contacts(state, project, file, text, title, priority, as_json)
        return
    if (file is None) == (text is None):
        raise InputError("give exactly one of --file or --text", fix="e.g. --file release-notes.md")
    if file is not None and file.suffix.lower() in (".pdf", ".docx", ".doc"):
        from masthead.document_input import (
            read_request_file,  # pypdf, python-docx: only for these files
        )

        def pages(done: int, total: int) -> None:
            if total > PROGRESS_PAGES and (done % PROGRESS_PAGES == 0 or done == total):
                echo(f"  read page {done}/{total}", err=True)

        body = read_request_file(file, MAX_SIGNAL_BYTES, progress=pages)
    else:
        body = read_text_file(file, "signal", MAX_SIGNAL_BYTES, option="--file") if file else str(text)
    source = "cli:text" if not file else "cli:stdin" if str(file) == STDIN else f"file:{file.name}"
    added = add_signal(state.workspace(), project, kind=kind, body=body, title=title, priority=priority, source=source,
                       by=state.principal(), person=person)
    if as_json:
        echo_json({"signal_id": added.signal_id, "job_ids": added.job_ids, "recipes": added.recipes,
                   "deferred": added.deferred, "budget_wait": added.budget_wait})
        return
    echo(f"stored signal {added.signal_id}" + (" (sealed with the person's key)" if person is not None else ""))
    if not added.job_ids:
        echo(f"no recipe is triggered by kind {kind!r}; the signal is kept (see `masthead recipe list`)")
    for job, recipe in zip(added.job_ids, added.recipes, strict=True):
        if job in added.deferred:
            echo(f"job {job} ({recipe}) deferred: {added.deferred[job]} (see `masthead jobs list`)")
        else:
            echo(f"started job {job} ({recipe}); run it with: masthead run --until-idle")
    if added.budget_wait:
        echo(f"note: work of project {project} already waits for budget ({added.budget_wait});"
                   " these jobs' model steps may wait too (see `masthead costs`)")


def _add_contacts(state: CliState, project: str, file: Path | None, text: str | None, title: str | None,
                  priority: str, as_json: bool) -> None:
    if file is None or text is not None or title is not None:
        raise InputError("--kind outreach reads a contacts CSV and takes neither --text nor --title",
                         fix="pass --file contacts.csv with the header name,email,company,context")
    label = "contacts from standard input" if str(file) == STDIN else f"contacts file {file}"
    raw = read_capped(file, label, MAX_CONTACT_BYTES)
    source = "cli:stdin" if str(file) == STDIN else f"file:{file.name}"
    added = add_contacts(state.workspace(), project, raw, label=label, source=source, priority=priority)
    if as_json:
        echo_json({"batch_id": added.batch_id, "signal_ids": added.signal_ids, "job_ids": added.job_ids,
                   "recipes": added.recipes, "deferred": added.deferred, "ignored_columns": added.ignored_columns})
        return
    echo(f"stored {len(added.signal_ids)} contact(s) as outreach batch {added.batch_id}, one signal each")
    if added.ignored_columns:
        echo(f"ignored column(s): {', '.join(added.ignored_columns)} (only name, email, company, context are used)")
    parked = len(added.deferred)
    echo(f"started {len(added.job_ids) - parked} job(s) ({', '.join(added.recipes)})"
         + (f", {parked} deferred by backpressure (see `masthead jobs list`)" if parked else ""))
    echo("run them with `masthead run --until-idle`; each email waits for your approval in `masthead review list`")
