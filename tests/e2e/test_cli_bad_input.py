"""Bad input through the real `masthead` console script, in a subprocess.

Every case must end the same way: a non-zero exit, no traceback, one `error: ...` line on
stderr that names the input and says `fix:`, nothing on stdout, and no new row in the
`events` table (counted with sqlite3 directly, not through Masthead).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.harness import (
    KEY_ENV,
    PROJECT_YAML,
    RELEASE_NOTES,
    content_reply,
    make_workspace,
)
from tests.support.openai_server import OpenAIServer

from masthead.channels.limits import CHANNELS

KEY = "sk-test"
WRONG_KEY = "sk-wrong"


def masthead_script() -> str:
    beside = Path(sys.executable).parent / "masthead"
    found = str(beside) if beside.exists() else shutil.which("masthead")
    assert found, "the `masthead` console script is not installed"
    return found


MASTHEAD = masthead_script()


def cli_env(key: str | None = KEY, **extra: str) -> dict[str, str]:
    """The caller's environment without any MASTHEAD_* setting, plus the loopback key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD") and k != KEY_ENV}
    env["PYTHONIOENCODING"] = "utf-8"
    if key is not None:
        env[KEY_ENV] = key
    env.update(extra)
    return env


def masthead(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MASTHEAD, *args], cwd=cwd, env=cli_env() if env is None else env,
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


def event_marks(root: Path) -> tuple[int, int]:
    """(row count, highest seq) of the events table."""
    with sqlite3.connect(root / "masthead.db") as db:
        count, top = db.execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM events").fetchone()
    return count, top


def query(root: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    db = sqlite3.connect(root / "masthead.db")
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def assert_one_error(result: subprocess.CompletedProcess[str], *names: str) -> str:
    """The single stderr line; it must start with `error:`, say `fix:` and contain every name."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    assert "fix: " in line, line
    for name in names:
        assert name in line, f"{name!r} not in {line!r}"
    return line


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY, reply=content_reply) as srv:
        yield srv


@pytest.fixture
def ws(tmp_path: Path, server: OpenAIServer) -> Path:
    """A workspace with the tallybook project, wired to the loopback server (set up in-process)."""
    workspace = make_workspace(tmp_path / "ws", server.base_url)
    workspace.close()
    return workspace.root


def add_signal(root: Path) -> str:
    result = masthead("signal", "add", "tallybook", "--kind", "release_notes", "--json",
                      "--text", RELEASE_NOTES, cwd=root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["job_ids"][0]


# -- names that do not exist ---------------------------------------------------------------


def test_unknown_project(ws):
    before = event_marks(ws)
    result = masthead("signal", "add", "nosuch", "--kind", "release_notes", "--text", "hi", cwd=ws)
    line = assert_one_error(result, "'nosuch'", "does not exist")
    assert "tallybook" in line  # the fix lists the projects that do exist
    assert result.returncode == 3
    assert event_marks(ws) == before


def test_unknown_recipe(ws):
    before = event_marks(ws)
    result = masthead("recipe", "show", "nosuch", cwd=ws)
    assert_one_error(result, "recipe 'nosuch'", "release-notes")
    assert event_marks(ws) == before


def test_unknown_piece_cannot_be_approved(ws):
    before = event_marks(ws)
    result = masthead("review", "approve", "pc-nosuch", cwd=ws)
    assert_one_error(result, "'pc-nosuch'", "does not exist", "masthead review list")
    assert event_marks(ws) == before


def test_reject_without_reason_is_a_usage_error(ws):
    before = event_marks(ws)
    result = masthead("review", "reject", "pc-nosuch", cwd=ws)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Missing option '--reason'" in result.stderr
    assert event_marks(ws) == before


def test_log_outside_any_workspace(tmp_path):
    empty = tmp_path / "nowhere"
    empty.mkdir()
    result = masthead("log", cwd=empty)  # cli_env() drops MASTHEAD_HOME
    assert_one_error(result, "no masthead.toml", str(empty.resolve()), "masthead init")
    assert list(empty.iterdir()) == []  # no database was created on the way


# -- project and recipe files --------------------------------------------------------------

PROJECT_HEAD = "name: acme\ndescription: Anvils.\naudience: Coyotes.\n"


def test_unknown_channel_lists_the_valid_ones(ws):
    (ws / "bad.yaml").write_text(PROJECT_HEAD + "voice: {description: Dry.}\nchannels: {myspace: {gate: auto}}\n")
    before = event_marks(ws)
    result = masthead("project", "apply", "bad.yaml", cwd=ws)
    assert_one_error(result, "bad.yaml", "channels", "'myspace'", *CHANNELS)
    assert event_marks(ws) == before
    assert not query(ws, "SELECT * FROM projects WHERE name = 'acme'")


@pytest.mark.parametrize(("body", "names"), [
    ("voice: {description: Dry., tone: x}\nchannels: {x: {gate: auto}}\n", ["voice.tone", "unknown key"]),
    ("voice: {description: Dry.}\nchannels: {x: {gate: sometimes}}\n", ["channels.x.gate", "'auto', 'soft' or 'hard'"]),
    ("voice: {description: Dry.}\nchannels: {x: {gate: auto, soft_delay_minutes: -5}}\n",
     ["channels.x.soft_delay_minutes", "greater than or equal to 0"]),
], ids=["unknown-key", "bad-gate", "negative-delay"])
def test_wrong_field_names_its_path(ws, body, names):
    (ws / "bad.yaml").write_text(PROJECT_HEAD + body)
    before = event_marks(ws)
    result = masthead("project", "apply", "bad.yaml", cwd=ws)
    assert_one_error(result, "bad.yaml", *names)
    assert result.returncode == 2
    assert event_marks(ws) == before


def test_several_problems_give_one_error_line_each(ws):
    (ws / "bad.yaml").write_text(PROJECT_HEAD + "voice: {tone: x}\nchannels: {x: {gate: auto}}\n")
    before = event_marks(ws)
    result = masthead("project", "apply", "bad.yaml", cwd=ws)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert all(line.startswith("error: bad.yaml: ") for line in lines), lines
    assert any("voice.description: Field required" in line for line in lines)
    assert any("voice.tone: unknown key" in line for line in lines)
    assert "fix: " in lines[-1]
    assert event_marks(ws) == before


MALFORMED_YAML = "name: acme\n  description: : broken\n- [\n"


def test_malformed_project_yaml(ws):
    (ws / "broken.yaml").write_text(MALFORMED_YAML)
    before = event_marks(ws)
    result = masthead("project", "apply", "broken.yaml", cwd=ws)
    assert_one_error(result, "broken.yaml", "not valid YAML", "line 2")
    assert event_marks(ws) == before


def test_malformed_recipe_yaml(ws):
    (ws / "broken.yaml").write_text(MALFORMED_YAML)
    before = event_marks(ws)
    result = masthead("recipe", "validate", "broken.yaml", cwd=ws)
    assert_one_error(result, "broken.yaml", "not valid YAML", "line 2")
    assert event_marks(ws) == before


def test_invalid_recipe_names_the_step(ws):
    (ws / "recipe.yaml").write_text(
        "name: mine\ntrigger: {signal_kinds: [note]}\nsteps:\n  - {id: first, agent: nosuch_agent}\n"
    )
    result = masthead("recipe", "validate", "recipe.yaml", cwd=ws)
    assert_one_error(result, "recipe.yaml", "steps.0.agent", "'nosuch_agent'", "draft")


# -- signal files --------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "names"), [
    (b"", ["is empty"]),
    (b"  \n\t\n", ["is empty"]),
    (b"# Notes\x00\x01\x02 binary", ["is binary", "UTF-8"]),
    (b"a" * 1_000_001, ["1,000,001 bytes", "1,000,000"]),
    ("Café crème: the new release".encode("latin-1"), ["not UTF-8", "byte 3"]),
], ids=["empty", "blank", "binary", "over-1mb", "latin-1"])
def test_unusable_signal_file(ws, content, names):
    (ws / "signal.txt").write_bytes(content)
    before = event_marks(ws)
    result = masthead("signal", "add", "tallybook", "--kind", "release_notes", "--file", "signal.txt", cwd=ws)
    assert_one_error(result, "signal file signal.txt", *names)
    assert result.returncode == 2
    assert event_marks(ws) == before
    assert not query(ws, "SELECT * FROM signals")


def test_missing_signal_file(ws):
    before = event_marks(ws)
    result = masthead("signal", "add", "tallybook", "--kind", "release_notes", "--file", "gone.md", cwd=ws)
    assert_one_error(result, "gone.md", "does not exist")
    assert event_marks(ws) == before


# -- masthead.toml and providers -----------------------------------------------------------


def test_unknown_config_key(ws):
    config = ws / "masthead.toml"
    text = config.read_text()
    assert text.rstrip().splitlines()[-1].startswith("lease_seconds")  # [runtime] is the last table
    config.write_text(text + "concurency = 3\n")
    before = event_marks(ws)
    result = masthead("signal", "add", "tallybook", "--kind", "release_notes", "--text", "hi", cwd=ws)
    assert_one_error(result, "masthead.toml", "runtime.concurency", "unknown key")
    assert event_marks(ws) == before
    # A command that only reads the log opens the workspace from `[workspace]` alone (CLI start-up
    # is a target); every command that uses the config still refuses the typo.
    assert masthead("log", cwd=ws).returncode == 0
    assert_one_error(masthead("run", "--until-idle", cwd=ws), "runtime.concurency", "unknown key")


def test_refused_key_hands_the_step_to_a_human_and_never_reaches_the_log(ws, server):
    """A refused key is only found by calling the endpoint. It is not retried (a 401 will not
    fix itself): the step degrades to manual (needs_human) and `run` reports it and carries on."""
    job = add_signal(ws)
    wrong = cli_env(key=WRONG_KEY)
    result = masthead("run", "--until-idle", cwd=ws, env=wrong)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr  # the run itself worked; the task report says why
    assert "1 need a human" in result.stdout
    assert server.calls and not any(call.bearer_matches for call in server.calls)
    assert all(call.bearer_present for call in server.calls)

    task = query(ws, "SELECT status, attempts, last_error FROM tasks WHERE id = ?", (f"{job}.brief",))[0]
    assert (task["status"], task["attempts"]) == ("needs_human", 1)
    for name in (server.base_url, f"${KEY_ENV}", "refused the API key", "fix: "):
        assert name in task["last_error"]
    assert query(ws, "SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] == "running"

    logged = masthead("log", "--json", cwd=ws, env=wrong)
    assert logged.returncode == 0, logged.stderr
    failures = [e for e in map(json.loads, logged.stdout.splitlines()) if e["type"] == "TaskNeedsHuman"]
    assert len(failures) == 1 and server.base_url in failures[0]["data"]["reason"]

    for output in (result.stdout, result.stderr, logged.stdout, logged.stderr):
        assert WRONG_KEY not in output
    rows = query(ws, "SELECT * FROM events")
    assert rows and not any(WRONG_KEY in json.dumps(tuple(row)) for row in rows)
    for path in ws.glob("masthead.db*"):  # the database file and its WAL, byte for byte
        assert WRONG_KEY.encode() not in path.read_bytes()


def test_project_file_is_applied_only_when_valid(ws):
    """Control: the same CLI path accepts the harness's own project file, so the failures
    above come from the input and not from the command."""
    (ws / "good.yaml").write_text(PROJECT_YAML.replace("name: tallybook", "name: acme"))
    before = event_marks(ws)
    result = masthead("project", "apply", "good.yaml", cwd=ws)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("applied project acme (revision 1)")
    # ProjectApplied, and its one exemplar and one fact entering project memory.
    assert event_marks(ws)[0] == before[0] + 3
