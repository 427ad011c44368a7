"""The project YAML: voice, audience, facts, channels with their gates, policies.

Validated strictly: an unknown key or a wrong value is rejected with its path and the fix.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from masthead.channels.limits import CHANNELS
from masthead.config import BudgetLimits, format_validation_error
from masthead.errors import ConfigError
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
    publisher: Literal["file"] = "file"
    min_chars: int | None = Field(None, ge=0, description="substance check minimum; default per channel (X 80, LinkedIn 300...)")


class Policies(_Strict):
    banned_phrases: list[str] = Field(default_factory=list)
    required_disclaimers: dict[str, str] = Field(default_factory=dict)

    @field_validator("required_disclaimers")
    @classmethod
    def _known_channels(cls, value: dict[str, str]) -> dict[str, str]:
        for channel in value:
            if channel not in CHANNELS:
                raise ValueError(f"channel {channel!r} is unknown; use one of {', '.join(CHANNELS)}")
        return value


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
