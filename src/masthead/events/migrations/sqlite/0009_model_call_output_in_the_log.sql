-- A recorded call's output is in its ModelCallRecorded event; the read model keeps that event's
-- seq instead of a second copy of the text (the largest part of a call's row).
ALTER TABLE model_calls ADD COLUMN seq INTEGER;
UPDATE model_calls SET seq = (
    SELECT MIN(e.seq) FROM events e
    WHERE e.stream = 'calls-' || model_calls.task_id AND e.type = 'ModelCallRecorded'
      AND json_extract(e.data, '$.call_key') = model_calls.call_key
);
ALTER TABLE model_calls DROP COLUMN output;
