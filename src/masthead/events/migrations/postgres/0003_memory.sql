-- Project memory (Postgres twin of sqlite/0003). memory_items, memory_links, memory_forgotten
-- and memory_retrievals are read models. memory_vectors is a cache (not in the log, rebuilt by
-- re-embedding, skipped by replay): the same little-endian float32 bytes as on SQLite, so the
-- in-process index loads them the same way. With pgvector on the server, 0007 adds a `vector`
-- column computed from these bytes.

CREATE TABLE memory_items (
    id              TEXT PRIMARY KEY,
    tier            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    project         TEXT,
    job_id          TEXT,
    text            TEXT NOT NULL,
    source          TEXT NOT NULL,
    confidence      DOUBLE PRECISION NOT NULL,
    embedding_model TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    seq             BIGINT NOT NULL
);
CREATE INDEX memory_items_scope ON memory_items (project, tier, kind);

CREATE TABLE memory_links (
    meta_note_id TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    PRIMARY KEY (meta_note_id, item_id)
);
CREATE INDEX memory_links_item ON memory_links (item_id);

CREATE TABLE memory_forgotten (
    id     TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    actor  TEXT NOT NULL,
    at     TEXT NOT NULL
);

CREATE TABLE memory_retrievals (
    retrieval_key TEXT PRIMARY KEY,
    task_id       TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    project       TEXT NOT NULL,
    role          TEXT NOT NULL,
    query         TEXT NOT NULL,
    embedder      TEXT NOT NULL,
    considered    INTEGER NOT NULL,
    items         TEXT NOT NULL,
    at            TEXT NOT NULL,
    seq           BIGINT NOT NULL
);
CREATE INDEX memory_retrievals_task ON memory_retrievals (task_id);

CREATE TABLE memory_vectors (
    item_id TEXT NOT NULL,
    model   TEXT NOT NULL,
    dim     INTEGER NOT NULL,
    vector  BYTEA NOT NULL,                  -- float32, little-endian, L2-normalised
    PRIMARY KEY (item_id, model)
);

-- The cached bytes as a float4 array (IEEE 754 single precision, little-endian), for SQL that
-- wants the numbers; IMMUTABLE, so a generated column can use it.
CREATE FUNCTION masthead_float4_array(bytes BYTEA) RETURNS REAL[]
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    values REAL[] := '{}';
    bits BIGINT;
    exponent INTEGER;
    mantissa BIGINT;
    magnitude DOUBLE PRECISION;
BEGIN
    FOR i IN 0 .. length(bytes) / 4 - 1 LOOP
        bits := get_byte(bytes, 4 * i)::BIGINT
              | (get_byte(bytes, 4 * i + 1)::BIGINT << 8)
              | (get_byte(bytes, 4 * i + 2)::BIGINT << 16)
              | (get_byte(bytes, 4 * i + 3)::BIGINT << 24);
        exponent := ((bits >> 23) & 255)::INTEGER;
        mantissa := bits & 8388607;
        IF exponent = 255 THEN
            magnitude := CASE WHEN mantissa = 0 THEN 'Infinity'::DOUBLE PRECISION ELSE 'NaN'::DOUBLE PRECISION END;
        ELSIF exponent = 0 THEN
            magnitude := mantissa * power(2::DOUBLE PRECISION, -149);
        ELSE
            magnitude := (1 + mantissa / 8388608.0::DOUBLE PRECISION) * power(2::DOUBLE PRECISION, exponent - 127);
        END IF;
        values := values || (CASE WHEN (bits >> 31) = 1 THEN -magnitude ELSE magnitude END)::REAL;
    END LOOP;
    RETURN values;
END
$$;

-- pgvector, when this server has it: `embedding` mirrors `vector` as a pgvector value, computed
-- by Postgres on every write, for similarity queries in SQL. Retrieval itself keeps using the
-- in-process index built from the bytes. Without the extension (or the right to create it),
-- nothing else changes.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS vector;
            EXECUTE 'ALTER TABLE memory_vectors ADD COLUMN embedding vector'
                    ' GENERATED ALWAYS AS (masthead_float4_array(vector)::vector) STORED';
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'pgvector is available but could not be used (%); vectors stay bytea only', SQLERRM;
        END;
    END IF;
END
$$;
