"""Users: who they are (events: a rebuildable `users` read model), their tokens and passwords
(hashes outside the log), and who is acting for a CLI call, an API request or a desk session.

Upgrade path: a workspace with no users works as before. The operator token (`masthead token`)
acts as an owner named `[workspace] operator` (or any name while there are no users); once users
exist, a name that is not a user (other than the workspace operator) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from masthead.app.permissions import ROLES, Principal, authorize
from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError, StateError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.people_types import (
    Role,
    UserAdded,
    UserPasswordSet,
    UserRemoved,
    UserRoleChanged,
    UserTokenIssued,
)
from masthead.events.store import EventStore, Transaction

USER_TOKEN_PREFIX = "mhu_"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-")
MIN_PASSWORD = 10


def check_name(name: str, field: str = "name") -> str:
    if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
        raise InputError(f"user name {name!r} is not usable", field=field,
                         fix="use 1-64 letters, digits, _ . @ -")
    return name


def _role(role: str) -> Role:
    if role not in ROLES:
        raise InputError(f"--role {role!r} is not a role", field="role", fix=f"use one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def _scope(ws: Workspace, values: list[str] | None, kind: str) -> list[str] | None:
    if values is None:
        return None
    cleaned = sorted({v.strip() for v in values if v.strip()})
    if not cleaned:
        raise InputError(f"--{kind} is empty", field=kind, fix=f"name at least one, or leave --{kind} out for all")
    if kind == "projects":
        known = {r["name"] for r in ws.store.query("SELECT name FROM projects")}
        unknown = [p for p in cleaned if p not in known]
        if unknown:
            raise NotFoundError(f"--projects names {', '.join(unknown)}, which is not a project",
                                field="projects", fix=f"use one of: {', '.join(sorted(known)) or '(none yet)'}")
    return cleaned


@dataclass(frozen=True)
class User:
    name: str
    role: str
    projects: list[str] | None
    channels: list[str] | None
    token_id: str | None
    password_id: str | None
    email_sealed: str | None = None  # JSON {subject, sealed}; app/personal.py opens it

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(row["name"], row["role"], json.loads(row["projects"]) if row["projects"] else None,
                   json.loads(row["channels"]) if row["channels"] else None, row["token_id"], row["password_id"],
                   row.get("email"))

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.role, tuple(self.projects) if self.projects is not None else None,
                         tuple(self.channels) if self.channels is not None else None)


def find_user(store: EventStore | Transaction, name: str) -> User | None:
    rows = store.query("SELECT * FROM users WHERE name = ?", (name,))
    return User.from_row(rows[0]) if rows else None


def list_users(ws: Workspace) -> list[User]:
    return [User.from_row(r) for r in ws.store.query("SELECT * FROM users ORDER BY name")]


def _meta(by: Principal) -> Meta:
    return Meta(actor=by.actor, at=utc_now())


def _version(tx: Transaction, name: str) -> int:
    return tx.stream_version(stream_of("user", name))


def add_user(ws: Workspace, by: Principal, name: str, role: str, *, projects: list[str] | None = None,
             channels: list[str] | None = None, email: str | None = None) -> User:
    from masthead.app.personal import seal_email

    authorize(by, "users")
    event = UserAdded(name=check_name(name), role=_role(role), projects=_scope(ws, projects, "projects"),
                      channels=_scope(ws, channels, "channels"),
                      email=seal_email(ws.store, email) if email is not None else None)
    with ws.store.transaction() as tx:
        if find_user(tx, name) is not None:
            raise StateError(f"user {name!r} exists already", fix=f"change it with `masthead user set-role {name}`")
        tx.append([event.to_new(stream_of("user", name), _version(tx, name))], _meta(by))
        added = find_user(tx, name)
    assert added is not None
    return added


def _existing(tx: Transaction | EventStore, name: str) -> User:
    user = find_user(tx, name)
    if user is None:
        raise NotFoundError(f"user {name!r} does not exist", field="name", fix="see `masthead user list`")
    return user


def _keep_an_owner(tx: Transaction, name: str, operator: str) -> None:
    if find_user(tx, operator) is None:
        return  # the workspace operator, not a user, stays an owner
    owners = [r["name"] for r in tx.query("SELECT name FROM users WHERE role = 'owner'")]
    if owners == [name]:
        raise StateError(f"{name} is the last owner among the users",
                         fix="make another user an owner first (`masthead user set-role OTHER --role owner`)")


def set_role(ws: Workspace, by: Principal, name: str, role: str, *, projects: list[str] | None = None,
             channels: list[str] | None = None) -> User:
    authorize(by, "users")
    event = UserRoleChanged(name=name, role=_role(role), projects=_scope(ws, projects, "projects"),
                            channels=_scope(ws, channels, "channels"))
    with ws.store.transaction() as tx:
        _existing(tx, name)
        if role != "owner":
            _keep_an_owner(tx, name, ws.config.workspace.operator)
        tx.append([event.to_new(stream_of("user", name), _version(tx, name))], _meta(by))
        changed = find_user(tx, name)
    assert changed is not None
    return changed


def remove_user(ws: Workspace, by: Principal, name: str) -> None:
    """Remove a user: their token, password and sessions stop working at once."""
    authorize(by, "users")
    with ws.store.transaction() as tx:
        _existing(tx, name)
        _keep_an_owner(tx, name, ws.config.workspace.operator)
        tx.append([UserRemoved(name=name).to_new(stream_of("user", name), _version(tx, name))], _meta(by))
    ws.store.execute_unlogged("DELETE FROM user_credentials WHERE name = ?", (name,))


# -- credentials ----------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    # The token holds 256 random bits: a plain SHA-256 cannot be reversed or guessed.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _save_credential(store: EventStore, name: str, column: str, value: str) -> None:
    assert column in ("token_hash", "password_hash")
    store.execute_unlogged(
        f"INSERT INTO user_credentials (name, {column}) VALUES (?, ?)"
        f" ON CONFLICT (name) DO UPDATE SET {column} = excluded.{column}", (name, value))


def issue_token(ws: Workspace, by: Principal, name: str) -> str:
    """A new token for `name` (the old one stops working); shown once, only its hash is kept.

    Anyone may rotate their own token; an owner may issue anyone's."""
    authorize(by, "token" if by.name == name else "users")
    token_id = secrets.token_hex(6)
    token = f"{USER_TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    _existing(ws.store, name)
    # The hash is written first: if the append fails, the unused hash matches no token_id.
    _save_credential(ws.store, name, "token_hash", _token_hash(token))
    with ws.store.transaction() as tx:
        _existing(tx, name)
        tx.append([UserTokenIssued(name=name, token_id=token_id).to_new(stream_of("user", name), _version(tx, name))],
                  _meta(by))
    return token


def set_password(ws: Workspace, by: Principal, name: str, password: str) -> None:
    from argon2 import PasswordHasher  # only the commands that hash pay for the import

    authorize(by, "token" if by.name == name else "users")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password has {len(password)} characters", field="password",
                         fix=f"use at least {MIN_PASSWORD}")
    _existing(ws.store, name)
    _save_credential(ws.store, name, "password_hash", PasswordHasher().hash(password))
    with ws.store.transaction() as tx:
        _existing(tx, name)
        event = UserPasswordSet(name=name, password_id=secrets.token_hex(6))
        tx.append([event.to_new(stream_of("user", name), _version(tx, name))], _meta(by))


def _credential(store: EventStore, name: str) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM user_credentials WHERE name = ?", (name,))
    return rows[0] if rows else None


def user_of_token(store: EventStore, token: str) -> User | None:
    """The user whose current token this is; None for a removed user or a rotated token."""
    if not token.startswith(USER_TOKEN_PREFIX):
        return None
    token_id = token[len(USER_TOKEN_PREFIX):].partition("_")[0]
    rows = store.query("SELECT * FROM users WHERE token_id = ?", (token_id,))
    if not rows:
        return None
    user = User.from_row(rows[0])
    stored = _credential(store, user.name)
    if stored is None or not stored["token_hash"]:
        return None
    return user if hmac.compare_digest(stored["token_hash"], _token_hash(token)) else None


def user_of_password(store: EventStore, name: str, password: str) -> User | None:
    from argon2 import PasswordHasher
    from argon2.exceptions import VerificationError

    user = find_user(store, name)
    stored = _credential(store, name) if user is not None else None
    if user is None or user.password_id is None or stored is None or not stored["password_hash"]:
        return None
    try:
        PasswordHasher().verify(stored["password_hash"], password)
    except VerificationError:
        return None
    return user


# -- who is acting ----------------------------------------------------------------------------
def as_owner_token(ws: Workspace, name: str | None) -> Principal:
    """Who acts with the workspace's own authority (the operator token, the local CLI) as `name`:
    a user acts with their own role; the workspace operator, or anyone while there are no users
    (a workspace from before users), acts as owner."""
    operator = ws.config.workspace.operator
    name = check_name(name or operator, "operator")
    user = find_user(ws.store, name)
    if user is not None:
        return user.principal
    if name == operator or not ws.store.query("SELECT name FROM users LIMIT 1"):
        return Principal(name, "owner")
    raise NotFoundError(f"{name!r} is not a user of this workspace", field="operator",
                        fix="see `masthead user list`, or add them with `masthead user add`")


def principal_of(ws: Workspace, who: Principal | str | None) -> Principal:
    """A principal as given, or a name acting with the workspace's authority (the CLI's `--as`)."""
    return who if isinstance(who, Principal) else as_owner_token(ws, who)
