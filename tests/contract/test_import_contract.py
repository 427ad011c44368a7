"""`import_hashed`, the same on SQLite and Postgres: events go in with their seq, version and
hash exactly, projected, all in one transaction, and only right after the expected head."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.contract.test_event_store_contract import meta, project_event, signal_event

from masthead.errors import StateError
from masthead.events.model import GENESIS_HASH, StoredEvent
from masthead.projections.replay import verify


@pytest.fixture
def exported(tmp_path) -> list[StoredEvent]:
    from masthead.events.open import open_store
    from masthead.projections.read_models import ReadModelProjector

    source = open_store(tmp_path / "source.db", ReadModelProjector())
    try:
        source.append([project_event("p", 1)], meta())
        source.append([signal_event(n) for n in range(7)], meta("human:ana"))
        return list(source.read())
    finally:
        source.close()


def test_import_keeps_every_field_and_projects(store, exported):
    assert store.import_hashed(exported, after=(0, GENESIS_HASH)) == len(exported)
    assert list(store.read()) == exported
    assert store.head() == (exported[-1].seq, exported[-1].hash)
    assert store.query("SELECT COUNT(*) AS n FROM signals")[0]["n"] == 7
    report = verify(store)
    assert report.ok, report.problem
    # Appends go on from the imported head.
    stored = store.append([signal_event(99)], meta())
    assert stored[0].seq == exported[-1].seq + 1


def test_import_in_two_parts_continues_the_chain(store, exported):
    store.import_hashed(exported[:3], after=(0, GENESIS_HASH))
    store.import_hashed(exported[3:], after=(3, exported[2].hash))
    assert list(store.read()) == exported
    assert verify(store).ok


def test_wrong_head_is_refused_and_nothing_written(store, exported):
    store.append([signal_event(50)], meta())
    before = list(store.read())
    with pytest.raises(StateError, match="head"):
        store.import_hashed(exported, after=(0, GENESIS_HASH))
    assert list(store.read()) == before


def test_failure_midway_leaves_the_log_empty(store, exported):
    def failing() -> Iterator[StoredEvent]:
        yield from exported[:5]
        raise RuntimeError("the file ended early")

    with pytest.raises(RuntimeError):
        store.import_hashed(failing(), after=(0, GENESIS_HASH))
    assert store.head() == (0, GENESIS_HASH)
    assert store.query("SELECT COUNT(*) AS n FROM signals")[0]["n"] == 0
