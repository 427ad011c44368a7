"""The desk shows each channel's slots and the pieces scheduled on it (ASGI client)."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tests.support.harness import PROJECT_YAML
from tests.web.conftest import log_in, run_until_idle

from masthead.app.commands import apply_project, approve
from masthead.app.workspace import Workspace

pytestmark = pytest.mark.anyio
HX = {"HX-Request": "true"}


async def test_the_desk_shows_the_queue_per_channel_with_its_slots(client, token, ws: Workspace, reviewed) -> None:
    slotted = PROJECT_YAML.replace("newsletter: {gate: hard}", 'newsletter: {gate: hard, slots: ["mon-fri 09:30"]}')
    (ws.root / "project.yaml").write_text(slotted + "timezone: Europe/Berlin\n", "utf-8")
    apply_project(ws, ws.root / "project.yaml")
    when = datetime.fromtimestamp(time.time() + 2 * 86400, ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M")
    approve(ws, reviewed["newsletter"]["id"], operator="ana", at=when)
    run_until_idle(ws)
    await log_in(client, token)
    queue = (await client.get("/ui/queue", headers=HX)).text
    assert 'data-channel="tallybook/newsletter"' in queue
    assert "slots mon-fri 09:30 (Europe/Berlin) · next free " in queue
    assert f"{when} Europe/Berlin</a>" in queue
    panel = (await client.get(f"/ui/pieces/{reviewed['newsletter']['id']}/panel", headers=HX)).text
    assert f"scheduled for {when} Europe/Berlin" in panel
