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


def test_github_calendar_and_schedule_entries_parse_with_defaults() -> None:
    project = parse_project_yaml(
        BASE + "timezone: Europe/Berlin\nsources:\n"
        "  - {name: gh, kind: github_releases, secret_env: GH_HOOK_SECRET}\n"
        '  - {name: plan, kind: calendar, url: "calendars/plan.ics", lead_days: [1, 7, 0]}\n'
        "schedules:\n  - {recipe: weekly-digest, cron: \"0  9 * * TUE\"}\n", "project.yaml")
    gh, plan = project.sources
    assert (gh.drafts, gh.prereleases, gh.repository, gh.is_polled) == (False, False, None, False)
    assert (plan.lead_days, plan.launch_tag, plan.blackout_tag, plan.is_polled) == ([7, 1, 0], "launch", "blackout", True)
    [schedule] = project.schedules
    assert (schedule.recipe, schedule.cron, schedule.key) == ("weekly-digest", "0 9 * * TUE", "weekly-digest:0_9_*_*_TUE")


@pytest.mark.parametrize(("entries", "problem"), [
    ("sources:\n  - {name: gh, kind: github_releases}\n", "needs secret_env"),
    ("sources:\n  - {name: gh, kind: github_releases, secret_env: 'not a name'}\n", "needs secret_env"),
    ("sources:\n  - {name: gh, kind: github_releases, secret_env: S, repository: nope}\n", "is not owner/name"),
    ('sources:\n  - {name: gh, kind: github_releases, secret_env: S, url: "https://e.com"}\n', "remove url"),
    ('sources:\n  - {name: blog, kind: feed, url: "https://e.com/f", secret_env: S}\n', "remove secret_env"),
    ('sources:\n  - {name: plan, kind: calendar, url: "../plan.ics"}\n', "must be inside the workspace"),
    ('sources:\n  - {name: plan, kind: calendar, url: "p.ics", lead_days: []}\n', "lead_days"),
    ('sources:\n  - {name: plan, kind: calendar, url: "p.ics", lead_days: [1, 1]}\n', "lead_days"),
    ('sources:\n  - {name: plan, kind: calendar, url: "p.ics", lead_days: [400]}\n', "lead_days"),
    ('sources:\n  - {name: plan, kind: calendar, url: "p.ics", launch_tag: "a,b"}\n', "is not a calendar tag"),
    ('schedules:\n  - {recipe: digest, cron: "0 0 30 2 *"}\n', "never fires"),
    ('schedules:\n  - {recipe: digest, cron: "0 9 * * TUE *"}\n', "has 6 fields"),
    ('schedules:\n  - {recipe: digest, cron: "every tuesday"}\n', "has 2 fields"),
    ('schedules:\n  - {recipe: digest, cron: "0 9 * * XYZ"}\n', "is not a cron expression"),
    ('schedules:\n  - {recipe: Digest!, cron: "0 9 * * 2"}\n', "recipe"),
    ('schedules:\n  - {recipe: digest, cron: "0 9 * * 2"}\n  - {recipe: digest, cron: "0 9 * * 2"}\n', "listed twice"),
])
def test_bad_github_calendar_and_schedule_entries_are_refused(entries: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        parse_project_yaml(BASE + entries, "project.yaml")
    assert entries.split(":")[0] in str(caught.value)  # the field: sources... or schedules...
