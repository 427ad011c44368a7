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

# The versions of streams a later append of the same transaction meets for the first time
# (the head is known by then).
STREAM_VERSIONS = "SELECT stream, MAX(version) AS v FROM events WHERE stream = ANY(%s) GROUP BY stream"

# The most urgent ready task (a lease that ran out counts as ready). Priority with ageing: a
# task gains a point per `ageing` seconds waited, so a flood of high-priority work cannot starve
# low-priority tasks forever. The claim adds FOR UPDATE SKIP LOCKED, so claimers pass each other.
READY_TASK = (
    "SELECT * FROM tasks WHERE (status IN ('queued', 'waiting_rate_limit', 'off_peak',"
    " 'deferred_budget') AND run_after <= :now) OR (status = 'running' AND lease_until < :now)"
    " ORDER BY priority + (:now - enqueued_at) / :ageing DESC, created_seq LIMIT 1"
)

# The checks `Transaction.check_unchanged` may name, each a statement queued right after the
# append lock's (migration 0021): it raises SQLSTATE MH412 when what the transaction read before
# the lock has changed since. "job": (job id, the task being finished, then the fingerprint read:
# the job's status, the count and the sum of versions of its other tasks, a parked job in its
# project); runtime/jobs.py JobState.unchanged_params builds them.
UNCHANGED = {
    "job": "SELECT job_unchanged(%s, %s, %s, %s::bigint, %s::bigint, %s::boolean)",
}
