"""The deterministic checks run on every draft before anyone reviews it.

Each check returns a CheckResult whose `detail` is a sentence a person (or the refining
agent) can act on: what failed and by how much.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from masthead.channels.limits import ChannelRule, body_length, grapheme_length, rule_for
from masthead.channels.threads import numbered, parts_of, whole_text
from masthead.channels.tokens import distinct_tokens, is_grounded, known_tokens

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
    thread: bool = False,
) -> list[CheckResult]:
    """Every check for a draft of `channel`, in a fixed order.

    "subject_length" is only there for channels with a subject line (newsletter, email);
    the other four checks are always there. With `thread` (the channel may thread), a text of
    several parts is held to the limit part by part, numbers included, and the other checks
    read what the parts say together.
    """
    rule = rule_for(channel)
    parts = numbered(parts_of(text)) if thread else [text]
    if len(parts) > 1:
        results = [_check_thread_length(rule, parts)]
        text = whole_text(text)
    else:
        results = [_check_length(rule, text)]
    if rule.has_subject:
        results.append(_check_subject(rule, subject))
    results.append(_check_banned_phrases(text, subject, banned_phrases))
    results.append(_check_disclaimer(text, required_disclaimer))
    results.append(_check_grounding(draft_text(text, subject), grounding_sources))
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


def _check_thread_length(rule: ChannelRule, parts: list[str]) -> CheckResult:
    if rule.limit is None:
        return CheckResult("length", True, f"{rule.name} has no length limit")
    lengths = [body_length(rule.name, part) for part in parts]
    unit = _UNIT_NAMES[rule.unit]
    over = [f"part {i} is {n} ({n - rule.limit} over)" for i, n in enumerate(lengths, start=1) if n > rule.limit]
    if over:
        return CheckResult("length", False, f"thread of {len(parts)} parts, limit {rule.limit} {unit} each: "
                                            + "; ".join(over))
    listed = ", ".join(str(n) for n in lengths)
    return CheckResult("length", True, f"thread of {len(parts)} parts: {listed} of {rule.limit} {unit} each")


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
# What counts as a figure, a version or a link, and when two are the same: see
# `channels.tokens`.

def grounding_violations(text: str, sources: Sequence[str]) -> list[str]:
    """The draft's URLs, versions, percentages and numbers that no source states.

    In order of appearance, each once, as written in the draft.
    """
    known, known_urls = known_tokens(sources)
    return [token.text for token in distinct_tokens(text) if not is_grounded(token, known, known_urls)]


def _check_grounding(text: str, sources: Sequence[str]) -> CheckResult:
    violations = grounding_violations(text, sources)
    if violations:
        listed = ", ".join(f'"{token}"' for token in violations)
        detail = f"not found in the signal or project facts: {listed} (remove or correct them)"
        return CheckResult("grounding", False, detail)
    count = len(distinct_tokens(text))
    if count == 0:
        return CheckResult("grounding", True, "no figures, versions or links to check")
    return CheckResult(
        "grounding", True, f"all {count} figures, versions and links appear in the sources"
    )


def draft_text(text: str, subject: str | None) -> str:
    # The subject is read first, so its tokens come first.
    return f"{subject}\n{text}" if subject else text
