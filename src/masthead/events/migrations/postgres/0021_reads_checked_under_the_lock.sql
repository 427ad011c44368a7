-- A check that what a transaction read before it took the append lock is still true once it
-- holds the lock, without a round trip.
--
-- A worker's finishing transaction (runtime/worker.py) reads the job's rows and the next ready
-- task BEFORE its first append takes the append lock, so the lock is no longer held while the
-- client waits for those reads. Another transaction may commit in between (a sibling task
-- finished, a person approved, the job was reopened or parked one of its project's jobs), so
-- the adapter queues `SELECT job_unchanged(...)` right after the lock statement (pipeline mode:
-- no extra round trip) and this function compares a fingerprint of what was read with what is
-- committed now: the job's status, the number of its tasks and the sum of their versions
-- (every event on a task bumps its row's version), the task being finished left out (its own
-- version is checked by its outcome's append, migration 0020: a lost lease stays a lost lease),
-- and whether the job's project has a parked job. Appends are serialised by the append lock, so
-- what this sees cannot move before COMMIT. SQLSTATE MH412 becomes StaleRead in
-- postgres_store.py; the worker reads again and decides again.
CREATE FUNCTION job_unchanged(p_job TEXT, p_task TEXT, p_status TEXT, p_tasks BIGINT, p_versions BIGINT,
                              p_parked BOOLEAN) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    now_status TEXT;
    now_parked BOOLEAN;
    now_tasks BIGINT;
    now_versions BIGINT;
BEGIN
    SELECT j.status, EXISTS (SELECT 1 FROM jobs p WHERE p.status = 'deferred' AND p.project = j.project)
        INTO now_status, now_parked FROM jobs j WHERE j.id = p_job;
    SELECT COUNT(*), COALESCE(SUM(version), 0) INTO now_tasks, now_versions
        FROM tasks WHERE job_id = p_job AND id <> p_task;
    IF now_status IS DISTINCT FROM p_status OR now_tasks <> p_tasks OR now_versions <> p_versions
            OR now_parked IS DISTINCT FROM p_parked THEN
        RAISE EXCEPTION 'job % changed after it was read (status %, % tasks, versions %; read %, %, %)',
            p_job, now_status, now_tasks, now_versions, p_status, p_tasks, p_versions
            USING ERRCODE = 'MH412';
    END IF;
END
$$;
