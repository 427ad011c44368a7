-- Postgres twin of sqlite/0010: the read model keeps the TaskSucceeded event's seq and whether
-- the step halted its channel, instead of a second copy of the task's output.
ALTER TABLE tasks ADD COLUMN output_seq BIGINT;
ALTER TABLE tasks ADD COLUMN halted INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET output_seq = (
    SELECT MAX(e.seq) FROM events e WHERE e.stream = 'task-' || tasks.id AND e.type = 'TaskSucceeded'
) WHERE output IS NOT NULL;
UPDATE tasks SET halted = 1 WHERE output IS NOT NULL AND json_extract(output, '$.halt') = 'true';
ALTER TABLE tasks DROP COLUMN output;
