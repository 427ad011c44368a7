"""The vector cache table and the in-memory index kept equal to the live items.

Vectors are a cache keyed by (item id, embedding model): not in the log, not compared by
replay, rebuilt by re-embedding. The index is built from the cache at first use; items that
have no vector for the configured model (new items, or every item after switching embedder)
are embedded in batches then, with progress. Afterwards the index follows the log: each use
reads the memory events appended since the last one, by any process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from masthead.events.store import EventStore
from masthead.memory.embedder import Embedder
from masthead.memory.index import NumpyIndex, VectorIndex
from masthead.memory.items import group_of

Progress = Callable[[int, int], None]  # (embedded so far, to embed in all)
MEMORY_EVENTS = ("MemoryItemAdded", "MetaNoteWritten", "MemoryItemForgotten")
EMBED_BATCH = 256


class VectorCache:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    def load(self, model: str) -> Iterator[tuple[str, np.ndarray]]:
        for row in self._store.query("SELECT item_id, vector FROM memory_vectors WHERE model = ?", (model,)):
            yield row["item_id"], np.frombuffer(row["vector"], dtype="<f4")

    def get(self, model: str, ids: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._store.query(
                f"SELECT item_id, vector FROM memory_vectors WHERE model = ? AND item_id IN ({marks})", [model, *chunk]
            ):
                found[row["item_id"]] = np.frombuffer(row["vector"], dtype="<f4")
        return found

    def save(self, model: str, ids: list[str], vectors: np.ndarray) -> None:
        with self._store.transaction() as tx:
            for item_id, vector in zip(ids, vectors, strict=True):
                # Only for live items: an item forgotten while it was being embedded stays gone.
                tx.execute(
                    "INSERT INTO memory_vectors (item_id, model, dim, vector)"
                    " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM memory_items WHERE id = ?)"
                    " ON CONFLICT (item_id, model) DO UPDATE SET dim = excluded.dim, vector = excluded.vector",
                    (item_id, model, len(vector), np.asarray(vector, dtype="<f4").tobytes(), item_id),
                )

    def drop(self, model: str | None = None) -> None:
        with self._store.transaction() as tx:
            if model is None:
                tx.execute("DELETE FROM memory_vectors")
            else:
                tx.execute("DELETE FROM memory_vectors WHERE model = ?", (model,))

    def count(self, model: str) -> int:
        return int(self._store.query("SELECT COUNT(*) AS n FROM memory_vectors WHERE model = ?", (model,))[0]["n"])


class IndexKeeper:
    """One embedder's index over every live item, kept current from the log."""

    def __init__(self, store: EventStore, embedder: Embedder,
                 new_index: Callable[[], VectorIndex] = NumpyIndex) -> None:
        self._store = store
        self._embedder = embedder
        self._new_index = new_index
        self._cache = VectorCache(store)
        self._index: VectorIndex | None = None
        self._seen_seq = 0
        self._lock = threading.RLock()

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def current(self, progress: Progress | None = None) -> VectorIndex:
        """The index, built on first use and caught up with the log on every later one."""
        with self._lock:
            if self._index is None:
                self._index = self._build(progress)
            else:
                self._catch_up(progress)
            return self._index

    def rebuild(self, progress: Progress | None = None) -> VectorIndex:
        """Forget this model's cached vectors and embed every live item again."""
        with self._lock:
            self._cache.drop(self._embedder.model_id)
            self._index = self._build(progress)
            return self._index

    # -- building ------------------------------------------------------------------------
    def _build(self, progress: Progress | None) -> VectorIndex:
        # The head is read first: events after it are replayed by the next catch-up, and
        # adding or removing an id twice is harmless.
        head = self._store.head()[0]
        index = self._new_index()
        rows = self._store.query("SELECT id, tier, project, job_id FROM memory_items ORDER BY seq")
        groups = {r["id"]: group_of(r["tier"], r["project"], r["job_id"]) for r in rows}
        cached_ids: list[str] = []
        cached_vectors: list[np.ndarray] = []
        for item_id, vector in self._cache.load(self._embedder.model_id):
            if item_id in groups:
                cached_ids.append(item_id)
                cached_vectors.append(vector)
        if cached_ids:
            index.add(cached_ids, np.stack(cached_vectors), [groups[i] for i in cached_ids])
        missing = [item_id for item_id in groups if item_id not in index]
        self._embed_into(index, missing, groups, progress)
        self._seen_seq = head
        return index

    def _catch_up(self, progress: Progress | None) -> None:
        assert self._index is not None
        rows = self._store.query(
            f"SELECT seq, type, data FROM events WHERE seq > ? AND type IN ({','.join('?' * len(MEMORY_EVENTS))})"
            " ORDER BY seq", (self._seen_seq, *MEMORY_EVENTS),
        )
        if not rows:
            return
        pending: dict[str, str] = {}
        for row in rows:
            data: dict[str, Any] = json.loads(row["data"])
            if row["type"] == "MemoryItemForgotten":
                pending.pop(data["id"], None)
                self._index.remove(data["id"])
            elif row["type"] == "MetaNoteWritten":
                pending[data["id"]] = group_of("project", data["project"], None)
            else:
                pending[data["id"]] = group_of(data["tier"], data["project"], data["job_id"])
        self._seen_seq = rows[-1]["seq"]
        cached = self._cache.get(self._embedder.model_id, list(pending))
        if cached:
            ids = list(cached)
            self._index.add(ids, np.stack([cached[i] for i in ids]), [pending[i] for i in ids])
        self._embed_into(self._index, [i for i in pending if i not in cached], pending, progress)

    def _embed_into(self, index: VectorIndex, ids: list[str], groups: dict[str, str],
                    progress: Progress | None) -> None:
        done = 0
        for start in range(0, len(ids), EMBED_BATCH):
            batch = ids[start : start + EMBED_BATCH]
            texts = self._texts(batch)
            batch = [item_id for item_id in batch if item_id in texts]  # forgotten meanwhile
            if batch:
                vectors = self._embedder.embed([texts[i] for i in batch])
                self._cache.save(self._embedder.model_id, batch, vectors)
                index.add(batch, vectors, [groups[i] for i in batch])
            done += len(ids[start : start + EMBED_BATCH])
            if progress is not None:
                progress(done, len(ids))

    def _texts(self, ids: list[str]) -> dict[str, str]:
        marks = ",".join("?" * len(ids))
        rows = self._store.query(f"SELECT id, text FROM memory_items WHERE id IN ({marks})", ids)
        return {r["id"]: r["text"] for r in rows}
