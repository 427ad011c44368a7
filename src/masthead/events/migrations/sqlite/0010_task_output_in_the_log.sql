-- A task's output is in its TaskSucceeded event; the read model keeps that event's seq, and
-- whether the step halted its channel (which the scheduler asks of every task of a job), instead
-- of a second copy of the output.
ALTER TABLE tasks ADD COLUMN output_seq INTEGER;
ALTER TABLE tasks ADD COLUMN halted INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET output_seq = (
    SELECT MAX(e.seq) FROM events e WHERE e.stream = 'task-' || tasks.id AND e.type = 'TaskSucceeded'
) WHERE output IS NOT NULL;
UPDATE tasks SET halted = 1 WHERE output IS NOT NULL AND json_extract(output, '$.halt') = 1;
ALTER TABLE tasks DROP COLUMN output;
