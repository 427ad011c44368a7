"""Inserting events that already carry their seq, version and hash (an import of an exported
log), shared by both adapters' `import_hashed`.

The caller has verified the chain; this keeps every field exactly as given, checks under the
append lock that the log's head is where the first event expects it, and applies the projector
to each event in the same transaction, so an import is all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice

from masthead.errors import StateError
from masthead.events.model import GENESIS_HASH, StoredEvent, canonical_json
from masthead.events.store import Projector, Transaction

BATCH = 5_000
_INSERT = "INSERT INTO events (seq, stream, version, type, data, meta, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"


def insert_hashed(tx: Transaction, events: Iterable[StoredEvent], *, after: tuple[int, str],
                  projector: Projector | None, progress: Callable[[int], None] | None = None) -> int:
    """Insert `events` on `tx` after checking the head is `after`; return how many went in."""
    head = tx.query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
    current = (head[0]["seq"], head[0]["hash"]) if head else (0, GENESIS_HASH)
    if current != after:
        raise StateError(
            f"the log's head moved: it is at seq {current[0]}, the import expects seq {after[0]}",
            fix="another process wrote to the workspace meanwhile; stop it and import again")
    count = 0
    iterator = iter(events)
    while batch := list(islice(iterator, BATCH)):
        tx.execute_many(_INSERT, [(e.seq, e.stream, e.version, e.type, canonical_json(e.data),
                                   canonical_json(e.meta.as_dict()), e.hash) for e in batch])
        if projector is not None:
            for event in batch:
                projector.apply(tx, event)
        count += len(batch)
        if progress is not None:
            progress(count)
    return count
