"""Step handlers: agent, check, gate and publish. Each returns a `StepOutcome`.

Handlers never append a piece's state themselves (except the outbox intent, which must be
durable before delivery); the worker appends the outcome's events with the task's completion
in one transaction, so a crash leaves either all of a step's effects or none.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from masthead.agents.base import AgentResult, DraftEffect
from masthead.agents.draft import pick_subject
from masthead.agents.registry import get_agent
from masthead.channels.checks import CheckResult, draft_text, run_checks
from masthead.channels.provenance import (
    SourceText,
    check_injection,
    check_provenance,
    default_allowed_domains,
)
from masthead.channels.publisher import Publisher
from masthead.channels.substance import substance_check
from masthead.channels.threads import threads_allowed, whole_text
from masthead.channels.urls import host_of
from masthead.config import MastheadConfig
from masthead.errors import StateError
from masthead.events.model import NewEvent, stream_of
from masthead.events.store import EventStore
from masthead.events.types import (
    PieceDrafted,
    PieceRevised,
    ReviewApproved,
    ReviewRequested,
    TaskWoken,
)
from masthead.memory.service import MemoryService
from masthead.personal_data import open_piece, sealed_if, sealed_subject
from masthead.projects import ChannelSettings
from masthead.providers.registry import ProviderSet
from masthead.recipes.schema import stricter_gate
from masthead.runtime.approvals import approval_state
from masthead.runtime.confidence import checks_recorded, routing_reasons
from masthead.runtime.context import TaskContext
from masthead.runtime.digest import trend_evidence
from masthead.runtime.documents import (
    document_checks,
    document_facts,
    document_values,
    template_lineage,
)
from masthead.runtime.drafting import choose_draft, record_items
from masthead.runtime.guards import Guards
from masthead.runtime.model_client import (
    AgentOutputError,
    CallScope,
    RecordingModelClient,
    first_run,
)
from masthead.runtime.outreach import other_contacts_check
from masthead.runtime.recall import recall, voice_check


@dataclass
class StepOutcome:
    output: dict[str, Any]
    # (actor, event) pairs appended with the task's completion, in order.
    events: list[tuple[str, NewEvent]] = field(default_factory=list)
    wait_reason: str | None = None
    wait_until: float | None = None
    halt: bool = False

    @property
    def waiting(self) -> bool:
        return self.wait_reason is not None


@dataclass
class StepServices:
    store: EventStore
    config: MastheadConfig
    providers: ProviderSet
    publishers: dict[str, Publisher]
    guards: Guards
    clock: Callable[[], float] = time.time
    on_text: Callable[[str, str], None] | None = None  # (task id, text chunk) while a model writes
    memory: MemoryService | None = None
    root: Path | None = None  # the workspace folder: its templates/ (None: built-in templates only)


def piece_row(store: EventStore, piece: str) -> dict[str, Any] | None:
    """The piece, its text, subject and flags opened (sealed for a job about one person)."""
    rows = store.query("SELECT * FROM pieces WHERE id = ?", (piece,))
    return open_piece(store.query, rows[0]) if rows else None


def _model_client(ctx: TaskContext, services: StepServices, tier: str, scope: str, actor: str) -> RecordingModelClient:
    on_text = None
    if services.on_text is not None:
        callback, task = services.on_text, ctx.task["id"]

        def on_text(chunk: str) -> None:
            callback(task, chunk)

    call = CallScope(task_id=ctx.task["id"], job_id=ctx.job["id"], project=ctx.project.name,
                     budget=ctx.project.budget, criticality=ctx.task["criticality"], scope=scope, actor=actor,
                     first_run=first_run(ctx.task), sealer=ctx.sealer)
    return RecordingModelClient(store=services.store, config=services.config, providers=services.providers,
                                guards=services.guards, tier=tier, call=call, on_text=on_text)


def _run_agent(name: str, tier: str, scope: str, values: dict[str, Any], ctx: TaskContext,
               services: StepServices) -> tuple[AgentResult, list[str], Any]:
    """Run one agent; returns its result, every model call the step paid for on its behalf (a
    memory summary written first, then the agent's own) and the agent. An AgentOutputError
    carries the same `call_keys`: a step lists every call it recorded, used or not."""
    agent = get_agent(name)
    calls: list[str] = []
    if services.memory is not None and "memory" in agent.input_model.model_fields:
        # Recorded before the agent sees it; a re-run of this scope reuses the record.
        values = values | {"memory": recall(ctx, services.memory, name, scope, values, _summariser(ctx, services, calls))}
    inp = agent.input_model.model_validate(values)
    client = _model_client(ctx, services, tier, scope, f"agent:{name}")
    try:
        result = agent.run(inp, client)
    except AgentOutputError as exc:
        exc.call_keys = [*calls, *client.call_keys]
        raise
    if result.effects and agent.effect == "none":
        raise StateError(f"agent {name} declared effect 'none' but asked to change a piece")
    return result, [*calls, *client.call_keys], agent


def _summariser(ctx: TaskContext, services: StepServices, calls: list[str]) -> Callable[[dict[str, Any], str], str]:
    def summarise(values: dict[str, Any], scope: str) -> str:
        try:
            result, summary_calls, _agent = _run_agent("summarise", "draft", scope, values, ctx, services)
        except AgentOutputError as exc:
            calls.extend(exc.call_keys)  # recall goes on without the summary; the calls were paid for
            raise
        calls.extend(summary_calls)
        return str(result.output.model_dump()["summary"])

    return summarise


# -- agent steps -----------------------------------------------------------------------
def channel_settings(ctx: TaskContext) -> ChannelSettings:
    """The channel's current settings; a channel removed from the project since the job
    started is treated as hard-gated, so nothing of it publishes without a person."""
    settings = ctx.project.channels.get(ctx.piece_channel) or ChannelSettings(gate="hard")
    # A recipe may ask for a stricter gate than the channel's (outreach: hard), never a looser one.
    floor = ctx.recipe.min_gate
    return settings if floor is None else settings.model_copy(update={"gate": stricter_gate(settings.gate, floor)})


def piece_threads(ctx: TaskContext) -> bool:
    """Whether the piece may be a thread: a short channel whose `thread:` is auto (the default)."""
    return threads_allowed(ctx.piece_channel, channel_settings(ctx).thread)


def step_tier(ctx: TaskContext) -> str:
    """Progressive refinement: drafts use the step's tier, except that a piece bound for a hard
    gate is written by the `final` tier straight away (a person will read it anyway)."""
    if ctx.channel is not None and channel_settings(ctx).gate == "hard" \
            and get_agent(ctx.step.agent or "").effect == "draft":
        return "final"
    return ctx.step.tier


def run_agent_step(ctx: TaskContext, services: StepServices) -> StepOutcome:
    assert ctx.step.agent is not None
    values = ctx.agent_values(services.store)
    tier = step_tier(ctx)
    agent = get_agent(ctx.step.agent)
    if ctx.document is not None and "client_project" in agent.input_model.model_fields:
        values |= document_values(ctx.project, ctx.document, services.root, ctx.piece_channel)
    gathered = ctx.signal.get("gathered")
    if gathered is not None and not gathered and ctx.channel is None:
        # A digest of an empty week says nothing: the job ends here, before any model call.
        return StepOutcome(output={"agent": agent.name, "gathered": [], "skipped": "no signals in the window"},
                           halt=True)
    result, calls, dropped = _agent_or_fallback(agent, tier, values, ctx, services)
    outcome = StepOutcome(output={
        "agent": agent.name, "prompt_version": agent.prompt_version, "tier": tier,
        "output": result.output.model_dump(mode="json") if result is not None else None, "model_calls": calls,
    })
    if dropped:
        outcome.output["model_dropped"] = dropped
    if "template" in values:  # lineage: which template (and which copy of it) the document came from
        outcome.output["template"] = template_lineage(values["template"])
    if gathered is not None and ctx.channel is None:
        outcome.output["gathered"] = gathered  # the digest's signals, in its lineage
    recorded = record_items(ctx, lambda stream: stream_version(services.store, stream))
    if recorded is not None:
        outcome.events.append(("system", recorded))
    effects = result.effects if result is not None else []
    if agent.effect == "draft":
        # Structure before the model: the model's draft is one candidate among composed ones.
        subjects = values.get("subjects") or {}
        # A document agent composes its own model-free candidate (the template with plain prose).
        compose = getattr(agent, "compose", None)
        composed = [compose(agent.input_model.model_validate(values))] if compose is not None else None
        hooks = [str(hook["text"]) for hook in (values.get("hooks") or {}).get("hooks", [])]
        chosen, lineage = choose_draft(ctx, effects[0] if effects else None,
                                       # Without memory: the embedding-based voice check runs once, on the
                                       # winner, in the check step; candidates are held to the rules.
                                       lambda text, subject: check_piece(ctx, text, subject, None),
                                       subject=pick_subject(subjects["subjects"]) if subjects.get("subjects") else None,
                                       composed=composed, hooks=hooks)
        outcome.output["selection"] = lineage
        effects = [chosen] if chosen is not None else []
    for effect in effects:
        outcome.events.append((f"agent:{agent.name}", _draft_event(ctx, services, effect, agent.prompt_version, tier)))
    return outcome


def _agent_or_fallback(agent: Any, tier: str, values: dict[str, Any], ctx: TaskContext,
                       services: StepServices) -> tuple[AgentResult | None, list[str], str | None]:
    """The agent's result, its model calls, and why the model's output was dropped (if it was).

    A model whose output is unusable (malformed, or truncated by a repetition loop or the token
    cap) costs its candidate, never the piece: a drafting agent goes on with composed
    candidates, an agent with a `fallback` (brief, subject lines) with its model-free result.
    Other agents, and a drafting agent with no item to compose from, fail as before.
    """
    try:
        result, calls, _agent = _run_agent(agent.name, tier, ctx.task["idempotency_key"], values, ctx, services)
        return result, calls, None
    except AgentOutputError as exc:
        # Provider errors are not caught: retries, the breaker and deferral handle an outage,
        # and a refused request (bad key, unknown model) is the operator's to fix, not to hide.
        fallback = getattr(agent, "fallback", None)
        substitute = fallback(agent.input_model.model_validate(values)) if fallback is not None else None
        composable = ctx.extraction.items or ctx.contact is not None  # an outreach row composes from its contact
        if substitute is None and not (agent.effect == "draft" and composable):
            raise
        return substitute, exc.call_keys, f"{type(exc).__name__}: {exc.message}"


def _draft_event(ctx: TaskContext, services: StepServices, effect: DraftEffect, prompt_version: str, tier: str) -> NewEvent:
    if effect.channel != ctx.channel:
        raise StateError(f"agent wrote for channel {effect.channel} in a step for {ctx.channel}")
    existing = piece_row(services.store, ctx.piece_id)
    if existing is None:
        return PieceDrafted(
            id=ctx.piece_id, job_id=ctx.job["id"], project=ctx.project.name, channel=effect.channel,
            text=sealed_if(ctx.sealer, effect.text), subject=sealed_subject(ctx.sealer, effect.subject),
            author=f"agent:{ctx.step.agent}", tier=tier, prompt_version=prompt_version, task_id=ctx.task["id"],
        ).to_new(stream_of("piece", ctx.piece_id), 0)
    return PieceRevised(
        id=ctx.piece_id, version=existing["version"] + 1, text=sealed_if(ctx.sealer, effect.text),
        subject=sealed_subject(ctx.sealer, effect.subject),
        kind="refinement", author=f"agent:{ctx.step.agent}", tier=tier, prompt_version=prompt_version,
        task_id=ctx.task["id"],
    ).to_new(stream_of("piece", ctx.piece_id))


# -- checks and refinement --------------------------------------------------------------
def check_piece(ctx: TaskContext, text: str, subject: str | None, memory: MemoryService | None = None) -> list[CheckResult]:
    channel = ctx.channel
    assert channel is not None
    policies = ctx.project.policies
    disclaimer = policies.required_disclaimers.get(channel)
    signal = ctx.signal
    # The required disclaimer is the project's own text: its numbers and links are grounded; so
    # are a document's computed figures (price table, dates) and the client's rate card and terms.
    operator_texts = [*ctx.project.facts, disclaimer or ""]
    if ctx.document is not None:
        operator_texts += document_facts(ctx.document, ctx.project)
    signal_text = "\n".join(part for part in (signal["title"], signal["body"]) if part)
    trust = signal["trust"]
    signal_source = SourceText(signal_text, f"{trust} signal text ({signal['source']})", vouched=trust != "untrusted")
    sources = [SourceText(t, "the project's facts", vouched=True) for t in operator_texts] + [signal_source]
    sources += [SourceText(t, "a trend's evidence (computed from imported analytics)", vouched=True)
                for t in trend_evidence(signal)]
    allowed = frozenset(host_of(d) for d in policies.allowed_domains) if policies.allowed_domains is not None \
        else default_allowed_domains(operator_texts)
    thread = piece_threads(ctx)
    results = run_checks(
        channel, text, subject=subject,
        banned_phrases=policies.banned_phrases,
        required_disclaimer=disclaimer,
        grounding_sources=[signal["body"], signal["title"] or "", *operator_texts, *trend_evidence(signal)],
        thread=thread,
    )
    # A thread's parts are read as one text (its numbers are not figures to ground).
    text = whole_text(text) if thread else text
    draft = draft_text(text, subject)
    return results + [
        check_provenance(draft, sources, allowed),
        check_injection(draft, signal_source, trust),
    ] + other_contacts_check(ctx, draft) + voice_check(ctx, memory, text) + [substance_check(
        channel, text, ctx.extraction, signal_text=f"{signal['title'] or ''}\n{signal['body']}",
        min_chars=channel_settings(ctx).min_chars)] + (
        document_checks(ctx.document, ctx.project, text) if ctx.document is not None else [])


def failures(results: list[CheckResult]) -> list[str]:
    return [f"{r.name}: {r.detail}" for r in results if not r.passed]


def run_check_step(ctx: TaskContext, services: StepServices) -> StepOutcome:
    piece = piece_row(services.store, ctx.piece_id)
    if piece is None:
        raise StateError(f"piece {ctx.piece_id} for {ctx.channel} was never drafted")
    text, subject, version = piece["text"], piece["subject"], piece["version"]
    results = check_piece(ctx, text, subject, services.memory)
    outcome = StepOutcome(output={})
    outcome.events.append(("system", checks_recorded(ctx, version, results, services.store, services.memory, text)))
    refine = ctx.step.refine
    rounds, discarded, calls = 0, [], []
    while failures(results) and refine is not None and rounds < refine.max_rounds:
        values = ctx.agent_values(services.store) | {"text": text, "subject": subject, "failures": failures(results)}
        scope = f"{ctx.task['idempotency_key']}/refine-{rounds}"
        try:
            result, refine_calls, agent = _run_agent(refine.agent, refine.tier, scope, values, ctx, services)
        except AgentOutputError as exc:
            calls += exc.call_keys
            break  # the model could not refine: the piece goes to review with its flags, as it is
        calls += refine_calls
        rounds += 1
        effect = result.effects[0] if result.effects else DraftEffect(ctx.channel or "", text, subject)
        refined = check_piece(ctx, effect.text, effect.subject, services.memory)
        if len(failures(refined)) >= len(failures(results)):
            # A refinement is a candidate like any draft: one that fails as many checks (a small
            # model that drops every item to fix a subject) is recorded here and not adopted.
            discarded.append({"round": rounds, "agent": agent.name, "flags": failures(refined)})
            continue
        text, subject, version, results = effect.text, effect.subject, version + 1, refined
        outcome.events.append((f"agent:{agent.name}", PieceRevised(
            id=ctx.piece_id, version=version, text=sealed_if(ctx.sealer, text),
            subject=sealed_subject(ctx.sealer, subject), kind="refinement",
            author=f"agent:{agent.name}", tier=refine.tier, prompt_version=agent.prompt_version,
            task_id=ctx.task["id"],
        ).to_new(stream_of("piece", ctx.piece_id))))
        outcome.events.append(("system", checks_recorded(ctx, version, results, services.store, services.memory, text)))
    outcome.output = {"passed": not failures(results), "version": version, "flags": failures(results),
                      "refinements": rounds, "refinements_discarded": discarded, "model_calls": calls}
    return outcome


# -- gates ------------------------------------------------------------------------------
def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def stream_version(store: EventStore, stream: str) -> int:
    return store.stream_version(stream)


def human_approval(store: EventStore, piece: str, version: int) -> dict[str, Any] | None:
    # An approval its person withdrew since (an undo, `ApprovalWithdrawn`) no longer counts.
    rows = store.query(
        "SELECT * FROM decisions d WHERE piece_id = ? AND version = ? AND decision = 'approved'"
        " AND actor LIKE 'human:%' AND NOT EXISTS (SELECT 1 FROM decisions w WHERE w.piece_id = d.piece_id"
        " AND w.version = d.version AND w.decision = 'approval_withdrawn' AND w.actor = d.actor AND w.seq > d.seq)"
        " ORDER BY seq DESC LIMIT 1", (piece, version),
    )
    return rows[0] if rows else None


def people_missing(store: EventStore, settings: ChannelSettings, piece: str, version: int) -> str | None:
    """Why `version` may not pass for want of people (None: it may): a hard gate needs one human
    approval of it; `approvals`/`approvers` need theirs, each of this exact version."""
    if settings.needs_people:
        state = approval_state(store, settings, piece, version)
        return None if state.complete else f"needs approvals of v{version} from: {', '.join(state.missing)}"
    if settings.gate == "hard" and human_approval(store, piece, version) is None:
        return f"has a hard gate and no human approval of v{version}"
    return None


def run_gate_step(ctx: TaskContext, services: StepServices) -> StepOutcome:
    assert ctx.channel is not None
    store = services.store
    piece = piece_row(store, ctx.piece_id)
    if piece is None:
        raise StateError(f"piece {ctx.piece_id} for {ctx.channel} was never drafted")
    settings = channel_settings(ctx)
    gate, version = settings.gate, piece["version"]
    base = {"gate": gate, "version": version}
    if piece["status"] == "rejected":
        return StepOutcome(output=base | {"approved": False}, halt=True)
    if piece["status"] == "approved" and piece["approved_version"] == version:
        missing = people_missing(store, settings, ctx.piece_id, version)
        if missing is not None:
            raise StateError(f"piece {ctx.piece_id} v{version} is approved but {missing}")
        return StepOutcome(output=base | {"approved": True})
    flags = json.loads(piece["flags"])
    now = services.clock()
    # Decisions are appended only if the piece has not moved since we read it (a human may
    # reject or edit meanwhile); a conflict makes the worker run this gate again at once.
    stream = stream_of("piece", ctx.piece_id)
    seen = stream_version(store, stream)
    queued = _queued_request(store, ctx.piece_id, version)
    if settings.needs_people:
        gate = base["gate"] = "hard"  # several people (or named ones) must approve: no machine may
    routed = routing_reasons(store, services.memory, ctx, settings, piece, gate)
    if routed:
        base = base | {"routed": routed}
    if not flags and not routed and gate == "auto":
        approve = ReviewApproved(piece_id=ctx.piece_id, version=version, reason="auto gate: all checks passed")
        return StepOutcome(output=base | {"approved": True}, events=[("system", approve.to_new(stream, seen))])
    if not flags and not routed and gate == "soft":
        return _soft_gate(ctx, services, base, queued, stream, seen, now)
    # A job about one person names its failed checks only: their details may quote the text,
    # which the log keeps sealed (the desk shows them opened).
    said = [flag.partition(": ")[0] for flag in flags] if ctx.sealer is not None else flags
    reasons = (["checks failed: " + "; ".join(said)] if flags else []) + routed
    if gate == "hard" and not flags:
        reasons.insert(0, f"needs {settings.approvals_needed} approvals of this version" if settings.needs_people
                       else "hard gate: needs a human approval of this version")
    reason = "; ".join(reasons)
    outcome = StepOutcome(output=base, wait_reason=f"waiting for review ({reason})")
    # A request stands only for the version and reason it was made for: a person's edit that
    # passes its checks changes why the piece waits, and the queue must say the current why.
    if queued is None or queued["reason"] != reason:
        outcome.events.append(("system", ReviewRequested(
            piece_id=ctx.piece_id, version=version, gate=gate, reason=reason,
            priority=ctx.job["priority"], deadline=None,
        ).to_new(stream, seen)))
    return outcome


SOFT_REASON = "soft gate: publishes at the deadline unless rejected"


def _queued_request(store: EventStore, piece: str, version: int) -> dict[str, Any] | None:
    """The piece's review request if it is for this version, else None."""
    rows = store.query("SELECT * FROM review_queue WHERE piece_id = ?", (piece,))
    return rows[0] if rows and rows[0]["version"] == version else None


def _soft_gate(ctx: TaskContext, services: StepServices, base: dict[str, Any], queued: dict[str, Any] | None,
               stream: str, seen: int, now: float) -> StepOutcome:
    """A passing piece behind a soft gate publishes at its deadline unless a person stops it.

    The deadline is recorded once, in the ReviewRequested event, and read back on every wake-up;
    a request made for another reason (failed checks before a person's edit) has no deadline
    and is replaced, so each run does not start a new wait."""
    settings = channel_settings(ctx)
    version = base["version"]
    pending = queued if queued is not None and queued["deadline"] and queued["reason"] == SOFT_REASON else None
    if pending is not None and now >= _epoch(pending["deadline"]):
        approve = ReviewApproved(piece_id=ctx.piece_id, version=version,
                                 reason="soft gate: not stopped before the deadline")
        return StepOutcome(output=base | {"approved": True}, events=[("system", approve.to_new(stream, seen))])
    delay = settings.soft_delay_minutes
    delay = services.config.runtime.soft_gate_delay_minutes if delay is None else delay
    deadline = _epoch(pending["deadline"]) if pending is not None else now + delay * 60
    outcome = StepOutcome(output=base, wait_reason=f"soft gate: publishes at {_iso(deadline)} unless rejected",
                          wait_until=deadline)
    if pending is None:
        outcome.events.append(("system", ReviewRequested(
            piece_id=ctx.piece_id, version=version, gate="soft", priority=ctx.job["priority"],
            reason=SOFT_REASON, deadline=_iso(deadline),
        ).to_new(stream, seen)))
    return outcome


def run_refine_step(ctx: TaskContext, services: StepServices) -> StepOutcome:
    """On-demand refinement (`masthead review refine`): the final tier rewrites the current
    version with the failing checks and the operator's note, then checks run again."""
    store = services.store
    piece = piece_row(store, ctx.piece_id)
    if piece is None or piece["status"] not in ("drafted", "in_review"):
        state = piece["status"] if piece else "missing"
        return StepOutcome(output={"refined": False, "reason": f"piece is {state}"})
    asks = json.loads(piece["flags"]) + ([f"operator note: {ctx.task['note']}"] if ctx.task["note"] else [])
    values = ctx.agent_values(store) | {"text": piece["text"], "subject": piece["subject"],
                                        "failures": asks or ["make it clearer and more specific"]}
    result, calls, agent = _run_agent("refine", "final", ctx.task["idempotency_key"], values, ctx, services)
    effect = result.effects[0] if result.effects else DraftEffect(ctx.piece_channel, piece["text"], piece["subject"])
    version = piece["version"] + 1
    results = check_piece(ctx, effect.text, effect.subject, services.memory)
    outcome = StepOutcome(output={"refined": True, "version": version, "tier": "final", "agent": agent.name,
                                  "prompt_version": agent.prompt_version, "model_calls": calls,
                                  "flags": failures(results)})
    outcome.events.append((f"agent:{agent.name}", PieceRevised(
        id=ctx.piece_id, version=version, text=sealed_if(ctx.sealer, effect.text),
        subject=sealed_subject(ctx.sealer, effect.subject), kind="refinement",
        author=f"agent:{agent.name}", tier="final", prompt_version=agent.prompt_version, task_id=ctx.task["id"],
    ).to_new(stream_of("piece", ctx.piece_id))))
    outcome.events.append(("system", checks_recorded(ctx, version, results, services.store, services.memory, effect.text)))
    # The gate looks again: an auto gate may now pass, a hard gate wants approval of this version.
    for gate in store.query("SELECT id, version FROM tasks WHERE job_id = ? AND channel = ? AND kind = 'gate'"
                            " AND status IN ('waiting', 'queued')", (ctx.job["id"], ctx.channel)):
        woken = TaskWoken(id=gate["id"], reason=f"refined to v{version}", run_after=services.clock())
        outcome.events.append(("system", woken.to_new(stream_of("task", gate["id"]), gate["version"])))
    return outcome
