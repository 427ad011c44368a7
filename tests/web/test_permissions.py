"""The permission matrix, one table across the CLI, the JSON API and the desk: every role tries
every action on every surface, and exactly the roles that `ACTIONS` allows get past the check
(whatever the action then says about the piece's state). Refusals name who, what and which
role would allow it: 403 JSON on the API and the desk, one line and exit code 9 on the CLI.
Also: a reviewer of another project, removed users' and rotated tokens, sessions ended by a
rotation, CSRF from another origin, and `replay --verify` after all of it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.web import csrf_from

from masthead.app.people import add_user, issue_token, remove_user, set_password
from masthead.app.permissions import ACTIONS, CLI_ACTIONS, ROLES, ROUTE_ACTIONS, Principal, allows
from masthead.app.workspace import Workspace
from masthead.cli.main import main
from masthead.projections.replay import verify

OWNER = Principal("ana", "owner")
PEOPLE = {"viewer": "vic", "reviewer": "rita", "editor": "ed", "owner": "olive"}
OTHER_PROJECT = """\
name: acme
description: Another client.
audience: Shops.
voice: {description: Plain.}
channels:
  newsletter: {gate: hard}
"""

# action -> (CLI arguments, API call, desk call); {piece} is the newsletter piece in review.
SURFACES: dict[str, dict[str, Any]] = {
    "read": {"cli": ["review", "list"], "api": ("GET", "/api/v1/review-queue", None), "desk": ("GET", "/", None)},
    "approve": {"cli": ["review", "approve", "{piece}"], "api": ("POST", "/api/v1/pieces/{piece}/approve", {}),
                "desk": ("POST", "/ui/pieces/{piece}/approve", {"version": "1", "confirm_failed_checks": "1"})},
    "reject": {"cli": ["review", "reject", "{piece}", "--reason", "no"],
               "api": ("POST", "/api/v1/pieces/{piece}/reject", {"reason": "no"}),
               "desk": ("POST", "/ui/pieces/{piece}/reject", {"reason": "no"})},
    "edit": {"cli": ["review", "edit", "{piece}", "--file", "{edit_file}"],
             "api": ("POST", "/api/v1/pieces/{piece}/edit", {"text": "Tallybook 3.2 adds bank feeds."}),
             "desk": ("POST", "/ui/pieces/{piece}/edit", {"text": "Tallybook 3.2 adds bank feeds."})},
    "refine": {"cli": ["review", "refine", "{piece}"], "api": ("POST", "/api/v1/pieces/{piece}/refine", {}),
               "desk": ("POST", "/ui/pieces/{piece}/refine", {})},
    "add_signal": {"cli": ["signal", "add", "tallybook", "--kind", "note", "--text", "hello"],
                   "api": ("POST", "/api/v1/signals", {"project": "tallybook", "kind": "note", "body": "hello"}),
                   "desk": None},
    "revert": {"cli": ["review", "revert", "{piece}", "--to-version", "1"],
               "api": ("POST", "/api/v1/pieces/{piece}/revert", {"to_version": 1}), "desk": None},
    "reopen": {"cli": ["review", "reopen", "{piece}", "--reason", "agreed"],
               "api": ("POST", "/api/v1/pieces/{piece}/reopen", {"reason": "agreed"}),
               "desk": ("POST", "/ui/pieces/{piece}/reopen", {"reason": "agreed"})},
    # Each person undoes their own last action (whatever it was in this loop), or is told there is none: never 403.
    "undo": {"cli": ["undo"], "api": ("POST", "/api/v1/undo", {}), "desk": ("POST", "/ui/undo", {})},
    "complete": {"cli": ["review", "complete", "{piece}", "--file", "{edit_file}"],
                 "api": ("POST", "/api/v1/pieces/{piece}/complete", {"text": "x"}), "desk": None},
    "retry": {"cli": ["jobs", "retry", "{job}", "--reason", "fixed"],
              "api": ("POST", "/api/v1/jobs/{job}/retry", {"reason": "fixed"}), "desk": None},
    "memory": {"cli": ["memory", "add", "Invoices are due in 30 days.", "--project", "tallybook"],
               "api": ("POST", "/api/v1/memory", {"text": "Invoices are due in 30 days.", "project": "tallybook"}),
               "desk": None},
    "run": {"cli": ["run", "--until-idle"], "api": None, "desk": None},
    "ab": {"cli": ["ab", "start", "{piece}"], "api": None, "desk": None},
    "escalate": {"cli": ["review", "escalate"], "api": None, "desk": None},
    "publishers": {"cli": ["publishers", "check"], "api": None, "desk": None},
    "retract": {"cli": ["piece", "retract", "{piece}"], "api": None, "desk": None},
    "users": {"cli": ["user", "add", "zed{role}", "--role", "viewer"], "api": None, "desk": None},
    "project": {"cli": ["project", "apply", "{project_file}"], "api": None, "desk": None},
    "administer": {"cli": ["snapshot"], "api": None, "desk": None},
    # Last: a new token of one's own ends the one this loop uses for the role.
    "token": {"cli": ["token", "--user", "{name}"], "api": None, "desk": None},
}


def run_cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def people(ws: Workspace) -> dict[str, str]:
    """One user per role, each with a token; returns role -> token."""
    tokens = {}
    for role, name in PEOPLE.items():
        add_user(ws, OWNER, name, role)
        tokens[role] = issue_token(ws, OWNER, name)
    return tokens


def fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


async def desk_client(app: Any, token: str, name: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    answer = await client.post("/login", data={"token": token, "operator": name, "next": "/"})
    assert answer.status_code == 303, answer.text
    return client, csrf_from((await client.get("/")).text)


@pytest.mark.anyio
async def test_every_role_tries_every_action_on_every_surface(ws, app, client, reviewed, people, capsys,
                                                              tmp_path: Path) -> None:
    values = {"piece": reviewed["newsletter"]["id"], "job": reviewed["newsletter"]["job_id"], "edit_file": str(tmp_path / "edit.txt"),
              "project_file": str(ws.root / "project.yaml")}
    (tmp_path / "edit.txt").write_text("Tallybook 3.2 adds bank feeds for 40 more banks.\n", "utf-8")
    outcomes = []
    for role in ROLES:
        name = PEOPLE[role]
        desk, csrf = await desk_client(app, people[role], name)
        for action, surface in SURFACES.items():
            allowed = allows(role, action)
            args = fill(surface["cli"], values | {"role": role, "name": name})
            code, output = run_cli(capsys, ["-w", str(ws.root), "--as", name, *args])
            outcomes.append(("cli", role, action, code == 9, output))
            if surface["api"]:
                method, path, body = fill(surface["api"], values)
                answer = await client.request(method, path, json=body,
                                              headers={"Authorization": f"Bearer {people[role]}"})
                outcomes.append(("api", role, action, answer.status_code == 403, answer.text))
            if surface["desk"]:
                method, path, form = fill(surface["desk"], values)
                answer = await desk.request(method, path, data=form, headers={"X-CSRF-Token": csrf})
                outcomes.append(("desk", role, action, answer.status_code == 403, answer.text))
            assert allows(role, action) == allowed
        await desk.aclose()
    assert set(SURFACES) == set(ACTIONS)  # every action, by every role
    wrong = [(surface, role, action, output[:300]) for surface, role, action, refused, output in outcomes
             if refused == allows(role, action)]
    assert not wrong, wrong
    refusal = next(o for o in outcomes if o[:3] == ("api", "viewer", "approve"))[4]
    assert "vic is a viewer and may not approve a piece" in refusal and "reviewer or editor or owner" in refusal
    cli_refusal = next(o for o in outcomes if o[:3] == ("cli", "reviewer", "edit"))[4]
    assert cli_refusal.count("\n") == 1 and cli_refusal.startswith("error: rita is a reviewer and may not edit")
    report = verify(ws.store)
    assert report.problem is None


def app_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    """(method, full path) of every route, through included routers (FastAPI keeps them nested)."""
    found = []
    for route in routes:
        if hasattr(route, "original_router"):
            found += app_routes(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            found += [(method, prefix + route.path) for method in getattr(route, "methods", None) or ()]
    return found


def test_every_cli_command_and_route_names_a_known_action(app) -> None:
    from masthead.cli.lazy import load_command
    from masthead.cli.main import COMMANDS

    paths = []
    for name, lazy in COMMANDS.items():
        command = load_command(lazy.target)
        subcommands = getattr(command, "commands", None)
        paths += [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
    assert sorted(set(paths) - set(CLI_ACTIONS)) == []
    assert set(CLI_ACTIONS.values()) <= set(ACTIONS)
    changing = {(method, path) for method, path in app_routes(app.routes)
                if method not in ("GET", "HEAD") and not path.startswith(("/hooks", "/login"))}
    assert ("POST", "/api/v1/pieces/{piece_id}/approve") in changing and ("POST", "/ui/tasks/{task_id}/complete") in changing
    assert sorted(changing - set(ROUTE_ACTIONS)) == []
    assert set(ROUTE_ACTIONS.values()) <= set(ACTIONS)


def test_the_permissions_page_is_generated_from_the_table() -> None:
    from masthead.app.permissions import matrix_markdown

    path = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
    assert path.read_text("utf-8") == matrix_markdown(), (
        "regenerate: python -m masthead.app.permissions > docs/permissions.md")


@pytest.mark.anyio
async def test_a_reviewer_of_another_project_is_refused_everywhere(ws, client, reviewed, capsys) -> None:
    (ws.root / "acme.yaml").write_text(OTHER_PROJECT, "utf-8")
    from masthead.app.commands import apply_project

    apply_project(ws, ws.root / "acme.yaml")
    add_user(ws, OWNER, "olga", "reviewer", projects=["acme"])
    token = issue_token(ws, OWNER, "olga")
    piece = reviewed["newsletter"]["id"]
    answer = await client.post(f"/api/v1/pieces/{piece}/approve", json={}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403
    assert "olga may approve a piece only in projects acme, not in tallybook" in answer.json()["error"]["message"]
    code, output = run_cli(capsys, ["-w", str(ws.root), "--as", "olga", "review", "approve", piece])
    assert code == 9 and "only in projects acme" in output
    # Reading is not scoped; the piece is still waiting.
    assert (await client.get("/api/v1/review-queue", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    assert ws.store.query("SELECT status FROM pieces WHERE id = ?", (piece,))[0]["status"] == "in_review"


@pytest.mark.anyio
async def test_removed_users_and_rotated_tokens_are_refused(ws, app, client) -> None:
    add_user(ws, OWNER, "rita", "reviewer")
    old = issue_token(ws, OWNER, "rita")
    bearer = {"Authorization": f"Bearer {old}"}
    assert (await client.get("/api/v1/review-queue", headers=bearer)).status_code == 200
    desk, _csrf = await desk_client(app, old, "rita")
    assert (await desk.get("/")).status_code == 200
    new = issue_token(ws, Principal("rita", "reviewer"), "rita")  # anyone may rotate their own
    assert (await client.get("/api/v1/review-queue", headers=bearer)).status_code == 401
    assert (await client.get("/api/v1/review-queue", headers={"Authorization": f"Bearer {new}"})).status_code == 200
    ended = await desk.get("/")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    set_password(ws, OWNER, "rita", "correct horse battery")
    by_password = await client.post("/login", data={"token": "correct horse battery", "operator": "rita"})
    assert by_password.status_code == 303
    remove_user(ws, OWNER, "rita")
    assert (await client.get("/api/v1/review-queue", headers={"Authorization": f"Bearer {new}"})).status_code == 401
    assert (await client.get("/")).status_code == 303  # the password session ended with the user
    again = await client.post("/login", data={"token": "correct horse battery", "operator": "rita"})
    assert again.status_code == 401
    await desk.aclose()
    assert ws.store.query("SELECT * FROM user_credentials") == []
    events = ws.store.query("SELECT data FROM events WHERE stream = 'user-rita'")
    assert events and not any(old in e["data"] or new in e["data"] for e in events)  # no secret in the log


@pytest.mark.anyio
async def test_a_user_token_acts_only_as_its_user(ws, client, reviewed, people) -> None:
    piece = reviewed["newsletter"]["id"]
    answer = await client.post(f"/api/v1/pieces/{piece}/approve", json={"operator": "olive"},
                               headers={"Authorization": f"Bearer {people['reviewer']}"})
    assert answer.status_code == 403 and "rita may act only as themself" in answer.json()["error"]["message"]


@pytest.mark.anyio
async def test_a_session_request_from_another_origin_is_refused(ws, app, reviewed, people) -> None:
    desk, csrf = await desk_client(app, people["owner"], "olive")
    piece = reviewed["newsletter"]["id"]
    forged = await desk.post(f"/ui/pieces/{piece}/reject", data={"reason": "x", "csrf_token": csrf},
                             headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert ws.store.query("SELECT status FROM pieces WHERE id = ?", (piece,))[0]["status"] == "in_review"
    same = await desk.post(f"/ui/pieces/{piece}/reject", data={"reason": "x", "csrf_token": csrf},
                           headers={"Origin": "http://testserver"})
    assert same.status_code in (200, 303)
    await desk.aclose()


@pytest.mark.anyio
async def test_the_desk_offers_only_the_buttons_a_role_may_use(ws, app, reviewed, people) -> None:
    piece = reviewed["newsletter"]["id"]
    shown = {}
    for role in ("viewer", "reviewer", "editor"):
        desk, _csrf = await desk_client(app, people[role], PEOPLE[role])
        page = (await desk.get(f"/pieces/{piece}")).text
        shown[role] = ("act-approve" in page, "act-reject" in page, "act-edit" in page, f"({role})" in page)
        await desk.aclose()
    assert shown == {"viewer": (False, False, False, True), "reviewer": (True, True, False, True),
                     "editor": (True, True, True, True)}


@pytest.mark.anyio
async def test_two_approvals_through_the_api_and_what_the_desk_shows(ws, app, client, people) -> None:
    from tests.support.harness import PROJECT_YAML, add_release_notes, pieces_by_channel
    from tests.web.conftest import run_until_idle

    from masthead.app.commands import apply_project
    from masthead.app.escalation import escalate_due

    (ws.root / "project.yaml").write_text(PROJECT_YAML.replace(
        "newsletter: {gate: hard}", "newsletter: {gate: hard, approvals: 2}") + "escalation: [{after: 1m, notify: owner}]\n",
        "utf-8")
    apply_project(ws, ws.root / "project.yaml")
    job = add_release_notes(ws)
    run_until_idle(ws)
    piece = pieces_by_channel(ws, job)["newsletter"]["id"]
    first = await client.post(f"/api/v1/pieces/{piece}/approve", json={"version": 1},
                              headers={"Authorization": f"Bearer {people['reviewer']}"})
    assert first.status_code == 200 and first.json()["status"] == "in_review"
    assert first.json()["missing"] == ["1 more approval"]
    assert [e["notify"] for e in escalate_due(ws, now=time.time() + 120)] == ["owner"]
    desk, _csrf = await desk_client(app, people["editor"], "ed")
    page = (await desk.get(f"/pieces/{piece}")).text
    assert "1 of 2 in" in page and "rita, reviewer" in page and "still needed" in page
    assert "escalated to owner" in page and "escalated to owner" in (await desk.get("/")).text
    await desk.aclose()
    second = await client.post(f"/api/v1/pieces/{piece}/approve", json={"version": 1},
                               headers={"Authorization": f"Bearer {people['editor']}"})
    assert second.json()["status"] == "approved" and second.json()["missing"] == []
    run_until_idle(ws)
    assert pieces_by_channel(ws, job)["newsletter"]["status"] == "published"
    assert verify(ws.store).problem is None
