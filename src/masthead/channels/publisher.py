"""The Publisher port: deliver one piece version once, keyed by its idempotency key.

`deliver` must be idempotent: called twice with the same key (a crash between delivery and
its confirmation event), it delivers once and returns the same location.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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


class Publisher(Protocol):
    name: str

    def deliver(self, delivery: Delivery) -> str:
        """Publish and return where it went (a path or URL)."""
        ...
