"""Choosing when an approved piece publishes: `review approve ID --at TIME | --next-slot`.

The time is in the project's time zone and recorded as `PublicationScheduled` (so it survives
restarts and rebuilds by replay). Approving a scheduled piece again with `--at` or
`--next-slot` moves it; the publish task, if it already waits, looks again at once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from masthead.errors import InputError, StateError
from masthead.events.model import Meta, NewEvent, stream_of
from masthead.events.store import Transaction
from masthead.events.types import TaskWoken
from masthead.projects import Project, project_from_spec
from masthead.runtime.scheduling import next_slot, scheduled_event, taken_times
from masthead.slots import local_label, parse_local_time


def _project(tx: Transaction, name: str) -> Project:
    return project_from_spec(tx.query("SELECT spec FROM projects WHERE name = ?", (name,))[0]["spec"])


def schedule_for(tx: Transaction, piece: dict[str, Any], *, at: str | None, next_free: bool,
                 now: float | None = None) -> tuple[NewEvent, str]:
    """The event that schedules the piece at `at` (project time) or at its channel's next free
    slot, and how the time reads; bad or taken times are refused before anything is written."""
    if at is not None and next_free:
        raise InputError("--at and --next-slot both given", field="--at", fix="give one of them")
    now = time.time() if now is None else now
    project = _project(tx, piece["project"])
    if next_free:
        chosen = next_slot(tx.query, project, piece["channel"], piece["id"], now)
    else:
        assert at is not None
        try:
            chosen = parse_local_time(at, project.timezone)
        except ValueError as exc:
            raise InputError(f"--at {exc}", field="--at",
                             fix=f'write the time in {project.timezone} as "YYYY-MM-DD HH:MM"') from None
        if chosen.timestamp() <= now:
            current = datetime.fromtimestamp(now, UTC)
            raise InputError(f"--at {at!r} is in the past (it is {local_label(current, project.timezone)})",
                             field="--at", fix="give a later time, or approve without --at to publish now")
        if chosen in taken_times(tx.query, project.name, piece["channel"], piece["id"]):
            raise StateError(f"another {piece['channel']} piece of {project.name} is scheduled at {at}",
                             fix="choose another time, or use --next-slot")
    return scheduled_event(tx.query, project, piece, chosen), local_label(chosen, project.timezone)


def wake_publish(tx: Transaction, piece: dict[str, Any], meta: Meta, reason: str) -> None:
    """A publish task waiting for the piece's old time looks at the new one now."""
    for task in tx.query("SELECT id, version FROM tasks WHERE job_id = ? AND channel = ? AND kind = 'publish'"
                         " AND status IN ('waiting', 'queued')", (piece["job_id"], piece["channel"])):
        woken = TaskWoken(id=task["id"], reason=reason, run_after=time.time())
        tx.append([woken.to_new(stream_of("task", task["id"]), task["version"])], meta)


def reschedule(tx: Transaction, piece: dict[str, Any], event: NewEvent, label: str, meta: Meta) -> dict[str, Any]:
    """Move an approved, not yet published piece to a new time."""
    tx.append([event], meta)
    wake_publish(tx, piece, meta, f"rescheduled for {label}")
    return piece | {"scheduled_at": event.data["at"], "scheduled": label}
