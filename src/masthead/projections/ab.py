"""A/B test read models: each test and its variants with their latest cumulative counts."""

from __future__ import annotations

from masthead.events.model import StoredEvent
from masthead.events.store import Transaction
from masthead.projections.read_models import handles


@handles("AbTestStarted")
def _test_started(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO ab_tests (id, project, piece_id, field, metric, method, list_size, batch_size, test_share,"
        " deadline, status, winner, reason, started_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', NULL, NULL, ?, ?)",
        (d["id"], d["project"], d["piece_id"], d["field"], d["metric"], d["method"], d["list_size"],
         d["batch_size"], d["test_share"], d["deadline"], event.meta.at, event.meta.at),
    )
    tx.execute_many(
        "INSERT INTO ab_variants (test_id, variant, position, text, sent, opens, clicks) VALUES (?, ?, ?, ?, 0, 0, 0)",
        [(d["id"], v["id"], i, v["text"]) for i, v in enumerate(d["variants"])],
    )


@handles("AbResultsRecorded")
def _results_recorded(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute_many(
        "UPDATE ab_variants SET sent = ?, opens = ?, clicks = ? WHERE test_id = ? AND variant = ?",
        [(r["sent"], r["opens"], r["clicks"], d["test_id"], r["variant"]) for r in d["results"]],
    )
    tx.execute("UPDATE ab_tests SET updated_at = ? WHERE id = ?", (event.meta.at, d["test_id"]))


@handles("AbTestDecided")
def _test_decided(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute("UPDATE ab_tests SET status = 'decided', winner = ?, reason = ?, updated_at = ? WHERE id = ?",
               (d["winner"], d["reason"], event.meta.at, d["test_id"]))
