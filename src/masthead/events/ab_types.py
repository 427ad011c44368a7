"""A/B test events: a test started over a piece's variants, cumulative results recorded, a
winner decided. The statistics (posteriors, probability of being best) are not stored: they
are recomputed from the counts, deterministically (`masthead.runtime.ab`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from masthead.events.types import EventData

Metric = Literal["opens", "clicks"]
Method = Literal["thompson", "fixed"]


class AbVariant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    id: str  # "A", "B", "C"...
    text: str = Field(min_length=1)


class AbResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    variant: str
    sent: int = Field(ge=0)
    opens: int = Field(ge=0)
    clicks: int = Field(ge=0)


class AbTestStarted(EventData):
    id: str
    project: str
    piece_id: str
    field: str  # what the variants are: "subject"
    metric: Metric
    method: Method
    variants: list[AbVariant] = Field(min_length=2)
    list_size: int = Field(gt=0)
    batch_size: int = Field(gt=0)  # thompson: sends per batch
    test_share: float = Field(gt=0, le=1)  # fixed: share of the list in the test
    deadline: str | None  # ISO time; at the deadline the leader wins whatever its probability


class AbResultsRecorded(EventData):
    test_id: str
    results: list[AbResult]  # cumulative counts per variant, as of this report
    source: str  # file:<name>, hook:<source>


class AbTestDecided(EventData):
    test_id: str
    winner: str
    reason: str
    p_best: float
