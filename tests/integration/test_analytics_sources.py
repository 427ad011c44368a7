"""Analytics sources (issue 13, part 3): exports dropped in a folder are imported once by
content hash, trends become `trend` signals with their evidence, bad files import nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.support.harness import make_workspace

from masthead.app.sources import list_sources, poll_sources
from masthead.app.workspace import Workspace

DATA = Path(__file__).resolve().parents[1] / "data" / "analytics"
PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {description: Plain.}
channels:
  x: {gate: hard}
sources:
  - {name: stats, kind: analytics, path: analytics/, format: plausible, every: 1d}
"""


def workspace(root: Path) -> Workspace:
    ws = make_workspace(root, "http://127.0.0.1:9/v1", PROJECT)
    (root / "analytics").mkdir()
    return ws


def trends(ws: Workspace) -> list[dict]:
    return ws.store.query("SELECT title, body, source, trust FROM signals WHERE kind = 'trend' ORDER BY title")


def imported_files(ws: Workspace) -> list[str]:
    return [json.loads(row["data"])["file"] for row in
            ws.store.query("SELECT data FROM events WHERE type = 'AnalyticsImported' ORDER BY seq")]


def poll(ws: Workspace) -> dict:
    [result] = poll_sources(ws)
    return result


def test_a_dropped_export_is_imported_once_and_its_spike_is_one_trend_per_series(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    shutil.copy(DATA / "plausible_visitors.csv", tmp_path / "ws" / "analytics" / "visitors.csv")
    first = poll(ws)
    assert (first["state"], first["files"]) == ("ok", ["visitors.csv"])
    found = trends(ws)
    assert [t["title"] for t in found] == ["Trend: pageviews up on 2026-11-30", "Trend: visitors up on 2026-11-30",
                                           "Trend: visits up on 2026-11-30"]
    visitors = found[1]
    assert visitors["body"].startswith("visitors on 2026-11-30 (Monday) was 480,")
    evidence = json.loads(visitors["body"].split("Evidence:\n", 1)[1])
    assert evidence["value"] == 480 and evidence["score"] >= 3.5
    assert evidence["baseline"]["dates"] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert str(evidence["baseline"]["median"]) in visitors["body"].split("\n")[0]  # the numbers are in the text
    assert {t["trust"] for t in found} == {"untrusted"}

    again = poll(ws)
    assert (again["files"], again["imported"]) == ([], 0)
    shutil.copy(DATA / "plausible_visitors.csv", tmp_path / "ws" / "analytics" / "copy.csv")  # same content
    assert poll(ws)["files"] == []
    assert imported_files(ws) == ["visitors.csv"]


def test_the_next_days_of_a_spike_stay_within_the_cooldown(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    folder = tmp_path / "ws" / "analytics"
    shutil.copy(DATA / "plausible_visitors.csv", folder / "visitors.csv")
    poll(ws)
    (folder / "next.csv").write_text("date,visitors,pageviews,visits\n2026-12-01,470,1300,520\n", "utf-8")
    result = poll(ws)
    assert (result["files"], result["imported"]) == (["next.csv"], 0)
    assert len(trends(ws)) == 3


def test_a_bad_file_imports_nothing_and_names_the_line_while_good_files_go_in(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    folder = tmp_path / "ws" / "analytics"
    good = (DATA / "plausible_visitors.csv").read_text("utf-8")
    (folder / "a_bad.csv").write_text(good.replace("2026-11-12,", "2026-11-12,many", 1), "utf-8")
    (folder / "b_truncated.csv").write_text(good[: len(good) // 2].rsplit(",", 3)[0], "utf-8")
    (folder / "c_good.csv").write_text(good, "utf-8")
    result = poll(ws)
    assert result["state"] == "error" and result["files"] == ["c_good.csv"]
    assert "a_bad.csv, line 18, column visitors: 'many" in result["error"]
    assert "b_truncated.csv, line 17: 5 columns where the header has 7" in result["error"]
    assert imported_files(ws) == ["c_good.csv"]
    [state] = list_sources(ws)
    assert state["state"] == "error" and "a_bad.csv" in state["error"]

    (folder / "a_bad.csv").unlink()
    (folder / "b_truncated.csv").unlink()
    assert poll(ws)["state"] == "ok"


def test_a_missing_folder_is_an_error_state(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT)
    result = poll(ws)
    assert result["state"] == "error" and "analytics/ does not exist" in result["error"]


def zip_of(path: Path, members: dict[str, bytes]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_plausibles_zip_export_is_read_from_its_visitors_csv_once(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    # Plausible's export: the daily series in visitors.csv beside breakdowns the layout does not read.
    zip_of(tmp_path / "ws" / "analytics" / "Plausible export tallybook.zip", {
        "visitors.csv": (DATA / "plausible_visitors.csv").read_bytes(),
        "pages.csv": b"name,visitors,pageviews\n/pricing,12,30\n",
        "sources.csv": b"name,visitors\nGoogle,40\n",
    })
    first = poll(ws)
    assert (first["state"], first["files"]) == ("ok", ["Plausible export tallybook.zip"])
    assert [t["title"] for t in trends(ws)] == ["Trend: pageviews up on 2026-11-30", "Trend: visitors up on 2026-11-30",
                                                "Trend: visits up on 2026-11-30"]
    again = poll(ws)
    assert again["files"] == [] and imported_files(ws) == ["Plausible export tallybook.zip"]


def test_a_bad_zip_imports_nothing_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace(tmp_path / "ws")
    folder = tmp_path / "ws" / "analytics"
    (folder / "truncated.zip").write_bytes(b"PK\x03\x04 not really a zip")
    zip_of(folder / "no-series.zip", {"pages.csv": b"name,visitors\n/,1\n"})
    # A member that declares (and expands to) more than the cap is refused before it is expanded.
    import masthead.app.analytics_sources as analytics_sources

    zip_of(folder / "bomb.zip", {"visitors.csv": b"date,visitors\n" + b"2026-11-01,1\n" * 200_000})
    monkeypatch.setattr(analytics_sources, "MAX_EXPORT_BYTES", 1_000_000)
    result = poll(ws)
    assert result["state"] == "error" and result["files"] == []
    assert "truncated.zip is not a zip archive" in result["error"]
    assert "no-series.zip has no visitors.csv" in result["error"]
    assert "bomb.zip expands to 2,600,014 bytes, more than the 1,000,000 allowed" in result["error"]
    assert imported_files(ws) == [] and trends(ws) == []
