"""`masthead user add|list|remove|set-role|password`: people and their roles (owner only, except list)."""

from __future__ import annotations

import sys

import click

from masthead.cli.common import CliState, echo, echo_json, pass_state

ROLE_CHOICE = click.Choice(["owner", "editor", "reviewer", "viewer"])


def _names(value: str | None) -> list[str] | None:
    return None if value is None else [part.strip() for part in value.split(",")]


@click.group("user")
def user_group() -> None:
    """People: users with a role (owner, editor, reviewer, viewer) and their projects and channels."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, required=True, help="What they may do (docs/permissions.md).")
@click.option("--projects", metavar="P,..", help="Limit approving, editing and signals to these projects.")
@click.option("--channels", metavar="C,..", help="Limit approving and editing to these channels.")
@click.option("--email", metavar="ADDRESS", help="Kept encrypted with the person's own key (forget-person deletes it).")
@pass_state
def user_add(state: CliState, name: str, role: str, projects: str | None, channels: str | None,
             email: str | None) -> None:
    """Add a user; give them a token with `masthead token --user NAME`."""
    from masthead.app.people import add_user

    user = add_user(state.workspace(), state.principal(), name, role, projects=_names(projects),
                    channels=_names(channels), email=email)
    echo(f"added {user.name} ({user.role}); issue a token with `masthead token --user {user.name}`")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def user_list(state: CliState, as_json: bool) -> None:
    """Users, their roles and scopes (never a secret)."""
    from masthead.app.people import list_users
    from masthead.app.personal import open_sealed

    users = list_users(state.workspace())
    emails = {u.name: open_sealed(state.workspace().store, u.email_sealed) for u in users}
    if as_json:
        echo_json([{"name": u.name, "role": u.role, "projects": u.projects, "channels": u.channels,
                    "email": emails[u.name], "token": u.token_id is not None, "password": u.password_id is not None}
                   for u in users])
        return
    if not users:
        echo(f"no users: the operator token acts as the owner {state.workspace().config.workspace.operator}")
    for u in users:
        scope = f"  projects: {', '.join(u.projects)}" if u.projects else ""
        scope += f"  channels: {', '.join(u.channels)}" if u.channels else ""
        login = ", ".join(k for k, v in (("token", u.token_id), ("password", u.password_id)) if v) or "no login yet"
        email = f"  <{emails[u.name]}>" if emails[u.name] else ""
        echo(f"{u.name:<16} {u.role:<9} ({login}){email}{scope}")


@user_group.command("remove")
@click.argument("name")
@pass_state
def user_remove(state: CliState, name: str) -> None:
    """Remove a user: their token, password and desk sessions stop working at once."""
    from masthead.app.people import remove_user

    remove_user(state.workspace(), state.principal(), name)
    echo(f"removed {name}; their token and sessions no longer work")


@user_group.command("set-role")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--projects", metavar="P,..", help="The projects they act in (leave out: all).")
@click.option("--channels", metavar="C,..", help="The channels they act on (leave out: all).")
@pass_state
def user_set_role(state: CliState, name: str, role: str, projects: str | None, channels: str | None) -> None:
    """Change a user's role and scope (the scope given replaces the old one)."""
    from masthead.app.people import set_role

    user = set_role(state.workspace(), state.principal(), name, role, projects=_names(projects),
                    channels=_names(channels))
    echo(f"{user.name} is now {user.role}")


@user_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@pass_state
def user_password(state: CliState, name: str, password_stdin: bool) -> None:
    """Set a user's desk password (hashed with argon2id, outside the log)."""
    from masthead.app.people import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = str(click.prompt("password", hide_input=True, confirmation_prompt=True))
    set_password(state.workspace(), state.principal(), name, password)
    echo(f"set {name}'s password; sessions logged in with the old one have ended")


@click.command("forget-person")
@click.argument("email")
@pass_state
def forget_person_cmd(state: CliState, email: str) -> None:
    """Forget a person's personal data: delete the key it is encrypted with (crypto-shredding).

    What that key sealed reads "[forgotten]" from now on: the user's address, the outreach
    contacts and the signals added with `--person EMAIL`, and what their jobs derived from
    them (model calls, step outputs, hand-offs, piece versions and check details); the person's
    jobs neither draft nor send. It prints what it could not erase: published copies, which are
    outside Masthead."""
    from masthead.app.personal import forget_person

    done = forget_person(state.workspace(), state.principal(), email)
    echo(f"forgot {done.subject}: what was sealed with that person's key can no longer be read"
         f" ({done.users} user address(es), {done.signals} signal(s), and of their jobs {done.pieces} piece(s)"
         f" with their versions and checks, {done.model_calls} model call(s) and the step outputs);"
         " the log still verifies")
    still = done.still_held()
    if still is not None:
        echo(f"not erased: {still}")
