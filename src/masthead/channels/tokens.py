"""The figures, versions and links of a text, each with a normal form to compare by.

Grounding (every token of a draft appears in its sources) and provenance (every figure comes
from the operator, every link stays within the allowed domains) both read drafts through here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

import regex

from masthead.channels.numbers import fold_for_reading, spelled_numbers
from masthead.channels.spans import ClaimedSpans
from masthead.channels.urls import find_links

_Match = Any  # the `regex` package ships no type hints

# A draft may only state figures, versions and links that its sources (the signal and the
# project's facts) state. What counts as such a token, and what does not:
#
# - Links, as a reader finds them (`channels.urls.find_links`): with or without protocol, any
#   scheme ("ftp://"), a user part ("https://tallybook@evil.com/claim"), email addresses, bare
#   "name.cc" domains ("masthead.ai"), IDNs in either form. Compared without http(s), "www.",
#   case and trailing slash; a draft URL is also grounded when a source URL continues it
#   ("example.com" or "example.com/docs" when the source has "https://example.com/docs/install").
# - Versions: "v1.2", "V2", "1.2.3", "2.0.0-beta.1", "2.0-rc1". "v1.2" equals "1.2".
# - Percentages: "12%", "12.5 %", "12 percent", all equal to "12%".
# - Numbers: "7", "1,200" (= "1200"), "3.5"; with a magnitude they are scaled
#   ("1.2M" = "1.2 million" = "1,200,000", "5k" = "5,000"); "3x" is a multiplier.
#   Single digits count: "3 new integrations" is a claim like any other.
#   A number followed by a unit counts as the number ("10ms" needs a 10 in the sources).
# - Numbers in any digit set ("٤٠", "４０") and English number words ("forty", "thirty
#   percent"): see `channels.numbers`. Text is read as a reader sees it, so hidden characters
#   ("4\u200b0") cannot split a figure or a link in two.
#
# Not tokens: numbers glued after a letter, which are names ("X2", "mp3", "B2B", "i18n");
# ordered-list markers at the start of a line ("1. ", "2) "); and numbers inside a URL or a
# version, which are checked as part of that URL or version.
#
# The sources go through the same extraction, so "the same token" means the same normal form.

_LIST_MARKER = regex.compile(r"^[ \t]*[0-9]+[.)](?=\s)", regex.MULTILINE)
# Pre-release labels we recognise after a hyphen; anything else ("v2-based") is plain text.
_PRE_RELEASE = r"-(?i:alpha|beta|rc|pre|preview|dev|canary|nightly|snapshot|next)[0-9A-Za-z]*"
_VERSION = regex.compile(
    r"(?<![\w.])"
    r"(?:[vV](?P<core>[0-9]+(?:\.[0-9]+)*)"  # v-prefixed: any number of parts, "v2", "v1.2"
    r"|(?P<core>[0-9]+\.[0-9]+\.[0-9]+(?:\.[0-9]+)*)"  # three or more parts: "1.2.3"
    rf"|(?P<core>[0-9]+\.[0-9]+)(?={_PRE_RELEASE}))"  # two parts with a pre-release: "2.0-rc1"
    rf"(?P<pre>{_PRE_RELEASE}(?:\.[0-9A-Za-z]+)*)?"  # "-beta.1"
    r"(?:\+[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?"  # build metadata: "+sha.5114f85"
    r"(?!\w)(?!\.[0-9])"
)
_NUMBER = regex.compile(
    r"(?<!\w)"  # digits right after a letter are part of a name: X2, mp3
    r"(?P<number>[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)"
    r"(?:"
    r"(?P<percent>\s?(?:%|(?i:percent|per\s?cent)\b))"
    r"|(?P<times>[x\u00d7](?!\w))"
    r"|(?P<scale>\s?(?i:thousand|million|billion|trillion)\b|(?:k|K|M|B|bn)(?!\w))"
    r"|[^\W\d_]+"  # a unit or suffix ("10ms", "3rd"): shown with the number, not compared
    r")?"
)
_SCALES = {"k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6}
_SCALES |= {"b": 10**9, "bn": 10**9, "billion": 10**9, "trillion": 10**12}


class Token(NamedTuple):
    start: int
    end: int
    text: str  # as written
    key: str  # normal form, compared with the sources' tokens
    is_url: bool
    host: str = ""  # a link's host (IDNA), for the allowed-domain rule


def is_grounded(token: Token, known: set[str], known_urls: list[str]) -> bool:
    if token.key in known:
        return True
    # A link to a page that a source URL lies under (its site, a parent section) is fine.
    return token.is_url and any(
        url.startswith(token.key + separator) for url in known_urls for separator in "/?#"
    )


def distinct_tokens(text: str) -> list[Token]:
    """The first occurrence of each normal form."""
    seen: set[str] = set()
    distinct: list[Token] = []
    for token in _tokens(text):
        if token.key not in seen:
            seen.add(token.key)
            distinct.append(token)
    return distinct


def _tokens(text: str) -> list[Token]:
    """All tokens of `text` (read as a reader sees it) in order of appearance.

    Candidates come in priority order (URLs, versions, numbers); one that overlaps an
    earlier one is part of it ("2024" in ".../2024/report", "2" in "v1.2") and is dropped.
    """
    text = fold_for_reading(text)
    # List markers are claimed up front so that they never become tokens.
    claimed = ClaimedSpans()
    for marker in _LIST_MARKER.finditer(text):
        claimed.claim(marker.start(), marker.end())
    return sorted(token for token in _candidates(text) if claimed.claim(token.start, token.end))


def _candidates(text: str) -> Iterator[Token]:
    for link in find_links(text):
        yield Token(link.start, link.end, link.url, link.key, is_url=True, host=link.host)
    for version in _VERSION.finditer(text):
        yield _match_token(version, _version_key(version))
    for number in _NUMBER.finditer(text):
        yield _with_currency(text, _match_token(number, _number_key(number)))
    for spelled in spelled_numbers(text):
        key = f"{spelled.value}%" if spelled.percent else str(spelled.value)
        yield _with_currency(text, Token(spelled.start, spelled.end, spelled.text.strip(), key, is_url=False))


def _with_currency(text: str, token: Token) -> Token:
    """"$4.99" is shown with its currency sign (it is compared without: "$4.99" == "4.99")."""
    if token.start > 0 and unicodedata.category(text[token.start - 1]) == "Sc":
        return token._replace(start=token.start - 1, text=text[token.start - 1] + token.text)
    return token


def _match_token(match: _Match, key: str) -> Token:
    return Token(match.start(), match.end(), match[0].strip(), key, is_url=False)


def _version_key(match: _Match) -> str:
    # Build metadata is dropped: "1.2.3+abc" is release 1.2.3.
    return (match.group("core") + (match.group("pre") or "")).lower()


def _number_key(match: _Match) -> str:
    digits = match.group("number").replace(",", "")
    if match.group("percent"):
        return f"{digits}%"
    if match.group("times"):
        return f"{digits}x"
    scale = match.group("scale")
    if scale:
        value = Decimal(digits) * _SCALES[scale.strip().lower()]
        # normalize() drops the trailing zeros of "1.20M"; "f" keeps 1200000 out of 1.2E+6.
        return format(value.normalize(), "f")
    return digits


def known_tokens(sources: Sequence[str]) -> tuple[set[str], list[str]]:
    """The normal forms the sources state, and (for prefix matching) their URLs."""
    known: set[str] = set()
    known_urls: list[str] = []
    for source in sources:
        keys, urls = _source_keys(source)
        known |= keys
        known_urls.extend(urls)
    return known, known_urls


@lru_cache(maxsize=16)
def _source_keys(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    # Every check of every piece of a job reads the same signal and facts (grounding and
    # provenance both): a 1 MB signal is tokenised once, not once per check and channel.
    tokens = _tokens(text)
    return frozenset(token.key for token in tokens), tuple(token.key for token in tokens if token.is_url)
