-- The canonical, append-only log (Postgres twin of sqlite/0001). Everything else in this
-- schema is a projection of it, except the bookkeeping tables named as such below.
CREATE TABLE events (
    seq      BIGINT  PRIMARY KEY,          -- global order, gap-free: appends are serialised
    stream   TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    data     TEXT    NOT NULL,             -- canonical JSON, kept as text: the hash covers these bytes
    meta     TEXT    NOT NULL,             -- canonical JSON: actor, at, causation_id, correlation_id
    hash     TEXT    NOT NULL,             -- sha256(previous hash || this event)
    UNIQUE (stream, version)               -- optimistic concurrency per stream
);

-- The log refuses edits, deletes and truncation; only INSERT is allowed.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Bookkeeping, not state: one row per server backend. Appends commit without waiting for the
-- disk (so the append lock is not held through an fsync); a durable append then updates its
-- connection's row here with a synchronous commit, which waits until the WAL (its own append
-- included) is flushed. Concurrent barriers share one flush. See postgres_store.py.
CREATE TABLE commit_barrier (
    backend_pid INTEGER PRIMARY KEY,
    commits     BIGINT  NOT NULL
);

-- SQLite's json_extract for the '$.key' and '$.a.b' paths the application's queries use, so the
-- same SQL runs on both backends. Returns text (SQLite returns the JSON value's own type).
CREATE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT (doc::jsonb) #>> string_to_array(substr(path, 3), '.') $$;
