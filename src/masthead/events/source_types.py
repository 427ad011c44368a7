"""Signal source events: each poll of a source is recorded, so what a feed answered last
(its ETag and Last-Modified, whether it is gone) and which entries were passed over are in
the log and survive restarts. The entries imported are signals (`feed:<source>:<entry key>`);
analytics files are recorded whole (AnalyticsImported), and their trends are signals."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from masthead.events.types import EventData

# ok: answered and read; not_modified: a 304; gone: a 410 (polls stop until the URL changes);
# error: anything else unusable (HTML, 5xx, too big, a redirect loop, a timeout, a broken
# calendar); ignored: a GitHub delivery that is not a release to act on (the reason in detail).
SourceStatus = Literal["ok", "not_modified", "gone", "error", "ignored"]


class SourcePolled(EventData):
    project: str
    source: str
    url: str | None = None  # a feed: the URL asked (the configured one)
    status: SourceStatus
    final_url: str | None = None  # where redirects led, when they led elsewhere
    etag: str | None = None
    last_modified: str | None = None
    imported: int = Field(0, ge=0)
    imported_total: int = Field(0, ge=0)  # signals made by every poll of this source so far
    skipped: int = Field(0, ge=0)  # entries a first poll passed over (FeedEntriesPassedOver)
    error: str | None = None
    files: list[str] = Field(default_factory=list)  # analytics: the files imported by this poll
    delivery: str | None = None  # github_releases: the X-GitHub-Delivery this event records
    detail: str | None = None  # what the source answered, in words (an ignored delivery's reason)


class FeedEntriesPassedOver(EventData):
    """The first successful poll of a feed URL: the entry keys past `backfill`, never imported
    later either. Its presence for a URL is what makes later polls not first polls."""

    project: str
    source: str
    url: str
    keys: list[str]


class AnalyticsImported(EventData):
    """One analytics export file, read whole: its daily points, each [date, metric, dimension, value]
    (dimension "" for a total). Imported once per content hash; a later file's point for the same
    (date, metric, dimension) replaces an earlier one's (exports overlap)."""

    project: str
    source: str
    file: str  # the name in the source's folder
    sha256: str
    format: str
    points: list[tuple[str, str, str, float]]


class BlackoutWindow(BaseModel):
    """One occurrence of a calendar event tagged as a blackout: no publication inside [start, end)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uid: str
    start: str  # ISO 8601 UTC
    end: str
    summary: str


class CalendarBlackoutsRecorded(EventData):
    """The blackout windows a calendar source holds now (every coming or current occurrence),
    recorded when they differ from the last record; the publish step reads the latest."""

    project: str
    source: str
    windows: list[BlackoutWindow]


class ScheduleFired(EventData):
    """A `schedules:` entry fired for `tick` (the latest cron time at or before the firing): one
    `schedule` signal for its recipe. After downtime only the latest missed tick fires;
    `missed` counts the ticks before it that were passed over."""

    project: str
    recipe: str
    cron: str
    tick: str  # ISO 8601 with the project's offset
    signal_id: str
    missed: int = Field(0, ge=0)
