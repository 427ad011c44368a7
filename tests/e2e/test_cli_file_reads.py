"""Every CLI input that reads a file reads at most its limit, whatever the path names: a device
is refused at once, a FIFO with no writer does not hang, standard input (`-`) is capped too."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.harness import PROJECT_YAML

TIMEOUT = 30  # seconds; a read of /dev/zero or a FIFO that waits would hit it


def masthead(*args: str | Path, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD")}
    env["PYTHONIOENCODING"] = "utf-8"
    done = subprocess.run([sys.executable, "-m", "masthead.cli.main", *map(str, args)], cwd=cwd, env=env,
                          input=stdin, capture_output=True, timeout=TIMEOUT,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8"),
                                       done.stderr.decode("utf-8"))


def events(root: Path) -> int:
    with sqlite3.connect(root / "masthead.db") as db:
        return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace for the module: every refusal below leaves it unchanged (each test checks)."""
    root = tmp_path_factory.mktemp("reads") / "ws"
    assert masthead("init", root, cwd=root.parent).returncode == 0
    (root / "project.yaml").write_text(PROJECT_YAML, "utf-8")
    assert masthead("project", "apply", "project.yaml", cwd=root).returncode == 0
    return root


# (command line with {path} for the file, the option it names, the limit in the message)
READERS = [
    (["signal", "add", "tallybook", "--kind", "release_notes", "--file", "{path}"], "--file", "1,000,000"),
    (["memory", "add", "--project", "tallybook", "--file", "{path}"], "--file", "1,000,000"),
    (["review", "edit", "pc-0000000000", "--file", "{path}"], "--file", "1,000,000"),
    (["review", "complete", "pc-0000000000", "--file", "{path}"], "--file", "1,000,000"),
    (["recipe", "validate", "{path}"], "FILE", "1,000,000"),
    (["project", "apply", "{path}"], "project file", "1,000,000"),
]
IDS = ["signal-add", "memory-add", "review-edit", "review-complete", "recipe-validate", "project-apply"]


def command(template: list[str], path: str | Path) -> list[str]:
    return [part.replace("{path}", str(path)) for part in template]


def assert_refused(result: subprocess.CompletedProcess[str], *names: str) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "(fix: " in lines[0], result.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.mark.parametrize(("template", "option", "limit"), READERS, ids=IDS)
def test_a_device_is_refused_at_once(ws, template, option, limit):
    before = events(ws)
    line = assert_refused(masthead(*command(template, "/dev/zero"), cwd=ws), "/dev/zero", option, limit,
                          "character device")
    assert "regular file" in line
    assert events(ws) == before


@pytest.mark.parametrize(("template", "option", "limit"), READERS, ids=IDS)
def test_a_fifo_without_a_writer_does_not_hang(ws, template, option, limit):
    fifo = ws / f"pipe-{template[0]}-{template[1]}.md"
    os.mkfifo(fifo)
    before = events(ws)
    assert_refused(masthead(*command(template, fifo), cwd=ws), fifo.name, option, limit, "FIFO")
    assert events(ws) == before


def test_standard_input_is_capped(ws):
    before = events(ws)
    result = masthead("signal", "add", "tallybook", "--kind", "release_notes", "--file", "-", cwd=ws,
                      stdin=b"a" * 1_000_001)
    assert_refused(result, "standard input", "--file", "more than 1,000,000 bytes")
    assert events(ws) == before


def test_standard_input_is_read_as_the_file(ws):
    result = masthead("signal", "add", "tallybook", "--kind", "release_notes", "--file", "-", "--json", cwd=ws,
                      stdin=b"# Tallybook 3.2\n- Bank feeds for 40 more banks.\n")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(ws / "masthead.db") as db:
        assert db.execute("SELECT source FROM signals").fetchall() == [("cli:stdin",)]


def test_a_file_over_the_limit_names_its_size(ws):
    (ws / "big.md").write_bytes(b"a" * 1_000_001)
    result = masthead("review", "edit", "pc-0000000000", "--file", "big.md", cwd=ws)
    assert_refused(result, "edit file big.md", "--file", "1,000,001 bytes", "1,000,000")


def test_memory_import_skips_a_fifo_instead_of_waiting_on_it(ws):
    folder = ws / "notes"
    folder.mkdir()
    (folder / "one.md").write_text("Tallybook has a free plan for up to 3 clients.\n", "utf-8")
    os.mkfifo(folder / "two.md")
    result = masthead("memory", "import", folder, "--project", "tallybook", "--json", cwd=ws)
    assert result.returncode == 0, result.stderr
    assert '"files": 1' in result.stdout
