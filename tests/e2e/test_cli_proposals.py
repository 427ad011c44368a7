"""The proposal workflow through the real `masthead` console script on the loopback server:
templates, a request, legal flags resolved one by one, sign-off, export, outcome, costs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.e2e.test_cli_usage import Cli
from tests.integration.test_proposals import proposal_reply
from tests.support.harness import write_config
from tests.support.openai_server import OpenAIServer

FIXTURES = Path(__file__).parent.parent / "fixtures"
KEY = "sk-test"


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY, reply=proposal_reply) as srv:
        yield srv


def test_templates_from_the_command_line(tmp_path: Path, server: OpenAIServer) -> None:
    root = tmp_path / "ws"
    cli = Cli(tmp_path, workspace=root)
    cli("init", root)
    assert "proposal" in cli("template", "list").stdout
    shown = cli("template", "show", "proposal").stdout
    assert "# sections: Proposal for {{ client.name }}; Summary;" in shown and "{{ pricing.table }}" in shown
    mine = tmp_path / "mine.md"
    mine.write_text("# Quote for {{ client.name }}\n{{ pricing.table }}\n", "utf-8")
    assert "valid; 1 sections" in cli("template", "validate", mine, "--print").stdout
    for bad, message in (("{{ ''.__class__.__mro__ }}", "was refused"), ("{% if x %}", "line 1"),
                         ("{{ clinet.name }}", "'clinet' is undefined")):
        mine.write_text(bad, "utf-8")
        refused = cli("template", "validate", mine, ok=False)
        assert refused.returncode != 0 and message in refused.stderr and "fix:" in refused.stderr


@pytest.mark.slow  # some 20 subprocesses: over a minute on a busy machine
def test_a_proposal_from_request_to_outcome(tmp_path: Path, server: OpenAIServer) -> None:
    root = tmp_path / "ws"
    cli = Cli(tmp_path, workspace=root)
    cli("init", root)
    write_config(root, server.base_url)
    for name in ("acme", "globex"):
        cli("project", "apply", FIXTURES / "proposals" / f"{name}.yaml")
    broken = tmp_path / "rfp.pdf"
    broken.write_bytes(b"%PDF-1.4 nothing")
    refused = cli("signal", "add", "acme-rebrand", "--kind", "request", "--file", broken, ok=False)
    assert refused.returncode != 0 and "not a readable PDF" in refused.stderr
    added = cli.json("signal", "add", "acme-rebrand", "--kind", "request", "--file",
                     FIXTURES / "rfps" / "acme-brand-refresh.md")
    assert added["recipes"] == ["proposal"]
    assert "0 failed" in cli("run", "--until-idle").stdout
    [piece] = [p for p in cli.json("pieces", "list") if p["job_id"] == added["job_ids"][0]]
    assert piece["channel"] == "proposal"
    blocked = cli("review", "approve", piece["id"], ok=False)
    assert blocked.returncode != 0 and "review resolve" in blocked.stderr
    flags = sorted(set(re.findall(r"\[([a-z\-]+-r[0-9a-f]{6})\] high", " ".join(piece["flags"]))))
    assert len(flags) == 3
    wrong = cli("review", "resolve", piece["id"], "no-such-flag", "--accept", "--note", "x", ok=False)
    assert wrong.returncode != 0 and flags[0] in wrong.stderr
    for flag in flags:
        assert "resolved" in cli("review", "resolve", piece["id"], flag, "--accept", "--note", "agreed by call").stdout
    cli("review", "approve", piece["id"])
    cli("run", "--until-idle")
    exported = sorted(p.suffix for p in (root / "out" / "proposal").iterdir())
    assert exported == [".docx", ".md", ".pdf"]
    assert "won" in cli("proposal", "outcome", piece["id"], "won", "--value", "12000").stdout
    assert "per won proposal" in cli("costs").stdout
    past = FIXTURES / "proposals" / "past" / "acme-trade-show-lost.md"
    missing = cli("memory", "import", past, "--project", "acme-rebrand", "--kind", "proposal", ok=False)
    assert missing.returncode != 0 and "--outcome" in missing.stderr
    cli("memory", "import", past, "--project", "acme-rebrand", "--kind", "proposal", "--outcome", "lost")
    assert cli("replay", "--verify").stdout.startswith("ok:")
