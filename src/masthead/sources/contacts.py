"""A contacts CSV for outreach: `name,email,company,context`, one contact a row.

Parsed whole before anything is recorded, so a bad file changes nothing: every error names the
line a spreadsheet shows (the header is line 1) and the fix. Addresses are checked by
`email-validator` (syntax only, no DNS: the file may be written offline) and kept in its
normal form, so `Ada@Example.com` and `ada@example.com ` are the same contact.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from masthead.errors import InputError

OUTREACH_KIND = "outreach"  # the signal kind of a contacts row (one signal per row)
COLUMNS = ("name", "email", "company", "context")
REQUIRED = ("name", "email", "context")  # a freelancer has no company; a contact without context has nothing to say
MAX_CONTACT_BYTES = 1_000_000
MAX_CONTACTS = 500  # one job and one hard-gated email each: more than a person reviews in a sitting
MAX_FIELD_CHARS = 2_000
MAX_ERRORS_SHOWN = 5
FIX_ENCODING = "save the file as UTF-8 (a spreadsheet's \"CSV UTF-8\" export, or iconv -f latin1 -t utf-8)"


@dataclass(frozen=True)
class Contact:
    line: int  # where the row starts in the file (the header is line 1)
    name: str
    email: str  # normal form (email-validator's)
    company: str
    context: str

    def as_dict(self) -> dict[str, str | int]:
        return {"line": self.line, "name": self.name, "email": self.email, "company": self.company,
                "context": self.context}


@dataclass(frozen=True)
class ContactList:
    contacts: list[Contact]
    ignored_columns: list[str]


def parse_contacts(raw: bytes, label: str) -> ContactList:
    """The contacts of a CSV file's bytes, or one InputError listing the first problems."""
    if len(raw) > MAX_CONTACT_BYTES:
        raise InputError(f"{label} is {len(raw):,} bytes; the limit is {MAX_CONTACT_BYTES:,}",
                         fix=f"split it into files of at most {MAX_CONTACTS} contacts")
    text = _decode(raw, label)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = _header(next(reader, None), label)
        rows = _rows(reader, header, label)
    except csv.Error as exc:
        raise InputError(f"{label} line {reader.line_num}: not valid CSV ({exc})",
                         fix="quote fields that hold commas, quotes or line breaks with double quotes") from None
    contacts, problems = _contacts(rows, header, label)
    if problems:
        more = len(problems) - MAX_ERRORS_SHOWN
        shown = "; ".join(message for message, _fix in problems[:MAX_ERRORS_SHOWN])
        raise InputError(f"{label}: {shown}" + (f"; and {more} more" if more > 0 else ""),
                         fix=problems[0][1] + "; nothing was recorded")
    if not contacts:
        raise InputError(f"{label} has a header and no contact", fix="add one row per contact under the header")
    ignored = [column for column in header if column not in COLUMNS]
    return ContactList(contacts, ignored)


def _decode(raw: bytes, label: str) -> str:
    if b"\x00" in raw:
        raise InputError(f"{label} is binary, not a CSV file", fix=FIX_ENCODING)
    try:
        return raw.decode("utf-8-sig")  # a spreadsheet's UTF-8 export starts with a byte-order mark
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{label} line {line} is not UTF-8 (byte {exc.start})", fix=FIX_ENCODING) from None


def _header(first: list[str] | None, label: str) -> list[str]:
    if first is None:
        raise InputError(f"{label} is empty", fix=f"start it with the header line {','.join(COLUMNS)}")
    header = [column.strip().lower() for column in first]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise InputError(f"{label} line 1: the header lacks the column(s) {', '.join(missing)} (it has "
                         f"{', '.join(header) or 'none'})", fix=f"make the first line {','.join(COLUMNS)}")
    repeated = sorted({column for column in header if header.count(column) > 1 and column in COLUMNS})
    if repeated:
        raise InputError(f"{label} line 1: the column(s) {', '.join(repeated)} appear twice",
                         fix="keep one column of each name")
    return header


def _rows(reader: Any, header: list[str], label: str) -> list[tuple[int, list[str]]]:
    # `reader` is a csv.reader: its `line_num` says where each row ends, quoted line breaks included.
    rows: list[tuple[int, list[str]]] = []
    line = reader.line_num + 1
    for fields in reader:
        if any(field.strip() for field in fields):
            rows.append((line, fields))
            if len(rows) > MAX_CONTACTS:
                raise InputError(f"{label} has more than {MAX_CONTACTS} contacts (line {line} is contact "
                                 f"{len(rows)})", fix=f"split it into files of at most {MAX_CONTACTS} contacts")
        line = reader.line_num + 1
    return rows


def _contacts(rows: list[tuple[int, list[str]]], header: list[str],
              label: str) -> tuple[list[Contact], list[tuple[str, str]]]:
    """The rows as contacts, and (message, fix) for each row that is not one."""
    contacts: list[Contact] = []
    problems: list[tuple[str, str]] = []
    first_line: dict[str, int] = {}
    for line, fields in rows:
        if len(fields) != len(header):
            problems.append((f"line {line} has {len(fields)} fields, the header has {len(header)}",
                             "quote fields that hold commas with double quotes, and give every row every column"))
            continue
        values = {column: " ".join(value.split()) for column, value in zip(header, fields, strict=True)}
        problem = _row_problem(line, values)
        if problem is not None:
            problems.append(problem)
            continue
        email = _normal_email(values["email"])
        if isinstance(email, tuple):
            problems.append((f"line {line}: email {values['email']!r} is not an email address ({email[0]})",
                             "write the contact's address as name@domain"))
            continue
        key = email.casefold()
        if key in first_line:
            problems.append((f"line {line}: {email} is already the contact on line {first_line[key]}",
                             "keep one row per address (merge the two rows' context into one)"))
            continue
        first_line[key] = line
        contacts.append(Contact(line, values["name"], email, values.get("company", ""), values["context"]))
    return contacts, problems


def _row_problem(line: int, values: dict[str, str]) -> tuple[str, str] | None:
    empty = [column for column in REQUIRED if not values.get(column)]
    if empty:
        fix = ("give every contact an address" if "email" in empty
               else "give every contact a name and a line of context (what you know of them, why you write)")
        return f"line {line}: {', '.join(empty)} is empty", fix
    long = [column for column in COLUMNS if len(values.get(column, "")) > MAX_FIELD_CHARS]
    if long:
        return (f"line {line}: {', '.join(long)} is over {MAX_FIELD_CHARS:,} characters",
                "keep the context to a few sentences")
    return None


def _normal_email(value: str) -> str | tuple[str]:
    """The address in normal form, or (why it is not one,)."""
    from email_validator import (  # loaded only to read a contacts file
        EmailNotValidError,
        validate_email,
    )

    try:
        # No SMTPUTF8: an internationalised local part is refused by most servers' RCPT.
        return str(validate_email(value, check_deliverability=False, allow_smtputf8=False).normalized)
    except EmailNotValidError as exc:
        return (str(exc).rstrip("."),)
