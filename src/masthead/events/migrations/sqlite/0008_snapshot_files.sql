-- Snapshots on SQLite are SQLite files beside the database (`<database>-snapshots/`), which
-- SQLite restores itself; the `snapshots` row names the file and records its size and SHA-256,
-- so a torn or altered file is never restored. Postgres keeps the rows in `payload` (format 1);
-- a file snapshot (format 2) has an empty payload.
ALTER TABLE snapshots ADD COLUMN file TEXT;        -- the file's name in that folder; NULL: the rows are in payload
ALTER TABLE snapshots ADD COLUMN bytes INTEGER;    -- the file's size
ALTER TABLE snapshots ADD COLUMN digest TEXT;      -- the file's SHA-256, hex
