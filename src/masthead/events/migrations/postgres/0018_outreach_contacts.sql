-- Outreach: a contacts CSV becomes one signal per row (SignalReceived.contact). `contact` is the
-- row as canonical JSON (name, email, company, context, line); `batch_id` groups the rows of one
-- file, so a piece's checks can treat the other rows' names, companies and figures as foreign.
ALTER TABLE signals ADD COLUMN batch_id TEXT;
ALTER TABLE signals ADD COLUMN contact TEXT;
CREATE INDEX signals_batch ON signals (batch_id) WHERE batch_id IS NOT NULL;
