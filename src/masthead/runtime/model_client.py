"""The recording model client: every paid call is in the log with the step that used it.

A call's key is the task's idempotency key + the tier + the request (without the model, so
a fallback's answer counts too) + how many identical requests the step made before it. A
re-run of the step (after a crash or a retry) finds its recorded calls by those keys and
reuses them, so no recorded call is ever paid for twice.

Around each live call sit the guards, in this order: circuit breaker (skip a failing
provider), budget reservation (worst case held before the call), rate limit (wait briefly
or defer the task), quick retries with backoff and jitter on transient errors, and the
tier's fallback chain when a model is unavailable or over budget.

A provider is built when a step first needs it, not when the process starts: a missing key or
model file then holds back only the steps that call that provider (`waiting_config`, with the
reason), and `masthead run` wakes them again when it starts.

One write per step: while a worker runs a step it holds a `PendingCalls` for it (see
`holding_calls`), and the calls' records wait there until the step's outcome commits with
them in one transaction; a step that fails commits them with its failure, so its retry
reuses every answer it already paid for. A crash before that commit loses the answers of the
step in flight, the same exposure as the moment between an answer arriving and its record
committing. Without a holder (a call made outside a worker's step) a record is appended at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from masthead.config import BudgetLimits, MastheadConfig
from masthead.errors import ConfigError, MastheadError, ProviderError
from masthead.events.model import Meta, NewEvent, canonical_json, parse_json, utc_now
from masthead.events.store import EventStore, Transaction
from masthead.events.types import ModelCallFailed, ModelCallRecorded
from masthead.personal_data import Sealer, open_text
from masthead.providers.base import Message, ModelRequest, ModelResponse, collect
from masthead.providers.ratelimit import Permit
from masthead.providers.registry import ProviderSet
from masthead.runtime.budget import BudgetBlocked, CallCost
from masthead.runtime.guards import Deferral, Guards, NeedsHuman

T = TypeVar("T", bound=BaseModel)

# How many differently-seeded tries an agent gets to produce output that fits its schema.
SCHEMA_TRIES = 3
# Rate-limit waits up to this long happen in the worker; longer ones defer the task.
MAX_INLINE_WAIT = 2.0


class AgentOutputError(MastheadError):
    """The model's answers never matched the agent's output schema."""

    # The calls recorded before it gave up (set by the step that ran the agent), so the step's
    # output still lists every call it paid for.
    call_keys: list[str] = []  # replaced per instance, never mutated


class CircuitOpen(ProviderError):
    pass


@dataclass(frozen=True)
class CallScope:
    """Who is calling: for recording, budgets and criticality."""

    task_id: str
    job_id: str
    project: str
    budget: BudgetLimits
    criticality: str
    scope: str  # the step's idempotency key (plus a suffix for sub-calls such as refinement)
    actor: str
    # The task's first run (see first_run): no call of its scope can be recorded yet, so the
    # log is not asked for one.
    first_run: bool = False
    # The person the job is about (its signal's subject): their answers are recorded sealed.
    sealer: Sealer | None = None


def first_run(task: dict[str, Any]) -> bool:
    """Whether a claimed task is on its first run: enqueued (version 1) and claimed once
    (version 2, attempt 1). Every way a run can leave recorded calls behind (a failure, a retry,
    a lost lease, a timeout, a wait, a reopen) appends to the task stream before the next claim."""
    return bool(task["version"] == 2 and task["attempts"] == 1)


class PendingCalls:
    """The model-call records of one step run, held until the step's outcome commits them.

    The worker's thread adds records while the step runs; the worker takes them into the
    outcome's transaction (`write_into`). Once taken, the holder is closed: a record that
    arrives later (a step given up on for its timeout and still running) is appended on its
    own at once, so no answer that was paid for goes unrecorded.
    """

    def __init__(self, store: EventStore):
        self._store = store
        self._lock = threading.Lock()  # the step's thread adds while the heartbeat thread may close
        # Each record with its answer as the model wrote it (the record may hold it sealed).
        self._held: list[tuple[NewEvent, Meta, str]] = []
        self._closed = False

    def add(self, event: NewEvent, meta: Meta, answer: str | None = None) -> None:
        with self._lock:
            if not self._closed:
                self._held.append((event, meta, str(event.data["output"]) if answer is None else answer))
                return
        self._store.append([event], meta)

    def output_of(self, call_key: str) -> str | None:
        with self._lock:
            for event, _meta, answer in self._held:
                if event.data["call_key"] == call_key:
                    return answer
        return None

    def held(self) -> list[dict[str, Any]]:
        """The held records' data as they will be written, oldest first (for a hand-over to a person)."""
        with self._lock:
            return [event.data for event, _meta, _answer in self._held]

    def answers(self) -> dict[str, str]:
        """Call key -> the answer as the model wrote it, for the held records."""
        with self._lock:
            return {event.data["call_key"]: answer for event, _meta, answer in self._held}

    def write_into(self, tx: Transaction, *, skip_recorded: bool = False) -> None:
        """Append the held records in `tx` and close the holder. If `tx` rolls back, the
        records are still here for a failure's transaction or `write_alone`. `skip_recorded`
        leaves out records already committed (on failure paths, where an earlier commit may
        have landed before something after it raised)."""
        with self._lock:
            self._closed = True
            held = list(self._held)
        for event, meta, _answer in held:
            if skip_recorded and tx.query("SELECT 1 FROM model_calls WHERE call_key = ?", (event.data["call_key"],)):
                continue
            tx.append([event], meta)

    def write_alone(self) -> None:
        """Commit the held records in a transaction of their own (the outcome could not be
        written: its lease was lost, or a piece changed under the step)."""
        with self._lock:
            self._closed = True
            if not self._held:
                return
        with self._store.transaction() as tx:
            self.write_into(tx, skip_recorded=True)
        with self._lock:
            self._held = []


_holder = threading.local()


@contextmanager
def holding_calls(pending: PendingCalls) -> Iterator[PendingCalls]:
    """Hold the records of the model calls this thread makes in `pending` (see PendingCalls)."""
    previous = getattr(_holder, "pending", None)
    _holder.pending = pending
    try:
        yield pending
    finally:
        _holder.pending = previous


def _current_holder() -> PendingCalls | None:
    pending: PendingCalls | None = getattr(_holder, "pending", None)
    return pending


class RecordingModelClient:
    def __init__(
        self,
        *,
        store: EventStore,
        config: MastheadConfig,
        providers: ProviderSet,
        guards: Guards,
        tier: str,
        call: CallScope,
        on_text: Callable[[str], None] | None = None,
    ):
        self._store = store
        self._config = config
        self._providers = providers
        self._guards = guards
        self._tier = tier
        self._call = call
        self._on_text = on_text
        self._seen: dict[str, int] = {}
        self.call_keys: list[str] = []
        self.reused = 0

    def generate(self, messages: list[Message], schema: type[T], *, max_tokens: int | None = None) -> T:
        tier = self._config.models[self._tier]
        json_schema = _json_schema(schema)
        problem = ""
        # Another try differs only by its seed, which changes nothing at temperature 0.
        tries = 1 if tier.temperature == 0 else SCHEMA_TRIES
        for attempt in range(tries):
            request = ModelRequest(
                model=tier.model,
                messages=tuple(messages),
                max_tokens=max_tokens or tier.max_tokens,
                temperature=tier.temperature,
                seed=attempt,
                json_schema=json_schema,
                schema_name=schema.__name__,
            )
            text = _strip_fences(self.complete(request))
            try:
                return schema.model_validate_json(text)
            except ValidationError as exc:
                problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}" for e in exc.errors()[:3])
            # Small models (and some endpoints) put raw line breaks inside JSON strings, which
            # strict JSON forbids; the meaning is not in doubt, so read such output leniently.
            try:
                return schema.model_validate(json.loads(text, strict=False))
            except ValueError:  # still not JSON, or JSON that does not fit: the first reason stands
                pass
        raise AgentOutputError(
            f"the {self._tier} model's output did not fit {schema.__name__} after {tries} tries ({problem})",
            fix="use a stronger model for this tier in masthead.toml, or finish the step by hand",
        )

    # -- one logical call ----------------------------------------------------------------
    def complete(self, request: ModelRequest) -> str:
        body = request.model_dump(mode="json")  # dumped once: the logical and the recorded hash
        logical = request_hash(body, self._tier, "")
        ordinal = self._seen.get(logical, 0)
        self._seen[logical] = ordinal + 1
        call_key = hashlib.sha256(f"{self._call.scope}|{logical}|{ordinal}".encode()).hexdigest()
        self.call_keys.append(call_key)
        pending = _current_holder()
        held = pending.output_of(call_key) if pending is not None else None
        if held is not None:
            self.reused += 1
            return held
        recorded = [] if self._call.first_run else self._store.query(
            "SELECT e.data FROM model_calls m JOIN events e ON e.seq = m.seq WHERE m.call_key = ?", (call_key,))
        if recorded:
            self.reused += 1
            return open_text(self._store.query, str(json.loads(recorded[0]["data"])["output"]))
        return self._call_candidates(call_key, request, body)

    def _candidates(self) -> list[tuple[str, str]]:
        tier = self._config.models[self._tier]
        chain = [(tier.provider, tier.model)]
        for entry in tier.fallbacks:
            provider, _, model = entry.partition(":")
            chain.append((provider, model))
        return chain

    def _call_candidates(self, call_key: str, request: ModelRequest, body: dict[str, Any]) -> str:
        chain = self._candidates()
        primary = f"{chain[0][0]}:{chain[0][1]}"
        problems: list[str] = []
        unconfigured: list[str] = []
        retry_after: float | None = None
        for index, (provider_id, model) in enumerate(chain):
            last = index == len(chain) - 1
            # The request is frozen: the primary model's (nearly every call) needs no copy.
            attempt_request = request if model == request.model else request.model_copy(update={"model": model})
            try:
                self._providers.get(provider_id)  # before any budget or rate-limit reservation
            except ConfigError as exc:
                unconfigured.append(str(exc))
                problems.append(f"{provider_id}:{model}: {exc}")
                continue
            try:
                response, reservation = self._guarded_call(provider_id, attempt_request, has_fallback=not last)
            except CircuitOpen as exc:
                problems.append(str(exc))
                retry_after = exc.retry_after
                continue
            except BudgetBlocked as blocked:
                if not last:
                    self._guards.budget.record_refusal(project=self._call.project, job_id=self._call.job_id,
                                                       task_id=self._call.task_id, breach=blocked.breach,
                                                       action="fallback", meta=self._meta())
                    problems.append(f"{provider_id}:{model}: {blocked}")
                    continue
                raise self._budget_stop(blocked) from None
            except ProviderError as exc:
                if exc.transient and not last:
                    problems.append(f"{provider_id}:{model}: {exc}")
                    continue
                raise
            requested = primary if index > 0 else None
            self._record(call_key, provider_id, attempt_request, response, reservation, requested,
                         request_hash(body, provider_id, model))
            return response.text
        if len(unconfigured) == len(chain):
            # No amount of retrying fixes a setting: the task waits until a person sets it.
            raise Deferral("waiting_config", f"the {self._tier} tier cannot call a model: {'; '.join(unconfigured)};"
                           " the step waits and resumes on the next `masthead run`", None)
        raise ProviderError("no model of the " + self._tier + " tier could serve: " + "; ".join(problems),
                            transient=True, retry_after=retry_after,
                            fix=f"wait for the provider, or add fallbacks to [models.{self._tier}]")

    def _budget_stop(self, blocked: BudgetBlocked) -> MastheadError:
        breach = blocked.breach
        if breach.resumes_at is None:
            self._guards.budget.record_refusal(project=self._call.project, job_id=self._call.job_id,
                                               task_id=self._call.task_id, breach=breach, action="needs_human",
                                               meta=self._meta())
            return NeedsHuman(f"budget: {breach.describe()}",
                              fix="raise the limit in the project's budget, or finish the step by hand")
        self._guards.budget.record_refusal(project=self._call.project, job_id=self._call.job_id,
                                           task_id=self._call.task_id, breach=breach, action="deferred",
                                           meta=self._meta())
        return Deferral("deferred_budget", f"budget: {breach.describe()}", breach.resumes_at)

    def _guarded_call(self, provider_id: str, request: ModelRequest, *, has_fallback: bool) -> tuple[ModelResponse, str | None]:
        request = self._cap_tokens(request)
        breaker = self._guards.breaker(provider_id)
        allowed, transition = breaker.allow()
        self._guards.record_transition(provider_id, transition, "cooldown over: one probe call", self._meta)
        if not allowed:
            raise CircuitOpen(f"{provider_id}: circuit open after repeated failures", transient=True,
                              retry_after=breaker.retry_in())
        prompt_tokens = _prompt_tokens(request)
        price = self._config.price(provider_id, request.model)
        worst = CallCost(
            usd=(prompt_tokens * price.input_per_million + request.max_tokens * price.output_per_million) / 1e6,
            tokens=prompt_tokens + request.max_tokens,
        )
        reservation = self._guards.budget.reserve(
            project=self._call.project, project_budget=self._call.budget, job_id=self._call.job_id,
            task_id=self._call.task_id, criticality=self._call.criticality, cost=worst, meta=self._meta,
        )
        try:
            response = self._with_retries(provider_id, request, worst.tokens)
        except BaseException:
            self._guards.budget.release(reservation, "the call failed", self._meta(), self._call.project)
            raise
        return response, reservation

    def _cap_tokens(self, request: ModelRequest) -> ModelRequest:
        caps = [b.per_call_max_tokens for b in (self._call.budget, self._config.budget) if b.per_call_max_tokens]
        if caps and request.max_tokens > min(caps):
            return request.model_copy(update={"max_tokens": min(caps)})
        return request

    def _with_retries(self, provider_id: str, request: ModelRequest, tokens: int) -> ModelResponse:
        runtime = self._config.runtime
        # Nearly every call succeeds at once: only a failure worth retrying pays for tenacity's
        # machinery (about a tenth of a step's CPU with an instant model).
        try:
            return self._one_call(provider_id, request, tokens)
        except ProviderError as exc:
            if not _retry_inline(exc) or runtime.call_retries == 0:
                raise
            first = exc
        backoff = wait_exponential_jitter(multiplier=runtime.backoff_base_seconds, max=runtime.backoff_max_seconds)

        def wait_after(attempt_number: int, error: BaseException | None) -> float:
            # Honour the provider's Retry-After when it says more than our own backoff.
            hinted = error.retry_after if isinstance(error, ProviderError) and error.retry_after else 0.0
            # The backoff reads only `attempt_number` of the state it is given.
            return max(hinted, backoff(cast(RetryCallState, _Attempt(attempt_number))))

        def wait(state: RetryCallState) -> float:
            outcome = getattr(state, "outcome", None)
            # Tenacity counts from the second attempt: the first one ran above.
            return wait_after(state.attempt_number + 1, outcome.exception() if outcome is not None else None)

        time.sleep(wait_after(1, first))
        retrying = Retrying(
            stop=stop_after_attempt(runtime.call_retries),
            wait=wait,
            retry=retry_if_exception(_retry_inline),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._one_call(provider_id, request, tokens)
        raise AssertionError("unreachable: tenacity reraises")

    def _one_call(self, provider_id: str, request: ModelRequest, tokens: int) -> ModelResponse:
        breaker = self._guards.breaker(provider_id)
        if breaker.state == "open":
            raise CircuitOpen(f"{provider_id}: circuit open after repeated failures", transient=True,
                              retry_after=breaker.retry_in())
        permit = self._acquire(f"{provider_id}:{request.model}", tokens)
        used = tokens
        try:
            response = collect(self._providers.get(provider_id), request, self._on_text)
            used = response.usage.input_tokens + response.usage.output_tokens
        except ProviderError as exc:
            self._record_failure(provider_id, request, exc)
            if exc.transient:
                self._guards.record_transition(provider_id, breaker.record_failure(), str(exc), self._meta)
                if exc.retry_after and exc.retry_after > MAX_INLINE_WAIT:
                    raise Deferral("waiting_rate_limit", f"{provider_id} asked to wait {exc.retry_after:g} s ({exc.message})",
                                   time.time() + exc.retry_after) from None
            raise
        finally:
            permit.settle(used)
        self._guards.record_transition(provider_id, breaker.record_success(), "", self._meta)
        return response

    def _record_failure(self, provider_id: str, request: ModelRequest, exc: ProviderError) -> None:
        event = ModelCallFailed(task_id=self._call.task_id, job_id=self._call.job_id, provider=provider_id,
                                model=request.model, tier=self._tier, error=self._guards.redact(exc.message),
                                transient=exc.transient,
                                retry_in=exc.retry_after)
        self._store.append([event.to_new(f"calls-{self._call.task_id}")], self._meta())

    def _acquire(self, endpoint: str, tokens: int) -> Permit:
        limiter = self._guards.limiter(endpoint)
        waited = 0.0
        while True:
            permit, wait, reason = limiter.try_acquire(tokens)
            if permit is not None:
                return permit
            if waited + wait > MAX_INLINE_WAIT:
                raise Deferral("waiting_rate_limit", f"rate limit {endpoint}: {reason}", time.time() + wait)
            time.sleep(wait)
            waited += wait

    def _record(self, call_key: str, provider_id: str, request: ModelRequest, response: ModelResponse,
                reservation: str | None, requested: str | None, hashed: str) -> None:
        price = self._config.price(provider_id, request.model)
        cost = (response.usage.input_tokens * price.input_per_million
                + response.usage.output_tokens * price.output_per_million) / 1_000_000
        # The request was built here and the answer is a string: no validation round trip.
        new = ModelCallRecorded.trusted(
            f"calls-{self._call.task_id}",
            call_key=call_key,
            task_id=self._call.task_id,
            job_id=self._call.job_id,
            request_hash=hashed,
            provider=provider_id,
            model=request.model,
            tier=self._tier,
            params={"max_tokens": request.max_tokens, "temperature": request.temperature,
                    "seed": request.seed, "schema": request.schema_name},
            output=response.text if self._call.sealer is None else self._call.sealer.seal(response.text),
            tokens_in=response.usage.input_tokens,
            tokens_out=response.usage.output_tokens,
            latency_ms=round(response.latency_ms, 3),
            cost_usd=round(cost, 8),
            project=self._call.project,
            reservation_id=reservation,
            requested=requested,
        )
        pending = _current_holder()
        if pending is not None:
            pending.add(new, self._meta(self._call.actor), response.text)
        else:
            self._store.append([new], self._meta(self._call.actor))

    def _meta(self, actor: str = "system") -> Meta:
        return Meta(actor=actor, at=utc_now(), causation_id=self._call.task_id, correlation_id=self._call.job_id)


@dataclass(frozen=True)
class _Attempt:
    """What tenacity's backoff reads of a retry's state: which attempt just failed."""

    attempt_number: int


def _retry_inline(error: BaseException) -> bool:
    """A transient provider error whose wait is short enough to retry within the step."""
    return (isinstance(error, ProviderError) and error.transient and not isinstance(error, CircuitOpen)
            and (error.retry_after or 0) <= MAX_INLINE_WAIT)


def request_hash(body: dict[str, Any], provider: str, model: str) -> str:
    """`ModelRequest.request_hash(provider)` of the request whose JSON dump is `body`, with its
    model replaced by `model`: the same bytes hashed (canonical_json writes what the standard
    library's sorted, compact, non-ASCII-escaping dump writes), without a copy or a second dump."""
    return hashlib.sha256(canonical_json({**body, "model": model, "provider": provider}).encode("utf-8")).hexdigest()


@functools.cache
def _schema_cached(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema())


def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    # Generating a JSON schema takes pydantic ~0.3 ms; a schema never changes in a process.
    # A fresh copy per request (a provider may adapt it), parsed by orjson: a few times faster.
    loaded: dict[str, Any] = parse_json(_schema_cached(schema))
    return loaded


def _prompt_tokens(request: ModelRequest) -> int:
    # A deliberate over-estimate (3 characters a token, plus framing) for worst-case holds.
    return sum(len(m.content) // 3 + 8 for m in request.messages)


def _strip_fences(text: str) -> str:
    """Some endpoints wrap JSON in ``` fences even when asked for JSON; take what is inside."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    start, end = stripped.find("{"), stripped.rfind("}")
    if start > 0 and end > start:
        try:
            json.loads(stripped[start : end + 1])
            return stripped[start : end + 1]
        except ValueError:
            pass
    return stripped
