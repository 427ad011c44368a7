"""The VectorIndex port and its default adapter: exact cosine search over a float32 matrix.

Each vector carries a `group` (a project, the global tier, or one job's session) so a search
looks only at the groups the asker may see. At 100,000 items of 384 dimensions the matrix is
about 150 MB and one exact search is one matrix-vector product: a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

_INITIAL_CAPACITY = 1024


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


class NumpyIndex:
    """Rows are packed: removing an id moves the last row into its place, so a search never
    scans holes and memory stays proportional to the live items."""

    def __init__(self, dim: int | None = None) -> None:
        self._dim = dim
        self._matrix = np.zeros((0, dim or 0), dtype=np.float32)
        self._group_of_row = np.zeros(0, dtype=np.int32)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._group_codes: dict[str, int] = {}

    @property
    def dim(self) -> int | None:
        return self._dim

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._rows

    def add(self, ids: Sequence[str], vectors: np.ndarray, groups: Sequence[str]) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(ids) != len(vectors) or len(ids) != len(groups):
            raise ValueError(f"{len(ids)} ids, {len(vectors)} vectors and {len(groups)} groups do not match")
        if not len(ids):
            return
        if self._dim is None:
            self._dim = int(vectors.shape[1])
            self._matrix = np.zeros((0, self._dim), dtype=np.float32)
        if vectors.shape[1] != self._dim:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions; this index holds {self._dim}")
        self._reserve(len(self._ids) + len(ids))
        for item_id, vector, group in zip(ids, vectors, groups, strict=True):
            row = self._rows.get(item_id)
            if row is None:
                row = len(self._ids)
                self._ids.append(item_id)
                self._rows[item_id] = row
            self._matrix[row] = vector
            self._group_of_row[row] = self._group_codes.setdefault(group, len(self._group_codes))

    def remove(self, item_id: str) -> bool:
        row = self._rows.pop(item_id, None)
        if row is None:
            return False
        last = len(self._ids) - 1
        if row != last:
            moved = self._ids[last]
            self._matrix[row] = self._matrix[last]
            self._group_of_row[row] = self._group_of_row[last]
            self._ids[row] = moved
            self._rows[moved] = row
        self._ids.pop()
        return True

    def vector(self, item_id: str) -> np.ndarray | None:
        row = self._rows.get(item_id)
        return None if row is None else self._matrix[row].copy()

    def search(self, query: np.ndarray, k: int, groups: Collection[str] | None = None) -> list[tuple[str, float]]:
        count = len(self._ids)
        if count == 0 or k <= 0:
            return []
        scores = self._matrix[:count] @ np.asarray(query, dtype=np.float32)
        if groups is not None:
            codes = [self._group_codes[g] for g in groups if g in self._group_codes]
            allowed = np.isin(self._group_of_row[:count], codes)
            scores = np.where(allowed, scores, -np.inf)
            count = int(allowed.sum())
        k = min(k, count)
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._ids[row], float(scores[row])) for row in top]

    def _reserve(self, needed: int) -> None:
        capacity = len(self._matrix)
        if needed <= capacity:
            return
        # Grow geometrically so adding n items one by one costs O(n) copies, not O(n^2).
        new_capacity = max(needed, capacity * 2, _INITIAL_CAPACITY)
        matrix = np.zeros((new_capacity, self._dim or 0), dtype=np.float32)
        matrix[:capacity] = self._matrix
        group_of_row = np.zeros(new_capacity, dtype=np.int32)
        group_of_row[:capacity] = self._group_of_row
        self._matrix, self._group_of_row = matrix, group_of_row
