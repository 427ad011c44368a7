"""Personal data sealed with a key per person: the keys, sealing and opening.

The log is append-only, so a person's data in it is stored encrypted (Fernet) with that
person's own key, kept outside the log in `subject_keys` (subject id, SHA-256 of the address,
key). Deleting the key (`masthead forget-person`, app/personal.py) forgets the person: the log
still verifies and replays to the same bytes, and what the key sealed reads "[forgotten]".
One person, one key, whether they are a user (their address) or the subject of signals
(an outreach contact, a signal added with `--person`).

This module sits below the runtime (which opens a signal to draft from it) and the app (which
seals what comes in); read models keep the sealed form, and readers open it with `open_signal`.
What a job about the person derives (model answers, step outputs, piece versions, check
details) is sealed with the same key by a `Sealer` and opened with `open_text`, `open_output`,
`open_pieces` and `open_checks` (the exact list: app/personal.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from masthead.errors import InputError, StateError

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FORGOTTEN = "[forgotten]"
# The note of a job's ItemsExtracted when its signal is about one person: the items quote the
# sealed text, so the log keeps none of them and readers parse them from the opened signal.
SEALED_ITEMS_NOTE = "sealed with the person's key: parsed from the signal when it is read"
# The personal fields of an outreach contact (SignalReceived.contact); batch_id and line stay plain.
CONTACT_FIELDS = ("name", "email", "company", "context")


class PersonWasForgotten(StateError):
    """A job's signal is about a person whose key was deleted: it can neither draft nor send."""


class Reads(Protocol):
    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]: ...


def normal_address(email: str, field: str = "email") -> str:
    address = email.strip().lower()
    if not EMAIL.match(address):
        raise InputError(f"{email!r} is not an email address", field=field, fix="write it as name@example.com")
    return address


def address_hash(address: str) -> str:
    return hashlib.sha256(b"masthead person v1:" + address.encode("utf-8")).hexdigest()


def person_key(db: Reads, write: Callable[[str, tuple[str, ...]], None], email: str) -> tuple[str, str]:
    """The person's (subject id, key), made on first use. `write` runs the INSERT: a
    transaction's `execute` (the key lands with the events it seals) or `execute_unlogged`."""
    from cryptography.fernet import Fernet  # only commands that seal pay for the import

    hashed = address_hash(normal_address(email))
    rows = db.query("SELECT subject, key FROM subject_keys WHERE email_hash = ?", (hashed,))
    if not rows:
        write("INSERT INTO subject_keys (subject, email_hash, key) VALUES (?, ?, ?) ON CONFLICT (email_hash) DO NOTHING",
              (f"subj_{secrets.token_hex(8)}", hashed, Fernet.generate_key().decode("ascii")))
        # Another process may have made the person's key first: use the one that was kept.
        rows = db.query("SELECT subject, key FROM subject_keys WHERE email_hash = ?", (hashed,))
    return rows[0]["subject"], rows[0]["key"]


def seal(key: str, value: str) -> str:
    from cryptography.fernet import Fernet

    return Fernet(key.encode("ascii")).encrypt(value.encode("utf-8")).decode("ascii")


def unseal(key: str, token: str) -> str:
    from cryptography.fernet import Fernet

    return Fernet(key.encode("ascii")).decrypt(token.encode("ascii")).decode("utf-8")


def keyed_digest(key: str, text: str) -> str:
    """What a sealed signal records instead of the SHA-256 of its text: an HMAC under a key
    derived from the person's, so it still tells equal texts apart (a contact added twice)
    but, once the key is gone, cannot confirm a guess of the text."""
    derived = hashlib.sha256(b"masthead signal digest v1:" + base64.urlsafe_b64decode(key)).digest()
    return hmac.new(derived, text.encode("utf-8"), hashlib.sha256).hexdigest()


def keys_of(db: Reads, subjects: Iterable[str]) -> dict[str, str]:
    """The keys still kept for these subjects (a forgotten subject is absent)."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    rows = db.query(f"SELECT subject, key FROM subject_keys WHERE subject IN ({','.join('?' * len(wanted))})", wanted)
    return {row["subject"]: row["key"] for row in rows}


def sealed_text(title: str | None, body: str, contact: dict[str, str] | None) -> str:
    """The plaintext a sealed signal's token holds: its title, body and contact's personal fields."""
    payload: dict[str, Any] = {"title": title, "body": body}
    if contact is not None:
        payload["contact"] = {name: contact[name] for name in CONTACT_FIELDS}
    return json.dumps(payload, sort_keys=True, ensure_ascii=False)


def open_signals(db: Reads, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Signal rows with their sealed text opened: title, body (where selected) and contact as
    the person wrote them, or "[forgotten]" once the key is gone (`forgotten` says which).
    Rows of signals that hold no personal data come back as they are. A row must carry the
    `subject` and `sealed` columns."""
    keys = keys_of(db, [row["subject"] for row in rows if row.get("subject")])
    return [_open(row, keys) for row in rows]


def open_signal(db: Reads, row: dict[str, Any]) -> dict[str, Any]:
    return open_signals(db, [row])[0]


def _open(row: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    subject = row.get("subject")
    if not subject:
        return row
    key = keys.get(subject)
    if key is None:
        fields: dict[str, Any] = {"title": FORGOTTEN, "body": FORGOTTEN,
                                  "contact": dict.fromkeys(CONTACT_FIELDS, FORGOTTEN)}
    else:
        fields = json.loads(unseal(key, row["sealed"]))
    opened = {**row, "title": fields["title"], "forgotten": key is None}
    if "body" in row:
        opened["body"] = fields["body"]
    if "body_chars" in row:
        opened["body_chars"] = len(fields["body"])
    if row.get("contact"):
        # The read model's contact holds only batch_id and line; the rest comes from the seal.
        contact = {**json.loads(row["contact"]), **fields.get("contact", {})}
        opened["contact"] = json.dumps(contact, sort_keys=True, ensure_ascii=False)
    return opened


# -- text derived from a sealed signal ---------------------------------------------------------
# A job about one person seals what it derives from their signal where it is written: its model
# calls' answers (ModelCallRecorded.output), its steps' outputs (TaskSucceeded.output, but for the
# few plain fields below) and the answers a hand-off quotes (TaskNeedsHuman.partial). Such a value
# is one string, "sealed:v1:<subject>:<Fernet token>", sealed with the person's key; `open_text`
# opens it, or reads "[forgotten]" once the key is gone.
SEALED_TEXT = "sealed:v1:"
# Fields of a step's output that say nothing of the text: the scheduler (halt), the lineage
# (which calls, agent, prompt, tier, version) and who completed it stay readable.
PLAIN_OUTPUT_FIELDS = frozenset({"halt", "output_call", "model_calls", "agent", "prompt_version", "tier", "version",
                                 "completed_by"})
# The field of a sealed step output that holds the rest of it.
SEALED_OUTPUT = "sealed"

Query = Callable[[str, Any], list[dict[str, Any]]]


class Sealer:
    """Seals text derived from one person's signal with their key (see SEALED_TEXT)."""

    __slots__ = ("key", "subject")

    def __init__(self, subject: str, key: str):
        self.subject = subject
        self.key = key

    def seal(self, text: str) -> str:
        return f"{SEALED_TEXT}{self.subject}:{seal(self.key, text)}"

    def seal_output(self, output: dict[str, Any]) -> dict[str, Any]:
        """A step's output with every field but the plain ones sealed into one value."""
        rest = {name: value for name, value in output.items() if name not in PLAIN_OUTPUT_FIELDS}
        kept = {name: value for name, value in output.items() if name in PLAIN_OUTPUT_FIELDS}
        if not rest:
            return kept
        return kept | {SEALED_OUTPUT: self.seal(json.dumps(rest, sort_keys=True, ensure_ascii=False))}


def sealed_if(sealer: Sealer | None, text: str) -> str:
    """`text` sealed when the job is about one person (a sealer), else as it is."""
    return text if sealer is None else sealer.seal(text)


def sealed_subject(sealer: Sealer | None, subject: str | None) -> str | None:
    return subject if sealer is None or subject is None else sealer.seal(subject)


def sealer_of(db: Reads, subject: str | None) -> Sealer | None:
    """The sealer of a signal's subject, or None (no subject, or forgotten: nothing to seal for)."""
    if not subject:
        return None
    key = keys_of(db, [subject]).get(subject)
    return Sealer(subject, key) if key is not None else None


def job_sealer(db: Reads, job_id: str) -> Sealer | None:
    """The sealer of the person a job is about, or None for a job about no one."""
    rows = db.query("SELECT s.subject FROM jobs j JOIN signals s ON s.id = j.signal_id WHERE j.id = ?", (job_id,))
    return sealer_of(db, rows[0]["subject"]) if rows else None


def is_sealed_text(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_TEXT)


def open_text(query: Query, value: str) -> str:
    """A value as stored: opened if `Sealer.seal` sealed it ("[forgotten]" once its key is gone),
    else as it is."""
    return _Opener(query)(value)


def open_output(query: Query, output: dict[str, Any]) -> dict[str, Any]:
    """A step's output as stored, with its sealed part opened; once the key is gone the sealed
    part reads `{"sealed": "[forgotten]"}` (the plain fields stay)."""
    stored = output.get(SEALED_OUTPUT)
    if not isinstance(stored, str) or not is_sealed_text(stored):
        return output
    opened = open_text(query, stored)
    plain = {name: value for name, value in output.items() if name != SEALED_OUTPUT}
    if opened == FORGOTTEN:
        return plain | {SEALED_OUTPUT: FORGOTTEN}
    rest: dict[str, Any] = json.loads(opened)
    return plain | rest


def open_partial(query: Query, partial: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A hand-off's partial answers (TaskNeedsHuman.partial) with their sealed outputs opened."""
    return [{**part, "output": open_text(query, part["output"])} if is_sealed_text(part.get("output")) else part
            for part in partial]


# -- a piece of a job about one person ---------------------------------------------------------
# Its versions' text and subject (PieceDrafted / PieceRevised, and the pieces / piece_versions
# read models that copy them) and its checks' details (ChecksRecorded; the checks table and the
# piece's flags, "name: detail") are sealed like the rest: readers open them with `open_pieces`,
# `open_checks` and `open_flags`.
PIECE_FIELDS = ("text", "subject")


class _Opener:
    """Opens sealed values, asking for each subject's key once.

    Text that only looks sealed stays as it is: a person may type "sealed:v1:..." into a piece
    of a job about no one, or a model may write it. Masthead sealed a value only if its subject
    is one some signal was sealed for (forgotten or not) and, while the key is kept, the token
    opens with it; anything else is somebody's text, not "[forgotten]"."""

    def __init__(self, query: Query):
        self._query = query
        self._keys: dict[str, str | None] = {}
        self._known: dict[str, bool] = {}

    def __call__(self, value: Any) -> Any:
        if not is_sealed_text(value):
            return value
        subject, _, token = value[len(SEALED_TEXT):].partition(":")
        if subject not in self._keys:
            rows = self._query("SELECT key FROM subject_keys WHERE subject = ?", (subject,))
            self._keys[subject] = rows[0]["key"] if rows else None
        key = self._keys[subject]
        if key is None:
            return FORGOTTEN if self._sealed_for(subject) else value
        from cryptography.fernet import InvalidToken  # loaded by unseal anyway

        try:
            return unseal(key, token)
        except (InvalidToken, UnicodeEncodeError):  # not sealed with this key: somebody's text
            return value

    def _sealed_for(self, subject: str) -> bool:
        """Whether a signal was sealed for `subject`: its key is gone because it was forgotten
        (or an import came without keys), not because nobody ever had one."""
        if subject not in self._known:
            self._known[subject] = bool(self._query("SELECT 1 FROM signals WHERE subject = ? LIMIT 1", (subject,)))
        return self._known[subject]


def open_pieces(query: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of pieces or piece_versions (or any row with `text` / `subject` / `flags` columns)
    with what was sealed opened; rows of jobs about no one come back as they are."""
    opener = _Opener(query)
    opened = []
    for row in rows:
        if not any(is_sealed_text(row.get(field)) for field in PIECE_FIELDS) and "sealed:v1:" not in str(
                row.get("flags") or ""):
            opened.append(row)
            continue
        row = {**row, **{field: opener(row[field]) for field in PIECE_FIELDS if field in row}}
        if isinstance(row.get("flags"), str):
            row["flags"] = json.dumps(_open_flags(opener, json.loads(row["flags"])))
        opened.append(row)
    return opened


def open_piece(query: Query, row: dict[str, Any]) -> dict[str, Any]:
    return open_pieces(query, [row])[0]


def piece_forgotten(piece: dict[str, Any]) -> bool:
    """Whether an opened piece's text was sealed with a key that is gone."""
    return piece.get("text") == FORGOTTEN


def open_checks(query: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of checks (or ChecksRecorded results) with their sealed details opened."""
    opener = _Opener(query)
    return [{**row, "detail": opener(row["detail"])} if is_sealed_text(row.get("detail")) else row for row in rows]


def _open_flags(opener: _Opener, flags: list[str]) -> list[str]:
    opened = []
    for flag in flags:
        name, sep, detail = flag.partition(": ")
        opened.append(f"{name}{sep}{opener(detail)}" if sep and is_sealed_text(detail) else flag)
    return opened


def open_flags(query: Query, flags: list[str]) -> list[str]:
    """A piece's flags ("name: detail") with their sealed details opened."""
    return _open_flags(_Opener(query), flags)
