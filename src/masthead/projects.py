"""The project YAML: voice, audience, facts, channels with their gates, policies.

Validated strictly: an unknown key or a wrong value is rejected with its path and the fix.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from masthead.channels.limits import CHANNELS
from masthead.config import BudgetLimits, format_validation_error
from masthead.errors import ConfigError
from masthead.events.types import SignalTrust
from masthead.windows import parse_window, zone
from masthead.yaml_input import load_mapping

Gate = Literal["auto", "soft", "hard"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voice(_Strict):
    description: str = Field(min_length=1)
    exemplars: list[str] = Field(default_factory=list)
    avoid: list[str] = Field(default_factory=list, description="examples of styles the voice check flags")
    emoji: bool = Field(False, description="composed pieces mark their lines with emoji")
    hashtags: list[str] = Field(default_factory=list, description='added to composed posts, e.g. ["#invoicing"]')
    sign_off: str | None = Field(None, description="the last line of composed pieces")
    person: Literal["we", "i", "they"] = Field("we", description="who speaks in composed long-form pieces")


class ChannelSettings(_Strict):
    gate: Gate = "hard"
    soft_delay_minutes: float | None = Field(None, ge=0, description="soft gate wait; default from masthead.toml")
    publish_to: list[str] = Field(default_factory=lambda: ["file"], min_length=1,
                                  description="publisher names from masthead.toml [publishers.<name>], or file")
    min_chars: int | None = Field(None, ge=0, description="substance check minimum; default per channel (X 80, LinkedIn 300...)")
    auto_min_confidence: float | None = Field(
        None, ge=0, le=1, description="auto gate: a piece whose confidence is below this goes to review")

    # Older project specs (and the ProjectApplied events that carry them, which replay reads)
    # name one publisher: `publisher: file` reads as `publish_to: [file]`.
    @model_validator(mode="before")
    @classmethod
    def _old_publisher_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "publisher" in data:
            data = dict(data)
            old = data.pop("publisher")
            if "publish_to" in data:
                raise ValueError("give publish_to only; publisher is the old spelling of a one-item publish_to")
            data["publish_to"] = [old]
        return data

    @field_validator("publish_to")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("names a publisher twice; list each once")
        return value


_DOMAIN = re.compile(r"^(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_][\w-]*$")
_SOURCE_PREFIX = re.compile(r"^[a-z]+:[A-Za-z0-9_.\-]+(?::[A-Za-z0-9_.\-]+)*$")


class SensitiveTopic(_Strict):
    """A topic the brand handles by hand: a piece that touches it waits for a person, whatever its gate."""

    term: str = Field(min_length=2, max_length=80, description="matched as a whole word, and by meaning")
    description: str = Field("", max_length=300, description="comma-separated phrases that say what it covers")
    threshold: float | None = Field(None, gt=0, le=1, description="this topic's similarity threshold")


class Policies(_Strict):
    sensitive_topics: list[SensitiveTopic] = Field(
        default_factory=list, description="topics that send a piece to review whatever its gate")
    sensitive_threshold: float = Field(0.35, gt=0, le=1, description="cosine similarity at which a sentence "
                                                                      "matches a sensitive topic")
    banned_phrases: list[str] = Field(default_factory=list)
    required_disclaimers: dict[str, str] = Field(default_factory=dict)
    allowed_domains: list[str] | None = Field(
        None, description="domains a piece may link to (subdomains included); default: the domains "
                          "the facts and disclaimers link to")
    trusted_sources: list[str] = Field(
        default_factory=list, description='signal sources the project vouches for, e.g. "webhook:releases"; '
                                          "other hooks and feeds are untrusted")

    @field_validator("allowed_domains")
    @classmethod
    def _bare_domains(cls, value: list[str] | None) -> list[str] | None:
        for domain in value or []:
            if not _DOMAIN.match(domain.strip()):
                raise ValueError(f"{domain!r} is not a domain; write the host alone, e.g. tallybook.example "
                                 "(no scheme, path or port)")
        return value

    @field_validator("trusted_sources")
    @classmethod
    def _source_prefixes(cls, value: list[str]) -> list[str]:
        for source in value:
            if not _SOURCE_PREFIX.match(source):
                raise ValueError(f"{source!r} is not a signal source; write it as kind:name, "
                                 'e.g. "webhook:releases" for [webhooks.releases]')
        return value

    def source_trust(self, source: str) -> SignalTrust:
        """How far the project vouches for text from `source` (not typed by the operator):
        "trusted" when a `trusted_sources` entry names it or a prefix of it ("webhook:releases"
        covers every delivery "webhook:releases:<id>"), otherwise "untrusted"."""
        marked = any(source == prefix or source.startswith(prefix + ":") for prefix in self.trusted_sources)
        return "trusted" if marked else "untrusted"

    @field_validator("required_disclaimers")
    @classmethod
    def _known_channels(cls, value: dict[str, str]) -> dict[str, str]:
        for channel in value:
            if channel not in CHANNELS:
                raise ValueError(f"channel {channel!r} is unknown; use one of {', '.join(CHANNELS)}")
        return value


_EVERY = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
_EVERY_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SourceSpec(_Strict):
    """One signal source that arrives by itself (masthead.sources); `masthead sources poll` reads it."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,62}$", description="lowercase letters, digits, _ and -")
    kind: Literal["feed", "analytics"]
    url: str | None = Field(None, description="feed: the RSS/Atom/JSON feed's http(s) URL")
    path: str | None = Field(None, description="analytics: a folder (relative to the workspace) of exports")
    every: str = Field("15m", description='how often to poll: a number and s, m, h or d, e.g. "15m"')
    backfill: int = Field(3, ge=0, le=1000, description="feed: entries the first poll imports (newest)")
    format: Literal["plausible", "umami", "csv"] | None = Field(None, description="analytics: the export layout")

    @field_validator("every")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _EVERY.match(value):
            raise ValueError(f"{value!r} is not a duration; write a number and s, m, h or d, e.g. \"15m\"")
        return value

    @property
    def every_seconds(self) -> int:
        match = _EVERY.match(self.every)
        assert match is not None  # validated above
        return int(match.group(1)) * _EVERY_SECONDS[match.group(2)]

    @model_validator(mode="after")
    def _fields_of_kind(self) -> SourceSpec:
        if self.kind == "feed":
            if not self.url or not re.match(r"^https?://[^\s/]+", self.url):
                raise ValueError(f"source {self.name!r} is a feed and needs url: an http(s) URL, "
                                 'e.g. url: "https://example.com/feed.xml"')
            if self.path is not None or self.format is not None:
                raise ValueError(f"source {self.name!r} is a feed: remove path/format (they are for analytics)")
        else:
            if not self.path or self.format is None:
                raise ValueError(f"source {self.name!r} is analytics and needs path: (a folder) and "
                                 "format: plausible, umami or csv")
            if self.url is not None:
                raise ValueError(f"source {self.name!r} is analytics: remove url (give path: a folder)")
            if self.path.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", self.path) or ":" in self.path:
                raise ValueError(f"source {self.name!r}: path {self.path!r} must be a folder inside the workspace, "
                                 'relative to it, e.g. "analytics/"')
        return self


class Project(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,62}$", description="lowercase letters, digits, dashes")
    description: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    voice: Voice
    facts: list[str] = Field(default_factory=list)
    channels: dict[str, ChannelSettings] = Field(min_length=1)
    policies: Policies = Policies()
    timezone: str = "UTC"
    budget: BudgetLimits = BudgetLimits()
    off_peak: list[str] = Field(default_factory=list, description='windows for background work, e.g. "22:00-06:00"')
    max_active_jobs: int | None = Field(None, ge=1, description="backpressure bound; default from masthead.toml")
    review_sla_minutes: float | None = Field(None, gt=0, description="pieces waiting longer move up the review queue")
    sources: list[SourceSpec] = Field(default_factory=list, description="feeds and analytics folders to poll")

    @field_validator("sources")
    @classmethod
    def _distinct_sources(cls, value: list[SourceSpec]) -> list[SourceSpec]:
        names = [source.name for source in value]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two sources are named {name!r}; give each source its own name")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("off_peak")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for window in value:
            parse_window(window)
        return value

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, ChannelSettings]) -> dict[str, ChannelSettings]:
        for channel in value:
            if channel not in CHANNELS:
                raise ValueError(f"channel {channel!r} is unknown; use one of {', '.join(CHANNELS)}")
        return value

    @model_validator(mode="after")
    def _disclaimers_for_used_channels(self) -> Project:
        for channel in self.policies.required_disclaimers:
            if channel not in self.channels:
                raise ValueError(
                    f"policies.required_disclaimers names {channel!r}, which is not in channels; "
                    "add the channel or remove the disclaimer"
                )
        return self


def parse_project_yaml(text: str, source: str) -> Project:
    raw = load_mapping(text, source, expected="name:, description:, channels: ...",
                       docs="docs/configuration.md#project-yaml")
    try:
        return Project.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None


_FROM_SPEC: dict[str, Project] = {}


def project_from_spec(spec: str) -> Project:
    """A project from its stored spec (the read model's JSON). Each distinct spec is validated
    once per process (validation costs ~0.1 ms); keyed by the text, not by name and revision,
    since two workspaces in one process may share both."""
    project = _FROM_SPEC.get(spec)
    if project is None:
        project = _FROM_SPEC[spec] = Project.model_validate(json.loads(spec))
    return project
