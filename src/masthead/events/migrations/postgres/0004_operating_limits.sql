-- Operating under limits (Postgres twin of sqlite/0004).
ALTER TABLE tasks ADD COLUMN criticality TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE tasks ADD COLUMN note TEXT;
ALTER TABLE tasks ADD COLUMN enqueued_at DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN needs_human TEXT;

ALTER TABLE model_calls ADD COLUMN project TEXT;
ALTER TABLE model_calls ADD COLUMN day TEXT;
ALTER TABLE model_calls ADD COLUMN requested TEXT;
CREATE INDEX model_calls_project_day ON model_calls (project, day);

CREATE TABLE budget_reservations (
    id         TEXT PRIMARY KEY,
    project    TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    usd        DOUBLE PRECISION NOT NULL,
    tokens     INTEGER NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    at         TEXT NOT NULL
);

CREATE TABLE breakers (
    endpoint TEXT PRIMARY KEY,
    state    TEXT NOT NULL,
    since    TEXT NOT NULL,
    detail   TEXT
);

ALTER TABLE jobs ADD COLUMN criticality TEXT NOT NULL DEFAULT 'normal';
