"""Who may do what: the permission matrix, in one table (`ACTIONS`), and where each surface uses it.

Roles are ordered: a viewer reads; a reviewer also approves or rejects; an editor also edits,
refines, completes and adds signals; an owner also changes projects, publishers, budgets and
users and retracts. `ACTIONS` names the lowest role that may do each action; `scoped` actions
are limited further by the user's `--projects`/`--channels`. docs/permissions.md is generated
from this table (`python -m masthead.app.permissions`) and a test checks it is current.

Every CLI command (`CLI_ACTIONS`), API route and desk action (`ROUTE_ACTIONS`) names its
action; the app layer checks it before anything is appended. Agents and the system are actors
too: they do what the recipe's steps declare (an agent's effect: none, draft, publish) and are
not people, so no row here applies to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from masthead.errors import PermissionDenied

__all__ = ["ACTIONS", "CLI_ACTIONS", "ROLES", "ROUTE_ACTIONS", "PermissionDenied", "Principal", "authorize"]

ROLES = ("viewer", "reviewer", "editor", "owner")  # each may do everything the ones before it may


@dataclass(frozen=True)
class Action:
    role: str  # the lowest role allowed
    scoped: bool  # limited to the user's projects and channels
    what: str  # how a refusal names it


ACTIONS: dict[str, Action] = {
    "read": Action("viewer", False, "read pieces, signals, jobs, costs and the log"),
    "token": Action("viewer", False, "see or rotate one's own token"),
    "approve": Action("reviewer", True, "approve a piece"),
    "reject": Action("reviewer", True, "reject a piece"),
    "reopen": Action("reviewer", True, "reopen a rejected piece"),
    "undo": Action("reviewer", True, "undo one's own last action (shortly after it)"),
    "edit": Action("editor", True, "edit a piece"),
    "revert": Action("editor", True, "revert a piece to an earlier version"),
    "refine": Action("editor", True, "ask for a refinement"),
    "complete": Action("editor", True, "complete a step by hand"),
    "retry": Action("editor", True, "retry a job's failed steps"),
    "add_signal": Action("editor", True, "add a signal"),
    "memory": Action("editor", False, "add to or forget from memory"),
    "run": Action("editor", False, "run queued work (steps act as the system)"),
    "ab": Action("editor", False, "start and record A/B tests"),
    "escalate": Action("editor", False, "check waiting reviews against the escalation paths"),
    "project": Action("owner", False, "change projects, recipes and budgets"),
    "publishers": Action("owner", False, "change or use publishers directly"),
    "retract": Action("owner", False, "retract a publication"),
    "users": Action("owner", False, "manage users and their tokens"),
    "administer": Action("owner", False, "serve, back up, restore, export, import, snapshot or rebuild"),
}

# Every CLI command, by its path after `masthead`, and the action it needs. A command missing
# here is refused as `administer` (owner only); a test lists every command, so a new one is
# classified when it is added.
CLI_ACTIONS: dict[str, str] = {
    "ab list": "read", "ab show": "read", "ab start": "ab", "ab record": "ab",
    "backup": "administer", "costs": "read", "demo": "administer", "export": "administer",
    "forget-person": "users", "import": "administer", "init": "administer", "jobs list": "read", "jobs show": "read", "jobs retry": "retry", "log": "read",
    "memory list": "read", "memory search": "read", "memory add": "memory", "memory forget": "memory",
    "memory import": "memory", "memory reindex": "memory", "migrate": "administer",
    "piece show": "read", "piece retract": "retract", "pieces list": "read",
    "project list": "read", "project show": "read", "project apply": "project",
    "proposal outcome": "edit", "publications list": "read", "publications settle": "publishers",
    "review resolve": "approve", "template list": "read", "template show": "read", "template validate": "read",
    "publishers list": "read", "publishers check": "publishers",
    "recipe list": "read", "recipe show": "read", "recipe validate": "read",
    "replay": "administer", "restore": "administer",
    "review list": "read", "review show": "read", "review approve": "approve", "review reject": "reject",
    "review edit": "edit", "review refine": "refine", "review complete": "complete",
    "review revert": "revert", "review reopen": "reopen", "review escalate": "escalate",
    "run": "run", "serve": "administer", "signal add": "add_signal", "signals list": "read",
    "signals show": "read", "snapshot": "administer", "sources list": "read", "sources poll": "add_signal",
    "token": "token", "undo": "undo", "worker": "run", "workers": "read",
    "user add": "users", "user list": "read", "user remove": "users", "user set-role": "users",
    "user password": "users",
}

# API routes and desk actions by (method, path template). GET/HEAD of any route is `read`.
ROUTE_ACTIONS: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/signals"): "add_signal",
    ("POST", "/api/v1/pieces/{piece_id}/approve"): "approve",
    ("POST", "/api/v1/pieces/{piece_id}/reject"): "reject",
    ("POST", "/api/v1/pieces/{piece_id}/edit"): "edit",
    ("POST", "/api/v1/pieces/{piece_id}/refine"): "refine",
    ("POST", "/api/v1/pieces/{piece_id}/complete"): "complete",
    ("POST", "/api/v1/pieces/{piece_id}/revert"): "revert",
    ("POST", "/api/v1/pieces/{piece_id}/reopen"): "reopen",
    ("POST", "/api/v1/tasks/{task_id}/complete"): "complete",
    ("POST", "/api/v1/jobs/{job_id}/retry"): "retry",
    ("POST", "/api/v1/undo"): "undo",
    ("POST", "/api/v1/memory"): "memory",
    ("POST", "/api/v1/memory/{item_id}/forget"): "memory",
    ("POST", "/ui/pieces/{piece_id}/approve"): "approve",
    ("POST", "/ui/pieces/{piece_id}/reject"): "reject",
    ("POST", "/ui/pieces/{piece_id}/reopen"): "reopen",
    ("POST", "/ui/pieces/{piece_id}/edit"): "edit",
    ("POST", "/ui/pieces/{piece_id}/refine"): "refine",
    ("POST", "/ui/tasks/{task_id}/complete"): "complete",
    ("POST", "/ui/undo"): "undo",
    ("POST", "/ui/pieces/{piece_id}/retract"): "retract",
    ("POST", "/api/v1/publications/{key}/settle"): "publishers",
    ("POST", "/ui/publications/settle"): "publishers",
    ("POST", "/logout"): "read",
}


@dataclass(frozen=True)
class Principal:
    """A person acting: their name (events name `human:<name>`), role and scope."""

    name: str
    role: str
    projects: tuple[str, ...] | None = None  # None: every project
    channels: tuple[str, ...] | None = None  # None: every channel

    @property
    def actor(self) -> str:
        return f"human:{self.name}"


def roles_allowed(action: str) -> list[str]:
    return list(ROLES[ROLES.index(ACTIONS[action].role):])


def allows(role: str, action: str) -> bool:
    return ROLES.index(role) >= ROLES.index(ACTIONS[action].role)


def authorize(who: Principal, action: str, *, project: str | None = None, channel: str | None = None) -> None:
    """Refuse (PermissionDenied) unless `who` may do `action` on the project and channel given."""
    if action not in ACTIONS:
        raise PermissionDenied(f"{action!r} is not a known action, so nobody may do it",
                               fix="name it in ACTIONS of masthead/app/permissions.py")
    rule = ACTIONS[action]
    if not allows(who.role, action):
        raise PermissionDenied(f"{who.name} is a {who.role} and may not {rule.what}",
                               fix=f"ask for the role {' or '.join(roles_allowed(action))} "
                                   "(`masthead user set-role` by an owner)")
    if not rule.scoped:
        return
    if project is not None and who.projects is not None and project not in who.projects:
        raise PermissionDenied(f"{who.name} may {rule.what} only in projects {', '.join(who.projects)},"
                               f" not in {project}", fix="ask an owner to add the project (`masthead user set-role"
                                                         f" {who.name} --role {who.role} --projects ...`)")
    if channel is not None and who.channels is not None and channel not in who.channels:
        raise PermissionDenied(f"{who.name} may {rule.what} only on channels {', '.join(who.channels)},"
                               f" not on {channel}", fix="ask an owner to add the channel (`masthead user set-role"
                                                         f" {who.name} --role {who.role} --channels ...`)")


def cli_action(command_path: str) -> str:
    """The action of a CLI command path such as "review approve"; unlisted: owner only."""
    return CLI_ACTIONS.get(command_path, "administer")


def route_action(method: str, path: str) -> str:
    if method in ("GET", "HEAD"):
        return "read"
    return ROUTE_ACTIONS.get((method, path), "administer")


def matrix_markdown() -> str:
    """docs/permissions.md: the table above as a reader sees it."""
    lines = ["# Permissions", "",
             "Generated from `ACTIONS` in `src/masthead/app/permissions.py` "
             "(`python -m masthead.app.permissions > docs/permissions.md`); a test checks it is current.", "",
             "Roles are ordered: each may do everything the roles to its left may. A *scoped* action is",
             "limited to the user's `--projects` and `--channels` (none given: all of them). Agents and",
             "the system act with the recipe's permissions (each step's declared effect), not a role.",
             "`masthead init` and `masthead migrate` work on the database itself, before anyone could be",
             "checked: whoever can write the workspace's files may run them.", "",
             "| action | what | " + " | ".join(ROLES) + " | scoped |",
             "| --- | --- | " + " | ".join("---" for _ in ROLES) + " | --- |"]
    for name, rule in ACTIONS.items():
        marks = " | ".join("yes" if allows(role, name) else "-" for role in ROLES)
        lines.append(f"| `{name}` | {rule.what} | {marks} | {'yes' if rule.scoped else '-'} |")
    lines += ["", "## Commands and routes", "",
              "| CLI command | action |", "| --- | --- |"]
    lines += [f"| `masthead {path}` | `{action}` |" for path, action in sorted(CLI_ACTIONS.items())]
    lines += ["", "| route | action |", "| --- | --- |", "| any `GET` | `read` |"]
    lines += [f"| `{method} {path}` | `{action}` |" for (method, path), action in sorted(ROUTE_ACTIONS.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(matrix_markdown(), end="")  # noqa: T201 — the generator's output is the document
