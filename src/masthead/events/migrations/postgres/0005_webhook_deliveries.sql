-- A webhook delivery id is kept in its signal's source (`webhook:<source>:<delivery id>`);
-- unique among webhook signals (Postgres twin of sqlite/0005).
CREATE UNIQUE INDEX signals_webhook_delivery ON signals (source) WHERE source LIKE 'webhook:%';
