"""What a channel needs before a version may publish, and which of it is in.

A channel needs `approvals` people (default 1) and, for each `approvers` entry, a different
person who is that user or holds that role or a higher one. Only approvals of the exact version
count (`approvals` read model, one row per `ApprovalRecorded`), given since the piece was last
rejected; each person counts once.
"""

from __future__ import annotations

from dataclasses import dataclass

from masthead.events.store import EventStore, Transaction
from masthead.projects import ChannelSettings

ROLE_ORDER = ("viewer", "reviewer", "editor", "owner")


@dataclass(frozen=True)
class ApprovalState:
    needed: int
    given: list[tuple[str, str]]  # (person, role), oldest first
    missing: list[str]  # what the channel still needs: role or user names, "1 more person"...

    @property
    def complete(self) -> bool:
        return not self.missing


def _meets(entry: str, person: str, role: str) -> bool:
    if entry in ROLE_ORDER:
        return ROLE_ORDER.index(role) >= ROLE_ORDER.index(entry)
    return entry == person


def _unmet(entries: list[str], people: list[tuple[str, str]]) -> list[str]:
    """The entries no assignment of distinct people can meet (few entries: a search is cheap)."""
    best: list[str] = list(entries)

    def search(index: int, free: list[tuple[str, str]], unmet: list[str]) -> None:
        nonlocal best
        if len(unmet) >= len(best):
            return
        if index == len(entries):
            best = list(unmet)
            return
        entry = entries[index]
        for i, (person, role) in enumerate(free):
            if _meets(entry, person, role):
                search(index + 1, free[:i] + free[i + 1:], unmet)
        search(index + 1, free, [*unmet, entry])

    search(0, people, [])
    return best


def missing_approvals(settings: ChannelSettings, given: list[tuple[str, str]]) -> list[str]:
    people = list(dict.fromkeys(given))  # each person once, in order
    unmet = _unmet(list(settings.approvers), people)
    # People who meet no entry still count toward `approvals`; unmet entries need people of their own.
    more = settings.approvals_needed - len(people) - len(unmet)
    return unmet + ([f"{more} more approval{'s' if more > 1 else ''}"] if more > 0 else [])


def approvals_given(store: EventStore | Transaction, piece_id: str, version: int) -> list[tuple[str, str]]:
    # A rejection voids the approvals before it (a reopened piece is approved afresh).
    rows = store.query("SELECT actor, role FROM approvals WHERE piece_id = ? AND version = ? AND seq >"
                       " (SELECT COALESCE(MAX(seq), 0) FROM decisions WHERE piece_id = ? AND decision = 'rejected')"
                       " ORDER BY seq", (piece_id, version, piece_id))
    seen: dict[str, str] = {}
    for row in rows:
        seen.setdefault(row["actor"].removeprefix("human:"), row["role"])
    return list(seen.items())


def approval_state(store: EventStore | Transaction, settings: ChannelSettings, piece_id: str,
                   version: int) -> ApprovalState:
    given = approvals_given(store, piece_id, version)
    return ApprovalState(settings.approvals_needed, given, missing_approvals(settings, given))
