"""Threads: composing numbered parts within each platform's own count, checking them part by
part, reading them back after a person's edit, and the `thread:` setting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masthead.channels.checks import run_checks
from masthead.channels.limits import body_length, rule_for
from masthead.channels.threads import (
    is_thread,
    numbered,
    parts_of,
    thread_text,
    threads_allowed,
    whole_text,
)
from masthead.compose.candidates import VoiceRules, compose
from masthead.compose.items import extract_items
from masthead.compose.select import covered_items
from masthead.compose.thread import compose_thread
from masthead.errors import ConfigError
from masthead.projects import parse_project_yaml

LONG_RELEASE = """\
# Tallybook 3.3
- Bank feeds now cover 40 more banks across Europe, including ING, Rabobank and ABN AMRO, with daily sync.
- The dashboard loads 35% faster thanks to a rewritten query planner and cached totals 🚀.
- 請求書を日本語で作成できるようになりました。消費税の計算にも対応しています。
- Recurring invoices can now be paused and resumed without losing their schedule or numbering.
- PDF invoices include a QR code for instant bank transfer payments in SEPA countries 💶.
- Fixed currency rounding on invoices with more than 20 line items in JPY and KRW.
- Expense categories can be exported to CSV with their tax codes for your accountant.
- Dark mode for the whole app, following your system setting 🌙.

https://tallybook.app/releases/3.3
"""
SHORT_RELEASE = "# Tallybook 3.2\n- Bank feeds for 40 more banks.\n- The dashboard loads 35% faster.\n"
VOICE = VoiceRules(emoji=True, hashtags=("#invoicing",), sign_off="— the Tallybook team")


def thread_for(channel: str, body: str = LONG_RELEASE) -> list[str]:
    candidates = compose_thread(channel, extract_items(body, "Tallybook 3.3"), VOICE)
    assert candidates, f"no thread for {channel}"
    assert {c.kind for c in candidates} == {"thread"}
    return numbered(parts_of(candidates[0].text))


def test_an_x_thread_of_three_parts_fits_each_part_in_weighted_characters_and_is_numbered():
    parts = thread_for("x")
    assert len(parts) == 3
    for index, part in enumerate(parts, start=1):
        assert part.endswith(f"\n{index}/3")
        # X counts CJK and emoji as 2 and the link as 23; the number is inside the limit.
        assert body_length("x", part) <= 280
    text = "\n".join(parts)
    assert "🚀" in text and "請求書" in text and "https://tallybook.app/releases/3.3" in parts[-1]
    assert "— the Tallybook team" in parts[-1]
    # The weighted count is what keeps the parts apart: by code points the CJK part would look short.
    assert any(body_length("x", part) > len(part) for part in parts)


def test_the_thread_covers_the_top_items_a_single_post_leaves_out():
    extraction = extract_items(LONG_RELEASE, "Tallybook 3.3")
    single = compose("x", extraction, VOICE)[0].text
    thread = compose_thread("x", extraction, VOICE)[0].text
    assert len(covered_items(thread, extraction)) == 8 > len(covered_items(single, extraction))


@pytest.mark.parametrize("channel", ["bluesky", "mastodon"])
def test_bluesky_and_mastodon_threads_fit_their_own_counts(channel):
    parts = thread_for(channel)
    assert len(parts) >= 2
    assert all(body_length(channel, part) <= (rule_for(channel).limit or 0) for part in parts)
    assert parts[0].endswith(f"\n1/{len(parts)}")


def test_a_release_that_fits_one_post_makes_no_thread_and_long_channels_never_thread():
    assert compose_thread("x", extract_items(SHORT_RELEASE, "Tallybook 3.2"), VOICE) == []
    assert compose_thread("linkedin", extract_items(LONG_RELEASE, "Tallybook 3.3"), VOICE) == []


def test_a_thread_is_checked_part_by_part_and_says_which_part_is_over():
    ok = thread_text(["a" * 270, "b" * 270])
    [length] = [r for r in run_checks("x", ok, subject=None, banned_phrases=[], required_disclaimer=None,
                                      grounding_sources=[], thread=True) if r.name == "length"]
    assert length.passed and length.detail == "thread of 2 parts: 274, 274 of 280 weighted characters each"
    over = thread_text(["a" * 270, "b" * 279])
    [length] = [r for r in run_checks("x", over, subject=None, banned_phrases=[], required_disclaimer=None,
                                      grounding_sources=[], thread=True) if r.name == "length"]
    assert not length.passed and "part 2 is 283 (3 over)" in length.detail
    # Where the channel may not thread, the text is one post and counts as a whole.
    [whole] = [r for r in run_checks("x", ok, subject=None, banned_phrases=[], required_disclaimer=None,
                                     grounding_sources=[]) if r.name == "length"]
    assert not whole.passed


def test_part_numbers_are_not_figures_to_ground():
    text = thread_text(["Tallybook 3.3: bank feeds for 40 more banks.", "Dark mode for the whole app."])
    results = {r.name: r for r in run_checks("x", text, subject=None, banned_phrases=[], required_disclaimer=None,
                                             grounding_sources=["Tallybook 3.3 adds 40 banks"], thread=True)}
    assert results["grounding"].passed, results["grounding"].detail


def test_a_persons_edit_is_renumbered_whatever_numbers_it_carries():
    edited = "First part.\n1/2\n---\nSecond part.\n2/2\n---\nA part I added, open 24/7"
    assert parts_of(edited) == ["First part.", "Second part.", "A part I added, open 24/7"]
    assert numbered(parts_of(edited))[1] == "Second part.\n2/3"
    assert is_thread(edited) and not is_thread("One post.\n1/2")
    assert whole_text(edited) == "First part.\n\nSecond part.\n\nA part I added, open 24/7"
    assert parts_of(thread_text(["a", "b"])) == ["a", "b"]
    assert parts_of("First part.\r\n1/2\r\n---\r\nSecond part.\r\n") == ["First part.", "Second part."]


def test_the_thread_setting_defaults_to_auto_on_short_channels_and_is_refused_elsewhere():
    assert threads_allowed("x", None) and threads_allowed("mastodon", "auto")
    assert not threads_allowed("bluesky", "never") and not threads_allowed("linkedin", None)
    base = "name: p\ndescription: d\naudience: a\nvoice: {description: Plain.}\nchannels:\n"
    project = parse_project_yaml(base + "  x: {gate: auto, thread: never}\n", "project.yaml")
    assert project.channels["x"].thread == "never"
    with pytest.raises(ConfigError, match=r"channels\.linkedin\.thread is auto"):
        parse_project_yaml(base + "  linkedin: {thread: auto}\n", "project.yaml")
    with pytest.raises(ConfigError, match="thread"):
        parse_project_yaml(base + "  x: {thread: sometimes}\n", "project.yaml")


_WORDS = st.sampled_from(["invoices", "bank", "feeds", "faster", "請求書", "消費税", "🚀", "👨‍👩‍👧", "café",
                          "https://tallybook.app/r/3", "40", "35%", "dashboard", "ｔａｌｌｙ", "🇯🇵"])
_ITEMS = st.lists(st.lists(_WORDS, min_size=3, max_size=60).map(" ".join), min_size=2, max_size=12)


@settings(max_examples=60, deadline=None)
@given(items=_ITEMS, channel=st.sampled_from(["x", "bluesky", "mastodon"]))
def test_every_part_of_any_composed_thread_fits_its_limit_with_its_number(items, channel):
    body = "# Tallybook 3.3\n" + "".join(f"- {item}\n" for item in items)
    for candidate in compose_thread(channel, extract_items(body, "Tallybook 3.3"), VOICE):
        parts = numbered(parts_of(candidate.text))
        assert len(parts) >= 2
        assert all(body_length(channel, part) <= (rule_for(channel).limit or 0) for part in parts)
        assert [part.rsplit("\n", 1)[1] for part in parts] == [f"{i}/{len(parts)}" for i in range(1, len(parts) + 1)]
