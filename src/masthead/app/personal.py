"""Personal data in an append-only log: sealed with a key per person, forgotten by deleting the key.

Covered fields (each sealed with the key of the person it is about; one person, one key):
- a user's email address (`masthead user add NAME --email ADDRESS`): `UserAdded.email` holds
  `{"subject", "sealed"}`;
- an outreach contact (`masthead signal add P --kind outreach --file contacts.csv`, one signal
  per row, the row's address being the person): its name, email, company and context, and the
  signal's title and body made from them;
- a signal added with `--person ADDRESS` (CLI, API `person`): its title and body.
A sealed signal's `SignalReceived` holds `subject` and `sealed` (one Fernet token of the title,
body and contact's personal fields), `title: null`, `body: ""`, a contact with only `batch_id`
and `line`, and as `sha256` an HMAC under a key derived from the person's, not a plain hash.
Read models copy that as it is, so replay rebuilds the same bytes with or without the keys;
readers open it (`masthead.personal_data.open_signals`), and a job about a forgotten person
fails with "the person was forgotten" instead of drafting or sending. A publication to a
sealed contact is keyed by the subject id, not the address, and the SMTP receipt names no
address. A job about the person copies none of the signal's own text elsewhere in the log:
its ItemsExtracted keeps no items (parsed again when read), its memory retrievals record a
placeholder query, a hand-off records only the project's inputs.

What a job about the person derives from the signal is sealed with the same key where it is
written (personal_data.Sealer): its model calls' answers (`ModelCallRecorded.output`), its
steps' outputs (`TaskSucceeded.output` but for its plain fields: halt, output_call, model_calls,
agent, prompt_version, tier, version, completed_by), the answers a hand-off quotes
(`TaskNeedsHuman.partial`), its pieces' versions (the text and subject of `PieceDrafted` /
`PieceRevised`, a person's edit or completion included, copied sealed into `pieces` and
`piece_versions`), its checks' details (`ChecksRecorded`, so the `checks` rows and the piece's
flags), a legal flag's quote when a person resolves it and the lines of an A/B test of its
subject (`AbTestStarted`, `ab_variants`). A call's request hash stays over the
plaintext request (a re-run reuses the recording); usage, cost and model stay plain; a gate's
review reason names the failed checks without their details and a sensitive topic without
the sentence. Readers open them
(`runtime.outputs.step_output`, `open_partial`, `open_pieces`, `open_checks`).

Not covered: copies already published, which are outside Masthead (`forget-person` counts
them). Such jobs never feed memory (nor do their proposals' outcomes or A/B results).

The keys live in `subject_keys`, outside the log, beside a SHA-256 of the address to find them.
`masthead forget-person ADDRESS` deletes the key (and that hash) and appends `PersonForgotten`
naming only the subject id: the log still verifies, and every sealed value reads "[forgotten]".
An export carries no keys (an imported log reads every sealed value as forgotten); a backup
(the whole SQLite file restored into SQLite, or pg_dump) carries them. A client project's
`client.contacts` (in ProjectApplied) are not sealed either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from masthead.app.permissions import Principal, authorize
from masthead.app.workspace import Workspace
from masthead.errors import NotFoundError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.people_types import PersonForgotten
from masthead.events.store import EventStore, Transaction
from masthead.events.types import SignalReceived
from masthead.personal_data import (
    FORGOTTEN,
    address_hash,
    keyed_digest,
    normal_address,
    person_key,
    seal,
    sealed_text,
    unseal,
)

__all__ = ["FORGOTTEN", "Forgotten", "forget_person", "open_sealed", "seal_email", "seal_signal"]


def seal_email(store: EventStore, email: str) -> dict[str, str]:
    """The address sealed with its person's key (made on first use, outside the log)."""
    address = normal_address(email)
    subject, key = person_key(store, store.execute_unlogged, address)
    return {"subject": subject, "sealed": seal(key, address)}


def seal_signal(tx: Transaction, received: SignalReceived, person: str) -> SignalReceived:
    """The signal with its title and body sealed with the person's key (made in `tx`, with the
    event); `sha256` becomes the keyed digest."""
    subject, key = person_key(tx, tx.execute, person)
    return received.model_copy(update={
        "title": None, "body": "", "sha256": keyed_digest(key, received.body), "subject": subject,
        "sealed": seal(key, sealed_text(received.title, received.body, None))})


def open_sealed(store: EventStore, stored: str | None) -> str | None:
    """A sealed value as a read model holds it (JSON), opened; "[forgotten]" once its key is gone."""
    if stored is None:
        return None
    value = json.loads(stored)
    rows = store.query("SELECT key FROM subject_keys WHERE subject = ?", (value["subject"],))
    if not rows:
        return FORGOTTEN
    return unseal(rows[0]["key"], value["sealed"])


@dataclass(frozen=True)
class Forgotten:
    """What forgetting a person did, and what it could not do."""

    subject: str
    signals: int  # signals sealed with the key: unreadable now
    users: int  # user records whose address was sealed with it
    pieces: int  # pieces of jobs about the person: their versions and checks were sealed, unreadable now
    model_calls: int  # model calls of those jobs: their answers were sealed and are unreadable now
    publications: int  # of those pieces, delivered: copies outside Masthead

    def still_held(self) -> str | None:
        """What stays readable of what was derived from the person's data, or None."""
        if not self.publications:
            return None
        return (f"{self.publications} publication(s) of jobs about this person went out, and those copies are"
                " outside Masthead")


def forget_person(ws: Workspace, by: Principal, email: str) -> Forgotten:
    """Delete the person's key: every value sealed with it is unreadable from now on. Returns
    the subject id recorded in the log, with counts of what was and was not sealed with it."""
    authorize(by, "users")
    store = ws.store
    rows = store.query("SELECT subject FROM subject_keys WHERE email_hash = ?", (address_hash(normal_address(email)),))
    if not rows:
        raise NotFoundError("no personal data is kept for that address", field="email",
                            fix="check the spelling; nothing was changed")
    subject = rows[0]["subject"]
    store.execute_unlogged("DELETE FROM subject_keys WHERE subject = ?", (subject,))
    store.append([PersonForgotten(subject=subject).to_new(stream_of("person", subject))],
                 Meta(actor=by.actor, at=utc_now()))
    return _counts(store, subject)


_OF_SUBJECT = "FROM jobs j JOIN signals s ON s.id = j.signal_id WHERE s.subject = ?"


def _counts(store: EventStore, subject: str) -> Forgotten:
    def count(sql: str) -> int:
        return int(store.query(sql, (subject,))[0]["n"])

    # The users read model holds the sealed address as JSON {"sealed": ..., "subject": ...}.
    users = sum(1 for row in store.query("SELECT email FROM users WHERE email IS NOT NULL")
                if json.loads(row["email"]).get("subject") == subject)
    return Forgotten(
        subject=subject,
        signals=count("SELECT COUNT(*) AS n FROM signals WHERE subject = ?"),
        users=users,
        pieces=count(f"SELECT COUNT(*) AS n FROM pieces p WHERE p.job_id IN (SELECT j.id {_OF_SUBJECT})"),
        model_calls=count(f"SELECT COUNT(*) AS n FROM model_calls m WHERE m.job_id IN (SELECT j.id {_OF_SUBJECT})"),
        publications=count("SELECT COUNT(*) AS n FROM publications u WHERE u.status IN ('delivered', 'retracted') AND u.piece_id IN"
                           f" (SELECT p.id FROM pieces p WHERE p.job_id IN (SELECT j.id {_OF_SUBJECT}))"),
    )
