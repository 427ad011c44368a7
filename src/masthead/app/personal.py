"""Personal data in an append-only log: sealed with a key per person, forgotten by deleting the key.

Covered fields: a user's email address (`masthead user add NAME --email ADDRESS`, stored in
`UserAdded.email`). The event holds only `{"subject": <random id>, "sealed": <Fernet token>}`;
the read model copies that as it is, so replay rebuilds the same bytes with or without the key.
The key lives in `subject_keys`, outside the log, beside a SHA-256 of the address to find it.
`masthead forget-person ADDRESS` deletes the key (and that hash) and appends `PersonForgotten`
naming only the subject id: the log still verifies, and the address reads as "[forgotten]".
Signal text, pieces and memory are not covered: they are free text with no known subject.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets

from masthead.app.permissions import Principal, authorize
from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.people_types import PersonForgotten
from masthead.events.store import EventStore

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FORGOTTEN = "[forgotten]"


def _normal(email: str) -> str:
    address = email.strip().lower()
    if not EMAIL.match(address):
        raise InputError(f"{email!r} is not an email address", field="email", fix="write it as name@example.com")
    return address


def _hash(address: str) -> str:
    return hashlib.sha256(b"masthead person v1:" + address.encode("utf-8")).hexdigest()


def seal_email(store: EventStore, email: str) -> dict[str, str]:
    """The address sealed with its person's key (made on first use, outside the log)."""
    from cryptography.fernet import Fernet  # only commands that seal pay for the import

    address = _normal(email)
    rows = store.query("SELECT subject, key FROM subject_keys WHERE email_hash = ?", (_hash(address),))
    if rows:
        subject, key = rows[0]["subject"], rows[0]["key"]
    else:
        subject, key = f"subj_{secrets.token_hex(8)}", Fernet.generate_key().decode("ascii")
        store.execute_unlogged("INSERT INTO subject_keys (subject, email_hash, key) VALUES (?, ?, ?)"
                               " ON CONFLICT (email_hash) DO NOTHING", (subject, _hash(address), key))
        # Another process may have made the person's key first: use the one that was kept.
        row = store.query("SELECT subject, key FROM subject_keys WHERE email_hash = ?", (_hash(address),))[0]
        subject, key = row["subject"], row["key"]
    return {"subject": subject, "sealed": Fernet(key.encode("ascii")).encrypt(address.encode("utf-8")).decode("ascii")}


def open_sealed(store: EventStore, stored: str | None) -> str | None:
    """A sealed value as a read model holds it (JSON), opened; "[forgotten]" once its key is gone."""
    from cryptography.fernet import Fernet

    if stored is None:
        return None
    value = json.loads(stored)
    rows = store.query("SELECT key FROM subject_keys WHERE subject = ?", (value["subject"],))
    if not rows:
        return FORGOTTEN
    return Fernet(rows[0]["key"].encode("ascii")).decrypt(value["sealed"].encode("ascii")).decode("utf-8")


def forget_person(ws: Workspace, by: Principal, email: str) -> str:
    """Delete the person's key: every value sealed with it is unreadable from now on. Returns
    the subject id recorded in the log."""
    authorize(by, "users")
    rows = ws.store.query("SELECT subject FROM subject_keys WHERE email_hash = ?", (_hash(_normal(email)),))
    if not rows:
        raise NotFoundError("no personal data is kept for that address", field="email",
                            fix="check the spelling; nothing was changed")
    subject = rows[0]["subject"]
    ws.store.execute_unlogged("DELETE FROM subject_keys WHERE subject = ?", (subject,))
    ws.store.append([PersonForgotten(subject=subject).to_new(stream_of("person", subject))],
                    Meta(actor=by.actor, at=utc_now()))
    return subject
