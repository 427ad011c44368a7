"""Resume latency: from a person approving a hard-gated piece to its confirmed publication
(file publisher), with `masthead run`'s workers already running in the process. Median over
100 approvals (target ≤ 10 ms).

    .venv/bin/python benchmarks/resume.py [--pieces 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmarks.orchestration  # noqa: E402,F401  (registers the instant provider)
from benchmarks.results import write_section  # noqa: E402

from masthead.app.commands import add_signal, apply_project, approve  # noqa: E402
from masthead.app.workspace import init_workspace  # noqa: E402

CONFIG = """
[models.draft]
provider = "instant"
model = "fixed-500"

[models.final]
provider = "instant"
model = "fixed-500"

[runtime]
concurrency = 2
poll_interval_seconds = 0.5
max_active_jobs_per_project = 100000
"""

RECIPE = """\
name: gated
trigger: {signal_kinds: [gated]}
steps:
  - {id: gate, action: gate, for_each: channel}
  - {id: publish, action: publish, needs: [gate], for_each: channel}
"""

PROJECT = "name: bench\ndescription: d\naudience: a\nvoice: {description: v}\nchannels: {newsletter: {gate: hard}}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", type=int, default=100)
    args = parser.parse_args()
    from masthead.events.model import Meta, utc_now
    from masthead.events.types import PieceDrafted
    from masthead.runtime.ids import piece_id

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "masthead.toml").write_text(CONFIG)
        (root / "recipes").mkdir()
        (root / "recipes" / "gated.yaml").write_text(RECIPE)
        ws, _ = init_workspace(root)
        (root / "project.yaml").write_text(PROJECT)
        apply_project(ws, root / "project.yaml")
        pieces = []
        for n in range(args.pieces):
            job = add_signal(ws, "bench", kind="gated", body=f"s{n}", title=None, priority="normal", source="b").job_ids[0]
            pid = piece_id(job, "newsletter")
            draft = PieceDrafted(id=pid, job_id=job, project="bench", channel="newsletter", text=f"Piece {n}.",
                                 subject="Subject", author="human:bench", tier=None, prompt_version=None, task_id=None)
            ws.store.append([draft.to_new(f"piece-{pid}", 0)], Meta(actor="human:bench", at=utc_now()))
            pieces.append(pid)
        runner = ws.runner()
        thread = threading.Thread(target=runner.run, daemon=True)
        thread.start()
        deadline = time.time() + 60
        while ws.store.query("SELECT COUNT(*) AS n FROM review_queue")[0]["n"] < args.pieces and time.time() < deadline:
            time.sleep(0.05)
        delivered = threading.Event()
        target = {"key": ""}

        def on_append(events) -> None:  # type: ignore[no-untyped-def]
            if any(e.type == "PublicationDelivered" and e.data["key"].startswith(target["key"]) for e in events):
                delivered.set()

        ws.store.listeners.append(on_append)
        latencies = []
        for pid in pieces:
            target["key"] = pid
            delivered.clear()
            started = time.perf_counter()
            approve(ws, pid, operator="bench")
            if not delivered.wait(10):
                raise SystemExit(f"{pid} was not published within 10 s")
            latencies.append((time.perf_counter() - started) * 1000)
        runner.stop()
        thread.join(5)
        ws.close()
    latencies.sort()
    body = f"""\
{args.pieces} hard-gated pieces waiting in review; each approval is timed until its PublicationDelivered
event is committed (the file is written and fsynced before that), with 2 workers running in the process.

| measure | ms |
| --- | --- |
| median | {statistics.median(latencies):.2f} |
| p90 | {latencies[int(len(latencies) * 0.9) - 1]:.2f} |
| min–max | {latencies[0]:.2f}–{latencies[-1]:.2f} |

Target: median ≤ 10 ms.
"""
    print(body)
    write_section("resume", f"python benchmarks/resume.py --pieces {args.pieces}", body)


if __name__ == "__main__":
    main()
