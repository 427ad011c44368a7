"""Subject lines: a few short variants for newsletter and email pieces."""

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
    bullet_list,
    quote_data,
    system_prompt,
)
from masthead.agents.brief import BriefOutput
from masthead.agents.hooks import HooksOutput
from masthead.agents.memory_context import MemoryNote, memory_section
from masthead.providers.base import Message


class SubjectLinesInput(AgentInput):
    project: ProjectContext
    channel: str
    brief: BriefOutput
    hooks: HooksOutput | None = None  # the newsletter recipe's hooks: subject lines may take their angles
    memory: list[MemoryNote] = []  # A/B results (which subject lines won and lost) come in as feedback


class SubjectLinesOutput(AgentOutput):
    subjects: list[str] = Field(min_length=1, max_length=3)


class SubjectLinesAgent:
    name: ClassVar[str] = "subject_lines"
    prompt_version: ClassVar[str] = "subject_lines/3"
    effect: ClassVar[Effect] = "none"
    input_model = SubjectLinesInput
    output_model = SubjectLinesOutput

    def run(self, inp: SubjectLinesInput, model: ModelClient) -> AgentResult:
        brief = f"{inp.brief.headline}\n{bullet_list(inp.brief.key_points)}"
        hooks = bullet_list([f"({hook.angle}) {hook.text}" for hook in inp.hooks.hooks]) if inp.hooks else ""
        messages = [
            Message(role="system", content=system_prompt("You write email subject lines.", inp.project)),
            Message(
                role="user",
                content=(
                    f"Brief:\n{quote_data('brief', brief)}\n\n"
                    + (f"Hooks, each with its angle:\n{quote_data('hooks', hooks)}\n\n" if hooks else "")
                    + memory_section(inp.memory)
                    + f"Write 3 subject lines for the {inp.channel}, each under 60 characters, "
                    'as JSON: {"subjects": ["...", "...", "..."]}. Where memory says which subject lines '
                    "won or lost with this audience, write more like the winners. Give each line a different angle."
                ),
            ),
        ]
        output = model.generate(messages, SubjectLinesOutput)
        # Trim stray whitespace; the subject check, not the model, enforces the 60-character limit.
        cleaned = SubjectLinesOutput(subjects=[s.strip() for s in output.subjects if s.strip()] or output.subjects)
        return AgentResult(output=cleaned)

    def fallback(self, inp: SubjectLinesInput) -> AgentResult | None:
        """The brief's headline as the one subject line: a model that fails costs the wording of
        the subject, never the newsletter (the subject check still holds it to 60 characters)."""
        subjects = [inp.brief.headline.strip()[:60]]
        # With hooks, the short ones are variants too: an A/B test needs at least two lines.
        subjects += [hook.text for hook in (inp.hooks.hooks if inp.hooks else []) if len(hook.text) <= 60]
        return AgentResult(output=SubjectLinesOutput(subjects=list(dict.fromkeys(subjects))[:3]))
