"""The project YAML's `sources:` and `schedules:`: what arrives by itself, validated strictly.

Each kind names the fields it needs and refuses the ones of other kinds, so a source that
cannot work is refused when the project is applied, with the field and the fix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_EVERY = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
_EVERY_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,38}/[A-Za-z0-9._\-]{1,100}$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _\-]{0,62}$")

SourceKind = Literal["feed", "analytics", "github_releases", "calendar"]
# The fields only some kinds take; each kind's own are listed in _KIND_FIELDS.
_KIND_FIELDS: dict[str, set[str]] = {
    "feed": {"url", "backfill"},
    "analytics": {"path", "format"},
    "github_releases": {"secret_env", "repository", "drafts", "prereleases"},
    "calendar": {"url", "lead_days", "launch_tag", "blackout_tag", "recipe"},
}
_ALL_KIND_FIELDS = set().union(*_KIND_FIELDS.values())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """One signal source that arrives by itself (masthead.sources); `masthead sources poll` reads it."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,62}$", description="lowercase letters, digits, _ and -")
    kind: SourceKind
    url: str | None = Field(None, description="feed: the feed's http(s) URL; calendar: an http(s) URL or a "
                                              "workspace-relative .ics path")
    path: str | None = Field(None, description="analytics: a folder (relative to the workspace) of exports")
    every: str = Field("15m", description='how often to poll: a number and s, m, h or d, e.g. "15m"')
    backfill: int = Field(3, ge=0, le=1000, description="feed: entries the first poll imports (newest)")
    format: Literal["plausible", "umami", "csv"] | None = Field(None, description="analytics: the export layout")
    secret_env: str | None = Field(None, description="github_releases: the environment variable holding the "
                                                     "webhook secret")
    repository: str | None = Field(None, description='github_releases: only deliveries of this "owner/name"')
    drafts: bool = Field(False, description="github_releases: act on draft releases too")
    prereleases: bool = Field(False, description="github_releases: act on pre-releases too")
    lead_days: list[int] = Field(default_factory=lambda: [7, 1],
                                 description="calendar: days before a launch its recipe starts, one signal each")
    launch_tag: str = Field("launch", description="calendar: the CATEGORIES value that marks a launch")
    blackout_tag: str = Field("blackout", description="calendar: the CATEGORIES value that marks a blackout")
    recipe: str | None = Field(None, description="calendar: the recipe a launch starts (default: recipes "
                                                 "triggered by the `launch` signal kind)")

    @field_validator("every")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _EVERY.match(value):
            raise ValueError(f"{value!r} is not a duration; write a number and s, m, h or d, e.g. \"15m\"")
        return value

    @field_validator("lead_days")
    @classmethod
    def _leads(cls, value: list[int]) -> list[int]:
        if not value or any(day < 0 or day > 365 for day in value) or len(set(value)) != len(value):
            raise ValueError("lead_days must list distinct whole days between 0 and 365, e.g. [7, 1]")
        return sorted(value, reverse=True)

    @field_validator("launch_tag", "blackout_tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not _TAG.match(value):
            raise ValueError(f"{value!r} is not a calendar tag; use a word such as launch or blackout")
        return value

    @property
    def every_seconds(self) -> int:
        match = _EVERY.match(self.every)
        assert match is not None  # validated above
        return int(match.group(1)) * _EVERY_SECONDS[match.group(2)]

    @model_validator(mode="after")
    def _fields_of_kind(self) -> SourceSpec:
        # By value, not by presence: a stored spec is dumped with every field at its default.
        foreign = sorted(field for field in _ALL_KIND_FIELDS - _KIND_FIELDS[self.kind]
                         if getattr(self, field) != type(self).model_fields[field].get_default(call_default_factory=True))
        if foreign:
            raise ValueError(f"source {self.name!r} is {self.kind}: remove {', '.join(foreign)} "
                             f"(the {self.kind} fields are {', '.join(sorted(_KIND_FIELDS[self.kind]))})")
        if self.kind == "feed" and (not self.url or not re.match(r"^https?://[^\s/]+", self.url)):
            raise ValueError(f"source {self.name!r} is a feed and needs url: an http(s) URL, "
                             'e.g. url: "https://example.com/feed.xml"')
        if self.kind == "analytics":
            if not self.path or self.format is None:
                raise ValueError(f"source {self.name!r} is analytics and needs path: (a folder) and "
                                 "format: plausible, umami or csv")
            _inside_workspace(self.name, "path", self.path, 'e.g. "analytics/"')
        if self.kind == "github_releases":
            self._github()
        if self.kind == "calendar":
            if not self.url:
                raise ValueError(f"source {self.name!r} is a calendar and needs url: an http(s) URL or a "
                                 'workspace-relative .ics file, e.g. url: "launches.ics"')
            if not re.match(r"^https?://[^\s/]+", self.url):
                _inside_workspace(self.name, "url", self.url, 'e.g. "calendars/launches.ics"')
        return self

    def _github(self) -> None:
        if not self.secret_env or not _ENV_NAME.match(self.secret_env):
            raise ValueError(f"source {self.name!r} is github_releases and needs secret_env: the name of the "
                             "environment variable holding the webhook's secret, e.g. secret_env: GITHUB_HOOK_SECRET")
        if self.repository is not None and not _REPOSITORY.match(self.repository):
            raise ValueError(f"source {self.name!r}: repository {self.repository!r} is not owner/name, "
                             'e.g. repository: "acme/tallybook"')

    @property
    def is_polled(self) -> bool:
        """GitHub releases arrive by webhook (POST /hooks/github); every other kind is fetched."""
        return self.kind != "github_releases"


def _inside_workspace(name: str, field: str, value: str, example: str) -> None:
    if value.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", value) or ":" in value:
        raise ValueError(f"source {name!r}: {field} {value!r} must be inside the workspace, relative to it, {example}")


class ScheduleSpec(_Strict):
    """A recipe started on a cron schedule (in the project's time zone): each firing is one
    `schedule` signal for that recipe. After downtime it catches up once, not once per tick."""

    recipe: str = Field(pattern=r"^[a-z][a-z0-9\-]{0,62}$", description="the name of the recipe to start")
    cron: str = Field(description='five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * TUE"')

    @field_validator("cron")
    @classmethod
    def _fires(cls, value: str) -> str:
        next_firing(value, datetime(2000, 1, 1, tzinfo=UTC))  # raises ValueError naming the problem
        return " ".join(value.split())

    @property
    def key(self) -> str:
        """The schedule's identity in the log: its recipe and expression (spaces as underscores)."""
        return f"{self.recipe}:{self.cron.replace(' ', '_')}"


def next_firing(cron: str, after: datetime) -> datetime:
    """The first time strictly after `after` that `cron` fires (in after's time zone); ValueError
    when the expression is malformed or never fires (e.g. "0 0 30 2 *", February 30)."""
    from croniter import (  # croniter loads only where cron is used
        CroniterBadDateError,
        CroniterError,
        croniter,
    )

    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"cron {cron!r} has {len(fields)} fields; write five: minute hour day-of-month month "
                         'day-of-week, e.g. "0 9 * * TUE"')
    try:
        return croniter(" ".join(fields), after).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"cron {cron!r} never fires (no such date); check the day-of-month and month, "
                         'e.g. "0 9 1 * *" for the first of each month') from None
    except (CroniterError, ValueError, KeyError) as exc:
        raise ValueError(f"cron {cron!r} is not a cron expression ({exc}); write five fields, "
                         'e.g. "0 9 * * TUE"') from None
