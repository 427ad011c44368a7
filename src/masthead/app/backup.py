"""`masthead backup DIR` and `masthead restore DIR`.

SQLite: SQLite's online backup API copies the database as of one moment while writers go on
(WAL mode: the copy is one read transaction, which never blocks them); the copy's hash chain is
checked before the backup is called done. Postgres: an export file (app/history.py). Either
way DIR gets a `manifest.json` that names the file, its SHA-256, the schema and the head.

A backup also keeps what the log needs beside it and an export does not carry (an export is
meant to travel): the keys of personal data (`subject_keys`; without them every sealed value of
the restored log reads "[forgotten]") and the hashes of users' tokens and passwords
(`user_credentials`; without them nobody can log in). A SQLite backup holds them in its file;
an export-based backup writes them to `outside_log.json` (mode 0600) beside it. A restore puts
them back whichever backend it restores into.

A backup is written into `DIR.partial-PID` and renamed to DIR at the end: a crash never leaves
a DIR that looks finished. A restore goes into a workspace whose log is empty, checks the
manifest, the file's SHA-256, the schema and the whole chain before it writes, and ends with
`replay --verify`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from masthead import __version__
from masthead.app.history import Progress, checked_chain, export_history, import_history
from masthead.errors import InputError, IntegrityError, StateError
from masthead.events.migrate import migrations_for
from masthead.events.model import GENESIS_HASH, StoredEvent, event_from_row, utc_now
from masthead.events.store import EventStore
from masthead.projections.replay import VerifyReport, verify

FORMAT = "masthead-backup"
FORMAT_VERSION = 1
SQLITE_FILE = "masthead.db"
EXPORT_FILE = "history.mhx"
_SCHEMA = "SELECT MAX(number) AS n FROM schema_migrations"
_PAGE = "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT 5000"
KEPT_TABLES = ("subject_keys", "user_credentials")  # outside the log, needed to read it and to log in
KEPT_FILE = "outside_log.json"


@dataclass(frozen=True)
class BackupManifest:
    kind: str  # "sqlite" (a database file) or "export" (an export file)
    file: str
    sha256: str
    source_backend: str
    schema_version: int
    last_seq: int
    head_hash: str
    masthead_version: str
    created_at: str
    kept_sha256: str | None = None  # SHA-256 of KEPT_FILE (export-based backups; older ones have none)


# -- backup ---------------------------------------------------------------------------------
def backup(store: EventStore, folder: Path, progress: Progress | None = None) -> BackupManifest:
    folder = folder.expanduser().resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder} exists and is not an empty folder",
                         fix="name a new folder, e.g. backups/$(date +%F-%H%M)")
    if not folder.parent.is_dir():
        raise InputError(f"no folder {folder.parent}", fix="create it first (mkdir -p)")
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        if store.backend == "sqlite":
            manifest = _backup_sqlite(store, partial)
        else:
            exported = export_history(store, partial / EXPORT_FILE, progress=progress)
            kept = _write_kept(store, partial / KEPT_FILE)
            manifest = replace(_manifest("export", partial / EXPORT_FILE, store.backend, _schema_of(store),
                                         exported.last_seq, exported.head_hash), kept_sha256=kept)
        (partial / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n", "utf-8")
        if folder.exists():
            folder.rmdir()  # empty, checked above
        os.replace(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


def _backup_sqlite(store: EventStore, folder: Path) -> BackupManifest:
    from masthead.events.sqlite_store import SqliteEventStore

    assert isinstance(store, SqliteEventStore)
    target = folder / SQLITE_FILE
    with closing(store.connect()) as source, closing(sqlite3.connect(target)) as copy:
        # One step (pages=-1): the whole database as of one read transaction, so the copy is
        # consistent while writers go on; in WAL mode they are not blocked meanwhile.
        source.backup(copy)
        # A self-contained file: no -wal or -shm beside it, and readable without write access.
        copy.execute("PRAGMA journal_mode=DELETE")
    schema, (last_seq, head_hash) = _check_sqlite_file(target)
    return _manifest("sqlite", target, store.backend, schema, last_seq, head_hash)


def _write_kept(store: EventStore, path: Path) -> str:
    """The tables outside the log, as JSON readable by the owner alone; its SHA-256."""
    rows = {table: store.query(f"SELECT * FROM {table}") for table in KEPT_TABLES}  # table names are ours, never input
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(rows, handle, sort_keys=True)
    return _sha256(path)


def _read_kept(folder: Path, manifest: BackupManifest) -> dict[str, list[dict[str, Any]]]:
    """The kept tables of an export-based backup, checked against the manifest before anything is written."""
    if manifest.kept_sha256 is None:
        return {}
    path = folder.expanduser() / KEPT_FILE
    if not path.is_file() or _sha256(path) != manifest.kept_sha256:
        raise IntegrityError(f"{path} is missing or its SHA-256 does not match the manifest",
                             fix="the backup is damaged; restore from another one")
    kept: dict[str, list[dict[str, Any]]] = json.loads(path.read_text("utf-8"))
    return {table: kept.get(table, []) for table in KEPT_TABLES}


def _sqlite_file_kept(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The kept tables of a SQLite backup file (one from before a table existed has none of it)."""
    with closing(_open_read_only(path)) as conn:
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {table: [dict(row) for row in conn.execute(f"SELECT * FROM {table}")]
                for table in KEPT_TABLES if table in present}


def _put_back(store: EventStore, kept: dict[str, list[dict[str, Any]]]) -> None:
    for table, rows in kept.items():
        for row in rows:
            columns = ", ".join(row)
            store.execute_unlogged(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' for _ in row)})",
                                   tuple(row.values()))


def _manifest(kind: str, path: Path, backend: str, schema: int, last_seq: int, head_hash: str) -> BackupManifest:
    return BackupManifest(kind=kind, file=path.name, sha256=_sha256(path), source_backend=backend,
                          schema_version=schema, last_seq=last_seq, head_hash=head_hash,
                          masthead_version=__version__, created_at=utc_now())


def _schema_of(store: EventStore) -> int:
    return int(store.query(_SCHEMA)[0]["n"] or 0)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# -- reading a backed-up SQLite file ------------------------------------------------------------
def _open_read_only(path: Path) -> sqlite3.Connection:
    # immutable: a backup never changes, so no locks and no -shm file beside it.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _sqlite_file_events(path: Path) -> Iterator[StoredEvent]:
    with closing(_open_read_only(path)) as conn:
        cursor = 0
        while rows := conn.execute(_PAGE, (cursor,)).fetchall():
            for row in rows:
                yield event_from_row(dict(row))
            cursor = rows[-1]["seq"]


def _check_sqlite_file(path: Path) -> tuple[int, tuple[int, str]]:
    """The file's schema number and head, after checking its whole hash chain."""
    try:
        with closing(_open_read_only(path)) as conn:
            schema = int(conn.execute(_SCHEMA).fetchone()[0] or 0)
    except sqlite3.DatabaseError:
        raise IntegrityError(f"{path} is not a Masthead database", fix="restore from another backup") from None
    head = (0, GENESIS_HASH)
    for event in checked_chain(_sqlite_file_events(path), first_seq=1, prev_hash=GENESIS_HASH, where=str(path)):
        head = (event.seq, event.hash)
    return schema, head


# -- restore --------------------------------------------------------------------------------
def read_backup_manifest(folder: Path) -> BackupManifest:
    path = folder.expanduser() / "manifest.json"
    if not path.is_file():
        raise InputError(f"no backup in {folder} (no manifest.json)", fix="pass a folder written by `masthead backup`")
    try:
        raw: dict[str, Any] = json.loads(path.read_text("utf-8"))
        if raw.pop("format", FORMAT) != FORMAT or raw.pop("format_version", FORMAT_VERSION) != FORMAT_VERSION:
            raise ValueError("format")
        manifest = BackupManifest(**raw)
    except (ValueError, TypeError):
        raise InputError(f"{path} is not a backup manifest this Masthead reads",
                         fix="restore it with the Masthead version that wrote it, or newer") from None
    if manifest.kind not in ("sqlite", "export") or Path(manifest.file).name != manifest.file:
        raise InputError(f"{path}: kind {manifest.kind!r}, file {manifest.file!r} are not a backup's",
                         fix="pass a folder written by `masthead backup`")
    return manifest


def restore(store: EventStore, folder: Path, progress: Progress | None = None) -> VerifyReport:
    """Restore the backup in `folder` into `store`, whose log must be empty; verified at the end."""
    manifest = read_backup_manifest(folder)
    file = folder.expanduser() / manifest.file
    if not file.is_file() or _sha256(file) != manifest.sha256:
        raise IntegrityError(f"{file} is missing or its SHA-256 does not match the manifest",
                             fix="the backup is damaged; restore from another one")
    known = max(m.number for m in migrations_for(store.backend))
    schema = manifest.schema_version
    if manifest.kind == "sqlite":
        schema, head = _check_sqlite_file(file)  # the file's own word, and the whole chain, before writing
        if head != (manifest.last_seq, manifest.head_hash):
            raise IntegrityError(f"{file} ends at seq {head[0]}, the manifest says {manifest.last_seq}",
                                 fix="the backup is damaged; restore from another one")
    if schema > known:
        raise StateError(f"the backup's schema is migration {schema}, newer than this Masthead's ({known})",
                         fix=f"upgrade Masthead to {manifest.masthead_version} or later and restore again")
    if store.head()[0] != 0:
        raise StateError(f"the workspace's log is not empty ({store.head()[0]:,} events)",
                         fix="restore into a new workspace (masthead init DIR)")
    if manifest.kind == "export":
        kept = _read_kept(folder, manifest)
        report = import_history(store, file, progress=progress).verify
        _put_back(store, kept)
        return report
    if store.backend == "sqlite":
        _copy_into_sqlite(store, file)  # the kept tables come with the file
        store.migrate()  # a backup from an older version: bring it to this version's schema
    else:
        events = checked_chain(_sqlite_file_events(file), first_seq=1, prev_hash=GENESIS_HASH, where=str(file))
        store.import_hashed(events, after=(0, GENESIS_HASH))
        _put_back(store, _sqlite_file_kept(file))
    report = verify(store, progress)
    if not report.ok:
        raise IntegrityError(f"restored, but replay --verify failed: {report.problem}",
                             fix="restore from another backup, or rebuild the read models (masthead replay --rebuild)")
    return report


def _copy_into_sqlite(store: EventStore, file: Path) -> None:
    from masthead.events.sqlite_store import SqliteEventStore

    assert isinstance(store, SqliteEventStore)
    # The backup API writes the pages into the live database through SQLite's own locking: other
    # connections see the old database or the new one, never a mix (a file copy could tear).
    with store.write_lock, closing(_open_read_only(file)) as source, closing(store.connect()) as target:
        if target.execute("SELECT 1 FROM events LIMIT 1").fetchone():
            raise StateError("the workspace's log stopped being empty", fix="restore into a new workspace")
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
