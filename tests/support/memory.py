"""Workspaces and items for memory tests: real SQLite, the real ONNX embedder by default, the
loopback server's /v1/embeddings when a test only needs the plumbing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.support.harness import KEY_ENV, PROJECT_YAML

from masthead.app.commands import apply_project
from masthead.app.workspace import Workspace, init_workspace
from masthead.events.model import Meta
from masthead.memory.items import added_event, new_event


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def loopback_embedder_toml(base_url: str, **memory: object) -> str:
    """[memory] on the loopback server's /v1/embeddings, plus any other [memory] keys."""
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in memory.items())
    return (f'[memory]\nembedder = "openai"\n{extra}\n[memory.openai]\nbase_url = "{base_url}"\n'
            f'model = "loopback-embed"\napi_key_env = "{KEY_ENV}"\n')


def memory_workspace(root: Path, config_toml: str = "", project_yaml: str = PROJECT_YAML) -> Workspace:
    """A workspace with the harness's project applied; no model tier is ever called."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "masthead.toml").write_text(config_toml, "utf-8")
    ws, _ = init_workspace(root)
    (root / "project.yaml").write_text(project_yaml, "utf-8")
    apply_project(ws, root / "project.yaml")
    return ws


def remember(ws: Workspace, text: str, *, kind: str = "fact", age_days: float = 0.0, confidence: float = 1.0,
             tier: str = "project", project: str | None = "tallybook", job_id: str | None = None,
             actor: str = "human:ana") -> str:
    """Append an item as if it had been added `age_days` ago; returns its id."""
    event = added_event(tier=tier, kind=kind, text=text, source=actor, confidence=confidence, project=project,
                        job_id=job_id, embedding_model=ws.memory.model_id)
    ws.store.append([new_event(event)], Meta(actor=actor, at=iso(time.time() - age_days * 86_400)))
    return event.id


def event_count(ws: Workspace) -> int:
    return int(ws.store.query("SELECT COUNT(*) AS n FROM events")[0]["n"])
