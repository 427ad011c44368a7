"""The VectorIndex port and its default adapter: exact cosine search over float32 matrices.

Each vector carries a `group` (a project, the global tier, or one job's session) so a search
looks only at the groups the asker may see. The numpy adapter keeps one packed matrix per
group, so a search reads only the rows it may return: one matrix-vector product per group.
At 100,000 items of 384 dimensions all groups together hold about 150 MB.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

_INITIAL_CAPACITY = 256


@runtime_checkable
class VectorIndex(Protocol):
    def add(self, ids: Sequence[str], vectors: np.ndarray, groups: Sequence[str]) -> None:
        """Insert or replace vectors (unit length, one row per id)."""
        ...

    def remove(self, item_id: str) -> bool:
        """Drop an id; False when it was not there."""
        ...

    def search(self, query: np.ndarray, k: int, groups: Collection[str] | None = None) -> list[tuple[str, float]]:
        """The k ids most similar to `query` (cosine, best first), within `groups` if given."""
        ...

    def vector(self, item_id: str) -> np.ndarray | None: ...

    def __len__(self) -> int: ...

    def __contains__(self, item_id: object) -> bool: ...


class _Block:
    """One group's vectors. Rows are packed: removing an id moves the last row into its place,
    so a search never scans holes and memory stays proportional to the live items."""

    def __init__(self, dim: int) -> None:
        self.matrix = np.zeros((0, dim), dtype=np.float32)
        self.ids: list[str] = []
        self.rows: dict[str, int] = {}

    def put(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        fresh = [item_id for item_id in dict.fromkeys(ids) if item_id not in self.rows]
        self._reserve(len(self.ids) + len(fresh))
        for item_id in fresh:
            self.rows[item_id] = len(self.ids)
            self.ids.append(item_id)
        self.matrix[[self.rows[item_id] for item_id in ids]] = vectors

    def remove(self, item_id: str) -> None:
        row = self.rows.pop(item_id)
        last = len(self.ids) - 1
        if row != last:
            moved = self.ids[last]
            self.matrix[row] = self.matrix[last]
            self.ids[row] = moved
            self.rows[moved] = row
        self.ids.pop()

    def top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, list[str]]:
        count = len(self.ids)
        k = min(k, count)
        if k == 0:
            return np.zeros(0, dtype=np.float32), []
        scores = self.matrix[:count] @ query
        best = np.argpartition(-scores, k - 1)[:k] if k < count else np.arange(count)
        return scores[best], [self.ids[row] for row in best]

    def _reserve(self, needed: int) -> None:
        capacity = len(self.matrix)
        if needed <= capacity:
            return
        # Grow geometrically so adding n items one by one costs O(n) copies, not O(n^2).
        grown = np.zeros((max(needed, capacity * 2, _INITIAL_CAPACITY), self.matrix.shape[1]), dtype=np.float32)
        grown[:capacity] = self.matrix
        self.matrix = grown


class NumpyIndex:
    """Exact search with numpy. Worker threads search while the log is being caught up; a lock
    keeps a search from seeing a row moved under it (each search holds it for a few ms)."""

    def __init__(self, dim: int | None = None) -> None:
        self._lock = threading.RLock()
        self._dim = dim
        self._blocks: dict[str, _Block] = {}
        self._group_of: dict[str, str] = {}

    @property
    def dim(self) -> int | None:
        return self._dim

    def __len__(self) -> int:
        return len(self._group_of)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._group_of

    def add(self, ids: Sequence[str], vectors: np.ndarray, groups: Sequence[str]) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(ids) != len(vectors) or len(ids) != len(groups):
            raise ValueError(f"{len(ids)} ids, {len(vectors)} vectors and {len(groups)} groups do not match")
        if not len(ids):
            return
        with self._lock:
            if self._dim is None:
                self._dim = int(vectors.shape[1])
            if vectors.shape[1] != self._dim:
                raise ValueError(f"vectors have {vectors.shape[1]} dimensions; this index holds {self._dim}")
            by_group: dict[str, list[int]] = {}
            for position, (item_id, group) in enumerate(zip(ids, groups, strict=True)):
                previous = self._group_of.get(item_id)
                if previous is not None and previous != group:
                    self._blocks[previous].remove(item_id)  # it moved to another group
                self._group_of[item_id] = group
                by_group.setdefault(group, []).append(position)
            for group, positions in by_group.items():
                block = self._blocks.setdefault(group, _Block(self._dim))
                block.put([ids[p] for p in positions], vectors[positions])

    def remove(self, item_id: str) -> bool:
        with self._lock:
            group = self._group_of.pop(item_id, None)
            if group is None:
                return False
            self._blocks[group].remove(item_id)
            return True

    def vector(self, item_id: str) -> np.ndarray | None:
        with self._lock:
            group = self._group_of.get(item_id)
            if group is None:
                return None
            block = self._blocks[group]
            return block.matrix[block.rows[item_id]].copy()

    def search(self, query: np.ndarray, k: int, groups: Collection[str] | None = None) -> list[tuple[str, float]]:
        if k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32)
        with self._lock:
            names = self._blocks if groups is None else [g for g in dict.fromkeys(groups) if g in self._blocks]
            found = [self._blocks[name].top(query, k) for name in names]
        scores = np.concatenate([s for s, _ in found]) if found else np.zeros(0, dtype=np.float32)
        ids = [item_id for _, block_ids in found for item_id in block_ids]
        order = np.argsort(-scores, kind="stable")[:k]
        return [(ids[n], float(scores[n])) for n in order]
