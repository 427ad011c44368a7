"""A digest's material: the project's signals of the past days, gathered from the log.

A recipe whose trigger has `gather:` (the built-in `weekly-digest`) does not write about its
trigger's body (a `schedule` signal says only "it is Tuesday 09:00"): every step sees a digest
signal instead, built from the signals the project received in the `days` before the trigger,
one `## section` per signal with its most salient items. The window ends at the trigger's
sequence number, so the same job gathers the same signals on every run and on every worker,
whenever it runs and whatever arrived since.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from masthead.compose.items import Extraction, Item, extract_items
from masthead.events.store import EventStore
from masthead.recipes.schema import Gather

ITEMS_PER_SIGNAL = 3
# Trend signals end with their evidence as JSON: the sentence before it says the finding with its
# numbers, and the numbers stay grounded through the gathered signal's body.
EVIDENCE_MARK = "\n\nEvidence:\n"
_TRUST_ORDER = ("untrusted", "trusted", "operator")


def gathered_signals(store: EventStore, trigger: dict[str, Any], gather: Gather,
                     trigger_kinds: list[str]) -> list[dict[str, Any]]:
    """The project's signals received within `gather.days` before the trigger, oldest first."""
    since = (_parse(trigger["received_at"]) - timedelta(days=gather.days)).isoformat()
    # A signal about one person (sealed with their key) never goes into a digest for everyone.
    rows = store.query("SELECT * FROM signals WHERE project = ? AND seq < ? AND subject IS NULL ORDER BY seq DESC",
                       (trigger["project"], trigger["seq"]))
    kinds = gather.signal_kinds
    chosen = [row for row in rows
              if _parse(row["received_at"]).isoformat() >= since
              and (row["kind"] in kinds if kinds is not None else row["kind"] not in trigger_kinds)]
    return list(reversed(chosen[: gather.max_signals]))


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Section:
    heading: str
    items: tuple[Item, ...]
    link: str | None

    def text(self) -> str:
        lines = [f"- {' '.join(item.plain.split())}" for item in self.items]
        if self.link and self.link not in "\n".join(lines):
            lines.append(f"- {self.link}")
        return f"## {self.heading}\n\n" + "\n".join(lines)


def section_of(signal: dict[str, Any]) -> Section:
    """One signal as a digest section: its title as the heading, its top items in their order."""
    body = signal["body"].split(EVIDENCE_MARK, 1)[0]
    extraction = extract_items(trend_item_text(signal["body"]) if signal["kind"] == TREND_KIND else body,
                               signal["title"])
    ranked = sorted(extraction.ranked()[:ITEMS_PER_SIGNAL], key=lambda item: item.position)
    heading = " ".join((signal["title"] or extraction.title or signal["kind"]).split())
    if not ranked:
        text = " ".join(body.split())[:200]
        ranked = [Item(kind="note", text=text, section=heading, salience=1.0, position=0)]
    return Section(heading, tuple(ranked), extraction.link)


def digest_extraction(title: str, sections: list[Section]) -> Extraction:
    """The digest's items: each section's, in order, with the section's heading. The first item
    of every section ranks above every second item, so coverage asks for each signal first."""
    items: list[Item] = []
    for section in sections:
        for rank, item in enumerate(section.items):
            items.append(replace(item, section=section.heading, position=len(items),
                                 salience=round(10.0 - rank + item.salience / 100, 4)))
    return Extraction(items=tuple(items), product=None, version=None, link=None, title=title,
                      headings=tuple(section.heading for section in sections))


def digest_signal(store: EventStore, trigger: dict[str, Any], gather: Gather,
                  trigger_kinds: list[str]) -> dict[str, Any]:
    """The signal row every step of a digest job sees in place of its trigger. Its trust is the
    least trusted of what it gathered: one untrusted feed item makes the digest untrusted."""
    signals = gathered_signals(store, trigger, gather, trigger_kinds)
    end = _parse(trigger["received_at"])
    start = end - timedelta(days=gather.days)
    title = f"The week of {start.date().isoformat()} to {end.date().isoformat()}"
    sections = [section_of(signal) for signal in signals]
    body = "\n\n".join(section.text() for section in sections)
    trust = min((s["trust"] for s in signals), key=_TRUST_ORDER.index, default=trigger["trust"])
    return trigger | {
        "title": title, "body": body or "(no signals)", "trust": trust,
        "sha256": hashlib.sha256(body.encode()).hexdigest(),
        "source": f"digest:{trigger['id']}", "gathered": [s["id"] for s in signals],
        "digest": digest_extraction(title, sections),
        "vouched": [text for signal in signals for text in trend_evidence(signal)],
    }


TREND_KIND = "trend"


def trend_item_text(body: str) -> str:
    """A trend's items in words: its finding, the baseline days it was measured against and the
    method's numbers, each a line, all taken from its evidence (so every figure is grounded)."""
    finding, _, evidence_json = body.partition(EVIDENCE_MARK)
    try:
        evidence = json.loads(evidence_json)
        baseline = evidence["baseline"]
        pairs = [f"{value:g} on {day}" for day, value in zip(baseline["dates"], baseline["values"], strict=True)]
        method = evidence["method"]
    except (ValueError, KeyError, TypeError):
        return finding
    weekday = _weekday(evidence.get("date"))
    lines = [finding.strip()]
    if pairs:
        lines.append(f"- The previous {weekday}s for comparison: {', '.join(pairs[:-1])} and {pairs[-1]}."
                     if len(pairs) > 1 else f"- The previous {weekday} for comparison: {pairs[0]}.")
    lines.append(f"- Measured as a {method['name']} over {method['window_days']} days: a score of "
                 f"{evidence['score']:g} against a threshold of {method['threshold']:g}.")
    return "\n\n".join([lines[0], "\n".join(lines[1:])])


def _weekday(day: Any) -> str:
    try:
        return datetime.fromisoformat(str(day)).strftime("%A")
    except ValueError:
        return "day"


def trend_evidence(signal: dict[str, Any]) -> list[str]:
    """Text whose numbers Masthead computed itself: a trend signal's body (its sentence and its
    evidence are written by the trend detector from the imported analytics, never by a sender),
    and the trend bodies a digest gathered. Only a trend from an analytics source counts: a
    hook that calls its signal `trend` is still a sender's text."""
    if signal["kind"] == TREND_KIND and str(signal["source"]).startswith("analytics:"):
        return [signal["body"], trend_item_text(signal["body"])]
    return list(signal.get("vouched") or [])
