"""Selection among candidates, and the substance check every piece must pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.channels.substance import substance_check
from masthead.compose.candidates import Candidate, VoiceRules, compose
from masthead.compose.items import extract_items
from masthead.compose.select import Scored, covered_items, select, voice_score

DEMO = (Path(__file__).parents[2] / "src" / "masthead" / "app" / "demo_data" / "release-notes.md").read_text("utf-8")
EX = extract_items(DEMO, "Tallybook 3.2")


def scored(kind: str, text: str, failures: tuple[str, ...] = (), voice: float = 1.0) -> Scored:
    return Scored(Candidate(kind, text), failures, covered_items(text, EX), voice)


def test_candidates_that_fail_a_check_are_out_whatever_they_cover():
    rich = scored("model", "Bank feeds for 40 more European banks, 35% faster dashboard, reminders after 7 days.",
                  failures=("grounding: not found: 41",))
    plain = scored("composed", "Tallybook 3.2: bank feeds for 40 more European banks.")
    selection = select([rich, plain])
    assert selection.winner == 1
    assert "1 of 2 candidates passed" in selection.reason


def test_coverage_then_voice_then_the_models_work_decide():
    one = scored("composed", "Tallybook 3.2: bank feeds for 40 more European banks.")
    two = scored("composed", "Bank feeds for 40 more European banks. The dashboard loads 35% faster on large accounts.")
    assert len(two.covered) == 2 and len(one.covered) == 1
    assert select([one, two]).winner == 1
    loud = scored("model", two.candidate.text + "!", voice=0.5)
    assert select([loud, two]).winner == 1  # same coverage: the voice decides
    model = scored("model", two.candidate.text)
    assert select([two, model]).winner == 1  # a full tie: the model's writing is preferred
    assert select([two, model]).chosen.candidate.kind == "model"


def test_a_thread_must_say_two_more_items_than_one_post_to_win():
    single = scored("composed", "Bank feeds for 40 more European banks. The dashboard loads 35% faster on large accounts.")
    one_more = scored("thread", single.candidate.text + "\n1/2\n\n---\n\nPDF invoices now include your VAT number.\n2/2")
    two_more = scored("thread", one_more.candidate.text.replace(
        "VAT number.", "VAT number.\n- Fixed: currency rounding on multi-currency invoices."))
    assert len(one_more.covered) == len(single.covered) + 1 and len(two_more.covered) == len(single.covered) + 2
    assert select([single, one_more]).chosen.candidate.kind == "composed"  # a second post for one item: no
    assert select([single, two_more]).chosen.candidate.kind == "thread"


def test_when_nothing_passes_the_least_failing_candidate_goes_on_to_refinement():
    a = scored("composed", "Tallybook 3.2", failures=("substance: x", "length: y"))
    b = scored("model", "Tallybook 3.2 is here", failures=("substance: x",))
    selection = select([a, b])
    assert selection.winner == 1 and not selection.chosen.passed
    assert "no candidate passed" in selection.reason
    assert selection.chosen.lineage()["failures"] == ["substance: x"]


def test_voice_score_counts_the_rules_a_text_keeps():
    rules = VoiceRules(hashtags=("#invoicing",), sign_off="— Ana")
    assert voice_score("New: reminders. #invoicing\n— Ana", rules) == 1.0
    assert voice_score("New: reminders 🎉 #invoicing", rules) == pytest.approx(1 / 3, abs=0.001)
    assert voice_score("Wow!", VoiceRules(), "Plain. No exclamation marks.") == 0.5


# -- substance -----------------------------------------------------------------------------
def test_the_title_alone_is_not_substance():
    result = substance_check("x", "Tallybook 3.2 release notes", EX, signal_text=DEMO)
    assert not result.passed and "title" in result.detail


def test_a_piece_must_name_an_item():
    text = "Tallybook 3.2 is here, and we think you will like what is inside this release. Read on for details."
    result = substance_check("x", text, EX, signal_text=DEMO)
    assert not result.passed and "names none of the signal's items" in result.detail
    assert "Bank feeds for 40 more European banks" in result.detail


def test_items_match_after_normalisation():
    text = "TALLYBOOK 3.2 — bank-feeds for 40 more european banks; and the dashboard is 35 % faster now (big accounts)."
    assert substance_check("x", text, EX, signal_text=DEMO).passed


def test_per_channel_minimums_unless_the_signal_is_shorter():
    short = "Bank feeds for 40 more European banks."
    result = substance_check("x", short, EX, signal_text=DEMO)
    assert not result.passed and "minimum of 80" in result.detail
    assert substance_check("x", short, EX, signal_text=DEMO, min_chars=20).passed
    tiny = extract_items("- Dark mode.\n- CSV export", "Pad 1.1")
    assert substance_check("x", "Pad 1.1: dark mode, CSV export", tiny, signal_text="Pad 1.1\n- Dark mode.\n- CSV export").passed
    linkedin = compose("linkedin", EX, VoiceRules())[0].text
    assert substance_check("linkedin", linkedin, EX, signal_text=DEMO).passed
    assert not substance_check("linkedin", short + " More soon, with the details.", EX, signal_text=DEMO).passed


def test_a_signal_with_nothing_concrete_flags_every_piece():
    empty = extract_items("Tallybook", "Tallybook")
    result = substance_check("x", "Tallybook: something new is coming, stay tuned for details.", empty, signal_text="Tallybook")
    assert not result.passed and result.detail.startswith("nothing concrete to say")


def test_cjk_items_match_by_character():
    ex = extract_items("## 新功能\n- 支持多人实时协作编辑，最多 20 人同时在线。", "墨记 2.0")
    assert substance_check("x", "墨记 2.0 来了：支持多人实时协作编辑，最多 20 人同时在线。", ex, signal_text="x" * 10).passed
    assert not substance_check("x", "墨记 2.0 来了：新版本已经发布，欢迎大家下载使用体验。", ex, signal_text="x" * 10).passed


def test_voice_rules_and_min_chars_come_from_the_project_yaml():
    from masthead.errors import ConfigError
    from masthead.projects import parse_project_yaml

    base = ("name: p\ndescription: d\naudience: a\nvoice:\n  description: plain\n  emoji: true\n"
            "  hashtags: ['#p']\n  sign_off: '— Ana'\n  person: i\nchannels:\n  x: {gate: auto, min_chars: 120}\n")
    project = parse_project_yaml(base, "p.yaml")
    assert project.voice.emoji and project.voice.person == "i" and project.channels["x"].min_chars == 120
    with pytest.raises(ConfigError, match="min_chars"):
        parse_project_yaml(base.replace("min_chars: 120", "min_chars: -1"), "p.yaml")
    with pytest.raises(ConfigError, match="person"):
        parse_project_yaml(base.replace("person: i", "person: you"), "p.yaml")
