-- Postgres twin of sqlite/0007: recipes stored once; an index of the tasks waiting to be claimed.
CREATE TABLE recipes (
    digest      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE INDEX tasks_waiting ON tasks (priority, enqueued_at, created_seq)
    WHERE status IN ('queued', 'waiting_rate_limit', 'off_peak', 'deferred_budget');
