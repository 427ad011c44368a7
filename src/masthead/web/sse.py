"""The live stream: `GET /api/v1/stream` as Server-Sent Events.

Two kinds of message:

- `event: log` with `id: <seq>`: every event appended to the log, in seq order, each once.
  Resumption (`Last-Event-ID`, or `?since=`) covers these: the stream reads the log from that
  seq on, so a reconnect sees no gap and no duplicate. The first message, `event: ready`, carries
  the starting seq as its id, so even a client that saw no log event yet resumes correctly.
- `event: token` (no id): a chunk of model output while a step writes it. Tokens are not in
  the log, so they are not replayed on reconnect; the finished text arrives as a log event.

Appends by this process wake the streams at once through the store's `listeners` hook (only a
hint: the data always comes from the log). Appends by other processes are found by polling the
log every `POLL_SECONDS`, so the stream is complete whoever wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from masthead.events.model import StoredEvent
from masthead.events.store import EventStore
from masthead.runtime.ids import piece_id

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
BATCH = 200
TOKEN_BACKLOG = 5000  # per client; a client this far behind loses tokens, never log events
RETRY_MS = 2000


@dataclass(eq=False)  # identity, not value: each open stream is its own subscriber
class Subscriber:
    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    tokens: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=TOKEN_BACKLOG))

    def push(self, token: dict[str, Any]) -> None:
        self.tokens.append(token)
        self.wake.set()


def token_origin(task_id: str) -> dict[str, Any]:
    """Task ids are `<job>.<step>[.<channel>]` (runtime.ids); the piece id follows from them."""
    job, _, rest = task_id.partition(".")
    step, _, channel = rest.partition(".")
    return {"task_id": task_id, "step": step, "channel": channel or None,
            "piece_id": piece_id(job, channel) if channel else None}


class Broadcaster:
    """Fans appends and model tokens out to every open stream, from whichever thread made them."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self.closed = False

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def _each(self, action: str, payload: dict[str, Any] | None = None) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            callback = subscriber.wake.set if action == "wake" else (lambda s=subscriber: s.push(payload or {}))
            with contextlib.suppress(RuntimeError):  # that stream's loop already closed
                subscriber.loop.call_soon_threadsafe(callback)

    def on_append(self, events: Sequence[StoredEvent]) -> None:
        """The store's listener: runs after each commit, in the committing thread."""
        for event in events:
            if event.type in ("PieceDrafted", "PieceRevised", "ModelCallRecorded"):
                self._counts.pop(str(event.data.get("task_id")), None)
        self._each("wake")

    def publish_token(self, task_id: str, text: str) -> None:
        """`StepServices.on_text`: a chunk of a model's output while it is being written."""
        number = self._counts.get(task_id, 0)
        self._counts[task_id] = number + 1
        self._each("token", token_origin(task_id) | {"n": number, "text": text})

    def close(self) -> None:
        """End every stream (server shutdown): they finish their current message and stop."""
        self.closed = True
        self._each("wake")


def format_log(event: StoredEvent) -> str:
    data = json.dumps(event.as_dict(), ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.seq}\nevent: log\ndata: {data}\n\n"


def format_message(kind: str, payload: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def _read_after(store: EventStore, seq: int) -> list[StoredEvent]:
    return await anyio.to_thread.run_sync(lambda: list(store.read(since=seq, limit=BATCH)))


async def event_stream(store: EventStore, broadcaster: Broadcaster, since: int, *, follow: bool,
                       poll_seconds: float = POLL_SECONDS) -> AsyncIterator[str]:
    """Log events after `since`, then (if `follow`) live events and tokens until the client goes."""
    subscriber = broadcaster.subscribe()  # before the first read, so no append slips between
    cursor = since
    try:
        yield f"retry: {RETRY_MS}\n" + format_message("ready", {"since": since}, event_id=since)
        idle = 0.0
        while True:
            subscriber.wake.clear()
            while True:
                batch = await _read_after(store, cursor)
                for event in batch:
                    yield format_log(event)
                    cursor = event.seq
                if len(batch) < BATCH:
                    break
            while subscriber.tokens:
                yield format_message("token", subscriber.tokens.popleft())
            if not follow or broadcaster.closed:
                return
            try:
                await asyncio.wait_for(subscriber.wake.wait(), timeout=poll_seconds)
                idle = 0.0
            except TimeoutError:
                idle += poll_seconds
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ": keepalive\n\n"  # proxies close silent connections; also finds gone clients
    finally:
        broadcaster.unsubscribe(subscriber)


def resume_point(last_event_id: str | None, since: int | None, head: int) -> int:
    """Where a stream starts: Last-Event-ID (a reconnect) wins, then ?since=, else the log's head."""
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses (a 500).
    if last_event_id is not None and re.fullmatch(r"[0-9]{1,19}", last_event_id.strip()) \
            and int(last_event_id.strip()) <= head:
        return int(last_event_id.strip())  # an id past the head is not one we sent: ignore it
    if since is not None:
        return since
    return head
