-- Two guards that are not read models (replay neither rebuilds nor compares them); each row
-- expires, and the server deletes expired rows as it goes.

-- Webhook signatures of the legacy scheme (`sha256=`, which does not sign the delivery id),
-- seen within the tolerance window: a captured request re-sent under a new delivery id is a
-- replay, in this process, after a restart or in another process. The first copy claims the
-- signature (primary key); the copies find its delivery's signal by `delivery_source`.
CREATE TABLE webhook_signatures (
    signature       TEXT PRIMARY KEY,          -- hex HMAC, which reveals nothing of the secret
    delivery_source TEXT NOT NULL,             -- `webhook:<source>:<delivery id>` of the first copy
    expires_at      REAL NOT NULL              -- unix seconds; past it the timestamp check refuses a copy
);
CREATE INDEX webhook_signatures_expiry ON webhook_signatures (expires_at);

-- Browser sessions ended by logout: a copied cookie must not outlive the logout. The key is a
-- hash of the session's CSRF token (never the token itself); a row lives as long as the cookie could.
CREATE TABLE revoked_sessions (
    session_hash TEXT PRIMARY KEY,
    expires_at   REAL NOT NULL
);
CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);
