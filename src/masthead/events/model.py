"""Event shapes and the hash chain.

An event is `(seq, stream, version, type, data, meta, hash)`. `seq` is the global order,
`(stream, version)` is unique, and `hash` covers the previous event's hash plus this event's
canonical JSON, so editing or deleting any event breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS_HASH = "0" * 64

ACTOR_PATTERN = r"^(system|agent:[a-z0-9_\-]+|human:[A-Za-z0-9_.@\-]+)$"


# The second of the last stamp and its text up to the seconds' dot, replaced whole (one
# reference assignment), so a thread never pairs one second with another's prefix.
_LAST_SECOND: tuple[int, str] = (-1, "")


def utc_now() -> str:
    """UTC time as ISO 8601 with microseconds; the only clock format in the log.

    The same text as `datetime.now(UTC).isoformat(timespec="microseconds")` with "Z" for
    "+00:00", built from `time.time_ns()` with the date part formatted once per second: a
    step stamps five or so events and metas, and this takes half the time of the datetime way.
    """
    global _LAST_SECOND
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    last = _LAST_SECOND
    if last[0] != seconds:
        t = time.gmtime(seconds)
        last = _LAST_SECOND = (seconds, f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
                                        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.")
    return f"{last[1]}{nanos // 1000:06d}Z"


# The canonical form is the standard library's: sorted keys, no spaces, UTF-8 as is.
_STDLIB = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# orjson writes the same bytes about ten times faster, with one difference: floats below 1e-4
# come out positional (0.00001) where Python writes 1e-05. Output that may hold such a number
# (a digit before ".0000" or "e-") is written again by the standard library.
_ORJSON_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS)
_MAYBE_SMALL_FLOAT = re.compile(rb"\d(?:\.0000|e-)")


def _unsupported(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def canonical_json(value: Any) -> str:
    """One byte-exact JSON form, so hashes and replay comparisons are stable.

    Values orjson does not take as plain JSON (non-string keys, integers beyond 64 bits,
    subclasses, dataclasses) go to the standard library, which accepts or refuses them as it
    always has. Non-finite floats, which JSON has no form for, are written as null.
    """
    try:
        encoded = orjson.dumps(value, default=_unsupported, option=_ORJSON_OPTIONS)
    except TypeError:
        return _STDLIB.encode(value)
    # The substring tests are a quick look (memchr) before the regex, which walks every byte.
    if (b"e-" in encoded or b".0000" in encoded) and _MAYBE_SMALL_FLOAT.search(encoded):
        return _STDLIB.encode(value)
    return encoded.decode("utf-8")


def parse_json(text: str | bytes) -> Any:
    """JSON text as Python values (orjson; the standard library for what it refuses, e.g.
    NaN in rows written before non-finite floats became null)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


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
        data=parse_json(row["data"]),
        meta=Meta.from_dict(parse_json(row["meta"])),
        hash=row["hash"],
    )


_json_string = json.encoder.encode_basestring  # ensure_ascii=False's string form


def chain_hash(
    prev_hash: str,
    seq: int,
    stream: str,
    version: int,
    type_: str,
    data_json: str,
    meta_json: str,
) -> str:
    # canonical_json([seq, stream, version, type_]), written out: this runs for every event.
    head = f"[{seq},{_json_string(stream)},{version},{_json_string(type_)}]"
    return hashlib.sha256((prev_hash + head + data_json + meta_json).encode("utf-8")).hexdigest()


def stream_of(kind: str, ident: str) -> str:
    """Stream names are `<kind>-<id>`: project-acme, job-job-1a2b, piece-pc-..., task-..."""
    return f"{kind}-{ident}"
