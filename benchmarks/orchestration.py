"""Orchestration overhead: the same 4-step pipeline (brief, draft, headline, format) through
Masthead on SQLite, through LangGraph with its SQLite checkpointer (durability="sync"), and as
raw sqlite3 inserts (one row per step, WAL) — the floor. The model answers instantly with a
fixed 500-character text, so what is measured is the durable orchestration itself.

Runs the three interleaved, --reps times, and reports medians with ranges: CPU µs per durable
step, wall µs per step, runs/s, bytes stored per run; then 32 concurrent runs with 50 ms model
latency and their efficiency against the ideal.

    .venv/bin/pip install -e ".[bench]"      # LangGraph and its SQLite checkpointer
    .venv/bin/python benchmarks/orchestration.py [--runs 200] [--reps 3] [--baseline DIR]

`--baseline DIR` also measures the Masthead of another checkout (e.g. `git worktree add DIR main`),
in a process of its own, in every repetition between the others: an A/B on the same loaded
machine, with its SQL profile (statements per step before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402

from masthead.agents.base import (  # noqa: E402
    AgentInput,
    AgentOutput,
    AgentResult,
    Effect,
    ModelClient,
    SignalContext,
)
from masthead.agents.registry import register  # noqa: E402
from masthead.app.commands import add_signal, apply_project  # noqa: E402
from masthead.app.workspace import init_workspace  # noqa: E402
from masthead.providers.base import Capabilities, Chunk, Message, ModelRequest, Usage  # noqa: E402
from masthead.providers.registry import register_provider  # noqa: E402

STEPS = ("brief", "draft", "headline", "format")
TEXT = ("Tallybook 3.2 adds bank feeds for 40 more banks and a faster dashboard. " * 8)[:500]
ANSWER = json.dumps({"text": TEXT})
LATENCY = {"seconds": 0.0}  # the instant model's delay; set per scenario


def model_answer() -> str:
    if LATENCY["seconds"]:
        time.sleep(LATENCY["seconds"])
    return ANSWER


# -- Masthead: a provider and four agents, registered as a user's own would be -------------
class InstantProvider:
    name = "instant"
    capabilities = Capabilities(can_stream=True, needs_key=False, json_schema=True, deterministic=True)

    def stream(self, request: ModelRequest) -> Iterator[Chunk]:
        yield Chunk(text=model_answer())
        yield Chunk(usage=Usage(input_tokens=50, output_tokens=125), finish_reason="stop")


register_provider("instant", lambda config, environ: InstantProvider())


class StepInput(AgentInput):
    signal: SignalContext
    brief: dict[str, Any] | None = None
    draft: dict[str, Any] | None = None
    headline: dict[str, Any] | None = None


class StepOutput(AgentOutput):
    text: str


def _agent(step: str) -> type:
    class BenchAgent:
        name: ClassVar[str] = f"bench_{step}"
        prompt_version: ClassVar[str] = f"bench_{step}/1"
        effect: ClassVar[Effect] = "none"
        input_model = StepInput
        output_model = StepOutput

        def run(self, inp: StepInput, model: ModelClient) -> AgentResult:
            previous = next((v["text"] for v in (inp.headline, inp.draft, inp.brief) if v), inp.signal.body)
            output = model.generate([Message(role="user", content=f"{step}: {previous[:200]}")], StepOutput)
            return AgentResult(output=output)

    BenchAgent.__name__ = f"Bench{step.title()}Agent"
    return register(BenchAgent)


for _step in STEPS:
    _agent(_step)

RECIPE = "name: bench\ntrigger: {signal_kinds: [bench]}\nsteps:\n" + "".join(
    f"  - {{id: {step}, agent: bench_{step}" + (f", needs: [{STEPS[i - 1]}]" if i else "") + "}\n"
    for i, step in enumerate(STEPS)
)
PROJECT = "name: bench\ndescription: d\naudience: a\nvoice: {description: v}\nchannels: {x: {gate: auto}}\n"


def masthead_config(concurrency: int) -> str:
    return f"""
[models.draft]
provider = "instant"
model = "fixed-500"

[models.final]
provider = "instant"
model = "fixed-500"

[runtime]
concurrency = {concurrency}
poll_interval_seconds = 0.01
max_active_jobs_per_project = 100000
"""


@dataclass
class Measure:
    cpu_us_per_step: float
    wall_us_per_step: float
    runs_per_s: float
    bytes_per_run: float
    wall_s: float


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def db_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.db*"))


def measured(folder: Path, runs: int, body: Callable[[], None]) -> Measure:
    before = db_bytes(folder)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    body()
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    steps = runs * len(STEPS)
    return Measure(cpu * 1e6 / steps, wall * 1e6 / steps, runs / wall, (db_bytes(folder) - before) / runs, wall)


def run_masthead(folder: Path, runs: int, concurrency: int) -> Measure:
    (folder / "masthead.toml").write_text(masthead_config(concurrency))
    (folder / "recipes").mkdir()
    (folder / "recipes" / "bench.yaml").write_text(RECIPE)
    ws, _ = init_workspace(folder)
    (folder / "project.yaml").write_text(PROJECT)
    apply_project(ws, folder / "project.yaml")

    def body() -> None:
        for n in range(runs):
            add_signal(ws, "bench", kind="bench", body=f"signal {n}", title=None, priority="normal", source="bench")
        ws.runner(concurrency=concurrency).run(until_idle=True)
        _checkpoint(ws.store.path)

    result = measured(folder, runs, body)
    done = ws.store.query("SELECT COUNT(*) AS n FROM jobs WHERE status = 'done'")[0]["n"]
    ws.close()
    assert done == runs, f"masthead finished {done} of {runs} runs"
    return result


# -- LangGraph ------------------------------------------------------------------------------
class GraphState(TypedDict, total=False):
    signal: str
    brief: str
    draft: str
    headline: str
    format: str


def run_langgraph(folder: Path, runs: int, concurrency: int) -> Measure:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(GraphState)
    for step in STEPS:
        graph.add_node(step, lambda state, step=step: {step: json.loads(model_answer())["text"]})
    graph.add_edge(START, STEPS[0])
    for a, b in zip(STEPS, STEPS[1:], strict=False):
        graph.add_edge(a, b)
    graph.add_edge(STEPS[-1], END)
    conn = sqlite3.connect(folder / "langgraph.db", check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn)
    saver.setup()
    app = graph.compile(checkpointer=saver)

    def one(n: int) -> None:
        app.invoke({"signal": f"signal {n}"}, {"configurable": {"thread_id": f"run-{n}"}}, durability="sync")

    def body() -> None:
        if concurrency == 1:
            for n in range(runs):
                one(n)
        else:
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(one, range(runs)))
        _checkpoint(folder / "langgraph.db", conn)

    result = measured(folder, runs, body)
    conn.close()
    return result


# -- raw sqlite3: the floor -------------------------------------------------------------------
def run_raw(folder: Path, runs: int, concurrency: int) -> Measure:
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # as Masthead's default
    conn.execute("CREATE TABLE steps (run INTEGER, step TEXT, output TEXT)")
    lock = threading.Lock()

    def one(n: int) -> None:
        for step in STEPS:
            output = model_answer()
            with lock:  # one writer, as SQLite allows
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO steps VALUES (?, ?, ?)", (n, step, output))
                conn.execute("COMMIT")

    def body() -> None:
        if concurrency == 1:
            for n in range(runs):
                one(n)
        else:
            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(one, range(runs)))
        _checkpoint(folder / "raw.db", conn)

    result = measured(folder, runs, body)
    conn.close()
    return result


def _checkpoint(path: Path, conn: sqlite3.Connection | None = None) -> None:
    """Fold the WAL into the main file so the bytes counted are what stays stored."""
    own = conn is None
    conn = conn or sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if own:
        conn.close()


class _TimedConnection(sqlite3.Connection):
    """Counts every statement Masthead's store runs and the thread CPU it takes (see sql_profile)."""

    spent: ClassVar[dict[str, list[float]]] = {}  # statement -> [count, CPU seconds]

    def execute(self, sql: str, params: Any = (), /) -> sqlite3.Cursor:
        started = time.thread_time()
        try:
            return super().execute(sql, params)
        finally:
            entry = self.spent.setdefault(" ".join(sql.split())[:60], [0, 0.0])
            entry[0] += 1
            entry[1] += time.thread_time() - started


def sql_profile(runs: int) -> str:
    """One more sequential Masthead measurement with every SQLite statement counted and timed:
    how many statements a step runs and how much of its CPU is in SQLite."""
    plain = sqlite3.connect

    def timed(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return plain(*args, factory=_TimedConnection, **kwargs)

    LATENCY["seconds"] = 0.0
    _TimedConnection.spent.clear()
    sqlite3.connect = timed  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as folder:
            measure = run_masthead(Path(folder), runs, 1)
    finally:
        sqlite3.connect = plain
    probe = plain(":memory:")
    started = time.thread_time()
    for _ in range(10_000):
        probe.execute("SELECT 1").fetchone()
    select_one = (time.thread_time() - started) * 1e6 / 10_000
    steps = runs * len(STEPS)
    spent = _TimedConnection.spent
    statements = sum(count for count, _ in spent.values()) / steps
    sql_us = sum(cpu for _, cpu in spent.values()) * 1e6 / steps
    costliest = sorted(spent.items(), key=lambda item: -item[1][1])[:5]
    events = sum(count for sql, (count, _) in spent.items() if sql.startswith("INSERT INTO events")) / steps
    lines = "\n".join(f"  - `{sql}`: {count / steps:.2f} per step, {cpu * 1e6 / count:.0f} µs each"
                      for sql, (count, cpu) in costliest)
    return (f"- SQL profile (one more sequential run, every statement timed): {statements:.1f} SQLite statements"
            f" per step ({events:.2f} of them appending events) taking {sql_us:.0f} of its {measure.cpu_us_per_step:.0f} µs"
            f" of CPU (timers included);"
            f" `SELECT 1` alone takes {select_one:.1f} µs here. The costliest:\n{lines}")


_BASELINE_SCRIPT = """
import json, sys, tempfile
from dataclasses import asdict
from pathlib import Path
tree, runs, concurrency, latency, profile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
sys.path[:0] = [tree + "/src", tree]
import benchmarks.orchestration as b
if profile == "profile":
    print(json.dumps(b.sql_profile(runs)))
else:
    b.LATENCY["seconds"] = latency
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(asdict(b.run_masthead(Path(folder), runs, concurrency))))
"""


def in_baseline(tree: Path, runs: int, concurrency: int, latency: float, profile: bool = False) -> Any:
    """Run the baseline checkout's own Masthead measurement (or SQL profile) in a process of its own."""
    env = {**os.environ, "PYTHONPATH": f"{tree}/src{os.pathsep}{tree}"}
    out = subprocess.run([sys.executable, "-c", _BASELINE_SCRIPT, str(tree), str(runs), str(concurrency), str(latency),
                          "profile" if profile else "measure"], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


SYSTEMS: dict[str, Callable[[Path, int, int], Measure]] = {
    "masthead": run_masthead, "langgraph": run_langgraph, "raw sqlite3": run_raw,
}


def median_range(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def measure_all(systems: dict[str, Callable[[Path, int, int], Measure]], args: argparse.Namespace,
                ) -> tuple[dict[str, list[Measure]], dict[str, list[Measure]]]:
    serial: dict[str, list[Measure]] = {name: [] for name in systems}
    concurrent: dict[str, list[Measure]] = {name: [] for name in systems}
    for rep in range(args.reps):
        for name, run in systems.items():  # interleaved: every system in every repetition
            LATENCY["seconds"] = 0.0
            with tempfile.TemporaryDirectory() as folder:
                serial[name].append(run(Path(folder), args.runs, 1))
            LATENCY["seconds"] = 0.05
            with tempfile.TemporaryDirectory() as folder:
                concurrent[name].append(run(Path(folder), args.concurrent_runs, 32))
            print(f"rep {rep + 1}: {name}: {serial[name][-1].cpu_us_per_step:.0f} us CPU/step, "
                  f"32x50ms efficiency {ideal_efficiency(concurrent[name][-1], args.concurrent_runs):.2f}",
                  file=sys.stderr)
    return serial, concurrent


def table(serial: dict[str, list[Measure]], concurrent: dict[str, list[Measure]], concurrent_runs: int) -> str:
    rows = []
    for name, s in serial.items():
        c = concurrent[name]
        rows.append(
            f"| {name} | {median_range([m.cpu_us_per_step for m in s], '.0f')} | "
            f"{median_range([m.wall_us_per_step for m in s], '.0f')} | {median_range([m.runs_per_s for m in s], '.0f')} | "
            f"{median_range([m.bytes_per_run for m in s], '.0f')} | "
            f"{median_range([m.cpu_us_per_step for m in c], '.0f')} | "
            f"{median_range([ideal_efficiency(m, concurrent_runs) for m in c], '.2f')} |"
        )
    return ("| system | CPU µs / durable step | wall µs / step | runs/s | bytes stored / run"
            " | CPU µs / step at 32 × 50 ms | efficiency at 32 × 50 ms |\n| --- | --- | --- | --- | --- | --- | --- |\n"
            + "\n".join(rows))


def targets(serial: dict[str, list[Measure]], concurrent: dict[str, list[Measure]], concurrent_runs: int) -> str:
    def median(system: str, of: Callable[[Measure], float], runs: dict[str, list[Measure]] = serial) -> float:
        return statistics.median(of(m) for m in runs[system])

    m_cpu, lg_cpu = median("masthead", lambda m: m.cpu_us_per_step), median("langgraph", lambda m: m.cpu_us_per_step)
    m_bytes, lg_bytes = median("masthead", lambda m: m.bytes_per_run), median("langgraph", lambda m: m.bytes_per_run)
    efficiency = median("masthead", lambda m: ideal_efficiency(m, concurrent_runs), concurrent)
    raw_cpu = median("raw sqlite3", lambda m: m.cpu_us_per_step)
    lines = [f"- Masthead vs LangGraph, CPU per step: {versus(m_cpu, lg_cpu)}; Masthead vs the raw floor: {m_cpu / raw_cpu:.1f}x."]
    if "masthead before" in serial:
        before = median("masthead before", lambda m: m.cpu_us_per_step)
        lines.append(f"- Masthead vs the baseline checkout (before), CPU per step: {m_cpu:.0f} vs {before:.0f} µs"
                     f" ({m_cpu / before:.2f}x).")
    met = {True: "met", False: "not met"}
    lines.append(f"- Targets (issue 16): CPU per step ≤ 0.5 × LangGraph's: {met[m_cpu <= 0.5 * lg_cpu]}"
                 f" ({m_cpu / lg_cpu:.2f}x); efficiency at 32 × 50 ms ≥ 0.75: {met[efficiency >= 0.75]} ({efficiency:.2f});"
                 f" bytes stored per run ≤ LangGraph's: {met[m_bytes <= lg_bytes]} ({m_bytes:.0f} vs {lg_bytes:.0f})."
                 " Longer term: ≤ 250 µs CPU per step.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="pipeline runs per system per repetition")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--concurrent-runs", type=int, default=128)
    parser.add_argument("--baseline", type=Path, help="another checkout whose Masthead is measured too (A/B)")
    args = parser.parse_args()
    systems = dict(SYSTEMS)
    if args.baseline:
        systems = {"masthead": run_masthead, "masthead before": lambda _folder, runs, concurrency: Measure(
            **in_baseline(args.baseline, runs, concurrency, LATENCY["seconds"])), **SYSTEMS}
    serial, concurrent = measure_all(systems, args)
    profile_before = ""
    if args.baseline:
        profile_before = "\n- Before (the baseline checkout): " + in_baseline(args.baseline, args.runs, 1, 0.0, profile=True)[2:]
    body = f"""\
{args.runs} sequential runs of the 4-step pipeline per system per repetition, {args.reps} repetitions interleaved;
then {args.concurrent_runs} runs, 32 at a time, with a 50 ms model. Median (min–max). Load before: {os.getloadavg()[0]:.2f}.

{table(serial, concurrent, args.concurrent_runs)}

{targets(serial, concurrent, args.concurrent_runs)}
- A Masthead run stores its signal, job, every task's claim and result, and each model call's full output (the
  recording that makes re-runs free), plus the read models derived from them, in one file. A step whose output is
  its model's answer names the call instead of repeating the text (docs/concepts.md, "Projections in the same
  transaction"), so each answer is stored once.
{sql_profile(args.runs)}{profile_before}
- A step is one write transaction: the model call's record, the outcome, the next task's enqueue and the
  worker's next claim commit together (flushed to disk once, since it holds a paid call); each event is
  serialised, hash-chained and projected in that transaction. At 32 concurrent runs the process is CPU-bound
  on one core, so efficiency ≈ 50 ms / (32 × CPU per step at 32 × 50 ms). The raw floor is one insert and one
  commit per step (docs/operations.md, "What a step costs").
"""
    print(body)
    command = f"python benchmarks/orchestration.py --runs {args.runs} --reps {args.reps} --concurrent-runs {args.concurrent_runs}"
    write_section("orchestration", command + (f" --baseline {args.baseline}" if args.baseline else ""), body)


def versus(ours: float, theirs: float) -> str:
    return f"{theirs / ours:.1f}x less" if ours <= theirs else f"{ours / theirs:.1f}x more (slower)"


def ideal_efficiency(m: Measure, runs: int) -> float:
    ideal = -(-runs // 32) * len(STEPS) * 0.05  # waves of 32 runs, 4 sequential 50 ms calls each
    return ideal / m.wall_s


if __name__ == "__main__":
    main()
