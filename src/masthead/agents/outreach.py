"""Outreach: writes one personal email (subject and body) to one contact of a contacts CSV.

The prompt holds that contact's row and the project's facts, nothing of the batch's other
rows: the model cannot leak what it never sees, and the `other_contacts` check refuses it
anyway. Its email is one candidate beside the one composed from the row (compose/outreach.py).
"""

from __future__ import annotations

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
    bullet_list,
    quote_data,
    system_prompt,
)
from masthead.providers.base import Message


class ContactContext(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str
    company: str = ""
    context: str


class OutreachInput(AgentInput):
    project: ProjectContext
    contact: ContactContext
    channel: str
    channel_guide: str
    required_disclaimer: str | None = None


class OutreachOutput(AgentOutput):
    subject: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)


class OutreachAgent:
    name: ClassVar[str] = "outreach"
    prompt_version: ClassVar[str] = "outreach/1"
    effect: ClassVar[Effect] = "draft"
    input_model = OutreachInput
    output_model = OutreachOutput

    def run(self, inp: OutreachInput, model: ModelClient) -> AgentResult:
        contact = inp.contact
        row = f"Name: {contact.name}\nCompany: {contact.company or '(none)'}\nWhat we know: {contact.context}"
        disclaimer = f"\nEnd with this disclaimer, word for word: {inp.required_disclaimer}" if inp.required_disclaimer else ""
        messages = [
            Message(role="system", content=system_prompt("You write short, personal outreach emails.", inp.project)),
            Message(
                role="user",
                content=(
                    f"The contact:\n{quote_data('contact', row)}\n\n"
                    f"Facts you may use:\n{bullet_list(inp.project.facts)}\n\n"
                    f"Write one email to this contact. {inp.channel_guide} Greet them by first name, say why "
                    "you write from what we know of them, and what the project offers them. Mention no other "
                    "person or company, and use only numbers and links that appear above."
                    f"{disclaimer}\n"
                    'Answer as JSON: {"subject": "...", "text": "..."}'
                ),
            ),
        ]
        output = model.generate(messages, OutreachOutput)
        return AgentResult(output=output, effects=[
            DraftEffect(channel=inp.channel, text=output.text.strip(), subject=output.subject.strip())])
