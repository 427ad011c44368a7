"""Publication slots: "mon-fri 09:30", "sat 11:00", "12:00" (every day), in the project's time zone.

A channel with slots publishes pieces approved by a gate (auto, soft) at its next free slot, one
piece per slot. `next_free_slot` is the one place that picks the slot; a later calendar of
blackout days passes `blocked` so a slot inside a blackout is skipped the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from masthead.windows import DAYS, _days, _minute, zone

_SLOT = re.compile(r"^(?:(?P<days>[a-z,\-]+)\s+)?(?P<at>\d{1,2}:\d{2})$")
# How far ahead a slot is looked for: a year covers any weekly pattern with blackouts around it.
HORIZON_DAYS = 366


@dataclass(frozen=True)
class Slot:
    days: frozenset[int]  # 0 = Monday
    minute: int  # minutes after local midnight

    def on(self, day: date, tz_name: str) -> datetime | None:
        """This slot on `day` as an aware UTC time, or None when the slot is not on that day or
        its local time does not exist there (the hour a DST change skips)."""
        if day.weekday() not in self.days:
            return None
        local = datetime.combine(day, time(self.minute // 60, self.minute % 60), zone(tz_name))
        instant = local.astimezone(UTC)
        if instant.astimezone(zone(tz_name)).replace(tzinfo=None) != local.replace(tzinfo=None):
            return None
        return instant


def parse_slot(text: str) -> Slot:
    """One slot string; ValueError says what a slot looks like."""
    match = _SLOT.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a slot; write it like \"mon-fri 09:30\", \"sat 11:00\" or \"12:00\"")
    try:
        minute, days = _minute(match["at"], text), _days(match["days"], text)
    except ValueError as exc:
        raise ValueError(f"slot {exc}") from None
    if minute >= 24 * 60:
        raise ValueError(f"slot {text!r}: its time is 00:00 to 23:59")
    return Slot(days, minute)


def slot_times(slots: list[str], tz_name: str, after: datetime) -> Iterator[datetime]:
    """Every slot time strictly after `after` (aware), in order, up to the horizon."""
    parsed = [parse_slot(s) for s in slots]
    local_start = after.astimezone(zone(tz_name)).date()
    for offset in range(HORIZON_DAYS + 1):
        day = local_start + timedelta(days=offset)
        times = sorted({t for slot in parsed if (t := slot.on(day, tz_name)) is not None})
        yield from (t for t in times if t > after)


def next_free_slot(slots: list[str], tz_name: str, after: datetime, taken: Collection[datetime],
                   blocked: Callable[[datetime], bool] = lambda _at: False) -> datetime | None:
    """The first slot after `after` that no other publication holds (`taken`, aware times) and
    no blackout covers (`blocked`); None when there is none within the horizon (or no slots)."""
    held = {t.astimezone(UTC) for t in taken}
    return next((t for t in slot_times(slots, tz_name, after) if t not in held and not blocked(t)), None)


def local_label(at: datetime, tz_name: str) -> str:
    """How a scheduled time is shown: `2026-12-08 09:30 Europe/Berlin`."""
    return f"{at.astimezone(zone(tz_name)):%Y-%m-%d %H:%M} {tz_name}"


def parse_local_time(text: str, tz_name: str) -> datetime:
    """`2026-12-08 09:30` in the project's zone as an aware UTC time; ValueError when it is not
    that shape, or names a local time the zone skips."""
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise ValueError(f"{text!r} is not a time like \"2026-12-08 09:30\"") from None
    local = naive.replace(tzinfo=zone(tz_name))
    instant = local.astimezone(UTC)
    if instant.astimezone(zone(tz_name)).replace(tzinfo=None) != naive:
        raise ValueError(f"{text!r} does not exist in {tz_name} (the clocks skip it)")
    return instant


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


__all__ = ["DAYS", "Slot", "from_iso", "iso_utc", "local_label", "next_free_slot", "parse_local_time",
           "parse_slot", "slot_times"]
