"""Refine: rewrites a draft that failed its checks, told exactly what failed."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

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
from masthead.providers.base import Message


class RefineInput(AgentInput):
    project: ProjectContext
    signal: SignalContext
    channel: str
    channel_guide: str
    text: str
    subject: str | None = None
    failures: list[str]
    required_disclaimer: str | None = None
    memory: list[MemoryNote] = []


class RefineOutput(AgentOutput):
    text: str = Field(min_length=1, max_length=4000)
    subject: str | None = Field(None, max_length=120)


class RefineAgent:
    name: ClassVar[str] = "refine"
    prompt_version: ClassVar[str] = "refine/2"
    effect: ClassVar[Effect] = "draft"
    input_model = RefineInput
    output_model = RefineOutput

    def run(self, inp: RefineInput, model: ModelClient) -> AgentResult:
        subject_line = f"\nCurrent subject: {inp.subject}" if inp.subject else ""
        disclaimer = f"\nThe text must contain, word for word: {inp.required_disclaimer}" if inp.required_disclaimer else ""
        messages = [
            Message(role="system", content=system_prompt("You are a careful copy editor.", inp.project)),
            Message(
                role="user",
                content=(
                    f"Draft for {inp.channel}:\n{quote_data('draft', inp.text)}{subject_line}\n\n"
                    f"It failed these checks:\n{quote_data('check-results', bullet_list(inp.failures))}\n\n"
                    f"Source:\n{quote_data('signal', inp.signal.body)}\n"
                    f"Facts:\n{bullet_list(inp.project.facts)}\n\n"
                    f"{memory_section(inp.memory, inp.project.facts)}"
                    f"Rewrite it so every check passes. {inp.channel_guide} Remove any number, "
                    f"version or link that is not in the source or the facts.{disclaimer}\n"
                    'Answer as JSON: {"text": "...", "subject": "..." or null}'
                ),
            ),
        ]
        output = model.generate(messages, RefineOutput)
        subject = (output.subject or inp.subject) if inp.subject is not None else None
        return AgentResult(
            output=output,
            effects=[DraftEffect(channel=inp.channel, text=output.text.strip(), subject=subject)],
        )
