"""What commands remember: a project's exemplars and facts, and the operator's edits.

These run inside the command's own transaction (`query` is the transaction's query method),
so the memory changes land with the change that caused them, or not at all. None of them
needs the embedder: vectors are made when the index next looks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from masthead.events.memory_types import MemoryItemAdded, MemoryItemForgotten
from masthead.events.model import NewEvent
from masthead.memory.items import added_event, live_ids, new_event

Query = Callable[..., list[dict[str, Any]]]


def project_source(project: str) -> str:
    return f"project:{project}"


def project_file_events(query: Query, *, project: str, exemplars: list[str], facts: list[str],
                        revision: int, embedding_model: str) -> list[NewEvent]:
    """Bring the project's exemplars and facts in memory in line with its file.

    Only what changed is written: new texts are added, texts no longer in the file are
    forgotten (with the revision as the reason). Items an operator forgot by hand stay
    forgotten even though the file still lists them.
    """
    source = project_source(project)
    wanted: dict[str, MemoryItemAdded] = {}
    for kind, texts in (("exemplar", exemplars), ("fact", facts)):
        for text in texts:
            if text.strip():
                event = added_event(tier="project", kind=kind, text=text.strip(), source=source, confidence=1.0,
                                    project=project, job_id=None, embedding_model=embedding_model)
                wanted[event.id] = event
    present = {r["id"] for r in query(
        "SELECT id FROM memory_items WHERE tier = 'project' AND project = ? AND source = ?", (project, source))}
    marks = ",".join("?" * len(wanted))
    forgotten_by_hand = {r["id"] for r in query(
        f"SELECT id FROM memory_forgotten WHERE actor LIKE 'human:%' AND id IN ({marks})", list(wanted))} if wanted else set()
    events = [new_event(e) for item_id, e in wanted.items() if item_id not in present | forgotten_by_hand]
    reason = f"no longer in the project file (revision {revision})"
    events += [new_event(MemoryItemForgotten(id=item_id, reason=reason)) for item_id in sorted(present - set(wanted))]
    return events


def edit_feedback_events(query: Query, *, project: str, piece_id: str, version: int, text: str,
                         embedding_model: str) -> list[NewEvent]:
    """An operator's edit becomes `feedback` memory: later drafts follow what they wrote."""
    event = added_event(tier="project", kind="feedback", text=text.strip(), source=f"piece:{piece_id}:v{version}",
                        confidence=1.0, project=project, job_id=None, embedding_model=embedding_model)
    return [] if live_ids(query, [event.id]) else [new_event(event)]
