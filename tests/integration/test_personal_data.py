"""Personal data beyond users' addresses: outreach contacts and signals added with `--person` are
sealed with the person's key; forgetting the person leaves the log verifiable, every read path
showing "[forgotten]", and their job unable to draft or send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_outreach import CONTACTS, model_reply, workspace
from tests.support.harness import KEY_ENV, content_reply, make_workspace
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.smtp_server import SmtpServer

from masthead.app.backup import backup, restore
from masthead.app.commands import add_signal, approve
from masthead.app.desk import signals_of_jobs
from masthead.app.history import export_history, import_history
from masthead.app.listings import job_detail, job_overview, signal_detail, signal_summaries
from masthead.app.outreach import add_contacts
from masthead.app.permissions import Principal
from masthead.app.personal import forget_person
from masthead.app.queries import piece_detail
from masthead.app.workspace import init_workspace
from masthead.cli.main import main
from masthead.errors import InputError
from masthead.personal_data import FORGOTTEN
from masthead.projections.replay import verify

OWNER = Principal("ana", "owner")
# Everything personal in CONTACTS and in the client's brief below.
ADA = ("Ada Lovelace", "ada@analytical.example", "Analytical Engines", "Runs a 12-person design studio")
LINUS = ("Linus Pauling", "linus@vitaminlabs.example", "Vitamin Labs", "keeps his client list in spreadsheets")
BRIEF = "Clara Oswald wants a landing page for her bakery in Leeds; budget 4,000 GBP, launch in March."
BRIEF_TITLE = "Brief from Clara Oswald"


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=model_reply) as server:
        yield server.base_url


def raw_bytes(root: Path) -> bytes:
    """Every byte SQLite keeps for the workspace: the database, its WAL and shared memory."""
    return b"".join(path.read_bytes() for path in sorted(root.glob("masthead.db*")))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def signal_of(ws: Any, job_id: str) -> str:
    return str(ws.store.query("SELECT signal_id FROM jobs WHERE id = ?", (job_id,))[0]["signal_id"])


def test_sealed_contacts_and_person_signals_never_reach_the_database_in_plaintext(tmp_path, openai_url, capsys):
    with SmtpServer(user=None) as server:
        ws = workspace(tmp_path / "ws", openai_url, server.port)
        add_contacts(ws, "tallybook", CONTACTS.encode(), label="contacts.csv", source="file:contacts.csv")
        code, out = cli(capsys, "-w", str(ws.root), "signal", "add", "tallybook", "--kind", "request", "--text", BRIEF,
                        "--title", BRIEF_TITLE, "--person", "Clara@Client.example")
        assert code == 0 and "sealed with the person's key" in out
        code, out = cli(capsys, "-w", str(ws.root), "signal", "add", "tallybook", "--kind", "request", "--text", BRIEF,
                        "--person", "not-an-address")
        assert code == 2 and "person" in out and "not an email address" in out
        ws.store.close()
        raw = raw_bytes(ws.root).lower()
        for secret in (*ADA, *LINUS, "grace hopper", "cobol works", BRIEF, BRIEF_TITLE, "clara", "client.example"):
            assert secret.lower().encode() not in raw, secret

        ws = workspace_again(ws.root)
        shown = {s["kind"] + ":" + str(s["title"]): s for s in signal_summaries(ws, project="tallybook")}
        assert "outreach:Ada Lovelace (Analytical Engines)" in shown and f"request:{BRIEF_TITLE}" in shown
        brief = signal_detail(ws, shown[f"request:{BRIEF_TITLE}"]["id"])
        assert brief["body"] == BRIEF and brief["body_chars"] == len(BRIEF) and not brief["forgotten"]
        assert "sealed" not in brief
        ada = signal_detail(ws, shown["outreach:Ada Lovelace (Analytical Engines)"]["id"])
        assert ada["contact"]["email"] == "Ada@analytical.example" and ada["contact"]["line"] == 2

        # The same file again is still refused: the same person (subject), the same keyed digest.
        with pytest.raises(InputError, match=r"line 2 \(Ada@analytical.example\) was added with the same context"):
            add_contacts(ws, "tallybook", CONTACTS.encode(), label="contacts.csv", source="file:contacts.csv")

        code, out = cli(capsys, "-w", str(ws.root), "forget-person", "clara@client.example")
        assert code == 0 and "1 signal(s)" in out and "not erased" not in out  # its job has drafted nothing yet
        assert signal_detail(ws, brief["id"])["body"] == FORGOTTEN
        assert verify(ws.store).problem is None


def workspace_again(root: Path) -> Any:
    ws, created = init_workspace(root)
    assert not created
    return ws


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_forgotten_contact_reads_forgotten_everywhere_and_its_job_neither_drafts_nor_sends(
        tmp_path, openai_url, backend, request, monkeypatch):
    if backend == "postgres":
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", request.getfixturevalue("pg_url"))
    with SmtpServer(user=None) as server:
        ws = workspace(tmp_path / "ws", openai_url, server.port)
        assert ws.store.backend == backend
        added = add_contacts(ws, "tallybook", CONTACTS.encode(), label="contacts.csv", source="file:contacts.csv")
        ada_job, _grace_job, linus_job = added.job_ids
        before = verify(ws.store)
        assert before.problem is None

        # Linus is forgotten before his job ran: it cannot draft, and no person is asked to finish it.
        forgotten = forget_person(ws, OWNER, "Linus@VitaminLabs.example")
        assert (forgotten.signals, forgotten.pieces, forgotten.model_calls) == (1, 0, 0)
        ws.runner().run(until_idle=True)
        assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (linus_job,))[0]["status"] == "failed"
        errors = [t["last_error"] for t in ws.store.query(
            "SELECT last_error FROM tasks WHERE job_id = ? AND status = 'failed'", (linus_job,))]
        assert errors and all("the person was forgotten" in (e or "") for e in errors)
        assert not ws.store.query("SELECT id FROM pieces WHERE job_id = ?", (linus_job,))
        assert not ws.store.query("SELECT id FROM tasks WHERE job_id = ? AND status = 'needs_human'", (linus_job,))

        # Ada is forgotten after her email was drafted: the signal reads "[forgotten]" on every
        # read path, and what her job derived from it is counted, not claimed erased.
        [ada_piece] = ws.store.query("SELECT id FROM pieces WHERE job_id = ?", (ada_job,))
        forgotten = forget_person(ws, OWNER, "ada@analytical.example")
        assert forgotten.signals == 1 and forgotten.pieces == 1 and forgotten.model_calls >= 1
        assert "1 piece(s)" in (forgotten.still_held() or "")
        ada_signal = signal_of(ws, ada_job)
        detail = signal_detail(ws, ada_signal)
        assert detail["forgotten"] and detail["title"] == detail["body"] == FORGOTTEN
        assert set(detail["contact"].values()) >= {FORGOTTEN} and detail["contact"]["email"] == FORGOTTEN
        assert job_overview(ws, ada_job)["signal"]["title"] == FORGOTTEN
        assert piece_detail(ws, ada_piece["id"])["lineage"]["signal"]["title"] == FORGOTTEN
        assert signals_of_jobs(ws, [ada_job])[ada_job]["title"] == FORGOTTEN
        listed = {s["id"]: s for s in signal_summaries(ws, project="tallybook")}
        assert listed[ada_signal]["title"] == FORGOTTEN
        assert listed[signal_of(ws, _grace_job)]["title"] == "Grace Hopper (Cobol Works)"

        # Approved anyway, it is never sent: the step after the approval fails; Grace's goes out.
        for piece in ws.store.query("SELECT id FROM pieces WHERE status = 'in_review'"):
            approve(ws, piece["id"], operator="ana")
        ws.runner().run(until_idle=True)
        assert [rcpts for _sender, rcpts in server.envelopes] == [["grace@cobolworks.example"]]
        assert all(FORGOTTEN not in m.as_string() for m in server.messages)
        [failed] = ws.store.query("SELECT last_error FROM tasks WHERE job_id = ? AND status = 'failed'", (ada_job,))
        assert "the person was forgotten" in failed["last_error"]
        assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (ada_job,))[0]["status"] == "failed"
        assert not ws.store.query("SELECT * FROM publications WHERE piece_id = ?", (ada_piece["id"],))

        # The log verifies, and replay rebuilds the same read models with the keys gone.
        report = verify(ws.store)
        assert report.problem is None and report.events > before.events
        log = " ".join(row["data"] for row in ws.store.query("SELECT data FROM events WHERE type = 'PersonForgotten'"))
        assert "subj_" in log and "@" not in log


def test_an_export_carries_no_keys_so_an_import_reads_sealed_text_as_forgotten_and_a_backup_does(tmp_path, openai_url):
    with SmtpServer(user=None) as server:
        ws = workspace(tmp_path / "ws", openai_url, server.port)
        added = add_signal(ws, "tallybook", kind="request", body=BRIEF, title=BRIEF_TITLE, priority="normal",
                           source="cli:text", by=OWNER, person="clara@client.example")
        export_history(ws.store, tmp_path / "log.mhx")
        other, _ = init_workspace(tmp_path / "other")
        import_history(other.store, tmp_path / "log.mhx")
        assert signal_detail(ws, added.signal_id)["body"] == BRIEF
        moved = signal_detail(other, added.signal_id)
        assert moved["forgotten"] and moved["body"] == FORGOTTEN
        sealed = json.loads(other.store.query("SELECT data FROM events WHERE type = 'SignalReceived'")[0]["data"])
        assert sealed["body"] == "" and sealed["title"] is None and sealed["subject"].startswith("subj_")

        # A SQLite backup is the whole database, keys included: restored, the brief reads again.
        backup(ws.store, tmp_path / "backup")
        restored, _ = init_workspace(tmp_path / "restored")
        restore(restored.store, tmp_path / "backup")
        assert signal_detail(restored, added.signal_id)["body"] == BRIEF


X_ONLY = """\
name: tallybook
description: Invoicing software.
audience: Freelancers.
voice: {description: Plain.}
channels:
  x: {gate: auto}
"""


def test_a_step_about_a_person_handed_to_a_human_records_none_of_their_text(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
        server.script(Reply.error(400, "bad request: messages too long"))
        added = add_signal(ws, "tallybook", kind="release_notes", body="# For Clara Oswald\n- Bank feeds for 40 banks.",
                           title=BRIEF_TITLE, priority="normal", source="cli:text", by=OWNER,
                           person="clara@client.example")
        ws.runner().run(until_idle=True)
        [job] = added.job_ids
        [task] = ws.store.query("SELECT needs_human FROM tasks WHERE job_id = ? AND status = 'needs_human'", (job,))
        inputs = json.loads(task["needs_human"])["inputs"]
        assert "signal" not in inputs and "items" not in inputs and inputs["project"]["name"] == "tallybook"
        assert f"masthead signals show {added.signal_id}" in inputs["sealed"]
        leaks = [(row["type"], row["data"]) for row in ws.store.query("SELECT type, data FROM events")
                 if "Clara" in row["data"] or "Bank feeds" in row["data"]]
        assert not leaks


def test_a_job_about_a_person_keeps_no_copy_of_the_signal_beyond_what_it_derived(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
        body = "# Tallybook 3.2\n- Bank feeds for 40 more banks.\n- The dashboard loads 35% faster.\n"
        added = add_signal(ws, "tallybook", kind="release_notes", body=body, title="Tallybook 3.2", priority="normal",
                           source="cli:text", by=OWNER, person="clara@client.example")
        ws.runner().run(until_idle=True)
        [job] = added.job_ids
        # The signal's own text (its parsed items, memory queries) is nowhere in the log, nor are
        # the model calls' answers or the steps' outputs (sealed with the person's key): only the
        # piece versions and their checks (documented as not sealed) quote it.
        quoting = {row["type"] for row in ws.store.query("SELECT type, data FROM events") if "Bank feeds" in row["data"]}
        assert quoting <= {"PieceDrafted", "PieceRevised", "ChecksRecorded"}
        calls = [json.loads(row["data"]) for row in ws.store.query("SELECT data FROM events WHERE type = 'ModelCallRecorded'")]
        assert calls and all(call["output"].startswith("sealed:v1:subj_") for call in calls)
        assert all(call["tokens_in"] > 0 and call["model"] for call in calls)  # usage and model stay plain
        outputs = [json.loads(row["data"])["output"] for row in ws.store.query(
            "SELECT data FROM events WHERE type = 'TaskSucceeded'")]
        assert outputs and all(set(output) <= {"halt", "output_call", "model_calls", "agent", "prompt_version", "tier",
                                              "version", "completed_by", "sealed"} for output in outputs)
        # Readers get the outputs opened: the draft step's answer, read back from its sealed call.
        opened = json.dumps([task["output"] for task in job_detail(ws, job)["tasks"]])
        assert "Bank feeds" in opened and "sealed:v1:" not in opened
        before = verify(ws.store)
        assert not ws.store.query("SELECT id FROM memory_items WHERE kind IN ('piece', 'feedback')")
        [piece] = ws.store.query("SELECT id FROM pieces WHERE job_id = ?", (job,))
        items = piece_detail(ws, piece["id"])["lineage"]["items"]
        assert any("Bank feeds" in item["text"] for item in items["items"])  # parsed again from the opened signal

        code, out = cli(capsys, "-w", str(ws.root), "forget-person", "clara@client.example")
        assert code == 0 and "not erased: 1 piece(s) of jobs" in out and "outside Masthead" in out
        assert "model call(s)" in out.splitlines()[0]
        items = piece_detail(ws, piece["id"])["lineage"]["items"]
        assert items["items"] == [] and "forgotten" in items["note"]
        forgotten = [task["output"] for task in job_detail(ws, job)["tasks"] if task["output"]]
        assert forgotten and any(output.get("sealed") == FORGOTTEN for output in forgotten)
        assert "Bank feeds" not in json.dumps(forgotten)
        after = verify(ws.store)
        assert after.problem is None and after.events == before.events + 1  # PersonForgotten
