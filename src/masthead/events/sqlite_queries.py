"""Named SQL of the SQLite adapter: the queries the runtime's hot path runs, in one place.

`:now` and `:ageing` are named parameters; `?` positional ones.
"""

from __future__ import annotations

# The version of one stream (0 for a stream with no events yet).
STREAM_VERSION = "SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream = ?"

# The head of the log: the last seq and its hash.
HEAD = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"

# The read models' non-unique indexes, which an import into an empty log drops for the load and
# builds again at its end (events/bulk.py); unique ones stay, as the constraints they are.
SECONDARY_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name <> 'events'"
    " AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
)

# The most urgent ready task. Priority with ageing: a task gains a point per `ageing` seconds
# waited, so a flood of high-priority work cannot starve low-priority tasks forever. One writer
# at a time means no row needs skipping. The winner is always the oldest waiting task of some
# priority (age only adds to the score), so it looks at one task per priority level through
# the `tasks_waiting` index instead of sorting every waiting task.
_WAITING = "status IN ('queued', 'waiting_rate_limit', 'off_peak', 'deferred_budget')"
READY_TASK = f"""
WITH RECURSIVE levels(p) AS (
    SELECT MAX(priority) FROM tasks INDEXED BY tasks_waiting WHERE {_WAITING}
    UNION ALL
    SELECT (SELECT MAX(priority) FROM tasks INDEXED BY tasks_waiting WHERE {_WAITING} AND priority < levels.p)
    FROM levels WHERE levels.p IS NOT NULL
), candidates(id) AS (
    SELECT (SELECT id FROM tasks INDEXED BY tasks_waiting WHERE {_WAITING} AND priority = levels.p AND run_after <= :now
            ORDER BY enqueued_at, created_seq LIMIT 1)
    FROM levels WHERE levels.p IS NOT NULL
    UNION ALL
    SELECT id FROM tasks WHERE status = 'running' AND lease_until < :now
)
SELECT tasks.* FROM candidates JOIN tasks ON tasks.id = candidates.id
ORDER BY tasks.priority + (:now - tasks.enqueued_at) / :ageing DESC, tasks.created_seq LIMIT 1
"""

# The checks `Transaction.check_unchanged` may name. Never run: SQLite's write lock is held from
# BEGIN IMMEDIATE, so what a transaction read cannot change before it appends (migration 0021's
# SQLite twin is empty for the same reason). Kept so both adapters accept the same names.
UNCHANGED: dict[str, str] = {"job": ""}
