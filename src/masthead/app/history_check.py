"""Checking an export file on a second core while the import inserts and projects on the first.

An import does two kinds of work per event: reading and checking it (gunzip, JSON, the canonical
texts, the chain hash) and writing it (the insert, the read models). The writing has to happen
on the one connection that holds the transaction; the reading does not. For a large file a
helper process runs `history.read_events` (every check, the same errors) and sends the checked
events' rows over a pipe, in batches; the importing process only parses each event's data
again for the projector. An error the helper finds travels over the pipe and is raised in the
importing process, inside its transaction, which rolls back: nothing is written, as with the
one-process reader. If the importing process dies, the helper's next send fails and it exits.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any

from masthead.app.history_file import Manifest, read_events
from masthead.errors import InputError, IntegrityError, MastheadError
from masthead.events.bulk import HashedEvent, hashed_event
from masthead.events.model import Meta

BATCH = 2_000
# Below this many events, starting a process (about 0.3 s) costs more than it saves.
HELPER_FROM = 50_000
_ERRORS: dict[str, type[MastheadError]] = {"IntegrityError": IntegrityError, "InputError": InputError}
# Each message: its length, then a pickle of (kind, payload), written by our own helper from
# strings and numbers (never bytes from the file as a pickle).
_FRAME = struct.Struct("!Q")
_HELPER = "from masthead.app.history_check import helper_main; helper_main()"


def checked_events(path: Path, manifest: Manifest) -> Generator[HashedEvent, None, None]:
    """`history_file.read_events(path, manifest)`: the same events and the same errors, read and
    checked in a helper process when the file holds at least HELPER_FROM events."""
    if manifest.event_count < HELPER_FROM:
        return read_events(path, manifest)
    return _from_helper(path, manifest)


def _from_helper(path: Path, manifest: Manifest) -> Generator[HashedEvent, None, None]:
    # A process of its own (not a fork: this one holds SQLite connections and threads), on the
    # modules this process imports.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(entry for entry in sys.path if entry)}
    helper = subprocess.Popen([sys.executable, "-c", _HELPER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env)
    assert helper.stdin is not None and helper.stdout is not None
    try:
        helper.stdin.write(json.dumps(manifest.as_dict()).encode("utf-8"))
        helper.stdin.close()
        yield from _received(helper.stdout)
    finally:
        helper.stdout.close()  # if we stopped early (an error while inserting), its next send fails
        try:
            helper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()


def _received(stream: IO[bytes]) -> Iterator[HashedEvent]:
    metas: dict[str, Meta] = {}
    while True:
        header = stream.read(_FRAME.size)
        if len(header) < _FRAME.size:
            raise IntegrityError("the process checking the export file stopped without an answer",
                                 fix="import again; if it happens again, look at the machine's memory")
        kind, payload = pickle.loads(stream.read(_FRAME.unpack(header)[0]))
        if kind == "end":
            return
        if kind == "error":
            name, message, fix = payload
            raise _ERRORS.get(name, IntegrityError)(message, fix=fix)
        for seq, stream_name, version, type_, data_json, meta_json, hash_ in payload:
            yield hashed_event(seq, stream_name, version, type_, data_json, meta_json, hash_, metas)


def helper_main() -> None:
    """The helper: the file named by argv[1], whose manifest comes on stdin, checked; its events'
    rows to stdout in batches, then "end", or the first error."""
    fields = json.loads(sys.stdin.buffer.read())
    fields.pop("format", None)
    fields.pop("format_version", None)
    out = sys.stdout.buffer

    def send(kind: str, payload: Any) -> None:
        body = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_FRAME.pack(len(body)))
        out.write(body)
        out.flush()

    try:
        batch: list[tuple[Any, ...]] = []
        for event in read_events(Path(sys.argv[1]), Manifest(**fields)):
            batch.append((event.seq, event.stream, event.version, event.type, event.data_json,
                          event.meta_json, event.hash))
            if len(batch) == BATCH:
                send("rows", batch)
                batch = []
        if batch:
            send("rows", batch)
        send("end", None)
    except MastheadError as exc:
        send("error", (type(exc).__name__, exc.message, exc.fix))
    except BrokenPipeError:
        # The importing process stopped reading (it failed, or it is gone): nothing to tell. What
        # is left in stdout's buffer goes nowhere, instead of failing again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
