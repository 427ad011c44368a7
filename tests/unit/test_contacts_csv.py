"""The contacts CSV of outreach: what it accepts, and every bad input named by its line with a fix."""

from __future__ import annotations

import pytest

from masthead.errors import InputError
from masthead.sources.contacts import MAX_CONTACT_BYTES, MAX_CONTACTS, parse_contacts

HEADER = "name,email,company,context\n"


def parse(text: str | bytes):
    return parse_contacts(text.encode() if isinstance(text, str) else text, "contacts.csv")


def refused(text: str | bytes) -> InputError:
    with pytest.raises(InputError) as caught:
        parse(text)
    assert caught.value.fix, "every refusal says what to do"
    return caught.value


def test_rows_become_contacts_with_their_line_and_a_normal_address():
    listed = parse("\ufeffName, Email ,Company,Context,Phone\n"
                   'Ada Lovelace, Ada@EXAMPLE.com ,Analytical Engines,"Asked about bank feeds,\nat the meetup.",555\n'
                   "\n"
                   "Grace Hopper,grace@cobol.example,,Sends 300 invoices a month.,555\n")
    ada, grace = listed.contacts
    assert (ada.line, ada.name, ada.email, ada.company) == (2, "Ada Lovelace", "Ada@example.com", "Analytical Engines")
    assert ada.context == "Asked about bank feeds, at the meetup."  # a quoted line break is a space
    assert (grace.line, grace.company) == (5, "")  # a blank line is skipped, the count goes on; company is optional
    assert listed.ignored_columns == ["phone"]


@pytest.mark.parametrize(("text", "expected"), [
    (HEADER + "Ada,,Analytical,Asked about bank feeds.\n", "line 2: email is empty"),
    (HEADER + "Ada,ada@,Analytical,Asked about bank feeds.\n", "line 2: email 'ada@' is not an email address"),
    (HEADER + "Ada,ada at example.com,Analytical,Asked.\n", "line 2: email 'ada at example.com' is not"),
    (HEADER + ",ada@example.com,Analytical,Asked about bank feeds.\n", "line 2: name is empty"),
    (HEADER + "Ada,ada@example.com,Analytical,\n", "line 2: context is empty"),
    (HEADER + "Ada,ada@example.com,Analytical\n", "line 2 has 3 fields, the header has 4"),
    (HEADER + "Ada,ada@example.com,A,One.\nBob,b@example.com,B,Two.\nAda L,ADA@example.com,A,Three.\n",
     "line 4: ADA@example.com is already the contact on line 2"),
    ("name,company,context\nAda,Analytical,Asked.\n", "line 1: the header lacks the column(s) email"),
    ("name,email,email,context\n", "line 1: the column(s) email appear twice"),
    ("", "is empty"),
    (HEADER, "has a header and no contact"),
    (HEADER + 'Ada,ada@example.com,A,"unterminated\n', "not valid CSV"),
    (HEADER + "Ada,ada@example.com,A," + "x" * 2001 + "\n", "line 2: context is over 2,000 characters"),
])
def test_each_bad_input_names_its_line(text, expected):
    assert expected in str(refused(text))


def test_several_bad_rows_are_listed_together_and_counted():
    rows = "".join(f"C{i},not-an-address-{i},Co,Asked about bank feeds.\n" for i in range(8))
    error = str(refused(HEADER + rows))
    assert "line 2:" in error and "line 6:" in error and "and 3 more" in error and "nothing was recorded" in error


def test_non_utf8_is_refused_with_its_line_and_how_to_convert():
    raw = (HEADER + "Ada,ada@example.com,A,One.\n").encode() + "José,jose@example.com,B,Café.\n".encode("latin-1")
    error = refused(raw)
    assert "line 3 is not UTF-8" in str(error) and "UTF-8" in (error.fix or "")


def test_a_binary_file_is_refused():
    assert "binary" in str(refused(b"\x89PNG\r\n\x1a\n\x00\x00"))


def test_too_many_rows_and_too_many_bytes_are_capped_with_the_limit():
    rows = "".join(f"C{i},c{i}@example.com,Co,Asked about bank feeds.\n" for i in range(MAX_CONTACTS + 1))
    error = refused(HEADER + rows)
    assert f"more than {MAX_CONTACTS} contacts" in str(error) and f"line {MAX_CONTACTS + 2}" in str(error)
    big = HEADER.encode() + b"x" * (MAX_CONTACT_BYTES + 1)
    assert "the limit is 1,000,000" in str(refused(big))


def test_an_internationalised_local_part_is_refused_as_most_servers_do():
    assert "line 2: email" in str(refused(HEADER + "Zoë,zoë@example.com,A,Asked about bank feeds.\n"))
