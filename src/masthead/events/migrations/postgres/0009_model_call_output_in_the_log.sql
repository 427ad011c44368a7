-- Postgres twin of sqlite/0009: the read model keeps the ModelCallRecorded event's seq instead
-- of a second copy of the call's output.
ALTER TABLE model_calls ADD COLUMN seq BIGINT;
UPDATE model_calls SET seq = (
    SELECT MIN(e.seq) FROM events e
    WHERE e.stream = 'calls-' || model_calls.task_id AND e.type = 'ModelCallRecorded'
      AND json_extract(e.data, '$.call_key') = model_calls.call_key
);
ALTER TABLE model_calls DROP COLUMN output;
