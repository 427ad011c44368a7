-- Two tables that are not read models: replay neither rebuilds nor compares them.

-- Worker processes that are running now. Each one beats every few seconds; `masthead workers`
-- lists the recent ones and the tasks they hold. It describes processes, which a replay could
-- not bring back anyway; the leases themselves are in the log (TaskClaimed, TaskLeaseExtended).
CREATE TABLE workers (
    name        TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    owner       TEXT NOT NULL,                 -- lease owners are `<owner>:<thread>`
    concurrency INTEGER NOT NULL,
    started_at  REAL NOT NULL,                 -- unix seconds
    beat_at     REAL NOT NULL
);

-- Projection snapshots: every read-model row as of one seq, so a rebuild reads only the tail.
CREATE TABLE snapshots (
    seq        INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL,                  -- event `seq`'s hash: a snapshot of another log is refused
    format     INTEGER NOT NULL,
    tables     INTEGER NOT NULL,
    rows       INTEGER NOT NULL,
    payload    BLOB NOT NULL,                  -- zlib-compressed JSON: {table: [columns, rows]}
    created_at TEXT NOT NULL
);
