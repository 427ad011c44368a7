"""The memory behind a piece: each recorded retrieval of its tasks, with every item's score
parts, whether a meta-note stood in for sources, and the item's text while it is remembered."""

from __future__ import annotations

import json
from typing import Any

from masthead.events.store import EventStore
from masthead.memory.items import load_items

SNIPPET_CHARS = 160


def retrievals_for_tasks(store: EventStore, task_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not task_ids:
        return {}
    marks = ",".join("?" * len(task_ids))
    rows = store.query(
        f"SELECT task_id, role, query, embedder, considered, items, at FROM memory_retrievals"
        f" WHERE task_id IN ({marks}) ORDER BY seq", task_ids,
    )
    recorded = [(row, json.loads(row["items"])) for row in rows]
    live = load_items(store.query, sorted({item["id"] for _, items in recorded for item in items}))
    found: dict[str, list[dict[str, Any]]] = {}
    for row, items in recorded:
        for item in items:
            current = live.get(item["id"])
            item["text"] = current.text[:SNIPPET_CHARS] if current else None  # None: forgotten since
        found.setdefault(row["task_id"], []).append({
            "role": row["role"], "query": row["query"], "embedder": row["embedder"],
            "considered": row["considered"], "at": row["at"], "items": items,
            "summary_stood_in": any(item["stood_in_for"] for item in items),
        })
    return found
