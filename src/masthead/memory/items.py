"""Memory items: their ids, the groups the index files them under, validation, and the events
that add and forget them.

Ids derive from what an item is (tier, scope, kind and text), so adding the same text twice is
a no-op rather than a silent duplicate, and importing the same folder again adds nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from masthead.errors import InputError
from masthead.events.memory_types import MemoryItemAdded, MemoryItemForgotten, MetaNoteWritten
from masthead.events.model import NewEvent, stream_of

TIERS = ("session", "project", "global")
KINDS = ("fact", "exemplar", "piece", "note", "meta_note", "feedback", "proposal")
# Kinds a person or an import may add; meta-notes are written by the summariser only.
ADDABLE_KINDS = ("fact", "exemplar", "piece", "note", "feedback", "proposal")
OUTCOMES = ("won", "lost")
# A proposal's outcome is its confidence, a factor of every retrieval score: a won proposal is
# preferred over a lost one of the same similarity, and the recorded score parts say so.
OUTCOME_CONFIDENCE = {"won": 1.0, "lost": 0.4}
GLOBAL_GROUP = "global"
MAX_ITEM_CHARS = 20_000


def proposal_source(outcome: str, origin: str, *, client: str | None = None, value: str | None = None) -> str:
    """A proposal item's source: "proposal:won;client=Acme Corp;value=12000;file:past.md#1"."""
    check_choice(outcome, OUTCOMES, "--outcome")
    extra = [f"client={client}"] if client else []
    extra += [f"value={value}"] if value else []
    return ";".join([f"proposal:{outcome}", *extra, origin])


def proposal_outcome(source: str) -> str | None:
    """"won" or "lost" for a proposal item's source, else None."""
    head = source.split(";", 1)[0]
    outcome = head.removeprefix("proposal:")
    return outcome if head.startswith("proposal:") and outcome in OUTCOMES else None


def group_of(tier: str, project: str | None, job_id: str | None) -> str:
    """The index group: who may retrieve the item."""
    if tier == "global":
        return GLOBAL_GROUP
    if tier == "session":
        return f"job:{job_id}"
    return f"project:{project}"


def item_id(tier: str, scope: str | None, kind: str, text: str) -> str:
    digest = hashlib.sha256(f"{tier}|{scope or ''}|{kind}|{text}".encode()).hexdigest()
    return f"mem-{digest[:16]}"


def meta_note_id(project: str, covers: list[str]) -> str:
    digest = hashlib.sha256(f"meta|{project}|{','.join(sorted(covers))}".encode()).hexdigest()
    return f"mem-{digest[:16]}"


def clean_text(text: str, what: str = "the memory text") -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InputError(f"{what} is empty", fix="give some text to remember")
    if "\x00" in cleaned:
        raise InputError(f"{what} contains NUL bytes; it is not text", fix="pass UTF-8 text")
    if len(cleaned) > MAX_ITEM_CHARS:
        raise InputError(f"{what} is {len(cleaned):,} characters; one item holds at most {MAX_ITEM_CHARS:,}",
                         fix="use `masthead memory import`, which splits long files into chunks")
    return cleaned


def check_choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise InputError(f"{option} {value!r} is not one of {', '.join(allowed)}", fix=f"use one of: {', '.join(allowed)}")
    return value


def check_confidence(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise InputError(f"--confidence {value} is outside 0 to 1", fix="use a number from 0 to 1, e.g. 0.8")
    return value


@dataclass(frozen=True)
class MemoryItem:
    id: str
    tier: str
    kind: str
    project: str | None
    job_id: str | None
    text: str
    source: str
    confidence: float
    embedding_model: str
    created_at: str
    seq: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> MemoryItem:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def group(self) -> str:
        return group_of(self.tier, self.project, self.job_id)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def added_event(*, tier: str, kind: str, text: str, source: str, confidence: float, project: str | None,
                job_id: str | None, embedding_model: str, item: str | None = None) -> MemoryItemAdded:
    scope = job_id if tier == "session" else project
    return MemoryItemAdded(
        id=item or item_id(tier, scope, kind, text), tier=tier, kind=kind, text=text, source=source,
        confidence=confidence, project=None if tier == "global" else project, job_id=job_id,
        embedding_model=embedding_model,
    )


def new_event(event: MemoryItemAdded | MetaNoteWritten | MemoryItemForgotten) -> NewEvent:
    return event.to_new(stream_of("memory", event.id))


def live_ids(query: Any, ids: list[str]) -> set[str]:
    """Which of `ids` are live items; `query` is a store's or a transaction's query method."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):  # SQLite caps the number of bound parameters
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found |= {r["id"] for r in query(f"SELECT id FROM memory_items WHERE id IN ({marks})", chunk)}
    return found


def load_items(query: Any, ids: list[str]) -> dict[str, MemoryItem]:
    items: dict[str, MemoryItem] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in query(f"SELECT * FROM memory_items WHERE id IN ({marks})", chunk):
            items[row["id"]] = MemoryItem.from_row(row)
    return items
