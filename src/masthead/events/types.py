"""Every event type: frozen pydantic models named in the past tense.

Commands build one of these and turn it into a `NewEvent` with `to_new(stream, expected)`;
the class name is the event's `type`. Validating here keeps malformed data out of the log.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from masthead.events.model import ANY_VERSION, NewEvent


class EventData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    registry: ClassVar[dict[str, type[EventData]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        EventData.registry[cls.__name__] = cls

    def to_new(self, stream: str, expected_version: int = ANY_VERSION) -> NewEvent:
        return NewEvent(
            stream=stream,
            type=type(self).__name__,
            data=self.model_dump(mode="json"),
            expected_version=expected_version,
        )


# -- projects and signals --------------------------------------------------------------
class ProjectApplied(EventData):
    name: str
    spec: dict[str, Any]
    revision: int


class SignalReceived(EventData):
    id: str
    project: str
    kind: str
    title: str | None
    priority: str
    body: str
    source: str
    sha256: str


# -- jobs and tasks ----------------------------------------------------------------------
class JobStarted(EventData):
    id: str
    project: str
    recipe: str
    recipe_spec: dict[str, Any]  # the recipe as it was, so a later edit cannot change a running job
    signal_id: str
    priority: int
    channels: list[str]  # the project's channels when the job started: its fan-out


class JobCompleted(EventData):
    id: str
    status: str  # done | failed


class TaskEnqueued(EventData):
    id: str
    job_id: str
    step: str
    channel: str | None
    kind: str
    priority: int
    run_after: float
    max_attempts: int
    idempotency_key: str


class TaskClaimed(EventData):
    id: str
    worker: str
    lease_until: float
    attempt: int


class TaskSucceeded(EventData):
    id: str
    output: dict[str, Any]


class TaskRetryScheduled(EventData):
    id: str
    error: str
    run_after: float


class TaskFailed(EventData):
    id: str
    error: str


class TaskWaiting(EventData):
    """The task gave back its lease: it waits for a human, or until `run_after`."""

    id: str
    reason: str
    run_after: float | None


class TaskWoken(EventData):
    id: str
    reason: str
    run_after: float


class TaskSkipped(EventData):
    id: str
    reason: str


# -- model calls ------------------------------------------------------------------------
class ModelCallRecorded(EventData):
    call_key: str
    task_id: str
    job_id: str
    request_hash: str
    provider: str
    model: str
    tier: str
    params: dict[str, Any]
    output: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cost_usd: float


# -- pieces, checks and review ----------------------------------------------------------
class PieceDrafted(EventData):
    id: str
    job_id: str
    project: str
    channel: str
    text: str
    subject: str | None
    author: str
    tier: str | None
    prompt_version: str | None
    task_id: str | None


class PieceRevised(EventData):
    id: str
    version: int
    text: str
    subject: str | None
    kind: str  # refinement | human_edit
    author: str
    tier: str | None
    prompt_version: str | None
    task_id: str | None


class CheckOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    passed: bool
    detail: str


class ChecksRecorded(EventData):
    piece_id: str
    version: int
    results: list[CheckOutcome]


class ReviewRequested(EventData):
    piece_id: str
    version: int
    gate: str
    reason: str
    priority: int
    deadline: str | None


class ReviewApproved(EventData):
    piece_id: str
    version: int
    reason: str


class ReviewRejected(EventData):
    piece_id: str
    version: int
    reason: str


# -- publications (the outbox) -----------------------------------------------------------
class PublicationRequested(EventData):
    key: str
    piece_id: str
    version: int
    channel: str
    publisher: str


class PublicationDelivered(EventData):
    key: str
    location: str
