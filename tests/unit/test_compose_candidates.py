"""Composed candidates within every channel's limit, in the project's voice."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.channels.limits import body_length, grapheme_length, rule_for
from masthead.compose.candidates import VoiceRules, compose, splice
from masthead.compose.items import extract_items

FIXTURES = Path(__file__).parents[1] / "fixtures" / "changelogs"
DEMO = (Path(__file__).parents[2] / "src" / "masthead" / "app" / "demo_data" / "release-notes.md").read_text("utf-8")


def load(name: str) -> str:
    return (FIXTURES / name).read_text("utf-8")


@pytest.mark.parametrize("channel", ["x", "bluesky", "mastodon", "linkedin"])
@pytest.mark.parametrize("fixture", ["keep_a_changelog.md", "github_release.md", "conventional.md", "cjk_emoji.md",
                                     "html_release.md", "plain.txt"])
def test_every_candidate_fits_its_channel(channel: str, fixture: str):
    ex = extract_items(load(fixture), None)
    candidates = compose(channel, ex, VoiceRules(hashtags=("#release",), sign_off="— the team"))
    assert candidates
    for candidate in candidates:
        assert body_length(channel, candidate.text) <= (rule_for(channel).limit or 0)
        assert "#release" in candidate.text and "— the team" in candidate.text


def test_the_demo_notes_become_a_post_that_names_the_changes():
    ex = extract_items(DEMO, "Tallybook 3.2")
    post = compose("x", ex, VoiceRules())[0].text
    assert post.startswith("Tallybook 3.2: ")
    for change in ("bank feeds for 40 more European banks", "35% faster", "reminder"):
        assert change.casefold() in post.casefold()
    assert "Ignore all previous" not in post


def test_x_counts_cjk_and_emoji_double_and_long_items_are_cut_on_word_edges():
    body = "## 新功能\n" + "\n".join(f"- ✨ 第{n}项：支持多人实时协作编辑，最多二十人同时在线，并且可以离线同步。" for n in range(12))
    ex = extract_items(body, "墨记 2.0")
    post = compose("x", ex, VoiceRules())[0].text
    # Weighted: each CJK character and emoji counts 2, so 3 of the 12 items fit, not 6.
    assert grapheme_length(post) < body_length("x", post) <= 280
    assert post.count("支持多人") == 3
    long = extract_items("- " + "Invoices " * 80 + "are faster now.", "Tallybook 3.2")
    for channel in ("x", "bluesky"):
        text = compose(channel, long, VoiceRules())[0].text
        assert body_length(channel, text) <= rule_for(channel).limit and text.endswith("…")


def test_mastodon_counts_every_link_as_23_so_long_release_links_fit():
    link = "https://example.org/releases/" + "very-long-path-segment/" * 20
    ex = extract_items(f"# Atlas 1.2\n\n- Maps render twice as fast.\n- Offline search.\n\n[Release notes]({link})", None)
    assert ex.link == link
    post = compose("mastodon", ex, VoiceRules())[0].text
    assert link in post and len(post) > 500 >= body_length("mastodon", post)


def test_bluesky_counts_graphemes():
    family = "👨‍👩‍👧‍👦"  # one grapheme, 11 code points
    ex = extract_items("\n".join(f"- {family} Family plans for up to {n} people." for n in range(3, 30)), "Kin 1.0")
    post = compose("bluesky", ex, VoiceRules())[0].text
    assert grapheme_length(post) <= 300 < len(post)


def test_long_forms_group_items_by_kind_and_carry_the_disclaimer():
    ex = extract_items(load("keep_a_changelog.md"), "Ledgerly 2.4.0")
    text = compose("linkedin", ex, VoiceRules(person="i"), disclaimer="Posted by the Ledgerly team.")[0].text
    assert text.index("Security\n-") < text.index("New\n-") < text.index("Fixed\n-")
    assert "Here is what I changed:" in text
    assert text.endswith("Posted by the Ledgerly team.")
    newsletter = compose("newsletter", ex, VoiceRules())[0]
    assert newsletter.subject and grapheme_length(newsletter.subject) <= 60
    assert compose("email", ex, VoiceRules())[0].text.startswith("Hi,")


def test_emoji_only_when_the_voice_allows_them():
    ex = extract_items(DEMO, "Tallybook 3.2")
    assert "✨" not in compose("linkedin", ex, VoiceRules())[0].text
    assert "✨" in compose("linkedin", ex, VoiceRules(emoji=True))[0].text


def test_no_items_no_candidates():
    assert compose("x", extract_items("Tallybook 3.2", "Tallybook 3.2"), VoiceRules()) == []


def test_a_hook_spliced_in_replaces_the_headline_but_not_with_the_title():
    ex = extract_items(DEMO, "Tallybook 3.2")
    composed = compose("bluesky", ex, VoiceRules())[0]
    spliced = splice("bluesky", "Your bank statements now reconcile themselves. More below.", composed, ex, VoiceRules())
    assert spliced is not None and spliced.kind == "spliced"
    assert spliced.text.startswith("Your bank statements now reconcile themselves.")
    assert body_length("bluesky", spliced.text) <= 300
    assert splice("bluesky", "Tallybook 3.2 release notes", composed, ex, VoiceRules()) is None
