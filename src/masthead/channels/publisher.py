"""The Publisher port: deliver one piece version once, keyed by its idempotency key.

A publisher is a class registered in the entry-point group `masthead.publishers` (the built-ins
too, see channels/publishers/registry.py). The outbox (runtime/outbox.py) records the intent
before `publish` and the receipt after; between the two a crash or a timeout leaves the outcome
unknown, and what happens next depends on how the publisher keeps a retry from posting twice:

- `SAFE_RETRY`: sending again with the same key cannot make a second post (Mastodon's
  Idempotency-Key, a Bluesky record key derived from the key, a file named after it), or
  `reconcile` answers for sure, so "not found" means "not made" (a Ghost or WordPress slug
  derived from the key): the outbox always reconciles before it sends again.
  `retry_window_seconds` bounds how long that holds (Mastodon forgets keys after an hour);
  past it the outbox calls `reconcile` first.
- `RECONCILE`: no such guarantee: `reconcile` looks for the post at the service; when it cannot
  tell (returns None) the publication goes to a person instead of being sent again.

Failures are told apart by type, because each needs a different answer: a service that said
"not now" (`PublisherBusy`), one that refused the credentials (`CredentialsRejected`), one that
refused the content (`PublicationRejected`), and one whose answer never came after the request
may have arrived (`OutcomeUnknown`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final, Literal, Protocol

from pydantic import BaseModel

from masthead.errors import MastheadError, ProviderError

SAFE_RETRY: Final = "safe_retry"
RECONCILE: Final = "reconcile"


@dataclass(frozen=True)
class Delivery:
    key: str
    piece_id: str
    version: int
    channel: str
    project: str
    text: str
    subject: str | None
    at: str
    # When the intent was first recorded: stable across retries, so anything derived from it
    # (a Bluesky record key, a createdAt) is the same on every attempt.
    requested_at: str = ""
    # A thread goes out as one delivery per part, each a reply to the one before (only to
    # publishers whose capabilities say `threads`): part k of n answers `reply_to` (part k-1)
    # under `thread_root` (part 1). Part 1, and a single post, reply to nothing.
    reply_to: Receipt | None = None
    thread_root: Receipt | None = None
    part: int = 1
    parts: int = 1
    # Who approved this version and when (None for auto and soft gates): documents carry them.
    approver: str | None = None
    approved_at: str | None = None
    # The recipients of this delivery (an outreach email goes to its contact alone); None: the
    # publisher's own list. Publishers that do not address people (posts, feeds) ignore it.
    to: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Receipt:
    """Where a publication went: `location` for people (a path or URL), and the service's own
    id and link when it has them."""

    location: str
    remote_id: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Capabilities:
    exactly_once: Literal["safe_retry", "reconcile"]
    retry_window_seconds: float | None = None  # None: a safe retry stays safe forever
    retract: bool = False
    threads: bool = False
    # The service's documented posting limit, as posts per minute: the default of
    # `[rate_limits."publisher:<name>"] requests_per_minute` when the operator sets none.
    requests_per_minute: float | None = None


@dataclass(frozen=True)
class Limits:
    """What the service itself says about a post's size (None: it does not say)."""

    max_characters: int | None = None
    characters_per_url: int | None = None


@dataclass(frozen=True)
class PublisherContext:
    """What a publisher may use besides its own settings."""

    name: str
    out_dir: Path  # the workspace's out/ folder
    environ: dict[str, str]


class Publisher(Protocol):
    name: str
    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    # The pydantic model of its `[publishers.<name>]` table (plugins validate their own).
    settings_model: ClassVar[type[BaseModel]]

    def publish(self, delivery: Delivery) -> Receipt:
        """Post once and say where it went, or raise one of the errors below."""
        ...

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        """After an unknown outcome: find the post at the service. None: it cannot be known."""
        ...

    def retract(self, receipt: Receipt) -> None:
        """Delete a delivered post, or raise PublicationRejected where the service cannot."""
        ...

    def limits(self) -> Limits:
        ...

    def check(self) -> str:
        """Verify the credentials against the service; return the account it names."""
        ...


class PublisherBusy(ProviderError):
    """The service answered "not now" (429, 5xx, unreachable) and did not take the post."""

    def __init__(self, message: str, *, retry_after: float | None = None, fix: str | None = None):
        super().__init__(message, transient=True, retry_after=retry_after, fix=fix)


class CredentialsRejected(MastheadError):
    """The service refused the credentials; `env` names the variable to renew."""

    def __init__(self, publisher: str, env: str, detail: str):
        self.env = env
        super().__init__(f"publisher {publisher}: the service refused the credential in ${env} ({detail})",
                         fix=f"renew it and set {env}; `masthead publishers check {publisher}` verifies it")


class PublicationRejected(MastheadError):
    """The service refused this content for good (too long, invalid): retrying will not help."""


class OutcomeUnknown(MastheadError):
    """The request may have reached the service, and its answer never came (timeout after
    sending, connection reset)."""
