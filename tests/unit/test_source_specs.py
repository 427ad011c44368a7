"""The project YAML's `sources:` list: strict, with errors that name the source and the fix."""

from __future__ import annotations

import pytest

from masthead.errors import ConfigError
from masthead.projects import parse_project_yaml

BASE = """\
name: tallybook
description: Invoicing software.
audience: Freelancers.
voice: {description: Plain.}
channels:
  x: {gate: hard}
"""


def parse(sources: str):
    return parse_project_yaml(BASE + "sources:\n" + sources, "project.yaml")


def test_feed_and_analytics_sources_parse_with_defaults() -> None:
    project = parse('  - {name: blog, kind: feed, url: "https://example.com/feed.xml", every: 15m, backfill: 3}\n'
                    "  - {name: stats, kind: analytics, path: analytics/, format: plausible}\n")
    blog, stats = project.sources
    assert (blog.every_seconds, blog.backfill) == (900, 3)
    assert (stats.path, stats.format, stats.every_seconds) == ("analytics/", "plausible", 900)
    assert parse_project_yaml(BASE, "project.yaml").sources == []


@pytest.mark.parametrize(("sources", "problem"), [
    ("  - {name: blog, kind: feed}\n", "needs url"),
    ('  - {name: blog, kind: feed, url: "ftp://example.com/feed"}\n', "needs url: an http"),
    ('  - {name: blog, kind: feed, url: "https://e.com/f", every: "15 minutes"}\n', "is not a duration"),
    ('  - {name: blog, kind: feed, url: "https://e.com/f", backfill: -1}\n', "backfill"),
    ('  - {name: blog, kind: feed, url: "https://e.com/f", format: csv}\n', "remove format"),
    ("  - {name: stats, kind: analytics, path: analytics/}\n", "needs path: .* and format"),
    ("  - {name: stats, kind: analytics, path: a/, format: excel}\n", "format"),
    ('  - {name: stats, kind: analytics, path: a/, format: csv, url: "https://e.com"}\n', "remove url"),
    ("  - {name: cal, kind: calendar}\n", "is a calendar and needs url"),
    ("  - {name: cal, kind: rss}\n", "kind"),
    ("  - {name: stats, kind: analytics, path: /var/data, format: csv}\n", "must be inside the workspace"),
    ("  - {name: stats, kind: analytics, path: ../other/, format: csv}\n", "must be inside the workspace"),
    ('  - {name: blog, kind: feed, url: "https://e.com/f", lead_days: 3}\n', "lead_days"),
    ('  - {name: Blog!, kind: feed, url: "https://e.com/f"}\n', "name"),
    ('  - {name: blog, kind: feed, url: "https://e.com/f"}\n  - {name: blog, kind: feed, url: "https://e.com/g"}\n',
     "two sources are named 'blog'"),
])
def test_bad_sources_are_refused_with_the_field_and_the_fix(sources: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        parse(sources)
    assert "sources" in str(caught.value)
