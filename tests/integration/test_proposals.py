"""The proposal workflow end to end on the loopback OpenAI-compatible server: two clients in one
workspace, a request with risky terms, compliance and legal checks, sign-off and export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.harness import KEY_ENV, write_config
from tests.support.openai_server import OpenAIServer

from masthead.app import commands
from masthead.app.listings import task_detail
from masthead.app.workspace import Workspace, init_workspace
from masthead.errors import InputError, StateError
from masthead.projections.replay import verify

FIXTURES = Path(__file__).parent.parent / "fixtures"


def proposal_reply(body: dict[str, Any]) -> str:
    """A capable model: a few additions quoted from the request, and prose with no figures."""
    name = (body.get("response_format") or {}).get("json_schema", {}).get("name", "")
    if name == "ModelAdditions":
        return json.dumps({"additions": [{"quote": "Please reply to marketing@acme.example by 15 January 2027."},
                                         {"quote": "an invented requirement that is not in the request"}]})
    if name == "LegalOpinion":
        return json.dumps({"findings": [
            {"quote": "Acme may cancel at any time and recover all fees already paid.", "rule": "penalties",
             "why": "a clawback of fees already earned"},
            {"quote": "The supplier waives all rights forever.", "rule": "indemnification", "why": "invented"},
            {"quote": "The supplier shall accept unlimited liability", "rule": "unlimited-liability", "why": "dup"}]})
    if name == "ProposalProse":
        return json.dumps({
            "summary": "You want a brand that looks as current as your fasteners are precise.",
            "approach": "We audit what you have, agree the messages in two workshops in Cork, then write the guide.",
            "next_steps": "Reply to accept and we will book the first workshop.",
            "answers": [{"id": "R1", "answer": "Both workshops are part of the plan."},
                        {"id": "R5", "answer": "Yes, unlimited liability is fine."}],
        })
    return json.dumps({"text": "ok"})


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=proposal_reply) as server:
        root = tmp_path / "ws"
        root.mkdir()
        write_config(root, server.base_url)
        workspace, _ = init_workspace(root)
        for name in ("acme", "globex"):
            commands.apply_project(workspace, FIXTURES / "proposals" / f"{name}.yaml")
        yield workspace
        workspace.close()


def _run(ws: Workspace) -> None:
    ws.runner(concurrency=1).run(until_idle=True)


def _request(ws: Workspace, project: str, rfp: str) -> str:
    body = (FIXTURES / "rfps" / f"{rfp}.md").read_text()
    added = commands.add_signal(ws, project, kind="request", body=body, title=None, priority="normal", source="test")
    assert added.recipes == ["proposal"]
    return added.job_ids[0]


def _piece(ws: Workspace, job: str) -> dict[str, Any]:
    [piece] = ws.store.query("SELECT * FROM pieces WHERE job_id = ?", (job,))
    return piece


def test_a_request_with_risky_terms_waits_for_each_flag_then_exports(ws: Workspace) -> None:
    job = _request(ws, "acme-rebrand", "acme-brand-refresh")
    _run(ws)
    piece = _piece(ws, job)
    text = piece["text"]
    assert piece["channel"] == "proposal" and piece["status"] == "in_review"
    assert "| **Total (items without a price excluded)** | **EUR 10,500** |" in text
    assert "| Translation of the messaging guide into German | no price: decide |" in text
    assert "Globex" not in text and "hank@globex.example" not in text
    assert "unlimited liability is fine" not in text  # a risky term is answered with the project's own
    assert "Our answer: not as written. Liability is capped at the fees paid." in text
    requirements = task_detail(ws, f"{job}.requirements")["output"]["output"]["requirements"]
    body = (FIXTURES / "rfps" / "acme-brand-refresh.md").read_text()
    assert all(body[r["start"]:r["end"]] == r["quote"] for r in requirements)
    assert [r["source"] for r in requirements].count("model") == 1  # the invented one was dropped
    drafted = json.loads(ws.store.query(
        "SELECT e.data FROM tasks t JOIN events e ON e.seq = t.output_seq WHERE t.id = ?",
        (f"{job}.draft.proposal",))[0]["data"])["output"]
    assert drafted["template"]["name"] == "proposal" and drafted["template"]["origin"] == "built-in"
    flags = json.loads(piece["flags"])
    assert any(f.startswith("legal:") and "unlimited-liability" in f for f in flags)
    # The model's second opinion: its one new finding that quotes the request, as a medium flag.
    [legal] = [f for f in flags if f.startswith("legal:")]
    assert legal.count("(the model's reading)") == 1 and "medium: penalties or liquidated damages (the model's reading) in the request" in legal
    assert "waives all rights" not in legal
    assert any(f.startswith("compliance_amounts:") and "no price: decide" in f for f in flags)
    with pytest.raises(StateError) as blocked:
        commands.approve(ws, piece["id"], operator="ana")
    assert "unlimited-liability" in str(blocked.value) and "review resolve" in (blocked.value.fix or "")
    # A whole-document rewrite by a model is refused: a proposal is edited by hand.
    with pytest.raises(StateError, match="drafted from its template"):
        commands.refine(ws, piece["id"], operator="ana")
    # A person accepts each high flag with a note; then the sign-off goes through.
    from masthead.app.proposals import blocking_flags, resolve_flag

    flags = blocking_flags(ws, _piece(ws, job))
    with pytest.raises(InputError):
        resolve_flag(ws, piece["id"], flags[0].id, operator="ana", note="  ")
    for flag in flags:
        resolve_flag(ws, piece["id"], flag.id, operator="ana", note="capped in the signed contract")
    with pytest.raises(StateError, match="already resolved"):
        resolve_flag(ws, piece["id"], flags[0].id, operator="ana", note="again")
    resolutions = ws.store.query("SELECT data FROM events WHERE type = 'LegalFlagResolved'")
    assert len(resolutions) == 3  # the model's medium flag does not block the sign-off
    left = json.loads(_piece(ws, job)["flags"])
    assert not any(f.startswith("legal:") for f in left)
    assert any(f.startswith("compliance_amounts:") for f in left)  # the other flags stand
    commands.approve(ws, piece["id"], operator="ana")
    _run(ws)
    assert _piece(ws, job)["status"] == "published"
    report = verify(ws.store)
    assert report.ok, report.problem
    _check_export(ws, _piece(ws, job))


def _check_export(ws: Workspace, piece: dict[str, Any]) -> None:
    """Markdown, PDF and DOCX in out/proposal/, with version, approver and date; the PDF's text
    (read back with pypdf) states the computed total."""
    from docx import Document
    from pypdf import PdfReader

    folder = ws.out_dir / "proposal"
    stem = f"{piece['id']}-v{piece['version']}"
    assert sorted(p.name for p in folder.iterdir()) == [f"{stem}.docx", f"{stem}.md", f"{stem}.pdf"]
    markdown = (folder / f"{stem}.md").read_text()
    assert "approver: human:ana" in markdown and f"version: {piece['version']}" in markdown
    reader = PdfReader(folder / f"{stem}.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "EUR 10,500" in text and "Proposal for Acme Corp" in text
    assert reader.metadata is not None and reader.metadata.author == "human:ana"
    assert f"Version {piece['version']}, approved by ana on " in " ".join(text.split())
    docx = Document(str(folder / f"{stem}.docx"))
    props = docx.core_properties
    assert props.author == "human:ana" and props.version == f"v{piece['version']}" and props.created is not None
    cells = [cell.text for table in docx.tables for row in table.rows for cell in row.cells]
    assert "EUR 10,500" in cells


def test_past_wins_are_preferred_and_the_outcome_becomes_memory(ws: Workspace) -> None:
    from masthead.app.costs import cost_report
    from masthead.app.proposals import record_outcome
    from masthead.memory.service import Outcome

    past = FIXTURES / "proposals" / "past"
    for name, outcome in (("acme-packaging-won.md", "won"), ("acme-trade-show-lost.md", "lost")):
        ws.memory.import_folder([past / name], project="acme-rebrand", kind="proposal", actor="human:ana",
                                outcome=Outcome(outcome, "Acme Corp", "9000"))
    with pytest.raises(InputError, match="needs its outcome"):
        ws.memory.add("A proposal without its outcome.", kind="proposal", tier="project", project="acme-rebrand",
                      source="human:ana", actor="human:ana")
    job = _request(ws, "acme-rebrand", "acme-website")
    _run(ws)
    piece = _piece(ws, job)
    assert "## Relevant experience" in piece["text"] and "packaging copy" in piece["text"]
    assert "trade-show stand concept" not in piece["text"]  # a lost proposal is not quoted as experience
    [retrieval] = ws.store.query("SELECT items FROM memory_retrievals WHERE task_id = ?", (f"{job}.draft.proposal",))
    items = json.loads(retrieval["items"])
    by_id = {i["id"]: i for i in items}
    [won] = [by_id[i] for i in _ids(ws, "won")]
    assert won["parts"]["confidence"] == 1.0 and won["parts"]["kind_match"] == 1.0
    lost = [by_id[i] for i in _ids(ws, "lost") if i in by_id]
    assert all(entry["parts"]["total"] < won["parts"]["total"] for entry in lost)
    # Sign-off, then the outcome: the proposal becomes memory, and costs count the win.
    commands.approve(ws, piece["id"], operator="ana")
    _run(ws)
    ids = record_outcome(ws, piece["id"], "won", operator="ana", value="12000", note="fast answer")
    assert ids and all(ws.memory.items(ids)[i].kind == "proposal" for i in ids)
    with pytest.raises(StateError):
        record_outcome(ws, piece["id"], "lost", operator="ana")
    report = cost_report(ws, project="acme-rebrand")
    assert report["won_proposals"] == 1 and report["cost_per_won_proposal"] == report["proposal_spend_usd"] > 0
    assert verify(ws.store).ok


def _ids(ws: Workspace, outcome: str) -> set[str]:
    return {r["id"] for r in ws.store.query("SELECT id, source FROM memory_items WHERE kind = 'proposal'")
            if r["source"].startswith(f"proposal:{outcome}")}
