"""What the long-form publishers (email, Ghost, WordPress) share: a piece's title, its HTML
rendered from its Markdown, and a marker derived from the publication key that a retry (or a
person) can look the post up by.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from masthead.channels.publisher import Delivery

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

TITLE_CHARACTERS = 120
SLUG_WORDS_CHARACTERS = 60


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # Raw HTML in a piece is shown as text, never passed through: a piece's words come from a
    # model fed with untrusted signals, and a <script> or a tracking pixel must not reach readers.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_html(text: str) -> str:
    return _markdown().render(text)


def title_of(delivery: Delivery) -> str:
    """The piece's subject, else its first line without Markdown heading marks."""
    if delivery.subject and delivery.subject.strip():
        return delivery.subject.strip()
    first = next((line for line in delivery.text.splitlines() if line.strip()), delivery.piece_id)
    title = first.strip().lstrip("#").strip()
    return title if len(title) <= TITLE_CHARACTERS else title[:TITLE_CHARACTERS - 1].rstrip() + "…"


def body_of(delivery: Delivery) -> str:
    """The text without its first line when that line is the title already (no title twice)."""
    lines = delivery.text.strip().splitlines()
    if lines and not delivery.subject and lines[0].strip().lstrip("#").strip() == title_of(delivery):
        return "\n".join(lines[1:]).strip()
    return delivery.text


def key_digest(key: str, length: int = 12) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:length]


def slug_for(delivery: Delivery) -> str:
    """A URL slug readers see (the title's words) that ends in a digest of the publication key:
    the same on every attempt, different for every publication, so a lookup by slug finds this
    publication's post and no other."""
    ascii_title = unicodedata.normalize("NFKD", title_of(delivery)).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:SLUG_WORDS_CHARACTERS].strip("-")
    return f"{words or 'post'}-{key_digest(delivery.key)}"
