"""What a document step (a client proposal) needs beyond a post: the request's requirements,
the computed price table, the offer's dates, the other clients to keep out, and the legal
flags a person has resolved. Loaded once per task with its context (runtime/context.py)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from masthead.channels.checks import CheckResult
from masthead.channels.compliance import compliance_checks
from masthead.channels.legal import LegalFlag, legal_check, opinion_flags, scan
from masthead.compose.pricing import PriceTable, price_table
from masthead.compose.proposal import offer_dates
from masthead.compose.requirements import extract_requirements
from masthead.compose.templates import get_template
from masthead.events.model import stream_of
from masthead.events.store import EventStore
from masthead.projects import Project, project_from_spec
from masthead.recipes.schema import Recipe
from masthead.runtime.ids import piece_id, task_id
from masthead.runtime.outputs import done_output


@dataclass(frozen=True)
class DocumentBasis:
    request: str
    requirements: list[dict[str, Any]]
    table: PriceTable
    proposal_date: date
    valid_until: date
    others: list[Project]  # every other client project of the workspace
    resolved: frozenset[str]  # legal flag ids a person resolved for this piece
    opinions: tuple[dict[str, Any], ...] = ()  # the model's legal findings in the request, quotes checked


def _step_output(store: EventStore, recipe: Recipe, job_id: str, agent: str) -> dict[str, Any] | None:
    """The output of the job-level step that runs `agent`, once it is done."""
    for step in recipe.steps:
        if step.agent == agent and step.for_each is None:
            done = done_output(store.query, task_id(job_id, step.id, None))
            output = done.get("output") if done is not None else None
            return dict(output) if output is not None else None
    return None


def _requirements(store: EventStore, recipe: Recipe, job_id: str, request: str) -> list[dict[str, Any]]:
    """The requirements step's output (the model may have added some), else the rules' own."""
    output = _step_output(store, recipe, job_id, "requirements")
    if output is not None:
        return list(output["requirements"])
    return [r.as_dict() for r in extract_requirements(request)]


def resolved_flags(store: EventStore, piece: str) -> frozenset[str]:
    rows = store.query("SELECT data FROM events WHERE stream = ? AND type = 'LegalFlagResolved'",
                       (stream_of("piece", piece),))
    return frozenset(json.loads(row["data"])["flag"] for row in rows)


def client_projects(store: EventStore) -> list[Project]:
    projects = [project_from_spec(row["spec"]) for row in store.query("SELECT spec FROM projects ORDER BY name")]
    return [p for p in projects if p.kind == "client"]


def load_basis(store: EventStore, project: Project, recipe: Recipe, job: dict[str, Any], signal: dict[str, Any],
               channel: str) -> DocumentBasis:
    request = signal["body"]
    start, until = offer_dates(project, date.fromisoformat(str(signal["received_at"])[:10]))
    return DocumentBasis(
        request=request, requirements=_requirements(store, recipe, job["id"], request),
        table=price_table(project, request), proposal_date=start, valid_until=until,
        others=[p for p in client_projects(store) if p.name != project.name],
        resolved=resolved_flags(store, piece_id(job["id"], channel)),
        opinions=tuple((_step_output(store, recipe, job["id"], "legal_review") or {}).get("findings", [])),
    )


def quoted_spans(basis: DocumentBasis, text: str) -> tuple[tuple[int, int], ...]:
    """Where the draft quotes the request's requirements word for word."""
    spans = []
    for requirement in basis.requirements:
        at = text.find(requirement["text"])
        if at >= 0:
            spans.append((at, at + len(requirement["text"])))
    return tuple(spans)


def legal_flags(basis: DocumentBasis, project: Project, text: str) -> list[LegalFlag]:
    """Flags in the client's request, then in the draft; the draft's verbatim quotes of the
    request's requirements are the request's flags already, not the draft's own."""
    assert project.terms is not None
    flags = scan(basis.request, "request", project.terms)
    return flags + opinion_flags(basis.opinions, flags, project.terms) + scan(
        text, "draft", project.terms, skip=quoted_spans(basis, text))


def document_checks(basis: DocumentBasis, project: Project, text: str) -> list[CheckResult]:
    return [*compliance_checks(text, project, basis.table, basis.requirements, proposal_date=basis.proposal_date,
                               valid_until=basis.valid_until, others=basis.others, quoted=quoted_spans(basis, text)),
            legal_check(legal_flags(basis, project, text), set(basis.resolved))]


def document_facts(basis: DocumentBasis, project: Project) -> list[str]:
    """The figures a proposal may state besides its request: computed or the operator's own
    (the rate card, the terms, the offer's dates), so the grounding checks vouch for them."""
    assert project.terms is not None
    return [basis.table.markdown(), json.dumps(project.terms.model_dump(mode="json")),
            json.dumps(project.rate_card.model_dump(mode="json") if project.rate_card else {}),
            f"{basis.proposal_date.isoformat()} {basis.valid_until.isoformat()}"]


def document_values(project: Project, basis: DocumentBasis, root: Path | None, channel: str) -> dict[str, Any]:
    """The values a document agent takes besides the usual ones."""
    template = get_template(root, channel)
    return {"client_project": project, "received_on": basis.proposal_date,
            "template": {"name": template.name, "text": template.text, "origin": template.origin}}


def template_lineage(template: dict[str, str]) -> dict[str, str]:
    """What a draft step records of its template: a worker without the workspace's templates/
    falls back to the built-in, and the lineage says so."""
    return {"name": template["name"], "origin": template["origin"],
            "sha256": hashlib.sha256(template["text"].encode()).hexdigest()}
