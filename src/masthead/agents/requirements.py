"""Requirements: what a client's request asks for, each with its quoted source span.

The rules (compose.requirements) find them first; the model may add ones the rules missed,
and each of its additions is kept only when its quote is found word for word in the request.
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
    bullet_list,
    quote_data,
    system_prompt,
)
from masthead.compose.requirements import extract_requirements, find_span
from masthead.providers.base import Message

# A small model reads an excerpt; the rules read the whole request however long it is.
REQUEST_EXCERPT_CHARS = 4000
MAX_MODEL_ADDITIONS = 8


class RequirementItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    text: str
    quote: str
    start: int
    end: int
    strength: str
    section: str | None = None
    source: str = "rules"  # rules | model


class RequirementsInput(AgentInput):
    project: ProjectContext
    signal: SignalContext


class RequirementsOutput(AgentOutput):
    requirements: list[RequirementItem]


class _Addition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    quote: str = Field(min_length=3, max_length=400)


class ModelAdditions(AgentOutput):
    additions: list[_Addition] = Field(default_factory=list, max_length=MAX_MODEL_ADDITIONS)


def _rules(body: str) -> list[RequirementItem]:
    return [RequirementItem.model_validate(r.as_dict()) for r in extract_requirements(body)]


class RequirementsAgent:
    name: ClassVar[str] = "requirements"
    prompt_version: ClassVar[str] = "requirements/1"
    effect: ClassVar[Effect] = "none"
    input_model = RequirementsInput
    output_model = RequirementsOutput

    def run(self, inp: RequirementsInput, model: ModelClient) -> AgentResult:
        found = _rules(inp.signal.body)
        excerpt = inp.signal.body[:REQUEST_EXCERPT_CHARS]
        messages = [
            Message(role="system", content=system_prompt("You read a client's request for a proposal.", inp.project)),
            Message(role="user", content=(
                f"The request:\n{quote_data('request', excerpt)}\n\n"
                f"Requirements already found:\n{bullet_list([r.text for r in found])}\n\n"
                "List requirements the list above misses, each as an exact quote of the request's words. "
                'Answer as JSON: {"additions": [{"quote": "..."}]} (an empty list when none are missing).'
            )),
        ]
        additions = model.generate(messages, ModelAdditions)
        return AgentResult(output=RequirementsOutput(requirements=_merge(inp.signal.body, found, additions)))

    def fallback(self, inp: RequirementsInput) -> AgentResult | None:
        """The rules' requirements alone, when the model's output is unusable."""
        return AgentResult(output=RequirementsOutput(requirements=_rules(inp.signal.body)))


def _merge(body: str, found: list[RequirementItem], additions: ModelAdditions) -> list[RequirementItem]:
    """The rules' requirements plus the model's, where each addition quotes the request and
    overlaps none already found; ordered as in the request, numbered again."""
    merged = list(found)
    for addition in additions.additions:
        span = find_span(body, addition.quote)
        if span is None or any(r.start < span[1] and span[0] < r.end for r in merged):
            continue  # not in the request (invented), or already found
        quote = body[span[0]:span[1]]
        merged.append(RequirementItem(id="", text=" ".join(quote.split()), quote=quote, start=span[0], end=span[1],
                                      strength="need", source="model"))
    merged.sort(key=lambda r: r.start)
    return [r.model_copy(update={"id": f"R{i + 1}"}) for i, r in enumerate(merged)]
