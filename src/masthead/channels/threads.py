"""Threads: a short post too long for one X, Bluesky or Mastodon post, as numbered parts.

A thread is kept in a piece's text like any other text, so versions, edits, approvals of an
exact version and replay need nothing new: its parts are separated by a line holding only
`---`, and each part ends with its number on a line of its own ("1/3"). The numbers are
derived, never trusted: `parts_of` drops whatever numbers a part carries and `numbered` counts
again, so a person who adds or removes a part in `review edit` never has to renumber.

Only the short channels thread, and only when their `thread:` setting is `auto` (their
default); elsewhere a `---` line is just text.
"""

from __future__ import annotations

import regex

THREAD_CHANNELS: tuple[str, ...] = ("x", "bluesky", "mastodon")
PART_BREAK = "\n\n---\n\n"  # how parts are written; any line of only `---` separates them
MAX_PARTS = 25  # a thread longer than this is a blog post

_BREAK = regex.compile(r"(?m)^[ \t]*---[ \t\r]*$")  # \r: a file saved with Windows line ends
# A part's own number: a last line of only "k/n" (k <= n). "24/7" inside a sentence is text.
_NUMBER = regex.compile(r"\r?\n[ \t]*(\d{1,2})/(\d{1,2})[ \t\r]*$")


def threads_allowed(channel: str, setting: str | None) -> bool:
    """Whether a piece of `channel` may be a thread, given its `thread:` setting (None: the default)."""
    if channel not in THREAD_CHANNELS:
        return False
    return (setting or "auto") == "auto"


def parts_of(text: str) -> list[str]:
    """The parts of a thread's text without their numbers; one part for a text without `---`."""
    parts = []
    for raw in _BREAK.split(text):
        part = raw.strip("\r\n").rstrip()
        number = _NUMBER.search(part)
        if number and int(number[1]) <= int(number[2]):
            part = part[: number.start()].rstrip()
        if part.strip():
            parts.append(part)
    return parts or [text]


def numbered(parts: list[str]) -> list[str]:
    """Each part with its number ("2/3") on its own last line; a single part stays as it is."""
    if len(parts) < 2:
        return list(parts)
    return [f"{part}\n{index}/{len(parts)}" for index, part in enumerate(parts, start=1)]


def thread_text(parts: list[str]) -> str:
    """The stored form of a thread: numbered parts separated by `---` lines."""
    return PART_BREAK.join(numbered(parts))


def is_thread(text: str) -> bool:
    return len(parts_of(text)) > 1


def whole_text(text: str) -> str:
    """What a thread says as one text (its parts without numbers, blank lines between): what the
    checks of substance, grounding and voice read, and what a publisher that cannot thread posts."""
    return "\n\n".join(parts_of(text))


def part_number_suffix(parts: int) -> str:
    """The longest number a part of a `parts`-part thread carries, as written after it."""
    return f"\n{parts}/{parts}"
