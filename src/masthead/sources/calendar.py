"""Read one iCalendar file (icalendar + recurring-ical-events), deterministically.

Occurrences are expanded from RRULE/RDATE/EXDATE within a window; an event tagged (CATEGORIES)
as a launch or a blackout is kept, the rest are not ours. Everything that makes the file
unusable (not iCalendar, a broken RRULE, a TZID neither the file nor the time-zone database
knows) raises CalendarUnusable naming the event and the fix, before anything is imported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

_TIMED_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
MAX_DESCRIPTION_CHARS = 20_000


class CalendarUnusable(Exception):
    """The calendar cannot be imported; the message names the event and the fix."""


@dataclass(frozen=True)
class Occurrence:
    uid: str
    start: datetime  # UTC
    end: datetime  # UTC
    summary: str
    description: str
    tags: frozenset[str]  # CATEGORIES, lower-cased

    @property
    def key(self) -> str:
        """One occurrence of one event: its UID and its start."""
        return f"{self.uid}|{self.start.isoformat()}"


def read_calendar(body: bytes, shown: str) -> Any:
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as exc:
        raise CalendarUnusable(f"{shown} is not an iCalendar file ({_short(exc)}); give a .ics file "
                               "(BEGIN:VCALENDAR ... END:VCALENDAR)") from None
    if getattr(calendar, "name", None) != "VCALENDAR":
        raise CalendarUnusable(f"{shown} is not an iCalendar file; give a .ics file (BEGIN:VCALENDAR ...)")
    _check_zones(calendar, shown)
    return calendar


def _check_zones(calendar: Any, shown: str) -> None:
    """A TZID that nothing resolves would be read as floating time, silently hours off: refused.
    icalendar resolves the file's VTIMEZONEs, IANA names and Windows names (Exchange exports);
    a time with a TZID that came out without a zone is one it could not."""
    for event in calendar.walk("VEVENT"):
        for name in _TIMED_PROPERTIES:
            values = event.get(name)
            for value in values if isinstance(values, list) else [values]:
                tzid = getattr(value, "params", {}).get("TZID") if value is not None else None
                if tzid and any(_floating(moment) for moment in _moments(value)):
                    raise CalendarUnusable(
                        f"{shown}: event {event.get('UID', '(no UID)')} uses TZID {tzid!r}, which neither the file "
                        "(VTIMEZONE) nor the time-zone database defines; use an IANA name like Europe/Berlin")


def _moments(value: Any) -> list[Any]:
    listed = getattr(value, "dts", None)  # EXDATE and RDATE hold lists
    return [item.dt for item in listed] if listed is not None else [getattr(value, "dt", None)]


def _floating(moment: Any) -> bool:
    return isinstance(moment, datetime) and moment.tzinfo is None


def occurrences(calendar: Any, start: datetime, end: datetime, tags: set[str], default_zone: tzinfo,
                shown: str) -> list[Occurrence]:
    """Every occurrence that overlaps [start, end) of the events tagged with one of `tags`."""
    import recurring_ical_events

    try:
        expanded = list(recurring_ical_events.of(calendar).between(start, end))
    except Exception as exc:  # noqa: BLE001 - the library raises many types for a broken rule
        raise CalendarUnusable(_broken_rule(calendar, start, end, shown, exc)) from None
    found = []
    for component in expanded:
        event_tags = _tags(component)
        if event_tags & tags:
            found.append(_occurrence(component, event_tags, default_zone))
    return sorted(found, key=lambda occurrence: (occurrence.start, occurrence.uid))


def _broken_rule(calendar: Any, start: datetime, end: datetime, shown: str, exc: Exception) -> str:
    """Name the event whose recurrence cannot be expanded (expanded one by one to find it)."""
    import icalendar
    import recurring_ical_events

    for event in calendar.walk("VEVENT"):
        single = icalendar.Calendar()
        single.add_component(event)
        try:
            list(recurring_ical_events.of(single).between(start, end))
        except Exception as own:  # noqa: BLE001
            return (f"{shown}: event {event.get('UID', '(no UID)')} has a recurrence rule that cannot be read "
                    f"({_short(own)}); fix its RRULE (RFC 5545, e.g. RRULE:FREQ=WEEKLY;BYDAY=TU)")
    return f"{shown}: the recurrences cannot be expanded ({_short(exc)}); check the RRULE lines"


def _tags(component: Any) -> frozenset[str]:
    raw = component.get("CATEGORIES")
    values = raw if isinstance(raw, list) else [raw] if raw is not None else []
    tags: set[str] = set()
    for value in values:
        cats = getattr(value, "cats", None)
        items = cats if cats is not None else str(value.to_ical().decode() if hasattr(value, "to_ical") else value).split(",")
        tags.update(str(item).strip().lower() for item in items if str(item).strip())
    return frozenset(tags)


def _occurrence(component: Any, tags: frozenset[str], default_zone: tzinfo) -> Occurrence:
    begin = _utc(component.get("DTSTART").dt, default_zone)
    finish_value = component.get("DTEND")
    if finish_value is not None:
        finish = _utc(finish_value.dt, default_zone)
    else:  # no DTEND: a whole day for a date, an instant otherwise (RFC 5545 3.6.1)
        finish = begin + (timedelta(days=1) if not isinstance(component.get("DTSTART").dt, datetime) else timedelta())
    uid = str(component.get("UID") or hashlib.sha256(str(component.get("SUMMARY")).encode()).hexdigest()[:16])
    return Occurrence(uid=uid, start=begin, end=max(finish, begin), summary=str(component.get("SUMMARY") or "").strip(),
                      description=str(component.get("DESCRIPTION") or "").strip()[:MAX_DESCRIPTION_CHARS], tags=tags)


def _utc(value: date | datetime, default_zone: tzinfo) -> datetime:
    """A date is midnight and a floating time is local time, both in the project's zone."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_zone)
    return value.astimezone(UTC)


def _short(exc: Exception) -> str:
    text = str(exc).replace("\\", "")
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


@dataclass(frozen=True)
class LaunchLead:
    occurrence: Occurrence
    lead_days: int


def lead_time(launch: Occurrence, days: int, local: tzinfo) -> datetime:
    """When a lead of `days` is due: the start of the day `days` days before the launch's date,
    in the project's time zone (lead 1 of a Thursday 09:00 launch: Wednesday 00:00; lead 0:
    the launch day's midnight)."""
    day = launch.start.astimezone(local).date() - timedelta(days=days)
    return datetime.combine(day, time(0, 0), tzinfo=local).astimezone(UTC)


def due_leads(launches: list[Occurrence], lead_days: list[int], now: datetime, local: tzinfo) -> list[LaunchLead]:
    """For each coming launch, the lead that is due now: the smallest of `lead_days` whose time
    has come. Larger leads missed while nothing polled are not made up for later: one catch-up,
    like a schedule."""
    due = []
    for launch in launches:
        if launch.start <= now:
            continue  # launched already
        reached = [days for days in lead_days if lead_time(launch, days, local) <= now]
        if reached:
            due.append(LaunchLead(launch, min(reached)))
    return due


def lead_key(source: str, lead: LaunchLead) -> str:
    """The signal source of one lead of one occurrence: `calendar:<source>:<16 hex>`."""
    digest = hashlib.sha256(f"{lead.occurrence.key}|{lead.lead_days}".encode()).hexdigest()[:16]
    return f"calendar:{source}:{digest}"
