"""The outbox, per publisher: intent, delivery with the publication key, confirmation.

Each event is appended on its own, at once, not with the task's completion: the intent must be
durable before anything is sent, and a confirmation must survive a later publisher of the same
channel failing (its task is retried, and must not send this one again).

A publication's status says what the next attempt may do:
- none or `failed` (the service answered and took nothing): record the intent, send.
- `requested`: an earlier attempt's outcome is unknown (a crash or a lost answer between send
  and confirmation). Reconcile first: ask the service whether the post exists. If it cannot
  say, send again only where that cannot post twice (`SAFE_RETRY` within its window);
  otherwise hand the publication to a person. Never a blind resend.
- `delivered`: nothing to do. `needs_human`: wait for the person, who settles it
  (`PublicationSettled`): as delivered at a URL, or as not published (`failed`: send again).

A thread is one publication per part (key `<publication key>/part-<i>`), delivered in order,
each replying to the one before; so every part has its own intent and confirmation, a retry
resumes at the first part not delivered, and a delivered part is never sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from masthead.channels.publisher import (
    RECONCILE,
    CredentialsRejected,
    Delivery,
    OutcomeUnknown,
    PublicationRejected,
    Publisher,
    PublisherBusy,
    Receipt,
)
from masthead.channels.threads import numbered, parts_of, whole_text
from masthead.errors import ConfigError, ProviderError
from masthead.events.model import ANY_VERSION, Meta, stream_of
from masthead.events.store import EventStore
from masthead.events.types import (
    PublicationDelivered,
    PublicationFailed,
    PublicationNeedsHuman,
    PublicationRequested,
)
from masthead.runtime.guards import Deferral, Guards
from masthead.runtime.ids import publication_key

# A publication waiting for renewed credentials is tried again this often.
CREDENTIALS_RECHECK_SECONDS = 300.0

T = TypeVar("T")


def publication_key_for(piece: str, version: int, channel: str, publisher: str,
                        to: tuple[str, ...] | None = None) -> str:
    """The idempotency key of one piece version on one channel through one publisher, and to
    `to` when the delivery names its recipients (one key per recipient list, so the same text
    can never reach a second address under the first one's key). The `file` publisher keeps
    the key it had before a channel could have several publishers."""
    key = publication_key(piece, version, channel)
    key = key if publisher == "file" else f"{key}:{publisher}"
    return key if not to else f"{key}:to={','.join(sorted(address.casefold() for address in to))}"


def part_key(key: str, part: int) -> str:
    """The publication key of part `part` of a thread published under `key`."""
    return f"{key}/part-{part}"


@dataclass(frozen=True)
class Waiting:
    """The publication cannot go now: `until` None means a person must act first."""

    reason: str
    until: float | None


@dataclass
class Outbox:
    store: EventStore
    guards: Guards
    meta: Callable[[], Meta]
    redact: Callable[[str], str]
    clock: Callable[[], float] = time.time

    def deliver_piece(self, name: str, publisher: Publisher, delivery: Delivery, *, thread: bool) -> Receipt | Waiting:
        """Deliver a piece version: a thread (`thread`, and a text of several parts) part by part as a
        reply chain where the publisher can thread, else as one text; returns the first post's receipt."""
        parts = numbered(parts_of(delivery.text)) if thread else [delivery.text]
        if len(parts) < 2:
            return self.deliver(name, publisher, delivery)
        if not publisher.capabilities.threads:
            return self.deliver(name, publisher, replace(delivery, text=whole_text(delivery.text)))
        root: Receipt | None = None
        previous: Receipt | None = None
        for index, text in enumerate(parts, start=1):
            part = replace(delivery, key=part_key(delivery.key, index), text=text, part=index, parts=len(parts),
                           reply_to=previous, thread_root=root)
            result = self.deliver(name, publisher, part)
            if isinstance(result, Waiting):
                return result  # the later parts wait too: each must answer the one before
            root, previous = root or result, result
        assert root is not None
        return root

    def deliver(self, name: str, publisher: Publisher, delivery: Delivery) -> Receipt | Waiting:
        try:
            return self._deliver(name, publisher, delivery)
        except PublisherBusy as exc:
            if exc.retry_after is None:
                raise  # a transient failure: the worker retries with backoff
            # A 429's Retry-After is honoured: the task waits until then (not a failed attempt).
            raise Deferral("waiting_rate_limit", f"{self.redact(exc.message)}; the service asked to wait "
                           f"{exc.retry_after:g} s", self.clock() + exc.retry_after) from exc
        except (CredentialsRejected, ConfigError) as exc:
            # Refused or missing credentials (while sending or while looking for an earlier
            # post): the publication waits for the operator to renew them.
            return Waiting(self.redact(str(exc)), self.clock() + CREDENTIALS_RECHECK_SECONDS)
        except OutcomeUnknown as exc:
            # Lost an answer while looking (a read): nothing was posted by it; look again later.
            raise ProviderError(exc.message, transient=True) from None

    def _deliver(self, name: str, publisher: Publisher, delivery: Delivery) -> Receipt | Waiting:
        row = self._row(delivery.key)
        if row is not None and row["status"] == "delivered":
            return Receipt(location=row["location"], remote_id=row["remote_id"], url=row["url"])
        if row is not None and row["status"] == "needs_human":
            return Waiting(f"publication {delivery.key} via {name} needs a person: {row['reason']}", None)
        unknown = row is not None and row["status"] == "requested"
        if not unknown:
            intent = PublicationRequested(key=delivery.key, piece_id=delivery.piece_id, version=delivery.version,
                                          channel=delivery.channel, publisher=name)
            self._append(intent, delivery.key, 0 if row is None else ANY_VERSION)
            row = self._row(delivery.key)
        assert row is not None
        delivery = replace(delivery, requested_at=row["requested_at"])
        if unknown:
            found = self._guarded(name, lambda: publisher.reconcile(delivery))
            if found is not None:
                return self._confirm(delivery.key, found)
            if not self._resend_is_safe(publisher, row["requested_at"]):
                return self._to_person(name, delivery.key, "an earlier send's outcome is unknown")
        return self._send(name, publisher, delivery)

    def _send(self, name: str, publisher: Publisher, delivery: Delivery) -> Receipt | Waiting:
        try:
            receipt = self._guarded(name, lambda: publisher.publish(delivery))
        except OutcomeUnknown as exc:
            if publisher.capabilities.exactly_once == RECONCILE:
                found = self._guarded(name, lambda: publisher.reconcile(delivery))
                if found is not None:
                    return self._confirm(delivery.key, found)
                return self._to_person(name, delivery.key, exc.message)
            # Sending again cannot post twice: retry (the status stays `requested`, so the
            # next attempt looks for the post first).
            raise ProviderError(exc.message, transient=True) from None
        except (CredentialsRejected, ConfigError, PublisherBusy, PublicationRejected, Deferral) as exc:
            # Nothing was taken (the service said so, or a guard held the send back): the
            # next attempt sends again instead of treating the intent as an unknown outcome.
            self._append(PublicationFailed(key=delivery.key, error=self.redact(str(exc))), delivery.key)
            raise
        return self._confirm(delivery.key, receipt)

    def _guarded(self, name: str, call: Callable[[], T]) -> T:
        """The provider guards, per publisher: its breaker and its `[rate_limits."publisher:<name>"]`."""
        endpoint = f"publisher:{name}"
        breaker = self.guards.breaker(endpoint)
        allowed, transition = breaker.allow()
        self.guards.record_transition(endpoint, transition, "", self.meta)
        if not allowed:
            raise Deferral("waiting_rate_limit", f"publisher {name}: circuit open after repeated failures",
                           self.clock() + breaker.retry_in())
        permit, wait, why = self.guards.limiter(endpoint).try_acquire(0)
        if permit is None:
            raise Deferral("waiting_rate_limit", f"rate limit {endpoint}: {why}", self.clock() + wait)
        try:
            result = call()
        except (PublisherBusy, OutcomeUnknown) as exc:
            self.guards.record_transition(endpoint, breaker.record_failure(), self.redact(str(exc)), self.meta)
            raise
        finally:
            permit.settle(0)
        self.guards.record_transition(endpoint, breaker.record_success(), "", self.meta)
        return result

    def _resend_is_safe(self, publisher: Publisher, requested_at: str) -> bool:
        capabilities = publisher.capabilities
        if capabilities.exactly_once == RECONCILE:
            return False
        window = capabilities.retry_window_seconds
        age = self.clock() - datetime.fromisoformat(requested_at.replace("Z", "+00:00")).timestamp()
        return window is None or age < window

    def _confirm(self, key: str, receipt: Receipt) -> Receipt:
        delivered = PublicationDelivered(key=key, location=receipt.location, remote_id=receipt.remote_id,
                                         url=receipt.url)
        self._append(delivered, key)
        return receipt

    def _to_person(self, name: str, key: str, why: str) -> Waiting:
        reason = (f"may have been delivered by {name} ({self.redact(why)}): check the service for it;"
                  " Masthead will not send it again by itself")
        self._append(PublicationNeedsHuman(key=key, reason=reason), key)
        return Waiting(f"publication {key} needs a person: {reason}", None)

    def _append(self, event: Any, key: str, expected: int = ANY_VERSION) -> None:
        self.store.append([event.to_new(stream_of("publication", key), expected)], self.meta())

    def _row(self, key: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM publications WHERE idempotency_key = ?", (key,))
        return rows[0] if rows else None
