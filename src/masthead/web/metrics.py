"""`GET /metrics` in the Prometheus text format (0.0.4), behind the operator token.

Gauges are read from the projections on each scrape, so they are right after a restart and
agree with the API; nothing is counted in memory except the live stream's subscribers.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from masthead.app.stats import (
    approval_latencies,
    failure_rates,
    percentile,
    pieces_by_status,
    publications_by_status,
    review_queue_size,
    spend_by_model,
)
from masthead.web.auth import ApiOperator
from masthead.web.state import DeskState, desk

router = APIRouter(include_in_schema=False)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def family(name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label_text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
        lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")
    return lines


def render_metrics(state: DeskState) -> str:
    ws = state.workspace
    head, _ = ws.store.head()
    latencies = approval_latencies(ws)
    rates = failure_rates(ws)
    queue = review_queue_size(ws)
    lines: list[str] = []
    lines += family("masthead_events_total", "counter", "Events in the log (the head seq).", [({}, head)])
    lines += family("masthead_pieces", "gauge", "Pieces by status.",
                    [({"status": s}, n) for s, n in pieces_by_status(ws).items()])
    lines += family("masthead_jobs", "gauge", "Jobs by status.",
                    [({"status": s}, n) for s, n in sorted(rates["jobs"].items())])
    lines += family("masthead_tasks", "gauge", "Tasks by status.",
                    [({"status": s}, n) for s, n in sorted(rates["tasks"].items())])
    lines += family("masthead_review_queue_size", "gauge", "Pieces waiting for a decision.", [({}, queue)])
    lines += family("masthead_publications", "gauge", "Publications by status.",
                    [({"status": s}, n) for s, n in publications_by_status(ws).items()])
    spend = spend_by_model(ws)
    labels = [({"project": r["project"], "provider": r["provider"], "model": r["model"]}, r) for r in spend]
    lines += family("masthead_model_calls_total", "counter", "Recorded model calls.",
                    [(lab, r["calls"]) for lab, r in labels])
    lines += family("masthead_model_cost_usd_total", "counter", "Model spend in USD.",
                    [(lab, r["usd"]) for lab, r in labels])
    lines += family("masthead_model_tokens_total", "counter", "Model tokens by direction.",
                    [(lab | {"direction": "in"}, r["ti"]) for lab, r in labels]
                    + [(lab | {"direction": "out"}, r["tout"]) for lab, r in labels])
    lines += family("masthead_approval_latency_seconds", "summary",
                    "Time from a review request to the approval.",
                    [({"quantile": q}, percentile(latencies, float(q)) or 0.0) for q in ("0.5", "0.9")])
    lines += [f"masthead_approval_latency_seconds_count {len(latencies)}",
              f"masthead_approval_latency_seconds_sum {sum(latencies):g}"]
    lines += family("masthead_needs_human_tasks_total", "counter", "Steps automation handed to a human.",
                    [({}, rates["needs_human_tasks"])])
    lines += family("masthead_stream_clients", "gauge", "Open live-stream connections.",
                    [({}, state.broadcaster.subscribers)])
    return "\n".join(lines) + "\n"


@router.get("/metrics")
def metrics(request: Request, _op: ApiOperator) -> PlainTextResponse:
    return PlainTextResponse(render_metrics(desk(request)), media_type=CONTENT_TYPE)
