"""Reading the log in pages, shared by every adapter: each page is one short query, so a
half-read iterator holds no connection and no lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from masthead.events.model import StoredEvent

PAGE = 1000
Query = Callable[[str, tuple[Any, ...]], list[dict[str, Any]]]


def read_pages(query: Query, to_event: Callable[[dict[str, Any]], StoredEvent], *, since: int,
               stream: str | None, limit: int | None) -> Iterator[StoredEvent]:
    """Events with seq > since in global order (of one stream if given), at most `limit`."""
    remaining = limit
    cursor = since
    while remaining is None or remaining > 0:
        size = PAGE if remaining is None else min(PAGE, remaining)
        if stream is None:
            rows = query("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (cursor, size))
        else:
            rows = query("SELECT * FROM events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?",
                         (stream, cursor, size))
        if not rows:
            return
        for row in rows:
            yield to_event(row)
        cursor = rows[-1]["seq"]
        if remaining is not None:
            remaining -= len(rows)
