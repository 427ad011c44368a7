"""When a cron schedule is due: the latest tick at or before now, once, however many were missed.

A schedule remembers the tick it last fired for (ScheduleFired). At each look, if a tick came
after it and is not in the future, the LATEST such tick fires and the earlier ones are counted
as missed: after a night of downtime an hourly schedule fires once, not eight times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from masthead.source_specs import next_firing

# Counting missed ticks walks them; past this many the count says "at least".
MAX_COUNTED_MISSES = 1000


@dataclass(frozen=True)
class DueTick:
    tick: datetime
    missed: int  # ticks after the last firing and before `tick`, passed over


def due_tick(cron: str, since: datetime, now: datetime) -> DueTick | None:
    """The tick to fire now, if any: the latest tick in (since, now]. `since` is the tick last
    fired for (or when the schedule was first applied); both carry the project's time zone."""
    first = next_firing(cron, since)
    if first > now:
        return None
    from croniter import croniter

    # Cron ticks are whole minutes, so the latest tick <= now is the one before now's next second.
    latest: datetime = croniter(cron, now.replace(microsecond=0) + timedelta(seconds=1)).get_prev(datetime)
    missed, tick = 0, first
    while tick < latest and missed < MAX_COUNTED_MISSES:
        missed += 1
        tick = next_firing(cron, tick)
    return DueTick(tick=latest, missed=missed)
