"""`masthead memory add|import|list|search|forget|reindex`: what Masthead remembers, and why it
retrieves what it does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from masthead.app.commands import human
from masthead.cli.common import CliState, echo, echo_json, pass_state, short
from masthead.errors import InputError
from masthead.memory.items import ADDABLE_KINDS, KINDS, TIERS
from masthead.memory.retrieval import Candidate, Ranking
from masthead.memory.scoring import ROLE_KIND_WEIGHTS
from masthead.text_input import STDIN, read_text_file

MAX_ADD_FILE_BYTES = 1_000_000


@click.group("memory")
def memory_group() -> None:
    """Project memory: facts, exemplars, past pieces, notes, meta-notes and feedback."""


def _operator(state: CliState, name: str | None) -> str:
    return human(name or state.workspace().config.workspace.operator)


def _progress(verb: str) -> Any:
    def report(done: int, total: int) -> None:
        echo(f"  {verb} {done:,}/{total:,}", err=True)

    return report


# -- writing -----------------------------------------------------------------------------
@memory_group.command("add")
@click.argument("text", required=False)
@click.option("--file", "file", type=click.Path(path_type=Path), help="Read the text from this UTF-8 file (`-`: standard input).")
@click.option("--project", help="The project it belongs to (project memory).")
@click.option("--global", "is_global", is_flag=True, help="Global memory, shared by every project.")
@click.option("--job", help="Session memory of this running job; dropped when the job ends.")
@click.option("--kind", type=click.Choice(ADDABLE_KINDS), default="note", show_default=True)
@click.option("--confidence", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True, help="0 to 1.")
@click.option("--source", help="Where it comes from (default: human:<operator>).")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def memory_add(state: CliState, text: str | None, file: Path | None, project: str | None, is_global: bool,
               job: str | None, kind: str, confidence: float, source: str | None, operator: str | None,
               as_json: bool) -> None:
    """Remember one item."""
    if (file is None) == (text is None):
        raise InputError("give the text or --file, not both and not neither", fix='e.g. masthead memory add "..." --project NAME')
    if sum([bool(project), is_global, bool(job)]) > 1:
        raise InputError("--project, --global and --job exclude each other", fix="pick the one tier the item belongs to")
    ws = state.workspace()
    body = read_text_file(file, "memory", MAX_ADD_FILE_BYTES, option="--file") if file else str(text)
    actor = _operator(state, operator)
    tier = "global" if is_global else "session" if job else "project"
    if job:
        from masthead.app.listings import job_project

        project = job_project(ws, job)
    result = ws.memory.add(body, kind=kind, tier=tier, project=None if is_global else project, job_id=job,
                           source=source or (f"file:{file.name}" if file and str(file) != STDIN else actor), confidence=confidence, actor=actor)
    if as_json:
        echo_json({"id": result.item_id, "added": result.added, "tier": tier, "kind": kind})
        return
    verb = "remembered" if result.added else "already remembered"
    echo(f"{verb} {result.item_id} ({tier} {kind}{f', project {project}' if project and not is_global else ''})")


@memory_group.command("import")
@click.argument("paths", nargs=-1, required=True, metavar="FILE_OR_FOLDER...", type=click.Path(path_type=Path))
@click.option("--project", required=True, help="The project the files belong to (for proposals: the client project).")
@click.option("--kind", type=click.Choice(ADDABLE_KINDS), default="note", show_default=True)
@click.option("--outcome", type=click.Choice(["won", "lost"]), help="--kind proposal: what the proposal came to.")
@click.option("--client", help="--kind proposal: the client it was for (default: the project's client name).")
@click.option("--value", help="--kind proposal: the contract value, e.g. 12000.")
@click.option("--confidence", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True)
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def memory_import(state: CliState, paths: tuple[Path, ...], project: str, kind: str, outcome: str | None,
                  client: str | None, value: str | None, confidence: float, operator: str | None, as_json: bool) -> None:
    """Remember .md and .txt files (each file named, every one in each folder named); long files
    are split into chunks. Past proposals: --kind proposal --outcome won|lost [--client C] [--value V]."""
    from masthead.app.proposals import proposal_outcome_of

    ws = state.workspace()

    def on_file(path: Path, size: int, chunks: int) -> None:
        echo(f"  read {path.name} ({size:,} bytes, {chunks:,} chunk{'s' if chunks != 1 else ''})", err=True)

    result = ws.memory.import_folder(list(paths), project=project, kind=kind, confidence=confidence,
                                     actor=_operator(state, operator), on_file=on_file, on_embed=_progress("embedded"),
                                     outcome=proposal_outcome_of(ws, project, kind, outcome, client, value))
    if as_json:
        echo_json({"files": result.files, "chunks": result.chunks, "added": result.added, "already": result.already})
        return
    echo(f"imported {result.files} file(s) as {result.chunks} chunk(s): {result.added} new, "
         f"{result.already} already remembered")


@memory_group.command("forget")
@click.argument("item_id")
@click.option("--reason", default="", help="Why; kept in the log.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def memory_forget(state: CliState, item_id: str, reason: str, operator: str | None, as_json: bool) -> None:
    """Forget an item: gone from every read model and index, and it stays gone after replay."""
    item = state.workspace().memory.forget(item_id, reason=reason, actor=_operator(state, operator))
    if as_json:
        echo_json({"id": item.id, "forgotten": True})
        return
    echo(f"forgot {item.id} ({item.kind}: {short(item.text, 60)})")


@memory_group.command("reindex")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def memory_reindex(state: CliState, as_json: bool) -> None:
    """Embed every item again with the configured embedder (after changing it, or to repair)."""
    memory = state.workspace().memory
    count = memory.reindex(_progress("embedded"))
    if as_json:
        echo_json({"items": count, "embedder": memory.model_id})
        return
    echo(f"re-embedded {count:,} item(s) with {memory.model_id}")


# -- reading -----------------------------------------------------------------------------
@memory_group.command("list")
@click.option("--project", help="Only this project's items.")
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--tier", type=click.Choice(TIERS))
@click.option("--limit", type=click.IntRange(1, None), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def memory_list(state: CliState, project: str | None, kind: str | None, tier: str | None, limit: int,
                as_json: bool) -> None:
    """Remembered items, newest first."""
    items = state.workspace().memory.list_items(project=project, kind=kind, tier=tier, limit=limit)
    if as_json:
        echo_json([item.as_dict() for item in items])
        return
    if not items:
        echo("nothing remembered yet: masthead memory add TEXT --project NAME")
    for item in items:
        echo(f"{item.id}  {item.tier:<7} {item.kind:<9} {item.confidence:.2f}  {item.created_at[:10]}  "
             f"{short(item.text, 60)}  [{item.source}]")


@memory_group.command("search")
@click.argument("query")
@click.option("--project", help="Search this project's memory (global memory is always included).")
@click.option("--role", type=click.Choice(sorted({"search", *ROLE_KIND_WEIGHTS})), default="search",
              show_default=True, help="Score as this agent would (kind weights).")
@click.option("--limit", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--explain", is_flag=True, help="Show every score part, and what was dropped and why.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def memory_search(state: CliState, query: str, project: str | None, role: str, limit: int, explain: bool,
                  as_json: bool) -> None:
    """The items a query retrieves, best first."""
    ranking = state.workspace().memory.rank(query, project=project, role=role, progress=_progress("embedded"))
    if as_json:
        echo_json(ranking_json(ranking, limit, explain))
        return
    if not ranking.ranked:
        echo(f"nothing in memory scores above the floor for {query!r}")
    for number, candidate in enumerate(ranking.ranked[:limit], start=1):
        item = candidate.item
        echo(f"{number}. {candidate.parts.total:.3f}  {item.kind:<9} {item.id}  {short(item.text, 70)}")
        if explain:
            echo(f"     {score_line(candidate)}")
            echo(f"     {item.tier} · {item.source} · {item.created_at}")
    if explain:
        for dropped, kept in ranking.duplicates:
            echo(f"   duplicate {dropped.item.id} ({dropped.item.kind}) dropped for {kept}: "
                 "higher confidence, or equally sure and newer")
        for low in ranking.below_floor[:limit]:
            echo(f"   below the floor: {low.item.id} {low.parts.total:.3f}  {score_line(low)}")
        echo(f"   {ranking.considered} candidate(s) scored")


def score_line(candidate: Candidate | dict[str, Any]) -> str:
    parts = candidate.parts.model_dump() if isinstance(candidate, Candidate) else candidate["parts"]
    boost = f" × (1 + {parts['boost']:.2f} for {', '.join(parts['terms'])})" if parts["boost"] else ""
    return (f"similarity {parts['similarity']:.3f} × recency {parts['recency']:.3f} × kind {parts['kind_match']:.2f}"
            f" × confidence {parts['confidence']:.2f}{boost} = {parts['total']:.3f}")


def _candidate_json(candidate: Candidate) -> dict[str, Any]:
    return {**candidate.item.as_dict(), "score": candidate.parts.total, "parts": candidate.parts.model_dump(),
            "stood_in_for": list(candidate.stood_in_for)}


def ranking_json(ranking: Ranking, limit: int, explain: bool) -> dict[str, Any]:
    found: dict[str, Any] = {"query": ranking.query, "considered": ranking.considered,
                             "results": [_candidate_json(c) for c in ranking.ranked[:limit]]}
    if explain:
        found["duplicates"] = [{**_candidate_json(c), "kept": kept} for c, kept in ranking.duplicates]
        found["below_floor"] = [_candidate_json(c) for c in ranking.below_floor]
    return found


def memory_lines(retrievals: list[dict[str, Any]]) -> list[str]:
    """The memory a step's agents used, for `masthead piece show`."""
    lines: list[str] = []
    for retrieval in retrievals:
        summary = "; a summary stood in for older sources" if retrieval["summary_stood_in"] else ""
        lines.append(f"memory for {retrieval['role']}: {len(retrieval['items'])} of {retrieval['considered']} "
                     f"candidate(s) ({retrieval['embedder']}){summary}")
        for item in retrieval["items"]:
            text = short(item["text"], 60) if item["text"] is not None else "(forgotten since)"
            lines.append(f"  {item['parts']['total']:.3f} {item['kind']:<9} {item['id']}  {text}")
            lines.append(f"        {score_line(item)}")
            if item["stood_in_for"]:
                lines.append(f"        stood in for {len(item['stood_in_for'])} item(s): {', '.join(item['stood_in_for'])}")
    return lines
