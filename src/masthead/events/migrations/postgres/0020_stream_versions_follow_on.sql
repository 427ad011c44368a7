-- Each event of a stream follows its stream's last version, checked by the log itself.
--
-- An append names the version it expects a stream to be at (optimistic concurrency). The
-- adapter used to read every stream's version before each append, a round trip made while
-- holding the append lock (every other writer waits through it). It now trusts a named
-- expected version and lets this trigger check it, inside the INSERT, without a round trip:
-- UNIQUE (stream, version) already refuses a version taken twice; this also refuses a version
-- that skips one (an append expecting a version the stream never reached). Appends are
-- serialised by the append lock, so the last version read here cannot move before COMMIT.
-- SQLSTATE MH409 is turned into ConcurrencyConflict by postgres_store.py.
CREATE FUNCTION events_version_follows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_version INTEGER;
BEGIN
    SELECT version INTO last_version FROM events WHERE stream = NEW.stream ORDER BY version DESC LIMIT 1;
    IF COALESCE(last_version, 0) <> NEW.version - 1 THEN
        RAISE EXCEPTION 'stream % is at version %, expected %', NEW.stream, COALESCE(last_version, 0), NEW.version - 1
            USING ERRCODE = 'MH409';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER events_version_follows BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_version_follows();
