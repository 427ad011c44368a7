"""CLI start-up: `masthead --help`, `pieces list` and `review list` on a workspace of 1,000 pieces,
against a bare `python -c pass` measured in the same run.

The workspace is built in-process without a model: `init`, the project applied, then for each
piece its signal, job, draft, checks and (for every second piece) a review request appended
straight to the log. Each command then runs as a user runs it, a fresh process of the installed
`masthead` script with its output thrown away, `--runs` times, the commands interleaved so that
load on the machine falls on all of them alike. Target: each median within 0.25 s of the bare
interpreter's.

    .venv/bin/python benchmarks/cli.py [--pieces 1000] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402

from masthead.app.commands import apply_project  # noqa: E402
from masthead.app.workspace import init_workspace  # noqa: E402
from masthead.events.model import Meta, NewEvent, utc_now  # noqa: E402
from masthead.events.types import (  # noqa: E402
    CheckOutcome,
    ChecksRecorded,
    JobStarted,
    PieceDrafted,
    ReviewRequested,
    SignalReceived,
)

TARGET_SECONDS = 0.25
PROJECT_YAML = """\
name: tallybook
description: Invoicing software for freelancers.
channels:
  x: {gate: auto}
  newsletter: {gate: hard}
"""
TEXT = ("Tallybook 3.2 adds bank feeds for 40 more banks and a dashboard that loads 35% faster. " * 4)[:280]
RECIPE_SPEC = {"name": "release-notes", "version": 1, "trigger": {"signal_kinds": ["release_notes"]},
               "steps": [{"id": "draft"}]}


def piece_events(n: int) -> list[NewEvent]:
    job, signal, piece = f"job-{n:07d}", f"sig-{n:07d}", f"pc-{n:07d}"
    channel = "newsletter" if n % 2 else "x"
    events = [
        SignalReceived(id=signal, project="tallybook", kind="release_notes", title=f"Release {n}", priority="normal",
                       body=TEXT, source="bench", sha256="0" * 64).to_new(f"signal-{signal}", 0),
        JobStarted(id=job, project="tallybook", recipe="release-notes", recipe_spec=RECIPE_SPEC, signal_id=signal,
                   priority=5, channels=[channel]).to_new(f"job-{job}", 0),
        PieceDrafted(id=piece, job_id=job, project="tallybook", channel=channel, text=f"{n}: {TEXT}", subject=None,
                     author="agent:draft", tier="draft", prompt_version="draft/3", task_id=None)
        .to_new(f"piece-{piece}", 0),
        ChecksRecorded(piece_id=piece, version=1, results=[CheckOutcome(name="length", passed=True, detail="ok")])
        .to_new(f"piece-{piece}"),
    ]
    if channel == "newsletter":
        events.append(ReviewRequested(piece_id=piece, version=1, gate="hard", reason="hard gate: a person approves",
                                      priority=5, deadline=None).to_new(f"piece-{piece}"))
    return events


def build_workspace(root: Path, pieces: int) -> None:
    ws, _ = init_workspace(root)
    try:
        (root / "project.yaml").write_text(PROJECT_YAML, "utf-8")
        apply_project(ws, root / "project.yaml")
        meta = Meta(actor="system", at=utc_now())
        for start in range(0, pieces, 250):
            ws.store.append([e for n in range(start, min(start + 250, pieces)) for e in piece_events(n)], meta)
    finally:
        ws.close()


def masthead_command() -> list[str]:
    """The installed console script, as a user runs it (else `python -m`)."""
    beside = Path(sys.executable).parent / "masthead"
    found = str(beside) if beside.exists() else shutil.which("masthead")
    return [found] if found else [sys.executable, "-m", "masthead.cli.main"]


def run_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def measure(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # one warm-up each: OS file cache, .pyc files
        run_once(argv, env)
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(run_once(argv, env))
    return times


def report(times: dict[str, list[float]], pieces: int, in_review: int, runs: int) -> tuple[str, bool]:
    bare = statistics.median(times["python -c pass"])
    rows, ok = [], True
    for name, samples in times.items():
        median = statistics.median(samples)
        difference = median - bare
        met = name == "python -c pass" or difference <= TARGET_SECONDS
        ok = ok and met
        target = "" if name == "python -c pass" else f"<= +{TARGET_SECONDS:.2f} s: {'met' if met else 'MISSED'}"
        rows.append(f"| `{name}` | {median * 1000:.0f} | {min(samples) * 1000:.0f}–{max(samples) * 1000:.0f} "
                    f"| {median / bare:.2f} | {difference * 1000:+.0f} | {target} |")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "n/a"
    body = "\n".join([
        f"Median of {runs} runs per command, interleaved, each a fresh process with output discarded; a workspace of",
        f"{pieces:,} pieces ({in_review:,} of them in review) built by appending events. Load after: {load}.",
        "",
        "| command | median ms | min–max ms | ratio to bare | difference ms | target |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "- Start-up cost is imports: `masthead` registers its commands by name and imports a command's module",
        "  only when that command runs, and the modules import the web server, numpy or the model runtimes",
        "  only inside the commands that use them. Profile one with `python -X importtime -m masthead.cli.main ...`.",
    ])
    return body, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="Print the section instead of writing RESULTS.md.")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD")}
    with tempfile.TemporaryDirectory(prefix="masthead-cli-bench-") as folder:
        root = Path(folder) / "ws"
        build_workspace(root, args.pieces)
        script = masthead_command()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "masthead --help": [*script, "--help"],
            "masthead pieces list": [*script, "-w", str(root), "pieces", "list"],
            "masthead review list": [*script, "-w", str(root), "review", "list"],
        }
        listed = subprocess.run(commands["masthead pieces list"], env=env, capture_output=True, text=True, check=True)
        queued = subprocess.run(commands["masthead review list"], env=env, capture_output=True, text=True, check=True)
        # The lists must be the whole workspace, or a fast command could be one that read nothing.
        assert len(listed.stdout.splitlines()) == args.pieces, listed.stdout[-500:]
        in_review = queued.stdout.count(" why: ")
        assert in_review == args.pieces // 2, queued.stdout[-500:]
        times = measure(commands, args.runs, env)
    body, ok = report(times, args.pieces, in_review, args.runs)
    if args.no_write:
        print(body)
    else:
        write_section("cli", f"python benchmarks/cli.py --pieces {args.pieces} --runs {args.runs}", body)
        print(body)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
