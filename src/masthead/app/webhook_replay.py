"""Legacy webhook signatures seen within the tolerance window, in the database (table of 0011).

A `sha256=` signature covers only the timestamp and the body, so a captured request re-sent
under a new delivery id still verifies; the unique delivery-id index cannot tell it is a copy.
The first copy claims its signature here (a primary key, so exactly one claim wins across
threads, restarts and processes) together with its delivery source; the copies then answer
with that delivery's signal. `v2=` signatures cover the delivery id and need none of this.
"""

from __future__ import annotations

import threading
import time

from masthead.events.store import EventStore

CLAIM_SQL = ("INSERT INTO webhook_signatures (signature, delivery_source, expires_at) VALUES (?, ?, ?)"
             " ON CONFLICT (signature) DO NOTHING")
OWNER_SQL = "SELECT delivery_source FROM webhook_signatures WHERE signature = ?"
RELEASE_SQL = "DELETE FROM webhook_signatures WHERE signature = ? AND delivery_source = ?"
PURGE_SQL = "DELETE FROM webhook_signatures WHERE expires_at < ?"
PURGE_EVERY_SECONDS = 60.0


class SignatureClaims:
    def __init__(self, store: EventStore):
        self.store = store
        self._purged_at = float("-inf")
        self._lock = threading.Lock()

    def claim(self, signature: str, delivery_source: str, expires_at: float, now: float) -> str:
        """The delivery source that owns `signature`: ours if we are first, else the first copy's."""
        self._purge(now)
        for _ in range(3):  # a failed first copy may release its claim between our two statements
            self.store.execute_unlogged(CLAIM_SQL, (signature, delivery_source, expires_at))
            owner = self.owner(signature)
            if owner is not None:
                return owner
        return delivery_source

    def owner(self, signature: str) -> str | None:
        rows = self.store.query(OWNER_SQL, (signature,))
        return str(rows[0]["delivery_source"]) if rows else None

    def release(self, signature: str, delivery_source: str) -> None:
        """The first copy failed to store its signal: let the next copy try."""
        self.store.execute_unlogged(RELEASE_SQL, (signature, delivery_source))

    def _purge(self, now: float) -> None:
        with self._lock:
            if time.monotonic() - self._purged_at < PURGE_EVERY_SECONDS:
                return
            self._purged_at = time.monotonic()
        self.store.execute_unlogged(PURGE_SQL, (now,))
