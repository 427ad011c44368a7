"""Compliance of a proposal draft: each rule finds what it should, with the span and the fix,
and leaves a correct draft alone. Pricing and requirement extraction are checked here too."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from masthead.channels.compliance import compliance_checks
from masthead.compose.pricing import NO_PRICE, price_table
from masthead.compose.proposal import render_proposal
from masthead.compose.requirements import extract_requirements, find_span, requested_items
from masthead.compose.templates import get_template
from masthead.projects import Project, parse_project_yaml

FIXTURES = Path(__file__).parent.parent / "fixtures"
TODAY, UNTIL = date(2026, 12, 7), date(2027, 1, 6)


def _project(name: str) -> Project:
    return parse_project_yaml((FIXTURES / "proposals" / f"{name}.yaml").read_text(), name)


ACME, GLOBEX = _project("acme"), _project("globex")
REQUEST = (FIXTURES / "rfps" / "acme-brand-refresh.md").read_text()
REQUIREMENTS = [r.as_dict() for r in extract_requirements(REQUEST)]
TABLE = price_table(ACME, REQUEST)
DRAFT = render_proposal(get_template(None, "proposal"), ACME, REQUEST, REQUIREMENTS, None, received=TODAY)


def _results(text: str) -> dict[str, tuple[bool, str]]:
    return {r.name: (r.passed, r.detail) for r in compliance_checks(
        text, ACME, TABLE, REQUIREMENTS, proposal_date=TODAY, valid_until=UNTIL, others=[GLOBEX, ACME])}


def test_the_rendered_draft_passes_all_but_the_unpriced_item() -> None:
    results = _results(DRAFT)
    failed = {name for name, (passed, _) in results.items() if not passed}
    assert failed == {"compliance_amounts"}
    assert NO_PRICE in results["compliance_amounts"][1] and "Translation" in results["compliance_amounts"][1]


@pytest.mark.parametrize(("change", "check", "words"), [
    (("EUR 6,500", "EUR 6,000"), "compliance_amounts", '"EUR 6,000" (chars'),
    (("- **R3** (need): We need weekly written status updates.\n  Our answer: we will meet this requirement as part of the work"
      " below.\n", ""), "compliance_requirements", 'R3 "We need weekly written status updates." (request chars'),
    (("Liability cap", "Our cap"), "compliance_clauses", '"liability cap" is missing'),
    (("## Approach\n", "## Approach\nWe also offer a day rate.\n"), "compliance_deliverables", "'day rate'"),
    (("until 2027-01-06.", "until 2027-02-06."), "compliance_dates", "valid until 2027-01-06"),
    (("## Approach\n", "## Approach\nAs we did for Globex Industries.\n"), "compliance_confidentiality",
     '"Globex Industries"'),
    (("## Approach\n", "## Approach\nWrite to hank@globex.example.\n"), "compliance_confidentiality", "globex-site"),
    (("## Approach\n", "## Approach\nOur website copy costs EUR 7,200 elsewhere.\n"), "compliance_confidentiality",
     '"EUR 7,200"'),
])
def test_each_rule_finds_its_problem_with_the_span_and_fix(change: tuple[str, str], check: str, words: str) -> None:
    assert change[0] in DRAFT
    passed, detail = _results(DRAFT.replace(change[0], change[1], 1))[check]
    assert not passed and words in detail and "fix:" in detail


def test_a_requirement_marked_out_of_scope_passes() -> None:
    text = DRAFT.replace("- **R3** (need): We need weekly written status updates.", "- R3: out of scope.", 1)
    assert _results(text)["compliance_requirements"][0]


def test_pricing_never_invents_a_price() -> None:
    assert [(line.item, line.amount) for line in TABLE.lines] == [
        ("brand audit", Decimal(4000)), ("messaging guide", Decimal(6500)),
        ("Translation of the messaging guide into German", None)]
    assert TABLE.total == Decimal(10500) and TABLE.unpriced == ["Translation of the messaging guide into German"]
    # No deliverables section: the client's deliverables are the scope.
    plain = price_table(GLOBEX, "Please quote for the usual.")
    assert [line.item for line in plain.lines] == ["website copy", "content strategy"] and plain.total == 12500


def test_requirements_keep_their_spans() -> None:
    assert [r["id"] for r in REQUIREMENTS] == ["R1", "R2", "R3", "R4", "R5", "R6"]
    for requirement in REQUIREMENTS:
        assert REQUEST[requirement["start"]:requirement["end"]] == requirement["quote"]
    assert [i.text for i in requested_items(REQUEST)][0].startswith("A brand audit")
    assert find_span(REQUEST, "weekly   written status\nupdates") is not None
    assert find_span(REQUEST, "an invented sentence") is None


def test_figures_of_a_quoted_requirement_are_the_clients() -> None:
    from masthead.runtime.documents import DocumentBasis, document_checks

    request = REQUEST + "\n## More\n- Liquidated damages of EUR 500 per day shall apply after 2026-01-01.\n"
    requirements = [r.as_dict() for r in extract_requirements(request)]
    draft = render_proposal(get_template(None, "proposal"), ACME, request, requirements, None, received=TODAY)
    basis = DocumentBasis(request, requirements, price_table(ACME, request), TODAY, UNTIL, [GLOBEX], frozenset())
    results = {r.name: r for r in document_checks(basis, ACME, draft)}
    assert "EUR 500" not in results["compliance_amounts"].detail and results["compliance_dates"].passed
    assert "penalties" in results["legal"].detail and "in the request" in results["legal"].detail
    said = {r.name: r for r in document_checks(basis, ACME, draft + "\nWe charge EUR 500 per day of delay.\n")}
    assert '"EUR 500"' in said["compliance_amounts"].detail
