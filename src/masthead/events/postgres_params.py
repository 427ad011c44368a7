"""The application writes SQL once, with SQLite's placeholders; psycopg wants its own.

`?` becomes `%s`, `:name` becomes `%(name)s`, and a literal `%` becomes `%%` (psycopg reads
`%` as the start of a placeholder anywhere in the text). String literals, quoted identifiers
and comments are copied as they are, apart from that `%` doubling, and Postgres casts
(`::text`) are left alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.lru_cache(maxsize=4096)
def to_psycopg(sql: str) -> str:
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = _closing_quote(sql, i)
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        elif ch == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif ch == ":" and (match := _NAME.match(sql, i + 1)):
            out.append(f"%({match.group(0)})s")
            i = match.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _closing_quote(sql: str, start: int) -> int:
    """Index just past the quoted run that opens at `start` (a doubled quote stays inside)."""
    quote = sql[start]
    i = start + 1
    while i < len(sql):
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def to_params(params: Sequence[Any] | dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
    """SQLite stores a bool as 0 or 1; do the same here, so an INTEGER column accepts it."""
    if isinstance(params, dict):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return tuple(int(v) if isinstance(v, bool) else v for v in params)
