"""GitHub release webhooks, read deterministically: GitHub's signature, and what a delivery says.

GitHub signs each delivery with the webhook's secret: `X-Hub-Signature-256: sha256=<hex
HMAC-SHA256(secret, raw body)>`, names it in `X-GitHub-Event` and gives it a GUID in
`X-GitHub-Delivery` (the same on a redelivery). Only `release` events with action `published`
are acted on; drafts and pre-releases only when the source allows them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
DELIVERY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,99}$")
EVENT_PATTERN = re.compile(r"^[a-z_]{1,64}$")
_SIGNATURE = re.compile(r"sha256=([0-9a-f]{64})")
MAX_NOTES_CHARS = 100_000


class GithubPayloadError(ValueError):
    """A signed delivery whose JSON is not what GitHub sends for its event."""


def github_signature(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends (and we recompute)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_matches(secret: bytes, body: bytes, presented: str) -> bool:
    """Constant-time comparison of the presented signature with ours; a malformed one never matches."""
    match = _SIGNATURE.fullmatch(presented.strip().lower())
    # compare_digest on the whole value: the time taken says nothing about where they differ.
    return match is not None and hmac.compare_digest(github_signature(secret, body), match.group(0))


@dataclass(frozen=True)
class Release:
    tag: str
    name: str | None
    notes: str
    html_url: str | None
    repository: str | None  # owner/name
    draft: bool
    prerelease: bool

    def signal_body(self) -> str:
        """The release notes, then the tag and the release page as lines of their own: the facts
        the pieces may cite (item extraction reads them like any other line)."""
        head = self.name if self.name and self.name != self.tag else None
        facts = [f"Tag: {self.tag}"] + ([f"Release page: {self.html_url}"] if self.html_url else [])
        parts = [head or "", self.notes.strip(), "\n".join(facts)]
        return "\n\n".join(part for part in parts if part)

    @property
    def title(self) -> str:
        repo = f"{self.repository} " if self.repository else ""
        return f"{repo}{self.name or self.tag}"[:200]


def parse_payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise GithubPayloadError("the body is not UTF-8 JSON; set the webhook's content type to "
                                 "application/json") from None
    if not isinstance(payload, dict):
        raise GithubPayloadError("the body is not a JSON object as GitHub sends")
    return payload


def repository_of(payload: dict[str, Any]) -> str | None:
    repository = payload.get("repository")
    name = repository.get("full_name") if isinstance(repository, dict) else None
    return name if isinstance(name, str) else None


def read_release(payload: dict[str, Any]) -> Release:
    release = payload.get("release")
    if not isinstance(release, dict) or not isinstance(release.get("tag_name"), str) or not release["tag_name"]:
        raise GithubPayloadError("a release event without release.tag_name; is it from GitHub?")
    html_url = release.get("html_url")
    return Release(tag=release["tag_name"], name=release.get("name") if isinstance(release.get("name"), str) else None,
                   notes=(release.get("body") or "")[:MAX_NOTES_CHARS] if isinstance(release.get("body") or "", str) else "",
                   html_url=html_url if isinstance(html_url, str) and html_url.startswith("https://") else None,
                   repository=repository_of(payload), draft=release.get("draft") is True,
                   prerelease=release.get("prerelease") is True)


def ignore_reason(action: Any, release: Release, *, drafts: bool, prereleases: bool) -> str | None:
    """Why a release event is not acted on, or None to act on it."""
    if action != "published":
        return f"release action {action!r} (only 'published' makes a signal)"
    if release.draft and not drafts:
        return f"release {release.tag} is a draft (set drafts: true on the source to act on drafts)"
    if release.prerelease and not prereleases:
        return f"release {release.tag} is a pre-release (set prereleases: true on the source to act on them)"
    return None
