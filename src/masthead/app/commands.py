"""Commands: imperative functions that validate input, then append events in one transaction.

Every check happens before the first append, so bad input changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from masthead.agents.registry import get_agent
from masthead.app import scheduling
from masthead.app.people import principal_of
from masthead.app.permissions import Principal, authorize
from masthead.app.personal import seal_signal
from masthead.app.workspace import Workspace
from masthead.channels.checks import CheckResult
from masthead.channels.limits import DOCUMENT_CHANNELS
from masthead.errors import ConfigError, InputError, NotFoundError, StateError
from masthead.events.model import Meta, NewEvent, stream_of, utc_now
from masthead.events.people_types import ApprovalRecorded
from masthead.events.store import EventStore, Transaction
from masthead.events.types import (
    SIGNAL_TRUST_LEVELS,
    CheckOutcome,
    ChecksRecorded,
    PieceDrafted,
    PieceRevised,
    ProjectApplied,
    ReviewApproved,
    ReviewRejected,
    ReviewReopened,
    ReviewRequested,
    SignalReceived,
    SignalTrust,
    TaskEnqueued,
    TaskSucceeded,
    TaskWoken,
)
from masthead.memory.sync import edit_feedback_events, project_file_events
from masthead.personal_data import (
    job_sealer,
    normal_address,
    open_piece,
    open_pieces,
    piece_forgotten,
    sealed_if,
    sealed_subject,
)
from masthead.projects import ChannelSettings, Project, parse_project_yaml, project_from_spec
from masthead.recipes.loader import load_recipes
from masthead.recipes.schema import Recipe
from masthead.runtime.approvals import approvals_given, missing_approvals
from masthead.runtime.context import TaskContext, load_context
from masthead.runtime.ids import new_id
from masthead.runtime.jobs import PRIORITIES, reopen_events, schedule, start_job, wake_deferred
from masthead.runtime.steps import check_piece
from masthead.sources.contacts import OUTREACH_KIND
from masthead.text_input import read_text_file

MAX_SIGNAL_BYTES = 1_000_000
ACTOR_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-")


def human(name: str) -> str:
    if not name or not set(name) <= ACTOR_NAME_CHARS:
        raise InputError(f"operator name {name!r} is not usable", fix="use letters, digits, _ . @ -")
    return f"human:{name}"


def _meta(actor: str, correlation: str | None = None) -> Meta:
    return Meta(actor=actor, at=utc_now(), correlation_id=correlation)


# -- projects ---------------------------------------------------------------------------
def check_tier_providers(ws: Workspace) -> list[str]:
    """Try to build the provider of every [models.*] tier; one warning per provider that cannot be.

    Nothing is refused: work that needs no model (publishing an approved piece, a gate) goes
    on, and a step that needs a provider it cannot build waits (`waiting_config`) with the
    reason until the key or model file is set and `masthead run` starts again.
    """
    warnings: list[str] = []
    seen: set[str] = set()
    for tier, section in sorted(ws.config.models.items()):
        for provider_id in [section.provider, *(f.partition(":")[0] for f in section.fallbacks)]:
            if provider_id in seen:
                continue
            seen.add(provider_id)
            try:
                ws.providers.get(provider_id)
            except ConfigError as exc:
                warnings.append(f"[models.{tier}] provider {provider_id}: {exc}; steps that need it will wait")
    return warnings


def apply_project(ws: Workspace, path: Path, by: Principal | None = None) -> tuple[Project, int, bool]:
    """Create or update a project from YAML; returns (project, revision, changed)."""
    if by is not None:
        authorize(by, "project")
    project = parse_project_yaml(read_text_file(path, "project", MAX_SIGNAL_BYTES), str(path))
    _check_named_recipes(ws, project, str(path))
    spec = project.model_dump(mode="json")
    with ws.store.transaction() as tx:
        rows = tx.query("SELECT spec, revision FROM projects WHERE name = ?", (project.name,))
        if rows and json.loads(rows[0]["spec"]) == spec:
            return project, rows[0]["revision"], False
        revision = rows[0]["revision"] + 1 if rows else 1
        event = ProjectApplied(name=project.name, spec=spec, revision=revision)
        tx.append([event.to_new(stream_of("project", project.name), revision - 1)],
                  _meta(by.actor if by is not None else "system"))
        tx.append(project_file_events(tx.query, project=project.name, exemplars=project.voice.exemplars,
                                      facts=project.facts, revision=revision, embedding_model=ws.memory.model_id),
                  _meta("system"))
    # A raised budget lets deferred work go on at once instead of at the period's end.
    wake_deferred(ws.store, project.name, f"project {project.name} revision {revision} applied")
    return project, revision, True


def _check_named_recipes(ws: Workspace, project: Project, path: str) -> None:
    """A schedule (or a calendar's launches) names the recipe it starts: it must exist now,
    not fail at its first firing."""
    named = [(f"schedules.{index}.recipe", schedule.recipe) for index, schedule in enumerate(project.schedules)]
    named += [(f"sources.{index}.recipe", source.recipe) for index, source in enumerate(project.sources) if source.recipe]
    if not named:
        return
    known = set(load_recipes(ws.root))
    for field, name in named:
        if name not in known:
            raise ConfigError(f"{path}: {field}: recipe {name!r} is unknown", field=field,
                              fix=f"use one of: {', '.join(sorted(known))}, or add recipes/{name}.yaml to the workspace")


def get_project(ws: Workspace, name: str) -> Project:
    rows = ws.store.query("SELECT spec FROM projects WHERE name = ?", (name,))
    if not rows:
        known = [r["name"] for r in ws.store.query("SELECT name FROM projects ORDER BY name")]
        fix = f"use one of: {', '.join(known)}" if known else "create it with `masthead project apply FILE.yaml`"
        raise NotFoundError(f"project {name!r} does not exist", fix=fix)
    return project_from_spec(rows[0]["spec"])


# -- signals ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SignalAdded:
    signal_id: str
    job_ids: list[str]
    recipes: list[str]
    deferred: dict[str, str]  # job id -> why it is parked (backpressure), for the jobs that are
    budget_wait: str | None = None  # why the project's work already waits for budget, if it does


def deferral_reasons(tx: Transaction, job_ids: list[str]) -> dict[str, str]:
    reasons = {}
    for job_id in job_ids:
        rows = tx.query("SELECT data FROM events WHERE stream = ? AND type = 'JobDeferred'", (stream_of("job", job_id),))
        if rows:
            reasons[job_id] = json.loads(rows[-1]["data"])["reason"]
    return reasons


SCHEDULE_KIND = "schedule"


def recipe_named_by(kind: str, body: str, source: str) -> str | None:
    """The one recipe a `schedule` signal starts: named by its source (`schedule:<recipe>[:...]`)
    or by its JSON body's `recipe` key. A schedule fires its own recipe, not every recipe that
    listens to schedules; None (every matching recipe) for other kinds or when none is named."""
    if kind != SCHEDULE_KIND:
        return None
    parts = source.split(":")
    if len(parts) >= 2 and parts[0] == SCHEDULE_KIND and parts[1]:
        return parts[1]
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    named = payload.get("recipe") if isinstance(payload, dict) else None
    return named if isinstance(named, str) and named else None


def add_signal(ws: Workspace, project_name: str, *, kind: str, body: str, title: str | None,
               priority: str, source: str, trust: SignalTrust = "operator", recipe: str | None = None,
               by: Principal | None = None, person: str | None = None) -> SignalAdded:
    """Store a signal and start its jobs. `trust` is who vouches for the text: "operator" for
    what the operator types or adds (CLI, desk, API); hooks and feeds pass "untrusted", which
    becomes "trusted" when the project's `policies.trusted_sources` names the source. The jobs
    are those of the recipes the kind triggers, or, with `recipe`, that one recipe by name
    (a schedule or a calendar launch names the recipe it starts). With `person` (an email
    address) the signal holds that person's data: its title and body are sealed with their key
    (masthead/personal_data.py) and `masthead forget-person` makes them unreadable."""
    if trust not in SIGNAL_TRUST_LEVELS:
        raise InputError(f"trust {trust!r} is not one of {', '.join(SIGNAL_TRUST_LEVELS)}",
                         field="trust", fix='use "operator" for your own input, "untrusted" for anyone else\'s')
    if priority not in PRIORITIES:
        raise InputError(f"--priority {priority!r} is not one of high, normal, low", fix="use --priority normal")
    if not kind or not kind.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"--kind {kind!r} is not a signal kind", fix="use a word like release_notes")
    if kind == OUTREACH_KIND:
        # An outreach signal is a contact row with its batch (app/outreach.py); a bare text has no one to write to.
        raise InputError(f"signals of kind {OUTREACH_KIND} come from a contacts CSV, one per row",
                         fix=f"masthead signal add PROJECT --kind {OUTREACH_KIND} --file contacts.csv")
    if not body.strip():
        raise InputError("the signal is empty", fix="pass a file or --text with some content")
    if person is not None:
        normal_address(person, field="person")  # before anything is written
    if len(body.encode("utf-8")) > MAX_SIGNAL_BYTES:
        raise InputError(f"the signal is over {MAX_SIGNAL_BYTES:,} bytes", fix="pass an excerpt")
    project = get_project(ws, project_name)
    if by is not None:  # hooks and feeds (by=None) come in under their own authority: the webhook secret, the project's sources
        authorize(by, "add_signal", project=project.name)
    recipes = _recipes_for(ws, kind, recipe)
    named = recipe_named_by(kind, body, source) if recipe is None else None
    if named is not None:
        recipes = [r for r in recipes if r.name == named]
    if trust != "operator":
        trust = project.policies.source_trust(source)
    signal_id = new_id("sig")
    meta = _meta(by.actor if by is not None else "system", correlation=signal_id)
    with ws.store.transaction() as tx:
        received = SignalReceived(id=signal_id, project=project.name, kind=kind, title=title, priority=priority,
                                  body=body, source=source, sha256=hashlib.sha256(body.encode()).hexdigest(),
                                  trust=trust)
        if person is not None:
            received = seal_signal(tx, received, person)
        jobs = receive_signal(tx, ws, project, recipes, received, meta)
        deferred = deferral_reasons(tx, jobs)
        budget = tx.query("SELECT t.wait_reason FROM tasks t JOIN jobs j ON j.id = t.job_id"
                          " WHERE j.project = ? AND t.status = 'deferred_budget' ORDER BY t.updated_at DESC LIMIT 1",
                          (project.name,))
    return SignalAdded(signal_id, jobs, [r.name for r in recipes], deferred,
                       budget[0]["wait_reason"] if budget and jobs else None)


def _recipes_for(ws: Workspace, kind: str, name: str | None) -> list[Recipe]:
    known = {recipe.name: recipe for recipe, _ in load_recipes(ws.root).values()}
    if name is None:
        return [recipe for recipe in known.values() if kind in recipe.trigger.signal_kinds]
    if name not in known:
        raise NotFoundError(f"recipe {name!r} is unknown", field="recipe",
                            fix=f"use one of: {', '.join(sorted(known))}, or add recipes/{name}.yaml to the workspace")
    return [known[name]]


def triggered_recipes(ws: Workspace, kind: str) -> list[Recipe]:
    return _recipes_for(ws, kind, None)


def receive_signal(tx: Transaction, ws: Workspace, project: Project, recipes: list[Recipe], received: SignalReceived,
                   meta: Meta) -> list[str]:
    """Append a checked signal and start (or park) a job per recipe it triggers; the job ids."""
    tx.append([received.to_new(stream_of("signal", received.id), 0)], meta)
    bound = project.max_active_jobs or ws.config.runtime.max_active_jobs_per_project
    return [start_job(tx, project=project.name, channels=recipe.channels_for(list(project.channels)), recipe=recipe,
                      signal_id=received.id, priority=received.priority, meta=meta, max_active=bound)
            for recipe in recipes]


# -- review -----------------------------------------------------------------------------
def _piece(tx: Transaction | EventStore, piece_id: str) -> dict:
    rows = tx.query("SELECT * FROM pieces WHERE id = ?", (piece_id,))
    if not rows:
        raise NotFoundError(f"piece {piece_id!r} does not exist", fix="see `masthead review list` or `masthead pieces list`")
    return open_piece(tx.query, rows[0])


def _stream_version(tx: Transaction, stream: str) -> int:
    return tx.stream_version(stream)


def review_again(tx: Transaction, piece_id: str, version: int, stream_version: int) -> list[NewEvent]:
    """The piece's last review request, made again if it was for `version`: a piece taken back
    from a decision (a reopened rejection, an undone approval) is in the review queue at once, as
    its gate had asked, instead of only once a worker runs the gate again. The gate then finds
    the request standing and asks nothing more (or asks anew if the project changed its gate)."""
    stream = stream_of("piece", piece_id)
    rows = tx.query("SELECT data FROM events WHERE stream = ? AND type = 'ReviewRequested' ORDER BY version DESC"
                    " LIMIT 1", (stream,))
    if not rows:
        return []
    asked = ReviewRequested.model_validate_json(rows[0]["data"])
    return [asked.to_new(stream, stream_version)] if asked.version == version else []


def wake_gate(tx: Transaction, piece: dict, meta: Meta, reason: str) -> None:
    """A human decision lets the piece's gate task look again right away."""
    for task in tx.query(
        "SELECT id, version FROM tasks WHERE job_id = ? AND channel = ? AND kind = 'gate'"
        " AND status IN ('waiting', 'queued')", (piece["job_id"], piece["channel"]),
    ):
        woken = TaskWoken(id=task["id"], reason=reason, run_after=time.time())
        tx.append([woken.to_new(stream_of("task", task["id"]), task["version"])], meta)


def channel_settings_of(tx: Transaction | EventStore, piece: dict) -> ChannelSettings:
    """The piece's channel as its project says now (a channel removed since: hard-gated)."""
    rows = tx.query("SELECT spec FROM projects WHERE name = ?", (piece["project"],))
    settings = project_from_spec(rows[0]["spec"]).channels.get(piece["channel"]) if rows else None
    return settings or ChannelSettings(gate="hard")


def _acting(who: Principal, action: str, piece: dict) -> Principal:
    authorize(who, action, project=piece["project"], channel=piece["channel"])
    return who


def approve(ws: Workspace, piece_id: str, *, operator: str | Principal, version: int | None = None,
            at: str | None = None, next_slot: bool = False) -> dict:
    """One person's approval of the exact current version. It approves the piece when the
    channel needs no more (`approvals`/`approvers`); until then it is recorded and counted.
    With `at` (project time) or `next_slot` the piece publishes then; approving an approved, not
    yet published piece again with a time moves it."""
    from masthead.app.proposals import refuse_if_blocked

    who = principal_of(ws, operator)  # resolved before the write transaction: it reads the users
    seen = _piece(ws.store, piece_id)
    # A proposal's high-severity legal flags block its sign-off (read before the write: they are
    # computed from the request and the text; the version check below keeps them current).
    refuse_if_blocked(ws, seen)
    with ws.store.transaction() as tx:
        piece = _piece(tx, piece_id)
        meta = _meta(_acting(who, "approve", piece).actor)
        if piece["version"] != seen["version"]:
            raise StateError(f"piece {piece_id} changed while it was being approved (now v{piece['version']})",
                             fix="read it again and approve the version you read")
        timed = at is not None or next_slot
        scheduled = scheduling.schedule_for(tx, piece, at=at, next_free=next_slot) if timed else None
        if piece["status"] == "approved" and scheduled is not None:
            return scheduling.reschedule(tx, piece, *scheduled, meta)
        if piece["status"] not in ("in_review", "drafted"):
            raise StateError(f"piece {piece_id} is {piece['status']}; only drafted or in-review pieces can be approved",
                             fix="an approved piece that is not published yet can be moved with --at or --next-slot"
                             if piece["status"] == "approved" else None)
        current = piece["version"]
        if version is not None and version != current:
            raise StateError(f"piece {piece_id} is at v{current}, not v{version}",
                             fix=f"read v{current} (`masthead review show {piece_id}`) and approve it with --version {current}")
        given = approvals_given(tx, piece_id, current)
        missing = missing_approvals(channel_settings_of(tx, piece), [*given, (who.name, who.role)])
        if who.name in dict(given):
            raise StateError(f"{who.name} approved {piece_id} v{current} already",
                             fix="each person counts once; still needed: " + (", ".join(missing) or "nothing"))
        stream = stream_of("piece", piece_id)
        recorded = ApprovalRecorded(piece_id=piece_id, version=current, role=who.role,
                                    complete=not missing, missing=missing)
        events = [recorded.to_new(stream, _stream_version(tx, stream))]
        if not missing:
            names = ", ".join(name for name, _ in [*given, (who.name, who.role)])
            events.append(ReviewApproved(piece_id=piece_id, version=current, reason=f"approved by {names}").to_new(stream))
        elif scheduled is not None:
            raise StateError(f"{piece_id} v{current} still needs {', '.join(missing)}: a time is given with the"
                             " approval that completes it", fix="approve without --at/--next-slot now")
        tx.append(events, meta)
        if scheduled is not None:
            tx.append([scheduled[0]], meta)
        wake_gate(tx, piece, meta, f"approved v{current}" + (f" (still needed: {', '.join(missing)})" if missing else ""))
        when = {"scheduled_at": scheduled[0].data["at"], "scheduled": scheduled[1]} if scheduled else {}
        return piece | {"approved_version": current, "missing": missing} | when


def reject(ws: Workspace, piece_id: str, *, operator: str | Principal, reason: str,
           also: Sequence[NewEvent] = ()) -> dict:
    """`also`: events appended in the same transaction (an undo's record, app/undo.py)."""
    if not reason.strip():
        raise InputError("--reason is empty", fix='say why, e.g. --reason "off-brand tone"')
    who = principal_of(ws, operator)
    with ws.store.transaction() as tx:
        piece = _piece(tx, piece_id)
        meta = _meta(_acting(who, "reject", piece).actor)
        if piece["status"] in ("published", "rejected"):
            raise StateError(f"piece {piece_id} is already {piece['status']}")
        stream = stream_of("piece", piece_id)
        event = ReviewRejected(piece_id=piece_id, version=piece["version"], reason=reason.strip())
        tx.append([event.to_new(stream, _stream_version(tx, stream)), *also], meta)
        wake_gate(tx, piece, meta, "rejected")
        # A scheduled piece's publish task ends now (it halts on a rejected piece), not at its time.
        scheduling.wake_publish(tx, piece, meta, "rejected")
        return piece


def edit(ws: Workspace, piece_id: str, *, operator: str | Principal, text: str, subject: str | None = None,
         kind: str = "human_edit", action: str = "edit", also: Sequence[NewEvent] = ()) -> int:
    """Add a human version; returns the new version number. Checks run on it at once.
    `also`: events appended in the same transaction (an undo's record, app/undo.py)."""
    if not text.strip():
        raise InputError("the edited text is empty", fix="pass a file with the new text")
    text = text.rstrip("\n")
    seen = _editable_piece(ws, piece_id)
    meta = _meta(_acting(principal_of(ws, operator), action, seen).actor)
    new_subject = subject if subject is not None else seen["subject"]
    # Checks (the voice check reads and may fill the memory index) run before the write
    # transaction; the append below is refused if the piece moved on meanwhile.
    results = _checks_of_channel(ws, seen, text, new_subject)
    with ws.store.transaction() as tx:
        piece = _piece(tx, piece_id)
        if piece["version"] != seen["version"] or piece["status"] != seen["status"]:
            raise StateError(f"piece {piece_id} changed while it was being edited (now v{piece['version']},"
                             f" {piece['status']})", fix="read it again and repeat the edit")
        version = piece["version"] + 1
        stream = stream_of("piece", piece_id)
        # A piece of a job about one person keeps a person's edit sealed with their key too.
        sealer = job_sealer(tx, piece["job_id"])
        revised = PieceRevised(id=piece_id, version=version, text=sealed_if(sealer, text),
                               subject=sealed_subject(sealer, new_subject),
                               kind=kind, author=meta.actor, tier=None, prompt_version=None, task_id=None)
        events = [revised.to_new(stream, _stream_version(tx, stream))]
        if results is not None:
            events.append(ChecksRecorded(piece_id=piece_id, version=version, results=[
                CheckOutcome(name=r.name, passed=r.passed, detail=sealed_if(sealer, r.detail))
                for r in results]).to_new(stream))
        if not _personal(tx, piece["job_id"]):
            events += edit_feedback_events(tx.query, project=piece["project"], piece_id=piece_id, version=version,
                                           text=text, embedding_model=ws.memory.model_id)
        tx.append([*events, *also], meta)
        wake_gate(tx, piece, meta, f"edited to v{version}")
        return version


def _personal(tx: Transaction, job_id: str) -> bool:
    """Whether the job writes to or about one person (an outreach contact, a signal added with
    --person): their piece's text, edits included, is never remembered for drafts to others."""
    return bool(tx.query("SELECT 1 FROM jobs j JOIN signals s ON s.id = j.signal_id"
                         " WHERE j.id = ? AND (s.contact IS NOT NULL OR s.subject IS NOT NULL)", (job_id,)))


def _editable_piece(ws: Workspace, piece_id: str) -> dict:
    rows = ws.store.query("SELECT * FROM pieces WHERE id = ?", (piece_id,))
    if not rows:
        raise NotFoundError(f"piece {piece_id!r} does not exist", fix="see `masthead review list` or `masthead pieces list`")
    if rows[0]["status"] not in ("drafted", "in_review"):
        raise StateError(f"piece {piece_id} is {rows[0]['status']}; only drafted or in-review pieces can be edited")
    piece = open_piece(ws.store.query, rows[0])
    if piece_forgotten(piece):
        raise StateError(f"piece {piece_id}: the person it is about was forgotten; it cannot be edited",
                         fix="nothing to do: its job has failed")
    return piece


def _checks_of_channel(ws: Workspace, piece: dict, text: str, subject: str | None) -> list[CheckResult] | None:
    """Every check of the piece's channel, voice included, on a person's text (None when the
    recipe has no check step for the channel)."""
    check_tasks = ws.store.query("SELECT * FROM tasks WHERE job_id = ? AND channel = ? AND kind = 'check'",
                                 (piece["job_id"], piece["channel"]))
    if not check_tasks:
        return None
    return check_piece(load_context(ws.store, check_tasks[0]), text, subject, ws.memory)


# -- on-demand refinement and manual completion -------------------------------------------
REFINE_STEP = "on_demand_refine"


def refine(ws: Workspace, piece_id: str, *, operator: str | Principal, note: str | None = None) -> str:
    """Queue a refinement of the piece by the `final` tier; returns the task id."""
    who = principal_of(ws, operator)
    with ws.store.transaction() as tx:
        piece = _piece(tx, piece_id)
        meta = _meta(_acting(who, "refine", piece).actor)
        if piece["status"] not in ("drafted", "in_review"):
            raise StateError(f"piece {piece_id} is {piece['status']}; only drafted or in-review pieces can be refined")
        if piece["channel"] in DOCUMENT_CHANNELS:
            # A model rewriting a whole proposal could change its computed prices and terms.
            raise StateError(f"piece {piece_id} is a {piece['channel']}: it is drafted from its template, not refined",
                             fix=f"edit it by hand: masthead review edit {piece_id} --file new.md")
        pending = tx.query("SELECT id FROM tasks WHERE job_id = ? AND channel = ? AND step = ? AND status NOT IN"
                           " ('done', 'failed', 'skipped')", (piece["job_id"], piece["channel"], REFINE_STEP))
        if pending:
            raise StateError(f"a refinement of {piece_id} is already queued ({pending[0]['id']})",
                             fix="run `masthead run --until-idle` and look at the new version")
        count = tx.query("SELECT COUNT(*) AS n FROM tasks WHERE job_id = ? AND channel = ? AND step = ?",
                         (piece["job_id"], piece["channel"], REFINE_STEP))[0]["n"]
        task_id = f"{piece['job_id']}.{REFINE_STEP}.{piece['channel']}.{count + 1}"
        job = tx.query("SELECT priority, criticality FROM jobs WHERE id = ?", (piece["job_id"],))[0]
        event = TaskEnqueued(id=task_id, job_id=piece["job_id"], step=REFINE_STEP, channel=piece["channel"],
                             kind="refine", priority=job["priority"], run_after=time.time(), max_attempts=3,
                             idempotency_key=task_id, criticality=job["criticality"], note=(note or "").strip() or None)
        tx.append([event.to_new(stream_of("task", task_id), 0)], meta)
        return task_id


def _needs_human_task(tx: Transaction | EventStore, ref: str) -> dict:
    rows = tx.query("SELECT * FROM tasks WHERE id = ?", (ref,))
    if not rows:
        piece = tx.query("SELECT job_id, channel FROM pieces WHERE id = ?", (ref,))
        if piece:
            rows = tx.query("SELECT * FROM tasks WHERE job_id = ? AND channel = ? AND status = 'needs_human'",
                            (piece[0]["job_id"], piece[0]["channel"]))
    if not rows:
        raise NotFoundError(f"no task or piece {ref!r} waits for a human", fix="see `masthead review list`")
    if rows[0]["status"] != "needs_human":
        raise StateError(f"task {rows[0]['id']} is {rows[0]['status']}, not waiting for a human")
    return rows[0]


def complete(ws: Workspace, ref: str, *, operator: str | Principal, text: str) -> str:
    """Finish a `needs_human` step by hand and let the recipe go on; returns the task id.

    Steps that write a piece take its text; other agent steps take JSON of their output model.
    """
    if not text.strip():
        raise InputError("the completion is empty", fix="pass a file with the step's output")
    seen = _needs_human_task(ws.store, ref)
    ctx = load_context(ws.store, seen)
    who = principal_of(ws, operator)
    authorize(who, "complete", project=ctx.project.name, channel=seen["channel"])
    meta = _meta(who.actor)
    agent = get_agent(ctx.step.agent or (ctx.step.refine.agent if ctx.step.refine else "refine"))
    writes_piece = seen["channel"] is not None and (agent.effect == "draft" or seen["kind"] in ("check", "refine"))
    text = text.rstrip("\n") if writes_piece else text
    # A person's text gets every check (voice included), run before the write transaction
    # because the voice check may fill the memory index.
    results = check_piece(ctx, text, _subject_of(ws, ctx.piece_id), ws.memory) if writes_piece else []
    with ws.store.transaction() as tx:
        task = _needs_human_task(tx, ref)
        if task["version"] != seen["version"]:
            raise StateError(f"task {task['id']} changed while it was being completed", fix="run the command again")
        events: list[NewEvent] = []
        if writes_piece:
            events, output = _human_piece_version(tx, ctx, text, meta, results)
        else:
            try:
                parsed = agent.output_model.model_validate_json(text)
            except ValidationError as exc:
                schema = json.dumps(agent.output_model.model_json_schema().get("properties", {}))
                raise InputError(f"the completion for step {task['step']} is not valid {agent.output_model.__name__} JSON"
                                 f" ({exc.errors()[0]['msg']})", fix=f"write a JSON object with these fields: {schema}") from None
            output = {"agent": agent.name, "output": parsed.model_dump(mode="json")}
        output |= {"completed_by": meta.actor}
        if ctx.sealer is not None:  # a job about one person: as a step's own output would be
            output = ctx.sealer.seal_output(output)
        tx.append([TaskSucceeded(id=task["id"], output=output).to_new(stream_of("task", task["id"]), task["version"])], meta)
        tx.append(events, meta)
        schedule(tx, ws.store, task["job_id"], meta, default_max_active=ws.config.runtime.max_active_jobs_per_project)
        return str(task["id"])


def _subject_of(ws: Workspace, piece_id: str) -> str | None:
    rows = open_pieces(ws.store.query, ws.store.query("SELECT subject FROM pieces WHERE id = ?", (piece_id,)))
    return rows[0]["subject"] if rows else None


def _human_piece_version(tx: Transaction, ctx: TaskContext, text: str, meta: Meta,
                         results: list[CheckResult]) -> tuple[list[NewEvent], dict[str, Any]]:
    piece = open_pieces(tx.query, tx.query("SELECT * FROM pieces WHERE id = ?", (ctx.piece_id,)))
    stream = stream_of("piece", ctx.piece_id)
    # A job about one person: the person's text is sealed with their key, as a step's would be.
    subject = sealed_subject(ctx.sealer, piece[0]["subject"] if piece else None)
    sealed = sealed_if(ctx.sealer, text)
    written: PieceRevised | PieceDrafted
    if piece:
        version = piece[0]["version"] + 1
        written = PieceRevised(id=ctx.piece_id, version=version, text=sealed, subject=subject, kind="human_edit",
                               author=meta.actor, tier=None, prompt_version=None, task_id=ctx.task["id"])
    else:
        version = 1
        written = PieceDrafted(id=ctx.piece_id, job_id=ctx.job["id"], project=ctx.project.name, channel=ctx.piece_channel,
                               text=sealed, subject=subject, author=meta.actor, tier=None, prompt_version=None,
                               task_id=ctx.task["id"])
    checks = ChecksRecorded(piece_id=ctx.piece_id, version=version, results=[
        CheckOutcome(name=r.name, passed=r.passed, detail=sealed_if(ctx.sealer, r.detail)) for r in results])
    flags = [f"{r.name}: {r.detail}" for r in results if not r.passed]
    events = [written.to_new(stream, _stream_version(tx, stream) if piece else 0), checks.to_new(stream)]
    return events, {"output": {"text": text}, "passed": not flags, "version": version, "flags": flags}


# -- reversible actions -------------------------------------------------------------------
def revert(ws: Workspace, piece_id: str, *, operator: str | Principal, to_version: int,
           also: Sequence[NewEvent] = ()) -> int:
    """A new version equal to `to_version` (text and subject); checks run on it and the gate
    looks again, as after an edit. Returns the new version number."""
    rows = open_pieces(ws.store.query, ws.store.query(
        "SELECT text, subject FROM piece_versions WHERE piece_id = ? AND version = ?", (piece_id, to_version)))
    if not rows:
        _editable_piece(ws, piece_id)  # a missing piece says so first
        raise NotFoundError(f"piece {piece_id} has no v{to_version}", field="to_version",
                            fix=f"see its versions with `masthead review show {piece_id}`")
    return edit(ws, piece_id, operator=operator, text=rows[0]["text"], subject=rows[0]["subject"],
                kind="revert", action="revert", also=also)


def reopen(ws: Workspace, piece_id: str, *, operator: str | Principal, reason: str,
           also: Sequence[NewEvent] = ()) -> dict:
    """Take a rejection back: the piece is back in review (as its gate had asked), and the
    channel's gate and publish steps run again. Approvals given before the rejection do not
    count any more."""
    if not reason.strip():
        raise InputError("--reason is empty", field="reason", fix='say why, e.g. --reason "the client agreed"')
    who = principal_of(ws, operator)
    with ws.store.transaction() as tx:
        piece = _piece(tx, piece_id)
        meta = _meta(_acting(who, "reopen", piece).actor)
        if piece["status"] != "rejected":
            raise StateError(f"piece {piece_id} is {piece['status']}; only a rejected piece can be reopened")
        stream = stream_of("piece", piece_id)
        why = f"{piece_id} reopened"
        at = _stream_version(tx, stream)
        events = [ReviewReopened(piece_id=piece_id, version=piece["version"], reason=reason.strip()).to_new(stream, at),
                  *review_again(tx, piece_id, piece["version"], at + 1)]
        events += reopen_events(tx, piece["job_id"], tx.query(
            "SELECT id, version, status FROM tasks WHERE job_id = ? AND channel = ? AND (status = 'skipped'"
            " OR (status = 'done' AND kind IN ('gate', 'publish')))", (piece["job_id"], piece["channel"])), why)
        tx.append([*events, *also], meta)
        schedule(tx, ws.store, piece["job_id"], meta, default_max_active=ws.config.runtime.max_active_jobs_per_project)
        return piece
