"""Outreach: a contacts CSV becomes one signal per row, sharing a batch id, in one transaction.

Why one signal (and so one job) per contact, not a new fan-out: the recipe engine already runs
one job per signal and one piece per job and channel, with its own checks, gate, outbox key and
manual fallback; a contact is exactly such a unit. A per-contact fan-out would change task ids,
piece ids and planning for every recipe. The batch id (SignalReceived.contact.batch_id) is
what ties the rows together, so each piece's checks can treat the other rows as foreign.

Everything is checked before the first append: a bad file, a project that cannot send email,
a contact already written to with the same context; the whole file is recorded or none of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from masthead.app.commands import deferral_reasons, get_project, receive_signal, triggered_recipes
from masthead.app.workspace import Workspace
from masthead.errors import ConfigError, InputError
from masthead.events.model import Meta, utc_now
from masthead.events.store import Transaction
from masthead.events.types import OutreachContact, SignalReceived
from masthead.runtime.ids import new_id
from masthead.runtime.jobs import PRIORITIES
from masthead.sources.contacts import MAX_CONTACT_BYTES, OUTREACH_KIND, Contact, parse_contacts

__all__ = ["MAX_CONTACT_BYTES", "OUTREACH_KIND", "ContactsAdded", "add_contacts"]

OUTREACH_CHANNEL = "email"


@dataclass(frozen=True)
class ContactsAdded:
    batch_id: str
    signal_ids: list[str]
    job_ids: list[str]
    recipes: list[str]
    deferred: dict[str, str]  # job id -> why it is parked (backpressure)
    ignored_columns: list[str]


def add_contacts(ws: Workspace, project_name: str, raw: bytes, *, label: str, source: str,
                 priority: str = "normal") -> ContactsAdded:
    """Record a contacts CSV (`raw`, named `label` in errors) as an outreach batch."""
    if priority not in PRIORITIES:
        raise InputError(f"--priority {priority!r} is not one of high, normal, low", fix="use --priority normal")
    parsed = parse_contacts(raw, label)
    project = get_project(ws, project_name)
    if OUTREACH_CHANNEL not in project.channels:
        raise ConfigError(f"project {project.name} has no {OUTREACH_CHANNEL} channel; outreach writes emails",
                          fix=f"add `{OUTREACH_CHANNEL}: {{gate: hard, publish_to: [mail]}}` under channels: in its YAML"
                              " (mail: an smtp publisher in masthead.toml), then `masthead project apply`")
    recipes = triggered_recipes(ws, OUTREACH_KIND)
    if not recipes:
        raise ConfigError(f"no recipe is triggered by kind {OUTREACH_KIND!r}",
                          fix="remove the workspace recipe that replaces the built-in `outreach`, or give it "
                              "`trigger: {signal_kinds: [outreach]}`")
    batch_id = new_id("batch")
    meta = Meta(actor="system", at=utc_now(), correlation_id=batch_id)
    signal_ids: list[str] = []
    job_ids: list[str] = []
    with ws.store.transaction() as tx:
        _refuse_repeats(tx, project.name, parsed.contacts, label)
        for contact in parsed.contacts:
            received = _signal(project.name, batch_id, contact, source, priority)
            signal_ids.append(received.id)
            job_ids += receive_signal(tx, ws, project, recipes, received, meta)
        deferred = deferral_reasons(tx, job_ids)
    return ContactsAdded(batch_id, signal_ids, job_ids, [r.name for r in recipes], deferred, parsed.ignored_columns)


def _signal(project: str, batch_id: str, contact: Contact, source: str, priority: str) -> SignalReceived:
    # The body is the row's context: what the items, the substance check and grounding read.
    # Name and company are in the title; the address only in `contact`, never in a prompt.
    title = f"{contact.name} ({contact.company})" if contact.company else contact.name
    return SignalReceived(
        id=new_id("sig"), project=project, kind=OUTREACH_KIND, title=title, priority=priority, body=contact.context,
        source=f"{source} line {contact.line}", sha256=hashlib.sha256(contact.context.encode()).hexdigest(),
        trust="operator", contact=OutreachContact(batch_id=batch_id, line=contact.line, name=contact.name,
                                                  email=contact.email, company=contact.company,
                                                  context=contact.context),
    )


def _refuse_repeats(tx: Transaction, project: str, contacts: list[Contact], label: str) -> None:
    """Adding the same file twice would write to everyone twice: a contact already added with
    the same context is refused, naming its line and the earlier batch."""
    earlier: dict[tuple[str, str], str] = {}
    for row in tx.query("SELECT sha256, batch_id, contact FROM signals WHERE project = ? AND kind = ?"
                        " AND batch_id IS NOT NULL", (project, OUTREACH_KIND)):
        earlier[(json.loads(row["contact"])["email"].casefold(), row["sha256"])] = row["batch_id"]
    repeats = []
    for contact in contacts:
        key = (contact.email.casefold(), hashlib.sha256(contact.context.encode()).hexdigest())
        if key in earlier:
            repeats.append(f"line {contact.line} ({contact.email}) was added with the same context in batch {earlier[key]}")
    if repeats:
        more = f"; and {len(repeats) - 3} more" if len(repeats) > 3 else ""
        raise InputError(f"{label}: {'; '.join(repeats[:3])}{more}",
                         fix="remove those rows (they were written to already), or change their context to write "
                             "again; nothing was recorded")
