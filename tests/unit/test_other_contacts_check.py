"""The `other_contacts` check (a piece for one contact names nothing of the others), the composed
outreach email, and the per-recipient publication key."""

from __future__ import annotations

import pytest

from masthead.channels.foreign import ForeignRow, check_other_contacts
from masthead.compose.candidates import VoiceRules
from masthead.compose.outreach import OutreachRow, ProjectBrief, compose_outreach
from masthead.runtime.outbox import publication_key_for

OWN = ["Grace Hopper", "grace@cobolworks.example", "Cobol Works",
       "Her team sends 300 invoices a month and wants recurring invoices that skip weekends.",
       "tallybook", "Invoicing software for freelancers.", "Tallybook has a free plan for up to 3 clients."]
OTHERS = [
    ForeignRow("line 2", "Ada Lovelace", "ada@analytical.example", "Analytical Engines Ltd",
               "Runs a 12-person studio; met her at KubeCon in Berlin, where she asked about bank feeds."),
    ForeignRow("line 4", "Will Grant", "will@grantco.example", "Cobol Works",
               "Asked whether Tallybook exports to Xero."),
]


def check(text: str):
    return check_other_contacts(text, OWN, OTHERS)


@pytest.mark.parametrize(("text", "span", "whose"), [
    ("Hi Grace, like Analytical Engines you send many invoices.", "Analytical Engines Ltd", None),
    ("Hi Grace, Analytical Engines uses it too.", "Analytical Engines", "company of the contact on line 2"),
    ("Hi Grace, Ada Lovelace says hello.", "Ada Lovelace", "name of the contact on line 2"),
    ("Hi Grace, Ada says hello.", "Ada", "name of the contact on line 2"),
    ("Hi Grace, write to ada@analytical.example.", "ada@analytical.example", "address of the contact on line 2"),
    ("Hi Grace, see you at KubeCon.", "KubeCon", "context of the contact on line 2"),
    ("Hi Grace, we met in Berlin.", "Berlin", "context of the contact on line 2"),
    ("Hi Grace, it exports to Xero.", "Xero", "context of the contact on line 4"),
    ("Hi Grace, a 12-person team like yours.", "12", "a figure from the context of the contact on line 2"),
])
def test_another_contacts_details_fail_with_the_span_and_whose_they_are(text, span, whose):
    result = check(text)
    assert not result.passed and result.name == "other_contacts"
    if whose is None:
        assert "Analytical Engines" in result.detail
    else:
        assert f'"{span}" ({whose})' in result.detail


@pytest.mark.parametrize("text", [
    "Hi Grace, your team at Cobol Works sends 300 invoices a month; recurring invoices skip weekends.",
    "Hi Grace, we will grant you a free plan for up to 3 clients.",  # "will"/"grant" are words, not Will Grant
    "Hi Grace, Tallybook has a free plan for up to 3 clients.",  # the project's own name is not foreign
])
def test_the_contacts_own_details_and_shared_ones_pass(text):
    # Will Grant works at Cobol Works too: the company is Grace's own, so it is not foreign.
    result = check(text)
    assert result.passed, result.detail


def test_a_contact_alone_in_its_batch_passes():
    assert check_other_contacts("Hi Ada, Analytical Engines.", OWN, []).passed


def test_the_composed_email_is_built_from_the_row_and_the_project_only():
    [candidate] = compose_outreach(
        OutreachRow("Grace Hopper", "Cobol Works", "Her team sends 300 invoices a month"),
        ProjectBrief("tallybook", "Invoicing software for freelancers.", ("Fact one.", "Fact two.", "Fact three.")),
        VoiceRules(sign_off="Ana, Tallybook"), disclaimer="Sent by Tallybook.")
    assert candidate.kind == "composed" and candidate.subject == "tallybook for Cobol Works"
    text = candidate.text
    assert text.startswith("Hi Grace,\n\n") and "Her team sends 300 invoices a month." in text
    assert "Fact two." in text and "Fact three." not in text
    assert text.endswith("Ana, Tallybook\n\nSent by Tallybook.")
    assert check_other_contacts(text, OWN + ["Fact one.", "Fact two.", "Sent by Tallybook.", "Ana, Tallybook"],
                                OTHERS).passed


def test_the_publication_key_names_its_recipient():
    plain = publication_key_for("pc-1", 1, "email", "mail")
    keyed = publication_key_for("pc-1", 1, "email", "mail", to=("Ada@Example.com",))
    assert keyed == f"{plain}:to=ada@example.com"
    assert publication_key_for("pc-1", 1, "email", "mail", to=None) == plain
