"""The publish step: the outbox for one approved piece version, per publisher of its channel.

Whatever happened upstream, only the approved version goes out, and on a hard gate (or with
approvals by several people) only one the people approved; a scheduled piece waits for its
slot and a calendar blackout holds every publication of the project.
"""

from __future__ import annotations

from typing import Any

from masthead.channels.publisher import Delivery, Publisher
from masthead.channels.threads import whole_text
from masthead.errors import ConfigError, StateError
from masthead.events.model import Meta, utc_now
from masthead.personal_data import PersonWasForgotten, piece_forgotten
from masthead.runtime.blackouts import blackouts_at
from masthead.runtime.context import TaskContext
from masthead.runtime.outbox import Outbox, Waiting, publication_key_for
from masthead.runtime.outreach import recipient_key, recipients
from masthead.runtime.recall import published_piece_memory
from masthead.runtime.scheduling import publish_hold
from masthead.runtime.steps import (
    StepOutcome,
    StepServices,
    channel_settings,
    human_approval,
    people_missing,
    piece_row,
    piece_threads,
)


def run_publish_step(ctx: TaskContext, services: StepServices) -> StepOutcome:
    assert ctx.channel is not None
    store = services.store
    piece = piece_row(store, ctx.piece_id)
    if piece is None:
        raise StateError(f"piece {ctx.piece_id} does not exist")
    if piece_forgotten(piece):
        # The job's context refuses a forgotten person first; this stands whatever changes there:
        # a piece whose text reads "[forgotten]" is never sent.
        raise PersonWasForgotten(f"piece {ctx.piece_id}: the person was forgotten; it is never published",
                                 fix="nothing to do: the job stays failed")
    version = piece["version"]
    if piece["status"] == "rejected":
        # Rejected after its gate passed (a person changed their mind): this channel ends here.
        return StepOutcome(output={"published": False, "reason": "rejected before publication"}, halt=True)
    # The last line of defence: whatever happened upstream, publish only the approved version,
    # and on a hard gate only one a human approved.
    if piece["status"] not in ("approved", "published") or piece["approved_version"] != version:
        raise StateError(f"piece {ctx.piece_id} v{version} is not approved; refusing to publish")
    settings = channel_settings(ctx)
    missing = people_missing(store, settings, ctx.piece_id, version)
    if missing is not None:
        raise StateError(f"piece {ctx.piece_id} {missing}; refusing to publish")
    approval = human_approval(store, ctx.piece_id, version)  # documents carry the approver and date
    by_person = approval is not None
    hold = publish_hold(store.query, ctx.project, piece, services.clock(), by_person)
    if hold is not None:
        # Waiting for its time is not an attempt; a restart finds the time in the log.
        return StepOutcome(output={"scheduled_for": hold.scheduled_at}, wait_reason=hold.reason,
                           wait_until=hold.until, events=[("system", event) for event in hold.events])
    held = blackouts_at(store, ctx.project.name, services.clock())
    if held:
        # A calendar blackout holds every publication of the project, a scheduled one at its
        # time too; the task looks again when the window ends (a window recorded or removed
        # since is read again then).
        return StepOutcome(output={"published": {}, "blackout": [b.uid for b in held]},
                           wait_reason="; ".join(b.reason for b in held),
                           wait_until=max(b.end for b in held).timestamp())
    outbox = Outbox(store, services.guards, redact=services.guards.redact, clock=services.clock,
                    meta=lambda: Meta(actor="system", at=utc_now(), causation_id=ctx.task["id"],
                                      correlation_id=ctx.job["id"]))
    published: dict[str, dict[str, Any]] = {}
    waits: list[Waiting] = []
    to = recipients(ctx)  # an outreach piece goes to its contact alone, keyed by the contact's subject id
    for name in settings.publish_to:
        key = publication_key_for(ctx.piece_id, version, ctx.channel, name, to=recipient_key(ctx))
        delivery = Delivery(key=key, piece_id=ctx.piece_id, version=version, channel=ctx.channel,
                            project=ctx.project.name, text=piece["text"], subject=piece["subject"], at=utc_now(),
                            approver=approval["actor"] if approval else None,
                            approved_at=approval["at"] if approval else None, to=to)
        result = outbox.deliver_piece(name, _publisher(services, ctx, name), delivery, thread=piece_threads(ctx))
        if isinstance(result, Waiting):
            waits.append(result)
        else:
            published[name] = {"key": key, "location": result.location, "url": result.url}
    if waits:
        # The delivered ones are confirmed already; the task comes back for the rest (at the
        # earliest time any of them may go), or waits for a person when one needs one.
        until = None if any(w.until is None for w in waits) else min(w.until for w in waits if w.until)
        return StepOutcome(output={"published": published}, wait_reason="; ".join(w.reason for w in waits),
                           wait_until=until)
    first = published[settings.publish_to[0]]
    said = {**piece, "text": whole_text(piece["text"])} if piece_threads(ctx) else piece  # memory: what it says
    remembered = published_piece_memory(ctx, services.memory, said, by_person)
    return StepOutcome(output={"key": first["key"], "location": first["location"], "published": published},
                       events=list(remembered))


def _publisher(services: StepServices, ctx: TaskContext, name: str) -> Publisher:
    publisher = services.publishers.get(name)
    if publisher is None:
        raise ConfigError(f"channel {ctx.channel} of project {ctx.project.name} publishes to {name!r},"
                          " which masthead.toml does not define",
                          fix=f"add a [publishers.{name}] table to masthead.toml, or remove {name} from publish_to")
    return publisher
