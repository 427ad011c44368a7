"""Candidates composed from items, within a channel's limit, in the project's voice.

No model is needed: a headline sentence (product, version, top item), the next items as short
lines, the release link and the voice's sign-off and hashtags for short posts; the items grouped
by kind under plain labels for LinkedIn, newsletters, email and blogs. The model's draft, and its
first sentence spliced onto a composed body as a hook, are candidates beside these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import regex

from masthead.channels.limits import body_length, grapheme_length, rule_for
from masthead.compose.items import Extraction, Item
from masthead.compose.text import carries, first_sentence, split_sentences, word_set

SHORT_CHANNELS = ("x", "bluesky", "mastodon")
SUBJECT_LIMIT = 60
LONG_FORM_ITEMS = 12  # a section lists at most this many items; the rest are in the changelog
_LABELS = {
    "breaking": "Breaking changes", "security": "Security", "feature": "New", "perf": "Faster",
    "change": "Improved", "fix": "Fixed", "removed": "Removed", "deprecated": "Deprecated",
    "note": "Also", "docs": "Docs", "internal": "Under the hood",
}
_EMOJI = {"feature": "✨", "perf": "⚡", "fix": "🐛", "security": "🔒", "breaking": "⚠️", "change": "🔧"}
_LABEL_ORDER = list(_LABELS)
_TITLE_WORDS = ("release", "released", "notes", "version", "update", "changelog", "new", "out", "today", "announcing")


@dataclass(frozen=True)
class VoiceRules:
    emoji: bool = False
    hashtags: tuple[str, ...] = ()
    sign_off: str | None = None
    person: str = "we"  # we | i | they: who speaks in the long forms' introduction


@dataclass(frozen=True)
class Candidate:
    kind: str  # composed | model | spliced | thread
    text: str
    subject: str | None = None


def compose(channel: str, extraction: Extraction, voice: VoiceRules, *, disclaimer: str | None = None) -> list[Candidate]:
    """The composed candidates for `channel`; none when the signal has no item."""
    items = worth_posting(extraction)
    if not items:
        return []
    if channel in SHORT_CHANNELS:
        texts = [_short_post(channel, extraction, items, voice, link) for link in dict.fromkeys([extraction.link, None])]
    else:
        texts = [_long_form(channel, extraction, items, voice, disclaimer)]
    subject = compose_subject(extraction, items) if rule_for(channel).has_subject else None
    return [Candidate("composed", text, subject) for text in dict.fromkeys(texts) if text]


def splice(channel: str, hook: str, composed: Candidate, extraction: Extraction, voice: VoiceRules,
           *, disclaimer: str | None = None) -> Candidate | None:
    """The model's first sentence as the opening of a composed candidate, in place of its headline."""
    sentence = (split_sentences(hook) or [""])[0].strip()
    said = word_set(" ".join([extraction.title or "", *extraction.headings, *_TITLE_WORDS]))
    if not 20 <= grapheme_length(sentence) <= 160 or word_set(sentence) <= said:
        return None  # a hook that only repeats the title adds nothing
    items = worth_posting(extraction)
    if channel in SHORT_CHANNELS:
        text = _short_post(channel, extraction, items, voice, extraction.link, opening=sentence)
    else:
        text = _long_form(channel, extraction, items, voice, disclaimer, opening=sentence)
    return Candidate("spliced", text, composed.subject) if text and text != composed.text else None


def compose_subject(extraction: Extraction, items: list[Item]) -> str:
    return cut(f"{_name(extraction)}: {_lower_first(items[0].short)}", SUBJECT_LIMIT, grapheme_length)


def worth_posting(extraction: Extraction) -> list[Item]:
    ranked = extraction.ranked()
    public = [item for item in ranked if item.kind not in ("internal", "docs")]
    return public or ranked


def _name(extraction: Extraction) -> str:
    parts = [part for part in (extraction.product, extraction.version) if part]
    return " ".join(parts) if parts else (extraction.title or "This release")


def headline(extraction: Extraction, top: Item) -> str:
    return f"{_name(extraction)}: {_lower_first(_full_stop(top.short))}"


def _short_post(channel: str, extraction: Extraction, items: list[Item], voice: VoiceRules, link: str | None,
                *, opening: str | None = None) -> str:
    limit = rule_for(channel).limit or 500
    fits: Callable[[str], bool] = lambda text: body_length(channel, text) <= limit  # noqa: E731
    tail = "\n".join(part for part in (link, voice.sign_off, " ".join(voice.hashtags)) if part)
    first = opening or headline(extraction, items[0])
    # A hook that already says an item does not need it again below.
    rest = [item for item in items if not carries(word_set(opening), item.text)] if opening else items[1:]
    if opening and not rest:
        return ""  # the hook says it all: that is the model's own candidate
    if not fits(join_post(first, [], tail)):
        first = cut(first, limit - body_length(channel, tail) - 2, lambda t: body_length(channel, t))
    lines: list[str] = []
    for item in rest:
        line = item_line(item, voice)
        if fits(join_post(first, [*lines, line], tail)):
            lines.append(line)
    text = join_post(first, lines, tail)
    return text if fits(text) else ""


def join_post(first: str, lines: list[str], tail: str) -> str:
    return "\n\n".join(part for part in (first, "\n".join(lines), tail) if part)


def item_line(item: Item, voice: VoiceRules) -> str:
    mark = _EMOJI.get(item.kind, "•") if voice.emoji else "-"
    return f"{mark} {_full_stop(_said_as_kind(item))}"


def _said_as_kind(item: Item) -> str:
    """A fix listed under "Fixed" often names only the problem ("Currency rounding on ..."); alone
    on a line it would read like a feature, so it says it is a fix."""
    if item.kind == "fix" and not regex.match(r"(?i)(?:fix|resolv|correct|prevent|avoid|no longer|handle)", item.short):
        return f"Fixed: {_lower_first(item.short)}"
    return item.short


def _long_form(channel: str, extraction: Extraction, items: list[Item], voice: VoiceRules, disclaimer: str | None,
               *, opening: str | None = None) -> str:
    limit = rule_for(channel).limit
    chosen = items[:LONG_FORM_ITEMS]
    while True:
        text = _long_text(channel, extraction, chosen, voice, disclaimer, opening)
        if limit is None or len(text) <= limit or len(chosen) <= 1:
            return text if limit is None or len(text) <= limit else ""
        chosen = chosen[:-1]


def _long_text(channel: str, extraction: Extraction, items: list[Item], voice: VoiceRules,
               disclaimer: str | None, opening: str | None) -> str:
    speaker = {"we": "Here is what we changed", "i": "Here is what I changed"}.get(voice.person, "Here is what changed")
    blocks = ["Hi," if channel == "email" else "", opening or headline(extraction, items[0]), f"{speaker}:"]
    for kind in sorted({item.kind for item in items}, key=lambda k: _LABEL_ORDER.index(k) if k in _LABELS else 99):
        group = sorted((item for item in items if item.kind == kind), key=lambda item: item.position)
        blocks.append(_LABELS.get(kind, kind.title()) + "\n" + "\n".join(_line_long(item, voice) for item in group))
    if extraction.link:
        blocks.append(f"The full release notes: {extraction.link}")
    blocks += [voice.sign_off or "", " ".join(voice.hashtags), disclaimer or ""]
    return "\n\n".join(block for block in blocks if block)


def _line_long(item: Item, voice: VoiceRules) -> str:
    mark = _EMOJI.get(item.kind, "•") if voice.emoji else "-"
    return f"{mark} {_full_stop(item.plain)}"


def _full_stop(text: str) -> str:
    return text if not text or text[-1] in ".!?。！？…)" else text + "."


def _lower_first(text: str) -> str:
    # "Bank feeds" reads on after a colon as "bank feeds"; "PDF invoices" and "iOS" stay as they are.
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def cut(text: str, limit: int, length: Callable[[str], int]) -> str:
    """`text` shortened at a word boundary to fit `limit`, with an ellipsis when cut."""
    if length(text) <= limit:
        return text
    words = text.split()
    while words and length(" ".join(words) + "…") > limit:
        words.pop()
    return (" ".join(words).rstrip(",;:") + "…") if words else first_sentence(text)[: max(limit, 0)]
