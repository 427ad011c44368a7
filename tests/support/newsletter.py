"""A newsletter operator's workspace: analytics exports in, trend signals, the newsletter recipe."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from tests.support.harness import make_workspace

from masthead.app.workspace import Workspace

DATA = Path(__file__).resolve().parents[1] / "data" / "analytics"

PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelance designers and developers.
voice:
  description: Plain and friendly.
  exemplars: ["Traffic doubled last Monday: 640 visitors, against 320 the Mondays before. Thank you for sharing Tallybook."]
channels:
  newsletter: {gate: auto, auto_min_confidence: 0.3}
  email: {gate: soft, soft_delay_minutes: 0}
  x: {gate: hard}
policies:
  sensitive_topics:
    - {term: layoffs, description: "staff reductions, job cuts, people leaving the company"}
sources:
  - {name: stats, kind: analytics, path: analytics/, format: plausible, every: 1d}
"""

_FINDING = re.compile(r"(\w+) on (\d{4}-\d\d-\d\d) \((\w+)\) was ([\d.]+), ([\d.]+x) the usual")
_HOOK = re.compile(r"([\d.]+) (\w+) in one day: ([\d.]+x) the usual (\w+)")


def finding(prompt: str) -> dict[str, str] | None:
    """The trend's parts as a prompt quotes them (metric, date, weekday, value, ratio): from the
    signal's sentence, or from the number hook (the subject-lines prompt has only the hooks)."""
    match = _FINDING.search(prompt)
    if match:
        return dict(zip(("metric", "date", "weekday", "value", "ratio"), match.groups(), strict=True))
    hook = _HOOK.search(prompt)
    if hook:
        value, metric, ratio, weekday = hook.groups()
        return {"metric": metric, "date": "", "weekday": weekday, "value": value, "ratio": ratio}
    return None


def newsletter_reply(body: dict[str, Any]) -> str:
    """A capable model's answers, grounded in the trend the prompt quotes."""
    name = (body.get("response_format") or {}).get("json_schema", {}).get("name", "")
    prompt = body["messages"][-1]["content"]
    found = finding(prompt)
    if found is None:
        return _plain_reply(name, prompt)
    metric, value, ratio, day = found["metric"], found["value"], found["ratio"], found["weekday"]
    if name == "BriefOutput":
        return json.dumps({"headline": f"{metric.title()} jumped on {day}",
                           "key_points": [f"{value} {metric} on {found['date']}", f"{ratio} the usual {day}"],
                           "angle": "more people are finding Tallybook"})
    if name == "HooksOutput":
        return json.dumps({"hooks": [
            {"angle": "number", "text": f"{value} {metric} in one day: {ratio} the usual {day}.",
             "grounded_in": f"{metric} was {value}"},
            {"angle": "news", "text": f"Our {metric} spiked on {found['date']}.", "grounded_in": found["date"]},
            {"angle": "reader", "text": "More freelancers found Tallybook this week than any week before.",
             "grounded_in": "the trend"},
        ]})
    if name == "SubjectLinesOutput":
        return json.dumps({"subjects": [f"{value} {metric} in one day", f"{ratio} the usual {day}"]})
    if name in ("DraftOutput", "RefineOutput"):
        return json.dumps({"text": f"{value} {metric} on {day} {found['date']}, {ratio} the usual {day}. "
                                   "Thank you for telling your friends about Tallybook."})
    return json.dumps({"text": "ok"})


_TITLE = re.compile(r'<data kind="(?:signal|brief)">\n#* *([^\n]+)')


def _plain_reply(name: str, prompt: str) -> str:
    """Answers about a signal that is not a trend (a feed item): its first line is the news."""
    match = _TITLE.search(prompt)
    title = match.group(1).strip().rstrip(".") if match else "News from Tallybook"
    if name == "BriefOutput":
        return json.dumps({"headline": title, "key_points": [title], "angle": "what it means for you"})
    if name == "HooksOutput":
        return json.dumps({"hooks": [{"angle": "news", "text": f"{title}.", "grounded_in": title},
                                     {"angle": "reader", "text": "Here is what it means for you.", "grounded_in": ""}]})
    if name == "SubjectLinesOutput":
        return json.dumps({"subjects": [title[:60], "This week at Tallybook"]})
    return json.dumps({"text": f"{title}."})


def newsletter_workspace(root: Path, base_url: str, project: str = PROJECT) -> Workspace:
    ws = make_workspace(root, base_url, project)
    (root / "analytics").mkdir()
    shutil.copy(DATA / "plausible_visitors.csv", root / "analytics" / "visitors.csv")
    return ws


def job_output(ws: Workspace, job_id: str, step: str, channel: str | None = None) -> dict[str, Any]:
    sql = "SELECT e.data FROM tasks t JOIN events e ON e.seq = t.output_seq WHERE t.job_id = ? AND t.step = ?"
    params: list[Any] = [job_id, step]
    if channel is not None:
        sql += " AND t.channel = ?"
        params.append(channel)
    rows = ws.store.query(sql, params)
    return dict(json.loads(rows[0]["data"])["output"]) if rows else {}


def checks_of(ws: Workspace, piece_id: str) -> list[dict[str, Any]]:
    rows = ws.store.query("SELECT data FROM events WHERE stream = ? AND type = 'ChecksRecorded' ORDER BY seq",
                          (f"piece-{piece_id}",))
    return [json.loads(row["data"]) for row in rows]
