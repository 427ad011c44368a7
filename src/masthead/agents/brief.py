"""Brief: reads the signal and lists what matters, for every channel's draft to build on."""

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
    SignalContext,
    bullet_list,
    item_list,
    quote_data,
    signal_excerpt,
    system_prompt,
)
from masthead.agents.memory_context import MemoryNote, memory_section
from masthead.providers.base import Message


class BriefInput(AgentInput):
    project: ProjectContext
    signal: SignalContext
    items: list[str] = []  # "kind: text", most salient first, parsed from the signal before any model ran
    memory: list[MemoryNote] = []


class BriefOutput(AgentOutput):
    headline: str = Field(min_length=1, max_length=140)
    key_points: list[str] = Field(min_length=1, max_length=4)
    angle: str = Field(max_length=200)


class BriefAgent:
    name: ClassVar[str] = "brief"
    prompt_version: ClassVar[str] = "brief/3"
    effect: ClassVar[Effect] = "none"
    input_model = BriefInput
    output_model = BriefOutput

    def run(self, inp: BriefInput, model: ModelClient) -> AgentResult:
        messages = [
            Message(role="system", content=system_prompt("You are an editor writing a content brief.", inp.project)),
            Message(
                role="user",
                content=(
                    f"Signal ({inp.signal.kind}):\n{quote_data('signal', signal_excerpt(inp.signal.body, bool(inp.items)))}\n\n"
                    + (f"Its items, most important first:\n{quote_data('items', item_list(inp.items))}\n\n" if inp.items else "")
                    + f"Known facts:\n{bullet_list(inp.project.facts)}\n\n"
                    f"{memory_section(inp.memory, inp.project.facts)}"
                    "Write a brief as JSON with keys: headline (one line), key_points (2 to 4 short "
                    "points taken from the signal), angle (why the audience cares)."
                ),
            ),
        ]
        output = model.generate(messages, BriefOutput)
        return AgentResult(output=output)

    def fallback(self, inp: BriefInput) -> AgentResult | None:
        """The brief without a model: the title and the most salient items. Used when the model's
        output is unusable, so a weak model costs the brief's wording, never the job."""
        points = [item.split(": ", 1)[-1][:200] for item in inp.items[:4]]
        if not points:
            return None
        headline = (inp.signal.title or points[0])[:140]
        return AgentResult(output=BriefOutput(headline=headline, key_points=points, angle=""))
