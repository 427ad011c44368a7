"""Proposal: a client proposal from the template, the requirements and past winning passages.

The model writes prose only (summary, approach, next steps, one answer per requirement); the
price table, the terms and the dates are filled in by code from the project's client state, so
no amount is ever the model's arithmetic. The same document without the model's prose is the
composed candidate (`compose`), which the runtime weighs against the model's.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from masthead.agents.base import (
    AgentInput,
    AgentOutput,
    AgentResult,
    DraftEffect,
    Effect,
    ModelClient,
    ProjectContext,
    SignalContext,
    bullet_list,
    quote_data,
    system_prompt,
)
from masthead.agents.memory_context import MemoryNote, memory_section
from masthead.agents.requirements import RequirementsOutput
from masthead.compose.pricing import price_table
from masthead.compose.proposal import ProseSections, render_proposal
from masthead.compose.templates import TemplateSource
from masthead.memory.items import proposal_outcome
from masthead.projects import Project
from masthead.providers.base import Message

REQUEST_EXCERPT_CHARS = 3000
PASSAGE_CHARS = 400


class TemplateValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    text: str
    origin: str


class ProposalInput(AgentInput):
    project: ProjectContext
    signal: SignalContext
    channel: str
    requirements: RequirementsOutput
    client_project: Project
    received_on: date
    template: TemplateValue
    memory: list[MemoryNote] = []


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^R[0-9]{1,4}$")
    answer: str = Field(min_length=1, max_length=600)


class ProposalProse(AgentOutput):
    summary: str = Field(min_length=1, max_length=1500)
    approach: str = Field(min_length=1, max_length=3000)
    next_steps: str = Field(min_length=1, max_length=800)
    answers: list[_Answer] = Field(default_factory=list, max_length=60)


def winning_passages(memory: list[MemoryNote]) -> list[str]:
    """Passages of past proposals that won, as the template's `passages` (shortened)."""
    return [note.text if len(note.text) <= PASSAGE_CHARS else note.text[:PASSAGE_CHARS].rstrip() + "…"
            for note in memory if note.kind == "proposal" and proposal_outcome(note.source) == "won"]


def document(inp: ProposalInput, prose: ProseSections | None) -> str:
    template = TemplateSource(inp.template.name, inp.template.text, inp.template.origin)
    requirements = [r.model_dump() for r in inp.requirements.requirements]
    return render_proposal(template, inp.client_project, inp.signal.body, requirements, prose,
                           received=inp.received_on, passages=winning_passages(inp.memory))


class ProposalAgent:
    name: ClassVar[str] = "proposal"
    prompt_version: ClassVar[str] = "proposal/1"
    effect: ClassVar[Effect] = "draft"
    input_model = ProposalInput
    output_model = ProposalProse

    def run(self, inp: ProposalInput, model: ModelClient) -> AgentResult:
        client = inp.client_project.client
        assert client is not None
        scope = [line.item for line in price_table(inp.client_project, inp.signal.body).lines]
        requirements = [f"{r.id}: {r.text}" for r in inp.requirements.requirements]
        messages = [
            Message(role="system", content=system_prompt(
                f"You write a consultant's proposal to {client.name}. Tone: {client.tone}.", inp.project)),
            Message(role="user", content=(
                f"The client's request:\n{quote_data('request', inp.signal.body[:REQUEST_EXCERPT_CHARS])}\n\n"
                f"Requirements:\n{bullet_list(requirements)}\n\n"
                f"Deliverables in scope:\n{bullet_list(scope)}\n\n"
                + memory_section(inp.memory)
                + "Write the proposal's prose. Do not write any price, amount, total or date: the price table "
                "and the terms are added by code. Answer as JSON: {\"summary\": \"...\", \"approach\": \"...\", "
                "\"next_steps\": \"...\", \"answers\": [{\"id\": \"R1\", \"answer\": \"how we meet it, or 'out of "
                "scope' and why\"}]}"
            )),
        ]
        prose = model.generate(messages, ProposalProse)
        sections = ProseSections(summary=prose.summary, approach=prose.approach, next_steps=prose.next_steps,
                                 responses={a.id: a.answer for a in prose.answers})
        return AgentResult(output=prose, effects=[DraftEffect(channel=inp.channel, text=document(inp, sections))])

    def compose(self, inp: ProposalInput) -> str:
        """The proposal without the model: the template with plain prose from the client state."""
        return document(inp, None)

    def fallback(self, inp: ProposalInput) -> AgentResult | None:
        text = self.compose(inp)
        return AgentResult(output=ProposalProse(summary="(composed)", approach="(composed)", next_steps="(composed)"),
                           effects=[DraftEffect(channel=inp.channel, text=text)])
