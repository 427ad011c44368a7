"""`masthead signal add PROJECT --kind outreach --file contacts.csv` through the real console
script: a good file starts one job per contact; every bad file is one `error:` line naming the
line and the fix, a non-zero exit, no traceback and no new event."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, PROJECT_YAML, content_reply, make_workspace
from tests.support.openai_server import OpenAIServer

KEY = "sk-test"
EMAIL_PROJECT = PROJECT_YAML.replace("channels:\n", "channels:\n  email: {gate: hard}\n")
GOOD = ("name,email,company,context\n"
        "Ada Lovelace,ada@analytical.example,Analytical Engines,Asked about bank feeds at the Leeds meetup.\n"
        "Grace Hopper,grace@cobolworks.example,,Sends 300 invoices a month and wants them recurring.\n")


def masthead(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    beside = Path(sys.executable).parent / "masthead"
    script = str(beside) if beside.exists() else shutil.which("masthead")
    assert script, "the `masthead` console script is not installed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD") and k != KEY_ENV}
    env |= {KEY_ENV: KEY, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([script, *args], cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=120)


def events(root: Path) -> int:
    with sqlite3.connect(root / "masthead.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])


@pytest.fixture
def root(tmp_path: Path):
    with OpenAIServer(api_key=KEY, reply=content_reply) as server:
        ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=EMAIL_PROJECT)
        ws.close()
        yield ws.root


def test_a_contacts_file_starts_one_job_per_contact(root):
    (root / "contacts.csv").write_text(GOOD, "utf-8")
    result = masthead("signal", "add", "tallybook", "--kind", "outreach", "--file", "contacts.csv", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    added = json.loads(result.stdout)
    assert len(added["signal_ids"]) == len(added["job_ids"]) == 2 and added["recipes"] == ["outreach"]
    with sqlite3.connect(root / "masthead.db") as db:
        rows = db.execute("SELECT batch_id, kind, source FROM signals ORDER BY seq").fetchall()
    assert rows == [(added["batch_id"], "outreach", "file:contacts.csv line 2"),
                    (added["batch_id"], "outreach", "file:contacts.csv line 3")]


@pytest.mark.parametrize(("content", "expected"), [
    (GOOD.replace("ada@analytical.example", ""), "line 2: email is empty"),
    (GOOD.replace("grace@cobolworks.example", "grace(at)cobolworks"), "line 3: email 'grace(at)cobolworks'"),
    (GOOD + "Ada L,ADA@analytical.example,AE,Another note about Ada.\n", "line 4: ADA@analytical.example is already"),
    (GOOD.replace("company,", ""), "line 2 has 4 fields, the header has 3"),
    (GOOD.replace(",context", ""), "the header lacks the column(s) context"),
    (GOOD.encode() + "José,jose@example.com,Café,Asked.\n".encode("latin-1"), "line 4 is not UTF-8"),
    (b"name,email,company,context\n" + b"x" * 10_000_000, "the limit is 1,000,000"),
])
def test_a_bad_contacts_file_is_one_clear_error_and_records_nothing(root, content, expected):
    path = root / "contacts.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = events(root)
    result = masthead("signal", "add", "tallybook", "--kind", "outreach", "--file", "contacts.csv", cwd=root)
    assert result.returncode != 0 and "Traceback" not in result.stderr and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "fix: " in line and expected in line, line
    assert events(root) == before


def test_a_project_without_an_email_channel_is_refused(tmp_path):
    with OpenAIServer(api_key=KEY, reply=content_reply) as server:
        root = make_workspace(tmp_path / "ws", server.base_url).root  # x, linkedin, newsletter
    (root / "contacts.csv").write_text(GOOD, "utf-8")
    result = masthead("signal", "add", "tallybook", "--kind", "outreach", "--file", "contacts.csv", cwd=root)
    assert result.returncode != 0 and "has no email channel" in result.stderr and "email: {gate: hard" in result.stderr
    assert masthead("signal", "add", "tallybook", "--kind", "outreach", "--text", "hi", cwd=root).returncode != 0
