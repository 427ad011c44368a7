"""A draft step's candidates and the choice among them.

The composer writes candidates from the signal's items; the model's draft (when the model
produced one) and its hook spliced onto a composed body join them. Every candidate runs the
piece checks; `compose.select` picks the winner, and the step's output keeps all of them with
their checks and coverage, so the lineage says why the piece reads as it does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from masthead.agents.base import DraftEffect
from masthead.channels.checks import CheckResult
from masthead.channels.limits import SUBJECT_LIMIT, grapheme_length
from masthead.channels.threads import threads_allowed
from masthead.compose.candidates import Candidate, compose, splice
from masthead.compose.digest import compose_digest
from masthead.compose.select import Scored, covered_items, select, voice_score
from masthead.compose.thread import compose_thread
from masthead.events.model import NewEvent
from masthead.events.types import ItemOutline, ItemsExtracted
from masthead.personal_data import SEALED_ITEMS_NOTE
from masthead.runtime.context import TaskContext
from masthead.runtime.outreach import outreach_candidates

# News that is not a release (a trend, a feed item) is composed as a newsletter section: an
# opening, then its items, without a release's "what we changed" framing.
SECTION_KINDS = ("trend", "feed_item")
Check = Callable[[str, str | None], list[CheckResult]]


def composed_candidates(ctx: TaskContext, hooks: Sequence[str]) -> list[Candidate]:
    """The candidates written without a model: composed from the items, and each hook (the
    hooks agent's) spliced onto the composed body as its opening. A digest job's are composed a
    section per gathered signal."""
    channel = ctx.piece_channel
    extraction, voice = ctx.extraction, ctx.voice_rules
    disclaimer = ctx.project.policies.required_disclaimers.get(channel)
    if ctx.signal.get("digest") is not None or ctx.signal["kind"] in SECTION_KINDS:
        openings: list[str | None] = [None, *hooks]
        digest = ctx.signal.get("digest") is not None
        found = [compose_digest(channel, extraction, voice, disclaimer=disclaimer, opening=o, digest=digest)
                 for o in openings]
        return [c for c in found if c is not None]
    candidates = compose(channel, extraction, voice, disclaimer=disclaimer)
    if candidates:
        spliced = [splice(channel, hook, candidates[0], extraction, voice, disclaimer=disclaimer) for hook in hooks]
        candidates += [candidate for candidate in spliced if candidate is not None]
    return candidates


def choose_draft(ctx: TaskContext, model_draft: DraftEffect | None, check: Check, *,
                 subject: str | None = None, composed: list[str] | None = None,
                 hooks: Sequence[str] = ()) -> tuple[DraftEffect | None, dict[str, Any]]:
    """The winning draft for the step's channel and the lineage of the choice; no draft when
    there is neither an item to compose from nor a model draft. `subject` is the subject-line
    agent's pick, which composed candidates use when there is one; `hooks` open spliced ones.
    `composed` replaces the composer's candidates (a document agent's own model-free text: a
    proposal is not a post)."""
    channel = ctx.piece_channel
    extraction = ctx.extraction
    voice = ctx.voice_rules
    disclaimer = ctx.project.policies.required_disclaimers.get(channel)
    # An outreach row's email is composed from its contact, not from the items as a release.
    outreach = outreach_candidates(ctx)
    candidates = outreach or (composed_candidates(ctx, hooks) if composed is None
                              else [Candidate("composed", text, None) for text in composed])
    settings = ctx.project.channels.get(channel)
    threads = compose_thread(channel, extraction, voice) \
        if composed is None and threads_allowed(channel, settings.thread if settings else None) else []
    if subject and grapheme_length(subject.strip()) <= SUBJECT_LIMIT:
        # The subject-line agent's pick is a candidate too, not a given: each composed body goes
        # in with it first and with the composed subject after, so a model subject that fails a
        # check (an invented "3.1") loses to the composed one instead of failing the piece.
        candidates = [variant for candidate in candidates
                      for variant in (replace(candidate, subject=subject), candidate)]
    if model_draft is not None:
        if candidates and not outreach and composed is None and ctx.signal.get("digest") is None \
                and ctx.signal["kind"] not in SECTION_KINDS:
            spliced = splice(channel, model_draft.text, candidates[0], extraction, voice, disclaimer=disclaimer)
            candidates += [spliced] if spliced is not None else []
        candidates.append(Candidate("model", model_draft.text, model_draft.subject))
    # The thread competes like any candidate: it wins when it covers more salient items.
    candidates += threads
    if not candidates:
        return None, {"candidates": [], "why": "the signal has no item and the model wrote nothing"}
    scored = [_score(ctx, candidate, check) for candidate in candidates]
    selection = select(scored)
    winner = selection.chosen.candidate
    subject = winner.subject if winner.subject is not None else (model_draft.subject if model_draft else None)
    lineage = {"candidates": [s.lineage() for s in scored], "winner": selection.winner,
               "winner_kind": winner.kind, "why": selection.reason}
    return DraftEffect(channel=channel, text=winner.text, subject=subject), lineage


def _score(ctx: TaskContext, candidate: Candidate, check: Check) -> Scored:
    results = check(candidate.text, candidate.subject)
    return Scored(
        candidate=candidate,
        failures=tuple(f"{r.name}: {r.detail}" for r in results if not r.passed),
        covered=covered_items(candidate.text, ctx.extraction),
        voice=voice_score(candidate.text, ctx.voice_rules, ctx.project.voice.description),
    )


def items_event(ctx: TaskContext) -> ItemsExtracted:
    if ctx.personal:
        return ItemsExtracted(job_id=ctx.job["id"], signal_id=ctx.signal["id"], items=[], note=SEALED_ITEMS_NOTE)
    extraction = ctx.extraction
    return ItemsExtracted(
        job_id=ctx.job["id"], signal_id=ctx.signal["id"],
        items=[ItemOutline(kind=i.kind, text=i.text, salience=i.salience, position=i.position, section=i.section)
               for i in extraction.ranked()],
        product=extraction.product, version=extraction.version, link=extraction.link,
        left_out=extraction.left_out, note=extraction.note,
    )


def items_stream(job_id: str) -> str:
    return f"items-{job_id}"


# Jobs whose items stream is known to hold its event (a stream never shrinks): their later
# job-level steps skip the look-up, one query outside any transaction each. Only what was read
# back from the log goes in, never an event not yet committed. The most recent `_KNOWN_SIZE`.
_ITEMS_KNOWN: dict[str, None] = {}
_ITEMS_KNOWN_LOCK = threading.Lock()
_KNOWN_SIZE = 4096


def record_items(ctx: TaskContext, versions: Callable[[str], int]) -> NewEvent | None:
    """The ItemsExtracted event for the job, once: by its first job-level step."""
    job_id = ctx.job["id"]
    if ctx.channel is not None or job_id in _ITEMS_KNOWN:
        return None
    stream = items_stream(job_id)
    if versions(stream) > 0:
        with _ITEMS_KNOWN_LOCK:
            _ITEMS_KNOWN[job_id] = None
            if len(_ITEMS_KNOWN) > _KNOWN_SIZE:
                del _ITEMS_KNOWN[next(iter(_ITEMS_KNOWN))]
        return None
    return items_event(ctx).to_new(stream, 0)
