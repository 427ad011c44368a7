-- Postgres twin of sqlite/0008: the columns a snapshot file needs. Postgres snapshots keep their
-- rows in `payload` (format 1), so here they stay NULL; the backends keep the same columns.
ALTER TABLE snapshots ADD COLUMN file TEXT;
ALTER TABLE snapshots ADD COLUMN bytes BIGINT;
ALTER TABLE snapshots ADD COLUMN digest TEXT;
