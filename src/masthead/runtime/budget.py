"""Budget guard: reserve a call's worst case before it runs, settle the actual after.

Reservations are events (`BudgetReserved`), checked and appended in one write transaction, so
workers in several threads or processes can never together overspend; the recorded model call
settles its reservation. Spend is read from the ledger (model_calls) by UTC day and month.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from masthead.config import BudgetLimits, MastheadConfig
from masthead.events.model import Meta, utc_now
from masthead.events.store import EventStore, Transaction
from masthead.events.types import BudgetLimitReached, BudgetReleased, BudgetReserved
from masthead.runtime.ids import new_id


@dataclass(frozen=True)
class CallCost:
    usd: float
    tokens: int


@dataclass(frozen=True)
class Breach:
    limit: str
    limit_value: float
    spent: float
    reserved: float
    needed: float
    resumes_at: float | None  # when the period rolls over; None if waiting cannot help

    @property
    def over_by(self) -> float:
        return self.spent + self.reserved + self.needed - self.limit_value

    def describe(self) -> str:
        return (f"{self.limit} {self.limit_value:g}: spent {self.spent:.6g} + held {self.reserved:.6g}"
                f" + this call {self.needed:.6g} is over by {self.over_by:.6g}")


class BudgetBlocked(Exception):
    def __init__(self, breach: Breach):
        self.breach = breach
        super().__init__(breach.describe())


def next_day(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp() + 86400


def next_month(now: float) -> float:
    first = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year, month = (first.year + 1, 1) if first.month == 12 else (first.year, first.month + 1)
    return first.replace(year=year, month=month).timestamp()


class BudgetGuard:
    def __init__(self, store: EventStore, config: MastheadConfig):
        self.store = store
        self.config = config

    def reserve(self, *, project: str, project_budget: BudgetLimits, job_id: str, task_id: str,
                criticality: str, cost: CallCost, meta: Meta | Callable[[], Meta],
                now: float | None = None) -> str | None:
        """Hold `cost` against every limit; return the reservation id (None when nothing is
        limited or the call is free). Raises BudgetBlocked, after recording the decision.
        `meta` may be a function that makes it: nearly every call has no limit and no event."""
        limits = [("project", project_budget), ("workspace", self.config.budget)]
        if not any(_limited(b) for _, b in limits) or (cost.usd == 0 and not _token_limited(limits)):
            return None
        if not isinstance(meta, Meta):
            meta = meta()
        now = time.time() if now is None else now
        with self.store.transaction() as tx:
            for scope, budget in limits:
                breach = self._check(tx, scope, budget, project if scope == "project" else None, job_id,
                                     criticality, cost, now)
                if breach is not None:
                    if criticality == "critical":
                        # Critical work goes on past a limit; the decision is still on record.
                        self._record(tx, project, job_id, task_id, breach, "allowed_critical", meta)
                        continue
                    raise BudgetBlocked(breach)
            reservation = new_id("hold")
            ttl = self.config.runtime.reservation_ttl_seconds
            event = BudgetReserved(id=reservation, project=project, job_id=job_id, task_id=task_id,
                                   usd=round(cost.usd, 8), tokens=cost.tokens, expires_at=now + ttl)
            tx.append([event.to_new(f"budget-{project}")], meta)
            return reservation

    def record_refusal(self, *, project: str, job_id: str, task_id: str, breach: Breach, action: str,
                       meta: Meta) -> None:
        with self.store.transaction() as tx:
            self._record(tx, project, job_id, task_id, breach, action, meta)

    def release(self, reservation: str | None, reason: str, meta: Meta, project: str) -> None:
        if reservation is not None:
            self.store.append([BudgetReleased(id=reservation, reason=reason).to_new(f"budget-{project}")], meta)

    # -- internals -----------------------------------------------------------------------
    def _record(self, tx: Transaction, project: str, job_id: str, task_id: str, breach: Breach,
                action: str, meta: Meta) -> None:
        event = BudgetLimitReached(
            project=project, job_id=job_id, task_id=task_id, limit=breach.limit, limit_value=breach.limit_value,
            spent=round(breach.spent, 8), reserved=round(breach.reserved, 8), needed=round(breach.needed, 8),
            over_by=round(breach.over_by, 8), action=action,
        )
        tx.append([event.to_new(f"budget-{project}")], meta)

    def _check(self, tx: Transaction, scope: str, budget: BudgetLimits, project: str | None, job_id: str,
               criticality: str, cost: CallCost, now: float) -> Breach | None:
        # Background work stops at the soft threshold so normal and critical work keep headroom.
        share = budget.soft_threshold if criticality == "background" else 1.0
        where, params = ("project = ?", [project]) if project else ("1 = 1", [])
        today = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        for name, limit, period, resumes in (
            ("daily_usd", budget.daily_usd, today, next_day(now)),
            ("monthly_usd", budget.monthly_usd, today[:7], next_month(now)),
        ):
            if limit is None:
                continue
            spent = _one(tx, f"SELECT COALESCE(SUM(cost_usd), 0) FROM model_calls WHERE {where} AND day LIKE ?",
                         [*params, period + "%"])
            held = _one(tx, f"SELECT COALESCE(SUM(usd), 0) FROM budget_reservations WHERE {where} AND expires_at > ?",
                        [*params, now])
            if spent + held + cost.usd > limit * share + 1e-12:
                label = f"{scope}.{name}" + (f" (background stops at {share:.0%})" if share < 1 else "")
                return Breach(label, limit * share, spent, held, cost.usd, resumes)
        if budget.per_job_tokens is not None:
            used = _one(tx, "SELECT COALESCE(SUM(tokens_in + tokens_out), 0) FROM model_calls WHERE job_id = ?", [job_id])
            held = _one(tx, "SELECT COALESCE(SUM(tokens), 0) FROM budget_reservations WHERE job_id = ? AND expires_at > ?",
                        [job_id, now])
            if used + held + cost.tokens > budget.per_job_tokens:
                return Breach(f"{scope}.per_job_tokens", budget.per_job_tokens, used, held, cost.tokens, None)
        return None


def _one(tx: Transaction, sql: str, params: list[object]) -> float:
    row = tx.query(sql, params)[0]
    return float(next(iter(row.values())))


def _limited(budget: BudgetLimits) -> bool:
    return any(v is not None for v in (budget.daily_usd, budget.monthly_usd, budget.per_job_tokens))


def _token_limited(limits: list[tuple[str, BudgetLimits]]) -> bool:
    return any(b.per_job_tokens is not None for _, b in limits)


def utc_meta(actor: str, task_id: str, job_id: str) -> Meta:
    return Meta(actor=actor, at=utc_now(), causation_id=task_id, correlation_id=job_id)
