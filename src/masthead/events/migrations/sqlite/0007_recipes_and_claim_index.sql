-- Recipes a job ran with, each stored once (RecipeRecorded) instead of in every JobStarted.
CREATE TABLE recipes (
    digest      TEXT PRIMARY KEY,              -- sha256 of the recipe's canonical JSON
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL,                 -- canonical JSON, as validated when the job started
    recorded_at TEXT NOT NULL
);

-- The claim looks for the oldest waiting task of each priority; this index holds only the
-- tasks that wait to be claimed, so it stays small however long the history grows.
CREATE INDEX tasks_waiting ON tasks (priority, enqueued_at, created_seq)
    WHERE status IN ('queued', 'waiting_rate_limit', 'off_peak', 'deferred_budget');
