"""Presentation helpers shared by pages and the API: channel-true counts, word diffs, times."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from typing import Any

from masthead.channels.limits import body_length, rule_for

UNIT_NAMES = {"weighted": "weighted characters", "graphemes": "characters (graphemes)", "chars": "characters"}
_WORDS = re.compile(r"\s+|\w+|[^\w\s]")  # runs of space, words, single marks


def channel_view(channel: str, text: str, subject: str | None, parts: list[str] | None = None) -> dict[str, Any]:
    """What the channel will show and how it counts it: the count uses the channel's own rule
    (X weights CJK and links, Bluesky counts graphemes...), the same one the checks use. A thread
    (`parts`, numbered) shows each part as its own post with its own count; the headline count
    is its longest part's."""
    rule = rule_for(channel)
    counts = [body_length(channel, part) for part in parts or []]
    posts = [{"text": part, "count": n, "over": rule.limit is not None and n > rule.limit,
              "share": min(1.0, n / rule.limit) if rule.limit else None}
             for part, n in zip(parts or [], counts, strict=True)]
    count = max(counts) if counts else body_length(channel, text)
    subject_count = len(subject) if subject is not None else None
    return {
        "channel": channel, "text": text, "subject": subject if rule.has_subject else None, "parts": posts,
        "count": count, "limit": rule.limit, "unit": UNIT_NAMES.get(rule.unit, rule.unit),
        "over": rule.limit is not None and count > rule.limit,
        "share": min(1.0, count / rule.limit) if rule.limit else None,
        "subject_count": subject_count if rule.has_subject else None, "subject_limit": rule.subject_limit,
        "subject_over": bool(rule.has_subject and rule.subject_limit and subject_count
                             and subject_count > rule.subject_limit),
        "kind": "post" if channel in ("x", "bluesky", "mastodon", "linkedin") else "long",
    }


def word_diff(old: str, new: str) -> list[dict[str, str]]:
    """Word-level changes (whitespace kept), so a one-word edit in a one-line post shows as one
    word, not as a whole line removed and added. A space or a comma alone between two changes is
    folded into them: "Less typing, more" reads as one insertion, not four."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    blocks: list[list[str]] = []  # [equal] or [deleted, inserted]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            blocks.append(["".join(a[i1:i2])])
        else:
            blocks.append(["".join(a[i1:i2]), "".join(b[j1:j2])])
    merged: list[list[str]] = []
    for block in blocks:
        if (len(block) == 2 and len(merged) >= 2 and len(merged[-2]) == 2 and len(merged[-1]) == 1
                and not merged[-1][0].strip(" \t,.;:-")):
            glue = merged.pop()[0]
            previous = merged.pop()
            block = [previous[0] + glue + block[0], previous[1] + glue + block[1]]
        merged.append(block)
    ops: list[dict[str, str]] = []
    for block in merged:
        if len(block) == 1:
            ops.append({"op": "equal", "text": block[0]})
            continue
        if block[0]:
            ops.append({"op": "delete", "text": block[0]})
        if block[1]:
            ops.append({"op": "insert", "text": block[1]})
    return ops


def parse_time(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def ago(iso: str | None, now: datetime | None = None) -> str:
    if not iso:
        return ""
    seconds = max(0.0, ((now or datetime.now(UTC)) - parse_time(iso)).total_seconds())
    if seconds < 60:
        return f"{int(seconds)}s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60)}m ago"
    return f"{int(seconds // 86400)}d ago"


def minutes(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.0f} min"
    if value < 1440:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} d"


def seconds_text(value: float | None) -> str:
    return "–" if value is None else minutes(value / 60) if value >= 60 else f"{value:.0f} s"


def usd(value: float | None) -> str:
    if value is None:
        return "–"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
