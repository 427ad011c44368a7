"""Outreach: a contacts CSV becomes one signal per row, sharing a batch id, in one transaction.

Why one signal (and so one job) per contact, not a new fan-out: the recipe engine already runs
one job per signal and one piece per job and channel, with its own checks, gate, outbox key and
manual fallback; a contact is exactly such a unit. A per-contact fan-out would change task ids,
piece ids and planning for every recipe. The batch id (SignalReceived.contact.batch_id) is
what ties the rows together, so each piece's checks can treat the other rows as foreign.

Each row is a person: its name, email, company and context (and the signal's title and body
made from them) are sealed with that person's key (masthead/personal_data.py), so forgetting
them (`masthead forget-person ADDRESS`) leaves the log verifiable and the row unreadable.

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
from masthead.events.types import SealedContact, SignalReceived
from masthead.personal_data import keyed_digest, person_key, seal, sealed_text
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
        # Each row is sealed with its person's key, made in this transaction (app/personal.py).
        sealed = [_seal(tx, contact) for contact in parsed.contacts]
        _refuse_repeats(tx, project.name, parsed.contacts, sealed, label)
        for contact, row_seal in zip(parsed.contacts, sealed, strict=True):
            received = _signal(project.name, batch_id, contact, row_seal, source, priority)
            signal_ids.append(received.id)
            job_ids += receive_signal(tx, ws, project, recipes, received, meta)
        deferred = deferral_reasons(tx, job_ids)
    return ContactsAdded(batch_id, signal_ids, job_ids, [r.name for r in recipes], deferred, parsed.ignored_columns)


@dataclass(frozen=True)
class _Sealed:
    subject: str
    key: str
    digest: str  # the context's HMAC under the person's key: SignalReceived.sha256


def _seal(tx: Transaction, contact: Contact) -> _Sealed:
    subject, key = person_key(tx, tx.execute, contact.email)
    return _Sealed(subject, key, keyed_digest(key, contact.context))


def _signal(project: str, batch_id: str, contact: Contact, sealed: _Sealed, source: str, priority: str) -> SignalReceived:
    # The body is the row's context: what the items, the substance check and grounding read.
    # Name and company are in the title; the address only in `contact`, never in a prompt.
    # All of them are sealed with the contact's key; the event keeps only the batch and line.
    title = f"{contact.name} ({contact.company})" if contact.company else contact.name
    fields = {"name": contact.name, "email": contact.email, "company": contact.company, "context": contact.context}
    return SignalReceived(
        id=new_id("sig"), project=project, kind=OUTREACH_KIND, title=None, priority=priority, body="",
        source=f"{source} line {contact.line}", sha256=sealed.digest, trust="operator",
        contact=SealedContact(batch_id=batch_id, line=contact.line), subject=sealed.subject,
        sealed=seal(sealed.key, sealed_text(title, contact.context, fields)),
    )


def _refuse_repeats(tx: Transaction, project: str, contacts: list[Contact], sealed: list[_Sealed], label: str) -> None:
    """Adding the same file twice would write to everyone twice: a contact already added with
    the same context is refused, naming its line and the earlier batch. A sealed row is the
    same person (subject) with the same keyed digest; rows written before contacts were sealed
    compare their address and SHA-256. A forgotten person is a new person."""
    earlier: dict[tuple[str, str], str] = {}
    for row in tx.query("SELECT sha256, batch_id, contact, subject FROM signals WHERE project = ? AND kind = ?"
                        " AND batch_id IS NOT NULL", (project, OUTREACH_KIND)):
        who = row["subject"] or json.loads(row["contact"])["email"].casefold()
        earlier[(who, row["sha256"])] = row["batch_id"]
    repeats = []
    for contact, row_seal in zip(contacts, sealed, strict=True):
        plain = (contact.email.casefold(), hashlib.sha256(contact.context.encode()).hexdigest())
        key = (row_seal.subject, row_seal.digest) if (row_seal.subject, row_seal.digest) in earlier else plain
        if key in earlier:
            repeats.append(f"line {contact.line} ({contact.email}) was added with the same context in batch {earlier[key]}")
    if repeats:
        more = f"; and {len(repeats) - 3} more" if len(repeats) > 3 else ""
        raise InputError(f"{label}: {'; '.join(repeats[:3])}{more}",
                         fix="remove those rows (they were written to already), or change their context to write "
                             "again; nothing was recorded")
