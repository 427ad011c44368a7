"""`masthead demo`: a workspace, a sample SaaS project and release notes, run end to end."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from masthead.app.commands import add_signal, apply_project
from masthead.app.queries import list_pieces, review_queue
from masthead.app.workspace import Workspace, init_workspace
from masthead.runtime.worker import TaskReport


@dataclass
class DemoResult:
    workspace: Path
    statuses: dict[str, int]
    published: list[str]
    published_texts: list[tuple[str, str]]  # (channel, text) of each delivered piece, in `published`'s order
    in_review: list[dict]
    job_ids: list[str]


def demo_file(name: str) -> str:
    return resources.files("masthead.app").joinpath("demo_data", name).read_text("utf-8")


def run_demo(folder: Path, *, say: Callable[[str], None],
             on_report: Callable[[TaskReport], None] | None = None) -> DemoResult:
    ws, _created = init_workspace(folder)
    try:
        return _run(ws, say, on_report)
    finally:
        ws.close()


def _run(ws: Workspace, say: Callable[[str], None], on_report: Callable[[TaskReport], None] | None) -> DemoResult:
    say(f"workspace: {ws.root}")
    project_path = ws.root / "tallybook.yaml"
    notes_path = ws.root / "release-notes.md"
    if not project_path.exists():
        project_path.write_text(demo_file("project.yaml"), "utf-8")
    if not notes_path.exists():
        notes_path.write_text(demo_file("release-notes.md"), "utf-8")
    project, revision, _ = apply_project(ws, project_path)
    say(f"project: {project.name} (revision {revision}), channels {', '.join(project.channels)}")
    added = add_signal(ws, project.name, kind="release_notes", body=notes_path.read_text("utf-8"),
                       title="Tallybook 3.2", priority="normal", source=f"file:{notes_path.name}")
    say(f"signal: {added.signal_id} -> job {', '.join(added.job_ids)} ({', '.join(added.recipes)})")
    say("running the recipe on the local model (SmolLM2-135M, CPU; a minute or two)...")
    ws.runner(on_report=on_report).run(until_idle=True)
    pieces = [p for p in list_pieces(ws) if p["job_id"] in added.job_ids]
    ours = {p["id"] for p in pieces}
    texts = {p["id"]: (p["channel"], p["text"]) for p in pieces}
    delivered = [row for row in ws.store.query(
        "SELECT piece_id, location FROM publications WHERE status = 'delivered' ORDER BY location")
        if row["piece_id"] in ours]
    published = [row["location"] for row in delivered]
    in_review = [item for item in review_queue(ws) if item["piece_id"] in ours]
    return DemoResult(workspace=ws.root, statuses=dict(Counter(p["status"] for p in pieces)),
                      published=published, published_texts=[texts[row["piece_id"]] for row in delivered],
                      in_review=in_review, job_ids=added.job_ids)
