"""Named SQL of the Postgres adapter: the queries the runtime's hot path runs, in one place.

Written with `?` / `:name` placeholders like every query handed to the store's `query`
(postgres_params.py translates them); the adapter's own statements use `%s`.
"""

from __future__ import annotations

# The version of one stream (0 for a stream with no events yet).
STREAM_VERSION = "SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream = ?"

# The head of the log and the versions of the streams an append touches, in one round trip
# (the append lock is held meanwhile).
HEAD_AND_VERSIONS = (
    "SELECT h.seq, h.hash, v.stream, v.v FROM (SELECT 1) AS one"
    " LEFT JOIN (SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1) AS h ON true"
    " LEFT JOIN (SELECT stream, MAX(version) AS v FROM events WHERE stream = ANY(%s) GROUP BY stream) AS v ON true"
)

# The most urgent ready task (a lease that ran out counts as ready). Priority with ageing: a
# task gains a point per `ageing` seconds waited, so a flood of high-priority work cannot starve
# low-priority tasks forever. The claim adds FOR UPDATE SKIP LOCKED, so claimers pass each other.
READY_TASK = (
    "SELECT * FROM tasks WHERE (status IN ('queued', 'waiting_rate_limit', 'off_peak',"
    " 'deferred_budget') AND run_after <= :now) OR (status = 'running' AND lease_until < :now)"
    " ORDER BY priority + (:now - enqueued_at) / :ageing DESC, created_seq LIMIT 1"
)
