"""Draft: writes one channel's piece from the brief, in the project's voice."""

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
    signal_excerpt,
    system_prompt,
)
from masthead.agents.brief import BriefOutput
from masthead.agents.hooks import HooksOutput
from masthead.agents.memory_context import MemoryNote, memory_section
from masthead.agents.subject_lines import SubjectLinesOutput
from masthead.providers.base import Message

SUBJECT_LIMIT = 60


class DraftInput(AgentInput):
    project: ProjectContext
    signal: SignalContext
    channel: str
    channel_guide: str
    brief: BriefOutput
    subjects: SubjectLinesOutput | None = None
    hooks: HooksOutput | None = None  # the newsletter recipe's hooks: the draft opens with the first
    required_disclaimer: str | None = None
    items: list[str] = []  # "kind: text", most salient first: the prompt then quotes only an excerpt of the body
    memory: list[MemoryNote] = []


class DraftOutput(AgentOutput):
    text: str = Field(min_length=1, max_length=4000)


def pick_subject(options: list[str]) -> str:
    """The first option that fits the subject limit, else the shortest one."""
    fitting = [s for s in options if 0 < len(s) <= SUBJECT_LIMIT]
    return fitting[0] if fitting else min(options, key=len)


class DraftAgent:
    name: ClassVar[str] = "draft"
    prompt_version: ClassVar[str] = "draft/3"
    effect: ClassVar[Effect] = "draft"
    input_model = DraftInput
    output_model = DraftOutput

    def run(self, inp: DraftInput, model: ModelClient) -> AgentResult:
        examples = "\n\n".join(quote_data("exemplar", e) for e in inp.project.exemplars[:2])
        opening = f"\nOpen with this hook:\n{quote_data('hook', inp.hooks.hooks[0].text)}" if inp.hooks else ""
        disclaimer = f"\nEnd with this disclaimer, word for word: {inp.required_disclaimer}" if inp.required_disclaimer else ""
        messages = [
            Message(role="system", content=system_prompt("You write social posts and newsletters.", inp.project)),
            Message(
                role="user",
                content=(
                    f"Brief:\n{quote_data('brief', inp.brief.headline + chr(10) + bullet_list(inp.brief.key_points))}\n\n"
                    f"Source:\n{quote_data('signal', signal_excerpt(inp.signal.body, bool(inp.items)))}\n\n"
                    f"Facts you may use:\n{bullet_list(inp.project.facts)}\n\n"
                    + (f"Examples of our voice:\n{examples}\n\n" if examples else "")
                    + memory_section(inp.memory, [*inp.project.facts, *inp.project.exemplars[:2]])
                    + f"Write the {inp.channel} piece. {inp.channel_guide} Use only numbers, versions "
                    f"and links that appear in the source or the facts.{opening}{disclaimer}\n"
                    'Answer as JSON: {"text": "..."}'
                ),
            ),
        ]
        output = model.generate(messages, DraftOutput)
        subject = pick_subject(inp.subjects.subjects) if inp.subjects else None
        text = output.text.strip()
        return AgentResult(output=output, effects=[DraftEffect(channel=inp.channel, text=text, subject=subject)])
