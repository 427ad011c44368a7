"""Analytics exports as the services hand them out: a zip of CSV files.

Plausible's "Export" is a zip whose `visitors.csv` holds the daily time series (the other files
are breakdowns by page, source, country...); Umami's data export holds `website_event.csv`. A
zip for the generic layout may hold any number of `date,metric,value[,dimension]` CSVs. The
members a layout reads are read whole (a zip is one export: every member parses or nothing of
it is kept), and the sizes the archive declares are checked before anything is decompressed, so
a zip bomb is refused, not expanded.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from pathlib import PurePosixPath

from masthead.sources.analytics import AnalyticsFileError, Format, Point, read_export

# The member(s) each layout reads, by file name (in any folder of the archive); None: every CSV.
MEMBERS: dict[str, tuple[str, ...] | None] = {
    "plausible": ("visitors.csv",),
    "umami": ("website_event.csv",),
    "csv": None,
}
MAX_MEMBERS = 200


def read_zip_export(data: bytes, fmt: Format, file: str, max_bytes: int) -> dict[Point, float]:
    """The points of a zipped export; AnalyticsFileError naming the file (and member) if any part
    of it cannot be read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise AnalyticsFileError(f"{file} is not a zip archive (or it is truncated)",
                                 fix="drop the export file as the service made it, or its CSV") from None
    with archive:
        members = _members(archive, fmt, file)
        declared = sum(info.file_size for info in members)
        if declared > max_bytes:
            raise AnalyticsFileError(f"{file} expands to {declared:,} bytes, more than the {max_bytes:,} allowed",
                                     fix="export a shorter date range")
        points: dict[Point, float] = defaultdict(float)
        for info in members:
            name = f"{file}:{info.filename}"
            for key, value in read_export(_text(archive, info, name, max_bytes), fmt, name).items():
                points[key] += value  # one export: rows for the same day and metric add up, as within a file
    return dict(points)


def _members(archive: zipfile.ZipFile, fmt: Format, file: str) -> list[zipfile.ZipInfo]:
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise AnalyticsFileError(f"{file} holds {len(infos)} files, more than {MAX_MEMBERS}",
                                 fix="zip only the export's CSV files")
    wanted = MEMBERS[fmt]
    chosen = [info for info in infos if (PurePosixPath(info.filename).name.lower() in wanted if wanted
                                         else info.filename.lower().endswith(".csv"))]
    if not chosen:
        expected = ", ".join(wanted) if wanted else "a .csv file"
        raise AnalyticsFileError(f"{file} has no {expected}", fix=f"drop the {fmt} export that holds {expected}")
    return chosen


def _text(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, max_bytes: int) -> str:
    with archive.open(info) as member:
        raw = member.read(max_bytes + 1)  # the declared size may lie: never read past the cap
    if len(raw) > max_bytes:
        raise AnalyticsFileError(f"{name} is larger than the {max_bytes:,} bytes allowed", fix="export a shorter date range")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnalyticsFileError(f"{name} is not UTF-8 text (byte {exc.start})", fix="export it as UTF-8 CSV") from None
