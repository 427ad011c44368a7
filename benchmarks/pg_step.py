"""What a step costs on Postgres: client CPU, server CPU and statements per step.

The 4-step pipeline of benchmarks/orchestration.py (its instant model), all jobs queued first,
then run by one in-process runner (one worker thread, so nothing waits on another worker). Client
CPU is this process's CPU while the runner runs (no process start-up, unlike workers.py); server
CPU is read from /proc for the Postgres backends serving this run's database only, so other
users of the server do not count. Every statement the client sends is counted by its text.

    .venv/bin/python benchmarks/pg_step.py [--jobs 100] [--reps 3] [--baseline DIR]

One more run per repetition (not in the CPU figures: its bookkeeping costs CPU) profiles the append lock:
per step, how long it is held (wall and this thread's CPU) and how many times the holder waits
for the server meanwhile, by the code that waits; every other writer on the server waits
through each of those round trips. The hot queries' plans are timed with EXPLAIN ANALYZE.
(pg_stat_statements would give the server's time per statement, but it must be loaded at
server start, `shared_preload_libraries`, which this shared server does not do.)

`--baseline DIR` measures another checkout too (e.g. `git worktree add DIR main`), in a process
of its own, alternating with this one. Needs a Postgres server on this machine
(MASTHEAD_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from benchmarks import workers  # noqa: E402  (registers the instant provider and the agents)
from benchmarks.results import write_section  # noqa: E402

from masthead.app.workspace import open_workspace  # noqa: E402
from masthead.events import postgres_queries  # noqa: E402
from masthead.events.postgres_store import PostgresEventStore, PostgresTransaction  # noqa: E402


def backend_cpu_seconds(admin: psycopg.Connection[Any], database: str) -> float:
    """User + system CPU so far of the server processes connected to `database`."""
    pids = [row[0] for row in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the backend ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def measure(jobs: int) -> dict[str, Any]:
    """One run of `jobs` pipelines: CPU per step on both sides and the statements sent."""
    name = f"masthead_step_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(workers.SERVER, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    sent: Counter[str] = Counter()
    plain = psycopg.Connection.execute

    def counted(self: psycopg.Connection[Any], query: Any, params: Any = None, **kwargs: Any) -> Any:
        text = query.decode() if isinstance(query, bytes) else str(query)
        sent[" ".join(text.split())[:60]] += 1
        return plain(self, query, params, **kwargs)

    try:
        with tempfile.TemporaryDirectory() as folder:
            workers.prepare(Path(folder), workers.database_url(name), jobs, 1)
            ws = open_workspace(folder)
            runner = ws.runner(concurrency=1)
            ws.store.query("SELECT 1")  # the pool's first connection, counted from here on
            server0, client0 = backend_cpu_seconds(admin, name), time.process_time()
            psycopg.Connection.execute = counted  # type: ignore[method-assign]
            try:
                runner.run(until_idle=True)
            finally:
                psycopg.Connection.execute = plain  # type: ignore[method-assign]
            client, server = time.process_time() - client0, backend_cpu_seconds(admin, name) - server0
            done = ws.store.query("SELECT COUNT(*) AS n FROM jobs WHERE status = 'done'")[0]["n"]
            ws.close()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    steps = jobs * workers.STEPS
    assert done == jobs, f"finished {done} of {jobs} jobs"
    return {"client_us": client * 1e6 / steps, "server_us": server * 1e6 / steps,
            "statements": sum(sent.values()) / steps, "transactions": sent["BEGIN"] / steps,
            "costliest": [(sql, count / steps) for sql, count in sent.most_common(6)]}


class LockProfile:
    """While installed: every write transaction of this process that takes the append lock,
    how long it holds it and the round trips made meanwhile (a read forces the pipeline to
    the server and back), by the masthead function that waited."""

    def __init__(self) -> None:
        self.held: list[tuple[float, float, int]] = []  # wall s, thread CPU s, round trips
        self.waits: Counter[str] = Counter()
        self._local = threading.local()

    @contextmanager
    def installed(self) -> Iterator[None]:
        fetch, write = psycopg.Cursor.fetchall, PostgresEventStore._write
        profile = self

        def fetchall(cursor: psycopg.Cursor[Any]) -> list[Any]:
            state = getattr(profile._local, "state", None)
            rows = fetch(cursor)
            if state is not None and state["tx"]._locked:
                if state["since"] is None:  # this wait included taking the lock
                    state["since"], state["cpu"] = time.perf_counter(), time.thread_time()
                state["trips"] += 1
                started = time.perf_counter()
                callers = [f for f in traceback.extract_stack(limit=14)[:-1]
                           if "/masthead/" in f.filename and "/events/" not in f.filename]
                profile.waits[" < ".join(f.name for f in callers[-2:][::-1])] += 1
                state["own"] += time.perf_counter() - started  # this bookkeeping, not the lock's
            return rows

        @contextmanager
        def _write(store: PostgresEventStore, *, locked: bool) -> Iterator[PostgresTransaction]:
            with write(store, locked=locked) as tx:
                state = profile._local.state = {"tx": tx, "since": None, "cpu": 0.0, "trips": 0, "own": 0.0}
                yield tx
                # The body is done: COMMIT goes out now, without waiting (the durability barrier
                # after it waits for the disk, no longer holding the lock).
                if state["since"] is not None:
                    profile.held.append((time.perf_counter() - state["since"] - state["own"],
                                         time.thread_time() - state["cpu"] - state["own"], state["trips"]))
            profile._local.state = None

        psycopg.Cursor.fetchall = fetchall  # type: ignore[assignment]
        PostgresEventStore._write = _write  # type: ignore[assignment,method-assign]
        try:
            yield
        finally:
            psycopg.Cursor.fetchall = fetch  # type: ignore[method-assign]
            PostgresEventStore._write = write  # type: ignore[method-assign]


def explain(conn: psycopg.Connection[Any], sql: str, params: Any) -> float:
    """The server's planning + execution time of one statement, in ms (EXPLAIN ANALYZE), the
    best of 5 (a busy machine only ever adds to it)."""
    times = []
    for _ in range(5):
        rows = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchone()
        plan = rows[0][0] if rows else {}
        times.append(float(plan.get("Execution Time", 0.0)) + float(plan.get("Planning Time", 0.0)))
    return min(times)


def lock_profile(jobs: int) -> dict[str, Any]:
    name = f"masthead_step_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(workers.SERVER, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    profile = LockProfile()
    try:
        with tempfile.TemporaryDirectory() as folder:
            workers.prepare(Path(folder), workers.database_url(name), jobs, 1)
            ws = open_workspace(folder)
            with profile.installed():
                ws.runner(concurrency=1).run(until_idle=True)
            ws.close()
        with psycopg.connect(workers.database_url(name), autocommit=True) as conn:
            streams = [row[0] for row in conn.execute("SELECT stream FROM events ORDER BY seq DESC LIMIT 3")]
            ready = postgres_queries.READY_TASK.replace(":now", "%(now)s").replace(":ageing", "%(ageing)s")
            plans = {"head and versions": explain(conn, postgres_queries.HEAD_AND_VERSIONS, (streams,)),
                     "ready task": explain(conn, ready + " FOR UPDATE SKIP LOCKED", {"now": time.time(), "ageing": 60.0})}
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    steps = jobs * workers.STEPS
    return {"held_ms": sum(h[0] for h in profile.held) * 1e3 / steps,
            "held_cpu_ms": sum(h[1] for h in profile.held) * 1e3 / steps,
            "trips": sum(h[2] for h in profile.held) / steps, "locked": len(profile.held) / steps,
            "waits": [(where, count / steps) for where, count in profile.waits.most_common(8)], "plans": plans}


def lock_section(label: str, runs: list[dict[str, Any]]) -> str:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    found = runs[-1]
    waits = "\n".join(f"  - `{where}`: {count:.2f}" for where, count in found["waits"])
    plans = ", ".join(f"{what} {statistics.median(r['plans'][what] for r in runs):.3f} ms" for what in found["plans"])
    return f"""\
{label}: {med('locked'):.2f} transactions per step take the append lock; it is held {med('held_ms'):.2f} ms per step
(of which {med('held_cpu_ms'):.2f} ms is the holder's own CPU), with {med('trips'):.2f} round trips to the server
meanwhile (the first one takes the lock); medians of {len(runs)} runs. Where the holder waits, per step
(caller < its caller; the last run):
{waits}
- EXPLAIN ANALYZE (planning + execution, after the run): {plans}.
"""


def in_baseline(tree: Path, jobs: int, what: str = "--one") -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{tree}/src{os.pathsep}{tree}"}
    script = Path(__file__).resolve()
    # This script's harness, the baseline's masthead (its src/ comes first on the path).
    out = subprocess.run([sys.executable, str(script), what, str(jobs)], env=env,
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def summary(label: str, runs: list[dict[str, Any]]) -> str:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    return (f"| {label} | {med('client_us'):.0f} | {med('server_us'):.0f} | {med('client_us') + med('server_us'):.0f} |"
            f" {med('statements'):.1f} | {med('transactions'):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout measured too, alternately (A/B)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a baseline's single run
    parser.add_argument("--lock-only", type=int, help=argparse.SUPPRESS)  # a baseline's lock profile
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    if args.lock_only:
        print(json.dumps(lock_profile(args.lock_only)))
        return
    ours: list[dict[str, Any]] = []
    before: list[dict[str, Any]] = []
    ours_lock: list[dict[str, Any]] = []
    before_lock: list[dict[str, Any]] = []
    for rep in range(args.reps):
        ours.append(measure(args.jobs))
        ours_lock.append(lock_profile(args.jobs))
        if args.baseline:
            before.append(in_baseline(args.baseline, args.jobs))
            before_lock.append(in_baseline(args.baseline, args.jobs, "--lock-only"))
        print(f"rep {rep + 1}: {ours[-1]['client_us']:.0f} + {ours[-1]['server_us']:.0f} us", file=sys.stderr)
    locks = [lock_section("This checkout", ours_lock)] + ([lock_section("The baseline", before_lock)] if before else [])
    rows = [summary("masthead", ours)] + ([summary("masthead before (baseline)", before)] if before else [])
    costliest = "\n".join(f"  - `{sql}`: {count:.2f} per step" for sql, count in ours[-1]["costliest"])
    body = f"""\
{args.jobs} jobs of the 4-step pipeline (instant model), queued first, run by one in-process runner with one
worker thread; {args.reps} repetitions, medians. Load before: {os.getloadavg()[0]:.2f}.

| system | client CPU µs / step | Postgres CPU µs / step | together | statements / step | transactions / step |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

- N cores give at most N × 1,000,000 / (client + Postgres µs per step) steps per second, before
  waiting for the append lock; the client side is spread over the worker processes, the server
  side over Postgres's backends.
- The statements sent most often (the last run):
{costliest}

The append lock (one more run each per repetition, not in the CPU figures above, with one worker thread, so
no one waits for it here; with several workers each of these round trips is time every other writer waits):

{chr(10).join(locks)}"""
    print(body)
    write_section("pg_step", f"python benchmarks/pg_step.py --jobs {args.jobs} --reps {args.reps}"
                  + (f" --baseline {args.baseline}" if args.baseline else ""), body)


if __name__ == "__main__":
    main()
