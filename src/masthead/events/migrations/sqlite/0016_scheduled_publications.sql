-- When a piece publishes on its channel (PublicationScheduled, UTC ISO 8601): a slot the runtime
-- took for an auto or soft piece, or a time a person chose; NULL publishes when approved.
ALTER TABLE pieces ADD COLUMN scheduled_at TEXT;
ALTER TABLE pieces ADD COLUMN scheduled_slot TEXT;
CREATE INDEX pieces_scheduled ON pieces (project, channel, scheduled_at);
