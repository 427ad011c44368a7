"""Guards under load: 500 jobs against the loopback OpenAI-compatible server, limited to
600 requests/min, with 20% transient failures, and a budget that binds.

Reports completion time against the ideal the rate limit allows (requests made / 10 per s;
target within 15%), requests that broke the limit in any 60-second window as the server saw
them (target 0), and money spent against the budget (target: never over).

    .venv/bin/python benchmarks/guards.py [--jobs 500] [--rpm 600]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from bisect import bisect_left
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402
from tests.support.harness import content_reply  # noqa: E402
from tests.support.openai_server import OpenAIServer, Reply  # noqa: E402

from masthead.app.commands import add_signal, apply_project  # noqa: E402
from masthead.app.workspace import init_workspace  # noqa: E402

# Two model calls a job: a brief, then a draft for one channel (checks and gate need no model).
RECIPE = """\
name: bench-post
trigger: {signal_kinds: [bench]}
steps:
  - {id: brief, agent: brief, retries: 8}
  - {id: draft, agent: draft, needs: [brief], for_each: channel, retries: 8}
"""

PER_JOB = 0.0396  # measured: `--jobs 20 --rpm 100000 --budget-share 10` spends $0.79

PROJECT = """\
name: bench
description: Benchmark project.
audience: Nobody.
voice: {description: Plain.}
channels:
  x: {gate: hard}
"""


def config(base_url: str, rpm: int, budget: float) -> str:
    return f"""
[models.draft]
provider = "openai"
model = "gpt-bench"
max_tokens = 64

[models.final]
provider = "openai"
model = "gpt-bench"
max_tokens = 64

[providers.openai]
base_url = "{base_url}"
api_key_env = "MASTHEAD_BENCH_KEY"
timeout_seconds = 10.0

[prices."openai:gpt-bench"]
input_per_million = 100.0
output_per_million = 200.0

[rate_limits."openai:gpt-bench"]
requests_per_minute = {rpm}

[runtime]
concurrency = 16
backoff_base_seconds = 0.2
backoff_max_seconds = 2.0
poll_interval_seconds = 0.05
max_active_jobs_per_project = 1000

[budget]
daily_usd = {budget}
"""


def breaches(times: list[float], limit: int, window: float = 60.0) -> int:
    """Requests that were more than `limit` within the 60 s before (and including) them."""
    times = sorted(times)
    return sum(1 for i, t in enumerate(times) if i - bisect_left(times, t - window + 1e-9) + 1 > limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--budget-share", type=float, default=0.95, help="budget as a share of the jobs' expected cost")
    args = parser.parse_args()
    os.environ["MASTHEAD_BENCH_KEY"] = "sk-bench"
    rng = random.Random(7)
    arrivals: list[float] = []

    def reply(body: dict) -> str:
        return content_reply(body)

    with OpenAIServer(api_key="sk-bench", reply=reply) as server, tempfile.TemporaryDirectory() as folder:
        errors = [Reply.error(rng.choice([500, 502, 503, 429])) if rng.random() < args.failure_rate else Reply()
                  for _ in range(args.jobs * 3)]
        server.script(*errors)
        # A job costs about $PER_JOB at these prices; the budget covers ~95% of the jobs, so it
        # binds near the end and the rest wait for the next day (deferred_budget).
        budget = round(args.jobs * args.budget_share * PER_JOB, 2)
        root = Path(folder)
        (root / "masthead.toml").write_text(config(server.base_url, args.rpm, budget))
        (root / "recipes").mkdir()
        (root / "recipes" / "bench.yaml").write_text(RECIPE)
        ws, _ = init_workspace(root)
        (root / "project.yaml").write_text(PROJECT)
        apply_project(ws, root / "project.yaml")
        for n in range(args.jobs):
            add_signal(ws, "bench", kind="bench", body=f"Release {n}: 40 more banks.", title=None,
                       priority="normal", source="bench")
        print(f"{args.jobs} jobs queued; running at {args.rpm} requests/min ...", file=sys.stderr)
        started = time.perf_counter()
        ws.runner().run(until_idle=True)
        elapsed = time.perf_counter() - started
        calls = [c for c in server.calls if c.path.endswith("/chat/completions")]
        arrivals = [c.at for c in calls]
        done = ws.store.query("SELECT COUNT(*) AS n FROM jobs WHERE status = 'done'")[0]["n"]
        deferred = ws.store.query("SELECT COUNT(DISTINCT job_id) AS n FROM tasks WHERE status = 'deferred_budget'")[0]["n"]
        failed = ws.store.query("SELECT COUNT(DISTINCT job_id) AS n FROM tasks WHERE status IN ('failed', 'needs_human')")[0]["n"]
        spent = ws.store.query("SELECT COALESCE(SUM(cost_usd), 0) AS s FROM model_calls")[0]["s"]
        requests = len(calls)
        # Under "at most rpm requests in any 60 s", request k can go 60 s after request k - rpm:
        # the best schedule sends rpm at once, then rpm more every minute. A steady pace of
        # rpm/60 a second would take requests / (rpm/60); we hold ourselves to the smaller one.
        ideal = min(60.0 * ((requests - 1) // args.rpm), requests / (args.rpm / 60.0))
        over = breaches(arrivals, args.rpm)
        ws.close()
    ratio = elapsed / ideal if ideal else float("nan")
    body = f"""\
| measure | value | target |
| --- | --- | --- |
| jobs | {args.jobs}: {done} done, {deferred} deferred by budget, {failed} failed or handed to a human | |
| requests the server saw | {requests} (20% scripted transient failures: 500/502/503/429) | |
| completion time | {elapsed:.1f} s | |
| ideal at {args.rpm} requests/min | {ideal:.1f} s (the smaller of: {args.rpm} at once then {args.rpm} a minute; a steady {args.rpm / 60:g}/s) | |
| time / ideal | {ratio:.3f} | <= 1.15 |
| requests over the limit in any 60 s window | {over} | 0 |
| spent / budget | ${spent:.4f} / ${budget:.4f} | never over |
"""
    print(body)
    write_section("guards", "python benchmarks/guards.py --jobs 500 --rpm 600", body)


if __name__ == "__main__":
    main()
