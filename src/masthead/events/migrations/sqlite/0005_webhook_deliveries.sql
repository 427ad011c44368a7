-- A webhook delivery id is kept in its signal's source (`webhook:<source>:<delivery id>`).
-- Unique among webhook signals, so a replayed delivery can never make a second signal, even
-- from a racing process; the index also makes the replay check a lookup, not a scan.
CREATE UNIQUE INDEX signals_webhook_delivery ON signals (source) WHERE source LIKE 'webhook:%';
