"""A digest composed from its items: one section per gathered signal, under its own heading.

The weekly digest's items carry the heading of the signal they came from (`Item.section`); the
composed text keeps that order, an opening line, each section's items as short lines, then the
voice's sign-off and the disclaimer. Sections are dropped from the end (then items) until the
text fits the channel's limit.
"""

from __future__ import annotations

from masthead.channels.limits import rule_for
from masthead.compose.candidates import Candidate, VoiceRules
from masthead.compose.items import Extraction, Item
from masthead.compose.text import first_sentence

SUBJECT_LIMIT = 60


def sections(extraction: Extraction, by_section: bool = True) -> list[tuple[str, list[Item]]]:
    grouped: dict[str, list[Item]] = {}
    for item in sorted(extraction.items, key=lambda item: item.position):
        grouped.setdefault((item.section or "") if by_section else "", []).append(item)
    return list(grouped.items())


def compose_digest(channel: str, extraction: Extraction, voice: VoiceRules, *, disclaimer: str | None = None,
                   opening: str | None = None, digest: bool = True) -> Candidate | None:
    """The digest (`digest`: a section per heading) or one signal's newsletter section (its title
    as the opening, its items as lines) as one candidate; None when there is nothing to say or it
    cannot fit."""
    groups = sections(extraction, by_section=digest)
    if not groups:
        return None
    limit = rule_for(channel).limit
    first = opening or (_digest_opening(len(groups)) if digest else _full_stop(extraction.title or ""))
    subject = digest_subject(extraction) if digest else _cut(extraction.title or groups[0][1][0].short)
    while groups:
        text = _text(channel, first, groups, voice, disclaimer)
        if limit is None or len(text) <= limit:
            return Candidate("spliced" if opening else "composed", text, subject)
        heading, items = groups[-1]
        groups = groups[:-1] + ([(heading, items[:-1])] if len(items) > 1 else [])
    return None


def digest_subject(extraction: Extraction) -> str:
    """The first section's heading after the digest's name, cut at a word to the subject limit."""
    headings = [heading for heading, _items in sections(extraction) if heading]
    return _cut(f"This week: {headings[0]}" if headings else "This week")


def _cut(subject: str) -> str:
    subject = " ".join(subject.split())
    if len(subject) <= SUBJECT_LIMIT:
        return subject
    return subject[: SUBJECT_LIMIT - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _digest_opening(count: int) -> str:
    return "One thing worth knowing this week." if count == 1 else f"{count} things worth knowing this week."


def _text(channel: str, opening: str, groups: list[tuple[str, list[Item]]], voice: VoiceRules,
          disclaimer: str | None) -> str:
    blocks = ["Hi," if channel == "email" else "", opening]
    for heading, items in groups:
        mark = "•" if voice.emoji else "-"
        lines = "\n".join(f"{mark} {_full_stop(first_sentence(' '.join(item.plain.split())))}" for item in items)
        blocks.append(f"{heading}\n{lines}" if heading else lines)
    blocks += [voice.sign_off or "", " ".join(voice.hashtags), disclaimer or ""]
    return "\n\n".join(block for block in blocks if block)


def _full_stop(text: str) -> str:
    return text if not text or text[-1] in ".!?。！？…)" else text + "."
