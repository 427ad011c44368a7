"""Retrieval: nearest items, meta-notes standing in for what they cover, scores, duplicates.

1. The `candidates` nearest items in the groups the asker may see (its project, global memory,
   its job's session) by cosine similarity.
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
from masthead.memory.items import GLOBAL_GROUP, MemoryItem, load_items
from masthead.memory.packing import Packable, estimate_tokens, pack, tier_budgets
from masthead.memory.scoring import age_days, informative, matched_terms, query_terms, score
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
        query_vector = self._keeper.embedder.embed([query])[0]
        groups = [GLOBAL_GROUP]
        if project is not None:
            groups.append(f"project:{project}")
        if job_id is not None:
            groups.append(f"job:{job_id}")
        hits = dict(index.search(query_vector, self._settings.candidates, groups))
        items = self._visible(load_items(self._store.query, list(hits)), job_id)
        terms = query_terms(query)
        shared = sorted(terms.names - informative([matched_terms(terms, i.text) for i in items.values()]))
        if shared:
            # Look again without the pull of names most of the memory shares (see below).
            query_vector = without_directions(query_vector, self._keeper.embedder.embed(shared))
            more = [i for i, _ in index.search(query_vector, self._settings.candidates, groups) if i not in items]
            items |= self._visible(load_items(self._store.query, more), job_id)
        similarity = {item_id: _cosine(index.vector(item_id), query_vector) for item_id in items}
        stood_in = self._substitute_meta_notes(items, similarity, query_vector)
        now = self._clock()
        matches = {item_id: matched_terms(terms, item.text) for item_id, item in items.items()}
        telling = informative(list(matches.values()))
        settings = self._settings
        scored = [
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
        floor = self._settings.score_floor
        below = [c for c in scored if c.parts.total < floor]
        kept, duplicates = self._drop_duplicates([c for c in scored if c.parts.total >= floor])
        kept.sort(key=lambda c: (-c.parts.total, -c.item.seq))
        below.sort(key=lambda c: -c.parts.total)
        return Ranking(query=query, considered=len(scored), ranked=kept, below_floor=below, duplicates=duplicates)

    def pack(self, ranking: Ranking) -> tuple[list[Candidate], list[Candidate]]:
        return pack(ranking.ranked, tier_budgets(self._settings))

    # -- steps ---------------------------------------------------------------------------
    def _visible(self, items: dict[str, MemoryItem], job_id: str | None) -> dict[str, MemoryItem]:
        """Session items count only while their job runs: the session ends with the job."""
        if not any(item.tier == "session" for item in items.values()):
            return items
        running = bool(job_id) and bool(
            self._store.query("SELECT 1 FROM jobs WHERE id = ? AND status = 'running'", (job_id,))
        )
        return {k: v for k, v in items.items() if v.tier != "session" or (running and v.job_id == job_id)}

    def _substitute_meta_notes(self, items: dict[str, MemoryItem], similarity: dict[str, float],
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
        index = self._keeper.current()
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

    def _drop_duplicates(self, candidates: list[Candidate]) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
        index = self._keeper.current()
        threshold = self._settings.duplicate_similarity
        kept: list[tuple[Candidate, np.ndarray | None]] = []
        dropped: list[tuple[Candidate, str]] = []
        # The most certain first, and of equal certainty the newest: whatever is kept first wins.
        for candidate in sorted(candidates, key=lambda c: (c.item.confidence, c.item.created_at, c.item.seq),
                                reverse=True):
            vector = index.vector(candidate.item.id)
            twin = next(
                (other for other, other_vector in kept
                 if vector is not None and other_vector is not None and other.item.kind == candidate.item.kind
                 and float(vector @ other_vector) >= threshold),
                None,
            )
            if twin is not None:
                dropped.append((candidate, twin.item.id))
            else:
                kept.append((candidate, vector))
        return [candidate for candidate, _ in kept], dropped
