"""Escalation paths, and who a waiting review needs: the approvals in and missing, and who it
is escalated to.

A project's `escalation: [{after: 30m, notify: editor, via: mail}, {after: 4h, notify: owner}]`:
a review waiting past a step (counted from its review request, per version) is escalated once.
`ReviewEscalated` is appended first (the intent), then a notice goes through the publisher
named by `via`, keyed `escalation-<piece>-v<version>-<step>`, and its outcome is recorded
(`EscalationNoticeSent` or `EscalationNoticeFailed`; a failed notice is not sent again by
itself). Without `via` the escalation is only recorded and shown on the desk.
`masthead review escalate`, `masthead run` and `masthead serve` (with workers) check it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from masthead.app.desk import epoch
from masthead.app.workspace import Workspace
from masthead.channels.publisher import Delivery
from masthead.errors import MastheadError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.people_types import (
    EscalationNoticeFailed,
    EscalationNoticeSent,
    ReviewEscalated,
)
from masthead.projects import EscalationStep, project_from_spec
from masthead.runtime.approvals import approval_state
from masthead.runtime.steps import people_missing

WAITING_SQL = ("SELECT q.piece_id, q.version, q.since, p.project, p.channel, p.text, p.subject, j.spec"
               " FROM review_queue q JOIN pieces p ON p.id = q.piece_id"
               " LEFT JOIN projects j ON j.name = p.project ORDER BY q.since")


def _system() -> Meta:
    return Meta(actor="system", at=utc_now())


def escalate_due(ws: Workspace, now: float | None = None,
                 clock: Callable[[], float] = time.time) -> list[dict[str, Any]]:
    """Escalate every review that waited past a step it was not escalated for; one row each."""
    now = clock() if now is None else now
    done: list[dict[str, Any]] = []
    for row in ws.store.query(WAITING_SQL):
        if not row["spec"]:
            continue
        steps = project_from_spec(row["spec"]).escalation
        waited = max(0.0, now - epoch(row["since"]))
        seen = {r["step"] for r in ws.store.query(
            "SELECT step FROM escalations WHERE piece_id = ? AND version = ?", (row["piece_id"], row["version"]))}
        for index, step in enumerate(steps):
            if waited >= step.after_seconds and index not in seen:
                done.append(_escalate(ws, row, index, step, waited / 60))
    return done


def _escalate(ws: Workspace, row: dict[str, Any], index: int, step: EscalationStep, waited: float) -> dict[str, Any]:
    piece_id, version = row["piece_id"], row["version"]
    stream = stream_of("piece", piece_id)
    intent = ReviewEscalated(piece_id=piece_id, version=version, step=index, notify=step.notify, via=step.via,
                             waited_minutes=round(waited, 1))
    ws.store.append([intent.to_new(stream)], _system())
    result = {"piece_id": piece_id, "version": version, "step": index, "notify": step.notify, "via": step.via,
              "waited_minutes": round(waited, 1), "delivered": False, "detail": None}
    if step.via is None:
        return result
    text = (f"A {row['channel']} piece of {row['project']} ({piece_id} v{version}) has waited {waited:.0f} min"
            f" for review; escalated to {step.notify}. Read it with `masthead review show {piece_id}`.")
    delivery = Delivery(key=f"escalation-{piece_id}-v{version}-{index}", piece_id=piece_id, version=version,
                        channel=row["channel"], project=row["project"], text=text,
                        subject=f"Review waiting {waited:.0f} min: {piece_id}", at=utc_now())
    publisher = ws.publishers().get(step.via)
    try:
        if publisher is None:
            raise MastheadError(f"publisher {step.via!r} is not configured",
                                fix=f"add [publishers.{step.via}] to masthead.toml or change `via:`")
        receipt = publisher.publish(delivery)
    except MastheadError as exc:
        detail = ws.redact(str(exc))
        ws.store.append([EscalationNoticeFailed(piece_id=piece_id, version=version, step=index, error=detail)
                         .to_new(stream)], _system())
        return result | {"detail": detail}
    ws.store.append([EscalationNoticeSent(piece_id=piece_id, version=version, step=index, location=receipt.location)
                     .to_new(stream)], _system())
    return result | {"delivered": True, "detail": receipt.location}


def review_people(ws: Workspace, piece: dict[str, Any]) -> dict[str, Any]:
    """For the desk and `review show`: the approvals of the current version in and missing, and
    the escalations of it so far."""
    from masthead.app.commands import channel_settings_of

    settings = channel_settings_of(ws.store, piece)
    state = approval_state(ws.store, settings, piece["id"], piece["version"])
    missing = state.missing
    if not settings.needs_people and people_missing(ws.store, settings, piece["id"], piece["version"]) is None:
        missing = []
    escalations = ws.store.query("SELECT step, notify, via, status, detail, at FROM escalations"
                                 " WHERE piece_id = ? AND version = ? ORDER BY step", (piece["id"], piece["version"]))
    return {"needed": state.needed, "given": [{"name": n, "role": r} for n, r in state.given],
            "missing": missing, "escalations": escalations,
            "escalated_to": escalations[-1]["notify"] if escalations else None}
