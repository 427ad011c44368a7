-- The canonical, append-only log. Everything else in this database is a projection of it.
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY,          -- global order, gap-free: appends are serialised
    stream   TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    data     TEXT    NOT NULL,             -- canonical JSON
    meta     TEXT    NOT NULL,             -- canonical JSON: actor, at, causation_id, correlation_id
    hash     TEXT    NOT NULL,             -- sha256(previous hash || this event)
    UNIQUE (stream, version)               -- optimistic concurrency per stream
);

-- The log refuses edits and deletes; only INSERT is allowed.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
