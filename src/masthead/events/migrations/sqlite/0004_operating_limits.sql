-- Operating under limits: criticality, deferrals, manual fallback, budgets, breakers.
ALTER TABLE tasks ADD COLUMN criticality TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE tasks ADD COLUMN note TEXT;
ALTER TABLE tasks ADD COLUMN enqueued_at REAL NOT NULL DEFAULT 0;   -- for ageing
ALTER TABLE tasks ADD COLUMN needs_human TEXT;                      -- JSON: reason, inputs, partial

ALTER TABLE model_calls ADD COLUMN project TEXT;
ALTER TABLE model_calls ADD COLUMN day TEXT;                         -- UTC date of the call
ALTER TABLE model_calls ADD COLUMN requested TEXT;                   -- set when a fallback served
CREATE INDEX model_calls_project_day ON model_calls (project, day);

CREATE TABLE budget_reservations (
    id         TEXT PRIMARY KEY,
    project    TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    usd        REAL NOT NULL,
    tokens     INTEGER NOT NULL,
    expires_at REAL NOT NULL,                                        -- a crashed call's hold lapses
    at         TEXT NOT NULL
);

CREATE TABLE breakers (
    endpoint TEXT PRIMARY KEY,
    state    TEXT NOT NULL,                                          -- open | half_open | closed
    since    TEXT NOT NULL,
    detail   TEXT
);

ALTER TABLE jobs ADD COLUMN criticality TEXT NOT NULL DEFAULT 'normal';
