"""The deterministic draft checks: length, subject, banned phrases, disclaimer, grounding."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masthead.channels.checks import CheckResult, grounding_violations, run_checks
from masthead.channels.spans import ClaimedSpans
from masthead.errors import NotFoundError


def check(
    channel: str,
    text: str,
    *,
    subject: str | None = None,
    banned: Sequence[str] = (),
    disclaimer: str | None = None,
    sources: Sequence[str] = (),
) -> dict[str, CheckResult]:
    results = run_checks(
        channel,
        text,
        subject=subject,
        banned_phrases=banned,
        required_disclaimer=disclaimer,
        grounding_sources=sources,
    )
    return {result.name: result for result in results}


# -- which checks run ------------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["x", "bluesky", "mastodon", "linkedin", "blog"])
def test_channels_without_subject_run_four_checks(channel: str) -> None:
    results = run_checks(
        channel,
        "hello",
        subject=None,
        banned_phrases=[],
        required_disclaimer=None,
        grounding_sources=[],
    )
    assert [r.name for r in results] == ["length", "banned_phrases", "disclaimer", "grounding"]
    assert all(r.passed for r in results)


@pytest.mark.parametrize("channel", ["newsletter", "email"])
def test_channels_with_subject_also_check_it(channel: str) -> None:
    results = run_checks(
        channel,
        "hello",
        subject="Hi",
        banned_phrases=[],
        required_disclaimer=None,
        grounding_sources=[],
    )
    assert [r.name for r in results] == [
        "length",
        "subject_length",
        "banned_phrases",
        "disclaimer",
        "grounding",
    ]
    assert all(r.passed for r in results)


def test_unknown_channel_raises_not_found() -> None:
    with pytest.raises(NotFoundError, match="tiktok"):
        check("tiktok", "hello")


# -- length ----------------------------------------------------------------------------------
def test_x_over_limit_says_by_how_much() -> None:
    result = check("x", "a" * 312)["length"]
    assert not result.passed
    assert result.detail == "312 of 280 weighted characters (32 over)"


def test_x_at_limit_passes() -> None:
    result = check("x", "a" * 280)["length"]
    assert result.passed
    assert result.detail == "280 of 280 weighted characters"


def test_x_length_is_weighted() -> None:
    # 141 CJK characters weigh 282: one over even though there are only 141 characters.
    result = check("x", "漢" * 141)["length"]
    assert not result.passed
    assert result.detail == "282 of 280 weighted characters (2 over)"


def test_x_url_counts_23() -> None:
    text = "a" * 250 + " https://example.com/" + "p" * 200
    assert check("x", text)["length"].detail == "274 of 280 weighted characters"


def test_bluesky_counts_graphemes() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert check("bluesky", family * 300)["length"].passed
    result = check("bluesky", family * 301)["length"]
    assert not result.passed
    assert result.detail == "301 of 300 graphemes (1 over)"


def test_mastodon_and_linkedin_count_characters() -> None:
    assert check("mastodon", "a" * 501)["length"].detail == "501 of 500 characters (1 over)"
    assert check("linkedin", "a" * 3000)["length"].detail == "3000 of 3000 characters"
    assert not check("linkedin", "a" * 3001)["length"].passed


@pytest.mark.parametrize("channel", ["newsletter", "email", "blog"])
def test_unlimited_channels_pass_length(channel: str) -> None:
    result = check(channel, "a" * 100_000, subject="Subject")["length"]
    assert result.passed
    assert "no length limit" in result.detail


# -- subject ---------------------------------------------------------------------------------
@pytest.mark.parametrize("subject", [None, "", "   "])
def test_missing_subject_fails(subject: str | None) -> None:
    result = check("newsletter", "body", subject=subject)["subject_length"]
    assert not result.passed
    assert "needs a subject line" in result.detail


def test_subject_over_60_says_by_how_much() -> None:
    result = check("email", "body", subject="s" * 72)["subject_length"]
    assert not result.passed
    assert result.detail == "subject is 72 of 60 characters (12 over)"


def test_subject_of_exactly_60_passes() -> None:
    result = check("email", "body", subject="s" * 60)["subject_length"]
    assert result.passed
    assert result.detail == "subject is 60 of 60 characters"


def test_subject_counts_graphemes_and_ignores_outer_spaces() -> None:
    flag = "\U0001f1ef\U0001f1f5"  # 2 code points, 1 grapheme
    assert check("email", "body", subject=f"  {flag * 60}  ")["subject_length"].passed


def test_subject_is_ignored_where_there_is_none() -> None:
    assert "subject_length" not in check("x", "body", subject="s" * 100)


# -- banned phrases --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "This is a game changer.",
        "A real Game-changer!",
        "GAME   CHANGER",
        "game\nchanger",
        "a gamechanger",
        "game\u2014changer",
    ],
)
def test_banned_phrase_ignores_case_spaces_and_hyphens(text: str) -> None:
    result = check("x", text, banned=["game changer"])["banned_phrases"]
    assert not result.passed
    assert result.detail == 'found 1 banned phrase: "game changer" (body)'


@pytest.mark.parametrize("text", ["endgame changer", "game changers", "the said AIs"])
def test_banned_phrase_matches_whole_words_only(text: str) -> None:
    assert check("x", text, banned=["game changer", "AI", "said AI"])["banned_phrases"].passed


def test_banned_phrases_listed_with_where_they_were_found() -> None:
    result = check(
        "newsletter",
        "We leverage synergy.",
        subject="Synergy and a paradigm shift",
        banned=["synergy", "paradigm shift", "leverage", "unused"],
    )["banned_phrases"]
    assert not result.passed
    assert result.detail == (
        'found 3 banned phrases: "synergy" (body, subject), "paradigm shift" (subject), '
        '"leverage" (body)'
    )


def test_banned_phrase_apostrophes_and_blank_entries() -> None:
    result = check("x", "In today\u2019s world", banned=["", "  ", "in today's world"])
    assert result["banned_phrases"].detail == 'found 1 banned phrase: "in today\'s world" (body)'


def test_duplicate_banned_phrases_are_reported_once() -> None:
    result = check("x", "synergy", banned=["synergy", "Synergy "])["banned_phrases"]
    assert result.detail == 'found 1 banned phrase: "synergy" (body)'


def test_no_banned_phrases_passes() -> None:
    result = check("x", "Plain words.", banned=["synergy"])["banned_phrases"]
    assert result.passed
    assert result.detail == "no banned phrases"


# -- disclaimer ------------------------------------------------------------------------------
def test_disclaimer_present_ignoring_case_and_whitespace() -> None:
    text = "Our results.\n\nnot   financial\nADVICE. Do your own research."
    assert check("x", text, disclaimer="Not financial advice.")["disclaimer"].passed


def test_missing_disclaimer_fails_and_names_it() -> None:
    result = check("x", "Our results.", disclaimer="Not  financial advice.")["disclaimer"]
    assert not result.passed
    assert result.detail == 'the body lacks the required disclaimer "Not financial advice."'


def test_disclaimer_only_in_subject_is_not_enough() -> None:
    result = check(
        "email", "Body.", subject="Not financial advice", disclaimer="Not financial advice"
    )
    assert not result["disclaimer"].passed


@pytest.mark.parametrize("disclaimer", [None, "", "  "])
def test_no_disclaimer_required_passes(disclaimer: str | None) -> None:
    result = check("x", "Anything", disclaimer=disclaimer)["disclaimer"]
    assert result.passed
    assert result.detail == "no disclaimer required"


# -- grounding -------------------------------------------------------------------------------
SIGNAL = (
    "Masthead v1.2 is out: drafts are 12% faster and 1,200 teams use it. "
    "Release notes: https://masthead.dev/blog/v1.2/ and docs at https://Masthead.dev/docs/install."
)
FACTS = ["Masthead was founded in 2021.", "The team is 3 people.", "Seed round: $1.2 million."]


@pytest.mark.parametrize(
    "text",
    [
        "Read the notes: https://masthead.dev/blog/v1.2",  # source has a trailing slash
        "Install: https://masthead.dev/docs/install/",  # the draft has one
        "Read the notes: HTTPS://MASTHEAD.DEV/blog/v1.2/",  # URLs are case-insensitive
        "Notes at http://www.masthead.dev/blog/v1.2",  # protocol and www. do not matter
        "Docs: masthead.dev/docs/install.",  # bare domain, trailing punctuation
        "Docs: masthead.dev/docs and masthead.dev",  # a parent of a source URL
        "Drafts are now 12 % faster.",  # a space before %
        "Drafts are now 12 percent faster.",
        "Masthead 1.2 is out",  # "v1.2" == "1.2"
        "Masthead V1.2 is out",
        "1200 teams",  # "1,200" == "1200"
        "Founded in 2021 by a team of 3.",  # numbers only in the facts
        "We raised $1.2M.",  # "$1.2 million" == "1.2M"
        "Plain words, no figures at all.",
    ],
)
def test_grounded_drafts_have_no_violations(text: str) -> None:
    assert grounding_violations(text, [SIGNAL, *FACTS]) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Drafts are 15% faster", ["15%"]),
        ("Masthead v1.3 is out", ["v1.3"]),
        ("Masthead 2.0.0-beta.1 ships", ["2.0.0-beta.1"]),
        ("Used by 1,300 teams", ["1,300"]),
        ("A team of 4", ["4"]),  # single digits count
        ("See https://masthead.dev/pricing", ["https://masthead.dev/pricing"]),
        ("See https://masthead.dev/blog/v1.2/extra", ["https://masthead.dev/blog/v1.2/extra"]),
        ("Try masthead.ai", ["masthead.ai"]),  # bare ccTLD domains count for grounding
        ("3x faster", ["3x"]),
        ("We raised $2M", ["$2M"]),  # shown with its currency sign, compared without
        ("12 teams", ["12"]),  # "12%" in the source is not "12"
        ("Latency is 10ms", ["10ms"]),  # a number with a unit is checked as the number
    ],
)
def test_ungrounded_tokens_are_reported(text: str, expected: list[str]) -> None:
    assert grounding_violations(text, [SIGNAL, *FACTS]) == expected


# What a reader sees: every way of writing a link or a figure that a reader follows or reads as
# one is found, and compared in one normal form with the sources.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # links with a user part go to the host after the "@"
        ("Claim it: https://tallybook@evil.com/claim", ["https://tallybook@evil.com/claim"]),
        ("Claim it: tallybook@evil.com/claim", ["tallybook@evil.com/claim"]),
        ("Claim it: https://masthead.dev@evil.com/", ["https://masthead.dev@evil.com/"]),
        ("Go https://evil.com\\@masthead.dev/docs", ["https://evil.com\\@masthead.dev/docs"]),
        # schemes other than http(s), and email addresses
        ("Files at ftp://masthead.dev/docs/install", ["ftp://masthead.dev/docs/install"]),
        ("Mirror: sftp://files.evil.com/x.", ["sftp://files.evil.com/x"]),
        ("Write to deals@evil.com.", ["deals@evil.com"]),
        # IDNs in either form, full-width letters, hidden characters inside a host
        ("Shop at https://bücher.de/sale", ["https://bücher.de/sale"]),
        ("Shop at https://xn--bcher-kva.de/sale", ["https://xn--bcher-kva.de/sale"]),
        ("Go to ｅｖｉｌ．ｃｏｍ", ["evil.com"]),
        ("Go to evil\u200b.com", ["evil.com"]),
        # bare domains
        ("Try masthead.io today", ["masthead.io"]),
        # digits of other scripts, full-width digits and signs
        ("Drafts are ٤٠٪ faster", ["40%"]),  # shown as read: Arabic digits and percent sign
        ("Drafts are ٤٠% faster", ["40%"]),
        ("Drafts are ４０％ faster", ["40%"]),
        ("Drafts are ४० percent faster", ["40 percent"]),
        ("Only ١٬٣٠٠ teams", ["1,300"]),
        ("Costs ＄４．９９", ["$4.99"]),
        ("A 1\u200b5% cut", ["15%"]),
        # number words
        ("Drafts are thirty percent faster", ["thirty percent"]),
        ("Drafts are Fifteen % faster", ["Fifteen %"]),
        ("forty teams", ["forty"]),
        ("twenty-five teams", ["twenty-five"]),
        ("one hundred and five teams", ["one hundred and five"]),
        ("three million invoices", ["three million"]),
        ("two four", ["two", "four"]),  # not one number: each word is
    ],
)
def test_what_a_reader_sees_is_checked(text: str, expected: list[str]) -> None:
    assert grounding_violations(text, [SIGNAL, *FACTS]) == expected


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("Drafts are twelve percent faster", SIGNAL),  # "12%" in the signal
        ("Drafts are ١٢% faster", SIGNAL),
        ("Drafts are １２％ faster", SIGNAL),
        ("one thousand two hundred teams", SIGNAL),  # "1,200"
        ("A team of three", "The team is 3 people."),
        ("Costs $4.99", "Costs ４．９９ dollars"),
        ("Shop at https://bücher.de/sale", "see https://xn--bcher-kva.de/sale"),
        ("Shop at https://xn--bcher-kva.de/sale", "see https://bücher.de/sale"),
        ("Claim at tallybook@evil.com/claim", "https://tallybook@evil.com/claim"),
        ("Files at ftp://files.masthead.dev/a", "mirror ftp://files.masthead.dev/a/b"),
        ("the one that works", ""),  # a lone "one" is a pronoun, not a claim
    ],
)
def test_the_same_figure_or_link_in_another_form_is_grounded(text: str, source: str) -> None:
    assert grounding_violations(text, [source]) == []


def test_a_user_part_does_not_borrow_the_grounding_of_its_host() -> None:
    # The reader lands on evil.com whatever the part before "@" says.
    assert grounding_violations("https://masthead.dev@evil.com/x", [SIGNAL]) == ["https://masthead.dev@evil.com/x"]


def test_number_only_in_the_facts_is_grounded_and_missing_facts_are_not() -> None:
    assert grounding_violations("Founded in 2021.", [SIGNAL, *FACTS]) == []
    assert grounding_violations("Founded in 2021.", [SIGNAL]) == ["2021"]


def test_violations_in_order_of_appearance_without_duplicates() -> None:
    text = "v9.9 beats 40%: 40% of 7 teams, v9.9 again, 7 more, https://nope.dev/x"
    assert grounding_violations(text, [SIGNAL]) == ["v9.9", "40%", "7", "https://nope.dev/x"]


def test_duplicates_are_judged_by_normal_form() -> None:
    assert grounding_violations("1,500 or 1500 or 1.5k", []) == ["1,500"]


def test_numbers_inside_urls_and_versions_are_not_checked_separately() -> None:
    sources = ["https://example.com/2024/report?page=7 and release 3.4.5"]
    assert grounding_violations("See https://example.com/2024/report?page=7 (3.4.5)", sources) == []
    # An ungrounded URL or version is reported whole, not number by number.
    assert grounding_violations("https://example.com/1999/x and 8.8.8", sources) == [
        "https://example.com/1999/x",
        "8.8.8",
    ]


def test_list_markers_and_numbers_inside_names_are_ignored() -> None:
    text = "1. Works with X2 and mp3\n2) Ships i18n and B2B\n  3. Web3"
    assert grounding_violations(text, []) == []


def test_numbers_mid_line_are_not_list_markers() -> None:
    assert grounding_violations("Step 1. then 2. done", []) == ["1", "2"]


def test_grounding_without_sources_flags_every_token() -> None:
    assert grounding_violations("v2 is 5% faster at example.com", []) == ["v2", "5%", "example.com"]


def test_grounding_check_covers_the_subject_first() -> None:
    result = check(
        "newsletter",
        "Drafts are 12% faster.",
        subject="Masthead v7 ships 3 features",
        sources=[SIGNAL, *FACTS],
    )["grounding"]
    assert not result.passed
    assert result.detail == (
        'not found in the signal or project facts: "v7" (remove or correct them)'
    )


def test_grounding_check_passes_with_a_count() -> None:
    result = check("x", "v1.2: 12% faster, 1,200 teams", sources=[SIGNAL])["grounding"]
    assert result.passed
    assert result.detail == "all 3 figures, versions and links appear in the sources"


def test_grounding_check_with_nothing_to_check() -> None:
    result = check("x", "Nothing numeric here.", sources=[])["grounding"]
    assert result.passed
    assert result.detail == "no figures, versions or links to check"


def test_grounding_check_lists_every_violation() -> None:
    result = check("x", "v3.0.0 is 40% faster for 9 teams", sources=[SIGNAL, ""])["grounding"]
    assert not result.passed
    assert result.detail == (
        'not found in the signal or project facts: "v3.0.0", "40%", "9" (remove or correct them)'
    )


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8)), max_size=30))
def test_claimed_spans_agree_with_a_plain_scan(candidates: list[tuple[int, int]]) -> None:
    claimed = ClaimedSpans()
    naive: list[tuple[int, int]] = []
    for start, length in candidates:
        end = start + length
        free = not any(start < other_end and other_start < end for other_start, other_end in naive)
        if free:
            naive.append((start, end))
        assert claimed.claim(start, end) == free
