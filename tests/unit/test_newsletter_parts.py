"""The newsletter workflow's pure parts: hooks without a model, digest composition, confidence
parts, sensitive topics by term, the schedule's own recipe, a trend's items in words."""

from __future__ import annotations

import json

import pytest

from masthead.agents.base import ProjectContext, SignalContext
from masthead.agents.brief import BriefOutput
from masthead.agents.hooks import HooksAgent, HooksInput
from masthead.app.commands import recipe_named_by
from masthead.channels.checks import CheckResult
from masthead.channels.limits import rule_for
from masthead.compose.candidates import VoiceRules
from masthead.compose.digest import compose_digest
from masthead.compose.items import Extraction, Item
from masthead.errors import ConfigError
from masthead.projects import SensitiveTopic
from masthead.recipes.loader import parse_recipe
from masthead.runtime.confidence import agreement_part, checks_part, combine, sensitive_match
from masthead.runtime.digest import trend_evidence, trend_item_text

PROJECT = ProjectContext(name="tallybook", description="Invoicing.", audience="Freelancers.", voice="Plain.")


def hooks_input(items: list[str], angle: str = "") -> HooksInput:
    brief = BriefOutput(headline="Visitors jumped", key_points=["480 visitors"], angle=angle) if angle else None
    return HooksInput(project=PROJECT, signal=SignalContext(kind="trend", body="x"), items=items, brief=brief)


def test_hooks_without_a_model_are_composed_from_the_items_each_with_its_angle() -> None:
    result = HooksAgent().fallback(hooks_input(
        ["note: Visitors on Monday were 480, 3.9x the usual Monday.", "note: The blog post was shared widely.",
         "note: Sign-ups rose 12% the same day."], angle="More people find Tallybook"))
    assert result is not None
    hooks = result.output.hooks  # type: ignore[attr-defined]
    assert [(h.angle, h.text) for h in hooks] == [
        ("news", "Visitors on Monday were 480, 3.9x the usual Monday."),
        ("number", "Sign-ups rose 12% the same day."),
        ("reader", "More people find Tallybook"),
    ]
    assert HooksAgent().fallback(hooks_input([])) is None  # nothing to ground a hook in: the step fails


def _item(text: str, section: str, position: int) -> Item:
    return Item(kind="note", text=text, section=section, salience=1.0, position=position)


DIGEST = Extraction(items=(
    _item("Visitors on Monday were 480.", "Trend: visitors up", 0),
    _item("The usual Monday is 122.", "Trend: visitors up", 1),
    _item("Invoices can be written in 12 languages.", "Invoices in 12 languages", 2),
), product=None, version=None, link=None, title="The week", headings=("Trend: visitors up", "Invoices in 12 languages"))


def test_a_digest_has_a_section_per_signal_and_drops_from_the_end_to_fit() -> None:
    candidate = compose_digest("newsletter", DIGEST, VoiceRules(sign_off="— Ana"))
    assert candidate is not None
    assert candidate.text == ("2 things worth knowing this week.\n\nTrend: visitors up\n- Visitors on Monday were 480.\n"
                              "- The usual Monday is 122.\n\nInvoices in 12 languages\n"
                              "- Invoices can be written in 12 languages.\n\n— Ana")
    assert candidate.subject == "This week: Trend: visitors up"
    limit = rule_for("x").limit
    assert limit is not None
    short = compose_digest("x", DIGEST, VoiceRules(), opening="A week of news. " * 12)
    assert short is not None and len(short.text) <= limit and "Invoices" not in short.text


def test_confidence_parts_and_their_weights() -> None:
    assert checks_part([CheckResult("a", True, ""), CheckResult("b", False, "")]) == 0.5
    assert agreement_part("bank feeds for 40 banks", []) == 0.5  # no other passing candidate
    # {bank, banks, feeds, 40} against the same plus {faster, invoices}: 4 shared of 6 words; "x" shares none
    assert agreement_part("bank feeds for 40 banks", ["bank feeds for 40 banks and faster invoices", "x"]) == 0.333
    assert agreement_part("bank feeds for 40 banks", ["bank feeds for 40 banks and faster invoices"]) == 0.667
    assert combine({"checks": 1.0, "coverage": 1.0, "voice": 1.0, "agreement": 1.0}) == 1.0
    assert combine({"checks": 1.0, "coverage": 0.0, "voice": 0.0, "agreement": 0.0}) == 0.35


def test_a_sensitive_term_matches_as_a_whole_word_without_an_embedder() -> None:
    topics = [SensitiveTopic(term="layoffs", description="job cuts")]
    found = sensitive_match("We announce Layoffs today.", None, topics, 0.35, None)
    assert found is not None and found.how == "term" and "sensitive topic 'layoffs' (job cuts)" in found.reason()
    assert sensitive_match("Playoffs season is here.", None, topics, 0.35, None) is None
    assert sensitive_match("All good.", "layoffs ahead", topics, 0.35, None) is not None  # the subject counts too


@pytest.mark.parametrize(("kind", "body", "source", "named"), [
    ("schedule", "{}", "schedule:weekly-digest:2026-12-08T09:00", "weekly-digest"),
    ("schedule", '{"recipe": "monthly"}', "cron", "monthly"),
    ("schedule", "not json", "cron", None),
    ("trend", '{"recipe": "monthly"}', "schedule:x", None),  # only schedules name their recipe
])
def test_a_schedule_starts_the_recipe_it_names(kind: str, body: str, source: str, named: str | None) -> None:
    assert recipe_named_by(kind, body, source) == named


TREND_BODY = "visitors on 2026-11-30 (Monday) was 480, 3.9x the usual Monday.\n\nEvidence:\n" + json.dumps({
    "date": "2026-11-30", "score": 29.18,
    "baseline": {"dates": ["2026-11-16", "2026-11-23"], "values": [124.0, 123.0]},
    "method": {"name": "robust z-score, same weekday", "window_days": 28, "threshold": 3.5}})


def test_a_trends_items_say_its_evidence_in_words_and_only_an_analytics_trend_is_vouched() -> None:
    text = trend_item_text(TREND_BODY)
    assert "- The previous Mondays for comparison: 124 on 2026-11-16 and 123 on 2026-11-23." in text
    assert "a score of 29.18 against a threshold of 3.5" in text and "Evidence" not in text
    assert trend_item_text("no evidence here") == "no evidence here"
    analytics = {"kind": "trend", "source": "analytics:stats:trend:ab12:2026-11-30", "body": TREND_BODY}
    assert trend_evidence(analytics) == [TREND_BODY, text]
    assert trend_evidence(analytics | {"source": "webhook:github:d-1"}) == []  # a sender's "trend" is its own text


def test_recipes_check_the_new_action_and_gather() -> None:
    recipe = parse_recipe("name: digest\ntrigger: {signal_kinds: [schedule], gather: {days: 3}}\nsteps:\n"
                          "  - {id: ab, action: ab_test, for_each: channel}\n", "r.yaml")
    assert recipe.trigger.gather is not None and recipe.trigger.gather.days == 3
    with pytest.raises(ConfigError, match="for_each: channel"):
        parse_recipe("name: x\ntrigger: {signal_kinds: [a]}\nsteps:\n  - {id: ab, action: ab_test}\n", "r.yaml")
    with pytest.raises(ConfigError, match="days"):
        parse_recipe("name: x\ntrigger: {signal_kinds: [a], gather: {days: 0}}\nsteps:\n  - {id: b, agent: brief}\n",
                     "r.yaml")


class _Scripted:
    """A ModelClient that answers with one fixed output (the agent's own contract, no provider)."""

    def __init__(self, output: object):
        self.output = output

    def generate(self, messages: object, schema: type, *, max_tokens: int | None = None) -> object:
        return schema.model_validate(self.output)


def test_a_hook_with_a_figure_the_signal_lacks_is_dropped_before_anything_builds_on_it() -> None:
    inp = HooksInput(project=PROJECT, signal=SignalContext(kind="trend", title="Visitors up",
                                                           body="visitors on Monday were 1,320, 3.9x the usual."),
                     items=["note: visitors on Monday were 1,320, 3.9x the usual."])
    result = HooksAgent().run(inp, _Scripted({"hooks": [
        {"angle": "number", "text": "1320 visitors: 3.9x a normal Monday.", "grounded_in": "the trend"},
        {"angle": "news", "text": "Visitors grew 45% this year.", "grounded_in": "nothing"},
        {"angle": "reader", "text": "More people find us.", "grounded_in": ""},
    ]}))
    output = result.output
    assert [h.text for h in output.hooks] == ["1320 visitors: 3.9x a normal Monday.", "More people find us."]  # type: ignore[attr-defined]
    assert output.dropped == ["Visitors grew 45% this year."]  # type: ignore[attr-defined]
    only_invented = HooksAgent().run(inp, _Scripted({"hooks": [{"angle": "number", "text": "Up 45%."}]})).output
    assert [h.angle for h in only_invented.hooks] == ["news"] and only_invented.dropped == ["Up 45%."]  # type: ignore[attr-defined]
