-- Two tables that are not read models (Postgres twin of sqlite/0006): replay neither rebuilds
-- nor compares them.

-- Worker processes that are running now; see sqlite/0006 for why this is not in the log.
CREATE TABLE workers (
    name        TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    started_at  DOUBLE PRECISION NOT NULL,
    beat_at     DOUBLE PRECISION NOT NULL
);

-- Projection snapshots: every read-model row as of one seq, so a rebuild reads only the tail.
CREATE TABLE snapshots (
    seq        BIGINT PRIMARY KEY,
    hash       TEXT NOT NULL,
    format     INTEGER NOT NULL,
    tables     INTEGER NOT NULL,
    rows       INTEGER NOT NULL,
    payload    BYTEA NOT NULL,
    created_at TEXT NOT NULL
);
