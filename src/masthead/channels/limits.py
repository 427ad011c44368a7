"""Channel rules and exact body-length counting, each channel in its own unit.

- X counts twitter-text v3's *weighted length*: most scripts weigh 1, CJK and emoji weigh 2,
  and every URL weighs 23 because X rewrites it to a t.co link.
- Bluesky counts extended grapheme clusters (what a reader sees as one character).
- Mastodon counts code points, but every http(s) URL counts 23 and a remote mention
  `@user@domain` counts only `@user` (what Mastodon's composer counts).
- LinkedIn, newsletters, email, blogs and proposals count code points.

Links are found by `channels.urls`, the one URL finder: X and Mastodon count with its
twitter-text view, the checks with its reader's view (see that module).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

import regex

from masthead.channels.urls import UrlMatch, find_urls
from masthead.errors import NotFoundError

CHANNELS: tuple[str, ...] = ("x", "bluesky", "mastodon", "linkedin", "newsletter", "email", "blog", "proposal")
# Documents for one client: a recipe writes them only when one of its steps names the channel
# (`channels: [proposal]`), so release notes never turn into a proposal.
DOCUMENT_CHANNELS: tuple[str, ...] = ("proposal",)

SUBJECT_LIMIT = 60
TRANSFORMED_URL_LENGTH = 23  # X and Mastodon both count any link as this many characters


@dataclass(frozen=True)
class ChannelRule:
    """What a channel accepts."""

    name: str
    limit: int | None  # max length of the body, None = unlimited
    unit: str  # "weighted" (X), "graphemes" (Bluesky), "chars" (others)
    has_subject: bool  # newsletter and email have a subject line
    subject_limit: int | None  # SUBJECT_LIMIT for newsletter/email


_RULES: dict[str, ChannelRule] = {
    rule.name: rule
    for rule in (
        ChannelRule("x", 280, "weighted", has_subject=False, subject_limit=None),
        ChannelRule("bluesky", 300, "graphemes", has_subject=False, subject_limit=None),
        ChannelRule("mastodon", 500, "chars", has_subject=False, subject_limit=None),
        ChannelRule("linkedin", 3000, "chars", has_subject=False, subject_limit=None),
        ChannelRule("newsletter", None, "chars", has_subject=True, subject_limit=SUBJECT_LIMIT),
        ChannelRule("email", None, "chars", has_subject=True, subject_limit=SUBJECT_LIMIT),
        ChannelRule("blog", None, "chars", has_subject=False, subject_limit=None),
        ChannelRule("proposal", None, "chars", has_subject=False, subject_limit=None),
    )
}


# What the services a step publishes to say about a post's size (a Mastodon instance's
# `max_characters`): set for the length of one step by `service_limits`, read by `rule_for`, so
# composition, checks and refinement all measure against the limit the service will apply.
_REPORTED: ContextVar[Mapping[str, int] | None] = ContextVar("masthead_service_limits", default=None)


@contextmanager
def service_limits(limits: Mapping[str, int]) -> Iterator[None]:
    """Within the block, `rule_for(channel)` uses the limit a service reported for it."""
    token = _REPORTED.set({**(_REPORTED.get() or {}), **limits})
    try:
        yield
    finally:
        _REPORTED.reset(token)


def rule_for(channel: str) -> ChannelRule:
    """The rule for `channel` (case and surrounding spaces do not matter), with the limit its
    service reported when a step set one (see `service_limits`)."""
    rule = _RULES.get(channel.strip().lower())
    if rule is None:
        valid = ", ".join(CHANNELS)
        raise NotFoundError(
            f"unknown channel {channel!r}; valid channels are {valid}",
            field="channel",
            fix=f"use one of: {valid}",
        )
    reported = (_REPORTED.get() or {}).get(rule.name)
    return replace(rule, limit=reported) if reported and rule.limit is not None else rule


def body_length(channel: str, text: str) -> int:
    """Length of `text` in the channel's own unit (see the module docstring)."""
    rule = rule_for(channel)
    counter = _COUNTERS.get(rule.name, len)
    return counter(text)


def grapheme_length(text: str) -> int:
    """Extended grapheme clusters: a family emoji, a flag or "é" as e + accent each count 1."""
    return len(_GRAPHEME.findall(text))


_GRAPHEME = regex.compile(r"\X")


# -- X: twitter-text v3 weighted length ------------------------------------------------------
# config/v3.json: weights are in hundredths. Scripts whose glyphs are narrow weigh 100 (one
# character); everything else, notably CJK and emoji, weighs the default 200 (two characters).
_X_SCALE = 100
_X_DEFAULT_WEIGHT = 200
_X_LIGHT_WEIGHT = 100
_X_LIGHT_RANGES = (
    (0x0000, 0x10FF),  # Latin, Greek, Cyrillic, Hebrew, Arabic, Indic, Thai, Georgian...
    (0x2000, 0x200D),  # typographic spaces, zero-width space and joiners
    (0x2010, 0x201F),  # dashes and quotation marks
    (0x2032, 0x2037),  # primes
)


def x_weighted_length(text: str) -> int:
    """twitter-text v3 `parseTweet(text).weightedLength`.

    Walks the NFC-normalised text (X stores NFC, so "e" + combining accent is one character):
    a URL costs 23 whatever its length, a whole emoji sequence costs 2, any other code point
    costs its range weight.
    """
    normalised = unicodedata.normalize("NFC", text)
    url_end_by_start = {url.start: url.end for url in find_urls(normalised)}
    weight = 0
    index = 0
    while index < len(normalised):
        if index in url_end_by_start:
            weight += TRANSFORMED_URL_LENGTH * _X_SCALE
            index = url_end_by_start[index]
            continue
        emoji = _EMOJI.match(normalised, index)
        if emoji:
            weight += _X_DEFAULT_WEIGHT
            index = emoji.end()
            continue
        weight += _x_code_point_weight(normalised[index])
        index += 1
    return weight // _X_SCALE


def _x_code_point_weight(char: str) -> int:
    code = ord(char)
    if any(start <= code <= end for start, end in _X_LIGHT_RANGES):
        return _X_LIGHT_WEIGHT
    return _X_DEFAULT_WEIGHT


# Emoji, as twitter-text v3 sees them (it matches twemoji-parser's list; we use the Unicode
# emoji properties instead so newer emoji such as ❤️‍🔥 or 🧑‍🧑‍🧒 are recognised too).
# One element of a sequence:
_EMOJI_ELEMENT = (
    r"(?:"
    r"\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"  # skin tone applied: 👍🏽
    r"|\p{Emoji_Presentation}(?!\ufe0e)\ufe0f?"  # emoji by default: 😷 (VS15 asks for text)
    r"|(?=\p{Emoji})\p{Extended_Pictographic}\ufe0f"  # text-default symbol with VS16: ❤️ ©️
    # Text-default symbols count as emoji even without VS16 (☺ ❤ ✈), except © ® ™, which
    # twemoji only treats as emoji with VS16 (plain © is an ordinary Latin-1 character).
    r"|(?![©®\u2122])(?=\p{Emoji})\p{Extended_Pictographic}(?!\ufe0e)"
    r")"
)
_EMOJI = regex.compile(
    r"[#*0-9]\ufe0f?\u20e3"  # keycap: 1️⃣
    r"|\p{Regional_Indicator}{2}"  # flag: 🇯🇵
    r"|\p{Extended_Pictographic}[\U000E0020-\U000E007E]+\U000E007F"  # tag sequence: 🏴󠁧󠁢󠁥󠁮󠁧󠁿
    rf"|{_EMOJI_ELEMENT}(?:\u200d{_EMOJI_ELEMENT})*"  # ZWJ sequence: 👨‍👩‍👧‍👦 (or one element)
)


# -- Mastodon --------------------------------------------------------------------------------
# Mastodon's composer (countableText) replaces each http(s) URL with 23 characters, then
# `@user@domain` with `@user`: the domain part of a remote mention is free.
_REMOTE_MENTION = regex.compile(r"(?<![/\w])@([a-z0-9_]+)@[a-z0-9.-]+[a-z0-9]+", regex.IGNORECASE)


def mastodon_length(text: str) -> int:
    """Mastodon's count: code points, every http(s) URL 23, remote mentions without the domain."""
    pieces: list[str] = []
    cursor = 0
    # Mastodon only shortens links it will render as links, and it needs the protocol for that.
    for url in find_urls(text, require_protocol=True):
        pieces.append(text[cursor : url.start])
        pieces.append("x" * TRANSFORMED_URL_LENGTH)
        cursor = url.end
    pieces.append(text[cursor:])
    countable = _REMOTE_MENTION.sub(r"@\1", "".join(pieces))
    return len(countable)


_COUNTERS: dict[str, Callable[[str], int]] = {
    "x": x_weighted_length,
    "bluesky": grapheme_length,
    "mastodon": mastodon_length,
}


__all__ = ["CHANNELS", "DOCUMENT_CHANNELS", "ChannelRule", "UrlMatch", "body_length", "find_urls", "grapheme_length",
           "rule_for", "service_limits"]
