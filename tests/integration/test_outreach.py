"""Outreach end to end: a contacts CSV, the loopback OpenAI server as the model and a real SMTP
server (aiosmtpd): one email per contact, each grounded in its own row only, held for a person,
then sent to that contact alone, once."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.support.harness import KEY_ENV, write_config
from tests.support.openai_server import OpenAIServer
from tests.support.smtp_server import SmtpServer

from masthead.app.commands import apply_project, approve, edit
from masthead.app.outreach import add_contacts
from masthead.app.queries import piece_detail
from masthead.app.workspace import Workspace, init_workspace
from masthead.errors import InputError
from masthead.personal_data import open_pieces
from masthead.projections.replay import verify
from masthead.runtime.outputs import step_output

CONTACTS = """\
name,email,company,context
Ada Lovelace,Ada@Analytical.example,Analytical Engines,"Runs a 12-person design studio and asked about bank feeds at the Leeds meetup."
Grace Hopper,grace@cobolworks.example,Cobol Works,"Her team sends 300 invoices a month and wants recurring invoices that skip weekends."
Linus Pauling,linus@vitaminlabs.example,Vitamin Labs,"Freelance developer who keeps his client list in spreadsheets and asked about the free plan."
"""
COMPANIES = {"ada@analytical.example": "Analytical Engines", "grace@cobolworks.example": "Cobol Works",
             "linus@vitaminlabs.example": "Vitamin Labs"}

PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelance designers and developers.
voice: {description: Plain and friendly., sign_off: "Ana, Tallybook"}
facts:
  - Tallybook has a free plan for up to 3 clients.
  - Recurring invoices skip weekends and holidays.
channels:
  email: {gate: auto, publish_to: [mail]}
"""

# No `to`: this publisher sends only outreach, which names its recipients.
SMTP = """
[publishers.mail]
kind = "smtp"
host = "127.0.0.1"
port = {port}
starttls = false
from = "Ana <ana@tallybook.example>"
timeout_seconds = 5.0
"""


def model_reply(body: dict[str, Any]) -> str:
    """A capable model, except that for Grace it borrows another contact's company."""
    prompt = body["messages"][-1]["content"]
    name = re.search(r"Name: (\w+)", prompt)
    first = name[1] if name else "there"
    if (body.get("response_format") or {}).get("json_schema", {}).get("name") == "RefineOutput":
        return json.dumps({"text": f"Hi {first},\n\nTallybook has a free plan for up to 3 clients."})
    if first == "Grace":
        text = ("Hi Grace,\n\nLike Analytical Engines, your team sends 300 invoices a month; recurring invoices "
                "skip weekends and holidays in Tallybook.\n\nAna, Tallybook")
        return json.dumps({"subject": "Invoices at Cobol Works", "text": text})
    return json.dumps({"subject": f"A note for {first}", "text": f"Hi {first},\n\nTallybook is invoicing "
                       "software for freelancers.\n\nAna, Tallybook"})


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=model_reply) as server:
        yield server.base_url


def workspace(root: Path, openai_url: str, smtp_port: int) -> Workspace:
    root.mkdir(parents=True)
    write_config(root, openai_url)
    with (root / "masthead.toml").open("a", encoding="utf-8") as config:
        config.write(SMTP.format(port=smtp_port))
    ws, _ = init_workspace(root)
    (root / "project.yaml").write_text(PROJECT, "utf-8")
    apply_project(ws, root / "project.yaml")
    return ws


def draft_selection(ws: Workspace, job_id: str) -> dict[str, Any]:
    [row] = ws.store.query("SELECT e.data FROM tasks t JOIN events e ON e.seq = t.output_seq"
                           " WHERE t.job_id = ? AND t.step = 'draft'", (job_id,))
    # Opened: an outreach job is about one person, so its outputs are sealed with their key.
    return dict(step_output(ws.store.query, row["data"])["selection"])


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_three_contacts_get_one_email_each_after_approval_and_never_twice(tmp_path, openai_url, backend, request,
                                                                          monkeypatch):
    if backend == "postgres":
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", request.getfixturevalue("pg_url"))
    with SmtpServer(user=None) as server:
        ws = workspace(tmp_path / "ws", openai_url, server.port)
        assert ws.store.backend == backend
        added = add_contacts(ws, "tallybook", CONTACTS.encode(), label="contacts.csv", source="file:contacts.csv")
        assert len(added.signal_ids) == len(added.job_ids) == 3 and added.recipes == ["outreach"]
        ws.runner().run(until_idle=True)
        # The channel's gate is auto; the recipe's `min_gate: hard` holds every email for a person.
        pieces = ws.store.query("SELECT * FROM pieces ORDER BY id")
        assert [p["status"] for p in pieces] == ["in_review"] * 3 and not server.messages
        queued = ws.store.query("SELECT gate FROM review_queue")
        assert [q["gate"] for q in queued] == ["hard"] * 3

        # Their text is sealed with each contact's key; readers open it.
        pieces = open_pieces(ws.store.query, pieces)
        # Grace's model email named Ada's company: the check refused it, with the span and whose it is.
        grace_job = added.job_ids[1]
        selection = draft_selection(ws, grace_job)
        model = next(c for c in selection["candidates"] if c["kind"] == "model")
        [failure] = [f for f in model["failures"] if f.startswith("other_contacts")]
        assert '"Analytical Engines" (company of the contact on line 2)' in failure
        assert selection["winner_kind"] == "composed"

        # A person's edit is held to the same rule, and neither it nor a sent email becomes memory.
        grace = next(p for p in pieces if p["job_id"] == grace_job)
        edit(ws, grace["id"], operator="ana", text="Hi Grace,\n\nVitamin Labs loves recurring invoices.")
        flags = piece_detail(ws, grace["id"])["flags"]
        assert any('"Vitamin Labs" (company of the contact on line 4)' in flag for flag in flags)
        edit(ws, grace["id"], operator="ana", text=grace["text"].replace("Hi Grace,", "Dear Grace,"))

        for piece in pieces:
            approve(ws, piece["id"], operator="ana")
        ws.runner().run(until_idle=True)
        assert len(server.messages) == 3
        for message, (_sender, rcpts) in zip(server.messages, server.envelopes, strict=True):
            [address] = rcpts
            assert message["To"] == address
            address = address.casefold()  # the local part keeps its case ("Ada@analytical.example")
            text = message.get_body(("plain",)).get_content()
            own = COMPANIES[address]
            assert own in message["Subject"] + text
            assert not [c for a, c in COMPANIES.items() if a != address and c in message["Subject"] + text]
        assert "Dear Grace," in server.messages[[to for _f, [to] in server.envelopes].index("grace@cobolworks.example")] \
            .get_body(("plain",)).get_content()
        assert not ws.store.query("SELECT id FROM memory_items WHERE kind IN ('piece', 'feedback')")
        keys = [p["idempotency_key"] for p in ws.store.query("SELECT * FROM publications ORDER BY idempotency_key")]
        # Each key names its contact by subject id: the address is sealed, and stays out of the log.
        subjects = [s["subject"] for s in ws.store.query("SELECT subject FROM signals WHERE kind = 'outreach'")]
        assert sorted(k.rpartition(":to=")[2] for k in keys) == sorted(subjects) and len(set(subjects)) == 3

        # A re-run sends nothing again; adding the same file again is refused and records nothing.
        ws.runner().run(until_idle=True)
        assert len(server.messages) == 3
        before = len(list(ws.store.read()))
        with pytest.raises(InputError, match=r"line 2 \(Ada@analytical.example\) was added with the same context"):
            add_contacts(ws, "tallybook", CONTACTS.encode(), label="contacts.csv", source="file:contacts.csv")
        assert len(list(ws.store.read())) == before
        assert verify(ws.store).ok
        ws.close()


def test_a_delivery_with_its_own_recipient_goes_to_it_alone_and_none_needs_a_to_list():
    from masthead.channels.publisher import Delivery
    from masthead.channels.publishers.smtp import SmtpPublisher
    from masthead.config import SmtpPublisherSection
    from masthead.errors import ConfigError

    def mail(port: int, to: list[str] | None) -> SmtpPublisher:
        settings = SmtpPublisherSection.model_validate({"host": "127.0.0.1", "port": port, "starttls": False,
                                                        "from": "ana@tallybook.example", "to": to})
        return SmtpPublisher("mail", settings, {})

    delivery = Delivery(key="pc-1:v1:email:mail:to=ada@analytical.example", piece_id="pc-1", version=1,
                        channel="email", project="tallybook", text="Hi Ada,\n\nA note.", subject="For Ada",
                        at="2026-12-07T10:00:00Z", to=("ada@analytical.example",))
    with SmtpServer(user=None) as server:
        receipt = mail(server.port, ["readers@lists.tallybook.example"]).publish(delivery)
        assert server.envelopes == [("ana@tallybook.example", ["ada@analytical.example"])]
        assert server.messages[0]["To"] == "ada@analytical.example"
        # The receipt goes into the log: it names no address of a piece's own recipient (a person).
        assert receipt.location.endswith("to the piece's recipient") and "ada@" not in receipt.location.split(">")[1]
        with pytest.raises(ConfigError, match=r"names no recipient and the table has no `to`") as caught:
            mail(server.port, None).publish(Delivery(**{**delivery.__dict__, "to": None}))
        assert "[publishers.mail]" in (caught.value.fix or "")
        assert len(server.messages) == 1


def test_an_unusable_model_reply_costs_its_candidate_not_the_email(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=lambda body: "not JSON at all") as model, SmtpServer(user=None) as server:
        ws = workspace(tmp_path / "ws", model.base_url, server.port)
        row = "Linus Pauling,linus@vitaminlabs.example,Vitamin Labs,Met at PyCon.\n"  # too short to be an item
        [job] = add_contacts(ws, "tallybook", f"name,email,company,context\n{row}".encode(), label="c.csv",
                             source="file:c.csv").job_ids
        ws.runner().run(until_idle=True)
        [piece] = open_pieces(ws.store.query, ws.store.query("SELECT * FROM pieces WHERE job_id = ?", (job,)))
        assert piece["status"] == "in_review" and piece["text"].startswith("Hi Linus,")
        assert "Met at PyCon." in piece["text"]
        [draft] = ws.store.query("SELECT e.data FROM tasks t JOIN events e ON e.seq = t.output_seq"
                                 " WHERE t.job_id = ? AND t.step = 'draft'", (job,))
        assert "model_dropped" in step_output(ws.store.query, draft["data"])
        ws.close()
