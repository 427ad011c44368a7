"""Legal review, the model's second opinion: risky terms in a client's request that the rule
library may have missed, each as an exact quote of the request.

The rule library (channels/legal_rules.yaml) decides what blocks a sign-off; this agent only
adds medium-severity flags for a person to read. A quote not found word for word in the request
is dropped, and a model that cannot answer costs nothing (the fallback is no opinion), so no
model output can block or unblock an approval.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from masthead.agents.base import (
    AgentInput,
    AgentOutput,
    AgentResult,
    Effect,
    ModelClient,
    ProjectContext,
    SignalContext,
    quote_data,
    system_prompt,
)
from masthead.channels.legal import rule_library
from masthead.compose.requirements import find_span
from masthead.providers.base import Message

REQUEST_EXCERPT_CHARS = 4000


class LegalOpinionItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    quote: str = Field(min_length=3, max_length=400)
    rule: str = Field(max_length=40)
    why: str = Field("", max_length=300)


class LegalReviewInput(AgentInput):
    project: ProjectContext
    signal: SignalContext


class LegalOpinion(AgentOutput):
    findings: list[LegalOpinionItem] = Field(default_factory=list, max_length=10)


class CheckedFinding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    quote: str
    rule: str
    why: str
    start: int
    end: int


class LegalReviewOutput(AgentOutput):
    findings: list[CheckedFinding] = Field(default_factory=list)


class LegalReviewAgent:
    name: ClassVar[str] = "legal_review"
    prompt_version: ClassVar[str] = "legal_review/1"
    effect: ClassVar[Effect] = "none"
    input_model = LegalReviewInput
    output_model = LegalReviewOutput

    def run(self, inp: LegalReviewInput, model: ModelClient) -> AgentResult:
        rules = ", ".join(f"{rule.id} ({rule.title})" for rule in rule_library().rules)
        messages = [
            Message(role="system", content=system_prompt("You review a client's request for risky contract terms.",
                                                         inp.project)),
            Message(role="user", content=(
                f"The request:\n{quote_data('request', inp.signal.body[:REQUEST_EXCERPT_CHARS])}\n\n"
                f"Kinds of risky terms: {rules}.\n"
                "Quote each risky term exactly as the request words it. Answer as JSON: "
                '{"findings": [{"quote": "...", "rule": "one of the kinds", "why": "..."}]} '
                "(an empty list when there are none)."
            )),
        ]
        opinion = model.generate(messages, LegalOpinion)
        return AgentResult(output=LegalReviewOutput(findings=checked(inp.signal.body, opinion)))

    def fallback(self, inp: LegalReviewInput) -> AgentResult | None:
        """No opinion: the rule library alone reviews the request."""
        return AgentResult(output=LegalReviewOutput())


def checked(request: str, opinion: LegalOpinion) -> list[CheckedFinding]:
    """The model's findings whose quote is in the request, under a known rule."""
    known = {rule.id for rule in rule_library().rules}
    kept = []
    for finding in opinion.findings:
        span = find_span(request, finding.quote)
        if span is None or finding.rule not in known:
            continue
        kept.append(CheckedFinding(quote=request[span[0]:span[1]], rule=finding.rule, why=finding.why,
                                   start=span[0], end=span[1]))
    return kept
