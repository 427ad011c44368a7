-- Project memory. memory_items, memory_links, memory_forgotten and memory_retrievals are read
-- models (rebuilt and compared by replay). memory_vectors is a cache: embeddings depend on the
-- configured embedder, are not in the log, and are rebuilt by re-embedding; replay skips it.

CREATE TABLE memory_items (
    id              TEXT PRIMARY KEY,
    tier            TEXT NOT NULL,           -- session | project | global
    kind            TEXT NOT NULL,           -- fact | exemplar | piece | note | meta_note | feedback
    project         TEXT,                    -- NULL for global items
    job_id          TEXT,                    -- session items: the job whose context they are
    text            TEXT NOT NULL,
    source          TEXT NOT NULL,
    confidence      REAL NOT NULL,
    embedding_model TEXT NOT NULL,           -- the embedder configured when it was added
    created_at      TEXT NOT NULL,           -- the adding event's meta.at
    seq             INTEGER NOT NULL         -- the adding event's seq: a total order for ties
);
CREATE INDEX memory_items_scope ON memory_items (project, tier, kind);

-- Which items a meta-note stands in for.
CREATE TABLE memory_links (
    meta_note_id TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    PRIMARY KEY (meta_note_id, item_id)
);
CREATE INDEX memory_links_item ON memory_links (item_id);

-- Tombstones: what was forgotten, by whom and why (the text itself is gone from here).
CREATE TABLE memory_forgotten (
    id     TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    actor  TEXT NOT NULL,
    at     TEXT NOT NULL
);

CREATE TABLE memory_retrievals (
    retrieval_key TEXT PRIMARY KEY,          -- step scope + agent + query hash
    task_id       TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    project       TEXT NOT NULL,
    role          TEXT NOT NULL,
    query         TEXT NOT NULL,
    embedder      TEXT NOT NULL,
    considered    INTEGER NOT NULL,
    items         TEXT NOT NULL,             -- canonical JSON: ids with their score parts
    at            TEXT NOT NULL,
    seq           INTEGER NOT NULL
);
CREATE INDEX memory_retrievals_task ON memory_retrievals (task_id);

-- Cache (not compared by replay): one vector per item and embedding model.
CREATE TABLE memory_vectors (
    item_id TEXT NOT NULL,
    model   TEXT NOT NULL,
    dim     INTEGER NOT NULL,
    vector  BLOB NOT NULL,                   -- float32, little-endian, L2-normalised
    PRIMARY KEY (item_id, model)
);
