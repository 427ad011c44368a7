"""The `other_contacts` check: a piece written for one contact says nothing of the others.

An outreach batch is one CSV file, one signal per row. A piece for a row may draw on that row
and the project's facts only; the other rows are foreign to it. Grounding already refuses a
figure or an address no source states; this check names what leaked and whose it is, and also
catches words grounding cannot see: another contact's name, company, address, and the proper
nouns and figures of their context ("KubeCon", "Series B", "40 clusters").

A term that the piece's own row or the project's facts also state (in any case) is not foreign:
two contacts at the same company may both name it. Companies and addresses match whatever
their case; names and the capitalised words of a context ("Ada Lovelace", "Berlin") match as
written, so "we will grant" is not the contact "Will Grant".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import regex

from masthead.channels.checks import CheckResult
from masthead.channels.tokens import distinct_tokens, known_tokens

_WORD = regex.compile(r"\w+(?:['’.@+\-]\w+)*")
_SENTENCE_END = regex.compile(r"[.!?:;\n]\s*$")
_LEGAL_SUFFIX = regex.compile(r"(?i)[,\s]+(?:inc|ltd|llc|gmbh|ag|sa|sas|bv|plc|co|corp|limited|oy|ab|srl)\.?$")
MAX_PHRASE_WORDS = 8  # longer names are matched on their first eight words
_NOT_NAMES = frozenset({"I", "OK", "Mr", "Mrs", "Ms", "Dr"})


@dataclass(frozen=True)
class ForeignRow:
    """Another contact of the batch: what a piece for this one must not say."""

    label: str  # how the detail names it: "line 4"
    name: str
    email: str
    company: str
    context: str


def check_other_contacts(draft: str, own_texts: Sequence[str], others: Sequence[ForeignRow]) -> CheckResult:
    """Pass when the draft names nothing of the other rows (beyond what its own sources say)."""
    if not others:
        return CheckResult("other_contacts", True, "the contact is alone in its batch")
    own = _Words(" \n".join(own_texts))
    words = _Words(draft)
    found: dict[str, str] = {}
    for row in others:
        for term, what, exact in _terms(row):
            if term not in found and words.has(term, exact) and not own.has(term, exact=False):
                found[term] = f"{what} of the contact on {row.label}"
    for term, whose in _foreign_figures(draft, own_texts, others).items():
        found.setdefault(term, whose)
    if found:
        listed = "; ".join(f'"{term}" ({whose})' for term, whose in found.items())
        return CheckResult("other_contacts", False,
                           f"names another contact's details: {listed}; write only about this contact")
    return CheckResult("other_contacts", True, f"names nothing of the batch's {len(others)} other contact(s)")


# Every check of every piece of a batch reads the same rows: each row's terms and figures are
# worked out once per process (a batch of 500 is 499 rows per check, several checks per piece).
@lru_cache(maxsize=4096)
def _terms(row: ForeignRow) -> tuple[tuple[str, str, bool], ...]:
    return tuple(_each_term(row))


@lru_cache(maxsize=4096)
def _figures(context: str) -> frozenset[str]:
    return frozenset(token.key for token in distinct_tokens(context))


def _each_term(row: ForeignRow) -> Iterator[tuple[str, str, bool]]:
    """(term, what it is, match case exactly) for a row's names, company, address and context."""
    yield row.email, "address", False
    name_words = _WORD.findall(row.name)
    if len(name_words) > 1:
        yield row.name, "name", True
    for word in name_words:
        if len(word) > 2 and word[0].isupper() and word not in _NOT_NAMES:
            yield word, "name", True
    for company in dict.fromkeys([row.company, _LEGAL_SUFFIX.sub("", row.company)]):
        if company:
            yield company, "company", len(_WORD.findall(company)) == 1
    for word in _proper_nouns(row.context):
        yield word, "context", True


def _proper_nouns(text: str) -> Iterator[str]:
    """Capitalised words that do not start a sentence, and words with inner capitals or digits
    anywhere ("KubeCon", "S3"): the names a context mentions."""
    for match in _WORD.finditer(text):
        word = match[0]
        inner = any(char.isupper() for char in word[1:]) or (word[0].isalpha() and any(c.isdigit() for c in word))
        starts_sentence = not text[: match.start()].strip() or _SENTENCE_END.search(text[: match.start()]) is not None
        if word in _NOT_NAMES or len(word) < 2:
            continue
        if inner or (word[0].isupper() and not starts_sentence):
            yield word


def _foreign_figures(draft: str, own_texts: Sequence[str], others: Sequence[ForeignRow]) -> dict[str, str]:
    """The draft's figures that another row's context states and its own sources do not."""
    tokens = distinct_tokens(draft)
    if not tokens:
        return {}
    known, _urls = known_tokens(list(own_texts))
    tokens = [token for token in tokens if token.key not in known]
    found: dict[str, str] = {}
    for row in others if tokens else ():
        theirs = _figures(row.context)
        for token in tokens:
            if token.key in theirs and token.text not in found:
                found[token.text] = f"a figure from the context of the contact on {row.label}"
    return found


class _Words:
    """A text as words, looked up as phrases of up to MAX_PHRASE_WORDS words."""

    def __init__(self, text: str):
        words = _WORD.findall(text)
        self.exact = _phrases(words)
        self.folded = _phrases([word.casefold() for word in words])

    def has(self, term: str, exact: bool) -> bool:
        words = _WORD.findall(term)[:MAX_PHRASE_WORDS]
        if not words:
            return False
        if exact:
            return " ".join(words) in self.exact
        return " ".join(word.casefold() for word in words) in self.folded


def _phrases(words: list[str]) -> set[str]:
    return {" ".join(words[i:i + n]) for n in range(1, MAX_PHRASE_WORDS + 1) for i in range(len(words) - n + 1)}
