"""Publishers by kind, found through the entry-point group `masthead.publishers`.

The built-ins are declared in pyproject.toml exactly as a plugin package declares its own:

    [project.entry-points."masthead.publishers"]
    mastodon = "masthead.channels.publishers.mastodon:MastodonPublisher"

An installed copy whose metadata predates a built-in (an editable install not refreshed since
the entry point was added) still finds it through BUILTIN, the same table in code; an entry
point of the same kind wins, so a plugin can replace a built-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from masthead.channels.publisher import Publisher, PublisherContext
from masthead.config import MastheadConfig, PublisherSection, format_validation_error
from masthead.errors import ConfigError
from masthead.plugins import PUBLISHERS, load, named

GROUP = PUBLISHERS

BUILTIN: dict[str, str] = {
    "file": "masthead.channels.file_publisher:FilePublisher",
    "mastodon": "masthead.channels.publishers.mastodon:MastodonPublisher",
    "bluesky": "masthead.channels.publishers.bluesky:BlueskyPublisher",
    "smtp": "masthead.channels.publishers.smtp:SmtpPublisher",
    "ghost": "masthead.channels.publishers.ghost:GhostPublisher",
    "wordpress": "masthead.channels.publishers.wordpress:WordPressPublisher",
    "x": "masthead.channels.publishers.x:XPublisher",
    "linkedin": "masthead.channels.publishers.linkedin:LinkedInPublisher",
    "webhook": "masthead.channels.publishers.webhook:WebhookPublisher",
    "feed": "masthead.channels.publishers.feed:FeedPublisher",
    "proposal": "masthead.channels.publishers.proposal:ProposalPublisher",
}


def publisher_kinds(found: Iterable[EntryPoint] | None = None) -> dict[str, str]:
    """kind -> "module:Class", from the entry points (or `found`, for tests) over BUILTIN."""
    return named(GROUP, BUILTIN, found)


def publisher_class(kind: str, kinds: Mapping[str, str] | None = None) -> Any:
    kinds = publisher_kinds() if kinds is None else kinds
    if kind not in kinds:
        raise ConfigError(f"publisher kind {kind!r} is not installed",
                          fix=f"use one of {', '.join(sorted(kinds))}, or install the package that provides it")
    return load(kinds[kind])


def build_publisher(name: str, section: PublisherSection, out_dir: Path, environ: Mapping[str, str],
                    kinds: Mapping[str, str] | None = None) -> Publisher:
    cls = publisher_class(section.kind, kinds)
    try:
        settings = cls.settings_model.model_validate(section.model_dump())
    except ValidationError as exc:
        raise ConfigError(format_validation_error(f"masthead.toml [publishers.{name}]", exc)) from None
    publisher: Publisher = cls.from_settings(settings, PublisherContext(name=name, out_dir=out_dir,
                                                                        environ=dict(environ)))
    return publisher


def build_publishers(config: MastheadConfig, out_dir: Path, environ: Mapping[str, str],
                     kinds: Mapping[str, str] | None = None) -> dict[str, Publisher]:
    """Every configured publisher by name; `file` and `proposal` are there unless a table
    redefines them."""
    sections = {"file": PublisherSection(kind="file"), "proposal": PublisherSection(kind="proposal"),
                **config.publishers}
    return {name: build_publisher(name, section, out_dir, environ, kinds) for name, section in sections.items()}
