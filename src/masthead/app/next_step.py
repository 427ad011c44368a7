"""What happens next to a piece, in one sentence: what `review edit` and the desk tell a person
after they change it, so nobody is told to approve a piece that publishes by itself."""

from __future__ import annotations

import json

from masthead.app.workspace import Workspace
from masthead.errors import NotFoundError
from masthead.projects import project_from_spec


def next_step(ws: Workspace, piece_id: str) -> str:
    rows = ws.store.query("SELECT p.version, p.channel, p.status, p.flags, pr.spec FROM pieces p"
                          " LEFT JOIN projects pr ON pr.name = p.project WHERE p.id = ?", (piece_id,))
    if not rows:
        raise NotFoundError(f"piece {piece_id!r} does not exist", fix="see `masthead pieces list`")
    row = rows[0]
    version, flags = row["version"], json.loads(row["flags"])
    approve = f"`masthead review approve {piece_id} --version {version}`"
    if row["status"] in ("published", "rejected", "approved"):
        return f"v{version} is {row['status']}"
    if flags:
        names = ", ".join(sorted({flag.split(":", 1)[0] for flag in flags}))
        return (f"v{version} fails {names}: it waits in review; edit it again, or approve it anyway with {approve}"
                f" (see `masthead review show {piece_id}`)")
    settings = project_from_spec(row["spec"]).channels.get(row["channel"]) if row["spec"] else None
    gate = settings.gate if settings is not None else "hard"
    if gate == "auto":
        return f"v{version} passes its checks; the auto gate publishes it on the next `masthead run --until-idle`"
    if gate == "soft":
        delay = settings.soft_delay_minutes if settings is not None else None
        delay = ws.config.runtime.soft_gate_delay_minutes if delay is None else delay
        return (f"v{version} passes its checks; the soft gate publishes it {delay:g} minutes after"
                f" `masthead run` looks at it, unless you reject it")
    return f"v{version} passes its checks; the hard gate waits for you: {approve}, then `masthead run --until-idle`"
