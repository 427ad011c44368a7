"""Memory events: items added and forgotten, meta-notes written, retrievals recorded.

Vectors are not in these events: they depend on the embedder, which may change, and are kept
in a cache table that is rebuilt by re-embedding (`masthead memory reindex`). A retrieval
records item ids and score parts, never item text, so forgetting an item leaves no copy of
its text in any projection.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from masthead.events.types import EventData

Tier = Literal["session", "project", "global"]
Kind = Literal["fact", "exemplar", "piece", "note", "meta_note", "feedback", "proposal"]


class MemoryItemAdded(EventData):
    """One memory item. `project` is None for global items; `job_id` is set for session items
    (the job whose working context it is). `created_at` is the event's `meta.at`."""

    id: str
    tier: Tier
    kind: Kind
    text: str = Field(min_length=1)
    source: str  # signal:<id>, piece:<id>:v<n>, file:<path>, project:<name>, human:<name>
    confidence: float = Field(ge=0.0, le=1.0)
    project: str | None
    job_id: str | None = None
    embedding_model: str  # the embedder configured when the item was added


class MemoryItemForgotten(EventData):
    id: str
    reason: str


class MetaNoteWritten(EventData):
    """A summary that stands in for the items it `covers` (their ids) during retrieval."""

    id: str
    project: str
    text: str = Field(min_length=1)
    covers: list[str] = Field(min_length=1)
    source: str  # task:<id> of the step whose summariser wrote it
    confidence: float = Field(ge=0.0, le=1.0)
    embedding_model: str


class ScoreParts(BaseModel):
    """Why an item ranked where it did: total = similarity x recency x kind_match x confidence
    x (1 + boost)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    similarity: float
    recency: float
    kind_match: float
    confidence: float
    boost: float
    terms: list[str] = []  # the exact terms (product names, versions) that earned the boost
    total: float


class RetrievedItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    id: str
    tier: Tier
    kind: Kind
    source: str
    tokens: int
    parts: ScoreParts
    stood_in_for: list[str] = []  # a meta-note: the covered candidates it replaced


class MemoryRetrieved(EventData):
    """One retrieval for one agent call, recorded before the agent sees the items.

    `retrieval_key` derives from the step's idempotency scope, the agent and the query, so a
    re-run of the same step finds this record and reuses it instead of searching again.
    """

    retrieval_key: str
    task_id: str
    job_id: str
    project: str
    role: str  # the asking agent
    query: str
    embedder: str
    considered: int  # candidates scored before the floor, de-duplication and budgets
    items: list[RetrievedItem]
