"""Read models of people events: `users`, `approvals`, `escalations` (and decision rows).

Like every handler, these read only the event, so a replay rebuilds the same bytes.
"""

from __future__ import annotations

import json

from masthead.events.model import StoredEvent
from masthead.events.store import Transaction
from masthead.projections.read_models import _decision, handles


def _scope(value: list[str] | None) -> str | None:
    return None if value is None else json.dumps(sorted(value))


@handles("UserAdded")
def _user_added(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO users (name, role, projects, channels, email, token_id, password_id, added_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
        (d["name"], d["role"], _scope(d["projects"]), _scope(d["channels"]),
         json.dumps(d["email"], sort_keys=True) if d.get("email") else None, event.meta.at, event.meta.at),
    )


@handles("UserRoleChanged")
def _user_role_changed(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute("UPDATE users SET role = ?, projects = ?, channels = ?, updated_at = ? WHERE name = ?",
               (d["role"], _scope(d["projects"]), _scope(d["channels"]), event.meta.at, d["name"]))


@handles("UserRemoved")
def _user_removed(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("DELETE FROM users WHERE name = ?", (event.data["name"],))


@handles("UserTokenIssued")
def _user_token_issued(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("UPDATE users SET token_id = ?, updated_at = ? WHERE name = ?",
               (event.data["token_id"], event.meta.at, event.data["name"]))


@handles("UserPasswordSet")
def _user_password_set(tx: Transaction, event: StoredEvent) -> None:
    tx.execute("UPDATE users SET password_id = ?, updated_at = ? WHERE name = ?",
               (event.data["password_id"], event.meta.at, event.data["name"]))


@handles("ApprovalRecorded")
def _approval_recorded(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute("INSERT INTO approvals (seq, piece_id, version, actor, role, at) VALUES (?, ?, ?, ?, ?, ?)",
               (event.seq, d["piece_id"], d["version"], event.meta.actor, d["role"], event.meta.at))
    if not d["complete"]:  # a complete one is followed by ReviewApproved, which records the decision
        _decision(tx, event, d["piece_id"], d["version"], "approved_partly",
                  "still needed: " + ", ".join(d["missing"]))


@handles("ReviewEscalated")
def _review_escalated(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    tx.execute(
        "INSERT INTO escalations (piece_id, version, step, notify, via, status, detail, at)"
        " VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
        (d["piece_id"], d["version"], d["step"], d["notify"], d["via"], "sending" if d["via"] else "recorded",
         event.meta.at),
    )
    _decision(tx, event, d["piece_id"], d["version"], "escalated",
              f"waited {d['waited_minutes']:.0f} min; escalated to {d['notify']}")


def _notice(tx: Transaction, event: StoredEvent, status: str, detail: str) -> None:
    d = event.data
    tx.execute("UPDATE escalations SET status = ?, detail = ? WHERE piece_id = ? AND version = ? AND step = ?",
               (status, detail, d["piece_id"], d["version"], d["step"]))


@handles("EscalationNoticeSent")
def _notice_sent(tx: Transaction, event: StoredEvent) -> None:
    _notice(tx, event, "sent", event.data["location"])


@handles("EscalationNoticeFailed")
def _notice_failed(tx: Transaction, event: StoredEvent) -> None:
    _notice(tx, event, "failed", event.data["error"])


@handles("ApprovalWithdrawn")
def _approval_withdrawn(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    # The approval stops counting (approvals_given reads this table); the decision row keeps the history.
    tx.execute("DELETE FROM approvals WHERE seq = ?", (d["approval_seq"],))
    if d["completed"]:
        # Like a reopen: the piece goes back to its gate, which asks for review again.
        tx.execute("UPDATE pieces SET status = 'drafted', approved_version = NULL, updated_at = ? WHERE id = ?",
                   (event.meta.at, d["piece_id"]))
    if d["unscheduled"]:
        tx.execute("UPDATE pieces SET scheduled_at = NULL, scheduled_slot = NULL WHERE id = ?", (d["piece_id"],))
    _decision(tx, event, d["piece_id"], d["version"], "approval_withdrawn",
              f"undid the approval at seq {d['approval_seq']}")


@handles("ActionUndone")
def _action_undone(tx: Transaction, event: StoredEvent) -> None:
    d = event.data
    _decision(tx, event, d["piece_id"], d["version"], "undone", f"undid {d['action']} (seq {d['seq']})")
