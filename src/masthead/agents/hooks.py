"""Hooks: three opening lines for a newsletter, each with the angle it takes.

A hook is grounded in the signal's items (a trend's numbers, a feed item's title): the prompt
quotes the items and the brief, and the fallback composes the hooks from the items alone, so a
model that fails costs the hooks' wording, never the newsletter.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import regex
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
from masthead.agents.brief import BriefOutput
from masthead.agents.memory_context import MemoryNote, memory_section
from masthead.compose.text import numbers_in
from masthead.providers.base import Message

Angle = Literal["news", "number", "reader", "question", "story"]
HOOK_CHARS = 160


class Hook(AgentOutput):
    angle: Angle = Field(description="news: what happened; number: the figure that matters; reader: what it "
                                     "means for the reader; question: the question it answers; story: the moment")
    text: str = Field(min_length=1, max_length=240)
    grounded_in: str = Field("", max_length=240, description="the item or figure the hook rests on")


class HooksInput(AgentInput):
    project: ProjectContext
    signal: SignalContext
    brief: BriefOutput | None = None
    items: list[str] = []  # "kind: text", most salient first
    memory: list[MemoryNote] = []


class HooksOutput(AgentOutput):
    hooks: list[Hook] = Field(min_length=1, max_length=3)
    dropped: list[str] = Field(default_factory=list, description="hooks left out: a figure the signal does not have")


class HooksAgent:
    name: ClassVar[str] = "hooks"
    prompt_version: ClassVar[str] = "hooks/1"
    effect: ClassVar[Effect] = "none"
    input_model = HooksInput
    output_model = HooksOutput

    def run(self, inp: HooksInput, model: ModelClient) -> AgentResult:
        brief = f"{inp.brief.headline}\n{bullet_list(inp.brief.key_points)}" if inp.brief else ""
        messages = [
            Message(role="system", content=system_prompt("You write the opening hooks of a newsletter.", inp.project)),
            Message(
                role="user",
                content=(
                    f"Signal ({inp.signal.kind}):\n{quote_data('signal', signal_excerpt(inp.signal.body, bool(inp.items)))}\n\n"
                    + (f"Its items, most important first:\n{quote_data('items', item_list(inp.items))}\n\n" if inp.items else "")
                    + (f"Brief:\n{quote_data('brief', brief)}\n\n" if brief else "")
                    + memory_section(inp.memory, inp.project.facts)
                    + "Write 3 hooks, one sentence each, under 160 characters, each taking a different angle "
                    "(news, number, reader, question or story). Use only numbers and names from the signal. "
                    'Answer as JSON: {"hooks": [{"angle": "number", "text": "...", "grounded_in": "the item it uses"}]}'
                ),
            ),
        ]
        output = model.generate(messages, HooksOutput)
        known = _figures(" ".join([inp.signal.title or "", inp.signal.body, *inp.items]))
        hooks = [hook.model_copy(update={"text": hook.text.strip()}) for hook in output.hooks if hook.text.strip()]
        # A hook opens the piece: one with a figure the signal does not have is left out here,
        # before the subject lines and the drafts build on it.
        kept = [hook for hook in hooks if _figures(hook.text) <= known]
        dropped = [hook.text for hook in hooks if hook not in kept]
        if not kept:
            composed = self.fallback(inp)
            if composed is None:
                title = Hook(angle="news", text=_sentence(inp.signal.title or inp.signal.body),
                             grounded_in="the signal's title")
                return AgentResult(output=HooksOutput(hooks=[title], dropped=dropped))
            return AgentResult(output=composed.output.model_copy(update={"dropped": dropped}))
        return AgentResult(output=HooksOutput(hooks=kept, dropped=dropped))

    def fallback(self, inp: HooksInput) -> AgentResult | None:
        """Hooks composed from the items: the top item as news, the first item with a figure as
        the number, and the brief's angle (or the second item) for the reader."""
        texts = [item.split(": ", 1)[-1].strip() for item in inp.items if item.strip()]
        if not texts:
            return None
        hooks = [Hook(angle="news", text=_sentence(texts[0]), grounded_in=texts[0][:240])]
        with_figure = next((t for t in texts if any(ch.isdigit() for ch in t) and t != texts[0]), None)
        if with_figure is not None:
            hooks.append(Hook(angle="number", text=_sentence(with_figure), grounded_in=with_figure[:240]))
        reader = inp.brief.angle.strip() if inp.brief and inp.brief.angle.strip() else None
        rest = [t for t in texts[1:] if t != with_figure]
        if reader is not None:
            hooks.append(Hook(angle="reader", text=_sentence(reader), grounded_in="the brief's angle"))
        elif rest:
            hooks.append(Hook(angle="reader", text=_sentence(rest[0]), grounded_in=rest[0][:240]))
        return AgentResult(output=HooksOutput(hooks=hooks[:3]))


def _figures(text: str) -> set[float]:
    """The numbers a text states, as values ("3.9x" and "3.9" are one figure, "1,320" is 1320)."""
    values = set()
    for number in numbers_in(text):
        digits = regex.match(r"[\d,]*\.?\d+", number)
        if digits is not None:
            values.add(float(digits[0].replace(",", "")))
    return values


def _sentence(text: str) -> str:
    """One line of at most HOOK_CHARS characters, cut at a word."""
    line = " ".join(text.split())
    if len(line) <= HOOK_CHARS:
        return line
    cut = line[: HOOK_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"
