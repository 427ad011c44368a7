"""A/B tests of a piece's variants (subject lines): start one, record cumulative results, read
the posteriors, and decide the winner, which becomes `feedback` memory with the losers.

Results are cumulative counts per variant (`variant,sent,opens,clicks`), as the mail service
reports them; a report is checked as a whole before anything is written.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError, StateError
from masthead.events.ab_types import (
    AbResult,
    AbResultsRecorded,
    AbTestDecided,
)
from masthead.events.model import Meta, NewEvent, stream_of, utc_now
from masthead.events.store import EventStore, Transaction
from masthead.events.types import TaskWoken
from masthead.memory.items import added_event, live_ids, new_event
from masthead.personal_data import job_sealer, open_piece, open_pieces, piece_forgotten
from masthead.runtime import ab
from masthead.runtime.ab_step import MAX_VARIANTS, AbSettings, test_started
from masthead.runtime.ids import new_id
from masthead.runtime.outputs import step_output

METRICS = ("opens", "clicks")
METHODS = ("thompson", "fixed")
RESULT_COLUMNS = ("variant", "sent", "opens", "clicks")


def _meta(actor: str) -> Meta:
    return Meta(actor=actor, at=utc_now())


def _check_settings(settings: AbSettings) -> None:
    if settings.metric not in METRICS:
        raise InputError(f"--metric {settings.metric!r} is not one of {', '.join(METRICS)}", fix="use --metric opens")
    if settings.method not in METHODS:
        raise InputError(f"--method {settings.method!r} is not one of {', '.join(METHODS)}",
                         fix="use --method thompson")
    if settings.list_size <= 0 or settings.batch_size <= 0:
        raise InputError("--list-size and --batch must be positive", fix="e.g. --list-size 10000 --batch 500")
    if not 0 < settings.test_share <= 1:
        raise InputError(f"--test-share {settings.test_share} is not in (0, 1]", fix="e.g. --test-share 0.2")
    if settings.deadline is not None:
        _parse_time(settings.deadline, "--deadline")


def _parse_time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{name} {text!r} is not a date and time", fix='use ISO form, e.g. "2026-12-08T09:30:00Z"') from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def subject_variants(ws: Workspace, piece: dict[str, Any]) -> list[str]:
    """The subject lines the recipe's subject-lines step wrote for this piece's channel."""
    rows = ws.store.query(
        "SELECT e.data FROM tasks t JOIN events e ON e.seq = t.output_seq WHERE t.job_id = ? AND t.channel = ?",
        (piece["job_id"], piece["channel"]))
    for row in rows:
        output = step_output(ws.store.query, row["data"])
        if output.get("agent") == "subject_lines":
            return [str(s) for s in output.get("output", {}).get("subjects", [])]
    return []


def start_test(ws: Workspace, piece_id: str, *, settings: AbSettings, variants: list[str] | None,
               operator: str) -> str:
    """Start a test over the piece's subject lines (or the given variants); returns its id."""
    _check_settings(settings)
    pieces = ws.store.query("SELECT * FROM pieces WHERE id = ?", (piece_id,))
    if not pieces:
        raise NotFoundError(f"piece {piece_id!r} does not exist", fix="see `masthead pieces list`")
    piece = open_piece(ws.store.query, pieces[0])
    if piece_forgotten(piece):
        raise StateError(f"piece {piece_id}: the person it is about was forgotten; it is not tested",
                         fix="nothing to do: its job has failed")
    texts = [t.strip() for t in (variants or subject_variants(ws, piece)) if t.strip()]
    texts = list(dict.fromkeys(texts))  # the same line twice is one variant
    if not 2 <= len(texts) <= MAX_VARIANTS:
        raise InputError(f"an A/B test needs 2 to {MAX_VARIANTS} different variants; piece {piece_id} has {len(texts)}",
                         fix='name them with --variant "..." --variant "..."')
    test_id = new_id("ab")
    deadline = _parse_time(settings.deadline, "--deadline").isoformat() if settings.deadline else None
    started = test_started(test_id, piece["project"], piece_id, texts, replace(settings, deadline=deadline),
                           job_sealer(ws.store, piece["job_id"]))
    with ws.store.transaction() as tx:
        running = tx.query("SELECT id FROM ab_tests WHERE piece_id = ? AND status = 'running'", (piece_id,))
        if running:
            raise StateError(f"piece {piece_id} already has a running test {running[0]['id']}",
                             fix=f"record its results with `masthead ab record {running[0]['id']} --file F`")
        tx.append([started.to_new(stream_of("abtest", test_id), 0)], _meta(operator))
    return test_id


def parse_results_csv(text: str, source: str) -> list[AbResult]:
    """Rows of `variant,sent,opens,clicks` (cumulative); every row is checked before any is used."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in RESULT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{source} lacks the column(s) {', '.join(missing)}",
                         fix=f"the first line must be: {','.join(RESULT_COLUMNS)}")
    results: list[AbResult] = []
    for line, row in enumerate(reader, start=2):
        counts: dict[str, int] = {}
        for column in ("sent", "opens", "clicks"):
            value = (row.get(column) or "").strip()
            if not value.isascii() or not value.isdigit():
                raise InputError(f"{source} line {line}: {column} {value!r} is not a whole number",
                                 fix="write counts as whole numbers, e.g. 1200")
            counts[column] = int(value)
        if counts["opens"] > counts["sent"] or counts["clicks"] > counts["sent"]:
            raise InputError(f"{source} line {line}: more opens or clicks than sends",
                             fix="write cumulative counts for each variant")
        results.append(AbResult(variant=(row.get("variant") or "").strip(), **counts))
    if not results:
        raise InputError(f"{source} has no result rows", fix="add one line per variant under the header")
    return results


def _test(tx: Transaction | EventStore, test_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = tx.query("SELECT * FROM ab_tests WHERE id = ?", (test_id,))
    if not rows:
        raise NotFoundError(f"A/B test {test_id!r} does not exist", fix="see `masthead ab list`")
    # The lines of a test on a piece about one person are sealed with their key: opened here.
    variants = open_pieces(tx.query, tx.query("SELECT * FROM ab_variants WHERE test_id = ? ORDER BY position",
                                              (test_id,)))
    return rows[0], variants


def _check_results(test_id: str, variants: list[dict[str, Any]], results: list[AbResult]) -> None:
    known = {v["variant"]: v for v in variants}
    seen: set[str] = set()
    for result in results:
        if result.variant not in known:
            raise InputError(f"variant {result.variant!r} is not in test {test_id}",
                             fix=f"use one of: {', '.join(known)}")
        if result.variant in seen:
            raise InputError(f"variant {result.variant} appears twice", fix="one line per variant")
        seen.add(result.variant)
        before = known[result.variant]
        if any(getattr(result, c) < before[c] for c in ("sent", "opens", "clicks")):
            raise InputError(f"variant {result.variant}: counts went down since the last report",
                             fix="report cumulative counts (everything so far), not the latest batch")


def record_results(ws: Workspace, test_id: str, results: list[AbResult], *, source: str, operator: str,
                   now: datetime | None = None) -> dict[str, Any]:
    """Record a report; decides the winner when the method says the test is over."""
    meta = _meta(operator)
    with ws.store.transaction() as tx:
        test, variants = _test(tx, test_id)
        if test["status"] != "running":
            raise StateError(f"A/B test {test_id} is {test['status']} (winner {test['winner']})")
        _check_results(test_id, variants, results)
        stream = stream_of("abtest", test_id)
        events: list[NewEvent] = [AbResultsRecorded(test_id=test_id, results=results, source=source).to_new(stream)]
        latest = {r.variant: r for r in results}
        counts = [ab.VariantCounts(v["variant"], latest[v["variant"]].sent if v["variant"] in latest else v["sent"],
                                   _hits(test["metric"], latest.get(v["variant"]), v)) for v in variants]
        decided = _decision(test, counts, now or datetime.now(UTC))
        if decided is not None:
            winner, reason, p_best = decided
            events.append(AbTestDecided(test_id=test_id, winner=winner, reason=reason, p_best=p_best).to_new(stream))
            if not _personal_piece(tx, test["piece_id"]):  # a piece about one person never becomes memory
                events += _feedback(tx, ws, test, variants, counts, winner)
            events += _wake_ab_steps(tx, test["piece_id"], f"A/B test {test_id} decided: {winner}")
        tx.append(events, meta)
    return ab_report(ws, test_id)


def _wake_ab_steps(tx: Transaction, piece_id: str, reason: str) -> list[NewEvent]:
    """A decided test lets the recipe's waiting `ab_test` step go on with the winner at once."""
    pieces = tx.query("SELECT job_id, channel FROM pieces WHERE id = ?", (piece_id,))
    if not pieces:
        return []
    tasks = tx.query("SELECT id, version FROM tasks WHERE job_id = ? AND channel = ? AND kind = 'ab_test'"
                     " AND status IN ('waiting', 'queued')", (pieces[0]["job_id"], pieces[0]["channel"]))
    return [TaskWoken(id=t["id"], reason=reason, run_after=time.time()).to_new(stream_of("task", t["id"]), t["version"])
            for t in tasks]


def _hits(metric: str, result: AbResult | None, stored: dict[str, Any]) -> int:
    return int(getattr(result, metric)) if result is not None else int(stored[metric])


def _decision(test: dict[str, Any], counts: list[ab.VariantCounts], now: datetime) -> tuple[str, str, float] | None:
    stats = ab.posterior_stats(counts, test["id"])
    past_deadline = test["deadline"] is not None and now >= _parse_time(test["deadline"], "deadline")
    if test["method"] == "thompson":
        top = ab.leader(stats)
        if top is not None:
            return top.variant, f"probability of being best {top.p_best:.3f} >= {ab.STOP_PROBABILITY}", top.p_best
        if past_deadline:
            best = max(stats, key=lambda s: (s.p_best, s.mean))
            return best.variant, f"deadline passed; most likely best ({best.p_best:.3f})", best.p_best
        return None
    quota = ab.fixed_split([c.variant for c in counts], test["list_size"], test["test_share"])
    observed = ab.best_observed(counts)
    if observed is None or not (past_deadline or all(c.sent >= quota[c.variant] for c in counts)):
        return None
    p_best = next(s.p_best for s in stats if s.variant == observed.variant)
    why = "deadline passed" if past_deadline else "every variant reached its share of the list"
    return observed.variant, f"{why}; highest observed rate", p_best


def _personal_piece(tx: Transaction, piece_id: str) -> bool:
    return bool(tx.query("SELECT 1 FROM pieces p JOIN jobs j ON j.id = p.job_id JOIN signals s ON s.id = j.signal_id"
                         " WHERE p.id = ? AND (s.subject IS NOT NULL OR s.contact IS NOT NULL)", (piece_id,)))


def _feedback(tx: Transaction, ws: Workspace, test: dict[str, Any], variants: list[dict[str, Any]],
              counts: list[ab.VariantCounts], winner: str) -> list[NewEvent]:
    """The winner and the losers become `feedback` memory, so later subject lines see what
    won and lost for this audience."""
    rate = {c.variant: (c.hits / c.sent if c.sent else 0.0) for c in counts}
    sent = {c.variant: c.sent for c in counts}
    events = []
    for variant in variants:
        name = variant["variant"]
        # The line itself leads, so retrieval for the next subject lines finds it by meaning.
        if name == winner:
            text = (f"\"{variant['text']}\" won an A/B test of subject lines on {test['metric']}: "
                    f"{rate[name]:.1%} of {sent[name]} sends")
        else:
            text = (f"\"{variant['text']}\" lost an A/B test of subject lines on {test['metric']}: "
                    f"{rate[name]:.1%} of {sent[name]} sends, against {rate[winner]:.1%} for the winner")
        event = added_event(tier="project", kind="feedback", text=text, source=f"abtest:{test['id']}:{name}",
                            confidence=1.0, project=test["project"], job_id=None, embedding_model=ws.memory.model_id)
        if not live_ids(tx.query, [event.id]):
            events.append(new_event(event))
    return events


def ab_report(ws: Workspace, test_id: str) -> dict[str, Any]:
    """The test with each variant's posterior mean, 95% interval, probability of being best,
    and what to send next."""
    test, variants = _test(ws.store, test_id)
    counts = [ab.VariantCounts(v["variant"], v["sent"], v[test["metric"]]) for v in variants]
    stats = ab.posterior_stats(counts, test_id)
    if test["status"] != "running":
        next_sends = {v["variant"]: 0 for v in variants}
    elif test["method"] == "thompson":
        next_sends = ab.thompson_allocation(stats, test["batch_size"])
    else:
        quota = ab.fixed_split([c.variant for c in counts], test["list_size"], test["test_share"])
        next_sends = {c.variant: max(0, quota[c.variant] - c.sent) for c in counts}
    return {
        key: test[key] for key in ("id", "project", "piece_id", "field", "metric", "method", "list_size",
                                   "batch_size", "test_share", "deadline", "status", "winner", "reason",
                                   "started_at", "updated_at")
    } | {"variants": [
        {"variant": v["variant"], "text": v["text"], "sent": s.sent, test["metric"]: s.hits,
         "posterior_mean": round(s.mean, 6), "interval_95": [round(s.low, 6), round(s.high, 6)],
         "p_best": round(s.p_best, 4), "next_batch": next_sends[v["variant"]]}
        for v, s in zip(variants, stats, strict=True)]}


def list_tests(ws: Workspace, *, project: str | None = None) -> list[dict[str, Any]]:
    sql, params = "SELECT id, project, piece_id, metric, method, status, winner, started_at FROM ab_tests", []
    if project:
        sql += " WHERE project = ?"
        params.append(project)
    return ws.store.query(sql + " ORDER BY started_at DESC", params)
