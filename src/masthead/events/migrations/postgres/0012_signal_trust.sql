-- Every signal carries its source's trust (operator, trusted, untrusted). Signals stored before
-- trust levels existed get what their events say by the same rule the projection applies to
-- such events (events.types.signal_trust): webhook deliveries untrusted, the rest the operator's.
ALTER TABLE signals ADD COLUMN trust TEXT NOT NULL DEFAULT 'operator';
UPDATE signals SET trust = 'untrusted' WHERE source LIKE 'webhook:%';
