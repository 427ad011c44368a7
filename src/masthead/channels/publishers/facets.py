"""Bluesky rich-text facets: links and hashtags, located by UTF-8 byte offsets.

Bluesky counts `byteStart`/`byteEnd` in the UTF-8 encoding of the text, not in characters:
an emoji is 4 bytes, a CJK character 3, so character offsets would point at the wrong words.
"""

from __future__ import annotations

import re
from typing import Any

# A URL runs to the next space; sentence punctuation right after it is not part of it.
_URL = re.compile(r"https?://[^\s<>\"]+")
_TRAILING = ".,;:!?)]}'\u3002\uff0c\uff01\uff1f"
# A hashtag starts after a space or the start, and is not only digits (#1 is not a tag).
_TAG = re.compile(r"(?:^|(?<=\s))[#\uff03]((?!\d+\b)\w[\w\-]*)", re.UNICODE)
MAX_TAG_BYTES = 640  # the lexicon's limit on `tag`


def _byte_span(text: str, start: int, end: int) -> dict[str, int]:
    head = len(text[:start].encode("utf-8"))
    return {"byteStart": head, "byteEnd": head + len(text[start:end].encode("utf-8"))}


def facets_for(text: str) -> list[dict[str, Any]]:
    facets: list[dict[str, Any]] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        facets.append({"index": _byte_span(text, match.start(), end),
                       "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}]})
    for match in _TAG.finditer(text):
        tag = match.group(1).rstrip("-_")
        if not tag or len(tag.encode("utf-8")) > MAX_TAG_BYTES:
            continue
        end = match.start(1) + len(tag)
        facets.append({"index": _byte_span(text, match.start(), end),
                       "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}]})
    return sorted(facets, key=lambda facet: facet["index"]["byteStart"])
