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
import json
import os
import resource
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
audience: Freelance designers and developers.
voice:
  description: Plain and friendly.
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


def child_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; CPU is what other load on the machine inflates least."""
    cpu, started = child_cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed, child_cpu() - cpu


# Where a listing's start-up goes: CPU time of each import step in a fresh interpreter.
BREAKDOWN = """
import contextlib, io, json, sys, time
marks, last = [], time.process_time()
def mark(name):
    global last
    now = time.process_time(); marks.append((name, now - last)); last = now
import click; mark("click")
import masthead.cli.main as cli_main; mark("masthead.cli.main (the command registry)")
import masthead.app.queries, masthead.cli.inspect; mark("store, read models, queries, the command module")
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    cli_main.main(["-w", sys.argv[1], "pieces", "list"])
mark("open the workspace, query and print the pieces")
print(json.dumps(marks))
"""
BREAKDOWN_RUNS = 7

Commands = dict[str, tuple[list[str], dict[str, str]]]  # name -> (argv, environment)


def measure(commands: Commands, runs: int) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for argv, env in commands.values():  # one warm-up each: OS file cache, .pyc files
        run_once(argv, env)
    for _ in range(runs):
        for name, (argv, env) in commands.items():
            times[name].append(run_once(argv, env))
    return times


def breakdown(root: Path, env: dict[str, str]) -> list[str]:
    """Median CPU ms per import step of `pieces list`, as table rows."""
    runs = [json.loads(subprocess.run([sys.executable, "-c", BREAKDOWN, str(root)], env=env, capture_output=True,
                                      text=True, check=True).stdout) for _ in range(BREAKDOWN_RUNS)]
    return [f"| {name} | {statistics.median(run[i][1] for run in runs) * 1000:.0f} |"
            for i, (name, _) in enumerate(runs[0])]


def loadavg() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "n/a"


def report(times: dict[str, list[tuple[float, float]]], pieces: int, in_review: int, runs: int,
           load_before: str, steps: list[str]) -> tuple[str, bool]:
    bare_wall = statistics.median(wall for wall, _ in times["python -c pass"])
    bare_cpu = statistics.median(cpu for _, cpu in times["python -c pass"])
    rows, ok = [], True
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        judged = name.startswith("masthead")  # not the bare interpreter, not the "before" rows
        met = not judged or wall - bare_wall <= TARGET_SECONDS
        ok = ok and met
        target = f"wall <= +{TARGET_SECONDS * 1000:.0f} ms: {'met' if met else 'MISSED'}" if judged else ""
        rows.append(f"| `{name}` | {wall * 1000:.0f} ({min(w for w, _ in samples) * 1000:.0f}–"
                    f"{max(w for w, _ in samples) * 1000:.0f}) | {wall / bare_wall:.1f} | {(wall - bare_wall) * 1000:+.0f} "
                    f"| {cpu * 1000:.0f} | {(cpu - bare_cpu) * 1000:+.0f} | {target} |")
    body = "\n".join([
        f"Median of {runs} runs per command, interleaved, each a fresh process with output discarded; a workspace of",
        f"{pieces:,} pieces ({in_review:,} of them in review) built by appending events. Load average before: "
        f"{load_before}, after: {loadavg()} (on {os.cpu_count()} cores: other work on the machine inflates wall time;",
        "CPU time, user + system of the process, much less).",
        "",
        "| command | wall ms, median (min–max) | ratio to bare | wall difference ms | CPU ms | CPU difference ms | target |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "- Start-up cost is imports: `masthead` registers its commands by name and imports a command's module",
        "  only when that command runs, and the modules import the web server, numpy or the model runtimes",
        "  only inside the commands that use them. Profile one with `python -X importtime -m masthead.cli.main ...`.",
        "- A listing opens the workspace from masthead.toml's `[workspace]` table without pydantic (~130 ms of",
        "  CPU on its own); the whole config is validated when a command first reads it",
        "  (tests/unit/test_cli_startup.py checks that `pieces list` and `review list` never load pydantic).",
        "- Rows `before:` (with `--before SRC`) run the same commands on an earlier version's source in the same run.",
        "",
        f"Where `pieces list` spends its CPU, step by step in one fresh interpreter (median of {BREAKDOWN_RUNS} runs):",
        "",
        "| step | CPU ms |",
        "| --- | --- |",
        *steps,
    ])
    return body, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", type=Path, metavar="SRC",
                        help="Also time the `src` folder of an earlier version (e.g. from `git archive`), for comparison.")
    parser.add_argument("--no-write", action="store_true", help="Print the section instead of writing RESULTS.md.")
    args = parser.parse_args()
    # As a user runs it: no workspace from the environment, and .pyc files written (some CI and
    # sandbox images set PYTHONDONTWRITEBYTECODE, which makes every run compile Masthead again).
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="masthead-cli-bench-") as folder:
        root = Path(folder) / "ws"
        load_before = loadavg()
        build_workspace(root, args.pieces)
        script = masthead_command()
        runs = {"--help": ["--help"], "pieces list": ["-w", str(root), "pieces", "list"],
                "review list": ["-w", str(root), "review", "list"]}
        commands: Commands = {"python -c pass": ([sys.executable, "-c", "pass"], env)}
        commands.update({f"masthead {name}": ([*script, *argv], env) for name, argv in runs.items()})
        if args.before:
            before_env = {**env, "PYTHONPATH": str(args.before.resolve())}
            commands.update({f"before: masthead {name}": ([*script, *argv], before_env) for name, argv in runs.items()})
        listed = subprocess.run(commands["masthead pieces list"][0], env=env, capture_output=True, text=True, check=True)
        queued = subprocess.run(commands["masthead review list"][0], env=env, capture_output=True, text=True, check=True)
        # The lists must be the whole workspace, or a fast command could be one that read nothing.
        assert len(listed.stdout.splitlines()) == args.pieces, listed.stdout[-500:]
        in_review = queued.stdout.count(" why: ")
        assert in_review == args.pieces // 2, queued.stdout[-500:]
        times = measure(commands, args.runs)
        steps = breakdown(root, env)
    body, ok = report(times, args.pieces, in_review, args.runs, load_before, steps)
    if args.no_write:
        print(body)
    else:
        before = f" --before {args.before}" if args.before else ""
        write_section("cli", f"python benchmarks/cli.py --pieces {args.pieces} --runs {args.runs}{before}", body)
        print(body)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
