"""Sources benchmark: feed polling and an analytics import.

1. Feeds: one project with N feed sources against the loopback feed server (run in its own
   process, so its CPU is not counted), 90% of them answering 304 after the first poll and
   10% answering a full 200 with entries already imported. Polls per second and the poller's
   CPU per poll, over several rounds of `poll_sources`.
2. Analytics: an Umami raw event export of R rows (60 days) dropped in a source's folder and
   imported by one poll: rows per second, end to end (read, parse, count, record, trends).

    python benchmarks/sources.py [--feeds 200] [--rounds 5] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402
from tests.support.harness import make_workspace  # noqa: E402

PROJECT_HEAD = """\
name: bench
description: Sources benchmark.
audience: Nobody.
voice: {description: Plain.}
channels:
  x: {gate: hard}
sources:
"""
UMAMI_HEADER = "website_id,session_id,visit_id,event_id,url_path,event_type,event_name,created_at"


def serve() -> None:
    """The feed server, in this separate process: prints its port, serves until stdin closes."""
    from tests.support.feed_server import FeedServer

    server = FeedServer().start()
    for n in range(10):
        server.publish(f"post-{n}", f"Post {n}", f"Text of post {n}. " * 20)
    print(server.url("/feed.xml").rsplit(":", 1)[1].split("/")[0], flush=True)
    sys.stdin.read()
    server.stop()


def feeds(root: Path, count: int, rounds: int) -> str:
    from masthead.app.sources import poll_sources

    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"})
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        fresh = count // 10
        lines = [f'  - {{name: f{n}, kind: feed, url: "http://127.0.0.1:{port}/{"fresh" if n < fresh else "feed.xml"}'
                 f'?n={n}", backfill: 10}}' for n in range(count)]
        ws = make_workspace(root, "http://127.0.0.1:9/v1", PROJECT_HEAD + "\n".join(lines) + "\n")
        first = poll_sources(ws)  # imports every entry once; afterwards 90% answer 304
        imported = sum(r["imported"] for r in first)
        wall, cpu, states = [], [], {}
        for _ in range(rounds):
            started, cpu_started = time.perf_counter(), time.process_time()
            results = poll_sources(ws)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            for result in results:
                states[result["state"]] = states.get(result["state"], 0) + 1
        ws.close()
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=10)
    polls = count * rounds
    return (f"| feeds | {count} ({fresh} answering 200 every time, the rest 304 after the first poll) | |\n"
            f"| first poll | {imported} entries imported as signals | |\n"
            f"| states over {rounds} rounds | {', '.join(f'{k}: {v}' for k, v in sorted(states.items()))} | |\n"
            f"| polls per second | {polls / sum(wall):.0f} (rounds: {', '.join(f'{count / w:.0f}' for w in wall)}) | |\n"
            f"| poller CPU per poll | {sum(cpu) / polls * 1000:.2f} ms | |\n")


def umami_export(path: Path, rows: int) -> None:
    rnd = random.Random(13)
    paths = [f"/blog/post-{n}" for n in range(40)] + ["/", "/pricing", "/signup"]
    with path.open("w", encoding="utf-8") as out:
        out.write(UMAMI_HEADER + "\n")
        for n in range(rows):
            day = 1 + n * 60 // rows
            stamp = f"2026-{10 + (day - 1) // 30:02d}-{(day - 1) % 30 + 1:02d} {n % 24:02d}:{n % 60:02d}:00"
            session = rnd.randrange(rows // 4)
            kind = "2" if n % 10 == 0 else "1"
            out.write(f"site,s{session},v{session}-{day},e{n},{rnd.choice(paths)},{kind},{'click' if kind == '2' else ''},"
                      f"{stamp}\n")


def analytics(root: Path, rows: int) -> str:
    from masthead.app.sources import poll_sources

    ws = make_workspace(root, "http://127.0.0.1:9/v1",
                        PROJECT_HEAD + "  - {name: stats, kind: analytics, path: analytics/, format: umami}\n")
    (root / "analytics").mkdir()
    export = root / "analytics" / "events.csv"
    umami_export(export, rows)
    size = export.stat().st_size
    started, cpu_started = time.perf_counter(), time.process_time()
    [result] = poll_sources(ws)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    points = ws.store.query("SELECT length(data) AS n FROM events WHERE type = 'AnalyticsImported'")[0]["n"]
    ws.close()
    assert result["state"] == "ok", result
    return (f"| analytics export | Umami raw events, {rows:,} rows over 60 days, {size / 1e6:.1f} MB | |\n"
            f"| import (one poll: read, parse, count per day, record, trends) | {wall:.2f} s wall, {cpu:.2f} s CPU | |\n"
            f"| rows per second | {rows / wall:,.0f} | |\n"
            f"| recorded in the log | {points / 1e3:.0f} KB of daily points, {result['imported']} trend signal(s) | |\n")


def main() -> None:
    if "--serve" in sys.argv:
        serve()
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        body = "| measure | value | target |\n| --- | --- | --- |\n"
        body += feeds(Path(tmp) / "feeds", args.feeds, args.rounds)
        body += analytics(Path(tmp) / "analytics", args.rows)
    print(body)
    write_section("sources", f"python benchmarks/sources.py --feeds {args.feeds} --rounds {args.rounds} "
                             f"--rows {args.rows}", body)


if __name__ == "__main__":
    main()
