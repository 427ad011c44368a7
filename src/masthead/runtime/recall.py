"""Memory in the pipeline: retrieval for agent calls, the voice check, and what steps remember.

A retrieval is recorded (`MemoryRetrieved` on stream `retrievals-<task id>`) before the agent
sees its items. Its key derives from the step's idempotency scope, the agent and the query, so
a re-run of the same step (after a crash or a retry) reuses the recorded items instead of
searching again, just as recorded model calls are reused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from masthead.agents.memory_context import MemoryNote
from masthead.channels.checks import CheckResult
from masthead.events.memory_types import MemoryRetrieved
from masthead.events.model import Meta, NewEvent, stream_of, utc_now
from masthead.memory.items import MemoryItem, added_event, new_event
from masthead.memory.service import MemoryService
from masthead.memory.summaries import due_for_summary, meta_note
from masthead.runtime.context import TaskContext
from masthead.runtime.model_client import AgentOutputError

QUERY_CHARS = 2000
PERSONAL_QUERY = "[the signal's text: sealed, about one person]"
# Runs the summariser agent: (values for its input, idempotency scope) -> the summary text.
Summarise = Callable[[dict[str, Any], str], str]


def retrieval_query(values: dict[str, Any]) -> str:
    """What the agent is about: the signal's title, the brief, the draft under repair, the
    failures, then the signal body; the embedder reads the first 256 tokens."""
    parts: list[str] = []
    signal = values.get("signal")
    if signal is not None and getattr(signal, "title", None):
        parts.append(signal.title)
    brief = values.get("brief")
    if isinstance(brief, dict):
        parts.append(" ".join([brief.get("headline", ""), *brief.get("key_points", [])]))
    elif brief is not None:
        parts.append(" ".join([brief.headline, *brief.key_points]))
    if values.get("text"):
        parts.append(str(values["text"]))
    parts.extend(str(f) for f in values.get("failures") or [])
    if signal is not None:
        parts.append(signal.body)
    return "\n".join(p.strip() for p in parts if p and p.strip())[:QUERY_CHARS]


def retrieval_key(scope: str, agent: str, query: str) -> str:
    query_hash = hashlib.sha256(query.encode("utf-8")).hexdigest()
    return hashlib.sha256(f"{scope}|{agent}|{query_hash}".encode()).hexdigest()


def recall(ctx: TaskContext, memory: MemoryService, agent: str, scope: str, values: dict[str, Any],
           summarise: Summarise | None = None) -> list[MemoryNote]:
    """The memory an agent call gets: recorded now, or reused from the record of an earlier run."""
    query = retrieval_query(values)
    key = retrieval_key(scope, agent, query)
    recorded = memory.store.query("SELECT items FROM memory_retrievals WHERE retrieval_key = ?", (key,))
    if recorded:
        ids = [item["id"] for item in json.loads(recorded[0]["items"])]
        live = memory.items(ids)  # an item forgotten since is not handed out again
        return [_note(live[i]) for i in ids if i in live]
    if summarise is not None:
        _write_due_meta_note(ctx, memory, scope, values, summarise)
    ranking = memory.rank(query, project=ctx.project.name, role=agent, job_id=ctx.job["id"])
    chosen, _left_out = memory.pack(ranking)
    event = MemoryRetrieved(
        retrieval_key=key, task_id=ctx.task["id"], job_id=ctx.job["id"], project=ctx.project.name, role=agent,
        # A job about one person records no copy of their (sealed) signal text as its query.
        query=PERSONAL_QUERY if ctx.personal else query, embedder=memory.model_id, considered=ranking.considered,
        items=[c.record() for c in chosen],
    )
    memory.store.append([event.to_new(f"retrievals-{ctx.task['id']}")], _meta(ctx, f"agent:{agent}"))
    return [_note(c.item) for c in chosen]


def _write_due_meta_note(ctx: TaskContext, memory: MemoryService, scope: str, values: dict[str, Any],
                         summarise: Summarise) -> None:
    """Summarise the project's oldest uncovered history once it passes the threshold."""
    covers = due_for_summary(memory.store, ctx.project.name, memory.settings.summary_threshold)
    if not covers:
        return
    try:
        text = summarise({"project": values["project"], "items": [_note(i) for i in covers]}, f"{scope}/summarise")
    except AgentOutputError:
        return  # a model that cannot summarise must not stop the draft: retrieve the items as they are
    event = meta_note(ctx.project.name, covers, text, source=f"task:{ctx.task['id']}", embedding_model=memory.model_id)
    with memory.store.transaction() as tx:
        # Two steps of a job may reach the threshold together; the first meta-note wins.
        if not tx.query("SELECT 1 FROM memory_items WHERE id = ?", (event.id,)):
            tx.append([new_event(event)], _meta(ctx, "agent:summarise"))


def voice_check(ctx: TaskContext, memory: MemoryService | None, text: str) -> list[CheckResult]:
    """The `voice` check, when memory is on: the draft against the project's voice exemplars."""
    if memory is None:
        return []
    verdict = memory.voice(ctx.project.name, text, list(ctx.project.voice.avoid))
    return [CheckResult("voice", verdict.passed, verdict.detail)]


def published_piece_memory(ctx: TaskContext, memory: MemoryService | None, piece: dict[str, Any],
                           human_approved: bool) -> list[tuple[str, NewEvent]]:
    """A published piece becomes `piece` memory: what later drafts can see went out before.
    Not an outreach email nor a piece about one person: it is theirs, and must never reach a
    draft for anyone else."""
    if memory is None or ctx.personal:
        return []
    event = added_event(
        tier="project", kind="piece", text=piece["text"], source=f"piece:{piece['id']}:v{piece['version']}",
        confidence=1.0 if human_approved else 0.8, project=ctx.project.name, job_id=None,
        embedding_model=memory.model_id,
    )
    if memory.items([event.id]):
        return []  # the same text is already remembered (another channel published it word for word)
    # Appended at the stream's current version: if another channel's publish step remembers the
    # same text first, this step conflicts and re-runs, and then finds it remembered.
    stream = stream_of("memory", event.id)
    version = memory.store.stream_version(stream)
    return [("system", event.to_new(stream, int(version)))]


def _note(item: MemoryItem) -> MemoryNote:
    return MemoryNote(id=item.id, kind=item.kind, tier=item.tier, text=item.text, source=item.source)


def _meta(ctx: TaskContext, actor: str) -> Meta:
    return Meta(actor=actor, at=utc_now(), causation_id=ctx.task["id"], correlation_id=ctx.job["id"])
