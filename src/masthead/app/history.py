"""A portable, verifiable history: `masthead export` and `masthead import`.

An export file is a tar archive of two members: `manifest.json` (what the file holds and how to
check it) and `events.jsonl.gz` (one event a line, in seq order, with its hash). It is written
beside the target as `FILE.partial` and renamed at the end, so a crash never leaves half a file.

An import reads the file once, inside one transaction (`EventStore.import_hashed`): each event's
seq and hash (the chain recomputed with the store's own `chain_hash`) are checked before it is
inserted and projected, and the payload's SHA-256 and the manifest's count and head when the file
has been read to the end. The first problem raises inside the transaction, which rolls back, so
a bad file leaves nothing written without a checking pass of its own. `replay --verify` runs at
the end. Memory vectors and other caches are not in the file: they are derived again.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from masthead import __version__
from masthead.app.history_check import checked_events
from masthead.app.history_file import (
    MANIFEST_NAME,
    PAYLOAD_NAME,
    Manifest,
    read_manifest,
)
from masthead.errors import InputError, IntegrityError, StateError
from masthead.events.model import (
    GENESIS_HASH,
    StoredEvent,
    canonical_json,
    chain_hash,
    utc_now,
)
from masthead.events.store import EventStore
from masthead.projections.replay import VerifyReport, verify

PAGE = 5_000
_ROWS = "SELECT seq, stream, version, type, data, meta, hash FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
_HASH_AT = "SELECT hash FROM events WHERE seq = ?"
_json_string = json.encoder.encode_basestring  # ensure_ascii=False's string form, as chain_hash writes it

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportReport:
    manifest: Manifest
    imported: int
    verify: VerifyReport


# -- export ---------------------------------------------------------------------------------
def export_history(store: EventStore, out: Path, *, since: int = 0, progress: Progress | None = None) -> Manifest:
    """Write the events after `since`, up to the head as it is now, to `out`."""
    if since < 0:
        raise InputError("--since must be 0 or more", fix="pass a seq number from `masthead log`")
    last_seq, head_hash = store.head()
    if since > last_seq:
        raise InputError(f"--since {since} is past the end of the log (seq {last_seq})",
                         fix="pass a seq number from `masthead log`, or leave --since out")
    prev_hash = GENESIS_HASH if since == 0 else store.query(_HASH_AT, (since,))[0]["hash"]
    out = out.expanduser()
    if out.is_dir():
        raise InputError(f"--out {out} is a folder", fix="name a file, e.g. --out history.mhx")
    if not out.parent.is_dir():
        raise InputError(f"--out: no folder {out.parent}", fix="create the folder first or name another path")
    payload = out.with_name(out.name + ".events.partial")
    partial = out.with_name(out.name + ".partial")
    try:
        count, digest = _write_payload(store, payload, since, last_seq, progress)
        manifest = Manifest(source_backend=store.backend, since=since, prev_hash=prev_hash, first_seq=since + 1,
                            last_seq=last_seq, head_hash=head_hash if count else prev_hash, event_count=count,
                            payload_sha256=digest, masthead_version=__version__, created_at=utc_now())
        _write_archive(partial, manifest, payload)
        os.replace(partial, out)
    finally:
        payload.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return manifest


def _write_payload(store: EventStore, path: Path, since: int, last_seq: int,
                   progress: Progress | None) -> tuple[int, str]:
    """The events as gzip'd JSON Lines; returns (count, SHA-256 of the compressed bytes)."""
    count = 0
    cursor = since
    with path.open("wb") as sink:
        writer = _GzipWriter(sink)
        try:
            while rows := store.query(_ROWS, (cursor, last_seq, PAGE)):
                writer.write("".join(map(_event_line, rows)).encode("utf-8"))
                count += len(rows)
                cursor = rows[-1]["seq"]
                if progress is not None:
                    progress(count)
        finally:
            digest = writer.close()
        sink.flush()
        os.fsync(sink.fileno())
    return count, digest


class _GzipWriter:
    """Compresses, hashes and writes pages on a thread of its own. zlib and hashlib let go of
    the GIL while they work on a page, so this runs on the second core while the caller reads
    and formats the next one."""

    def __init__(self, sink: IO[bytes]):
        self._sink = sink
        self._digest = hashlib.sha256()
        # Level 1: the log is repetitive JSON, so the fastest level already shrinks it ~8x; higher
        # levels cost several times the CPU for a few percent.
        self._compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
        self._pages: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="masthead-export-gzip", daemon=True)
        self._thread.start()

    def write(self, page: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._pages.put(page)

    def close(self) -> str:
        """Wait for the last page; the SHA-256 of everything written."""
        self._pages.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()

    def _run(self) -> None:
        while (page := self._pages.get()) is not None:
            if self._error is None:  # after an error, the pages are only taken, so write() never blocks
                try:
                    self._emit(self._compressor.compress(page))
                except BaseException as exc:  # handed to the writing thread, raised there
                    self._error = exc
        if self._error is None:
            try:
                self._emit(self._compressor.flush())
            except BaseException as exc:
                self._error = exc

    def _emit(self, data: bytes) -> None:
        if data:
            self._digest.update(data)
            self._sink.write(data)


def _event_line(row: dict[str, Any]) -> str:
    # data and meta are stored as canonical JSON text: spliced in as they are, not parsed again.
    return (f'{{"data":{row["data"]},"hash":"{row["hash"]}","meta":{row["meta"]},"seq":{row["seq"]},'
            f'"stream":{_json_string(row["stream"])},"type":{_json_string(row["type"])},'
            f'"version":{row["version"]}}}\n')


def _write_archive(path: Path, manifest: Manifest, payload: Path) -> None:
    body = json.dumps(manifest.as_dict(), indent=2, sort_keys=True).encode("utf-8")
    with path.open("wb") as raw:
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size = len(body)
            info.mtime = int(payload.stat().st_mtime)
            archive.addfile(info, _BytesReader(body))
            archive.add(payload, arcname=PAYLOAD_NAME, filter=_anonymous)
        raw.flush()
        os.fsync(raw.fileno())


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # The exporting account's names are nobody's business in a file that travels.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class _BytesReader:
    def __init__(self, data: bytes):
        self._data = memoryview(data)

    def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return bytes(chunk)


def checked_chain(events: Iterable[StoredEvent], *, first_seq: int, prev_hash: str, where: str) -> Iterator[StoredEvent]:
    """`events` as they are, each after its seq and its hash (recomputed with the store's own
    `chain_hash` from the one before) are checked; IntegrityError at the first that is wrong."""
    expected_seq = first_seq
    for event in events:
        if event.seq != expected_seq:
            raise IntegrityError(f"{where}: event {expected_seq - first_seq + 1} has seq {event.seq},"
                                 f" expected {expected_seq}", fix="the file is damaged or was changed; make it again")
        digest = chain_hash(prev_hash, event.seq, event.stream, event.version, event.type,
                            canonical_json(event.data), canonical_json(event.meta.as_dict()))
        if digest != event.hash:
            raise IntegrityError(f"{where}: hash chain broken at seq {event.seq} ({event.type} on {event.stream})",
                                 fix="the file was changed after it was made; make it again")
        expected_seq, prev_hash = expected_seq + 1, digest
        yield event


# -- import ---------------------------------------------------------------------------------
def check_target(store: EventStore, manifest: Manifest, *, append: bool) -> tuple[int, str]:
    """The head the import goes after; StateError when the file does not start right there."""
    head = store.head()
    if not append:
        if head[0] != 0:
            raise StateError(f"the workspace's log is not empty ({head[0]:,} events)",
                             fix="import into a new workspace (masthead init DIR), or pass --append with an"
                                 f" export made with --since {head[0]} from the same history")
        if manifest.since != 0:
            raise StateError(f"the file starts after seq {manifest.since}; an empty workspace needs the whole log",
                             fix="export without --since")
    elif (manifest.since, manifest.prev_hash) != head:
        raise StateError(f"the file starts after seq {manifest.since}, the workspace's log ends at seq {head[0]}"
                         + (" of another history" if manifest.since == head[0] else ""),
                         fix=f"export from the source with --since {head[0]}, from the same history")
    return head


def import_history(store: EventStore, path: Path, *, append: bool = False,
                   progress: Progress | None = None) -> ImportReport:
    """`import_events`, then replay --verify."""
    manifest, imported = import_events(store, path, append=append, progress=progress)
    report = verify(store, progress)
    if not report.ok:
        raise IntegrityError(f"imported {imported:,} events, but replay --verify failed: {report.problem}",
                             fix="report this as a bug; the events are in the log as exported")
    return ImportReport(manifest=manifest, imported=imported, verify=report)


def import_events(store: EventStore, path: Path, *, append: bool = False,
                  progress: Progress | None = None) -> tuple[Manifest, int]:
    """Insert and project the events of `path` in one transaction, checking each one's seq and
    hash as it goes in: the transaction rolls back at the first bad one, and at a file that does
    not end as its manifest says. A large file is read and checked on a second core meanwhile
    (app/history_check.py). Returns the manifest and how many events went in."""
    manifest = read_manifest(path)
    head = check_target(store, manifest, append=append)
    with closing(checked_events(path, manifest)) as events:
        imported = store.import_hashed(events, after=head,
                                       progress=(lambda n: progress(n) if n % 100_000 == 0 else None)
                                       if progress is not None else None)
    return manifest, imported
