"""The export file, read and checked: its manifest, and its events one by one with their seq and
hash checked (app/history.py writes the file and imports it; app/history_check.py runs this reader
in a helper process for a large file)."""

from __future__ import annotations

import hashlib
import json
import tarfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from masthead.errors import InputError, IntegrityError
from masthead.events.bulk import HashedEvent
from masthead.events.model import Meta, canonical_json, chain_hash, parse_json

FORMAT = "masthead-export"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
PAYLOAD_NAME = "events.jsonl.gz"
CHUNK = 1 << 20
_EVENT_KEYS = frozenset({"seq", "stream", "version", "type", "data", "meta", "hash"})


@dataclass(frozen=True)
class Manifest:
    source_backend: str
    since: int
    prev_hash: str  # the hash of event `since` (the genesis hash for a whole log): the chain starts there
    first_seq: int
    last_seq: int
    head_hash: str
    event_count: int
    payload_sha256: str
    masthead_version: str
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **self.__dict__}


def read_manifest(path: Path) -> Manifest:
    """The manifest of an export file; InputError for anything that is not one this version reads."""
    with _open_archive(path) as archive:
        raw = _member(archive, path, MANIFEST_NAME).read(CHUNK)
    try:
        data = json.loads(raw)
    except ValueError:
        raise InputError(f"{path}: {MANIFEST_NAME} is not JSON", fix="export the workspace again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is not a Masthead export", fix="pass a file written by `masthead export`")
    if data.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path}: export format {data.get('format_version')!r}, this Masthead reads"
                         f" {FORMAT_VERSION}", fix="import it with the Masthead version that wrote it, or newer")
    fields = {k: v for k, v in data.items() if k not in ("format", "format_version")}
    try:
        return Manifest(**fields)
    except TypeError as exc:
        raise InputError(f"{path}: the manifest's fields are wrong ({exc})", fix="export the workspace again") from None


def read_events(path: Path, manifest: Manifest) -> Generator[HashedEvent, None, None]:
    """The payload's events in order, each given out only after its seq and its hash (recomputed
    with the store's own `chain_hash` from the one before) are checked, with the canonical JSON
    texts its hash covers. After the last one: the payload's SHA-256, and the count and the head
    against the manifest. IntegrityError at the first problem, so an import that inserts them as
    they come (inside its transaction) rolls back at the first bad event."""
    expected_seq, prev_hash = manifest.first_seq, manifest.prev_hash
    metas = _MetaCache()
    for number, line in enumerate(_payload_lines(path, manifest), start=1):
        event = _parse_event(path, number, line, metas)
        if event.seq != expected_seq:
            raise IntegrityError(f"{path}: event {number} has seq {event.seq}, expected {expected_seq}",
                                 fix="the file is damaged or was changed; make it again")
        digest = chain_hash(prev_hash, event.seq, event.stream, event.version, event.type,
                            event.data_json, event.meta_json)
        if digest != event.hash:
            raise IntegrityError(f"{path}: hash chain broken at seq {event.seq} ({event.type} on {event.stream})",
                                 fix="the file was changed after it was made; make it again")
        expected_seq, prev_hash = expected_seq + 1, digest
        yield event
    count = expected_seq - manifest.first_seq
    if count != manifest.event_count or prev_hash != manifest.head_hash:
        raise IntegrityError(f"{path}: the file holds {count} events ending at hash {prev_hash[:12]}, the"
                             f" manifest says {manifest.event_count} ending at {manifest.head_hash[:12]}",
                             fix="the file is damaged or was changed; export the workspace again")


def _payload_lines(path: Path, manifest: Manifest) -> Iterator[bytes]:
    digest = hashlib.sha256()
    decompressor = zlib.decompressobj(31)
    rest = b""
    with _open_archive(path) as archive:
        member = _member(archive, path, PAYLOAD_NAME)
        while chunk := member.read(CHUNK):
            digest.update(chunk)
            try:
                lines = (rest + decompressor.decompress(chunk)).split(b"\n")
            except zlib.error:
                raise IntegrityError(f"{path}: {PAYLOAD_NAME} is not valid gzip",
                                     fix="the file is damaged; export the workspace again") from None
            rest = lines.pop()
            yield from lines
    if rest or not decompressor.eof:
        raise IntegrityError(f"{path}: {PAYLOAD_NAME} ends in the middle", fix="export the workspace again")
    if digest.hexdigest() != manifest.payload_sha256:
        raise IntegrityError(f"{path}: the SHA-256 of {PAYLOAD_NAME} does not match the manifest",
                             fix="the file was changed after export; export the workspace again")


class _MetaCache:
    """The events of one append share their meta: parsed and written out once per run of them."""

    def __init__(self) -> None:
        self.raw: Any = None
        self.meta: Meta | None = None
        self.json = ""

    def get(self, raw: Any) -> tuple[Meta, str]:
        if self.meta is None or raw != self.raw:
            meta = Meta.from_dict(raw)
            self.raw, self.meta, self.json = raw, meta, canonical_json(meta.as_dict())
        return self.meta, self.json


def _parse_event(path: Path, number: int, line: bytes, metas: _MetaCache) -> HashedEvent:
    try:
        raw = parse_json(line)
        if type(raw) is not dict or raw.keys() != _EVENT_KEYS or type(raw["data"]) is not dict:
            raise ValueError("fields")
        data = raw["data"]
        meta, meta_json = metas.get(raw["meta"])
        return HashedEvent(seq=int(raw["seq"]), stream=str(raw["stream"]), version=int(raw["version"]),
                           type=str(raw["type"]), data=data, meta=meta, hash=str(raw["hash"]),
                           data_json=canonical_json(data), meta_json=meta_json)
    except (ValueError, TypeError, KeyError):
        raise IntegrityError(f"{path}: line {number} of {PAYLOAD_NAME} is not an event",
                             fix="the file is damaged or was changed; export the workspace again") from None


def _open_archive(path: Path) -> tarfile.TarFile:
    path = path.expanduser()
    if not path.is_file():
        raise InputError(f"no export file at {path}", fix="pass a file written by `masthead export --out FILE`")
    try:
        return tarfile.open(path, mode="r:")
    except tarfile.TarError:
        raise InputError(f"{path} is not a Masthead export (not a tar archive)",
                         fix="pass a file written by `masthead export --out FILE`") from None


def _member(archive: tarfile.TarFile, path: Path, name: str) -> IO[bytes]:
    try:
        member = archive.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise InputError(f"{path} has no {name}", fix="pass a file written by `masthead export --out FILE`")
    return member
