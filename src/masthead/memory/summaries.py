"""When a project's history outgrows retrieval, a meta-note summarises its oldest part.

Pieces, notes and operator feedback pile up; past `summary_threshold` items not yet covered
by a meta-note, the oldest `summary_threshold` of them are summarised into one meta-note that
links to each. Retrieval then offers the meta-note in their place.
"""

from __future__ import annotations

from masthead.events.memory_types import MetaNoteWritten
from masthead.events.store import EventStore
from masthead.memory.items import MemoryItem, meta_note_id

SUMMARISED_KINDS = ("piece", "note", "feedback")
META_NOTE_CONFIDENCE = 0.8  # a model's summary: useful, less certain than its sources


def uncovered_history(store: EventStore, project: str) -> list[MemoryItem]:
    marks = ",".join("?" * len(SUMMARISED_KINDS))
    rows = store.query(
        f"SELECT * FROM memory_items i WHERE i.tier = 'project' AND i.project = ? AND i.kind IN ({marks})"
        " AND NOT EXISTS (SELECT 1 FROM memory_links l WHERE l.item_id = i.id) ORDER BY i.seq",
        (project, *SUMMARISED_KINDS),
    )
    return [MemoryItem.from_row(row) for row in rows]


def due_for_summary(store: EventStore, project: str, threshold: int) -> list[MemoryItem]:
    """The oldest `threshold` uncovered items once there are more than `threshold`; else none."""
    history = uncovered_history(store, project)
    return history[:threshold] if len(history) > threshold else []


def meta_note(project: str, covers: list[MemoryItem], text: str, *, source: str, embedding_model: str) -> MetaNoteWritten:
    ids = [item.id for item in covers]
    return MetaNoteWritten(id=meta_note_id(project, ids), project=project, text=text.strip(), covers=ids,
                           source=source, confidence=META_NOTE_CONFIDENCE, embedding_model=embedding_model)
