"""Every event type: frozen pydantic models named in the past tense.

Commands build one of these and turn it into a `NewEvent` with `to_new(stream, expected)`;
the class name is the event's `type`. Validating here keeps malformed data out of the log.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from masthead.events.model import ANY_VERSION, NewEvent


class EventData(BaseModel):
    # defer_build: each event model's validator is built the first time it is used, not at
    # import; a command that only reads (`pieces list`) never pays for the ~60 event types.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
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

    @classmethod
    def trusted(cls, stream: str, expected_version: int = ANY_VERSION, /, **data: Any) -> NewEvent:
        """The event as a `NewEvent` without the validation round trip, for events the runtime
        builds on its hot path from values that were validated where they came in (a claim, an
        enqueue, a model call's record). The values must already be JSON-ready (str, int, float,
        bool, None, lists and dicts of them). Field names are still checked: a misspelt or
        missing field is a programming error, raised here rather than written to the log."""
        defaults, required = _field_plan(cls)
        given = data.keys()
        if not required <= given or not given <= defaults.keys() | required:
            missing, unknown = sorted(required - given), sorted(given - defaults.keys() - required)
            raise TypeError(f"{cls.__name__}.trusted: missing {missing}, unknown {unknown}")
        return NewEvent(stream=stream, type=cls.__name__, data={**defaults, **data}, expected_version=expected_version)


_FIELD_PLANS: dict[type[EventData], tuple[dict[str, Any], frozenset[str]]] = {}


def _field_plan(cls: type[EventData]) -> tuple[dict[str, Any], frozenset[str]]:
    """An event type's JSON defaults (fields that have one) and its required fields, once per type."""
    plan = _FIELD_PLANS.get(cls)
    if plan is None:
        defaults = {name: f.get_default(call_default_factory=True) for name, f in cls.model_fields.items()
                    if not f.is_required()}
        if any(not isinstance(v, str | int | float | bool | type(None)) for v in defaults.values()):
            raise TypeError(f"{cls.__name__} has a default that is not plain JSON; build it with to_new()")
        required = frozenset(name for name, f in cls.model_fields.items() if f.is_required())
        plan = _FIELD_PLANS[cls] = (defaults, required)
    return plan


# -- projects and signals --------------------------------------------------------------
class ProjectApplied(EventData):
    name: str
    spec: dict[str, Any]
    revision: int


# How far a signal's text is vouched for: typed or added by the operator, from a source the
# project marks trusted, or from anyone who can post to a hook or write a feed item.
SignalTrust = Literal["operator", "trusted", "untrusted"]
SIGNAL_TRUST_LEVELS: tuple[SignalTrust, ...] = ("operator", "trusted", "untrusted")


class SignalReceived(EventData):
    id: str
    project: str
    kind: str
    title: str | None
    priority: str
    body: str
    source: str
    sha256: str
    # None only in events written before trust levels existed; `signal_trust` reads those.
    trust: SignalTrust | None = None
    # An outreach row (one signal per contact of a CSV): whom the piece is for, and the batch
    # whose other rows are foreign to it (the `other_contacts` check). None for other signals.
    contact: OutreachContact | SealedContact | None = None
    # A signal holding a person's data (an outreach row, `signal add --person`): the person's
    # subject id, and one token of title, body and contact's personal fields sealed with their
    # key (masthead/personal_data.py). Then title is None, body "", contact a SealedContact and
    # sha256 an HMAC under the person's key. None for other signals.
    subject: str | None = None
    sealed: str | None = None


class OutreachContact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    batch_id: str
    line: int  # the row's line in the CSV file
    name: str
    email: str
    company: str
    context: str


class SealedContact(BaseModel):
    """An outreach row whose personal fields are in SignalReceived.sealed."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    batch_id: str
    line: int


def signal_trust(data: dict[str, Any]) -> SignalTrust:
    """The trust of a SignalReceived event's data. Events older than trust levels carry none:
    webhook deliveries were anyone's text (untrusted), everything else came from the operator."""
    trust = data.get("trust")
    if trust is not None:
        return trust
    return "untrusted" if str(data.get("source", "")).startswith("webhook:") else "operator"


# -- jobs and tasks ----------------------------------------------------------------------
class RecipeRecorded(EventData):
    digest: str  # sha256 of the canonical JSON of `spec`
    name: str
    spec: dict[str, Any]  # the validated recipe; jobs refer to it by digest


class JobStarted(EventData):
    id: str
    project: str
    recipe: str
    # The recipe as it was, so a later edit cannot change a running job: by digest of a
    # RecipeRecorded event (each recipe stored once), or inline in logs written before that.
    recipe_digest: str | None = None
    recipe_spec: dict[str, Any] | None = None
    signal_id: str
    priority: int
    channels: list[str]  # the project's channels when the job started: its fan-out
    criticality: str = "normal"  # critical | normal | background: how budgets treat it


class JobCompleted(EventData):
    id: str
    status: str  # done | failed


class JobReopened(EventData):
    """A finished job runs again because a person reopened one of its rejected pieces or retried
    its failed steps (app/retry.py)."""

    id: str
    reason: str


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
    criticality: str = "normal"  # critical | normal | background
    note: str | None = None  # an operator's note for on-demand steps (refine)


class TaskClaimed(EventData):
    id: str
    worker: str
    lease_until: float
    attempt: int


class TaskLeaseExtended(EventData):
    """The worker holding the task is alive and still running it: its lease runs longer."""

    id: str
    worker: str
    lease_until: float


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
    # A wait is not a failed attempt: the attempt its claim counted is given back, so a step that
    # waits many times (renewed credentials, a scheduled time) keeps its retries for real
    # failures. False in logs written before, whose waits kept the attempt.
    attempt_given_back: bool = False


class TaskWoken(EventData):
    id: str
    reason: str
    run_after: float


class TaskReopened(EventData):
    """A finished (halted) or skipped task of a channel whose rejected piece was reopened, or a
    failed or skipped task of a retried job: it waits for its step's turn again, with no attempts
    used, and the scheduler wakes it when what it needs is done."""

    id: str
    reason: str


class TaskSkipped(EventData):
    id: str
    reason: str


class TaskDeferred(EventData):
    """A guard held the task back: `state` says which (waiting_rate_limit, deferred_budget,
    off_peak); `run_after` is when it may run again (None: until something changes)."""

    id: str
    state: str
    reason: str
    run_after: float | None


class TaskNeedsHuman(EventData):
    """Automation gave up; the step waits for a person to finish it by hand."""

    id: str
    reason: str
    inputs: dict[str, Any]
    partial: list[dict[str, Any]]


class JobDeferred(EventData):
    """Backpressure: the project has too many jobs in flight; this one starts later."""

    id: str
    reason: str


class JobReleased(EventData):
    """A parked job started: `reason` says why there was room (None in logs written before)."""

    id: str
    reason: str | None = None


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
    project: str | None = None
    reservation_id: str | None = None
    requested: str | None = None  # "provider:model" first asked for, when a fallback served


class ModelCallFailed(EventData):
    """One failed attempt at a model call, and what the runtime does next (retry, fallback, give up)."""

    task_id: str
    job_id: str
    provider: str
    model: str
    tier: str
    error: str
    transient: bool
    retry_in: float | None


# -- budgets and circuit breakers -------------------------------------------------------
class BudgetReserved(EventData):
    id: str
    project: str
    job_id: str
    task_id: str
    usd: float
    tokens: int
    expires_at: float


class BudgetReleased(EventData):
    id: str
    reason: str


class BudgetLimitReached(EventData):
    """A call's worst case would pass a limit; `action` says what the runtime did about it."""

    project: str
    job_id: str
    task_id: str
    limit: str  # e.g. project.daily_usd, workspace.monthly_usd, project.per_job_tokens
    limit_value: float
    spent: float
    reserved: float
    needed: float
    over_by: float
    action: str  # deferred | needs_human | fallback | allowed_critical


class CircuitOpened(EventData):
    endpoint: str
    failures: int
    window_seconds: float
    reason: str


class CircuitHalfOpened(EventData):
    endpoint: str


class CircuitClosed(EventData):
    endpoint: str


# -- pieces, checks and review ----------------------------------------------------------
class ItemOutline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str
    text: str
    salience: float
    position: int
    section: str | None = None


class ItemsExtracted(EventData):
    """What a job's signal says, parsed before any agent ran (one per job, stream items-<job>)."""

    job_id: str
    signal_id: str
    items: list[ItemOutline]
    product: str | None = None
    version: str | None = None
    link: str | None = None
    left_out: int = 0
    note: str = ""


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
    kind: str  # refinement | human_edit | revert (a person's copy of an earlier version)
    author: str
    tier: str | None
    prompt_version: str | None
    task_id: str | None


class CheckOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    name: str
    passed: bool
    detail: str


class ChecksRecorded(EventData):
    piece_id: str
    version: int
    results: list[CheckOutcome]
    # {"value": 0..1, "parts": {checks, coverage, voice, agreement}} (runtime/confidence.py);
    # None on versions checked before confidence existed and on a person's edits.
    confidence: dict[str, Any] | None = None


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


class LegalFlagResolved(EventData):
    """A person resolved a legal flag of a piece (a proposal): accepted it with a note. A flag
    id names the rule, where it was found and the quoted words, so it holds across versions."""

    piece_id: str
    version: int
    flag: str
    rule: str
    severity: str
    quote: str
    note: str


class ProposalOutcomeRecorded(EventData):
    """A proposal was won or lost; its text became `proposal` memory (passages) with that outcome."""

    piece_id: str
    version: int
    project: str
    outcome: Literal["won", "lost"]
    value: str | None = None  # the contract value, as written (a decimal in the rate card's currency)
    note: str | None = None
    memory_ids: list[str] = []
class ReviewReopened(EventData):
    """A person took a rejection back: the piece's gate looks at it again."""

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
    # The service's id for the post and its public link; absent in events from before
    # publishers reported them, and for publishers (file, feed) that have none.
    remote_id: str | None = None
    url: str | None = None


class PublicationFailed(EventData):
    """The service answered and did not take the post: sending again is safe."""

    key: str
    error: str


class PublicationRetracted(EventData):
    """A person took a delivered publication back: the service deleted the post."""

    key: str
    reason: str | None = None


class PublicationNeedsHuman(EventData):
    """The outcome of a send is unknown and cannot be found out: a person checks the service
    instead of Masthead sending again (which could post twice)."""

    key: str
    reason: str


class PublicationScheduled(EventData):
    """A piece's publication time on its channel: a slot the runtime took for an auto or soft
    piece, or a time a person chose (`review approve --at`). A later one for the same piece
    moves it. On the stream `schedule-<project>/<channel>`, so two pieces taking a slot at
    once conflict and one looks again."""

    piece_id: str
    version: int
    project: str
    channel: str
    at: str  # UTC, ISO 8601
    slot: str | None = None  # the slot spec it came from ("mon-fri 09:30"), None for a chosen time


class PublicationSettled(EventData):
    """A person said what became of a publication whose outcome Masthead could not know:
    `published` (at `url`; it is never sent again) or `not_published` (the next attempt sends)."""

    key: str
    outcome: Literal["published", "not_published"]
    url: str | None = None
    note: str | None = None
