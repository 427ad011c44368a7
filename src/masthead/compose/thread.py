"""A thread candidate: the signal's top items, when they do not fit one short post, as parts.

The first part is the headline with as many item lines as fit, the next parts carry the other
lines in salience order, and the release link, sign-off and hashtags close the last part (or
make a part of their own). Every part is measured in the channel's own unit with its number
("3/4") counted, so each part fits the limit as posted. Selection decides between this and the
single posts: a thread wins when it covers more of the salient items and passes its checks.
"""

from __future__ import annotations

from collections.abc import Callable

import regex

from masthead.channels.limits import body_length, rule_for
from masthead.channels.threads import (
    MAX_PARTS,
    THREAD_CHANNELS,
    numbered,
    part_number_suffix,
    thread_text,
)
from masthead.compose.candidates import (
    Candidate,
    VoiceRules,
    cut,
    headline,
    item_line,
    join_post,
    worth_posting,
)
from masthead.compose.items import Extraction, Item

THREAD_ITEMS = 8  # a thread tells the signal's most salient items, as coverage counts them
_GRAPHEME = regex.compile(r"\X")


def compose_thread(channel: str, extraction: Extraction, voice: VoiceRules) -> list[Candidate]:
    """The threads for `channel` (with the release link and without, as for one post, since a
    link may fail a check); none when its top items fit one post or it is not a short channel."""
    if channel not in THREAD_CHANNELS:
        return []
    items = worth_posting(extraction)[:THREAD_ITEMS]
    if not items:
        return []
    texts = [_thread(channel, extraction, items, voice, link) for link in dict.fromkeys([extraction.link, None])]
    return [Candidate("thread", text) for text in dict.fromkeys(texts) if text]


def _thread(channel: str, extraction: Extraction, items: list[Item], voice: VoiceRules, link: str | None) -> str:
    limit = rule_for(channel).limit or 500
    length: Callable[[str], int] = lambda text: body_length(channel, text)  # noqa: E731
    first = headline(extraction, items[0])
    lines = [item_line(item, voice) for item in items[1:]]
    tail = "\n".join(part for part in (link, voice.sign_off, " ".join(voice.hashtags)) if part)
    if length(join_post(first, lines, tail)) <= limit:
        return ""  # one post says it all
    # Room for text in a part: the limit less the longest number a part may carry.
    room = limit - length(part_number_suffix(MAX_PARTS))
    parts = _pack([fit(first, room, length), *(fit(line, room, length) for line in lines)], room, length)
    if tail and length(parts[-1] + "\n\n" + tail) <= room:
        parts[-1] += "\n\n" + tail
    elif tail:
        parts.append(fit(tail, room, length))
    if len(parts) < 2 or len(parts) > MAX_PARTS or any(length(part) > limit for part in numbered(parts)):
        return ""
    return thread_text(parts)


def _pack(blocks: list[str], room: int, length: Callable[[str], int]) -> list[str]:
    """Blocks in order, as many to a part as fit: the headline and its first lines, then the rest."""
    parts: list[str] = []
    for index, block in enumerate(blocks):
        joiner = "\n\n" if index == 1 else "\n"  # a blank line after the headline, as in one post
        if parts and length(parts[-1] + joiner + block) <= room:
            parts[-1] += joiner + block
        else:
            parts.append(block)
    return parts


def fit(text: str, room: int, length: Callable[[str], int]) -> str:
    """`text` within `room`: cut at a word boundary, or (CJK, written without spaces) between
    graphemes, with an ellipsis when cut."""
    text = cut(text, room, length)
    if length(text) <= room:
        return text
    graphemes = _GRAPHEME.findall(text.rstrip("…"))
    while graphemes and length("".join(graphemes) + "…") > room:
        graphemes.pop()
    return "".join(graphemes) + "…"
