"""`masthead memory ...` through the real console script, with the bundled ONNX embedder."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.support.harness import PROJECT_YAML


def masthead_script() -> str:
    beside = Path(sys.executable).parent / "masthead"
    found = str(beside) if beside.exists() else shutil.which("masthead")
    assert found, "the `masthead` console script is not installed"
    return found


MASTHEAD = masthead_script()


class Cli:
    def __init__(self, root: Path):
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD")}
        self.env["PYTHONIOENCODING"] = "utf-8"

    def __call__(self, *args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([MASTHEAD, "-w", str(self.root), *map(str, args)], env=self.env,
                                capture_output=True, text=True, encoding="utf-8", timeout=120)
        assert "Traceback" not in result.stderr, result.stderr
        if ok:
            assert result.returncode == 0, f"masthead {' '.join(map(str, args))}: {result.stderr}"
        return result

    def json(self, *args: str | Path) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def events(self) -> int:
        with sqlite3.connect(self.root / "masthead.db") as db:
            return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    root = tmp_path / "ws"
    run = Cli(root)
    subprocess.run([MASTHEAD, "init", str(root)], env=run.env, check=True, capture_output=True)
    (tmp_path / "project.yaml").write_text(PROJECT_YAML)
    run("project", "apply", tmp_path / "project.yaml")
    return run


def test_add_list_search_explain_and_forget(cli: Cli) -> None:
    added = cli.json("memory", "add", "The spring webinar is on 14 March.", "--project", "tallybook", "--kind", "note")
    assert added["added"] and added["tier"] == "project"
    again = cli.json("memory", "add", "The spring webinar is on 14 March.", "--project", "tallybook", "--kind", "note")
    assert again == added | {"added": False}
    listed = cli.json("memory", "list", "--project", "tallybook")
    assert {i["kind"] for i in listed} == {"note", "fact", "exemplar"}  # and the project file's own items
    assert next(i for i in listed if i["id"] == added["id"])["source"] == "human:operator"
    found = cli.json("memory", "search", "When is the webinar?", "--project", "tallybook", "--explain")
    assert found["results"][0]["id"] == added["id"]
    assert set(found["results"][0]["parts"]) >= {"similarity", "recency", "kind_match", "confidence", "boost"}
    assert "below_floor" in found and "duplicates" in found
    text = cli("memory", "search", "When is the webinar?", "--project", "tallybook", "--explain").stdout
    assert text.startswith("1. ") and "similarity " in text and "candidate(s) scored" in text
    assert cli.json("memory", "forget", added["id"], "--reason", "moved") == {"id": added["id"], "forgotten": True}
    after = cli.json("memory", "search", "When is the webinar?", "--project", "tallybook")
    assert added["id"] not in [r["id"] for r in after["results"]]
    assert "ok:" in cli("replay", "--verify").stdout


def test_import_a_folder_and_reindex(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("Launch posts go out on Tuesdays.")
    (folder / "b.txt").write_text("No exclamation marks, ever.")
    result = cli("memory", "import", folder, "--project", "tallybook")
    assert "imported 2 file(s) as 2 chunk(s): 2 new" in result.stdout
    assert "read a.md" in result.stderr and "embedded" in result.stderr  # progress goes to stderr
    assert cli.json("memory", "reindex") == {"items": 4, "embedder": "all-MiniLM-L6-v2-onnx-int8"}


@pytest.mark.parametrize(("args", "code", "message"), [
    (["memory", "add", "   ", "--project", "tallybook"], 2, "the memory text is empty"),
    (["memory", "add", "x", "--project", "nope"], 3, "project 'nope' does not exist"),
    (["memory", "add", "x"], 2, "project memory needs a project"),
    (["memory", "add", "x", "--project", "tallybook", "--global"], 2, "exclude each other"),
    (["memory", "forget", "mem-0000"], 3, "memory item 'mem-0000' does not exist"),
    (["memory", "search", " "], 2, "the search query is empty"),
])
def test_bad_input_prints_one_error_with_a_fix_and_writes_nothing(cli: Cli, args: list[str], code: int,
                                                                   message: str) -> None:
    before = cli.events()
    result = cli(*args, ok=False)
    assert result.returncode == code and result.stdout == ""
    assert message in result.stderr and "(fix: " in result.stderr and result.stderr.startswith("error: ")
    assert cli.events() == before


def test_a_non_utf8_file_in_an_import_is_named_and_nothing_is_written(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "good.md").write_text("Fine text.")
    (folder / "legacy.txt").write_bytes("Grüße aus Köln".encode("latin-1"))
    before = cli.events()
    result = cli("memory", "import", folder, "--project", "tallybook", ok=False)
    assert result.returncode == 2 and "legacy.txt is not UTF-8 text" in result.stderr and "fix:" in result.stderr
    assert cli.events() == before
