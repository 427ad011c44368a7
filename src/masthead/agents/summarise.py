"""Summarise: turns a run of old pieces, notes and edits into one meta-note for retrieval."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from masthead.agents.base import (
    AgentInput,
    AgentOutput,
    AgentResult,
    Effect,
    ModelClient,
    ProjectContext,
    quote_data,
    system_prompt,
)
from masthead.agents.memory_context import MemoryNote
from masthead.providers.base import Message

ITEM_CHARS = 400  # enough of each item to say what it was about; keeps the prompt bounded


class SummariseInput(AgentInput):
    project: ProjectContext
    items: list[MemoryNote] = Field(min_length=1)


class SummariseOutput(AgentOutput):
    summary: str = Field(min_length=1, max_length=2000)


class SummariseAgent:
    name: ClassVar[str] = "summarise"
    prompt_version: ClassVar[str] = "summarise/1"
    effect: ClassVar[Effect] = "none"
    input_model = SummariseInput
    output_model = SummariseOutput

    def run(self, inp: SummariseInput, model: ModelClient) -> AgentResult:
        items = "\n".join(quote_data(note.kind, note.text[:ITEM_CHARS]) for note in inp.items)
        messages = [
            Message(role="system", content=system_prompt("You keep the project's memory tidy.", inp.project)),
            Message(
                role="user",
                content=(
                    f"Earlier pieces, notes and edits, oldest first:\n{items}\n\n"
                    "Summarise them in a short paragraph: what was announced (with versions), what the "
                    "operator changed in drafts, and any style that recurs. "
                    'Answer as JSON: {"summary": "..."}'
                ),
            ),
        ]
        output = model.generate(messages, SummariseOutput)
        return AgentResult(output=SummariseOutput(summary=output.summary.strip()))
