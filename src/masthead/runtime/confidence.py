"""How sure Masthead is of a piece, and whether it touches a topic the brand handles by hand.

Confidence is a number in [0, 1] with its parts, computed when a version's checks run and
recorded with them (`ChecksRecorded.confidence`):

- checks:    the share of the piece's checks it passes;
- coverage:  the share of the signal's salient items (the top 8) the text carries; 1 without items;
- voice:     cosine similarity to the project's voice exemplars (memory), divided by VOICE_FULL and
             capped at 1; without memory or exemplars, the share of the voice's rules it keeps;
- agreement: how much the other candidates that passed every check say the same thing as the
             chosen text (mean word overlap); 0.5 when there was no other passing candidate.

confidence = 0.35 checks + 0.25 coverage + 0.2 voice + 0.2 agreement. An `auto` channel with
`auto_min_confidence` sends a piece below it to review, with the parts as the reason.

Sensitive topics (`policies.sensitive_topics`) send a piece to review whatever its gate. A topic
matches by its term, as a whole word anywhere in the text or subject, or by meaning: each of the
piece's sentences is embedded with the project's embedder (memory), as are the term and each
comma-separated phrase of the description, and a sentence whose best cosine similarity reaches
the topic's threshold (default `policies.sensitive_threshold`, 0.35) matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import regex

from masthead.channels.checks import CheckResult
from masthead.compose.select import SALIENT_TOP, covered_items, voice_score
from masthead.compose.text import split_sentences, word_set
from masthead.events.model import NewEvent, parse_json, stream_of
from masthead.events.store import EventStore
from masthead.events.types import CheckOutcome, ChecksRecorded
from masthead.memory.service import MemoryService
from masthead.personal_data import open_output, open_pieces, sealed_if
from masthead.projects import ChannelSettings, SensitiveTopic
from masthead.runtime.context import TaskContext

WEIGHTS = {"checks": 0.35, "coverage": 0.25, "voice": 0.2, "agreement": 0.2}
VOICE_FULL = 0.6  # a cosine similarity at which a text reads fully in the voice (bundled MiniLM)
NO_OTHER_CANDIDATE = 0.5


def combine(parts: dict[str, float]) -> float:
    return round(sum(WEIGHTS[name] * parts[name] for name in WEIGHTS), 3)


def checks_part(results: list[CheckResult]) -> float:
    return round(sum(r.passed for r in results) / len(results), 3) if results else 1.0


def coverage_part(text: str, extraction: Any) -> float:
    salient = min(SALIENT_TOP, len(extraction.items))
    return round(len(covered_items(text, extraction)) / salient, 3) if salient else 1.0


def voice_part(text: str, ctx: TaskContext, memory: MemoryService | None) -> float:
    if memory is not None:
        verdict = memory.voice(ctx.project.name, text, list(ctx.project.voice.avoid))
        if verdict.score is not None:
            return round(min(1.0, max(0.0, verdict.score / VOICE_FULL)), 3)
    return voice_score(text, ctx.voice_rules, ctx.project.voice.description)


def agreement_part(text: str, others: list[str]) -> float:
    """Mean word overlap (Jaccard) of the chosen text with the other passing candidates."""
    words = word_set(text)
    overlaps = [len(words & word_set(o)) / max(1, len(words | word_set(o))) for o in others if o != text]
    return round(sum(overlaps) / len(overlaps), 3) if overlaps else NO_OTHER_CANDIDATE


def confidence_of(ctx: TaskContext, text: str, results: list[CheckResult], memory: MemoryService | None,
                  others: list[str]) -> dict[str, Any]:
    parts = {"checks": checks_part(results), "coverage": coverage_part(text, ctx.extraction),
             "voice": voice_part(text, ctx, memory), "agreement": agreement_part(text, others)}
    return {"value": combine(parts), "parts": parts}


def describe(confidence: dict[str, Any]) -> str:
    parts = ", ".join(f"{name} {confidence['parts'][name]:g}" for name in WEIGHTS if name in confidence["parts"])
    return f"{confidence['value']:.2f} ({parts})"


# -- recording and routing ----------------------------------------------------------------
def checks_recorded(ctx: TaskContext, version: int, results: list[CheckResult], store: EventStore,
                    memory: MemoryService | None, text: str | None = None) -> NewEvent:
    """The version's checks with its confidence (runtime/confidence.py)."""
    if text is None:
        rows = open_pieces(store.query, store.query("SELECT text FROM pieces WHERE id = ?", (ctx.piece_id,)))
        text = str(rows[0]["text"]) if rows else ""
    others = [c["text"] for c in _draft_candidates(ctx, store) if c.get("passed")]
    return ChecksRecorded(
        piece_id=ctx.piece_id, version=version,
        # A detail may quote the text: sealed, for a job about one person.
        results=[CheckOutcome(name=r.name, passed=r.passed, detail=sealed_if(ctx.sealer, r.detail)) for r in results],
        confidence=confidence_of(ctx, text, results, memory, others),
    ).to_new(stream_of("piece", ctx.piece_id))


def _draft_candidates(ctx: TaskContext, store: EventStore) -> list[dict[str, Any]]:
    """The candidates the channel's drafting step weighed (its selection lineage), if any."""
    rows = store.query("SELECT e.data FROM tasks t JOIN events e ON e.seq = t.output_seq"
                       " WHERE t.job_id = ? AND t.channel = ? AND t.kind = 'agent' AND t.status = 'done'",
                       (ctx.job["id"], ctx.channel))
    for row in rows:
        # Opened where a job about one person sealed it; the model's answer is not needed here.
        selection = open_output(store.query, parse_json(row["data"]).get("output") or {}).get("selection")
        if selection:
            return list(selection.get("candidates") or [])
    return []


def recorded_confidence(store: EventStore, piece: str, version: int) -> dict[str, Any] | None:
    """The confidence recorded with the version's latest checks, if any."""
    rows = store.query("SELECT data FROM events WHERE stream = ? AND type = 'ChecksRecorded' ORDER BY seq DESC",
                       (stream_of("piece", piece),))
    for row in rows:
        data = parse_json(row["data"])
        if data["version"] == version:
            return data.get("confidence")
    return None


def routing_reasons(store: EventStore, memory: MemoryService | None, ctx: TaskContext, settings: ChannelSettings,
                    piece: dict[str, Any], gate: str) -> list[str]:
    """Why a piece goes to a person whatever its gate says: a sensitive topic it touches (any
    gate), or, behind an `auto` gate, a confidence below the channel's `auto_min_confidence`."""
    reasons = []
    policies = ctx.project.policies
    match = sensitive_match(piece["text"], piece["subject"], policies.sensitive_topics,
                            policies.sensitive_threshold, memory)
    if match is not None:
        # A piece about one person: the reason (kept in the log) does not quote its sealed text.
        reasons.append(match.reason(quote=ctx.sealer is None))
    bound = settings.auto_min_confidence
    if gate == "auto" and bound is not None:
        confidence = recorded_confidence(store, ctx.piece_id, piece["version"])
        if confidence is None and _written_by_a_person(store, ctx.piece_id, piece["version"]):
            pass  # a person's edit is not a model's guess: its checks decide, as on any auto gate
        elif confidence is None:
            reasons.append(f"no confidence recorded for v{piece['version']} (auto_min_confidence {bound:g})")
        elif confidence["value"] < bound:
            reasons.append(f"confidence {describe(confidence)} is below auto_min_confidence {bound:g}")
    return reasons


def _written_by_a_person(store: EventStore, piece: str, version: int) -> bool:
    rows = store.query("SELECT author FROM piece_versions WHERE piece_id = ? AND version = ?", (piece, version))
    return bool(rows) and str(rows[0]["author"]).startswith("human:")


# -- sensitive topics --------------------------------------------------------------------
@dataclass(frozen=True)
class TopicMatch:
    term: str
    description: str
    how: str  # "term" or "meaning"
    similarity: float | None
    sentence: str

    def reason(self, *, quote: bool = True) -> str:
        where = f" in {self.sentence[:80]!r}" if quote else ""
        said = f"the term {self.term!r} appears" if self.how == "term" else \
            f"similarity {self.similarity:.2f} to it{where}"
        return f"sensitive topic {self.term!r} ({self.description}): {said}"


def _phrases(topic: SensitiveTopic) -> list[str]:
    return [topic.term, *(p.strip() for p in topic.description.split(",") if p.strip())]


def sensitive_match(text: str, subject: str | None, topics: list[SensitiveTopic], threshold: float,
                    memory: MemoryService | None) -> TopicMatch | None:
    """The first topic the piece touches, by term, then by meaning (the closest one)."""
    whole = f"{subject or ''}\n{text}"
    for topic in topics:
        found = regex.search(rf"(?<!\w){regex.escape(topic.term)}(?!\w)", whole, regex.IGNORECASE)
        if found is not None:
            return TopicMatch(topic.term, topic.description, "term", None, found.group(0))
    # Line by line (a newsletter's items are lines), then sentence by sentence, bullets removed.
    sentences = [s for line in whole.splitlines() for s in split_sentences(line.strip(" -•*#\t"))
                 if len(s.split()) >= 3]
    if memory is None or not topics or not sentences:
        return None
    vectors = memory.embed(sentences)
    best: TopicMatch | None = None
    for topic in topics:
        similarities = vectors @ memory.embed(_phrases(topic)).T  # sentences x phrases, rows normalised
        index = int(np.argmax(similarities.max(axis=1)))
        score = float(similarities.max(axis=1)[index])
        if score >= (topic.threshold if topic.threshold is not None else threshold) and \
                (best is None or score > (best.similarity or 0)):
            best = TopicMatch(topic.term, topic.description, "meaning", round(score, 3), sentences[index])
    return best
