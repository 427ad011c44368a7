"""MemoryService: the one door to memory for commands, the CLI and the runtime.

Writes validate everything (and load the embedder, so a corrupt model file is found) before
the first append, so bad input changes nothing. Reads go through an index that is built on
first use and follows the log afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from masthead.config import MemorySection
from masthead.errors import InputError, NotFoundError, StateError
from masthead.events.memory_types import MemoryItemAdded, MemoryItemForgotten
from masthead.events.model import Meta, utc_now
from masthead.events.store import EventStore
from masthead.memory import importer
from masthead.memory.embedder import Embedder
from masthead.memory.factory import configured_model_id
from masthead.memory.items import (
    ADDABLE_KINDS,
    OUTCOME_CONFIDENCE,
    TIERS,
    MemoryItem,
    added_event,
    check_choice,
    check_confidence,
    clean_text,
    live_ids,
    load_items,
    new_event,
    proposal_outcome,
    proposal_source,
)
from masthead.memory.retrieval import Candidate, Ranking, Retriever
from masthead.memory.vectors import IndexKeeper, Progress, VectorCache
from masthead.memory.voice import VoiceVerdict, voice_verdict

VOICE_KINDS = ("exemplar", "feedback")  # what the operator wrote or approved as the voice


@dataclass(frozen=True)
class Outcome:
    """What a past proposal came to: `won` or `lost`, for which client, for what value."""

    outcome: str
    client: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class AddResult:
    item_id: str
    added: bool  # False: the same item was already in memory


@dataclass(frozen=True)
class ImportResult:
    files: int
    chunks: int
    added: int
    already: int


class MemoryService:
    def __init__(self, store: EventStore, settings: MemorySection, embedder: Callable[[], Embedder],
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self._make_embedder = embedder
        self._clock = clock
        self._keeper: IndexKeeper | None = None
        self._lock = threading.Lock()
        self._avoid_vectors: dict[tuple[str, str], np.ndarray] = {}

    # -- plumbing -------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return configured_model_id(self.settings)

    def load_embedder(self) -> Embedder:
        """Load (and checksum) the embedder now, so a broken model stops a command before it writes."""
        return self.keeper.embedder

    @property
    def keeper(self) -> IndexKeeper:
        with self._lock:
            if self._keeper is None:
                self._keeper = IndexKeeper(self.store, self._make_embedder())
            return self._keeper

    @property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.keeper, self.settings, self._clock)

    # -- writes ---------------------------------------------------------------------------
    def add(self, text: str, *, kind: str, tier: str, project: str | None, job_id: str | None = None,
            source: str, confidence: float = 1.0, actor: str) -> AddResult:
        event = self._validated_add(text, kind=kind, tier=tier, project=project, job_id=job_id,
                                    source=source, confidence=confidence)
        self.load_embedder()
        with self.store.transaction() as tx:
            if live_ids(tx.query, [event.id]):
                return AddResult(event.id, False)
            tx.append([new_event(event)], Meta(actor=actor, at=utc_now(), correlation_id=job_id))
        self.keeper.current()
        return AddResult(event.id, True)

    def import_folder(self, folder: Path | list[Path], *, project: str, kind: str = "note", confidence: float = 1.0,
                      actor: str, on_file: importer.FileProgress | None = None,
                      on_embed: Progress | None = None, outcome: Outcome | None = None) -> ImportResult:
        """Remember every .md and .txt file of a folder (or of several files and folders).
        Proposals carry their outcome (`won`/`lost`): in their source, and as their confidence."""
        check_choice(kind, ADDABLE_KINDS, "--kind")
        check_confidence(confidence)
        self._check_scope("project", project, None)
        if (kind == "proposal") != (outcome is not None):
            raise InputError("--outcome goes with --kind proposal, and a proposal needs one",
                             fix="use --kind proposal --outcome won (or lost), or leave --outcome out")
        files = importer.read_paths(folder if isinstance(folder, list) else [folder], on_file)
        self.load_embedder()
        if outcome is not None:
            confidence = min(confidence, OUTCOME_CONFIDENCE[outcome.outcome])
        events: dict[str, MemoryItemAdded] = {}
        for found in files:
            for number, chunk in enumerate(found.chunks, start=1):
                source = f"file:{found.relative}" + (f"#{number}" if len(found.chunks) > 1 else "")
                if outcome is not None:
                    source = proposal_source(outcome.outcome, source, client=outcome.client, value=outcome.value)
                event = added_event(tier="project", kind=kind, text=chunk, source=source, confidence=confidence,
                                    project=project, job_id=None, embedding_model=self.model_id)
                events.setdefault(event.id, event)  # the same chunk twice in a folder is one item
        with self.store.transaction() as tx:
            already = live_ids(tx.query, list(events))
            fresh = [new_event(e) for item_id, e in events.items() if item_id not in already]
            if fresh:
                tx.append(fresh, Meta(actor=actor, at=utc_now()))
        self.keeper.current(on_embed)
        chunks = sum(len(found.chunks) for found in files)
        return ImportResult(files=len(files), chunks=chunks, added=len(fresh), already=len(already))

    def forget(self, item_id: str, *, reason: str, actor: str) -> MemoryItem:
        reason = reason.strip() or "forgotten by the operator"
        with self.store.transaction() as tx:
            rows = tx.query("SELECT * FROM memory_items WHERE id = ?", (item_id,))
            if not rows:
                gone = tx.query("SELECT at FROM memory_forgotten WHERE id = ?", (item_id,))
                if gone:
                    raise StateError(f"memory item {item_id} was already forgotten at {gone[0]['at']}",
                                     fix="nothing to do; `masthead memory list` shows what is remembered")
                raise NotFoundError(f"memory item {item_id!r} does not exist", fix="see `masthead memory list`")
            tx.append([new_event(MemoryItemForgotten(id=item_id, reason=reason))], Meta(actor=actor, at=utc_now()))
        return MemoryItem.from_row(rows[0])

    def _validated_add(self, text: str, *, kind: str, tier: str, project: str | None, job_id: str | None,
                       source: str, confidence: float) -> MemoryItemAdded:
        cleaned = clean_text(text)
        check_choice(kind, ADDABLE_KINDS, "--kind")
        check_choice(tier, TIERS, "--tier")
        check_confidence(confidence)
        if kind == "proposal" and proposal_outcome(source) is None:
            raise InputError("a past proposal needs its outcome", fix="import it: masthead memory import FILE "
                             "--project P --kind proposal --outcome won (or lost)")
        self._check_scope(tier, project, job_id)
        return added_event(tier=tier, kind=kind, text=cleaned, source=source, confidence=confidence,
                           project=project, job_id=job_id, embedding_model=self.model_id)

    def _check_scope(self, tier: str, project: str | None, job_id: str | None) -> None:
        if tier == "project":
            if not project:
                raise InputError("project memory needs a project", fix="pass --project NAME, or --global")
            if not self.store.query("SELECT 1 FROM projects WHERE name = ?", (project,)):
                raise NotFoundError(f"project {project!r} does not exist", fix="see `masthead project list`")
        elif tier == "session":
            jobs = self.store.query("SELECT project, status FROM jobs WHERE id = ?", (job_id or "",))
            if not jobs:
                raise NotFoundError(f"job {job_id!r} does not exist", fix="session memory belongs to a running job")
            if jobs[0]["status"] != "running":
                raise StateError(f"job {job_id} is {jobs[0]['status']}; its session is over",
                                 fix="add project memory instead (--project NAME)")

    # -- reads ----------------------------------------------------------------------------
    def list_items(self, *, project: str | None = None, kind: str | None = None, tier: str | None = None,
                   limit: int | None = None) -> list[MemoryItem]:
        sql, params = "SELECT * FROM memory_items WHERE 1 = 1", []
        for column, value in (("project", project), ("kind", kind), ("tier", tier)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        sql += " ORDER BY seq DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return [MemoryItem.from_row(row) for row in self.store.query(sql, params)]

    def items(self, ids: list[str]) -> dict[str, MemoryItem]:
        return load_items(self.store.query, ids)

    def rank(self, query: str, *, project: str | None, role: str = "search", job_id: str | None = None,
             progress: Progress | None = None) -> Ranking:
        if not query.strip():
            raise InputError("the search query is empty", fix="say what to look for")
        if project is not None:
            self._check_scope("project", project, None)
        return self.retriever.rank(query, project=project, role=role, job_id=job_id, progress=progress)

    def pack(self, ranking: Ranking) -> tuple[list[Candidate], list[Candidate]]:
        return self.retriever.pack(ranking)

    def warm(self, progress: Progress | None = None) -> int:
        """Build the index now (embedding what lacks a vector); returns how many items it holds."""
        return len(self.keeper.current(progress))

    def reindex(self, progress: Progress | None = None) -> int:
        return len(self.keeper.rebuild(progress))

    def cached_vectors(self) -> int:
        return VectorCache(self.store).count(self.keeper.embedder.model_id)

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised vectors of `texts` by the configured embedder (rows in order)."""
        return self.keeper.embedder.embed(texts)

    def voice(self, project: str, text: str, avoid: list[str]) -> VoiceVerdict:
        index = self.keeper.current()
        marks = ",".join("?" * len(VOICE_KINDS))
        ids = [r["id"] for r in self.store.query(
            f"SELECT id FROM memory_items WHERE tier = 'project' AND project = ? AND kind IN ({marks})",
            (project, *VOICE_KINDS))]
        vectors = [v for v in (index.vector(i) for i in ids) if v is not None]
        embedder = self.keeper.embedder
        draft = embedder.embed([text])[0]
        exemplars = np.stack(vectors) if vectors else np.zeros((0, len(draft)), dtype=np.float32)
        return voice_verdict(draft, exemplars, self._avoid_matrix(avoid, len(draft)), self.settings.voice_threshold)

    def _avoid_matrix(self, avoid: list[str], dim: int) -> np.ndarray:
        model = self.keeper.embedder.model_id
        missing = [t for t in avoid if (model, t) not in self._avoid_vectors]
        if missing:
            for text, vector in zip(missing, self.keeper.embedder.embed(missing), strict=True):
                self._avoid_vectors[(model, text)] = vector
        rows = [self._avoid_vectors[(model, t)] for t in avoid]
        return np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
