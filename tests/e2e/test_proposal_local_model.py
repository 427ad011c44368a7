"""The proposal recipe on the real bundled local model: whatever the small model writes, the
price table, the terms and the checks are the code's, and the proposal waits for a person."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"


def masthead(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "masthead.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=1800)


@pytest.mark.slow
def test_a_proposal_on_the_bundled_model(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert masthead("init", ws).returncode == 0
    for name in ("acme", "globex"):
        assert masthead("-w", ws, "project", "apply", FIXTURES / "proposals" / f"{name}.yaml").returncode == 0
    added = masthead("-w", ws, "signal", "add", "globex-site", "--kind", "request", "--file",
                     FIXTURES / "rfps" / "globex-content.md", "--json")
    assert added.returncode == 0, added.stderr
    job = json.loads(added.stdout)["job_ids"][0]
    ran = masthead("-w", ws, "run", "--until-idle")
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    pieces = [p for p in json.loads(masthead("-w", ws, "pieces", "list", "--json").stdout) if p["job_id"] == job]
    [piece] = pieces
    assert piece["status"] == "in_review"  # hard gate, and legal flags in the request
    text = piece["text"]
    assert "| **Total** | **EUR 12,500** |" in text  # computed, never the model's arithmetic
    assert "Acme" not in text and "marketing@acme.example" not in text
    assert any(flag.startswith("legal:") and "governing-law" in flag for flag in piece["flags"])
    calls = masthead("-w", ws, "log", "--json").stdout
    assert '"provider": "local"' in calls
    assert masthead("-w", ws, "replay", "--verify").stdout.startswith("ok:")
