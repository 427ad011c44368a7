"""Calendar sources (issue 13, part 4): launches start their recipe lead_days before, once per
occurrence and lead; blackouts are recorded and hold publication; broken calendars leave a
clear state and import nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.feed_server import FeedServer
from tests.support.harness import (
    KEY_ENV,
    PROJECT_YAML,
    add_release_notes,
    content_reply,
    make_workspace,
)
from tests.support.openai_server import OpenAIServer

from masthead.app.calendar_sources import poll_calendar
from masthead.app.source_state import configured_sources
from masthead.app.sources import list_sources, poll_sources
from masthead.app.workspace import Workspace
from masthead.projections.replay import verify
from masthead.runtime.blackouts import blackouts_at
from masthead.sources.feed import new_client

PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {{description: Plain.}}
channels:
  x: {{gate: hard}}
sources:
  - {{name: launches, kind: calendar, url: "{url}", lead_days: [7, 1], every: 1h}}
"""

CALENDAR = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Tallybook//Launch plan//EN
BEGIN:VEVENT
UID:launch-3@tallybook
DTSTART;TZID=Europe/Berlin:20261210T090000
DTEND;TZID=Europe/Berlin:20261210T100000
SUMMARY:Tallybook 3.0 launch
DESCRIPTION:Recurring invoices and bank feeds.
CATEGORIES:LAUNCH,product
END:VEVENT
BEGIN:VEVENT
UID:webinar@tallybook
DTSTART;TZID=Europe/Berlin:20261208T150000
DTEND;TZID=Europe/Berlin:20261208T160000
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Weekly webinar
CATEGORIES:launch
END:VEVENT
BEGIN:VEVENT
UID:holidays@tallybook
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261227
SUMMARY:Holidays
CATEGORIES:blackout
END:VEVENT
BEGIN:VEVENT
UID:standup@tallybook
DTSTART:20261208T090000Z
SUMMARY:Standup (not tagged: not ours)
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def poll(ws: Workspace, now: float) -> dict:
    [source] = configured_sources(ws)
    with new_client() as client:
        return poll_calendar(ws, source, client, now=now)


def launch_signals(ws: Workspace) -> list[dict]:
    return ws.store.query("SELECT title, body, source, kind, trust FROM signals WHERE source LIKE 'calendar:%'"
                          " ORDER BY seq")


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "launches.ics").write_text(CALENDAR, "utf-8")
    workspace = make_workspace(root, "http://127.0.0.1:9/v1", PROJECT.format(url="launches.ics"))
    yield workspace
    workspace.close()


def test_launch_leads_fire_once_per_occurrence_and_lead(ws: Workspace) -> None:
    first = poll(ws, at("2026-12-06T12:00:00"))
    assert (first["state"], first["imported"]) == ("ok", 2)
    titles = [s["title"] for s in launch_signals(ws)]
    # Both are 7-day leads: the launch (Dec 10, 08:00 UTC) and the webinar's first occurrence (Dec 8).
    assert sorted(titles) == ["Launch in 7 days: Tallybook 3.0 launch", "Launch in 7 days: Weekly webinar"]
    signal = next(s for s in launch_signals(ws) if "3.0" in s["title"])
    assert signal["kind"] == "launch" and signal["trust"] == "untrusted"
    assert "Thursday 2026-12-10 08:00 (UTC)" in signal["body"]  # the Berlin TZID read as 09:00+01:00
    assert "Recurring invoices and bank feeds." in signal["body"]

    assert poll(ws, at("2026-12-06T12:30:00"))["imported"] == 0  # nothing new: deduplicated
    assert poll(ws, at("2026-12-06T23:59:00"))["imported"] == 0
    later = poll(ws, at("2026-12-07T00:00:00"))  # the webinar's 1-day lead: the day before, from midnight
    assert later["imported"] == 1 and launch_signals(ws)[-1]["title"] == "Launch in 1 day: Weekly webinar"
    two_days = poll(ws, at("2026-12-09T12:00:00"))
    assert two_days["imported"] == 2  # the launch's 1-day lead and the webinar's second occurrence (7 days)
    assert len({s["source"] for s in launch_signals(ws)}) == 5
    assert verify(ws.store).ok


def test_a_missed_lead_is_not_made_up_later(ws: Workspace) -> None:
    # First poll the day before the launch: the 1-day lead is due, the 7-day one passed unseen.
    poll(ws, at("2026-12-09T09:00:00"))
    launch = [s["title"] for s in launch_signals(ws) if "3.0" in s["title"]]
    assert launch == ["Launch in 1 day: Tallybook 3.0 launch"]
    poll(ws, at("2026-12-09T10:00:00"))
    assert [s["title"] for s in launch_signals(ws) if "3.0" in s["title"]] == launch


def test_blackouts_are_recorded_listed_and_found(ws: Workspace) -> None:
    poll(ws, at("2026-12-07T12:00:00"))
    [state] = list_sources(ws)
    assert state["kind"] == "calendar" and state["state"] == "ok"
    assert [(w["start"], w["end"], w["summary"]) for w in state["blackouts"]] == [
        ("2026-12-24T00:00:00+00:00", "2026-12-27T00:00:00+00:00", "Holidays")]
    [held] = blackouts_at(ws.store, "tallybook", at("2026-12-25T10:00:00"))
    assert held.summary == "Holidays" and "blackout until 2026-12-27T00:00:00Z: Holidays" in held.reason
    assert blackouts_at(ws.store, "tallybook", at("2026-12-23T23:59:00")) == []
    assert blackouts_at(ws.store, "tallybook", at("2026-12-27T00:00:00")) == []
    head = ws.store.head()
    poll(ws, at("2026-12-07T12:05:00"))
    recorded = ws.store.query("SELECT COUNT(*) AS n FROM events WHERE type = 'CalendarBlackoutsRecorded'")
    assert recorded[0]["n"] == 1 and ws.store.head() != head  # the poll is recorded, the same windows are not


@pytest.mark.parametrize(("broken", "problem"), [
    (CALENDAR.replace("RRULE:FREQ=WEEKLY;COUNT=4", "RRULE:FREQ=SOMETIMES;COUNT=x"),
     "event webinar@tallybook has a recurrence rule that cannot be read"),
    (CALENDAR.replace("TZID=Europe/Berlin:20261210", "TZID=Mars/Olympus:20261210"),
     "event launch-3@tallybook uses TZID 'Mars/Olympus'"),
    ("<html><body>Not a calendar</body></html>", "is not an iCalendar file"),
])
def test_a_broken_calendar_is_an_error_state_and_imports_nothing(ws: Workspace, broken: str, problem: str) -> None:
    poll(ws, at("2026-12-07T12:00:00"))  # a good poll first: what it recorded must stay
    before = len(launch_signals(ws))
    (ws.root / "launches.ics").write_text(broken, "utf-8")
    result = poll(ws, at("2026-12-09T12:00:00"))  # new leads would be due now
    assert result["state"] == "error" and problem in result["error"]
    assert len(launch_signals(ws)) == before
    [state] = list_sources(ws)
    assert state["state"] == "error" and problem in state["error"]
    assert len(state["blackouts"]) == 1  # the windows recorded before still hold


def test_a_calendar_over_http_and_a_named_recipe(tmp_path: Path) -> None:
    server = FeedServer().start()
    try:
        server.calendars["plan.ics"] = CALENDAR.encode()
        project = PROJECT.format(url=server.url("/cal/plan.ics?token=s3cret")).replace(
            "every: 1h}", "every: 1h, recipe: release-notes}")
        ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", project)
        # The real clock first (which leads are due depends on the day): the file is read over HTTP.
        results = poll_sources(ws)
        assert results[0]["state"] == "ok", results
        [state] = list_sources(ws)
        assert "s3cret" not in str(state) and state["url"].endswith("/cal/plan.ics")
        [source] = configured_sources(ws)
        with new_client() as client:
            poll_calendar(ws, source, client, now=at("2026-12-07T12:00:00"))
        jobs = ws.store.query("SELECT j.recipe FROM jobs j JOIN signals s ON s.id = j.signal_id"
                              " WHERE s.source LIKE 'calendar:%'")
        signals = launch_signals(ws)
        assert len(signals) >= 2 and [job["recipe"] for job in jobs] == ["release-notes"] * len(signals)
        ws.close()
    finally:
        server.stop()


def blackout_workspace_folder(tmp_path: Path, start: datetime, end: datetime) -> Path:
    """A workspace folder holding plan.ics: one "Code freeze" blackout from `start` to `end`."""
    stamp = "%Y%m%dT%H%M%SZ"
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:freeze@tallybook\r\n"
           f"DTSTART:{start:{stamp}}\r\nDTEND:{end:{stamp}}\r\nSUMMARY:Code freeze\r\nCATEGORIES:blackout\r\n"
           "END:VEVENT\r\nEND:VCALENDAR\r\n")
    root = tmp_path / "ws"
    root.mkdir()
    (root / "plan.ics").write_text(ics, "utf-8")
    return root


def test_publication_waits_with_the_reason_inside_a_blackout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    root = blackout_workspace_folder(tmp_path, start, end)
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        project = PROJECT_YAML + 'sources:\n  - {name: plan, kind: calendar, url: "plan.ics"}\n'
        ws = make_workspace(root, server.base_url, project)
        assert poll_sources(ws)[0]["state"] == "ok"
        add_release_notes(ws)
        ws.runner(concurrency=2).run(until_idle=True)
        publish = ws.store.query("SELECT channel, status, wait_reason, run_after FROM tasks WHERE kind = 'publish'"
                                 " AND channel = 'x'")
        assert publish and publish[0]["wait_reason"].startswith("blackout until ")
        assert "Code freeze (calendar source plan)" in publish[0]["wait_reason"]
        assert abs(float(publish[0]["run_after"]) - end.replace(microsecond=0).timestamp()) < 2
        assert not list(ws.out_dir.rglob("*.md"))  # nothing published
        assert time.time() < end.timestamp()
        ws.close()


def test_an_exchange_export_with_its_own_vtimezone_exdate_and_rdate(tmp_path: Path) -> None:
    fixture = Path(__file__).parent.parent / "fixtures" / "calendars" / "exchange.ics"
    root = tmp_path / "ws"
    root.mkdir()
    (root / "launches.ics").write_bytes(fixture.read_bytes())
    ws = make_workspace(root, "http://127.0.0.1:9/v1", PROJECT.format(url="launches.ics").replace(
        "lead_days: [7, 1]", "lead_days: [0]"))
    starts = []
    for day in ("2026-12-10T08:00:00", "2026-12-17T08:00:00", "2026-12-18T08:00:00", "2026-12-24T08:00:00"):
        poll(ws, at(day) - 3600)  # an hour before each would-be start: its lead-0 signal (due since midnight)
        starts = [s["body"].splitlines()[2] for s in launch_signals(ws)]
    # "W. Europe Standard Time" is defined by the file's VTIMEZONE (09:00 there is 08:00 UTC); the
    # 17th is an EXDATE, the 18th an RDATE.
    assert starts == ["Starts Thursday 2026-12-10 08:00 (UTC).", "Starts Friday 2026-12-18 08:00 (UTC).",
                      "Starts Thursday 2026-12-24 08:00 (UTC)."]
    [state] = list_sources(ws)
    assert [w["summary"] for w in state["blackouts"]] == ["New year freeze"]
    ws.close()


def test_a_windows_zone_name_without_vtimezone_is_read_not_refused(ws: Workspace) -> None:
    (ws.root / "launches.ics").write_text(
        CALENDAR.replace("TZID=Europe/Berlin:20261210", "TZID=W. Europe Standard Time:20261210"), "utf-8")
    result = poll(ws, at("2026-12-09T12:00:00"))
    assert result["state"] == "ok", result["error"]
    assert any("Starts Thursday 2026-12-10 08:00 (UTC)." in s["body"] for s in launch_signals(ws))


def test_a_slot_inside_a_blackout_is_not_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An auto piece on a channel with slots takes the first slot after the blackout ends."""
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=7)
    root = blackout_workspace_folder(tmp_path, start, end)
    monkeypatch.setenv(KEY_ENV, "sk-test")
    hourly = ", ".join(f'"{hour:02d}:00"' for hour in range(24))
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        project = PROJECT_YAML.replace("x: {gate: auto}", f"x: {{gate: auto, slots: [{hourly}]}}") \
            + 'sources:\n  - {name: plan, kind: calendar, url: "plan.ics"}\n'
        ws = make_workspace(root, server.base_url, project)
        assert poll_sources(ws)[0]["state"] == "ok"
        add_release_notes(ws)
        ws.runner(concurrency=2).run(until_idle=True)
        [piece] = ws.store.query("SELECT scheduled_at FROM pieces WHERE channel = 'x'")
        scheduled = datetime.fromisoformat(piece["scheduled_at"].replace("Z", "+00:00"))
        # Hourly slots: without the blackout the next one is within the hour.
        assert end <= scheduled < end + timedelta(hours=1), (scheduled, end)
        assert verify(ws.store).ok
        ws.close()
