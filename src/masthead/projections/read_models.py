"""The projector: one handler per event type, each writing read-model rows.

Handlers use only the event (its data and meta) — never the clock or random numbers — so a
replay into an empty database produces the same rows, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from masthead.events.model import StoredEvent, canonical_json
from masthead.events.store import Transaction

Handler = Callable[[Transaction, StoredEvent], None]
_HANDLERS: dict[str, Handler] = {}


def handles(event_type: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[event_type] = fn
        return fn

    return register


class ReadModelProjector:
    """Applies every known event type; unknown types are kept in the log and ignored here."""

    def apply(self, tx: Transaction, event: StoredEvent) -> None:
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(tx, event)


# The UPDATE of each set of columns, written once (a handler always passes the same names).
_TASK_UPDATES: dict[tuple[str, ...], str] = {}


def _task_update(tx: Transaction, event: StoredEvent, **columns: Any) -> None:
    columns["version"] = event.version
    columns["updated_at"] = event.meta.at
    names = tuple(columns)
    sql = _TASK_UPDATES.get(names)
    if sql is None:
        sql = _TASK_UPDATES[names] = "UPDATE tasks SET {} WHERE id = :id".format(
            ", ".join(f"{name} = :{name}" for name in names))
    columns["id"] = event.data["id"]
    tx.execute(sql, columns)


# -- projects and signals ---------------------------------------------------------------
@handles("ProjectApplied")
def _project_applied(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO projects (name, description, spec, revision, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET description = excluded.description,"
        " spec = excluded.spec, revision = excluded.revision, updated_at = excluded.updated_at",
        (d["name"], d["spec"].get("description", ""), canonical_json(d["spec"]), d["revision"], event.meta.at),
    )


@handles("SignalReceived")
def _signal_received(tx: Transaction, event: StoredEvent) -> None:
    from masthead.events.types import signal_trust  # the event models load when a signal is applied

    d = event.data
    contact = d.get("contact")  # outreach rows only
    tx.execute(
        "INSERT INTO signals (id, project, kind, title, priority, body, source, sha256, received_at, seq, trust,"
        " batch_id, contact, subject, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (d["id"], d["project"], d["kind"], d["title"], d["priority"], d["body"], d["source"],
         d["sha256"], event.meta.at, event.seq, signal_trust(d),
         contact["batch_id"] if contact else None, canonical_json(contact) if contact else None,
         d.get("subject"), d.get("sealed")),  # a person's data stays sealed here: readers open it
    )


# -- jobs and tasks ----------------------------------------------------------------------
@handles("RecipeRecorded")
def _recipe_recorded(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    # Two jobs starting at once in two processes may both record a new recipe: same digest,
    # same spec, one row.
    tx.execute(
        "INSERT INTO recipes (digest, name, spec, recorded_at) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
        (d["digest"], d["name"], canonical_json(d["spec"]), event.meta.at),
    )


@handles("JobStarted")
def _job_started(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO jobs (id, project, recipe, signal_id, priority, status, created_at, criticality)"
        " VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
        (d["id"], d["project"], d["recipe"], d["signal_id"], d["priority"], event.meta.at,
         d.get("criticality", "normal")),
    )


@handles("JobCompleted")
def _job_completed(tx: Transaction, event: StoredEvent) -> None:
    tx.execute(
        "UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?",
        (event.data["status"], event.meta.at, event.data["id"]),
    )


@handles("TaskEnqueued")
def _task_enqueued(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO tasks (id, job_id, step, channel, kind, status, priority, run_after, attempts,"
        " max_attempts, idempotency_key, version, created_seq, updated_at, criticality, note, enqueued_at)"
        " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
        (d["id"], d["job_id"], d["step"], d["channel"], d["kind"], d["priority"], d["run_after"],
         d["max_attempts"], d["idempotency_key"], event.version, event.seq, event.meta.at,
         d.get("criticality", "normal"), d.get("note"), d["run_after"]),
    )


@handles("TaskClaimed")
def _task_claimed(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    _task_update(tx, event, status="running", lease_owner=d["worker"], lease_until=d["lease_until"],
                 attempts=d["attempt"], wait_reason=None)


@handles("TaskLeaseExtended")
def _task_lease_extended(tx: Transaction, event: StoredEvent) -> None:
    _task_update(tx, event, lease_until=event.data["lease_until"])


@handles("TaskSucceeded")
def _task_succeeded(tx: Transaction, event: StoredEvent) -> None:
    # The output stays in this event (tasks.output_seq points at it); the scheduler only needs
    # to know whether the step halted its channel.
    _task_update(tx, event, status="done", lease_owner=None, lease_until=None, output_seq=event.seq,
                 halted=1 if event.data["output"].get("halt") else 0, wait_reason=None)


@handles("TaskRetryScheduled")
def _task_retry(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    _task_update(tx, event, status="queued", lease_owner=None, lease_until=None,
                 run_after=d["run_after"], last_error=d["error"])


@handles("TaskFailed")
def _task_failed(tx: Transaction, event: StoredEvent) -> None:
    _task_update(tx, event, status="failed", lease_owner=None, lease_until=None,
                 last_error=event.data["error"])


@handles("TaskWaiting")
def _task_waiting(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    # A timed wait (soft gate deadline) is just a queued task with a later run_after.
    status = "waiting" if d["run_after"] is None else "queued"
    columns: dict[str, Any] = {"status": status, "lease_owner": None, "lease_until": None,
                               "wait_reason": d["reason"]}
    if d["run_after"] is not None:
        columns["run_after"] = d["run_after"]
    if d.get("attempt_given_back"):
        tx.execute("UPDATE tasks SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = ?",
                   (d["id"],))
    _task_update(tx, event, **columns)


@handles("JobReopened")
def _job_reopened(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("UPDATE jobs SET status = 'running', finished_at = NULL WHERE id = ?", (event.data["id"],))


@handles("TaskReopened")
def _task_reopened(tx: Transaction, event: StoredEvent) -> None:
    # A fresh start for the step: not halted, no attempts used, no lease.
    _task_update(tx, event, status="reopened", halted=0, attempts=0, lease_owner=None, lease_until=None,
                 wait_reason=event.data["reason"])


@handles("TaskWoken")
def _task_woken(tx: Transaction, event: StoredEvent) -> None:
    _task_update(tx, event, status="queued", run_after=event.data["run_after"],
                 wait_reason=None)


@handles("TaskDeferred")
def _task_deferred(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    # A deferral without a time waits for a change (a raised limit); it sorts last until then.
    # A deferral is not a failed attempt: give back the attempt its claim counted.
    tx.execute("UPDATE tasks SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = ?",
               (d["id"],))
    _task_update(tx, event, status=d["state"], lease_owner=None, lease_until=None,
                 run_after=d["run_after"] if d["run_after"] is not None else 1e18, wait_reason=d["reason"])


@handles("TaskNeedsHuman")
def _task_needs_human(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    _task_update(tx, event, status="needs_human", lease_owner=None, lease_until=None,
                 wait_reason=d["reason"], last_error=d["reason"],
                 needs_human=canonical_json({"reason": d["reason"], "inputs": d["inputs"], "partial": d["partial"]}))


@handles("JobDeferred")
def _job_deferred(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("UPDATE jobs SET status = 'deferred' WHERE id = ?", (event.data["id"],))


@handles("JobReleased")
def _job_released(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("UPDATE jobs SET status = 'running' WHERE id = ?", (event.data["id"],))


@handles("TaskSkipped")
def _task_skipped(tx: Transaction, event: StoredEvent) -> None:
    _task_update(tx, event, status="skipped", lease_owner=None, lease_until=None,
                 wait_reason=event.data["reason"])


# -- model calls ------------------------------------------------------------------------
@handles("ModelCallRecorded")
def _model_call(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        # The output stays in the event (`seq`): one copy of the text, read back on reuse.
        "INSERT INTO model_calls (call_key, task_id, job_id, request_hash, provider, model, tier,"
        " params, seq, tokens_in, tokens_out, latency_ms, cost_usd, at, project, day, requested)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_key) DO NOTHING",
        (d["call_key"], d["task_id"], d["job_id"], d["request_hash"], d["provider"], d["model"],
         d["tier"], canonical_json(d["params"]), event.seq, d["tokens_in"], d["tokens_out"],
         d["latency_ms"], d["cost_usd"], event.meta.at, d.get("project"), event.meta.at[:10], d.get("requested")),
    )
    if d.get("reservation_id"):
        # The call settled: its actual cost is in model_calls, so the worst-case hold goes.
        tx.execute("DELETE FROM budget_reservations WHERE id = ?", (d["reservation_id"],))


# -- budgets and breakers ----------------------------------------------------------------
@handles("BudgetReserved")
def _budget_reserved(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO budget_reservations (id, project, job_id, task_id, usd, tokens, expires_at, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (d["id"], d["project"], d["job_id"], d["task_id"], d["usd"], d["tokens"], d["expires_at"], event.meta.at),
    )


@handles("BudgetReleased")
def _budget_released(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("DELETE FROM budget_reservations WHERE id = ?", (event.data["id"],))


def _breaker(tx: Transaction, event: StoredEvent, state: str, detail: str | None) -> None:
    tx.execute(
        "INSERT INTO breakers (endpoint, state, since, detail) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (endpoint) DO UPDATE SET state = excluded.state, since = excluded.since,"
        " detail = excluded.detail",
        (event.data["endpoint"], state, event.meta.at, detail),
    )


@handles("CircuitOpened")
def _circuit_opened(tx: Transaction, event: StoredEvent) -> None:
    _breaker(tx, event, "open", event.data["reason"])


@handles("CircuitHalfOpened")
def _circuit_half_opened(tx: Transaction, event: StoredEvent) -> None:
    _breaker(tx, event, "half_open", None)


@handles("CircuitClosed")
def _circuit_closed(tx: Transaction, event: StoredEvent) -> None:
    _breaker(tx, event, "closed", None)


# -- pieces -----------------------------------------------------------------------------
def _insert_version(tx: Transaction, event: StoredEvent, piece_id: str, version: int, kind: str) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO piece_versions (piece_id, version, text, subject, author, kind, tier,"
        " prompt_version, task_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (piece_id, version, d["text"], d["subject"], d["author"], kind, d["tier"],
         d["prompt_version"], d["task_id"], event.meta.at),
    )


@handles("PieceDrafted")
def _piece_drafted(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO pieces (id, job_id, project, channel, status, version, text, subject, flags,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, 'drafted', 1, ?, ?, '[]', ?, ?)",
        (d["id"], d["job_id"], d["project"], d["channel"], d["text"], d["subject"],
         event.meta.at, event.meta.at),
    )
    _insert_version(tx, event, d["id"], 1, "draft")


@handles("PieceRevised")
def _piece_revised(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    # A new version clears flags: checks of the new version will set them again.
    tx.execute(
        "UPDATE pieces SET version = ?, text = ?, subject = ?, flags = '[]', updated_at = ?,"
        " status = CASE WHEN status = 'in_review' THEN 'in_review' ELSE 'drafted' END WHERE id = ?",
        (d["version"], d["text"], d["subject"], event.meta.at, d["id"]),
    )
    tx.execute(
        "UPDATE review_queue SET version = ? WHERE piece_id = ?", (d["version"], d["id"])
    )
    _insert_version(tx, event, d["id"], d["version"], d["kind"])
    if d["kind"] == "human_edit":
        _decision(tx, event, d["id"], d["version"], "edited", None)
    elif d["kind"] == "revert":
        _decision(tx, event, d["id"], d["version"], "reverted", None)


@handles("ChecksRecorded")
def _checks_recorded(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    for result in d["results"]:
        tx.execute(
            "INSERT INTO checks (piece_id, version, name, passed, detail) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (piece_id, version, name) DO UPDATE SET passed = excluded.passed, detail = excluded.detail",
            (d["piece_id"], d["version"], result["name"], int(result["passed"]), result["detail"]),
        )
    flags = [f"{r['name']}: {r['detail']}" for r in d["results"] if not r["passed"]]
    tx.execute(
        "UPDATE pieces SET flags = ? WHERE id = ? AND version = ?",
        (json.dumps(flags), d["piece_id"], d["version"]),
    )


def _decision(tx: Transaction, event: StoredEvent, piece_id: str, version: int,
              decision: str, reason: str | None) -> None:
    tx.execute(
        "INSERT INTO decisions (seq, piece_id, version, decision, actor, reason, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event.seq, piece_id, version, decision, event.meta.actor, reason, event.meta.at),
    )


@handles("ReviewRequested")
def _review_requested(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "UPDATE pieces SET status = 'in_review', updated_at = ? WHERE id = ?",
        (event.meta.at, d["piece_id"]),
    )
    tx.execute(
        "INSERT INTO review_queue (piece_id, version, gate, reason, priority, since, deadline)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (piece_id) DO UPDATE SET version = excluded.version,"
        " gate = excluded.gate, reason = excluded.reason, priority = excluded.priority, since = excluded.since,"
        " deadline = excluded.deadline",
        (d["piece_id"], d["version"], d["gate"], d["reason"], d["priority"], event.meta.at, d["deadline"]),
    )
    _decision(tx, event, d["piece_id"], d["version"], "review_requested", d["reason"])


@handles("ReviewApproved")
def _review_approved(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "UPDATE pieces SET status = 'approved', approved_version = ?, updated_at = ? WHERE id = ?",
        (d["version"], event.meta.at, d["piece_id"]),
    )
    tx.execute("DELETE FROM review_queue WHERE piece_id = ?", (d["piece_id"],))
    _decision(tx, event, d["piece_id"], d["version"], "approved", d["reason"])


@handles("ReviewRejected")
def _review_rejected(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "UPDATE pieces SET status = 'rejected', updated_at = ? WHERE id = ?",
        (event.meta.at, d["piece_id"]),
    )
    tx.execute("DELETE FROM review_queue WHERE piece_id = ?", (d["piece_id"],))
    _decision(tx, event, d["piece_id"], d["version"], "rejected", d["reason"])


@handles("ReviewReopened")
def _review_reopened(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute("UPDATE pieces SET status = 'drafted', updated_at = ? WHERE id = ?", (event.meta.at, d["piece_id"]))
    _decision(tx, event, d["piece_id"], d["version"], "reopened", d["reason"])


# -- publications -----------------------------------------------------------------------
@handles("PublicationRequested")
def _publication_requested(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    # A publication is requested again after a failure the service reported (nothing was
    # posted); requested_at stays the first intent's time, which some publishers derive keys from.
    tx.execute(
        "INSERT INTO publications (idempotency_key, piece_id, version, channel, publisher, status,"
        " requested_at) VALUES (?, ?, ?, ?, ?, 'requested', ?) ON CONFLICT (idempotency_key)"
        " DO UPDATE SET status = 'requested', reason = NULL",
        (d["key"], d["piece_id"], d["version"], d["channel"], d["publisher"], event.meta.at),
    )


def _delivered(tx: Transaction, event: StoredEvent, key: str, location: str, remote_id: str | None,
               url: str | None, reason: str | None) -> None:
    tx.execute(
        "UPDATE publications SET status = 'delivered', location = ?, delivered_at = ?, remote_id = ?, url = ?,"
        " reason = ? WHERE idempotency_key = ?",
        (location, event.meta.at, remote_id, url, reason, key),
    )
    tx.execute(
        "UPDATE pieces SET status = 'published', updated_at = ? WHERE id ="
        " (SELECT piece_id FROM publications WHERE idempotency_key = ?)",
        (event.meta.at, key),
    )


@handles("PublicationDelivered")
def _publication_delivered(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    _delivered(tx, event, d["key"], d["location"], d.get("remote_id"), d.get("url"), None)


@handles("PublicationSettled")
def _publication_settled(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    said = f"settled by {event.meta.actor}" + (f": {d['note']}" if d.get("note") else "")
    if d["outcome"] == "published":
        _delivered(tx, event, d["key"], d["url"], None, d["url"], said)
    else:
        # Like a failure the service reported: nothing was posted, so the next attempt sends.
        tx.execute("UPDATE publications SET status = 'failed', reason = ? WHERE idempotency_key = ?",
                   (f"not published ({said})", d["key"]))


@handles("PublicationScheduled")
def _publication_scheduled(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute("UPDATE pieces SET scheduled_at = ?, scheduled_slot = ? WHERE id = ?",
               (d["at"], d.get("slot"), d["piece_id"]))


@handles("PublicationFailed")
def _publication_failed(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("UPDATE publications SET status = 'failed', reason = ? WHERE idempotency_key = ?",
               (event.data["error"], event.data["key"]))


@handles("PublicationRetracted")
def _publication_retracted(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("UPDATE publications SET status = 'retracted', reason = ? WHERE idempotency_key = ?",
               (event.data["reason"], event.data["key"]))


@handles("PublicationNeedsHuman")
def _publication_needs_human(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("UPDATE publications SET status = 'needs_human', reason = ? WHERE idempotency_key = ?",
               (event.data["reason"], event.data["key"]))


from masthead.projections import ab as _ab  # noqa: E402,F401
from masthead.projections import memory as _memory  # noqa: E402,F401
from masthead.projections import people as _people  # noqa: E402,F401
