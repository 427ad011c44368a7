-- A/B tests over a piece's variants (subject lines) and their latest cumulative results.
CREATE TABLE ab_tests (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    piece_id TEXT NOT NULL,
    field TEXT NOT NULL,
    metric TEXT NOT NULL,
    method TEXT NOT NULL,
    list_size BIGINT NOT NULL,
    batch_size BIGINT NOT NULL,
    test_share DOUBLE PRECISION NOT NULL,
    deadline TEXT,
    status TEXT NOT NULL,           -- running | decided
    winner TEXT,
    reason TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ab_tests_piece ON ab_tests (piece_id);

CREATE TABLE ab_variants (
    test_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    position BIGINT NOT NULL,
    text TEXT NOT NULL,
    sent BIGINT NOT NULL,
    opens BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    PRIMARY KEY (test_id, variant)
);
