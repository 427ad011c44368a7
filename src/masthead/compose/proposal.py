"""A proposal's document: the template's context from client state, requirements and the price
table, and the text the template renders. Everything here is deterministic; the model only
writes the prose sections (summary, approach, next steps, answers to requirements)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from masthead.channels.legal import scan
from masthead.compose.pricing import PriceTable, money, price_table
from masthead.compose.templates import TemplateSource, render
from masthead.projects import Project

DEFAULT_TEMPLATE = "proposal"


@dataclass(frozen=True)
class ProseSections:
    summary: str
    approach: str
    next_steps: str
    responses: dict[str, str] = field(default_factory=dict)  # requirement id -> how the proposal meets it


def plain_sections(project: Project, requirements: list[dict[str, Any]], table: PriceTable) -> ProseSections:
    """The prose without a model: short, true and built from the client state only."""
    assert project.client is not None
    scope = ", ".join(line.item for line in table.lines) or "the work you describe"
    return ProseSections(
        summary=(f"{project.client.name} asked for {scope}. This proposal answers each of your "
                 f"{len(requirements)} requirements, prices the work from our rate card and sets out our terms."),
        approach=("We start with a kick-off call to agree priorities, deliver each item in turn for your review, "
                  "and close with a hand-over of every file."),
        next_steps="Reply to accept this proposal; we will send a short agreement and book the kick-off call.",
    )


def offer_dates(project: Project, received: date) -> tuple[date, date]:
    """The proposal's date (the day the request came in: the same on every re-run) and the day
    its offer ends."""
    assert project.terms is not None
    return received, received + timedelta(days=project.terms.validity_days)


def template_context(project: Project, requirements: list[dict[str, Any]], table: PriceTable,
                     prose: ProseSections, *, received: date, passages: list[str] | None = None) -> dict[str, Any]:
    """What a template can read: see docs/configuration.md#templates for each name."""
    assert project.client is not None and project.terms is not None and project.rate_card is not None
    start, until = offer_dates(project, received)
    return {
        "project": {"name": project.name, "description": project.description},
        "client": project.client.model_dump(mode="json"),
        "terms": project.terms.model_dump(mode="json"),
        "rate_card": {"currency": project.rate_card.currency,
                      "items": {k: money(v, project.rate_card.currency) for k, v in project.rate_card.items.items()}},
        "required_clauses": list(project.required_clauses),
        "requirements": requirements,
        "responses": dict(prose.responses),
        "pricing": {"table": table.markdown(), "total": money(table.total, table.currency),
                    "currency": table.currency, "unpriced": table.unpriced,
                    "lines": [{"item": line.item, "amount": None if line.amount is None
                               else money(line.amount, table.currency)} for line in table.lines]},
        "sections": {"summary": prose.summary, "approach": prose.approach, "next_steps": prose.next_steps},
        "passages": list(passages or []),
        "date": start.isoformat(),
        "valid_until": until.isoformat(),
    }


def counter_terms(project: Project, requirements: list[dict[str, Any]]) -> dict[str, str]:
    """Requirement id -> our answer, for requirements that ask for a risky term (unlimited
    liability, IP on signature...): the project's own term, whatever a model wrote."""
    assert project.terms is not None
    answers = {}
    for requirement in requirements:
        flags = scan(requirement["text"], "request", project.terms)
        if flags:
            answers[requirement["id"]] = "not as written. " + " ".join(dict.fromkeys(f.alternative for f in flags)) \
                + " See Terms."
    return answers


def render_proposal(template: TemplateSource, project: Project, request: str, requirements: list[dict[str, Any]],
                    prose: ProseSections | None, *, received: date, passages: list[str] | None = None) -> str:
    table = price_table(project, request)
    prose = prose or plain_sections(project, requirements, table)
    prose = ProseSections(prose.summary, prose.approach, prose.next_steps,
                          prose.responses | counter_terms(project, requirements))
    return render(template, template_context(project, requirements, table, prose, received=received, passages=passages))


SAMPLE_REQUEST = """\
# Request for proposal
## Deliverables
- brand audit
## Requirements
1. The work must start within a month.
"""


def sample_project() -> Project:
    """A client project for `masthead template validate` when no project is named."""
    return Project.model_validate({
        "name": "sample-client", "kind": "client",
        "client": {"name": "Sample Client", "contacts": [{"role": "Buyer", "email": "buyer@client.example"}],
                   "deliverables": ["brand audit"]},
        "rate_card": {"currency": "EUR", "items": {"brand audit": 4000}},
        "terms": {"payment_days": 30, "liability_cap": "fees paid", "ip": "on full payment", "validity_days": 30,
                  "governing_law": "Ireland"},
        "required_clauses": ["payment terms", "liability cap"],
        "channels": {"proposal": {"gate": "hard"}},
    })
