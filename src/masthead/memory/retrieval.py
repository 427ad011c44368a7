"""Retrieval: nearest items, meta-notes standing in for what they cover, scores, duplicates.

1. The `candidates` nearest items in the groups the asker may see (its project, global memory,
   its job's session) by cosine similarity. When the query names something most of those items
   share (the product's own name), its direction is taken out of the query and the search is
   run again (see `without_directions`).
2. A candidate covered by a meta-note is replaced by that meta-note: one summary instead of
   many old items. The meta-note records which candidates it stood in for.
3. Every candidate is scored (see `scoring`); those under the floor are dropped.
4. Near-duplicates of one kind (cosine >= `duplicate_similarity`) keep one item: the one with
   the higher confidence, and of equal confidence the newer. So of two versions of a fact the
   newer wins unless the older is more certain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from masthead.config import MemorySection
from masthead.events.memory_types import RetrievedItem, ScoreParts
from masthead.events.store import EventStore
from masthead.memory.index import VectorIndex
from masthead.memory.items import GLOBAL_GROUP, MemoryItem, load_items
from masthead.memory.packing import Packable, estimate_tokens, pack, tier_budgets
from masthead.memory.scoring import (
    QueryTerms,
    age_days,
    informative,
    matched_terms,
    query_terms,
    score,
)
from masthead.memory.vectors import IndexKeeper, Progress


@dataclass(frozen=True)
class Candidate(Packable):
    item: MemoryItem
    parts: ScoreParts
    stood_in_for: tuple[str, ...] = ()

    def record(self) -> RetrievedItem:
        return RetrievedItem(
            id=self.item.id, tier=self.item.tier, kind=self.item.kind, source=self.item.source,
            tokens=self.tokens, parts=self.parts, stood_in_for=list(self.stood_in_for),
        )


@dataclass
class Ranking:
    query: str
    considered: int
    ranked: list[Candidate]  # above the floor, duplicates removed, best first
    below_floor: list[Candidate] = field(default_factory=list)
    duplicates: list[tuple[Candidate, str]] = field(default_factory=list)  # (dropped, kept id)


_WORD_VECTORS: dict[tuple[str, str], np.ndarray] = {}


def without_directions(query: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """The query with the directions of some words projected out, at unit length.

    A rare word such as the product's own name dominates the embedding of a short query:
    "Can students use Tallybook for free?" lands nearer every sentence that names Tallybook
    than the one about the student offer. When most of the nearest items contain the name, it
    tells them apart no better than nothing, so its direction is removed from the query (not
    from the items, whose vectors stay as cached) and the search runs again.
    """
    for direction in directions:
        query = query - float(query @ direction) * direction
    norm = float(np.linalg.norm(query))
    return query / norm if norm > 0 else query


def _cosine(vector: np.ndarray | None, query: np.ndarray) -> float:
    return 0.0 if vector is None else float(vector @ query)


class Retriever:
    def __init__(self, store: EventStore, keeper: IndexKeeper, settings: MemorySection,
                 clock: Callable[[], float]) -> None:
        self._store = store
        self._keeper = keeper
        self._settings = settings
        self._clock = clock

    def rank(self, query: str, *, project: str | None, role: str, job_id: str | None = None,
             progress: Progress | None = None) -> Ranking:
        index = self._keeper.current(progress)
        groups = [GLOBAL_GROUP]
        if project is not None:
            groups.append(f"project:{project}")
        if job_id is not None:
            groups.append(f"job:{job_id}")
        terms = query_terms(query)
        items, query_vector = self._candidates(index, query, terms, groups, job_id)
        similarity = {item_id: _cosine(index.vector(item_id), query_vector) for item_id in items}
        stood_in = self._substitute_meta_notes(index, items, similarity, query_vector)
        scored = self._score(items, similarity, stood_in, terms, role)
        floor = self._settings.score_floor
        below = sorted((c for c in scored if c.parts.total < floor), key=lambda c: -c.parts.total)
        kept, duplicates = self._drop_duplicates(index, [c for c in scored if c.parts.total >= floor])
        kept.sort(key=lambda c: (-c.parts.total, -c.item.seq))
        return Ranking(query=query, considered=len(scored), ranked=kept, below_floor=below, duplicates=duplicates)

    def pack(self, ranking: Ranking) -> tuple[list[Candidate], list[Candidate]]:
        return pack(ranking.ranked, tier_budgets(self._settings))

    # -- steps ---------------------------------------------------------------------------
    def _candidates(self, index: VectorIndex, query: str, terms: QueryTerms, groups: list[str],
                    job_id: str | None) -> tuple[dict[str, MemoryItem], np.ndarray]:
        """The nearest items, and the query vector they are scored against."""
        query_vector = self._keeper.embedder.embed([query])[0]
        k = self._settings.candidates
        items = self._visible(load_items(self._store.query, [i for i, _ in index.search(query_vector, k, groups)]),
                              job_id)
        shared = sorted(terms.names - informative([matched_terms(terms, i.text) for i in items.values()]))
        if shared:
            # Look again without the pull of names most of the memory shares.
            query_vector = without_directions(query_vector, self._word_vectors(shared))
            more = [i for i, _ in index.search(query_vector, k, groups) if i not in items]
            items |= self._visible(load_items(self._store.query, more), job_id)
        return items, query_vector

    def _score(self, items: dict[str, MemoryItem], similarity: dict[str, float], stood_in: dict[str, list[str]],
               terms: QueryTerms, role: str) -> list[Candidate]:
        settings, now = self._settings, self._clock()
        matches = {item_id: matched_terms(terms, item.text) for item_id, item in items.items()}
        telling = informative(list(matches.values()))
        return [
            Candidate(
                tier=item.tier, tokens=estimate_tokens(item.text), item=item,
                parts=score(similarity=similarity[item.id], age=age_days(item.created_at, now),
                            half_life_days=getattr(settings.half_life_days, item.kind),
                            recency_floor=settings.recency_floor, role=role, kind=item.kind,
                            confidence=item.confidence, terms=terms,
                            matched=[t for t in matches[item.id] if t in telling]),
                stood_in_for=tuple(stood_in.get(item.id, ())),
            )
            for item in items.values()
        ]

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        """Vectors of single words (product names), embedded once per process and model."""
        embedder = self._keeper.embedder
        missing = [w for w in words if (embedder.model_id, w) not in _WORD_VECTORS]
        if missing:
            for word, vector in zip(missing, embedder.embed(missing), strict=True):
                _WORD_VECTORS[(embedder.model_id, word)] = vector
        return np.stack([_WORD_VECTORS[(embedder.model_id, w)] for w in words])

    def _visible(self, items: dict[str, MemoryItem], job_id: str | None) -> dict[str, MemoryItem]:
        """Session items count only while their job runs: the session ends with the job."""
        if not any(item.tier == "session" for item in items.values()):
            return items
        running = bool(job_id) and bool(
            self._store.query("SELECT 1 FROM jobs WHERE id = ? AND status = 'running'", (job_id,))
        )
        return {k: v for k, v in items.items() if v.tier != "session" or (running and v.job_id == job_id)}

    def _substitute_meta_notes(self, index: VectorIndex, items: dict[str, MemoryItem], similarity: dict[str, float],
                               query_vector: np.ndarray) -> dict[str, list[str]]:
        """Replace covered candidates by their (newest) meta-note, in place; return what each
        meta-note stood in for."""
        covered = [item_id for item_id, item in items.items() if item.kind != "meta_note"]
        if not covered:
            return {}
        marks = ",".join("?" * len(covered))
        links = self._store.query(
            f"SELECT l.item_id, l.meta_note_id FROM memory_links l JOIN memory_items m ON m.id = l.meta_note_id"
            f" WHERE l.item_id IN ({marks}) ORDER BY m.seq", covered,
        )
        newest_cover = {row["item_id"]: row["meta_note_id"] for row in links}  # ORDER BY seq: last wins
        if not newest_cover:
            return {}
        metas = load_items(self._store.query, sorted(set(newest_cover.values())))
        stood_in: dict[str, list[str]] = {}
        for item_id, meta_id in newest_cover.items():
            vector = index.vector(meta_id)
            if meta_id not in metas or vector is None:
                continue  # not embedded yet: keep the original item
            stood_in.setdefault(meta_id, []).append(item_id)
            del items[item_id]
            del similarity[item_id]
            items[meta_id] = metas[meta_id]
            similarity[meta_id] = float(vector @ query_vector)
        return stood_in

    def _drop_duplicates(self, index: VectorIndex,
                         candidates: list[Candidate]) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
        # The most certain first, and of equal certainty the newest: whatever is kept first wins.
        ordered = sorted(candidates, key=lambda c: (c.item.confidence, c.item.created_at, c.item.seq), reverse=True)
        found = {n: v for n, c in enumerate(ordered) if (v := index.vector(c.item.id)) is not None}
        present = list(found)
        similar = np.zeros((len(ordered), len(ordered)), dtype=np.float32)
        if present:
            matrix = np.stack(list(found.values()))
            similar[np.ix_(present, present)] = matrix @ matrix.T  # every pair at once
        threshold = self._settings.duplicate_similarity
        kept: list[int] = []
        dropped: list[tuple[Candidate, str]] = []
        for n, candidate in enumerate(ordered):
            twin = next((k for k in kept if ordered[k].item.kind == candidate.item.kind and similar[n, k] >= threshold),
                        None)
            if twin is None:
                kept.append(n)
            else:
                dropped.append((candidate, ordered[twin].item.id))
        return [ordered[n] for n in kept], dropped
