"""The project YAML's `schedules:`: a cron tick that is due makes one `schedule` signal that
starts the named recipe, and a ScheduleFired event remembers the tick.

Each schedule has its stream (`schedule-<project>:<recipe>:<cron>`). The signal's source is
`schedule:<recipe>:<cron>:<tick>`, unique per project (migration 0015), so two pollers that
find the same tick due (two serve processes) make one signal; the second one's ScheduleFired
append conflicts on the stream version and is dropped. A firing that stopped between its
signal and its record is finished by the next look: the signal is found, the record added.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from masthead.app.commands import get_project
from masthead.app.source_state import add_signal_once
from masthead.app.workspace import Workspace
from masthead.errors import ConcurrencyConflict, MastheadError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.source_types import ScheduleFired
from masthead.projects import Project, project_from_spec
from masthead.source_specs import ScheduleSpec
from masthead.sources.schedule import due_tick
from masthead.windows import zone

SCHEDULE_SIGNAL_KIND = "schedule"


def schedule_stream(project: str, schedule: ScheduleSpec) -> str:
    return stream_of("schedule", f"{project}:{schedule.key}")


def run_schedules(ws: Workspace, *, now: float | None = None, project: str | None = None) -> list[dict[str, Any]]:
    """Fire every schedule that is due at `now` (default: the clock), once; one result per firing.
    A schedule that cannot fire (its recipe was removed since) is a result with its error, tried
    again at the next look; the others go on."""
    moment = time.time() if now is None else now
    fired = []
    for proj, applied_at in _projects(ws, project):
        for schedule in proj.schedules:
            try:
                result = fire_if_due(ws, proj, schedule, moment, applied_at)
            except MastheadError as exc:
                fired.append({"project": proj.name, "recipe": schedule.recipe, "cron": schedule.cron,
                              "error": str(exc)})
                continue
            if result is not None:
                fired.append(result)
    return fired


def _projects(ws: Workspace, name: str | None) -> list[tuple[Project, str]]:
    if name is not None:
        get_project(ws, name)  # a clear error for an unknown name
    rows = ws.store.query("SELECT spec, updated_at FROM projects" + (" WHERE name = ?" if name else "")
                          + " ORDER BY name", (name,) if name else ())
    return [(project_from_spec(row["spec"]), row["updated_at"]) for row in rows]


def last_firing(ws: Workspace, project: str, schedule: ScheduleSpec) -> tuple[int, dict[str, Any] | None]:
    """The schedule stream's version and its last ScheduleFired (None before the first)."""
    rows = ws.store.query("SELECT version, data FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1",
                          (schedule_stream(project, schedule),))
    if not rows:
        return 0, None
    return int(rows[0]["version"]), json.loads(rows[0]["data"])


def fire_if_due(ws: Workspace, project: Project, schedule: ScheduleSpec, now: float,
                applied_at: str) -> dict[str, Any] | None:
    tz = zone(project.timezone)
    version, last = last_firing(ws, project.name, schedule)
    # Before its first firing a schedule counts from when the project was applied: ticks from
    # before it existed are not owed.
    since = datetime.fromisoformat(last["tick"] if last else applied_at.replace("Z", "+00:00")).astimezone(tz)
    due = due_tick(schedule.cron, since, datetime.fromtimestamp(now, UTC).astimezone(tz))
    if due is None:
        return None
    tick = due.tick.isoformat()
    added = add_signal_once(
        ws, project.name, f"schedule:{schedule.key}:{tick}", kind=SCHEDULE_SIGNAL_KIND, recipe=schedule.recipe,
        body=f"Scheduled run of the {schedule.recipe} recipe for {tick} (cron {schedule.cron!r}, "
             f"time zone {project.timezone}).",
        title=f"{schedule.recipe} {due.tick:%Y-%m-%d %H:%M}", priority="normal", trust="operator")
    fired = ScheduleFired(project=project.name, recipe=schedule.recipe, cron=schedule.cron, tick=tick,
                          signal_id=added.signal_id, missed=due.missed)
    try:
        ws.store.append([fired.to_new(schedule_stream(project.name, schedule), version)],
                        Meta(actor="system", at=utc_now()))
    except ConcurrencyConflict:
        return None  # a racing poller recorded this firing (and made its signal) first
    return {"project": project.name, "recipe": schedule.recipe, "cron": schedule.cron, "tick": tick,
            "signal_id": added.signal_id, "job_ids": added.job_ids, "missed": due.missed, "error": None}
