"""Signal source events: each poll of a source is recorded, so what a feed answered last
(its ETag and Last-Modified, whether it is gone) and which entries were passed over are in
the log and survive restarts. The entries imported are signals (`feed:<source>:<entry key>`);
analytics files are recorded whole (AnalyticsImported), and their trends are signals."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from masthead.events.types import EventData

# ok: answered and read; not_modified: a 304; gone: a 410 (polls stop until the URL changes);
# error: anything else unusable (HTML, 5xx, too big, a redirect loop, a timeout).
SourceStatus = Literal["ok", "not_modified", "gone", "error"]


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
