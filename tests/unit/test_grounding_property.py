"""Property: any link or figure inserted into a grounded draft is found by grounding.

However it is written (any scheme, a user part, an IDN, a bare domain; ASCII, Arabic-Indic,
Devanagari or full-width digits, a percent sign or word, English number words), a link or a
number that no source states cannot slip into a draft that was grounded before.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from masthead.channels.checks import grounding_violations

SOURCES = [
    "Tallybook 3.2 adds bank feeds for 40 more banks; the dashboard loads 35% faster. "
    "Changelog: https://tallybook.example/changelog",
    "Tallybook has a free plan for up to 3 clients.",
]
GROUNDED = "Tallybook 3.2: bank feeds for 40 more banks, a 35% faster dashboard. More at tallybook.example/changelog"
KNOWN_NUMBERS = {3, 32, 35, 40}

DIGIT_ZEROS = [ord("0"), 0x0660, 0x06F0, 0x0966, 0xFF10]  # ASCII, Arabic-Indic, Persian, Devanagari, full-width
UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def in_words(n: int) -> str:
    if n < 20:
        return UNITS[n]
    if n < 100:
        return TENS[n // 10 - 2] + ("" if n % 10 == 0 else "-" + UNITS[n % 10])
    rest = n % 100
    return UNITS[n // 100] + " hundred" + ("" if rest == 0 else " and " + in_words(rest))


@st.composite
def numbers(draw: st.DrawFn) -> str:
    value = draw(st.integers(min_value=2, max_value=999_999).filter(lambda n: n not in KNOWN_NUMBERS))
    if value < 1000 and draw(st.booleans()):
        written = in_words(value)
    else:
        zero = draw(st.sampled_from(DIGIT_ZEROS))
        written = "".join(chr(zero + int(digit)) for digit in str(value))
    suffix = draw(st.sampled_from(["", "%", " percent", "\uff05", "\u066a"]))
    return draw(st.sampled_from(["", "$", "\u20ac"])) + written + suffix


LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
IDN_LABEL = st.text(alphabet="abcdéüñößçå", min_size=1, max_size=10)


@st.composite
def links(draw: st.DrawFn) -> str:
    host = ".".join([*draw(st.lists(LABEL, max_size=2)), draw(st.one_of(LABEL, IDN_LABEL))])
    host += "." + draw(st.sampled_from(["com", "net", "io", "dev", "de", "ai", "shop"]))
    path = draw(st.sampled_from(["", "/", "/deal", "/a/b?x=1", "/claim#now"]))
    user = draw(st.sampled_from(["", "tallybook@", "tallybook.example@", "a:b@"]))
    scheme = draw(st.sampled_from(["https://", "http://", "ftp://", "sftp://", "HTTPS://", ""]))
    if not scheme and not user and not path:
        path = "/x"  # a bare "name.de" is only a link to twitter-text with a path; with one, to everyone
    if not scheme and user and ":" in user:
        user = "tallybook@"
    return scheme + user + host + path


@settings(max_examples=300, deadline=None)
@given(inserted=st.one_of(numbers(), links()), at=st.sampled_from(["start", "middle", "end"]))
def test_anything_inserted_into_a_grounded_draft_is_found(inserted: str, at: str) -> None:
    assert grounding_violations(GROUNDED, SOURCES) == []
    words = GROUNDED.split(" ")
    index = {"start": 0, "middle": len(words) // 2, "end": len(words)}[at]
    draft = " ".join([*words[:index], inserted, *words[index:]])
    assert grounding_violations(draft, SOURCES) != [], draft
