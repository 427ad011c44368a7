"""Off-peak windows: "22:00-06:00", "mon-fri 22:00-06:00", "sat,sun 00:00-24:00".

A window may cross midnight; its days name the day it starts on. Times are in the project's
time zone. `next_open` says when background work may next run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WINDOW = re.compile(r"^(?:(?P<days>[a-z,\-]+)\s+)?(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]
    start_minute: int
    end_minute: int  # may be <= start: the window ends the next day


def _minute(text: str, source: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"{source!r}: {text} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def _days(spec: str | None, source: str) -> frozenset[int]:
    if not spec:
        return frozenset(range(7))
    chosen: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{source!r}: days must be like mon-fri or sat,sun")
        a, b = DAYS.index(first), DAYS.index(last or first)
        chosen.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(chosen)


def parse_window(text: str) -> Window:
    match = _WINDOW.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a window; write it like \"22:00-06:00\" or \"mon-fri 22:00-06:00\"")
    return Window(_days(match["days"], text), _minute(match["start"], text), _minute(match["end"], text))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time zone {name!r} is unknown; use an IANA name like Europe/Berlin") from None


def _inside(window: Window, local: datetime) -> bool:
    minute = local.hour * 60 + local.minute
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    if window.start_minute < window.end_minute:
        return today in window.days and window.start_minute <= minute < window.end_minute
    # Crosses midnight: the evening part belongs to today's window, the morning to yesterday's.
    return (today in window.days and minute >= window.start_minute) or (
        yesterday in window.days and minute < window.end_minute
    )


def next_open(windows: list[str], tz_name: str, now: float) -> float:
    """`now` if inside any window (or there are none), else the unix time the next one opens."""
    if not windows:
        return now
    parsed = [parse_window(w) for w in windows]
    local = datetime.fromtimestamp(now, zone(tz_name)).replace(second=0, microsecond=0)
    if any(_inside(w, datetime.fromtimestamp(now, zone(tz_name))) for w in parsed):
        return now
    # Step minute by minute over the coming week; at most 10,080 checks, only when outside.
    for step in range(1, 7 * 24 * 60 + 1):
        candidate = local + timedelta(minutes=step)
        if any(_inside(w, candidate) for w in parsed):
            return candidate.timestamp()
    return now + 7 * 86400
