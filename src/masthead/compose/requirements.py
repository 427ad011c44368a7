"""Requirements of a client's request (an RFP, an email, a brief), found without a model.

A requirement is a numbered or bulleted line, or a sentence, that says what the client must,
shall, should or needs to get. Each keeps the exact span of the request it was read from, so a
reviewer (and the compliance check) can see where it came from. The deliverables the request
asks for are the items of a section whose heading names deliverables or scope.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

_MARKER = regex.compile(r"^\s*(?:[-*•+]|\(?[0-9]{1,3}[.)]|\(?[a-zA-Z][.)]|[A-Z]{1,3}-?[0-9]{1,3}[.:)])\s+")
_HEADING = regex.compile(r"^\s{0,3}(?:#{1,6}\s+(.+?)\s*#*\s*$|([A-Z][A-Za-z /&-]{2,60}):\s*$)")
_MODAL = regex.compile(r"\b(?:must|shall|should|needs?(?:\s+to)?|required|requires?|is expected to|will need)\b",
                       regex.IGNORECASE)
# Outside a list, only the strong modals make a sentence a requirement ("here is what we need"
# in a greeting is not one).
_STRONG_MODAL = regex.compile(r"\b(?:must|shall|required|requires?)\b", regex.IGNORECASE)
_SCOPE_HEADING = regex.compile(r"\b(?:deliverables?|scope|what we need|services? required)\b", regex.IGNORECASE)
_SENTENCE = regex.compile(r"[^.!?\n]+[.!?]?")
STRENGTH_WORDS = ("must", "shall", "should", "need", "required")


@dataclass(frozen=True)
class Requirement:
    id: str  # R1, R2... in the order of the request
    text: str  # the line without its list marker
    start: int  # the span of the request it was read from: request[start:end] == quote
    end: int
    quote: str
    strength: str  # must, shall, should, need or required
    section: str | None  # the heading it sits under

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text, "start": self.start, "end": self.end, "quote": self.quote,
                "strength": self.strength, "section": self.section, "source": "rules"}


@dataclass(frozen=True)
class RequestedItem:
    """One deliverable the request lists, with its span."""

    text: str
    start: int
    end: int


def _strength(text: str) -> str:
    found = _MODAL.search(text)
    word = found.group(0).lower() if found else "need"
    return next((w for w in STRENGTH_WORDS if word.startswith(w)), "need")


def _lines(request: str) -> list[tuple[int, str]]:
    """(offset, line) for every line of the request."""
    offset, out = 0, []
    for line in request.splitlines(keepends=True):
        out.append((offset, line.rstrip("\r\n")))
        offset += len(line)
    return out


def _heading(line: str) -> str | None:
    match = _HEADING.match(line)
    return (match.group(1) or match.group(2)).strip() if match else None


def extract_requirements(request: str) -> list[Requirement]:
    """Every list line with a modal verb (must, shall, should, need...), and every other
    sentence with a strong one (must, shall, required), in request order."""
    found: list[Requirement] = []
    section: str | None = None
    for offset, line in _lines(request):
        heading = _heading(line)
        if heading is not None:
            section = heading
            continue
        marker = _MARKER.match(line)
        if marker:
            body = line[marker.end():].strip()
            if _MODAL.search(body):
                start = offset + line.index(body)
                found.append(_requirement(len(found), body, start, section))
            continue
        for sentence in _SENTENCE.finditer(line):
            text = sentence.group(0).strip()
            if text and _STRONG_MODAL.search(text):
                found.append(_requirement(len(found), text, offset + sentence.start() + sentence.group(0).index(text),
                                          section))
    return found


def _requirement(index: int, text: str, start: int, section: str | None) -> Requirement:
    return Requirement(id=f"R{index + 1}", text=text, start=start, end=start + len(text), quote=text,
                       strength=_strength(text), section=section)


def requested_items(request: str) -> list[RequestedItem]:
    """The list items under a heading that names deliverables or scope."""
    items: list[RequestedItem] = []
    in_scope = False
    for offset, line in _lines(request):
        heading = _heading(line)
        if heading is not None:
            in_scope = bool(_SCOPE_HEADING.search(heading))
            continue
        marker = _MARKER.match(line)
        if in_scope and marker:
            body = line[marker.end():].strip()
            if body:
                start = offset + line.index(body)
                items.append(RequestedItem(body, start, start + len(body)))
    return items


def find_span(request: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` sits in the request, ignoring differences of white space; None if nowhere.
    A model's requirement is kept only when its quote is found here."""
    words = quote.split()
    if not words:
        return None
    pattern = regex.compile(r"\s+".join(regex.escape(w) for w in words), regex.IGNORECASE)
    match = pattern.search(request)
    return (match.start(), match.end()) if match else None
