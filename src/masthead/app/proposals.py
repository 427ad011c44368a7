"""Proposals: the legal flags that block a sign-off, their resolution, and a proposal's outcome.

A high-severity legal flag (in the client's request or in the draft) blocks approval of a
proposal until a person resolves it: accepts it with a note (`resolve_flag`, one event each)
or edits the piece so the flag is gone. Flags are computed from the piece's current text and
its request every time, never stored beside the log.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from masthead.app.permissions import Principal, authorize
from masthead.app.workspace import Workspace
from masthead.channels.checks import CheckResult
from masthead.channels.legal import LegalFlag
from masthead.channels.limits import DOCUMENT_CHANNELS
from masthead.errors import InputError, NotFoundError, StateError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.types import CheckOutcome, ChecksRecorded, LegalFlagResolved
from masthead.memory.service import Outcome
from masthead.personal_data import job_sealer, open_piece, piece_forgotten, sealed_if
from masthead.projects import project_from_spec
from masthead.runtime.context import TaskContext, load_context
from masthead.runtime.documents import legal_flags

RESOLVE_FIX = 'masthead review resolve {piece} {flag} --accept --note "why it is acceptable"'


def _piece_row(ws: Workspace, piece_id: str) -> dict[str, Any]:
    rows = ws.store.query("SELECT * FROM pieces WHERE id = ?", (piece_id,))
    if not rows:
        raise NotFoundError(f"piece {piece_id!r} does not exist", fix="see `masthead review list` or `masthead pieces list`")
    return open_piece(ws.store.query, rows[0])


def document_context(ws: Workspace, piece: dict[str, Any]) -> TaskContext | None:
    """The context of the piece's check step (None for a piece that is not a client document)."""
    if piece["channel"] not in DOCUMENT_CHANNELS:
        return None
    tasks = ws.store.query("SELECT * FROM tasks WHERE job_id = ? AND channel = ? AND kind IN ('check', 'gate', 'agent')"
                           " ORDER BY kind", (piece["job_id"], piece["channel"]))
    if not tasks:
        return None
    ctx = load_context(ws.store, tasks[0])
    return ctx if ctx.document is not None else None


def piece_flags(ws: Workspace, piece: dict[str, Any]) -> tuple[list[LegalFlag], frozenset[str]]:
    """The piece's legal flags on its current text, and the ids a person resolved."""
    ctx = document_context(ws, piece)
    if ctx is None or ctx.document is None:
        return [], frozenset()
    return legal_flags(ctx.document, ctx.project, piece["text"]), ctx.document.resolved


def blocking_flags(ws: Workspace, piece: dict[str, Any]) -> list[LegalFlag]:
    flags, resolved = piece_flags(ws, piece)
    return [f for f in flags if f.severity == "high" and f.id not in resolved]


def refuse_if_blocked(ws: Workspace, piece: dict[str, Any]) -> None:
    """Approval of a proposal waits until every high-severity legal flag is resolved."""
    blocking = blocking_flags(ws, piece)
    if blocking:
        listed = "; ".join(f'{f.id} ({f.title}: "{f.quote}")' for f in blocking)
        raise StateError(f"piece {piece['id']} has {len(blocking)} unresolved high-severity legal flag(s): {listed}",
                         fix="resolve each: " + RESOLVE_FIX.format(piece=piece["id"], flag=blocking[0].id)
                         + ", or edit the piece so the flag is gone")


def resolve_flag(ws: Workspace, piece_id: str, flag_id: str, *, operator: str | Principal, note: str) -> LegalFlag:
    """Accept one legal flag with a note; the legal check is recorded again on the same version.
    Accepting a term is part of signing off: it takes the role that may approve the piece."""
    from masthead.app.commands import wake_gate  # commands imports this module for approve()
    from masthead.app.people import principal_of

    if not note.strip():
        raise InputError("--note is empty", fix='say why the term is acceptable, e.g. --note "capped in the contract"')
    piece = _piece_row(ws, piece_id)
    if piece["status"] not in ("drafted", "in_review"):
        raise StateError(f"piece {piece_id} is {piece['status']}; only drafted or in-review pieces have flags to resolve")
    flags, resolved = piece_flags(ws, piece)
    flag = next((f for f in flags if f.id == flag_id), None)
    if flag is None:
        known = ", ".join(f.id for f in flags) or "none"
        raise NotFoundError(f"piece {piece_id} has no legal flag {flag_id!r}", fix=f"use one of: {known}")
    if flag.id in resolved:
        raise StateError(f"flag {flag_id} of piece {piece_id} is already resolved")
    who = principal_of(ws, operator)
    authorize(who, "approve", project=piece["project"], channel=piece["channel"])
    meta = Meta(actor=who.actor, at=utc_now())
    stream = stream_of("piece", piece_id)
    legal = _legal_result(ws, piece, resolved | {flag.id})
    with ws.store.transaction() as tx:
        # A proposal of a job about one person: what quotes its text is sealed with their key.
        sealer = job_sealer(tx, piece["job_id"])
        current = tx.query("SELECT version, status FROM pieces WHERE id = ?", (piece_id,))[0]
        if current["version"] != piece["version"]:
            raise StateError(f"piece {piece_id} changed meanwhile (now v{current['version']})",
                             fix="read it again (`masthead review show`) and resolve the flags it has now")
        seen = tx.stream_version(stream)
        events = [LegalFlagResolved(piece_id=piece_id, version=piece["version"], flag=flag.id, rule=flag.rule,
                                    severity=flag.severity, quote=sealed_if(sealer, flag.quote),
                                    note=note.strip()).to_new(stream, seen)]
        if legal is not None:
            # A ChecksRecorded event sets the piece's flags from its results: it carries every check
            # of the version as recorded (sealed ones stay sealed), with the legal one as it reads now.
            recorded = tx.query("SELECT name, passed, detail FROM checks WHERE piece_id = ? AND version = ?"
                                " ORDER BY name", (piece_id, piece["version"]))
            results = [CheckOutcome(name=r["name"], passed=bool(r["passed"]), detail=r["detail"])
                       for r in recorded if r["name"] != legal.name]
            results.append(CheckOutcome(name=legal.name, passed=legal.passed, detail=sealed_if(sealer, legal.detail)))
            events.append(ChecksRecorded(piece_id=piece_id, version=piece["version"], results=results).to_new(stream))
        tx.append(events, meta)
        wake_gate(tx, piece, meta, f"legal flag {flag.id} resolved")
    return flag


def _legal_result(ws: Workspace, piece: dict[str, Any], resolved: frozenset[str]) -> CheckResult | None:
    from masthead.channels.legal import legal_check

    flags, _ = piece_flags(ws, piece)
    return legal_check(flags, set(resolved)) if flags else None


def open_flags(ws: Workspace, piece_id: str) -> list[LegalFlag]:
    """The piece's unresolved high-severity legal flags."""
    return blocking_flags(ws, _piece_row(ws, piece_id))


def _value(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.replace(",", "").strip())
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0:
        raise InputError(f"--value {value!r} is not an amount", fix="write a number, e.g. --value 12000")
    return str(amount)


def proposal_outcome_of(ws: Workspace, project: str, kind: str, outcome: str | None, client: str | None,
                        value: str | None) -> Outcome | None:
    """The outcome of past proposals being imported (None for other kinds); the client's name
    defaults to the client project's own."""
    if kind != "proposal":
        if outcome or client or value:
            raise InputError("--outcome, --client and --value are for --kind proposal", fix="add --kind proposal")
        return None
    if outcome is None:
        raise InputError("a past proposal needs its --outcome", fix="add --outcome won or --outcome lost")
    rows = ws.store.query("SELECT spec FROM projects WHERE name = ?", (project,))
    named = project_from_spec(rows[0]["spec"]).client if rows else None
    return Outcome(outcome=outcome, client=client or (named.name if named else None), value=_value(value))


def record_outcome(ws: Workspace, piece_id: str, outcome: str, *, operator: str, value: str | None = None,
                   note: str | None = None) -> list[str]:
    """Record that a proposal was won or lost, and remember its passages as `proposal` memory
    with that outcome (as their confidence); returns the memory item ids."""
    from masthead.app.commands import human
    from masthead.events.types import ProposalOutcomeRecorded
    from masthead.memory.chunking import chunk_text
    from masthead.memory.items import (
        OUTCOME_CONFIDENCE,
        OUTCOMES,
        added_event,
        check_choice,
        live_ids,
        new_event,
        proposal_source,
    )

    check_choice(outcome, OUTCOMES, "OUTCOME")
    amount = _value(value)
    piece = _piece_row(ws, piece_id)
    if piece["channel"] not in DOCUMENT_CHANNELS:
        raise StateError(f"piece {piece_id} is a {piece['channel']} piece, not a proposal")
    if piece["status"] not in ("approved", "published"):
        raise StateError(f"piece {piece_id} is {piece['status']}; only a signed-off proposal has an outcome",
                         fix=f"approve it first: masthead review approve {piece_id}")
    stream = stream_of("piece", piece_id)
    if ws.store.query("SELECT 1 FROM events WHERE stream = ? AND type = 'ProposalOutcomeRecorded'", (stream,)):
        raise StateError(f"proposal {piece_id} already has its outcome", fix="see `masthead piece show` for it")
    rows = ws.store.query("SELECT spec FROM projects WHERE name = ?", (piece["project"],))
    client = project_from_spec(rows[0]["spec"]).client if rows else None
    version = piece["approved_version"] or piece["version"]
    rows = ws.store.query("SELECT text FROM piece_versions WHERE piece_id = ? AND version = ?", (piece_id, version))
    # A proposal about one person (its signal added with --person) never becomes memory.
    personal = job_sealer(ws.store, piece["job_id"]) is not None or piece_forgotten(piece)
    passages = [] if personal else chunk_text(rows[0]["text"] if rows else piece["text"])
    remembered = [added_event(tier="project", kind="proposal", text=passage, source=proposal_source(
        outcome, f"piece:{piece_id}:v{version}" + (f"#{n}" if len(passages) > 1 else ""),
        client=client.name if client else None, value=amount), confidence=OUTCOME_CONFIDENCE[outcome],
        project=piece["project"], job_id=None, embedding_model=ws.memory.model_id)
        for n, passage in enumerate(passages, start=1)]
    ws.memory.load_embedder()
    meta = Meta(actor=human(operator), at=utc_now())
    with ws.store.transaction() as tx:
        seen = tx.stream_version(stream)
        ids = [item.id for item in remembered]
        events = [ProposalOutcomeRecorded(piece_id=piece_id, version=version, project=piece["project"], outcome=outcome,
                                          value=amount, note=(note or "").strip() or None,
                                          memory_ids=ids).to_new(stream, seen)]
        known = live_ids(tx.query, ids)
        events += [new_event(item) for item in remembered if item.id not in known]
        tx.append(events, meta)
    ws.memory.keeper.current()
    return ids
