"""The numbers behind the dashboard and /metrics, all read from the projections and the log.

- throughput: pieces created per UTC day, by their current status;
- approval latency: from a piece's review request to its approval, p50 and p90;
- cost per published piece: all model spend divided by the publications delivered (app.costs);
- failure rate: failed / finished, for jobs and for tasks;
- manual fallback rate: jobs where automation gave up on a step (`TaskNeedsHuman`), and pieces
  sent to review because their checks still failed after refinement;
- budget use: spend today and this month per project, and its limits (app.costs).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from masthead.app import costs
from masthead.app.desk import epoch
from masthead.app.workspace import Workspace

LATENCY_BUCKETS_SECONDS = (60, 300, 900, 3600, 4 * 3600, 24 * 3600)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (no interpolation): a value that actually occurred."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def approval_latencies(ws: Workspace) -> list[float]:
    """Seconds from each approval's latest preceding review request for the same piece. An
    approval its person undid (a withdrawal of that version before any later approval) is not one."""
    rows = ws.store.query(
        "SELECT a.at AS approved_at, (SELECT r.at FROM decisions r WHERE r.piece_id = a.piece_id"
        " AND r.decision = 'review_requested' AND r.seq < a.seq ORDER BY r.seq DESC LIMIT 1) AS requested_at"
        " FROM decisions a WHERE a.decision = 'approved' AND NOT EXISTS (SELECT 1 FROM decisions w"
        " WHERE w.piece_id = a.piece_id AND w.version = a.version AND w.decision = 'approval_withdrawn'"
        " AND w.seq > a.seq AND NOT EXISTS (SELECT 1 FROM decisions b WHERE b.piece_id = a.piece_id"
        " AND b.decision = 'approved' AND b.seq > a.seq AND b.seq < w.seq))"
    )
    return [max(0.0, epoch(r["approved_at"]) - epoch(r["requested_at"])) for r in rows if r["requested_at"]]


def latency_histogram(latencies: list[float]) -> list[tuple[str, int]]:
    labels = ("≤1m", "≤5m", "≤15m", "≤1h", "≤4h", "≤1d", ">1d")
    counts = [0] * len(labels)
    for value in latencies:
        index = next((i for i, edge in enumerate(LATENCY_BUCKETS_SECONDS) if value <= edge), len(labels) - 1)
        counts[index] += 1
    return list(zip(labels, counts, strict=True))


def throughput(ws: Workspace, days: int, today: date) -> list[tuple[str, dict[str, int]]]:
    first = today - timedelta(days=days - 1)
    rows = ws.store.query(
        "SELECT SUBSTR(created_at, 1, 10) AS day, status, COUNT(*) AS n FROM pieces"
        " WHERE created_at >= ? GROUP BY day, status", (first.isoformat(),),
    )
    by_day: dict[str, dict[str, int]] = {(first + timedelta(days=i)).isoformat(): {} for i in range(days)}
    for row in rows:
        if row["day"] in by_day:
            by_day[row["day"]][row["status"]] = row["n"]
    return list(by_day.items())


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def failure_rates(ws: Workspace) -> dict[str, Any]:
    jobs = {r["status"]: r["n"] for r in ws.store.query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")}
    tasks = {r["status"]: r["n"] for r in ws.store.query("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")}
    # `tasks.needs_human` is set by TaskNeedsHuman and kept after a person finishes the step:
    # the tasks that automation ever gave up on, without scanning the log.
    handed = ws.store.query(
        "SELECT COUNT(*) AS tasks, COUNT(DISTINCT job_id) AS jobs FROM tasks WHERE needs_human IS NOT NULL")[0]
    gave_up, gave_up_jobs = handed["tasks"], handed["jobs"]
    pieces = ws.store.query("SELECT COUNT(*) AS n FROM pieces")[0]["n"]
    checks_failed = ws.store.query(
        "SELECT COUNT(DISTINCT piece_id) AS n FROM decisions WHERE decision = 'review_requested'"
        " AND reason LIKE 'checks failed%'"
    )[0]["n"]
    finished_jobs = jobs.get("done", 0) + jobs.get("failed", 0)
    finished_tasks = tasks.get("done", 0) + tasks.get("failed", 0)
    all_jobs = sum(jobs.values())
    return {
        "jobs": jobs, "tasks": tasks,
        "job_failure_rate": _rate(jobs.get("failed", 0), finished_jobs),
        "task_failure_rate": _rate(tasks.get("failed", 0), finished_tasks),
        "needs_human_tasks": gave_up,
        "manual_fallback_rate": _rate(gave_up_jobs, all_jobs),
        "checks_failed_review_rate": _rate(checks_failed, pieces),
    }


def budget_use(ws: Workspace, today: date) -> list[dict[str, Any]]:
    """Spend today and this month per project, with each limit that applies to it (app.costs)."""
    month = today.isoformat()[:7]
    spend = ws.store.query(
        "SELECT j.project, SUM(CASE WHEN SUBSTR(c.at, 1, 10) = ? THEN c.cost_usd ELSE 0 END) AS today,"
        " SUM(CASE WHEN SUBSTR(c.at, 1, 7) = ? THEN c.cost_usd ELSE 0 END) AS month"
        " FROM model_calls c JOIN jobs j ON j.id = c.job_id GROUP BY j.project", (today.isoformat(), month),
    )
    spent = {r["project"]: r for r in spend}
    rows = []
    for project in ws.store.query("SELECT name FROM projects ORDER BY name"):
        used = spent.get(project["name"], {})
        limits = costs.budget_use(ws, project["name"])
        rows.append({
            "project": project["name"],
            "today_usd": round(float(used.get("today") or 0.0), 6),
            "month_usd": round(float(used.get("month") or 0.0), 6),
            "limits": limits,
            # The tightest limit decides what runs next, so that is the one the gauge shows.
            "share": max((u["share"] for u in limits if u["share"] is not None), default=None),
        })
    return rows


def review_queue_size(ws: Workspace) -> int:
    return int(ws.store.query("SELECT COUNT(*) AS n FROM review_queue")[0]["n"])


def pieces_by_status(ws: Workspace) -> dict[str, int]:
    return {r["status"]: r["n"] for r in ws.store.query("SELECT status, COUNT(*) AS n FROM pieces GROUP BY status")}


def publications_by_status(ws: Workspace) -> dict[str, int]:
    return {r["status"]: r["n"] for r in
            ws.store.query("SELECT status, COUNT(*) AS n FROM publications GROUP BY status")}


def spend_by_model(ws: Workspace) -> list[dict[str, Any]]:
    """Recorded calls, USD and tokens per project, provider and model."""
    return ws.store.query("SELECT j.project, c.provider, c.model, SUM(c.cost_usd) AS usd, SUM(c.tokens_in) AS ti,"
                          " SUM(c.tokens_out) AS tout, COUNT(*) AS calls FROM model_calls c"
                          " JOIN jobs j ON j.id = c.job_id GROUP BY j.project, c.provider, c.model")


def dashboard(ws: Workspace, *, days: int = 14, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    today = now.date()
    latencies = approval_latencies(ws)
    ledger = costs.cost_report(ws)
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "throughput": [{"day": day, "statuses": statuses} for day, statuses in throughput(ws, days, today)],
        "approval_latency": {
            "count": len(latencies),
            "p50_seconds": percentile(latencies, 0.5),
            "p90_seconds": percentile(latencies, 0.9),
            "histogram": [{"bucket": label, "count": n} for label, n in latency_histogram(latencies)],
        },
        "cost": {"total_usd": ledger["total_usd"], "published_pieces": ledger["published_pieces"],
                 "per_published_piece_usd": ledger["cost_per_published_piece"]},
        "rates": failure_rates(ws),
        "budgets": budget_use(ws, today),
        "review_queue": review_queue_size(ws),
    }
