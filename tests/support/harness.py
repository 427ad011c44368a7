"""Workspaces wired to the loopback OpenAI-compatible server, with content-aware replies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from masthead.app.commands import add_signal, apply_project
from masthead.app.workspace import Workspace, init_workspace

KEY_ENV = "MASTHEAD_TEST_KEY"

PROJECT_YAML = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelance designers and developers.
voice:
  description: Plain and friendly.
  exemplars: ["Tallybook 3.1 is out. Recurring invoices skip weekends now."]
facts:
  - Tallybook has a free plan for up to 3 clients.
channels:
  x: {gate: auto}
  linkedin: {gate: soft, soft_delay_minutes: 0}
  newsletter: {gate: hard}
policies:
  banned_phrases: [game changer]
  required_disclaimers:
    linkedin: "Posted by the Tallybook team."
"""

RELEASE_NOTES = """\
# Tallybook 3.2
- Bank feeds for 40 more banks.
- The dashboard loads 35% faster.
"""

GOOD_TEXT = {
    "x": "Tallybook 3.2 is out: bank feeds for 40 more banks, and a dashboard that loads 35% faster.",
    "bluesky": "Tallybook 3.2 is out: bank feeds for 40 more banks.",
    "linkedin": "Tallybook 3.2 adds bank feeds for 40 more banks. Posted by the Tallybook team.",
    "newsletter": "Tallybook 3.2 brings bank feeds for 40 more banks and a 35% faster dashboard.",
}


def channel_of(body: dict[str, Any]) -> str:
    prompt = body["messages"][-1]["content"]
    match = re.search(r"Write the (\w+) piece|Draft for (\w+):", prompt)
    return next(g for g in match.groups() if g) if match else "x"


def content_reply(body: dict[str, Any]) -> str:
    """Answers each agent with valid, grounded content, like a capable model would."""
    name = (body.get("response_format") or {}).get("json_schema", {}).get("name", "")
    if name == "BriefOutput":
        return json.dumps(
            {
                "headline": "Tallybook 3.2",
                "key_points": ["bank feeds", "faster dashboard"],
                "angle": "less bookkeeping",
            }
        )
    if name == "SubjectLinesOutput":
        return json.dumps(
            {"subjects": ["Tallybook 3.2: bank feeds for 40 more banks", "What is new"]}
        )
    if name in ("DraftOutput", "RefineOutput"):
        return json.dumps({"text": GOOD_TEXT.get(channel_of(body), GOOD_TEXT["x"])})
    return json.dumps({"text": "ok"})


def write_config(root: Path, base_url: str, **runtime: Any) -> None:
    settings = {
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "poll_interval_seconds": 0.05,
        "lease_seconds": 30.0,
        **runtime,
    }
    runtime_toml = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    (root / "masthead.toml").write_text(
        f"""
[workspace]
operator = "ana"

[models.draft]
provider = "openai"
model = "gpt-test"

[models.final]
provider = "openai"
model = "gpt-test-large"

[providers.openai]
base_url = "{base_url}"
api_key_env = "{KEY_ENV}"
timeout_seconds = 5.0

[prices."openai:gpt-test"]
input_per_million = 1.0
output_per_million = 2.0

[prices."openai:gpt-test-large"]
input_per_million = 5.0
output_per_million = 10.0

[runtime]
{runtime_toml}
""",
        "utf-8",
    )


def make_workspace(
    root: Path, base_url: str, project_yaml: str = PROJECT_YAML, **runtime: Any
) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    write_config(root, base_url, **runtime)
    ws, _ = init_workspace(root)
    (root / "project.yaml").write_text(project_yaml, "utf-8")
    apply_project(ws, root / "project.yaml")
    return ws


def add_release_notes(ws: Workspace, body: str = RELEASE_NOTES, priority: str = "normal") -> str:
    added = add_signal(
        ws,
        "tallybook",
        kind="release_notes",
        body=body,
        title="Tallybook 3.2",
        priority=priority,
        source="test",
    )
    return added.job_ids[0]


def pieces_by_channel(ws: Workspace, job_id: str) -> dict[str, dict[str, Any]]:
    rows = ws.store.query("SELECT * FROM pieces WHERE job_id = ?", (job_id,))
    return {r["channel"]: r for r in rows}
