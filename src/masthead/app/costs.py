"""The ledger, read: spend by day, job, model or channel, cost per published piece, budget use."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from masthead.app.workspace import Workspace
from masthead.config import BudgetLimits
from masthead.errors import InputError

GROUPINGS = {
    "day": "c.day",
    "job": "c.job_id",
    "model": "c.provider || ':' || c.model",
    "channel": "COALESCE(t.channel, '(whole job)')",
}


def cost_report(ws: Workspace, *, project: str | None = None, by: str = "day") -> dict[str, Any]:
    if by not in GROUPINGS:
        raise InputError(f"--by {by!r} is not a grouping", fix=f"use one of: {', '.join(GROUPINGS)}")
    where, params = ("WHERE c.project = ?", [project]) if project else ("", [])
    rows = ws.store.query(
        f"SELECT {GROUPINGS[by]} AS key, COUNT(*) AS calls, SUM(c.tokens_in) AS tokens_in,"
        f" SUM(c.tokens_out) AS tokens_out, SUM(c.cost_usd) AS usd FROM model_calls c"
        f" LEFT JOIN tasks t ON t.id = c.task_id {where} GROUP BY key ORDER BY key", params,
    )
    total = sum(r["usd"] or 0.0 for r in rows)
    pub_where, pub_params = ("AND p.project = ?", [project]) if project else ("", [])
    published = ws.store.query(
        f"SELECT COUNT(*) AS n FROM publications pb JOIN pieces p ON p.id = pb.piece_id"
        f" WHERE pb.status = 'delivered' {pub_where}", pub_params,
    )[0]["n"]
    return {
        "project": project,
        "by": by,
        "rows": [{**r, "usd": round(r["usd"] or 0.0, 8)} for r in rows],
        "total_usd": round(total, 8),
        "calls": sum(r["calls"] for r in rows),
        "published_pieces": published,
        "cost_per_published_piece": round(total / published, 8) if published else None,
        **won_proposals(ws, project),
        "budgets": budget_use(ws, project),
    }


def won_proposals(ws: Workspace, project: str | None) -> dict[str, Any]:
    """Proposals won, and the model spend of every proposal job (won, lost or open) per win:
    what a won proposal costs, losses included."""
    outcomes = [json.loads(r["data"]) for r in ws.store.query(
        "SELECT data FROM events WHERE type = 'ProposalOutcomeRecorded' ORDER BY seq")]
    won = [o for o in outcomes if o["outcome"] == "won" and (project is None or o["project"] == project)]
    where, params = ("AND j.project = ?", [project]) if project else ("", [])
    spent = ws.store.query(f"SELECT COALESCE(SUM(c.cost_usd), 0) AS usd FROM model_calls c JOIN jobs j ON j.id = c.job_id"
                           f" WHERE j.recipe = 'proposal' {where}", params)[0]["usd"]
    return {"won_proposals": len(won), "proposal_spend_usd": round(float(spent), 8),
            "cost_per_won_proposal": round(float(spent) / len(won), 8) if won else None}


def _spent(ws: Workspace, project: str | None, period: str) -> float:
    where, params = ("project = ? AND", [project]) if project else ("", [])
    row = ws.store.query(f"SELECT COALESCE(SUM(cost_usd), 0) AS s FROM model_calls WHERE {where} day LIKE ?",
                         [*params, period + "%"])[0]
    return float(row["s"])


def budget_use(ws: Workspace, project: str | None) -> list[dict[str, Any]]:
    """Each configured limit with what is spent against it this period (UTC)."""
    today = datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%d")
    scopes: list[tuple[str, str | None, BudgetLimits]] = [("workspace", None, ws.config.budget)]
    if project:
        spec = ws.store.query("SELECT spec FROM projects WHERE name = ?", (project,))
        if spec:
            scopes.append(("project", project, BudgetLimits.model_validate(json.loads(spec[0]["spec"]).get("budget", {}))))
    use = []
    for scope, name, limits in scopes:
        for key, limit, period in (("daily_usd", limits.daily_usd, today), ("monthly_usd", limits.monthly_usd, today[:7])):
            if limit is None:
                continue
            spent = _spent(ws, name, period)
            use.append({"scope": scope, "limit": key, "value": limit, "spent": round(spent, 8),
                        "share": round(spent / limit, 4) if limit else None, "period": period})
    return use
