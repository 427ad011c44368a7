"""People events: users with a role and a scope, their credentials (only the public half of a
token, never a secret), human approvals one by one, and escalations of waiting reviews.

Secrets never enter the log: a token is `mhu_<token_id>_<secret>`; the log keeps `token_id`,
the table `user_credentials` (outside the log) keeps a hash of the whole token.
"""

from __future__ import annotations

from typing import Literal

from masthead.events.types import EventData

Role = Literal["owner", "editor", "reviewer", "viewer"]
ROLES: tuple[Role, ...] = ("viewer", "reviewer", "editor", "owner")  # each may do what those before it may


class UserAdded(EventData):
    name: str
    role: Role
    projects: list[str] | None = None  # None: every project
    channels: list[str] | None = None  # None: every channel
    # {"subject", "sealed"}: the address encrypted with the person's key (app/personal.py)
    email: dict[str, str] | None = None


class UserRoleChanged(EventData):
    name: str
    role: Role
    projects: list[str] | None = None
    channels: list[str] | None = None


class UserRemoved(EventData):
    name: str


class UserTokenIssued(EventData):
    """A new token for the user; the one before it stops working."""

    name: str
    token_id: str


class UserPasswordSet(EventData):
    """A new desk password; `password_id` changes with it, so sessions logged in with the old
    one end."""

    name: str
    password_id: str


class ApprovalRecorded(EventData):
    """One person approved one exact version; `complete` when this approval completes what the
    channel needs (a `ReviewApproved` follows in the same transaction)."""

    piece_id: str
    version: int
    role: Role
    complete: bool
    missing: list[str] = []  # what is still needed after this approval, as the channel names it


class ReviewEscalated(EventData):
    """A review waited past a step of the project's `escalation:` list; recorded once per step
    and version, before any notice is sent (the intent: a notice is never sent twice)."""

    piece_id: str
    version: int
    step: int
    notify: str
    via: str | None
    waited_minutes: float


class EscalationNoticeSent(EventData):
    piece_id: str
    version: int
    step: int
    location: str


class EscalationNoticeFailed(EventData):
    """The notice could not be sent; it is not sent again by itself (the desk shows it)."""

    piece_id: str
    version: int
    step: int
    error: str


class PersonForgotten(EventData):
    """The key of one person's personal data was deleted (`masthead forget-person`): what it
    sealed in earlier events can no longer be read. Names the random subject id, never the person."""

    subject: str


class ApprovalWithdrawn(EventData):
    """A person's approval was taken back (undone at the desk): the `ApprovalRecorded` at
    `approval_seq` no longer counts. `completed`: it had approved the piece (which goes back to
    its gate and review); `unscheduled`: the time given with it is given back too."""

    piece_id: str
    version: int
    approval_seq: int
    completed: bool
    unscheduled: bool = False


class ActionUndone(EventData):
    """A person undid their own last action (`masthead undo`, the desk's Undo): `seq` names the
    action's first event, `action` what it was. Appended on stream `undo-<seq>` at version 0, in
    the same transaction as the events that undo it, so an action is undone at most once."""

    seq: int
    action: Literal["approve", "reject", "edit", "revert", "reopen"]
    piece_id: str
    version: int  # the piece's version the action was about
