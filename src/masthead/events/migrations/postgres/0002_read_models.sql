-- Read models (Postgres twin of sqlite/0002). Each row is derived from events only (times come
-- from event meta, never the clock), so `masthead replay --verify` can rebuild and compare them.
-- SQLite REAL is DOUBLE PRECISION here, INTEGER stays INTEGER (BIGINT for seq numbers).

CREATE TABLE projects (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    spec        TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE signals (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT,
    priority    TEXT NOT NULL,
    body        TEXT NOT NULL,
    source      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX signals_project ON signals (project, seq);

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL,
    recipe      TEXT NOT NULL,
    signal_id   TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX jobs_status ON jobs (status);

CREATE TABLE tasks (
    id              TEXT PRIMARY KEY,
    job_id          TEXT NOT NULL,
    step            TEXT NOT NULL,
    channel         TEXT,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    run_after       DOUBLE PRECISION NOT NULL,
    lease_owner     TEXT,
    lease_until     DOUBLE PRECISION,
    attempts        INTEGER NOT NULL,
    max_attempts    INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    wait_reason     TEXT,
    last_error      TEXT,
    output          TEXT,
    version         INTEGER NOT NULL,
    created_seq     BIGINT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX tasks_ready ON tasks (status, run_after);
CREATE INDEX tasks_job ON tasks (job_id);

CREATE TABLE pieces (
    id          TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL,
    project     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    status      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    text        TEXT NOT NULL,
    subject     TEXT,
    flags       TEXT NOT NULL,
    approved_version INTEGER,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX pieces_status ON pieces (status);

CREATE TABLE piece_versions (
    piece_id       TEXT NOT NULL,
    version        INTEGER NOT NULL,
    text           TEXT NOT NULL,
    subject        TEXT,
    author         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    tier           TEXT,
    prompt_version TEXT,
    task_id        TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (piece_id, version)
);

CREATE TABLE checks (
    piece_id TEXT NOT NULL,
    version  INTEGER NOT NULL,
    name     TEXT NOT NULL,
    passed   INTEGER NOT NULL,
    detail   TEXT NOT NULL,
    PRIMARY KEY (piece_id, version, name)
);

CREATE TABLE decisions (
    seq      BIGINT PRIMARY KEY,
    piece_id TEXT NOT NULL,
    version  INTEGER NOT NULL,
    decision TEXT NOT NULL,
    actor    TEXT NOT NULL,
    reason   TEXT,
    at       TEXT NOT NULL
);
CREATE INDEX decisions_piece ON decisions (piece_id);

CREATE TABLE review_queue (
    piece_id  TEXT PRIMARY KEY,
    version   INTEGER NOT NULL,
    gate      TEXT NOT NULL,
    reason    TEXT NOT NULL,
    priority  INTEGER NOT NULL,
    since     TEXT NOT NULL,
    deadline  TEXT
);

CREATE TABLE publications (
    idempotency_key TEXT PRIMARY KEY,
    piece_id     TEXT NOT NULL,
    version      INTEGER NOT NULL,
    channel      TEXT NOT NULL,
    publisher    TEXT NOT NULL,
    status       TEXT NOT NULL,
    location     TEXT,
    requested_at TEXT NOT NULL,
    delivered_at TEXT
);

CREATE TABLE model_calls (
    call_key     TEXT PRIMARY KEY,
    task_id      TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    provider     TEXT NOT NULL,
    model        TEXT NOT NULL,
    tier         TEXT NOT NULL,
    params       TEXT NOT NULL,
    output       TEXT NOT NULL,
    tokens_in    INTEGER NOT NULL,
    tokens_out   INTEGER NOT NULL,
    latency_ms   DOUBLE PRECISION NOT NULL,
    cost_usd     DOUBLE PRECISION NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX model_calls_task ON model_calls (task_id);
CREATE INDEX model_calls_job ON model_calls (job_id);
