"""The legal rule library, table-driven: each rule's true positives and the near misses it must
leave alone (refusals, the project's own terms, words that only look alike)."""

from __future__ import annotations

import pytest

from masthead.channels.legal import legal_check, rule_library, scan
from masthead.projects import Terms

TERMS = Terms(payment_days=30, liability_cap="fees paid", ip="on full payment", validity_days=30,
              governing_law="Ireland")

FLAGGED = [
    ("The supplier shall accept unlimited liability for any loss.", "unlimited-liability"),
    ("Consultant liability under this agreement is uncapped.", "unlimited-liability"),
    ("There is no limit on the supplier's liability.", "unlimited-liability"),
    ("The supplier shall indemnify Acme against all claims.", "indemnification"),
    ("You will hold harmless the client and its officers.", "indemnification"),
    ("All intellectual property shall be assigned to Acme upon signature of this agreement.", "ip-before-payment"),
    ("Copyright in all work transfers to the client on creation.", "ip-before-payment"),
    ("The supplier shall not work for any competitor during the engagement.", "exclusivity"),
    ("A non-compete of 12 months applies.", "exclusivity"),
    ("Services are provided on an exclusive basis.", "exclusivity"),
    ("Payment terms are net 120.", "payment-terms"),
    ("Invoices are paid within 90 days of receipt.", "payment-terms"),
    ("The contract renews automatically each year.", "auto-renewal"),
    ("This agreement auto-renews for successive terms.", "auto-renewal"),
    ("Late delivery incurs a penalty of 5% per week.", "penalties"),
    ("Liquidated damages of EUR 500 per day apply.", "penalties"),
    ("This contract is governed by the laws of the State of New York.", "governing-law"),
    ("The courts of England shall have exclusive jurisdiction.", "governing-law"),
]

CLEAN = [
    "Our liability is capped at the fees paid.",
    "We do not accept unlimited liability.",
    "Invoices are paid net 30.",
    "Invoices are due 14 days after issue.",
    "This agreement is governed by the law of Ireland.",
    "Intellectual property passes to Acme on full payment.",
    "We offer an exclusive discount for early sign-up.",
    "We renew our tools every year.",
    "Rather than penalties, we re-plan together.",
    "The brand audit covers 40 pages.",
]


@pytest.mark.parametrize(("text", "rule"), FLAGGED)
def test_risky_terms_are_flagged(text: str, rule: str) -> None:
    flags = scan(text, "request", TERMS)
    assert [f.rule for f in flags] == [rule]
    flag = flags[0]
    assert flag.quote in text and text[flag.start:flag.end] in flag.quote
    assert flag.alternative and "{" not in flag.alternative
    assert flag.library_version == rule_library().version


@pytest.mark.parametrize("text", CLEAN)
def test_safe_wording_is_not_flagged(text: str) -> None:
    assert scan(text, "request", TERMS) == []


def test_alternatives_come_from_the_project_terms() -> None:
    [flag] = scan("Payment is due net 60.", "request", TERMS)
    assert flag.alternative == "Invoices are due 30 days after issue."
    [law] = scan("Governed by the laws of France.", "draft", TERMS)
    assert law.alternative == "This agreement is governed by the law of Ireland." and law.severity == "high"


def test_flag_ids_hold_across_positions_and_differ_by_place() -> None:
    one = scan("Intro.\nPayment terms are net 120.", "request", TERMS)[0]
    two = scan("Other intro text here.\nPayment terms are net 120.", "request", TERMS)[0]
    assert one.id == two.id and one.start != two.start
    assert scan("Payment terms are net 120.", "draft", TERMS)[0].id != one.id


def test_high_flags_fail_the_check_until_resolved() -> None:
    flags = scan("The supplier shall accept unlimited liability. Late delivery incurs a penalty.", "request", TERMS)
    assert not legal_check(flags, set()).passed
    high = {f.id for f in flags if f.severity == "high"}
    resolved = legal_check(flags, high)
    assert resolved.passed and "[resolved]" in resolved.detail
    assert legal_check([], set()).passed


def test_skipped_spans_are_passed_over() -> None:
    text = "R1: The supplier shall accept unlimited liability."
    assert scan(text, "draft", TERMS, skip=((0, len(text)),)) == []


def test_the_models_opinion_adds_medium_flags_only_where_no_rule_flagged() -> None:
    from masthead.agents.legal_review import LegalOpinion, checked
    from masthead.channels.legal import opinion_flags

    request = "The supplier shall accept unlimited liability. Acme may recover all fees already paid."
    opinion = LegalOpinion.model_validate({"findings": [
        {"quote": "Acme may recover all fees   already paid", "rule": "penalties"},
        {"quote": "shall accept unlimited liability", "rule": "unlimited-liability"},
        {"quote": "words the request never says", "rule": "penalties"},
        {"quote": "Acme may recover", "rule": "no-such-rule"}]})
    findings = [f.model_dump() for f in checked(request, opinion)]
    assert [f["rule"] for f in findings] == ["penalties", "unlimited-liability"]
    rules = scan(request, "request", TERMS)
    [flag] = opinion_flags(findings, rules, TERMS)
    assert (flag.rule, flag.severity) == ("model:penalties", "medium")
    assert request[flag.start:flag.end] == flag.quote == "Acme may recover all fees already paid"
    assert legal_check([*rules, flag], {f.id for f in rules}).passed  # a model's flag never blocks
