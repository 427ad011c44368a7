"""The project YAML: voice, audience, facts, channels with their gates, policies.

Validated strictly: an unknown key or a wrong value is rejected with its path and the fix.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from masthead.channels.limits import CHANNELS
from masthead.channels.threads import THREAD_CHANNELS
from masthead.config import BudgetLimits, format_validation_error
from masthead.errors import ConfigError
from masthead.events.types import SignalTrust
from masthead.slots import parse_slot
from masthead.source_specs import _EVERY, _EVERY_SECONDS, ScheduleSpec, SourceSpec
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
    thread: Literal["auto", "never"] | None = Field(
        None, description="auto: items that do not fit one post become a numbered thread (default for x, "
                          "bluesky, mastodon); never: always one post (the only choice elsewhere)")
    slots: list[str] = Field(default_factory=list, description='publication times in the project\'s time zone, e.g.'
                             ' "mon-fri 09:30"; auto and soft pieces take the next free one')
    approvals: int = Field(1, ge=1, le=10, description="people who must approve the same version before it publishes")
    approvers: list[str] = Field(default_factory=list, description="roles or user names, each met by a different "
                                 "person, e.g. [owner, clara]; a role is met by that role or a higher one")
    auto_min_confidence: float | None = Field(
        None, ge=0, le=1, description="auto gate: a piece whose confidence is below this goes to review")

    @property
    def approvals_needed(self) -> int:
        return max(self.approvals, len(self.approvers))

    @property
    def needs_people(self) -> bool:
        """More than one approval, or named approvers: only people can pass this channel's gate."""
        return self.approvals_needed > 1 or bool(self.approvers)

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

    @field_validator("slots")
    @classmethod
    def _slots(cls, value: list[str]) -> list[str]:
        for slot in value:
            parse_slot(slot)
        return value

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


class Contact(_Strict):
    name: str | None = None
    role: str | None = None
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", description="an address, e.g. marketing@acme.example")
    phone: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Contact:
        if not any((self.name, self.role, self.email, self.phone)):
            raise ValueError("a contact needs at least one of name, role, email, phone")
        return self


class Client(_Strict):
    """Who a client project works for: the proposal's addressee, tone and scope."""

    name: str = Field(min_length=1, description='the client\'s name as written in a proposal, e.g. "Acme Corp"')
    contacts: list[Contact] = Field(default_factory=list)
    tone: str = Field("plain and specific", min_length=1, description="how proposals to this client read")
    deliverables: list[str] = Field(default_factory=list, description="what the client buys; priced from rate_card")


class RateCard(_Strict):
    """Prices per deliverable (or per unit, e.g. "day rate"); proposals compute totals from it, never a model."""

    currency: str = Field(pattern=r"^[A-Z]{3}$", description="an ISO 4217 code, e.g. EUR")
    items: dict[str, Decimal] = Field(min_length=1, description='price per item, e.g. {"brand audit": 4000}')

    @field_validator("items")
    @classmethod
    def _prices(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for item, price in value.items():
            if not item.strip():
                raise ValueError("an item has an empty name; name every priced item")
            if price < 0 or price != price.quantize(Decimal("0.01")):
                raise ValueError(f"item {item!r}: price {price} must be zero or more, with at most 2 decimals")
        return value

    def price_of(self, item: str) -> Decimal | None:
        """The item's price, matched without regard to case and surrounding spaces."""
        wanted = " ".join(item.lower().split())
        for name, price in self.items.items():
            if " ".join(name.lower().split()) == wanted:
                return price
        return None


class Terms(_Strict):
    """The consultant's own terms: what the legal rules compare a client's request and a draft with."""

    payment_days: int = Field(ge=0, le=365, description="invoices are due this many days after issue")
    liability_cap: str = Field(min_length=1, description='e.g. "fees paid"')
    ip: str = Field(min_length=1, description='when IP passes to the client, e.g. "on full payment"')
    validity_days: int = Field(ge=1, le=365, description="how long a proposal's offer stands")
    governing_law: str | None = Field(None, description='e.g. "Ireland"; other laws in a request are flagged')


ProjectKind = Literal["product", "client", "campaign"]
_CLIENT_KEYS = ("client", "rate_card", "terms")


def _client_defaults(data: Any) -> Any:
    """A client project may leave out description, audience and voice: they read from `client:`."""
    if not isinstance(data, dict) or data.get("kind") != "client":
        return data
    client = data["client"] if isinstance(data.get("client"), dict) else {}
    name = client.get("name") or "the client"
    data = dict(data)
    channels = data.get("channels")
    if isinstance(channels, dict) and "proposal" in channels:
        # A proposal goes to the `proposal` publisher (Markdown, PDF, DOCX) unless told otherwise.
        settings = dict(channels["proposal"] or {})
        if "publish_to" not in settings and "publisher" not in settings:
            settings["publish_to"] = ["proposal"]
        data["channels"] = {**channels, "proposal": settings}
    data.setdefault("description", f"proposals and documents for {name}")
    data.setdefault("audience", f"{name}: the people who read and sign proposals")
    data.setdefault("voice", {"description": client.get("tone") or "plain and specific"})
    return data


class EscalationStep(_Strict):
    """A review waiting longer than `after` notifies `notify` once (an event), through the
    publisher `via` when one is named."""

    after: str = Field(description='a number and s, m, h or d, e.g. "30m"')
    notify: str = Field(min_length=1, description="a role (owner, editor, reviewer, viewer) or a user name")
    via: str | None = Field(None, description="a publisher name from masthead.toml; none: recorded and shown only")

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _EVERY.match(value):
            raise ValueError(f"{value!r} is not a duration; write a number and s, m, h or d, e.g. \"30m\"")
        return value

    @property
    def after_seconds(self) -> int:
        match = _EVERY.match(self.after)
        assert match is not None  # validated above
        return int(match.group(1)) * _EVERY_SECONDS[match.group(2)]


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
    sources: list[SourceSpec] = Field(default_factory=list,
                                      description="feeds, GitHub releases, analytics folders and calendars")
    schedules: list[ScheduleSpec] = Field(default_factory=list, description="recipes started on a cron schedule")
    kind: ProjectKind = Field("product", description="product, client or campaign; client projects write proposals")
    client: Client | None = Field(None, description="kind: client: the client's name, contacts, tone, deliverables")
    rate_card: RateCard | None = Field(None, description="kind: client: prices that proposals compute totals from")
    terms: Terms | None = Field(None, description="kind: client: payment, liability, IP, validity, governing law")
    required_clauses: list[str] = Field(default_factory=list,
                                        description='clauses every proposal must carry, e.g. "payment terms"')
    escalation: list[EscalationStep] = Field(default_factory=list,
                                             description="who is notified when a review waits too long, in order")

    @field_validator("escalation")
    @classmethod
    def _escalation_in_order(cls, value: list[EscalationStep]) -> list[EscalationStep]:
        waits = [step.after_seconds for step in value]
        if waits != sorted(waits) or len(set(waits)) != len(waits):
            raise ValueError("steps must wait longer one after another, e.g. 30m then 4h")
        return value

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        return _client_defaults(data)

    @model_validator(mode="after")
    def _client_state(self) -> Project:
        if self.kind != "client":
            for key in (*_CLIENT_KEYS, "required_clauses"):
                if getattr(self, key):
                    raise ValueError(f"{key} is for client projects; add `kind: client` or remove {key}")
            if "proposal" in self.channels:
                raise ValueError("channel proposal is for client projects; add `kind: client` (with client:, "
                                 "rate_card: and terms:) or remove the channel")
            return self
        missing = [key for key in _CLIENT_KEYS if getattr(self, key) is None]
        if missing:
            raise ValueError(f"a client project needs {', '.join(missing)}; see docs/configuration.md#client-projects")
        return self

    @field_validator("sources")
    @classmethod
    def _distinct_sources(cls, value: list[SourceSpec]) -> list[SourceSpec]:
        names = [source.name for source in value]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two sources are named {name!r}; give each source its own name")
        return value

    @field_validator("schedules")
    @classmethod
    def _distinct_schedules(cls, value: list[ScheduleSpec]) -> list[ScheduleSpec]:
        keys = [schedule.key for schedule in value]
        for schedule in value:
            if keys.count(schedule.key) > 1:
                raise ValueError(f"the schedule {schedule.recipe} {schedule.cron!r} is listed twice; keep one")
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
        for channel, settings in value.items():
            if channel not in CHANNELS:
                raise ValueError(f"channel {channel!r} is unknown; use one of {', '.join(CHANNELS)}")
            if settings.thread == "auto" and channel not in THREAD_CHANNELS:
                raise ValueError(f"channels.{channel}.thread is auto, but only {', '.join(THREAD_CHANNELS)} "
                                 "posts can be threads; remove it or write thread: never")
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
