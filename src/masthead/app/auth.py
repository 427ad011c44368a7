"""The operator token: one secret per workspace, kept in a file beside the log, never in it.

`masthead init` creates it; `masthead token` prints it; `masthead token --rotate` replaces it,
which also ends every browser session (session cookies are signed with a key derived from it).
Logging out ends one session on the server too: its id is kept in `revoked_sessions` until the
cookie would have expired, so a copy of the cookie is refused afterwards.
The file is `.masthead/token` in the workspace, mode 0600, in a folder that git ignores.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from masthead.errors import MastheadError
from masthead.events.store import EventStore

TOKEN_DIR = ".masthead"
TOKEN_FILE = "token"
TOKEN_PREFIX = "mh_"
REVOKE_SQL = ("INSERT INTO revoked_sessions (session_hash, expires_at) VALUES (?, ?)"
              " ON CONFLICT (session_hash) DO NOTHING")
REVOKED_SQL = "SELECT expires_at FROM revoked_sessions WHERE session_hash = ?"
PURGE_REVOKED_SQL = "DELETE FROM revoked_sessions WHERE expires_at < ?"


class AuthenticationError(MastheadError):
    """A request did not prove it comes from the operator (or the webhook's sender)."""

    exit_code = 8


def token_path(root: Path) -> Path:
    return root / TOKEN_DIR / TOKEN_FILE


def _private_folder(root: Path) -> Path:
    folder = root / TOKEN_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        # A workspace kept in git must never commit its token.
        ignore.write_text("*\n", "utf-8")
    return folder


def _write_token(root: Path, token: str) -> None:
    _private_folder(root)
    path = token_path(root)
    temp = path.with_suffix(".new")
    # Created 0600 from the start (O_EXCL after removing leftovers), then renamed into place,
    # so no other user can ever read it and a crash never leaves a half-written token.
    temp.unlink(missing_ok=True)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def read_token(root: Path) -> str | None:
    try:
        token = token_path(root).read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    return token or None


def ensure_token(root: Path) -> tuple[str, bool]:
    """The workspace's token, created if it has none; returns (token, created)."""
    existing = read_token(root)
    if existing is not None:
        return existing, False
    token = new_token()
    _write_token(root, token)
    return token, True


def rotate_token(root: Path) -> str:
    token = new_token()
    _write_token(root, token)
    return token


def token_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison, so response timing reveals nothing about the token."""
    if not presented:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))


def session_key(token: str) -> bytes:
    """The key that signs browser sessions; derived, so rotating the token logs everyone out."""
    return hmac.new(token.encode("utf-8"), b"masthead session cookie v1", hashlib.sha256).digest()


@dataclass
class TokenFile:
    """Reads the token file again only when it changes, so `masthead token --rotate` in another
    process takes effect on a running server without a restart."""

    root: Path
    _stamp: tuple[int, int] | None = None
    _token: str | None = None

    def current(self) -> str | None:
        try:
            stat = token_path(self.root).stat()
        except FileNotFoundError:
            self._stamp, self._token = None, None
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._token = read_token(self.root)
            self._stamp = stamp
        return self._token


def _session_hash(session_id: str) -> str:
    # Only a hash is stored: the id doubles as the session's CSRF token.
    return hashlib.sha256(b"masthead session id v1:" + session_id.encode("utf-8")).hexdigest()


def revoke_session(store: EventStore, session_id: str, expires_at: float, now: float) -> None:
    """End one browser session for every server on this store; forget sessions past their expiry."""
    store.execute_unlogged(PURGE_REVOKED_SQL, (now,))
    store.execute_unlogged(REVOKE_SQL, (_session_hash(session_id), expires_at))


def session_revoked(store: EventStore, session_id: str) -> bool:
    return bool(store.query(REVOKED_SQL, (_session_hash(session_id),)))
