"""Undo of a person's own last action, for a short time after it (the desk's Undo, `masthead undo`).

The last action is read from the log, never from a server's memory, so it survives a restart and
is the same for every `serve` process: the events one command appends share one `meta` (actor
and time), so a person's newest event and the events just before it with the same meta are
their last action, named by its first event's `seq`.

Undoable, each undone by the reversible actions that exist, in one transaction with an
`ActionUndone` record on stream `undo-<seq>` at version 0 (so an action is undone at most once):

- approve (with or without `--at`/`--next-slot`, or one approval of several):
  `ApprovalWithdrawn`; a piece it had approved goes back to its gate and review (its gate and
  publish steps run again) and gives back the time chosen with it. Refused once a publication
  of the piece exists: undo cannot take a post back (`masthead piece retract` does).
- reject: reopened (`ReviewReopened`); approvals before the rejection do not count again.
- edit, revert: a new version equal to the one before it (`PieceRevised` of kind `revert`).
- reopen: rejected again (`ReviewRejected`).

Not undoable: moving an approved piece's time, refine, complete, retract, settle, adding a
signal, and an undo itself. Refused (nothing written): an action of someone else (403), a
second undo of the same action, an undo after the window or after a later action of the same
person, and an undo after a later action on the same piece by anyone (409).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from masthead.app import commands
from masthead.app.desk import epoch, piece_label
from masthead.app.people import principal_of
from masthead.app.permissions import PermissionDenied, Principal, authorize
from masthead.app.workspace import Workspace
from masthead.errors import NotFoundError, StateError
from masthead.events.model import Meta, NewEvent, parse_json, stream_of, utc_now
from masthead.events.people_types import ActionUndone, ApprovalWithdrawn
from masthead.events.store import EventStore, Transaction
from masthead.personal_data import open_piece, open_pieces
from masthead.runtime.jobs import reopen_events, schedule

UNDO_WINDOW_SECONDS = 120.0
UNDOABLE = ("approve", "reject", "edit", "revert", "reopen")
# A command takes its time when it starts and appends a moment later (an edit runs its checks
# in between): a look back through the log goes this much further than the window.
APPEND_SLACK_SECONDS = 60.0
SCAN_ROWS = 2000  # events read per query when walking back from the head
GROUP_SPAN = 500  # one command appends fewer events than this

_FIRST_EVENT = {"ApprovalRecorded": "approve", "ReviewRejected": "reject", "ReviewReopened": "reopen"}
_NOUNS = {"approve": "approval", "reject": "rejection", "edit": "edit", "revert": "revert", "reopen": "reopening"}


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    stream: str
    type: str
    actor: str
    at: str


@dataclass(frozen=True)
class Action:
    """One command's events in the log, as an undo sees them."""

    seq: int  # the first event: what an undo names
    last_seq: int
    action: str | None  # one of UNDOABLE, or None when it cannot be undone
    kind: str  # the first event's type (what a refusal names)
    actor: str
    at: str
    piece_id: str | None
    version: int | None
    data: dict[str, dict[str, Any]]  # event type -> data, of the events an undo reads

    @property
    def until(self) -> float:
        """Unix time after which the action can no longer be undone."""
        return epoch(self.at) + UNDO_WINDOW_SECONDS

    @property
    def person(self) -> str:
        return self.actor.removeprefix("human:")


@dataclass(frozen=True)
class Offer:
    """What the desk offers to undo: the person's last action while it may still be undone."""

    seq: int
    action: str
    what: str  # "approval of newsletter piece 'Tallybook 3.2 ...' v2"
    piece_id: str
    until: float

    @property
    def until_label(self) -> str:
        return datetime.fromtimestamp(self.until, UTC).strftime("%H:%M:%S UTC")

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "action": self.action, "what": self.what, "piece_id": self.piece_id,
                "until": datetime.fromtimestamp(self.until, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}


@dataclass(frozen=True)
class Undone:
    seq: int
    action: str
    piece_id: str
    status: str  # the piece's status right after
    message: str  # "took back your approval of ..."


# -- reading the log ----------------------------------------------------------------------------
def _logged(row: dict[str, Any]) -> LoggedEvent:
    meta = parse_json(row["meta"])
    return LoggedEvent(int(row["seq"]), row["stream"], row["type"], meta["actor"], meta["at"])


def _range(ws: Workspace, low: int, high: int, actor: str | None = None) -> list[LoggedEvent]:
    """Events with low < seq <= high, oldest first (meta only: data is read for few of them);
    with `actor` ("human:" for every person), only the events of that actor."""
    sql = "SELECT seq, stream, type, meta FROM events WHERE seq > ? AND seq <= ?"
    params: tuple[Any, ...] = (low, high)
    if actor is not None:
        # Canonical meta starts with its actor: `{"actor":"human:rita",...`. LIKE narrows the rows
        # before they are parsed (its `_` matches any character and SQLite's ignores case: the
        # exact test is below).
        sql += " AND meta LIKE ?"
        params = (low, high, '{"actor":"' + actor + ("%" if actor.endswith(":") else '"%'))
    events = [_logged(row) for row in ws.store.query(sql + " ORDER BY seq", params)]
    if actor is None:
        return events
    return [e for e in events if (e.actor.startswith(actor) if actor.endswith(":") else e.actor == actor)]


def _head(ws: Workspace) -> int:
    return int(ws.store.query("SELECT MAX(seq) AS s FROM events")[0]["s"] or 0)


def _at(ws: Workspace, seq: int) -> float:
    rows = ws.store.query("SELECT seq, stream, type, meta FROM events WHERE seq = ?", (seq,))
    return epoch(_logged(rows[0]).at) if rows else 0.0


def _newest_of(ws: Workspace, actor: str, stop_before: float) -> LoggedEvent | None:
    """The actor's newest event, looking back from the head to events older than `stop_before`
    (unix time); None when they have none since then."""
    high = _head(ws)
    while high > 0:
        low = max(0, high - SCAN_ROWS)
        own = _range(ws, low, high, actor)
        if own:
            return own[-1]
        if _at(ws, low + 1) < stop_before:
            return None
        high = low
    return None


def _data(ws: Workspace, seqs: list[int]) -> dict[int, dict[str, Any]]:
    if not seqs:
        return {}
    marks = ",".join("?" * len(seqs))
    rows = ws.store.query(f"SELECT seq, data FROM events WHERE seq IN ({marks})", seqs)
    return {int(row["seq"]): parse_json(row["data"]) for row in rows}


def _describe(ws: Workspace, group: list[LoggedEvent]) -> Action:
    """What a command's events (oldest first) were, as an undoable action or not."""
    first = group[0]
    data = _data(ws, [e.seq for e in group if e.type in ("ApprovalRecorded", "ReviewApproved", "ReviewRejected",
                                                           "ReviewReopened", "PieceRevised", "PublicationScheduled")])
    by_type = {e.type: data[e.seq] for e in reversed(group) if e.seq in data}  # the first of each type wins
    action = _FIRST_EVENT.get(first.type)
    if any(e.type == "ActionUndone" for e in group):
        action = None  # an undo is not undone in turn (act again instead)
    elif first.type == "PieceRevised":
        action = {"human_edit": "edit", "revert": "revert"}.get(by_type["PieceRevised"].get("kind", ""))
    head = by_type.get(first.type, {})
    piece_id = head.get("piece_id") or head.get("id")
    version = head.get("version")
    kind = "an undo" if any(e.type == "ActionUndone" for e in group) else first.type
    return Action(seq=first.seq, last_seq=group[-1].seq, action=action, kind=kind, actor=first.actor,
                  at=first.at, piece_id=piece_id, version=version, data=by_type)


def _group_of(events: list[LoggedEvent], index: int) -> list[LoggedEvent]:
    """The events of the command that appended events[index] (same actor and time, contiguous:
    a transaction's appends are serialised, so nothing comes between them)."""
    mark = (events[index].actor, events[index].at)
    start = end = index
    while start > 0 and (events[start - 1].actor, events[start - 1].at) == mark:
        start -= 1
    while end + 1 < len(events) and (events[end + 1].actor, events[end + 1].at) == mark:
        end += 1
    return events[start:end + 1]


def action_at(ws: Workspace, seq: int) -> Action:
    """The action whose events include `seq`; NotFoundError when the log has no such event."""
    events = _range(ws, max(0, seq - GROUP_SPAN), seq + GROUP_SPAN)
    index = next((i for i, e in enumerate(events) if e.seq == seq), None)
    if index is None:
        raise NotFoundError(f"the log has no event {seq}", field="seq",
                            fix="see your last action with `masthead undo --show` or GET /api/v1/undo")
    return _describe(ws, _group_of(events, index))


def last_action(ws: Workspace, who: Principal, now: float | None = None) -> Action | None:
    """The person's last action if they did anything during the window, else None."""
    now = time.time() if now is None else now
    newest = _newest_of(ws, who.actor, now - UNDO_WINDOW_SECONDS - APPEND_SLACK_SECONDS)
    return action_at(ws, newest.seq) if newest is not None else None


def _what(ws: Workspace, action: Action) -> str:
    rows = open_pieces(ws.store.query, ws.store.query("SELECT channel, text, subject FROM pieces WHERE id = ?",
                                                      (action.piece_id,)))
    label = piece_label(rows[0]) if rows else f"piece {action.piece_id}"
    noun = _NOUNS.get(action.action or "", action.kind)
    return f"{noun} of {label} v{action.version}"


def undo_offer(ws: Workspace, operator: str | Principal, now: float | None = None) -> Offer | None:
    """What the desk offers to undo for this person now: their last action, if it is undoable,
    inside the window and not undone or overtaken since (the undo checks all of it again)."""
    who = principal_of(ws, operator)
    now = time.time() if now is None else now
    action = last_action(ws, who, now)
    if action is None or action.action is None or action.piece_id is None or now > action.until:
        return None
    try:
        _refuse_if_overtaken(ws, action)
    except StateError:
        return None
    return Offer(action.seq, action.action, _what(ws, action), action.piece_id, action.until)


# -- refusals ---------------------------------------------------------------------------------
def _refuse(ws: Workspace, who: Principal, action: Action, now: float) -> None:
    """Every reason not to undo `action` that the log tells, before anything is written."""
    if action.actor != who.actor:
        raise PermissionDenied(f"seq {action.seq} is an action of {action.actor}, not of {who.name}; only they may"
                               " undo it", field="seq", fix="undo only your own last action")
    if action.action is None or action.piece_id is None:
        raise StateError(f"seq {action.seq} ({action.kind}) is not an action that can be undone", field="seq",
                         fix=f"these can: {', '.join(UNDOABLE)}; see docs/concepts.md, Reversible")
    undone = ws.store.query("SELECT seq FROM events WHERE stream = ?", (stream_of("undo", str(action.seq)),))
    if undone:
        raise StateError(f"your {_NOUNS[action.action]} (seq {action.seq}) was undone already (seq {undone[0]['seq']})",
                         field="seq", fix="nothing to do; act again to change the piece")
    if now > action.until:
        raise StateError(f"your {_NOUNS[action.action]} (seq {action.seq}) was at {action.at}: an action can be undone"
                         f" for {UNDO_WINDOW_SECONDS / 60:g} minutes only", field="seq",
                         fix=_by_hand(action))
    _refuse_if_overtaken(ws, action)


def _refuse_if_overtaken(ws: Workspace, action: Action) -> None:
    """Refused when the same person did something after it (only the last action is undone),
    or anyone did something to the same piece after it."""
    people = _range(ws, action.last_seq, _head(ws), "human:")
    own = next((e for e in people if e.actor == action.actor), None)
    if own is not None:
        raise StateError(f"{action.person} did something after it (seq {own.seq}, {own.type}); only one's last"
                         " action can be undone", field="seq", fix=_by_hand(action))
    data = _data(ws, [e.seq for e in people])
    piece_stream = stream_of("piece", action.piece_id or "")
    other = next((e for e in people if e.stream == piece_stream or data[e.seq].get("piece_id") == action.piece_id), None)
    if other is not None:
        raise StateError(f"{other.actor} acted on piece {action.piece_id} after it (seq {other.seq}, {other.type})",
                         field="seq", fix="read the piece again and decide from what it is now")


def _by_hand(action: Action) -> str:
    piece = action.piece_id
    return {"approve": f"reject it (`masthead review reject {piece}`) if it is not published yet",
            "reject": f"reopen it: masthead review reopen {piece} --reason ...",
            "edit": f"revert it: masthead review revert {piece} --to-version {(action.version or 2) - 1}",
            "revert": f"revert it: masthead review revert {piece} --to-version {(action.version or 2) - 1}",
            "reopen": f"reject it: masthead review reject {piece} --reason ..."}.get(action.action or "",
                                                                                   "act again by hand")


# -- undoing ----------------------------------------------------------------------------------
def undo(ws: Workspace, operator: str | Principal, seq: int | None = None, now: float | None = None) -> Undone:
    """Undo the person's action named by `seq` (default: their last action). Refused, with
    nothing written, unless it is their own last action, undoable, inside the window, not undone
    yet and nobody acted on the piece since."""
    who = principal_of(ws, operator)
    authorize(who, "undo")  # the role first: a viewer is refused whatever the log holds
    now = time.time() if now is None else now
    action = action_at(ws, seq) if seq is not None else last_action(ws, who, now)
    if action is None:
        raise StateError(f"{who.name} did nothing in the last {UNDO_WINDOW_SECONDS / 60:g} minutes to undo",
                         fix="an action can be undone only shortly after it")
    _refuse(ws, who, action, now)
    assert action.action is not None and action.piece_id is not None and action.version is not None
    piece = _piece(ws.store, action.piece_id)
    authorize(who, "undo", project=piece["project"], channel=piece["channel"])
    marker = ActionUndone(seq=action.seq, action=action.action, piece_id=action.piece_id,
                          version=action.version).to_new(stream_of("undo", str(action.seq)), 0)
    noun = _NOUNS[action.action]
    if action.action == "approve":
        _withdraw(ws, who, action, marker)
    elif action.action == "reject":
        commands.reopen(ws, action.piece_id, operator=who, also=[marker],
                        reason=f"undo: {who.name} took back their rejection (seq {action.seq})")
    elif action.action == "reopen":
        commands.reject(ws, action.piece_id, operator=who, also=[marker],
                        reason=f"undo: {who.name} took back their reopening (seq {action.seq})")
    else:
        _revert(ws, who, action, piece, marker)
    status = _piece(ws.store, action.piece_id)["status"]
    return Undone(action.seq, action.action, action.piece_id, status,
                  f"undid your {noun} of {piece_label(piece)} v{action.version}")


def _piece(store: EventStore | Transaction, piece_id: str) -> dict[str, Any]:
    rows = store.query("SELECT * FROM pieces WHERE id = ?", (piece_id,))
    if not rows:
        raise NotFoundError(f"piece {piece_id!r} does not exist", fix="see `masthead pieces list`")
    return open_piece(store.query, rows[0])


def _revert(ws: Workspace, who: Principal, action: Action, piece: dict[str, Any], marker: NewEvent) -> None:
    assert action.version is not None and action.piece_id is not None
    if piece["version"] != action.version:
        raise StateError(f"piece {action.piece_id} is at v{piece['version']} now, not v{action.version}",
                         fix="read it again; revert by hand if you still want an earlier version")
    if piece["status"] not in ("drafted", "in_review"):
        raise StateError(f"piece {action.piece_id} is {piece['status']} since your {_NOUNS[action.action or 'edit']};"
                         " an edit is undone only while the piece is in review", fix=_by_hand(action))
    commands.revert(ws, action.piece_id, operator=who, to_version=action.version - 1, also=[marker])


def _withdraw(ws: Workspace, who: Principal, action: Action, marker: NewEvent) -> None:
    """Take the approval back: it no longer counts; a piece it approved goes back to its gate
    (gate and publish steps run again) and gives back the time chosen with it."""
    assert action.piece_id is not None and action.version is not None
    completed = "ReviewApproved" in action.data
    meta = Meta(actor=who.actor, at=utc_now())
    with ws.store.transaction() as tx:
        piece = _piece(tx, action.piece_id)
        authorize(who, "approve", project=piece["project"], channel=piece["channel"])
        _refuse_if_published(tx, piece)
        tasks = tx.query("SELECT id, kind, status, version FROM tasks WHERE job_id = ? AND channel = ?"
                         " AND kind IN ('gate', 'publish')", (piece["job_id"], piece["channel"]))
        running = next((t for t in tasks if t["status"] == "running"), None)
        if running is not None:
            raise StateError(f"a worker is running the {running['kind']} step of piece {piece['id']} right now",
                             fix="try again in a moment (a publication that went out is retracted instead)")
        if completed and (piece["status"] != "approved" or piece["approved_version"] != action.version):
            raise StateError(f"piece {piece['id']} is {piece['status']} now, no longer approved at v{action.version}")
        stream = stream_of("piece", piece["id"])
        withdrawn = ApprovalWithdrawn(piece_id=piece["id"], version=action.version, approval_seq=action.seq,
                                      completed=completed, unscheduled="PublicationScheduled" in action.data)
        at = tx.stream_version(stream)
        events = [withdrawn.to_new(stream, at), marker]
        if completed:
            # Back in review at once, and the gate and publish steps run again (as after a reopen).
            events += commands.review_again(tx, piece["id"], action.version, at + 1)
            events += reopen_events(tx, piece["job_id"], tasks, f"{piece['id']}: approval withdrawn")
        tx.append(events, meta)
        if completed:
            schedule(tx, ws.store, piece["job_id"], meta, default_max_active=ws.config.runtime.max_active_jobs_per_project)


def _refuse_if_published(tx: Transaction, piece: dict[str, Any]) -> None:
    rows = tx.query("SELECT publisher, status, url, location FROM publications WHERE piece_id = ? ORDER BY requested_at",
                    (piece["id"],))
    if not rows:
        return
    first = rows[0]
    where = first["url"] or first["location"] or first["publisher"]
    if first["status"] in ("delivered", "retracted"):
        fix = (f"take the post back with `masthead piece retract {piece['id']}` (owner)" if first["status"] == "delivered"
               else "it is retracted already")
        raise StateError(f"piece {piece['id']} went out already ({first['publisher']}: {where}); undo cannot take"
                         " a publication back", fix=fix)
    raise StateError(f"piece {piece['id']} is being published ({first['publisher']}: {first['status']}); undo cannot"
                     " stop a publication under way",
                     fix=f"once it is delivered, retract it with `masthead piece retract {piece['id']}`")


