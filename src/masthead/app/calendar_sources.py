"""Polling a calendar source once: launches start their recipe `lead_days` before, blackouts
are recorded as windows the publish step honours.

The whole file is read and expanded before anything is kept: a broken RRULE or an unknown
TZID leaves an error state and imports nothing (the blackouts recorded before stay). Each
due launch lead is a `launch` signal whose source `calendar:<name>:<hash of UID, occurrence,
lead>` makes it once (migration 0015's unique index holds against racing pollers too). The
blackout windows are a CalendarBlackoutsRecorded event, appended when they changed.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from masthead.app.commands import MAX_SIGNAL_BYTES
from masthead.app.source_state import ConfiguredSource, add_signal_once, last_event, record_poll
from masthead.app.workspace import Workspace
from masthead.errors import InputError
from masthead.events.source_types import BlackoutWindow, CalendarBlackoutsRecorded, SourcePolled
from masthead.sources.calendar import (
    CalendarUnusable,
    LaunchLead,
    Occurrence,
    due_leads,
    lead_key,
    occurrences,
    read_calendar,
)
from masthead.sources.feed import MAX_FEED_BYTES, public_url
from masthead.text_input import read_text_file
from masthead.windows import zone

LAUNCH_SIGNAL_KIND = "launch"
BLACKOUT_HORIZON_DAYS = 90  # blackouts recorded ahead; the next polls extend it


def poll_calendar(ws: Workspace, source: ConfiguredSource, client: httpx.Client,
                  now: float | None = None) -> dict[str, Any]:
    spec, project = source.spec, source.project
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    result: dict[str, Any] = {"project": project.name, "name": spec.name, "imported": 0, "signals": [], "polled": True}
    try:
        calendar = read_calendar(_calendar_bytes(ws, client, spec.url or ""), shown_location(spec.url or ""))
        horizon = max(max(spec.lead_days) + 1, BLACKOUT_HORIZON_DAYS)
        found = occurrences(calendar, moment - timedelta(days=1), moment + timedelta(days=horizon),
                            {spec.launch_tag.lower(), spec.blackout_tag.lower()}, zone(project.timezone),
                            shown_location(spec.url or ""))
    except CalendarUnusable as exc:
        record_poll(ws, source, SourcePolled(project=project.name, source=spec.name, url=shown_location(spec.url or ""),
                                             status="error", error=str(exc)))
        return result | {"state": "error", "error": str(exc)}
    launches = [o for o in found if spec.launch_tag.lower() in o.tags]
    blackouts = [o for o in found if spec.blackout_tag.lower() in o.tags and o.end > moment]
    signals = [sid for sid in (_launch_signal(ws, source, lead) for lead in due_leads(launches, spec.lead_days, moment, zone(project.timezone)))
               if sid is not None]
    changed = _blackouts_event(ws, source, blackouts)
    record_poll(ws, source, SourcePolled(
        project=project.name, source=spec.name, url=shown_location(spec.url or ""), status="ok", imported=len(signals),
        detail=f"{len(launches)} coming launch occurrence(s), {len(blackouts)} blackout window(s)"),
        also=[changed] if changed is not None else [])
    return result | {"state": "ok", "error": None, "imported": len(signals), "signals": signals,
                     "blackouts": len(blackouts)}


def shown_location(url: str) -> str:
    return public_url(url) if url.startswith(("http://", "https://")) else url


def _calendar_bytes(ws: Workspace, client: httpx.Client, url: str) -> bytes:
    shown = shown_location(url)
    if not url.startswith(("http://", "https://")):
        try:
            return read_text_file(ws.root / url, "calendar", MAX_FEED_BYTES).encode("utf-8")
        except InputError as exc:
            raise CalendarUnusable(f"{exc.message} (fix: {exc.fix})" if exc.fix else exc.message) from None
    try:
        response = client.get(url, headers={"Accept": "text/calendar, */*;q=0.5"})
    except httpx.HTTPError as exc:
        raise CalendarUnusable(f"{shown} could not be fetched ({type(exc).__name__}); it is tried again at the next poll") \
            from None
    if response.status_code >= 400:
        raise CalendarUnusable(f"{shown} answered HTTP {response.status_code}; it is tried again at the next poll")
    if len(response.content) > MAX_FEED_BYTES:
        raise CalendarUnusable(f"{shown} is over {MAX_FEED_BYTES:,} bytes; give a calendar of the coming months")
    return response.content


def _launch_signal(ws: Workspace, source: ConfiguredSource, lead: LaunchLead) -> str | None:
    launch, tz = lead.occurrence, zone(source.project.timezone)
    when = launch.start.astimezone(tz)
    days = "today" if lead.lead_days == 0 else f"in {lead.lead_days} day{'s' if lead.lead_days != 1 else ''}"
    body = "\n\n".join(part for part in [
        f"Launch {days}: {launch.summary or launch.uid}",
        f"Starts {when:%A %Y-%m-%d %H:%M} ({source.project.timezone}).",
        launch.description] if part)
    added = add_signal_once(ws, source.project.name, lead_key(source.spec.name, lead), kind=LAUNCH_SIGNAL_KIND,
                            body=body[:MAX_SIGNAL_BYTES], title=f"Launch {days}: {launch.summary}"[:200],
                            priority="normal", trust="untrusted", recipe=source.spec.recipe)
    return added.signal_id if added.created else None


def _blackouts_event(ws: Workspace, source: ConfiguredSource,
                     blackouts: list[Occurrence]) -> CalendarBlackoutsRecorded | None:
    windows = [BlackoutWindow(uid=o.uid, start=_iso(o.start), end=_iso(o.end), summary=o.summary[:200])
               for o in blackouts]
    last = last_event(ws, source, "CalendarBlackoutsRecorded")
    if last is not None and last.data["windows"] == [json.loads(w.model_dump_json()) for w in windows]:
        return None
    if last is None and not windows:
        return None
    return CalendarBlackoutsRecorded(project=source.project.name, source=source.spec.name, windows=windows)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
