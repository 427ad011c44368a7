"""Split long text into chunks an embedder can take whole.

The default embedder reads at most 256 tokens (roughly 1,000 characters of English); text past
that would be cut off unseen, so long files become several items. Chunks end at paragraph
breaks where possible, then at sentence ends, then at spaces.
"""

from __future__ import annotations

import re

CHUNK_CHARS = 1000
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def chunk_text(text: str, max_chars: int = CHUNK_CHARS) -> list[str]:
    chunks: list[str] = []
    current = ""
    for paragraph in _PARAGRAPHS.split(text):
        for piece in _fit(paragraph.strip(), max_chars):
            if current and len(current) + 2 + len(piece) > max_chars:
                chunks.append(current)
                current = ""
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _fit(paragraph: str, max_chars: int) -> list[str]:
    """A paragraph as pieces of at most max_chars: whole sentences, or cuts at spaces."""
    if len(paragraph) <= max_chars:
        return [paragraph] if paragraph else []
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        for part in _cut(sentence, max_chars):
            if current and len(current) + 1 + len(part) > max_chars:
                pieces.append(current)
                current = ""
            current = f"{current} {part}" if current else part
    if current:
        pieces.append(current)
    return pieces


def _cut(sentence: str, max_chars: int) -> list[str]:
    parts: list[str] = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > max_chars // 2 else max_chars  # no space near the end: cut mid-word
        parts.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        parts.append(sentence)
    return parts
