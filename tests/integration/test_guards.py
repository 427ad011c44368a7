"""Operating under limits, against the loopback OpenAI-compatible server: rate limits and 429s,
breakers and fallbacks, timeouts, budgets, backpressure, ageing, off-peak and manual fallback.
Every guard decision must be an event in the log with its reason."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.support.harness import (
    KEY_ENV,
    PROJECT_YAML,
    RELEASE_NOTES,
    add_release_notes,
    content_reply,
    make_workspace,
    pieces_by_channel,
)
from tests.support.openai_server import OpenAIServer, Reply

from masthead.app import commands
from masthead.app.costs import cost_report
from masthead.app.listings import held_work, job_overview, task_detail
from masthead.projections.replay import verify
from masthead.runtime.worker import Worker

X_ONLY = """\
name: tallybook
description: Invoicing software.
audience: Freelancers.
voice: {description: Plain.}
channels:
  x: {gate: auto}
"""


@pytest.fixture
def server():
    with OpenAIServer(api_key="sk-test", reply=content_reply) as srv:
        yield srv


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")


def events(ws, type_: str) -> list:
    return [e for e in ws.store.read() if e.type == type_]


def run(ws, concurrency: int = 1) -> None:
    ws.runner(concurrency=concurrency).run(until_idle=True)


def with_toml(root: Path, extra: str) -> None:
    path = root / "masthead.toml"
    path.write_text(path.read_text() + "\n" + extra)


def reopen(ws):
    from masthead.app.workspace import open_workspace

    root = ws.root
    ws.close()
    return open_workspace(str(root))


# -- 429s, 5xx, timeouts ------------------------------------------------------------------
def test_429_storm_with_short_retry_after_is_retried_in_the_call(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    server.script(*[Reply.error(429, "slow down", retry_after="0.05")] * 3)
    job = add_release_notes(ws)
    run(ws)
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"
    failed = events(ws, "ModelCallFailed")
    assert len(failed) == 3 and all(e.data["transient"] and e.data["retry_in"] == 0.05 for e in failed)
    assert "slow down" in failed[0].data["error"]
    assert verify(ws.store).ok
    ws.close()


def test_429_without_retry_after_backs_off_and_succeeds(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    server.script(Reply.error(429), Reply.error(429))
    job = add_release_notes(ws)
    run(ws)
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"
    assert [e.data["retry_in"] for e in events(ws, "ModelCallFailed")] == [None, None]
    ws.close()


def test_long_retry_after_defers_the_task_visibly(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    server.script(Reply.error(429, "quota", retry_after="3"))
    job = add_release_notes(ws)
    worker = Worker(ws.store, ws.services(), "t:1:0", lease_seconds=30, backoff_base=0, backoff_max=0)
    report = worker.run(worker.claim())
    assert report.status == "deferred"
    task = ws.store.query("SELECT status, wait_reason, run_after, attempts FROM tasks WHERE id = ?", (f"{job}.brief",))[0]
    assert task["status"] == "waiting_rate_limit" and "asked to wait 3 s" in task["wait_reason"]
    assert task["run_after"] > time.time() + 2 and task["attempts"] == 0  # a deferral is not an attempt
    assert worker.claim() is None  # nothing else is ready before the wait is over
    deferred = events(ws, "TaskDeferred")
    assert deferred[0].data["state"] == "waiting_rate_limit"
    run(ws)  # --until-idle waits for rate-limit waits: they are short
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"
    ws.close()


def test_server_errors_open_the_breaker_and_a_probe_closes_it(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    with_toml(ws.root, "[breaker]\nfailures = 3\nwindow_seconds = 30.0\ncooldown_seconds = 0.3\n")
    ws = reopen(ws)
    server.script(*[Reply.error(500)] * 3)
    job = add_release_notes(ws)
    run(ws)
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"
    kinds = [e.type for e in ws.store.read() if e.type.startswith("Circuit")]
    assert kinds == ["CircuitOpened", "CircuitHalfOpened", "CircuitClosed"]
    opened = events(ws, "CircuitOpened")[0]
    assert opened.data["endpoint"] == "openai" and opened.data["failures"] == 3
    assert ws.store.query("SELECT state FROM breakers")[0]["state"] == "closed"
    ws.close()


def test_timeouts_are_retried(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    text = (ws.root / "masthead.toml").read_text().replace("timeout_seconds = 5.0", "timeout_seconds = 0.3")
    (ws.root / "masthead.toml").write_text(text)
    ws = reopen(ws)
    server.script(Reply.slow(1.0))
    job = add_release_notes(ws)
    run(ws)
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"
    failed = events(ws, "ModelCallFailed")
    assert len(failed) == 1 and "did not answer within 0.3s" in failed[0].data["error"]
    ws.close()


def test_client_errors_are_not_retried_and_hand_the_step_to_a_human(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    server.script(Reply.error(400, "bad request: messages too long"))
    job = add_release_notes(ws)
    run(ws)
    assert len(events(ws, "ModelCallFailed")) == 1
    task = ws.store.query("SELECT status, needs_human FROM tasks WHERE id = ?", (f"{job}.brief",))[0]
    assert task["status"] == "needs_human"
    detail = json.loads(task["needs_human"])
    assert "messages too long" in detail["reason"] and detail["inputs"]["signal"]["kind"] == "release_notes"
    ws.close()


@pytest.mark.slow
def test_fallback_to_the_local_model_when_the_endpoint_is_down(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    text = (ws.root / "masthead.toml").read_text().replace(
        'model = "gpt-test"\n', 'model = "gpt-test"\nfallbacks = ["local:smollm2-135m-instruct"]\nmax_tokens = 48\n', 1)
    (ws.root / "masthead.toml").write_text(text + "\n[breaker]\nfailures = 2\nwindow_seconds = 30.0\ncooldown_seconds = 600.0\n")
    ws = reopen(ws)
    server.script(*[Reply.error(503)] * 50)
    job = add_release_notes(ws)
    run(ws)
    calls = ws.store.query("SELECT provider, model, requested, tier FROM model_calls WHERE task_id = ?", (f"{job}.brief",))
    assert calls and calls[0]["provider"] == "local" and calls[0]["requested"] == "openai:gpt-test"
    assert events(ws, "CircuitOpened")
    # After the breaker opened, no more calls went to the dead endpoint.
    chat = [c for c in server.calls if c.path.endswith("/chat/completions")]
    assert len(chat) <= 3 * 2  # at most two failing attempts before the breaker opened (+ in-call retries)
    ws.close()


# -- budgets -------------------------------------------------------------------------------
BUDGET_PROJECT = PROJECT_YAML.replace("channels:", "budget:\n  daily_usd: 0.02\nchannels:").replace(
    "  linkedin: {gate: soft, soft_delay_minutes: 0}\n  newsletter: {gate: hard}\n", "").replace(
    "  required_disclaimers:\n    linkedin: \"Posted by the Tallybook team.\"\n", "")


def test_budget_runs_out_mid_batch_then_resumes_when_raised(tmp_path, server):
    # Prices make each call's worst-case hold about $0.0015 and its real cost far less.
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=BUDGET_PROJECT)
    text = (ws.root / "masthead.toml").read_text().replace("input_per_million = 1.0\noutput_per_million = 2.0",
                                                           "input_per_million = 10.0\noutput_per_million = 20.0")
    (ws.root / "masthead.toml").write_text(text)
    ws = reopen(ws)
    critical = add_release_notes(ws, priority="high")
    background = [add_release_notes(ws, priority="low") for _ in range(4)]
    run(ws)
    statuses = {r["id"]: r["status"] for r in ws.store.query("SELECT id, status FROM jobs")}
    assert statuses[critical] == "done"
    deferred = ws.store.query("SELECT DISTINCT job_id FROM tasks WHERE status = 'deferred_budget'")
    assert deferred, "some background work should wait for budget"
    assert {r["job_id"] for r in deferred} <= set(background)
    limits = events(ws, "BudgetLimitReached")
    assert limits and all(e.data["limit"].startswith("project.daily_usd") for e in limits)
    assert {e.data["action"] for e in limits} <= {"deferred", "allowed_critical"}
    assert any(e.data["action"] == "deferred" and e.data["over_by"] > 0 for e in limits)
    # What is held for budget is said: by `run` (held_work) and to the next signal of the project.
    held = held_work(ws)["held_tasks"]
    assert {t["status"] for t in held} == {"deferred_budget"} and held[0]["reason"].startswith("budget: ")
    late = commands.add_signal(ws, "tallybook", kind="release_notes", body=RELEASE_NOTES, title=None,
                               priority="low", source="test")
    assert late.budget_wait is not None and late.budget_wait.startswith("budget: project.daily_usd")
    background.append(late.job_ids[0])
    # The ledger shows the project's daily limit and what was spent against it.
    report = cost_report(ws, project="tallybook")
    daily = next(b for b in report["budgets"] if b["scope"] == "project" and b["limit"] == "daily_usd")
    assert daily["value"] == 0.02 and daily["spent"] == report["total_usd"] > 0
    assert report["cost_per_published_piece"] == pytest.approx(report["total_usd"] / report["published_pieces"])
    # The operator raises the limit: deferred work resumes by itself.
    (ws.root / "project.yaml").write_text(BUDGET_PROJECT.replace("daily_usd: 0.02", "daily_usd: 5.0"))
    commands.apply_project(ws, ws.root / "project.yaml")
    run(ws)
    statuses = {r["id"]: r["status"] for r in ws.store.query("SELECT id, status FROM jobs")}
    assert all(statuses[j] == "done" for j in background)
    assert not ws.store.query("SELECT * FROM budget_reservations")
    assert verify(ws.store).ok
    ws.close()


def test_spend_never_passes_a_limit_for_normal_work(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=BUDGET_PROJECT)
    text = (ws.root / "masthead.toml").read_text().replace("input_per_million = 1.0\noutput_per_million = 2.0",
                                                           "input_per_million = 10.0\noutput_per_million = 20.0")
    (ws.root / "masthead.toml").write_text(text)
    ws = reopen(ws)
    for _ in range(6):
        add_release_notes(ws)
    run(ws, concurrency=3)
    spent = ws.store.query("SELECT SUM(cost_usd) AS s FROM model_calls")[0]["s"]
    assert 0 < spent <= 0.02
    assert ws.store.query("SELECT COUNT(*) AS n FROM tasks WHERE status = 'deferred_budget'")[0]["n"] > 0
    ws.close()


def test_per_job_token_limit_hands_the_step_to_a_human(tmp_path, server):
    project = X_ONLY.replace("channels:", "budget:\n  per_job_tokens: 200\nchannels:")
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=project)
    job = add_release_notes(ws)
    run(ws)
    task = ws.store.query("SELECT status, wait_reason FROM tasks WHERE job_id = ? AND status = 'needs_human'", (job,))
    assert task and "per_job_tokens" in task[0]["wait_reason"]
    assert events(ws, "BudgetLimitReached")[0].data["action"] == "needs_human"
    ws.close()


# -- backpressure, ordering, off-peak ----------------------------------------------------------
def test_backpressure_parks_jobs_and_never_drops_them(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY.replace("channels:", "max_active_jobs: 1\nchannels:"))
    jobs = [add_release_notes(ws) for _ in range(3)]
    parked = ws.store.query("SELECT id FROM jobs WHERE status = 'deferred'")
    assert {r["id"] for r in parked} == set(jobs[1:])
    assert "max_active_jobs 1" in events(ws, "JobDeferred")[0].data["reason"]
    run(ws, concurrency=2)
    assert {r["status"] for r in ws.store.query("SELECT status FROM jobs")} == {"done"}
    assert len(events(ws, "JobReleased")) == 2
    assert verify(ws.store).ok
    ws.close()


HARD_X_ONE_SLOT = X_ONLY.replace("gate: auto", "gate: hard").replace("channels:", "max_active_jobs: 1\nchannels:")


def job_status(ws, job_id: str) -> str:
    return ws.store.query("SELECT status FROM jobs WHERE id = ?", (job_id,))[0]["status"]


def test_a_job_waiting_for_review_holds_no_backpressure_slot(tmp_path, server):
    """Issue 17 (2): jobs waiting for a person used every slot, so new signals stalled."""
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=HARD_X_ONE_SLOT)
    first = add_release_notes(ws)
    run(ws)
    assert ws.store.query("SELECT status FROM tasks WHERE id = ?", (f"{first}.gate.x",))[0]["status"] == "waiting"
    second = add_release_notes(ws, priority="high")
    assert job_status(ws, second) == "running"
    assert not events(ws, "JobDeferred")
    run(ws)
    assert {p["status"] for p in pieces_by_channel(ws, second).values()} == {"in_review"}
    ws.close()


def test_a_parked_job_starts_when_the_active_one_waits_for_a_person(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=HARD_X_ONE_SLOT)
    first, second = add_release_notes(ws), add_release_notes(ws)
    assert job_status(ws, second) == "deferred"
    reason = events(ws, "JobDeferred")[0].data["reason"]
    assert "1 of 1 active jobs for project tallybook" in reason and "waits for a person" in reason
    run(ws)  # one run: the first job reaches its hard gate, which frees the slot for the second
    released = events(ws, "JobReleased")
    assert [e.data["id"] for e in released] == [second]
    assert f"job {first} waits (waiting for review" in released[0].data["reason"]
    assert released[0].meta.causation_id == f"{first}.gate.x"
    for job in (first, second):
        assert pieces_by_channel(ws, job)["x"]["status"] == "in_review"
    history = job_overview(ws, second)["history"]
    assert [e["type"] for e in history] == ["JobStarted", "JobDeferred", "JobReleased"]
    assert history[2]["reason"] == released[0].data["reason"]
    assert held_work(ws) == {"parked_jobs": [], "held_tasks": []}
    # The person approves the first piece: its job goes on (over the bound for a moment; the
    # bound decides when new jobs start, not whether a person's decision is carried out).
    commands.approve(ws, pieces_by_channel(ws, first)["x"]["id"], operator="ana")
    run(ws)
    assert (job_status(ws, first), job_status(ws, second)) == ("done", "running")
    assert verify(ws.store).ok
    ws.close()


def test_a_job_handed_to_a_person_frees_its_slot(tmp_path, server):
    server.default_reply = lambda body: ("not json at all" if body["response_format"]["json_schema"]["name"]
                                         == "DraftOutput" else content_reply(body))
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=HARD_X_ONE_SLOT)
    # Nothing to compose from (the signal has no item), so the failed draft needs a person.
    first, second = add_release_notes(ws, body="Tallybook 3.2"), add_release_notes(ws, body="Tallybook 3.2")
    run(ws)
    assert ws.store.query("SELECT status FROM tasks WHERE id = ?", (f"{first}.draft.x",))[0]["status"] == "needs_human"
    assert "a person must finish a step" in events(ws, "JobReleased")[0].data["reason"]
    assert job_status(ws, second) == "running"
    ws.close()


def test_ageing_lets_old_low_priority_work_overtake_a_flood(tmp_path, server, monkeypatch):
    from types import SimpleNamespace

    import masthead.runtime.jobs as jobs

    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY, ageing_seconds=10.0)
    t0 = time.time()
    monkeypatch.setattr(jobs, "time", SimpleNamespace(time=lambda: t0))
    low = add_release_notes(ws, priority="low")
    # Claimed tasks are held (not run) for the whole test: a long lease keeps them claimed.
    worker = Worker(ws.store, ws.services(), "t:1:0", lease_seconds=3600, backoff_base=0, backoff_max=0,
                    ageing_seconds=10.0)
    # High-priority work keeps arriving; each arrival is fresh, the low task keeps ageing.
    order = []
    for minute in range(1, 6):
        now = t0 + 60 * minute
        monkeypatch.setattr(jobs, "time", SimpleNamespace(time=lambda now=now: now))
        for _ in range(3):
            add_release_notes(ws, priority="high")
        task = worker.claim(now=now + 1)
        assert task is not None
        order.append(task["job_id"] == low)
    # A task gains a point per 10 s waited. High work (10 points) that arrived with the low
    # task (1 point) stays ahead of it; high work arriving more than 90 s later falls behind.
    assert order == [False, False, False, True, False]
    ws.close()


def test_background_work_waits_for_off_peak_windows(tmp_path, server):
    hour = time.gmtime().tm_hour
    closed = f"{(hour + 3) % 24:02d}:00-{(hour + 4) % 24:02d}:00"
    project = X_ONLY.replace("channels:", f'off_peak: ["{closed}"]\nchannels:')
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=project)
    background = add_release_notes(ws, priority="low")
    normal = add_release_notes(ws, priority="normal")
    run(ws)
    assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (normal,))[0]["status"] == "done"
    task = ws.store.query("SELECT status, wait_reason, run_after FROM tasks WHERE job_id = ?", (background,))[0]
    assert task["status"] == "off_peak" and closed in task["wait_reason"]
    assert task["run_after"] > time.time() + 3600
    ws.close()


# -- providers built when a step first needs one ---------------------------------------------
def test_a_missing_key_holds_only_the_steps_that_need_it_until_it_is_set(tmp_path, server, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    assert commands.check_tier_providers(ws) == [
        f"[models.draft] provider openai: environment variable {KEY_ENV} is not set, so the openai provider"
        f" has no key (fix: export {KEY_ENV}=... (or change [providers.openai] api_key_env in masthead.toml),"
        " then run again); steps that need it will wait"]
    job = add_release_notes(ws)
    run(ws)
    brief = task_detail(ws, f"{job}.brief")
    assert (brief["status"], brief["attempts"]) == ("waiting_config", 0)
    assert f"environment variable {KEY_ENV} is not set" in brief["wait_reason"]
    assert "resumes on the next `masthead run`" in brief["wait_reason"]
    assert job_status(ws, job) == "running" and server.calls == []
    assert held_work(ws)["held_tasks"] == [{"id": f"{job}.brief", "status": "waiting_config",
                                            "reason": brief["wait_reason"]}]
    assert not events(ws, "BudgetReserved") and not events(ws, "ModelCallFailed")
    run(ws)  # still unset: it waits again, nothing fails
    assert task_detail(ws, f"{job}.brief")["status"] == "waiting_config"

    monkeypatch.setenv(KEY_ENV, "sk-test")
    ws = reopen(ws)
    assert commands.check_tier_providers(ws) == []
    run(ws)
    assert job_status(ws, job) == "done"
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"
    assert verify(ws.store).ok
    ws.close()


# -- progressive refinement and manual completion -------------------------------------------------
def test_review_refine_uses_the_final_tier_and_shows_its_cost(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url)
    job = add_release_notes(ws)
    run(ws)
    newsletter = pieces_by_channel(ws, job)["newsletter"]
    commands.refine(ws, newsletter["id"], operator="ana", note="mention the free plan")
    run(ws)
    from masthead.app.queries import piece_detail

    detail = piece_detail(ws, newsletter["id"])
    assert [v["kind"] for v in detail["versions"]] == ["draft", "refinement"]
    assert detail["versions"][1]["tier"] == "final" and detail["versions"][1]["cost_usd"] > 0
    refine_call = next(c for c in server.calls if "operator note: mention the free plan" in json.dumps(c.body))
    assert refine_call.body["model"] == "gpt-test-large"
    assert detail["status"] == "in_review"  # a hard gate wants approval of the new version
    commands.approve(ws, newsletter["id"], operator="ana", version=2)
    run(ws)
    assert pieces_by_channel(ws, job)["newsletter"]["status"] == "published"
    ws.close()


def test_manual_completion_lets_the_recipe_continue(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)

    def refuse_drafts(body):
        if body["response_format"]["json_schema"]["name"] == "DraftOutput":
            return "not json at all"
        return content_reply(body)

    server.default_reply = refuse_drafts
    # Nothing to compose from (the signal has no item), so the failed draft needs a person.
    job = add_release_notes(ws, body="Tallybook 3.2")
    run(ws)
    task_id = f"{job}.draft.x"
    task = ws.store.query("SELECT status, needs_human FROM tasks WHERE id = ?", (task_id,))[0]
    assert task["status"] == "needs_human"
    partial = json.loads(task["needs_human"])["partial"]
    assert partial and partial[0]["output"] == "not json at all"
    from masthead.app.queries import manual_queue

    assert [item["id"] for item in manual_queue(ws)] == [task_id]
    commands.complete(ws, task_id, operator="ana", text="Tallybook 3.2 adds bank feeds for 40 more banks.")
    run(ws)
    piece = pieces_by_channel(ws, job)["x"]
    # The substance check holds human versions too: with no item in the signal, a person approves.
    assert piece["status"] == "in_review"
    assert any(flag.startswith("substance: nothing concrete") for flag in json.loads(piece["flags"]))
    commands.approve(ws, piece["id"], operator="ana", version=piece["version"])
    run(ws)
    piece = pieces_by_channel(ws, job)["x"]
    assert piece["status"] == "published"
    versions = ws.store.query("SELECT author, kind FROM piece_versions WHERE piece_id = ?", (piece["id"],))
    assert versions[0]["author"] == "human:ana"
    assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] == "done"
    assert verify(ws.store).ok
    ws.close()


def test_completing_a_json_step_validates_it(tmp_path, server):
    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    server.script(Reply.error(400, "nope"))
    job = add_release_notes(ws)
    run(ws)
    from masthead.errors import InputError

    before = len(list(ws.store.read()))
    with pytest.raises(InputError, match="not valid BriefOutput JSON"):
        commands.complete(ws, f"{job}.brief", operator="ana", text="just some words")
    assert len(list(ws.store.read())) == before
    commands.complete(ws, f"{job}.brief", operator="ana",
                      text=json.dumps({"headline": "Tallybook 3.2", "key_points": ["40 more banks"], "angle": "less work"}))
    run(ws)
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"
    ws.close()


def test_a_step_that_overruns_its_timeout_is_retried_and_its_late_outcome_never_lands(tmp_path, server):
    import threading
    from typing import ClassVar

    from masthead.agents.base import AgentInput, AgentOutput, AgentResult, Effect, SignalContext
    from masthead.agents.registry import register

    hang = threading.Event()
    attempts: list[int] = []

    class NapInput(AgentInput):
        signal: SignalContext

    class NapOutput(AgentOutput):
        text: str

    @register
    class NapAgent:
        name: ClassVar[str] = "nap_test"
        prompt_version: ClassVar[str] = "nap/1"
        effect: ClassVar[Effect] = "none"
        input_model = NapInput
        output_model = NapOutput

        def run(self, inp: NapInput, model: object) -> AgentResult:
            attempts.append(len(attempts) + 1)
            if len(attempts) == 1:
                hang.wait(30)  # the first attempt hangs until the test lets it go
            return AgentResult(output=NapOutput(text=f"attempt {len(attempts)}"))

    ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=X_ONLY)
    (ws.root / "recipes").mkdir(exist_ok=True)
    (ws.root / "recipes" / "nap.yaml").write_text(
        "name: nap\ntrigger: {signal_kinds: [nap]}\nsteps:\n"
        "  - {id: nap, agent: nap_test, timeout_seconds: 0.3, retries: 1}\n")
    job = commands.add_signal(ws, "tallybook", kind="nap", body="wake me", title=None, priority="normal",
                              source="test").job_ids[0]
    try:
        run(ws)
        task = task_detail(ws, f"{job}.nap")
        assert (task["status"], task["attempts"], task["output"]["output"]) == ("done", 2, {"text": "attempt 2"})
        [retry] = [e for e in events(ws, "TaskRetryScheduled") if e.data["id"] == f"{job}.nap"]
        assert "timed out after 0.3 s" in retry.data["error"]
    finally:
        hang.set()  # the abandoned first attempt returns now, with an outcome nobody may record
    time.sleep(0.5)
    after = task_detail(ws, f"{job}.nap")
    assert (after["status"], after["version"], after["output"]) == ("done", task["version"], task["output"])
    assert verify(ws.store).ok
    ws.close()
