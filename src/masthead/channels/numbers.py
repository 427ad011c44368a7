"""Numbers as a reader reads them, whatever digits or words they are written in.

- `fold_for_reading` turns text into what a reader sees, character for character: invisible
  format characters (zero-width spaces and joiners, bidi controls, soft hyphens) are dropped,
  decimal digits of any script become ASCII ("٣٠" and "３０" read "30"), and full-width forms
  become their plain twins ("％" is "%", "ｅｖｉｌ．ｃｏｍ" is "evil.com"), as NFKC maps them.
- `spelled_numbers` finds English number words: "forty" is 40, "thirty-five" 35, "two hundred
  and ten" 210, "three million" 3,000,000, "thirty percent" 30%. A lone "one" is left out: it is
  far more often a pronoun ("the one that...") than a claim.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import NamedTuple

import regex

# Signs of Arabic-Indic numbers ("٣٫٥" is 3.5, "١٬٢٠٠" is 1,200, "٤٠٪" is 40%), which NFKC
# leaves alone.
_ARABIC_SEPARATORS = {"\u066b": ".", "\u066c": ",", "\u066a": "%"}


def fold_for_reading(text: str) -> str:
    """`text` with hidden characters dropped and digits and full-width forms made plain."""
    return text if text.isascii() else text.translate(_FOLDING)


class _Folding(dict[int, str]):
    """str.translate's table, filled in as code points are met (at most _MAX_REMEMBERED of them,
    so a text of every code point cannot grow it without bound)."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(self) < _MAX_REMEMBERED:
            self[code] = folded
        return folded


_MAX_REMEMBERED = 65_536
_FOLDING = _Folding()


def _fold_char(char: str) -> str:
    if char.isascii():
        return char
    category = unicodedata.category(char)
    if category == "Cf":  # format characters are invisible: a reader never sees them
        return ""
    if category == "Nd":
        return str(unicodedata.decimal(char))
    if char in _ARABIC_SEPARATORS:
        return _ARABIC_SEPARATORS[char]
    if category == "No":  # superscripts, fractions, roman numerals: "10²" is not "102"
        return char
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_VALUES = {word: value for value, word in enumerate(_UNITS)} | {
    word: 10 * (index + 2) for index, word in enumerate(_TENS)
}
_SCALES = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


class SpelledNumber(NamedTuple):
    start: int
    end: int
    text: str  # as written
    value: int
    percent: bool


@cache
def _spelled_pattern() -> regex.Pattern[str]:
    small = "|".join(sorted([*_UNITS, *_TENS], key=len, reverse=True))
    scale = "|".join(_SCALES)
    word = rf"(?:{small}|{scale})"
    return regex.compile(
        rf"(?<![\w\-])(?P<words>(?:{small})(?:(?:[ \t]+and[ \t]+|[ \t]+|-){word}(?!\w))*)(?!\w)"
        r"(?P<percent>[ \t]*%|[ \t]+(?:percent|per[ \t]?cent)\b)?",
        regex.IGNORECASE,
    )


def spelled_numbers(text: str) -> Iterator[SpelledNumber]:
    """English number words in `text`, in order; a run that does not read as one number
    ("two three") yields each word on its own."""
    for match in _spelled_pattern().finditer(text):
        percent = match.group("percent") is not None
        words = regex.split(r"[ \t]+|-", match.group("words").lower())
        value = _value(words)
        if value is not None:
            if not (words == ["one"] and not percent):
                yield SpelledNumber(match.start(), match.end(), match[0], value, percent)
            continue
        yield from _each_word(match)


def _each_word(match: regex.Match[str]) -> Iterator[SpelledNumber]:
    for word in regex.finditer(r"[a-z]+", match.group("words"), regex.IGNORECASE):
        value = _VALUES.get(word[0].lower())
        if value is not None and word[0].lower() != "one":
            start = match.start("words") + word.start()
            yield SpelledNumber(start, start + len(word[0]), word[0], value, False)


def _value(words: list[str]) -> int | None:
    """The number a run of words spells, or None when it is not one number."""
    total, current, last = 0, 0, ""
    for word in words:
        if word == "and":
            if last != "hundred":
                return None
            continue
        if word in _VALUES:
            # "twenty one" is fine; "two three" or "twenty thirty" is not one number.
            if last in _VALUES and not (last in _TENS and _VALUES[word] < 10):
                return None
            current += _VALUES[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[word]
            current = 0
        last = word
    return total + current
