"""Inserting events that already carry their seq, version and hash (an import of an exported
log), shared by both adapters' `import_hashed`.

The caller checks the chain, as the events go by or before; this keeps every field exactly as
given, checks under the append lock that the log's head is where the first event expects it,
and applies the projector to each event in the same transaction, so an import is all or nothing:
an error raised by the events' iterator (a broken chain found halfway) rolls it all back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

from masthead.errors import StateError
from masthead.events.model import GENESIS_HASH, Meta, StoredEvent, canonical_json, parse_json
from masthead.events.store import Projector, Transaction

BATCH = 5_000
_INSERT = "INSERT INTO events (seq, stream, version, type, data, meta, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"


@dataclass(frozen=True)
class HashedEvent(StoredEvent):
    """A stored event with the canonical JSON texts of its data and meta that its hash covers,
    as a reader that checked the hash already made them: inserted as they are, not written again."""

    data_json: str
    meta_json: str


def hashed_event(seq: int, stream: str, version: int, type_: str, data_json: str, meta_json: str, hash_: str,
                 metas: dict[str, Meta]) -> HashedEvent:
    """The event of an `events` row whose texts are already checked (by their hash), parsed for
    the projector. `metas` keeps the Meta of the last meta text: the events of one append share it."""
    meta = metas.get(meta_json)
    if meta is None:
        metas.clear()
        meta = metas[meta_json] = Meta.from_dict(parse_json(meta_json))
    return HashedEvent(seq=seq, stream=stream, version=version, type=type_, data=parse_json(data_json), meta=meta,
                       hash=hash_, data_json=data_json, meta_json=meta_json)


def event_row(event: StoredEvent) -> tuple[Any, ...]:
    """The `events` row of an event: the columns in `_INSERT`'s order."""
    if isinstance(event, HashedEvent):
        data_json, meta_json = event.data_json, event.meta_json
    else:
        data_json, meta_json = canonical_json(event.data), canonical_json(event.meta.as_dict())
    return (event.seq, event.stream, event.version, event.type, data_json, meta_json, event.hash)


def insert_hashed(tx: Transaction, events: Iterable[StoredEvent], *, after: tuple[int, str],
                  projector: Projector | None, progress: Callable[[int], None] | None = None,
                  secondary_indexes: str | None = None) -> int:
    """Insert `events` on `tx` after checking the head is `after`; return how many went in.

    `secondary_indexes` is the adapter's query for the read models' non-unique indexes
    (`name`, `sql`); when given and the log is empty, they are dropped for the load and built
    again at its end, in the same transaction: one sort per index instead of an update per row."""
    head = tx.query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
    current = (head[0]["seq"], head[0]["hash"]) if head else (0, GENESIS_HASH)
    if current != after:
        raise StateError(
            f"the log's head moved: it is at seq {current[0]}, the import expects seq {after[0]}",
            fix="another process wrote to the workspace meanwhile; stop it and import again")
    with indexes_built_after(tx, secondary_indexes if projector is not None and current[0] == 0 else None):
        return _insert(tx, events, projector, progress)


@contextmanager
def indexes_built_after(tx: Transaction, secondary_indexes: str | None) -> Iterator[None]:
    """The indexes `secondary_indexes` lists (`name`, `sql`; None: none) dropped for the block's
    load and built again after it, on `tx`: one sort per index instead of an update per row. An
    error in the block leaves them dropped in a transaction that then rolls back, with them."""
    indexes = tx.query(secondary_indexes) if secondary_indexes else []
    for index in indexes:
        tx.execute(f'DROP INDEX "{index["name"]}"')
    yield
    for index in indexes:
        tx.execute(index["sql"])


def _insert(tx: Transaction, events: Iterable[StoredEvent], projector: Projector | None,
            progress: Callable[[int], None] | None) -> int:
    count = 0
    iterator = iter(events)
    while batch := list(islice(iterator, BATCH)):
        tx.execute_many(_INSERT, [event_row(e) for e in batch])
        if projector is not None:
            for event in batch:
                projector.apply(tx, event)
        count += len(batch)
        if progress is not None:
            progress(count)
    return count
