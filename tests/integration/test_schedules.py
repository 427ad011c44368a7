"""Cron schedules (issue 13, part 3) on an injected clock: a due tick makes one `schedule` signal
that starts the named recipe; after downtime the schedule catches up once, not once per tick."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.support.harness import make_workspace

from masthead.app.commands import apply_project
from masthead.app.schedules import run_schedules
from masthead.app.source_state import add_signal_once
from masthead.app.workspace import Workspace, open_workspace
from masthead.errors import ConfigError
from masthead.projections.replay import verify
from masthead.source_specs import next_firing

CRON = "0 9 * * TUE"
PROJECT = f"""\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {{description: Plain.}}
channels:
  x: {{gate: hard}}
timezone: Europe/Berlin
schedules:
  - {{recipe: release-notes, cron: "{CRON}"}}
"""
BERLIN = ZoneInfo("Europe/Berlin")


def applied_at(ws: Workspace) -> datetime:
    stamp = ws.store.query("SELECT updated_at FROM projects WHERE name = 'tallybook'")[0]["updated_at"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(BERLIN)


def schedule_signals(ws: Workspace) -> list[dict]:
    return ws.store.query("SELECT s.id, s.kind, s.source, s.trust, j.recipe FROM signals s"
                          " JOIN jobs j ON j.signal_id = s.id WHERE s.source LIKE 'schedule:%' ORDER BY s.seq")


def test_a_due_tick_fires_once_and_downtime_catches_up_once(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT)
    first = next_firing(CRON, applied_at(ws))  # the first Tuesday 09:00 (Berlin) after the project was applied
    assert first.weekday() == 1 and (first.hour, first.minute) == (9, 0)

    assert run_schedules(ws, now=(first - timedelta(seconds=1)).timestamp()) == []
    [fired] = run_schedules(ws, now=first.timestamp())
    assert (fired["recipe"], fired["tick"], fired["missed"]) == ("release-notes", first.isoformat(), 0)
    assert run_schedules(ws, now=(first + timedelta(minutes=30)).timestamp()) == []  # once per tick
    [signal] = schedule_signals(ws)
    assert (signal["kind"], signal["recipe"], signal["trust"]) == ("schedule", "release-notes", "operator")

    # Three weeks of downtime: three more Tuesdays passed; the schedule fires once, for the latest.
    ws.close()
    ws = open_workspace(str(tmp_path / "ws"))
    back = first + timedelta(days=21, hours=5)
    [caught_up] = run_schedules(ws, now=back.timestamp())
    assert caught_up["tick"] == (first + timedelta(days=21)).isoformat() and caught_up["missed"] == 2
    assert run_schedules(ws, now=(back + timedelta(hours=1)).timestamp()) == []
    assert len(schedule_signals(ws)) == 2
    fired_events = ws.store.query("SELECT data FROM events WHERE type = 'ScheduleFired' ORDER BY seq")
    assert len(fired_events) == 2
    assert verify(ws.store).ok
    ws.close()


def test_a_schedule_counts_from_when_it_was_applied(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT)
    applied = applied_at(ws)
    # Ticks before the project existed are not owed: just before the first one, nothing fires.
    assert run_schedules(ws, now=(next_firing(CRON, applied) - timedelta(minutes=1)).timestamp()) == []
    assert schedule_signals(ws) == []
    ws.close()


def test_a_firing_that_stopped_before_its_record_is_finished_without_a_second_signal(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT)
    first = next_firing(CRON, applied_at(ws))
    # The signal of the tick is there, its ScheduleFired is not: a process died in between.
    made = add_signal_once(ws, "tallybook", f"schedule:release-notes:0_9_*_*_TUE:{first.isoformat()}",
                           kind="schedule", body="Scheduled run.", title=None, priority="normal",
                           recipe="release-notes")
    [fired] = run_schedules(ws, now=first.timestamp())
    assert fired["signal_id"] == made.signal_id
    assert len(schedule_signals(ws)) == 1
    assert run_schedules(ws, now=first.timestamp()) == []
    ws.close()


@pytest.mark.parametrize(("schedules", "problem"), [
    ('  - {recipe: weekly-digest-nope, cron: "0 9 * * TUE"}\n', "schedules.0.recipe: recipe 'weekly-digest-nope' is unknown"),
    ('  - {recipe: release-notes, cron: "0 0 30 2 *"}\n', "never fires"),
    ('  - {recipe: release-notes, cron: "0 9 * *"}\n', "has 4 fields"),
    ('  - {recipe: release-notes, cron: "0 25 * * *"}\n', "is not a cron expression"),
])
def test_a_bad_schedule_is_refused_with_the_field(tmp_path: Path, schedules: str, problem: str) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT)
    (ws.root / "bad.yaml").write_text(PROJECT.split("schedules:")[0] + "schedules:\n" + schedules, "utf-8")
    head = ws.store.head()
    with pytest.raises(ConfigError, match=problem) as caught:
        apply_project(ws, ws.root / "bad.yaml")
    assert "schedules" in str(caught.value)
    assert ws.store.head() == head
    ws.close()


def test_the_poller_fires_schedules_and_says_a_broken_one_once(tmp_path: Path) -> None:
    from importlib import resources

    from masthead.app.poller import SourcePoller

    root = tmp_path / "ws"
    (root / "recipes").mkdir(parents=True)
    builtin = resources.files("masthead.recipes").joinpath("builtin/release-notes.yaml").read_text("utf-8")
    (root / "recipes" / "digest.yaml").write_text(builtin.replace("name: release-notes", "name: digest"), "utf-8")
    ws = make_workspace(root, "http://127.0.0.1:9/v1", PROJECT.replace("recipe: release-notes", "recipe: digest"))
    first = next_firing(CRON, applied_at(ws))
    lines: list[tuple[str, bool]] = []
    moment = [first.timestamp()]
    poller = SourcePoller(ws, clock=lambda: moment[0], report=lambda line, failed: lines.append((line, failed)))
    try:
        poller.tick()
        assert [s["recipe"] for s in schedule_signals(ws)] == ["digest"]  # started by name, whatever its trigger
        assert lines and lines[-1][0].startswith("schedule tallybook/digest (0 9 * * TUE): fired for ")
        (root / "recipes" / "digest.yaml").unlink()  # removed after the project was applied
        moment[0] = (first + timedelta(days=7)).timestamp()
        for _ in range(3):
            poller.tick()
        errors = [line for line, failed in lines if failed]
        assert len(errors) == 1 and "recipe 'digest' is unknown" in errors[0]
        assert len(schedule_signals(ws)) == 1
    finally:
        poller.stop()
        ws.close()
