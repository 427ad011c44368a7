"""The replay guards of migration 0011 on both backends: a legacy webhook signature claimed
through one store is seen through another (another process), and so is a logged-out session."""

from __future__ import annotations

from masthead.app.auth import revoke_session, session_revoked
from masthead.app.webhook_replay import SignatureClaims


def test_a_signature_claim_holds_across_stores(backend) -> None:
    first, second = SignatureClaims(backend.open()), SignatureClaims(backend.open())
    assert first.claim("ab" * 32, "webhook:gh:d-1", expires_at=2000.0, now=1000.0) == "webhook:gh:d-1"
    # The copy, under a new delivery id and in another process, learns whose it is.
    assert second.claim("ab" * 32, "webhook:gh:d-2", expires_at=2000.0, now=1000.0) == "webhook:gh:d-1"
    assert second.owner("ab" * 32) == "webhook:gh:d-1" and second.owner("cd" * 32) is None
    first.release("ab" * 32, "webhook:gh:d-2")  # only the owner's release counts
    assert second.owner("ab" * 32) == "webhook:gh:d-1"
    first.release("ab" * 32, "webhook:gh:d-1")
    assert second.claim("ab" * 32, "webhook:gh:d-3", expires_at=2000.0, now=1000.0) == "webhook:gh:d-3"


def test_expired_claims_are_purged(backend) -> None:
    store = backend.open()
    SignatureClaims(store).claim("ef" * 32, "webhook:gh:old", expires_at=1000.0, now=900.0)
    later = SignatureClaims(store)  # a fresh process purges on its first claim
    assert later.claim("01" * 32, "webhook:gh:new", expires_at=3000.0, now=2000.0) == "webhook:gh:new"
    assert later.owner("ef" * 32) is None


def test_a_revoked_session_is_revoked_for_every_store(backend) -> None:
    one, other = backend.open(), backend.open()
    assert not session_revoked(other, "csrf-1")
    revoke_session(one, "csrf-1", expires_at=5000.0, now=1000.0)
    revoke_session(one, "csrf-1", expires_at=5000.0, now=1000.0)  # twice is fine (two logouts racing)
    assert session_revoked(other, "csrf-1") and not session_revoked(other, "csrf-2")
    revoke_session(one, "csrf-2", expires_at=9000.0, now=6000.0)  # purges what expired
    assert not session_revoked(other, "csrf-1") and session_revoked(other, "csrf-2")
    raw = other.query("SELECT session_hash FROM revoked_sessions")
    assert all("csrf" not in row["session_hash"] for row in raw)  # only hashes are kept
