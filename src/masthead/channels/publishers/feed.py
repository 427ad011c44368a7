"""Atom and JSON Feed out: out/feeds/<name>.atom (written by feedgen) and out/feeds/<name>.json
(JSON Feed 1.1, https://www.jsonfeed.org/version/1.1/).

The JSON feed is the list of items: each publication adds one item whose `id` is its
idempotency key, newest first, at most `max_items`. Delivering the same key again finds its
item and changes nothing, so a retry after a crash is a no-op. Both files are written to a
temporary name and renamed into place, so a reader sees a whole feed or the previous one.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from feedgen.feed import FeedGenerator

from masthead.channels.publisher import (
    SAFE_RETRY,
    Capabilities,
    Delivery,
    Limits,
    PublisherContext,
    Receipt,
)
from masthead.config import FeedPublisherSection

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
_WRITING = threading.Lock()  # two worker threads adding to one feed must not lose an item


class FeedPublisher:
    kind: ClassVar[str] = "feed"
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=SAFE_RETRY, retract=True)
    settings_model: ClassVar[type[FeedPublisherSection]] = FeedPublisherSection

    def __init__(self, name: str, settings: FeedPublisherSection, out_dir: Path):
        self.name = name
        self.settings = settings
        self.json_path = out_dir / "feeds" / f"{name}.json"
        self.atom_path = out_dir / "feeds" / f"{name}.atom"

    @classmethod
    def from_settings(cls, settings: FeedPublisherSection, context: PublisherContext) -> FeedPublisher:
        return cls(context.name, settings, context.out_dir)

    def _items(self) -> list[dict[str, Any]]:
        if not self.json_path.exists():
            return []
        items: list[dict[str, Any]] = json.loads(self.json_path.read_text("utf-8")).get("items", [])
        return items

    def _receipt(self, item: dict[str, Any]) -> Receipt:
        return Receipt(location=str(self.json_path), remote_id=item["id"], url=item.get("url"))

    def publish(self, delivery: Delivery) -> Receipt:
        with _WRITING:
            items = self._items()
            for item in items:
                if item["id"] == delivery.key:
                    # Already there; a crash may have come between the two files, so the Atom
                    # file is written again from the JSON one.
                    self._write(items)
                    return self._receipt(item)
            item = _item(delivery, self.settings.site_url)
            self._write([item, *items][: self.settings.max_items])
            return self._receipt(item)

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        return next((self._receipt(i) for i in self._items() if i["id"] == delivery.key), None)

    def retract(self, receipt: Receipt) -> None:
        with _WRITING:
            self._write([item for item in self._items() if item["id"] != receipt.remote_id])

    def limits(self) -> Limits:
        return Limits()

    def check(self) -> str:
        return f"writes {self.json_path} and {self.atom_path}"

    def _write(self, items: list[dict[str, Any]]) -> None:
        s = self.settings
        feed = {"version": JSON_FEED_VERSION, "title": s.title, "home_page_url": s.site_url,
                "feed_url": s.site_url.rstrip("/") + f"/feeds/{self.name}.json", "items": items}
        _replace(self.json_path, json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8"))
        _replace(self.atom_path, self._atom(items))

    def _atom(self, items: list[dict[str, Any]]) -> bytes:
        generator = FeedGenerator()
        generator.id(self.settings.site_url)
        generator.title(self.settings.title)
        generator.link(href=self.settings.site_url, rel="alternate")
        generator.updated(items[0]["date_published"] if items else "1970-01-01T00:00:00Z")
        for item in reversed(items):  # feedgen puts each new entry first
            entry = generator.add_entry()
            entry.id(f"urn:masthead:{item['id']}")
            entry.title(item.get("title") or _first_line(item["content_text"]))
            entry.content(item["content_text"], type="text")
            entry.link(href=item["url"], rel="alternate")
            entry.published(item["date_published"])
            entry.updated(item["date_published"])
        atom: bytes = generator.atom_str(pretty=True)
        return atom


def _item(delivery: Delivery, site_url: str) -> dict[str, Any]:
    published = datetime.fromisoformat(delivery.at.replace("Z", "+00:00")).isoformat()
    item: dict[str, Any] = {
        "id": delivery.key,
        "url": f"{site_url.rstrip('/')}/#{delivery.piece_id}-v{delivery.version}",
        "content_text": delivery.text,
        "date_published": published,
        "tags": [delivery.channel],
    }
    if delivery.subject:
        item["title"] = delivery.subject
    return item


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "(untitled)"
    return line if len(line) <= 80 else line[:79] + "…"


def _replace(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
