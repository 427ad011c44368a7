"""Memory read models: items, meta-note links, tombstones and recorded retrievals.

Like every projection, these use only the event's data and meta. Forgetting deletes the item
from every table (and its cached vectors), so it stays forgotten after a replay.
"""

from __future__ import annotations

from masthead.events.model import StoredEvent, canonical_json
from masthead.events.store import Transaction
from masthead.projections.read_models import handles


def _insert_item(tx: Transaction, event: StoredEvent, *, tier: str, kind: str, project: str | None,
                 job_id: str | None) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO memory_items (id, tier, kind, project, job_id, text, source, confidence,"
        " embedding_model, created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (d["id"], tier, kind, project, job_id, d["text"], d["source"], d["confidence"],
         d["embedding_model"], event.meta.at, event.seq),
    )
    # An item added again after being forgotten is live again.
    tx.execute("DELETE FROM memory_forgotten WHERE id = ?", (d["id"],))


@handles("MemoryItemAdded")
def _item_added(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    _insert_item(tx, event, tier=d["tier"], kind=d["kind"], project=d["project"], job_id=d["job_id"])


@handles("MetaNoteWritten")
def _meta_note_written(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    _insert_item(tx, event, tier="project", kind="meta_note", project=d["project"], job_id=None)
    for item_id in d["covers"]:
        tx.execute("INSERT INTO memory_links (meta_note_id, item_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                   (d["id"], item_id))


@handles("MemoryItemForgotten")
def _item_forgotten(tx: Transaction, event: StoredEvent) -> None:
    item_id = event.data["id"]
    tx.execute("DELETE FROM memory_items WHERE id = ?", (item_id,))
    tx.execute("DELETE FROM memory_links WHERE meta_note_id = ? OR item_id = ?", (item_id, item_id))
    tx.execute("DELETE FROM memory_vectors WHERE item_id = ?", (item_id,))
    tx.execute(
        "INSERT INTO memory_forgotten (id, reason, actor, at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE"
        " SET reason = excluded.reason, actor = excluded.actor, at = excluded.at",
        (item_id, event.data["reason"], event.meta.actor, event.meta.at),
    )


@handles("MemoryRetrieved")
def _retrieved(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO memory_retrievals (retrieval_key, task_id, job_id, project, role, query,"
        " embedder, considered, items, at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (d["retrieval_key"], d["task_id"], d["job_id"], d["project"], d["role"], d["query"],
         d["embedder"], d["considered"], canonical_json(d["items"]), event.meta.at, event.seq),
    )
