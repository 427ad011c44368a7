"""Scheduled publication: slots taken by gated pieces, `approve --at` / `--next-slot`, moving a
time, restarts, replay; waits that do not use up a task's attempts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tests.support.harness import (
    KEY_ENV,
    PROJECT_YAML,
    RELEASE_NOTES,
    add_release_notes,
    content_reply,
    make_workspace,
)
from tests.support.openai_server import OpenAIServer

from masthead.app.commands import approve
from masthead.app.queries import piece_detail
from masthead.app.workspace import Workspace, open_workspace
from masthead.errors import InputError, StateError
from masthead.projections.replay import verify
from masthead.runtime.worker import Worker
from masthead.slots import from_iso

BERLIN = ZoneInfo("Europe/Berlin")
SLOTTED_YAML = PROJECT_YAML.replace(
    "  x: {gate: auto}\n  linkedin: {gate: soft, soft_delay_minutes: 0}\n",
    '  x: {gate: auto, slots: ["mon-fri 09:30", "sat 11:00"]}\n'
    '  linkedin: {gate: soft, soft_delay_minutes: 0, slots: ["12:00"]}\n',
) + "timezone: Europe/Berlin\n"


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same log and queue on either backend."""
    if request.param == "postgres":
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


def drive(ws: Workspace, now: float) -> None:
    """Run every task ready at `now` (or later, as real time passes: tasks the run enqueues are
    ready at the real time), with the runtime's clock set so; a fresh worker, as after a restart."""
    services = ws.services()
    services.clock = lambda: max(now, time.time())
    worker = Worker(ws.store, services, "test:1:0", lease_seconds=30, backoff_base=0, backoff_max=0)
    while (task := worker.claim()) is not None:
        worker.run(task)


def piece_of(ws: Workspace, job: str, channel: str) -> dict:
    return ws.store.query("SELECT * FROM pieces WHERE job_id = ? AND channel = ?", (job, channel))[0]


def publish_task(ws: Workspace, job: str, channel: str) -> dict:
    return ws.store.query("SELECT * FROM tasks WHERE job_id = ? AND channel = ? AND kind = 'publish'",
                          (job, channel))[0]


def local(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, BERLIN).strftime("%Y-%m-%d %H:%M")


def test_auto_and_soft_pieces_take_the_next_free_slots_and_publish_then_not_before(tmp_path, openai_url, backend):
    ws = make_workspace(tmp_path / "ws", openai_url, SLOTTED_YAML)
    first, second = add_release_notes(ws), add_release_notes(ws, RELEASE_NOTES + "- Dark mode.\n")
    now = time.time()
    drive(ws, now)
    x1, x2 = piece_of(ws, first, "x"), piece_of(ws, second, "x")
    at1, at2 = from_iso(x1["scheduled_at"]), from_iso(x2["scheduled_at"])
    # One piece per slot: the second piece took the slot after the first one's.
    assert at1 != at2 and at1.timestamp() > now and at2.timestamp() > now
    assert {at1.astimezone(BERLIN).strftime("%a %H:%M"), at2.astimezone(BERLIN).strftime("%a %H:%M")} <= {
        f"{day} 09:30" for day in ("Mon", "Tue", "Wed", "Thu", "Fri")} | {"Sat 11:00"}
    assert x1["status"] == "approved" and x1["scheduled_slot"] in ("mon-fri 09:30", "sat 11:00")
    task = publish_task(ws, first, "x")
    assert task["wait_reason"] == f"scheduled for {local(at1.timestamp())} Europe/Berlin"
    assert (task["status"], task["attempts"]) == ("queued", 0)  # a wait is not an attempt
    # The soft piece (delay 0) took its channel's 12:00 slot.
    linkedin = piece_of(ws, first, "linkedin")
    assert from_iso(linkedin["scheduled_at"]).astimezone(BERLIN).strftime("%H:%M") == "12:00"
    # Shown by piece show.
    assert piece_detail(ws, x1["id"])["scheduled"] == f"{local(at1.timestamp())} Europe/Berlin"

    early, (first_at, second_at) = min(at1, at2).timestamp() - 60, sorted([at1, at2])
    drive(ws, early)
    assert ws.store.query("SELECT COUNT(*) AS n FROM publications WHERE channel = 'x'")[0]["n"] == 0
    drive(ws, first_at.timestamp())
    published = ws.store.query("SELECT piece_id FROM publications WHERE channel = 'x' AND status = 'delivered'")
    assert [row["piece_id"] for row in published] == [x1["id"] if at1 < at2 else x2["id"]]
    ws.close()

    # A restart (a new process opening the workspace) keeps the second piece's time.
    ws = open_workspace(tmp_path / "ws")
    drive(ws, second_at.timestamp() - 1)
    assert ws.store.query("SELECT COUNT(*) AS n FROM publications WHERE channel = 'x'")[0]["n"] == 1
    drive(ws, second_at.timestamp())
    assert ws.store.query("SELECT COUNT(*) AS n FROM publications WHERE channel = 'x' AND status = 'delivered'")[0]["n"] == 2
    assert verify(ws.store).ok
    ws.close()


def test_approve_at_publishes_at_that_time_and_a_second_approval_moves_it(tmp_path, openai_url, backend):
    ws = make_workspace(tmp_path / "ws", openai_url, SLOTTED_YAML)
    job = add_release_notes(ws)
    now = time.time()
    drive(ws, now)
    newsletter = piece_of(ws, job, "newsletter")
    assert newsletter["status"] == "in_review"
    with pytest.raises(InputError, match="in the past"):
        approve(ws, newsletter["id"], operator="ana", at=local(now - 3600))
    with pytest.raises(InputError, match="is not a time"):
        approve(ws, newsletter["id"], operator="ana", at="tomorrow 9am")
    with pytest.raises(InputError, match="both"):
        approve(ws, newsletter["id"], operator="ana", at=local(now + 3600), next_slot=True)
    with pytest.raises(StateError, match="has no slots"):
        approve(ws, newsletter["id"], operator="ana", next_slot=True)
    assert piece_of(ws, job, "newsletter")["status"] == "in_review"  # refused: nothing changed

    # Minutes are the unit: the chosen time is a whole minute in Berlin.
    chosen = (datetime.fromtimestamp(now, UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    approved = approve(ws, newsletter["id"], operator="ana", at=local(chosen.timestamp()))
    assert approved["scheduled"] == f"{local(chosen.timestamp())} Europe/Berlin"
    drive(ws, now)
    assert publish_task(ws, job, "newsletter")["wait_reason"] == f"scheduled for {local(chosen.timestamp())} Europe/Berlin"
    assert not ws.store.query("SELECT 1 FROM publications WHERE channel = 'newsletter'")

    later = chosen + timedelta(hours=2)
    moved = approve(ws, newsletter["id"], operator="ana", at=local(later.timestamp()))
    assert moved["scheduled"] == f"{local(later.timestamp())} Europe/Berlin"
    drive(ws, chosen.timestamp())
    assert not ws.store.query("SELECT 1 FROM publications WHERE channel = 'newsletter'")
    assert publish_task(ws, job, "newsletter")["wait_reason"] == f"scheduled for {local(later.timestamp())} Europe/Berlin"
    drive(ws, later.timestamp())
    assert ws.store.query("SELECT status FROM publications WHERE channel = 'newsletter'")[0]["status"] == "delivered"
    scheduled = [e for e in ws.store.read() if e.type == "PublicationScheduled" and e.data["channel"] == "newsletter"]
    assert [e.meta.actor for e in scheduled] == ["human:ana", "human:ana"]
    with pytest.raises(StateError, match="published"):
        approve(ws, newsletter["id"], operator="ana", at=local(later.timestamp() + 3600))
    assert verify(ws.store).ok
    ws.close()


def test_next_slot_takes_the_channels_next_free_slot(tmp_path, openai_url):
    yaml = SLOTTED_YAML.replace("newsletter: {gate: hard}", 'newsletter: {gate: hard, slots: ["mon-fri 09:30"]}')
    ws = make_workspace(tmp_path / "ws", openai_url, yaml)
    first, second = add_release_notes(ws), add_release_notes(ws, RELEASE_NOTES + "- Dark mode.\n")
    now = time.time()
    drive(ws, now)
    a, b = piece_of(ws, first, "newsletter"), piece_of(ws, second, "newsletter")
    at_a = from_iso(approve(ws, a["id"], operator="ana", next_slot=True)["scheduled_at"])
    at_b = from_iso(approve(ws, b["id"], operator="ana", next_slot=True)["scheduled_at"])
    assert now < at_a.timestamp() < at_b.timestamp()
    assert at_a.astimezone(BERLIN).strftime("%H:%M") == at_b.astimezone(BERLIN).strftime("%H:%M") == "09:30"
    # A taken time is refused for --at.
    with pytest.raises(StateError, match="is scheduled at"):
        approve(ws, b["id"], operator="ana", at=local(at_a.timestamp()))
    ws.close()


def test_waiting_for_renewed_credentials_does_not_use_up_attempts(tmp_path, monkeypatch, openai_url):
    from tests.support.mastodon_server import MastodonServer
    from tests.support.publishing import MASTODON_TOKEN_ENV, mastodon_table, publishing_workspace

    monkeypatch.setenv(MASTODON_TOKEN_ENV, "mastodon-token-123456")
    with MastodonServer() as mastodon:
        ws = publishing_workspace(tmp_path / "ws", openai_url, mastodon_table(mastodon.base_url), ["mastodon"])
        mastodon.expire_token()
        add_release_notes(ws)
        now = time.time()
        drive(ws, now)
        [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
        for recheck in range(1, task["max_attempts"] + 3):  # more rechecks than the task has attempts
            now = task["run_after"]
            drive(ws, now)
            task = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")[0]
            assert (task["status"], task["attempts"]) == ("queued", 0), recheck
            assert "access token is invalid" in task["wait_reason"]
        mastodon.token = "mastodon-token-123456"  # renewed
        drive(ws, task["run_after"])
        assert len(mastodon.statuses) == 1
        assert ws.store.query("SELECT status FROM tasks WHERE kind = 'publish'")[0]["status"] == "done"
        assert verify(ws.store).ok
        ws.close()


def test_two_pieces_taking_one_slot_at_once_conflict_and_the_second_looks_again(tmp_path, openai_url):
    from masthead.app.commands import get_project
    from masthead.errors import ConcurrencyConflict
    from masthead.events.model import Meta, utc_now
    from masthead.runtime.scheduling import publish_hold

    yaml = SLOTTED_YAML.replace("newsletter: {gate: hard}", 'newsletter: {gate: hard, slots: ["mon-fri 09:30"]}')
    ws = make_workspace(tmp_path / "ws", openai_url, yaml)
    first, second = add_release_notes(ws), add_release_notes(ws, RELEASE_NOTES + "- Dark mode.\n")
    now = time.time()
    drive(ws, now)
    project = get_project(ws, "tallybook")
    a, b = piece_of(ws, first, "newsletter"), piece_of(ws, second, "newsletter")
    hold_a = publish_hold(ws.store.query, project, a, now, human_approved=False)
    hold_b = publish_hold(ws.store.query, project, b, now, human_approved=False)
    assert hold_a is not None and hold_b is not None and hold_a.scheduled_at == hold_b.scheduled_at
    ws.store.append(hold_a.events, Meta(actor="system", at=utc_now()))
    with pytest.raises(ConcurrencyConflict):
        ws.store.append(hold_b.events, Meta(actor="system", at=utc_now()))
    again = publish_hold(ws.store.query, project, b, now, human_approved=False)
    assert again is not None and again.scheduled_at > hold_a.scheduled_at
    ws.close()


def test_the_cli_schedules_moves_and_shows_the_time(tmp_path, openai_url):
    from click.testing import CliRunner

    from masthead.cli.main import cli

    ws = make_workspace(tmp_path / "ws", openai_url, SLOTTED_YAML)
    job = add_release_notes(ws)
    drive(ws, time.time())
    newsletter = piece_of(ws, job, "newsletter")
    root = str(ws.root)
    ws.close()
    when = local(time.time() + 2 * 86400)
    runner = CliRunner()
    approved = runner.invoke(cli, ["-w", root, "review", "approve", newsletter["id"], "--at", when])
    assert approved.exit_code == 0, approved.output
    assert f"publishes at {when} Europe/Berlin" in approved.output
    listed = runner.invoke(cli, ["-w", root, "review", "list"])
    assert f"{newsletter['id']}  v1  newsletter scheduled for {when} Europe/Berlin" in listed.output
    later = local(time.time() + 3 * 86400)
    moved = runner.invoke(cli, ["-w", root, "review", "approve", newsletter["id"], "--at", later])
    assert moved.exit_code == 0 and f"moved {newsletter['id']} to {later} Europe/Berlin" in moved.output
    shown = runner.invoke(cli, ["-w", root, "piece", "show", newsletter["id"]])
    assert f"scheduled for {later} Europe/Berlin" in shown.output
    as_json = runner.invoke(cli, ["-w", root, "review", "list", "--json"])
    assert '"scheduled": "' + later in as_json.output


def test_rejecting_a_scheduled_piece_ends_its_publication_and_frees_its_slot(tmp_path, openai_url):
    from masthead.app.commands import reject

    yaml = SLOTTED_YAML.replace("newsletter: {gate: hard}", 'newsletter: {gate: hard, slots: ["mon-fri 09:30"]}')
    ws = make_workspace(tmp_path / "ws", openai_url, yaml)
    first, second = add_release_notes(ws), add_release_notes(ws, RELEASE_NOTES + "- Dark mode.\n")
    drive(ws, time.time())
    a, b = piece_of(ws, first, "newsletter"), piece_of(ws, second, "newsletter")
    taken = approve(ws, a["id"], operator="ana", next_slot=True)["scheduled_at"]
    drive(ws, time.time())
    reject(ws, a["id"], operator="ana", reason="not this week")
    drive(ws, time.time())
    assert publish_task(ws, first, "newsletter")["status"] == "done"  # halted at once, not at its time
    assert approve(ws, b["id"], operator="ana", next_slot=True)["scheduled_at"] == taken
    assert verify(ws.store).ok
    ws.close()
