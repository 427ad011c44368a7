-- People: users with a role and an optional scope (read model of UserAdded, UserRoleChanged,
-- UserRemoved, UserTokenIssued, UserPasswordSet), each human approval of a piece version with
-- the approver's role at that moment (ApprovalRecorded), and the escalation steps a waiting
-- review has passed (ReviewEscalated, EscalationNoticeSent, EscalationNoticeFailed).
CREATE TABLE users (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL,                 -- owner | editor | reviewer | viewer
    projects    TEXT,                          -- JSON list, NULL: every project
    channels    TEXT,                          -- JSON list, NULL: every channel
    email       TEXT,                          -- JSON {subject, sealed}: encrypted with the person's key (subject_keys)
    token_id    TEXT,                          -- the public half of the current token; NULL: none issued
    password_id TEXT,                          -- changes with each password; NULL: no password
    added_at    TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE approvals (
    seq      INTEGER PRIMARY KEY,
    piece_id TEXT NOT NULL,
    version  INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    role     TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX approvals_piece ON approvals (piece_id, version);

CREATE TABLE escalations (
    piece_id  TEXT NOT NULL,
    version   INTEGER NOT NULL,
    step      INTEGER NOT NULL,                -- index in the project's `escalation:` list
    notify    TEXT NOT NULL,                   -- a role or a user name
    via       TEXT,                            -- the publisher that carries the notice, if any
    status    TEXT NOT NULL,                   -- recorded (no `via`) | sending | sent | failed
    detail    TEXT,                            -- where the notice went, or why it failed
    at        TEXT NOT NULL,
    PRIMARY KEY (piece_id, version, step)
);

-- Not a read model (replay neither rebuilds nor compares it): the secret halves of users'
-- credentials, kept out of the log. Only hashes: SHA-256 of a token (256 random bits), argon2id
-- of a password. Rotating a token or removing a user changes `users`, which refuses the old one.
CREATE TABLE user_credentials (
    name          TEXT PRIMARY KEY,
    token_hash    TEXT,
    password_hash TEXT
);

-- Not a read model either: one key per person whose personal data the log holds encrypted
-- (crypto-shredding). `masthead forget-person EMAIL` deletes the row; the log keeps verifying,
-- and what the key sealed can no longer be read. `email_hash` finds a person by address.
CREATE TABLE subject_keys (
    subject    TEXT PRIMARY KEY,
    email_hash TEXT NOT NULL UNIQUE,
    key        TEXT NOT NULL
);
