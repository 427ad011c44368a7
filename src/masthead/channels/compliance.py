"""Compliance of a proposal draft: deterministic rules, each finding with its span and its fix.

- amounts: every amount in a currency equals a line or the total of the computed price table,
  and the total is stated;
- requirements: every requirement of the request is answered (named by id, or its words
  carried) or marked out of scope;
- clauses: every required clause of the project is present;
- deliverables: the rate-card items a draft names are the ones the request scoped or the
  client's deliverables;
- dates: "valid until" says the computed date, and no date falls before the proposal's date;
- confidentiality: no other client's name, contact or rate-card figure appears (every other
  client project in the workspace is checked).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from masthead.channels.checks import CheckResult
from masthead.compose.pricing import NO_PRICE, PriceTable, money
from masthead.compose.text import carries, normalise, word_set
from masthead.projects import Project

_CURRENCY = r"(?:EUR|USD|GBP|CHF|CAD|AUD|€|\$|£)"
_AMOUNT = re.compile(rf"{_CURRENCY}\s?(\d[\d,]*(?:\.\d{{1,2}})?)(?!\d)|(\d[\d,]*(?:\.\d{{1,2}})?)\s?{_CURRENCY}(?!\w)")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_VALID_UNTIL = re.compile(r"valid\s+until\s+(\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_OUT_OF_SCOPE = "out of scope"


@dataclass(frozen=True)
class Finding:
    rule: str
    span: tuple[int, int] | None  # where in the draft (None: something missing)
    quote: str
    fix: str

    def line(self) -> str:
        where = f' "{self.quote}" (chars {self.span[0]}-{self.span[1]})' if self.span else f" {self.quote}"
        return f"{where.strip()}; fix: {self.fix}"


def _amount(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None


Spans = Sequence[tuple[int, int]]


def _inside(start: int, spans: Spans) -> bool:
    return any(a <= start < b for a, b in spans)


def check_amounts(text: str, table: PriceTable, quoted: Spans = ()) -> list[Finding]:
    """`quoted`: the draft's verbatim quotes of the request, whose figures are the client's words."""
    allowed = {line.amount for line in table.lines if line.amount is not None} | {table.total}
    findings = [Finding("amounts", match.span(), match.group(0),
                        f"use the computed price table's amounts ({', '.join(money(a, table.currency) for a in sorted(allowed))})")
                for match in _AMOUNT.finditer(text)
                if _amount(match.group(1) or match.group(2)) not in allowed and not _inside(match.start(), quoted)]
    for item in table.unpriced:
        at = text.find(item)
        findings.append(Finding("amounts", (at, at + len(item)) if at >= 0 else None, f"{item}: {NO_PRICE}",
                                "decide its price: add it to rate_card.items and draft again, or take it out of "
                                "scope (a person decides; no price is invented)"))
    if money(table.total, table.currency) not in text:
        findings.append(Finding("amounts", None, f"the total {money(table.total, table.currency)} is not stated",
                                "include the price table as computed (the template's {{ pricing.table }})"))
    return findings


def check_requirements(text: str, requirements: Sequence[dict[str, Any]]) -> list[Finding]:
    words = word_set(text)
    findings = []
    for requirement in requirements:
        named = re.search(rf"\b{re.escape(requirement['id'])}\b", text)
        if named or carries(words, requirement["text"]):
            continue
        findings.append(Finding("requirements", None,
                                f'{requirement["id"]} "{requirement["quote"]}" (request chars '
                                f'{requirement["start"]}-{requirement["end"]}) is neither answered nor marked out of scope',
                                f'answer it, or write "{requirement["id"]}: {_OUT_OF_SCOPE}"'))
    return findings


def check_clauses(text: str, clauses: Sequence[str]) -> list[Finding]:
    said = normalise(text)
    return [Finding("clauses", None, f'the required clause "{clause}" is missing',
                    f'add a "{clause}" clause (project required_clauses)')
            for clause in clauses if normalise(clause) not in said]


def check_deliverables(text: str, project: Project, table: PriceTable) -> list[Finding]:
    assert project.rate_card is not None and project.client is not None
    scoped = {normalise(line.item) for line in table.lines} | {normalise(d) for d in project.client.deliverables}
    findings = []
    for item in project.rate_card.items:
        if normalise(item) in scoped:
            continue
        match = re.search(rf"\b{re.escape(item)}\b", text, re.IGNORECASE)
        if match:
            findings.append(Finding("deliverables", match.span(), match.group(0),
                                    f"{item!r} is neither in the request's scope nor a deliverable of "
                                    f"{project.client.name}; remove it or add it to client.deliverables"))
    return findings


def check_dates(text: str, proposal_date: date, valid_until: date, quoted: Spans = ()) -> list[Finding]:
    findings = []
    for match in _VALID_UNTIL.finditer(text):
        if match.group(1) != valid_until.isoformat():
            findings.append(Finding("dates", match.span(), match.group(0),
                                    f"the offer is valid until {valid_until.isoformat()} (terms.validity_days)"))
    for match in _ISO_DATE.finditer(text):
        if _inside(match.start(), quoted):
            continue  # a date of the client's own request, quoted
        try:
            when = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            findings.append(Finding("dates", match.span(), match.group(0), "write a real date"))
            continue
        if when < proposal_date:
            findings.append(Finding("dates", match.span(), match.group(0),
                                    f"a date before the proposal's date ({proposal_date.isoformat()}); correct it"))
    return findings


def check_confidentiality(text: str, project: Project, others: Sequence[Project]) -> list[Finding]:
    """Other clients' names, contacts and rate-card figures that appear in this client's draft."""
    findings = []
    own = {amount for amount in (project.rate_card.items.values() if project.rate_card else [])}
    for other in others:
        if other.name == project.name or other.client is None:
            continue
        words = [other.client.name] + [value for contact in other.client.contacts
                                       for value in (contact.name, contact.email, contact.phone) if value]
        for word in words:
            for match in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE):
                findings.append(Finding("confidentiality", match.span(), match.group(0),
                                        f"remove it: it belongs to another client (project {other.name})"))
        figures = {a for a in (other.rate_card.items.values() if other.rate_card else []) if a not in own}
        for match in _AMOUNT.finditer(text):
            if _amount(match.group(1) or match.group(2)) in figures:
                findings.append(Finding("confidentiality", match.span(), match.group(0),
                                        f"remove it: it is another client's price (project {other.name})"))
    return findings


def compliance_checks(text: str, project: Project, table: PriceTable, requirements: Sequence[dict[str, Any]], *,
                      proposal_date: date, valid_until: date, others: Sequence[Project],
                      quoted: Spans = ()) -> list[CheckResult]:
    """One check per rule; a failing one lists every finding with its span and fix. `quoted`
    spans (the draft's verbatim quotes of the request) are the client's words: their amounts and
    dates are not the proposal's."""
    groups = {
        "compliance_amounts": check_amounts(text, table, quoted),
        "compliance_requirements": check_requirements(text, requirements),
        "compliance_clauses": check_clauses(text, project.required_clauses),
        "compliance_deliverables": check_deliverables(text, project, table),
        "compliance_dates": check_dates(text, proposal_date, valid_until, quoted),
        "compliance_confidentiality": check_confidentiality(text, project, others),
    }
    passed = {
        "compliance_amounts": f"every amount matches the computed price table (total {money(table.total, table.currency)})",
        "compliance_requirements": f"all {len(requirements)} requirements answered or out of scope",
        "compliance_clauses": f"all {len(project.required_clauses)} required clauses present",
        "compliance_deliverables": "only the scoped and the client's deliverables are named",
        "compliance_dates": f"dates consistent (valid until {valid_until.isoformat()})",
        "compliance_confidentiality": "no other client's name, contact or figures",
    }
    return [CheckResult(name, not found, "; ".join(f.line() for f in found) if found else passed[name])
            for name, found in groups.items()]
