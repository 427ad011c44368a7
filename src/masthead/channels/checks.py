"""The deterministic checks run on every draft before anyone reviews it.

Each check returns a CheckResult whose `detail` is a sentence a person (or the refining
agent) can act on: what failed and by how much.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import regex

from masthead.channels.limits import ChannelRule, body_length, find_urls, grapheme_length, rule_for

_Match = Any  # the `regex` package ships no type hints

_UNIT_NAMES = {"weighted": "weighted characters", "graphemes": "graphemes", "chars": "characters"}


@dataclass(frozen=True)
class CheckResult:
    name: str  # "length", "subject_length", "banned_phrases", "disclaimer", "grounding"
    passed: bool
    detail: str  # what failed and by how much, or a short note when passed


def run_checks(
    channel: str,
    text: str,
    *,
    subject: str | None,
    banned_phrases: Sequence[str],
    required_disclaimer: str | None,
    grounding_sources: Sequence[str],
) -> list[CheckResult]:
    """Every check for a draft of `channel`, in a fixed order.

    "subject_length" is only there for channels with a subject line (newsletter, email);
    the other four checks are always there.
    """
    rule = rule_for(channel)
    results = [_check_length(rule, text)]
    if rule.has_subject:
        results.append(_check_subject(rule, subject))
    results.append(_check_banned_phrases(text, subject, banned_phrases))
    results.append(_check_disclaimer(text, required_disclaimer))
    results.append(_check_grounding(_draft_text(text, subject), grounding_sources))
    return results


# -- length ----------------------------------------------------------------------------------
def _check_length(rule: ChannelRule, text: str) -> CheckResult:
    if rule.limit is None:
        return CheckResult("length", True, f"{rule.name} has no length limit")
    length = body_length(rule.name, text)
    measured = f"{length} of {rule.limit} {_UNIT_NAMES[rule.unit]}"
    if length > rule.limit:
        return CheckResult("length", False, f"{measured} ({length - rule.limit} over)")
    return CheckResult("length", True, measured)


def _check_subject(rule: ChannelRule, subject: str | None) -> CheckResult:
    if subject is None or not subject.strip():
        return CheckResult(
            "subject_length", False, f"{rule.name} needs a subject line; there is none"
        )
    # Mail clients trim the subject, and a reader sees graphemes, not code points.
    length = grapheme_length(subject.strip())
    limit = rule.subject_limit
    if limit is None:
        return CheckResult("subject_length", True, f"subject is {length} characters")
    measured = f"subject is {length} of {limit} characters"
    if length > limit:
        return CheckResult("subject_length", False, f"{measured} ({length - limit} over)")
    return CheckResult("subject_length", True, measured)


# -- banned phrases --------------------------------------------------------------------------
# Between the words of a phrase, any run of whitespace or hyphens (or none) matches: the phrase
# "game changer" catches "Game-changer", "game  changer" and "gamechanger".
_WORD_GAP = r"[\s\-\u2010-\u2015]*"
_WORD_SPLIT = regex.compile(r"[\s\-\u2010-\u2015]+")
_APOSTROPHES = "'\u2019"  # a phrase typed with ' also catches the typographic ’


def _check_banned_phrases(text: str, subject: str | None, phrases: Sequence[str]) -> CheckResult:
    found: list[str] = []
    for phrase in _distinct_phrases(phrases):
        pattern = _phrase_pattern(phrase)
        places = [
            place
            for place, part in (("body", text), ("subject", subject))
            if part and pattern.search(part)
        ]
        if places:
            found.append(f'"{phrase}" ({", ".join(places)})')
    if not found:
        return CheckResult("banned_phrases", True, "no banned phrases")
    noun = "phrase" if len(found) == 1 else "phrases"
    return CheckResult(
        "banned_phrases", False, f"found {len(found)} banned {noun}: {', '.join(found)}"
    )


def _distinct_phrases(phrases: Sequence[str]) -> Iterator[str]:
    seen: set[str] = set()
    for phrase in phrases:
        cleaned = " ".join(phrase.split())
        key = cleaned.casefold()
        if cleaned and key not in seen:
            seen.add(key)
            yield cleaned


def _phrase_pattern(phrase: str) -> Any:
    words = [word for word in _WORD_SPLIT.split(phrase) if word]
    body = _WORD_GAP.join(_word_pattern(word) for word in words)
    # Whole words only ("AI" must not match "said"), but only where the phrase starts or ends
    # with a letter or digit: a phrase like "!!!" has no word edge to respect.
    start = r"(?<!\w)" if regex.match(r"\w", words[0]) else ""
    end = r"(?!\w)" if regex.search(r"\w$", words[-1]) else ""
    return regex.compile(start + body + end, regex.IGNORECASE)


def _word_pattern(word: str) -> str:
    return "".join(
        f"[{_APOSTROPHES}]" if char in _APOSTROPHES else regex.escape(char) for char in word
    )


# -- disclaimer ------------------------------------------------------------------------------
def _check_disclaimer(text: str, required: str | None) -> CheckResult:
    if required is None or not required.strip():
        return CheckResult("disclaimer", True, "no disclaimer required")
    if _squash(required) in _squash(text):
        return CheckResult("disclaimer", True, "required disclaimer present")
    wanted = " ".join(required.split())
    return CheckResult("disclaimer", False, f'the body lacks the required disclaimer "{wanted}"')


def _squash(text: str) -> str:
    """Case- and whitespace-insensitive form: line breaks and double spaces do not matter."""
    return " ".join(text.split()).casefold()


# -- grounding -------------------------------------------------------------------------------
# A draft may only state figures, versions and links that its sources (the signal and the
# project's facts) state. What counts as such a token, and what does not:
#
# - URLs, as twitter-text finds them (with or without protocol), plus bare "name.cc" domains
#   on country TLDs ("masthead.ai"), which twitter-text alone would skip. Compared without
#   protocol, "www.", case and trailing slash; a draft URL is also grounded when a source URL
#   continues it ("example.com" or "example.com/docs" when the source has
#   "https://example.com/docs/install").
# - Versions: "v1.2", "V2", "1.2.3", "2.0.0-beta.1", "2.0-rc1". "v1.2" equals "1.2".
# - Percentages: "12%", "12.5 %", "12 percent", all equal to "12%".
# - Numbers: "7", "1,200" (= "1200"), "3.5"; with a magnitude they are scaled
#   ("1.2M" = "1.2 million" = "1,200,000", "5k" = "5,000"); "3x" is a multiplier.
#   Single digits count: "3 new integrations" is a claim like any other.
#   A number followed by a unit counts as the number ("10ms" needs a 10 in the sources).
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


class _Token(NamedTuple):
    start: int
    end: int
    text: str  # as written
    key: str  # normal form, compared with the sources' tokens
    is_url: bool


def grounding_violations(text: str, sources: Sequence[str]) -> list[str]:
    """The draft's URLs, versions, percentages and numbers that no source states.

    In order of appearance, each once, as written in the draft.
    """
    known: set[str] = set()
    known_urls: list[str] = []
    for source in sources:
        for token in _tokens(source):
            known.add(token.key)
            if token.is_url:
                known_urls.append(token.key)
    return [
        token.text for token in _distinct_tokens(text) if not _is_grounded(token, known, known_urls)
    ]


def _check_grounding(text: str, sources: Sequence[str]) -> CheckResult:
    violations = grounding_violations(text, sources)
    if violations:
        listed = ", ".join(f'"{token}"' for token in violations)
        detail = f"not found in the signal or project facts: {listed} (remove or correct them)"
        return CheckResult("grounding", False, detail)
    count = len(_distinct_tokens(text))
    if count == 0:
        return CheckResult("grounding", True, "no figures, versions or links to check")
    return CheckResult(
        "grounding", True, f"all {count} figures, versions and links appear in the sources"
    )


def _draft_text(text: str, subject: str | None) -> str:
    # The subject is read first, so its tokens come first.
    return f"{subject}\n{text}" if subject else text


def _is_grounded(token: _Token, known: set[str], known_urls: list[str]) -> bool:
    if token.key in known:
        return True
    # A link to a page that a source URL lies under (its site, a parent section) is fine.
    return token.is_url and any(
        url.startswith(token.key + separator) for url in known_urls for separator in "/?#"
    )


def _distinct_tokens(text: str) -> list[_Token]:
    """The first occurrence of each normal form."""
    seen: set[str] = set()
    distinct: list[_Token] = []
    for token in _tokens(text):
        if token.key not in seen:
            seen.add(token.key)
            distinct.append(token)
    return distinct


def _tokens(text: str) -> list[_Token]:
    """All tokens of `text` in order of appearance.

    Candidates come in priority order (URLs, versions, numbers); one that overlaps an
    earlier one is part of it ("2024" in ".../2024/report", "2" in "v1.2") and is dropped.
    """
    # List markers are claimed up front so that they never become tokens.
    claimed = [(marker.start(), marker.end()) for marker in _LIST_MARKER.finditer(text)]
    tokens: list[_Token] = []
    for token in _candidates(text):
        if not any(token.start < end and start < token.end for start, end in claimed):
            claimed.append((token.start, token.end))
            tokens.append(token)
    return sorted(tokens)


def _candidates(text: str) -> Iterator[_Token]:
    for url in find_urls(text, include_short_domains=True):
        yield _Token(url.start, url.end, url.url, _url_key(url.url), is_url=True)
    for version in _VERSION.finditer(text):
        yield _match_token(version, _version_key(version))
    for number in _NUMBER.finditer(text):
        yield _match_token(number, _number_key(number))


def _match_token(match: _Match, key: str) -> _Token:
    return _Token(match.start(), match.end(), match[0].strip(), key, is_url=False)


def _url_key(url: str) -> str:
    key = url.lower()
    key = regex.sub(r"^https?://", "", key)
    key = regex.sub(r"^www\.", "", key)
    return key.rstrip("/")


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
