"""Event shapes and the hash chain.

An event is `(seq, stream, version, type, data, meta, hash)`. `seq` is the global order,
`(stream, version)` is unique, and `hash` covers the previous event's hash plus this event's
canonical JSON, so editing or deleting any event breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

ACTOR_PATTERN = r"^(system|agent:[a-z0-9_\-]+|human:[A-Za-z0-9_.@\-]+)$"


def utc_now() -> str:
    """UTC time as ISO 8601 with microseconds; the only clock format in the log."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_json(value: Any) -> str:
    """One byte-exact JSON form, so hashes and replay comparisons are stable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Meta:
    actor: str
    at: str
    causation_id: str | None = None
    correlation_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "at": self.at,
            "causation_id": self.causation_id,
            "correlation_id": self.correlation_id,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Meta:
        return cls(
            actor=raw["actor"],
            at=raw["at"],
            causation_id=raw.get("causation_id"),
            correlation_id=raw.get("correlation_id"),
        )


# Sentinel for "append at whatever version comes next".
ANY_VERSION = -1


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended. `expected_version` is the stream's version before it:
    0 for a new stream, ANY_VERSION to skip the optimistic check."""

    stream: str
    type: str
    data: dict[str, Any]
    expected_version: int = ANY_VERSION


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    stream: str
    version: int
    type: str
    data: dict[str, Any]
    meta: Meta
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "stream": self.stream,
            "version": self.version,
            "type": self.type,
            "data": self.data,
            "meta": self.meta.as_dict(),
            "hash": self.hash,
        }


# Events that record something from or to the outside world: a signal that came in (maybe
# acknowledged to a webhook), a paid model call, a publication, a project or a person's decision.
# With `synchronous = "NORMAL"`, the adapters make a commit that holds one of these durable before
# it returns; bookkeeping commits between them ride along with the next flush.
DURABLE_TYPES = frozenset({
    "SignalReceived", "ProjectApplied", "ModelCallRecorded", "PublicationRequested", "PublicationDelivered",
})


def must_reach_disk(event: StoredEvent) -> bool:
    return event.type in DURABLE_TYPES or event.meta.actor.startswith("human:")


def event_from_row(row: dict[str, Any]) -> StoredEvent:
    """A row of the `events` table (either backend) as a StoredEvent."""
    return StoredEvent(
        seq=row["seq"],
        stream=row["stream"],
        version=row["version"],
        type=row["type"],
        data=json.loads(row["data"]),
        meta=Meta.from_dict(json.loads(row["meta"])),
        hash=row["hash"],
    )


def chain_hash(
    prev_hash: str,
    seq: int,
    stream: str,
    version: int,
    type_: str,
    data_json: str,
    meta_json: str,
) -> str:
    body = canonical_json([seq, stream, version, type_]) + data_json + meta_json
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def stream_of(kind: str, ident: str) -> str:
    """Stream names are `<kind>-<id>`: project-acme, job-job-1a2b, piece-pc-..., task-..."""
    return f"{kind}-{ident}"
