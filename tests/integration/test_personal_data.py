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

from masthead.app import ab
from masthead.app.backup import backup, restore
from masthead.app.commands import add_signal, approve, complete, edit
from masthead.app.desk import desk_queue, signals_of_jobs
from masthead.app.history import export_history, import_history
from masthead.app.listings import (
    job_detail,
    job_overview,
    signal_detail,
    signal_summaries,
    task_detail,
)
from masthead.app.outreach import add_contacts
from masthead.app.permissions import Principal
from masthead.app.personal import forget_person
from masthead.app.queries import list_pieces, piece_detail, review_queue
from masthead.app.workspace import init_workspace
from masthead.cli.main import main
from masthead.errors import InputError, StateError
from masthead.personal_data import FORGOTTEN, PersonWasForgotten
from masthead.projections.replay import verify
from masthead.runtime.context import load_context
from masthead.runtime.publish_step import run_publish_step
from masthead.runtime.steps import run_agent_step

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


def stored_text(ws: Any) -> bytes:
    """Everything the workspace's database keeps, lower-cased: on SQLite the file's bytes (WAL
    included; the store is closed first), on Postgres every row of every table."""
    if ws.store.backend == "sqlite":
        ws.store.close()
        return raw_bytes(ws.root).lower()
    tables = ws.store.query("SELECT table_name FROM information_schema.tables"
                            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
    assert any(t["table_name"] == "events" for t in tables)
    return b"".join(json.dumps(ws.store.query(f'SELECT * FROM "{t["table_name"]}"'), default=str).encode()
                    for t in tables).lower()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def piece_row_id(ws: Any, job_id: str) -> str:
    return str(ws.store.query("SELECT id FROM pieces WHERE job_id = ?", (job_id,))[0]["id"])


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


# What the outreach jobs derive: the drafts quote names, companies and contexts; the model's
# reply for Grace borrows Ada's company (its check refuses it); a person's edit names Linus's.
DERIVED = ("Hi Ada", "Hi Grace", "Like Analytical Engines", "Invoices at Cobol Works", "Hi Linus", "Vitamin Labs loves")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_what_outreach_jobs_derive_is_sealed_and_reads_forgotten_once_the_person_is(
        tmp_path, openai_url, backend, request, monkeypatch):
    if backend == "postgres":
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", request.getfixturevalue("pg_url"))
    with SmtpServer(user=None) as server:
        ws = workspace(tmp_path / "ws", openai_url, server.port)
        assert ws.store.backend == backend
        added = add_contacts(ws, "tallybook", CONTACTS.encode(), label="contacts.csv", source="file:contacts.csv")
        ada_job, grace_job, linus_job = added.job_ids
        ws.runner().run(until_idle=True)
        pieces = {row["job_id"]: row["id"] for row in ws.store.query("SELECT id, job_id FROM pieces")}
        assert set(pieces) == {ada_job, grace_job, linus_job}

        # Readers get the text opened: the queue, the piece, its versions, checks and flags.
        shown = {p["id"]: p for p in list_pieces(ws)}
        assert shown[pieces[ada_job]]["text"].startswith("Hi Ada,") and "Analytical Engines" in shown[pieces[ada_job]]["subject"]
        grace = piece_detail(ws, pieces[grace_job])
        assert grace["text"].startswith("Hi Grace,") and "Cobol Works" in grace["subject"]
        # The model's candidate named Ada's company: the draft step's output (its selection) says so, opened.
        assert "Like Analytical Engines" in json.dumps(job_detail(ws, grace_job)["tasks"])
        # A person's edit naming Linus's company fails its check: the detail quotes it, opened on read.
        edit(ws, pieces[grace_job], operator="ana", text="Hi Grace,\n\nVitamin Labs loves recurring invoices.")
        ws.runner().run(until_idle=True)
        grace = piece_detail(ws, pieces[grace_job])
        assert any('"Vitamin Labs"' in flag for flag in grace["flags"])
        assert any('"Vitamin Labs"' in c["detail"] for c in grace["versions"][-1]["checks"])
        assert grace["versions"][-1]["text"] == grace["text"] and "Vitamin Labs loves" in grace["versions"][-1]["diff"]
        assert "sealed:v1:" not in json.dumps(grace)
        queued = {q["piece_id"]: q for q in review_queue(ws)}
        assert queued[pieces[grace_job]]["text"] == grace["text"] and queued[pieces[grace_job]]["flags"] == grace["flags"]
        assert "other_contacts" in queued[pieces[grace_job]]["reason"]
        assert "Vitamin Labs" not in queued[pieces[grace_job]]["reason"]  # the gate names the check only
        assert {q["piece_id"] for q in desk_queue(ws)} >= {pieces[ada_job], pieces[grace_job]}

        # Ada's and Grace's go out (a person edits Grace's again); Linus is forgotten before.
        edit(ws, pieces[grace_job], operator="ana", text="Hi Grace,\n\nTallybook sends the monthly batch for you.\n\nAna, Tallybook")
        forget_person(ws, OWNER, "linus@vitaminlabs.example")
        for job in (ada_job, grace_job, linus_job):
            approve(ws, pieces[job], operator="ana")
        ws.runner().run(until_idle=True)
        assert sorted(rcpts for _sender, rcpts in server.envelopes) == [["Ada@analytical.example"],
                                                                        ["grace@cobolworks.example"]]
        assert any("sends the monthly batch for you." in m.as_string() for m in server.messages)
        assert all(FORGOTTEN not in m.as_string() for m in server.messages)
        assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (linus_job,))[0]["status"] == "failed"
        assert not ws.store.query("SELECT * FROM publications WHERE piece_id = ?", (pieces[linus_job],))

        # Nothing personal or derived from it is stored in plaintext: events, read models, calls.
        before = verify(ws.store)
        assert before.problem is None
        stored = stored_text(ws)
        for secret in (*ADA, *LINUS, "Grace Hopper", "grace@cobolworks", "Cobol Works", "300 invoices", *DERIVED,
                       "sends the monthly batch"):
            assert secret.lower().encode() not in stored, secret
        ws = workspace_again(ws.root) if backend == "sqlite" else ws

        # Forgotten: every read path reads "[forgotten]", the log still verifies, replay is equal.
        forgotten = forget_person(ws, OWNER, "ada@analytical.example")
        assert forgotten.pieces == 1 and forgotten.publications == 1
        assert "1 publication(s)" in (forgotten.still_held() or "") and "piece" not in (forgotten.still_held() or "")
        ada = piece_detail(ws, pieces[ada_job])
        assert ada["text"] == ada["subject"] == FORGOTTEN
        assert all(v["text"] == FORGOTTEN for v in ada["versions"])
        assert all(c["detail"] == FORGOTTEN for v in ada["versions"] for c in v["checks"])
        assert {p["id"]: p for p in list_pieces(ws)}[pieces[ada_job]]["text"] == FORGOTTEN
        assert "Hi Ada" not in json.dumps(ada) and "Hi Ada" not in json.dumps(job_detail(ws, ada_job))
        linus = piece_detail(ws, pieces[linus_job])
        assert linus["text"] == FORGOTTEN and all(f.endswith(FORGOTTEN) for f in linus["flags"])
        assert piece_detail(ws, pieces[grace_job])["text"].startswith("Hi Grace")  # Grace is not forgotten
        after = verify(ws.store)
        assert after.problem is None and after.events == before.events + 1


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

        # Ada is forgotten after her email was drafted: the signal and what her job derived from it
        # read "[forgotten]" on every read path; nothing went out, so nothing is left readable.
        [ada_piece] = ws.store.query("SELECT id FROM pieces WHERE job_id = ?", (ada_job,))
        forgotten = forget_person(ws, OWNER, "ada@analytical.example")
        assert forgotten.signals == 1 and forgotten.pieces == 1 and forgotten.model_calls >= 1
        assert forgotten.still_held() is None
        assert piece_detail(ws, ada_piece["id"])["text"] == FORGOTTEN
        with pytest.raises(StateError, match="the person it is about was forgotten; it cannot be edited"):
            edit(ws, ada_piece["id"], operator="ana", text="Hi again")
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

        # A person finishes the step: their output is sealed like a step's own, and the job goes on
        # to draft a piece whose versions are sealed too.
        [waiting] = ws.store.query("SELECT id FROM tasks WHERE job_id = ? AND status = 'needs_human'", (job,))
        brief = {"headline": "Bank feeds for Clara", "key_points": ["Bank feeds for 40 banks."], "angle": "For Clara."}
        complete(ws, waiting["id"], operator="ana", text=json.dumps(brief))
        ws.runner().run(until_idle=True)
        finished = next(t for t in job_detail(ws, job)["tasks"] if t["id"] == waiting["id"])
        assert finished["output"]["completed_by"] == "human:ana" and finished["output"]["output"] == brief
        [piece] = ws.store.query("SELECT id FROM pieces WHERE job_id = ?", (job,))
        assert "sealed:v1:" not in piece_detail(ws, piece["id"])["text"]
        leaks = [row["type"] for row in ws.store.query("SELECT type, data FROM events")
                 if "Clara" in row["data"] or "bank feeds" in row["data"].lower()]
        assert not leaks
        forget_person(ws, OWNER, "clara@client.example")
        assert piece_detail(ws, piece["id"])["text"] == FORGOTTEN
        assert next(t for t in job_detail(ws, job)["tasks"] if t["id"] == waiting["id"])["output"]["sealed"] == FORGOTTEN
        assert verify(ws.store).problem is None


def test_a_job_about_a_person_keeps_no_copy_of_the_signal_beyond_what_it_derived(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
        body = "# Tallybook 3.2\n- Bank feeds for 40 more banks.\n- The dashboard loads 35% faster.\n"
        added = add_signal(ws, "tallybook", kind="release_notes", body=body, title="Tallybook 3.2", priority="normal",
                           source="cli:text", by=OWNER, person="clara@client.example")
        ws.runner().run(until_idle=True)
        [job] = added.job_ids
        assert ws.store.query("SELECT status FROM pieces WHERE job_id = ?", (job,))[0]["status"] == "published"
        # The file publisher wrote the opened text (a copy outside Masthead), never the sealed form.
        [written] = [path.read_text("utf-8") for path in ws.root.rglob("x/*.md")]
        assert "bank feeds for 40 more banks" in written and "sealed:v1:" not in written
        # Run the draft step again, as a worker would after a crash before its outcome landed: it
        # finds its sealed recordings by the plaintext request's hash and pays for no call again.
        paid = len(server.calls)
        draft = ws.store.query("SELECT * FROM tasks WHERE job_id = ? AND step = 'draft'", (job,))[0]
        first = task_detail(ws, draft["id"])["output"]
        again = run_agent_step(load_context(ws.store, draft), ws.services())
        assert again.output["output"] == first["output"] and "40 more banks" in json.dumps(first["output"])
        assert len(server.calls) == paid
        # An A/B test of the piece's subject lines keeps them sealed; its report opens them.
        test_id = ab.start_test(ws, piece_row_id(ws, job), settings=ab.AbSettings(), variants=["Bank feeds for you", "Forty banks"],
                                operator="ana")
        assert [v["text"] for v in ab.ab_report(ws, test_id)["variants"]] == ["Bank feeds for you", "Forty banks"]
        assert not [row["type"] for row in ws.store.query("SELECT type, data FROM events") if "Forty banks" in row["data"]]
        publish = ws.store.query("SELECT * FROM tasks WHERE job_id = ? AND kind = 'publish'", (job,))[0]
        publishing = load_context(ws.store, publish)  # loaded before the person is forgotten
        # The signal's own text (its parsed items, memory queries) is nowhere in the log, nor is
        # what the job derived from it: the model calls' answers, the steps' outputs, the piece's
        # versions and its checks are sealed with the person's key.
        assert not [row["type"] for row in ws.store.query("SELECT type, data FROM events") if "Bank feeds" in row["data"]]
        stored = stored_text(ws)
        for secret in ("Bank feeds", "40 more banks", "35% faster", "clara@client", "client.example"):
            assert secret.lower().encode() not in stored, secret
        ws = workspace_again(ws.root)
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
        assert code == 0 and "not erased: 1 publication(s)" in out and "outside Masthead" in out
        assert "1 piece(s) with their versions and checks" in out.splitlines()[0] and "model call(s)" in out
        detail = piece_detail(ws, piece["id"])
        assert detail["text"] == FORGOTTEN and all(v["text"] == FORGOTTEN for v in detail["versions"])
        assert {v["text"] for v in ab.ab_report(ws, test_id)["variants"]} == {FORGOTTEN}
        # Even a publish step that got past its context (loaded before) refuses the forgotten piece.
        written_before = sorted(ws.root.rglob("x/*.md"))
        with pytest.raises(PersonWasForgotten, match="never published"):
            run_publish_step(publishing, ws.services())
        assert sorted(ws.root.rglob("x/*.md")) == written_before
        assert "Bank feeds" not in json.dumps(detail)
        items = piece_detail(ws, piece["id"])["lineage"]["items"]
        assert items["items"] == [] and "forgotten" in items["note"]
        forgotten = [task["output"] for task in job_detail(ws, job)["tasks"] if task["output"]]
        assert forgotten and any(output.get("sealed") == FORGOTTEN for output in forgotten)
        assert "Bank feeds" not in json.dumps(forgotten)
        after = verify(ws.store)
        assert after.problem is None and after.events == before.events + 1  # PersonForgotten


def test_text_that_only_looks_sealed_reads_as_it_was_written(tmp_path, monkeypatch):
    """A person (or a model told to by a signal) may write "sealed:v1:..." into a job about no
    one: it is their text, not a forgotten person's, so it reads and publishes as written."""
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY.replace("auto", "hard"))
        # A real person's subject exists, so a forged token naming it is tried against their key.
        add_signal(ws, "tallybook", kind="note", body=BRIEF, title=BRIEF_TITLE, priority="normal",
                   source="cli:text", by=OWNER, person="clara@client.example")
        [subject] = [row["subject"] for row in ws.store.query("SELECT subject FROM signals WHERE subject IS NOT NULL")]
        plain = add_signal(ws, "tallybook", kind="release_notes", body="# 3.2\n- Bank feeds for 40 banks.",
                           title="3.2", priority="normal", source="cli:text", by=OWNER)
        ws.runner().run(until_idle=True)
        [piece] = ws.store.query("SELECT id FROM pieces WHERE job_id = ?", (plain.job_ids[0],))
        for text in (f"sealed:v1:{subject}:gAAAAAforged. Bank feeds for 40 banks in Tallybook 3.2.",
                     "sealed:v1:nobody:not a token. Bank feeds for 40 banks in Tallybook 3.2."):
            edit(ws, piece["id"], operator=OWNER, text=text)
            assert piece_detail(ws, piece["id"])["text"] == text
            assert next(row for row in list_pieces(ws) if row["id"] == piece["id"])["text"] == text
        # Forgetting the person forgets what was sealed for them, not text that names no one.
        forget_person(ws, OWNER, "clara@client.example")
        assert piece_detail(ws, piece["id"])["text"].startswith("sealed:v1:nobody:not a token.")
