"""`masthead demo` on the real bundled local model, end to end, then replay --verify."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def masthead(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "masthead.cli.main", *args], capture_output=True, text=True,
                          timeout=900, cwd=cwd)


@pytest.mark.slow
def test_demo_runs_the_release_notes_recipe_on_the_bundled_model(tmp_path: Path):
    ws = tmp_path / "demo"
    demo = masthead("demo", str(ws))
    assert demo.returncode == 0, demo.stderr
    assert "Traceback" not in demo.stderr
    report = demo.stdout.split("== Masthead demo report ==", 1)[1]
    assert report.splitlines()[1].startswith("pieces: ")
    # The newsletter has a hard gate: whatever the model wrote, it waits for a person.
    assert "newsletter hard" in report
    assert "review approve" in report

    calls = masthead("-w", str(ws), "log", "--json")
    assert '"type": "ModelCallRecorded"' in calls.stdout
    assert '"provider": "local"' in calls.stdout

    # Nothing the hostile line in the release notes asked for happened: no hard-gated file.
    assert not (ws / "out" / "newsletter").exists()
    published = sorted(p.parent.name for p in (ws / "out").rglob("*.md")) if (ws / "out").exists() else []
    assert set(published) <= {"x", "bluesky", "linkedin"}

    # What ships says something: the posts name the release's actual changes, and the report
    # shows them (issue 11: the demo once published "Tallybook 3.2 release notes" and nothing else).
    assert {"x", "bluesky"} <= set(published)
    for channel in ("x", "bluesky"):
        text = next((ws / "out" / channel).glob("*.md")).read_text("utf-8").split("---\n", 2)[2].strip()
        assert text != "Tallybook 3.2 release notes" and len(text) >= 80
        named = [change for change in ("40 more european banks", "35% faster", "reminder", "vat number")
                 if change in text.casefold()]
        assert len(named) >= 2, text
        assert "ignore all previous" not in text.casefold()
        assert f"-- published on {channel} --" in report
        assert text.splitlines()[0] in report

    verified = masthead("-w", str(ws), "replay", "--verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok:")

    # Approving the newsletter and running again publishes exactly that version, once.
    piece = next(line.split()[0] for line in report.splitlines() if "newsletter hard" in line)
    assert masthead("-w", str(ws), "review", "approve", piece).returncode == 0
    assert masthead("-w", str(ws), "run", "--until-idle").returncode == 0
    files = list((ws / "out" / "newsletter").glob("*.md"))
    assert len(files) == 1 and files[0].name.startswith(f"{piece}-v")
