"""What a job for an outreach row does differently: its composed email, its extra check and
its one recipient. Every other step of the `outreach` recipe is the ordinary one.

A contacts CSV is one signal per row sharing a batch id (app/outreach.py), so each contact gets
its own job, piece, checks, gate and publication through the recipe engine unchanged; the
batch is read back only to tell a piece which details are another contact's.
"""

from __future__ import annotations

from masthead.channels.checks import CheckResult
from masthead.channels.foreign import ForeignRow, check_other_contacts
from masthead.compose.candidates import Candidate
from masthead.compose.outreach import OutreachRow, ProjectBrief, compose_outreach
from masthead.runtime.context import TaskContext


def outreach_candidates(ctx: TaskContext) -> list[Candidate]:
    """The composed email for the job's contact (none when the job is not for a contact)."""
    contact = ctx.contact
    if contact is None:
        return []
    project = ctx.project
    row = OutreachRow(name=contact["name"], company=contact["company"], context=contact["context"])
    brief = ProjectBrief(name=project.name, description=project.description, facts=tuple(project.facts))
    disclaimer = project.policies.required_disclaimers.get(ctx.piece_channel)
    return compose_outreach(row, brief, ctx.voice_rules, disclaimer=disclaimer)


def other_contacts_check(ctx: TaskContext, draft: str) -> list[CheckResult]:
    """The `other_contacts` check for a piece of an outreach row; nothing for other pieces."""
    contact = ctx.contact
    if contact is None:
        return []
    project = ctx.project
    # What every email of the project may say: its own row, and the project's own words.
    own = [contact["name"], contact["email"], contact["company"], contact["context"], project.name,
           project.description, project.audience, project.voice.sign_off or "", *project.facts,
           project.policies.required_disclaimers.get(ctx.piece_channel) or ""]
    others = [ForeignRow(label=f"line {row['line']}", name=row["name"], email=row["email"], company=row["company"],
                         context=row["context"]) for row in ctx.others]
    return [check_other_contacts(draft, own, others)]


def recipients(ctx: TaskContext) -> tuple[str, ...] | None:
    """Whom a publication of the job's piece goes to: the contact alone, or None (the
    publisher's own list) when the job is not for a contact. A forgotten contact's job never
    gets here (load_context refuses it), so this is never "[forgotten]"."""
    contact = ctx.contact
    return (contact["email"],) if contact is not None else None


def recipient_key(ctx: TaskContext) -> tuple[str, ...] | None:
    """What a publication's idempotency key names as its recipient: a sealed contact's subject
    id (the key is in the log, where the address must not be), else the recipients themselves
    (contacts of logs written before contacts were sealed keep the key they had)."""
    to = recipients(ctx)
    subject = ctx.signal.get("subject")
    return (str(subject),) if to is not None and subject else to
