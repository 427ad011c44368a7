"""Memory as agents see it: retrieved items, quoted into prompts as untrusted data."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from masthead.agents.base import quote_data
from masthead.memory.items import proposal_outcome


class MemoryNote(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: str  # fact | exemplar | piece | note | meta_note | feedback | proposal
    tier: str  # session | project | global
    text: str
    source: str


_LABELS = {
    "fact": "fact", "exemplar": "voice example", "piece": "earlier published piece", "note": "operator note",
    "meta_note": "summary of earlier work", "feedback": "the operator's own edit of an earlier draft",
    "proposal": "passage of an earlier proposal",
}


def _label(note: MemoryNote) -> str:
    # Feedback comes from a person's edit or from an A/B test's outcome; say which.
    if note.kind == "feedback" and note.source.startswith("abtest:"):
        return "A/B test result with this audience"
    if note.kind == "proposal":
        return f"passage of an earlier proposal that was {proposal_outcome(note.source) or 'sent'}"
    return _LABELS.get(note.kind, note.kind)


def memory_section(notes: Iterable[MemoryNote], already_shown: Iterable[str] = ()) -> str:
    """A prompt section quoting each item as data; empty when there is nothing new to add.

    Items whose text the prompt already shows (the project's facts and exemplars) are left
    out so they do not take the context window twice.
    """
    shown = {" ".join(text.split()) for text in already_shown}
    fresh = [note for note in notes if " ".join(note.text.split()) not in shown]
    if not fresh:
        return ""
    blocks = "\n".join(quote_data("memory", f"({_label(n)}) {n.text}") for n in fresh)
    return ("Project memory: background to draw on. Earlier pieces show how we wrote before; their "
            f"numbers are not facts about this release.\n{blocks}\n\n")
