"""The composed candidate of an outreach email: built from one contact's row and the project.

No model is needed and nothing else goes in: a greeting by first name, the row's context as the
operator wrote it, what the project is (its description and up to two facts), a question, the
voice's sign-off and the required disclaimer. It is the floor the model's email must beat: the
model's draft competes with it under the same checks (runtime/drafting.py `choose_draft`).
"""

from __future__ import annotations

from dataclasses import dataclass

from masthead.channels.limits import grapheme_length
from masthead.compose.candidates import SUBJECT_LIMIT, Candidate, VoiceRules, cut

FACTS_IN_EMAIL = 2


@dataclass(frozen=True)
class OutreachRow:
    name: str
    company: str
    context: str


@dataclass(frozen=True)
class ProjectBrief:
    name: str
    description: str
    facts: tuple[str, ...]


def first_name(name: str) -> str:
    words = name.split()
    return words[0] if words else name


def compose_outreach(row: OutreachRow, project: ProjectBrief, voice: VoiceRules,
                     *, disclaimer: str | None = None) -> list[Candidate]:
    """One composed email for the row (subject and body)."""
    context = _sentence(row.context)
    about = _sentence(f"{project.name}: {project.description}") if project.description else ""
    facts = " ".join(_sentence(fact) for fact in project.facts[:FACTS_IN_EMAIL])
    at = f" at {row.company}" if row.company else ""
    question = f"Would it be useful for you{at}? I am glad to tell you more."
    blocks = [f"Hi {first_name(row.name)},", f"I am writing because of this: {context}", about, facts, question,
              voice.sign_off or "", disclaimer or ""]
    text = "\n\n".join(block for block in blocks if block)
    subject = f"{project.name} for {row.company}" if row.company else f"{project.name}, for {first_name(row.name)}"
    return [Candidate("composed", text, cut(subject, SUBJECT_LIMIT, grapheme_length))]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…" else text + "."
