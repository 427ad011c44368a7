-- Signals that hold a person's data (an outreach contact, `signal add --person`): `subject` is
-- the person's random subject id (its key is in subject_keys, outside the log) and `sealed` one
-- Fernet token of the signal's title, body and contact's personal fields. Then `title` is NULL,
-- `body` '', `contact` only {batch_id, line}; readers open `sealed` (masthead/personal_data.py),
-- and once the key is deleted it reads "[forgotten]".
ALTER TABLE signals ADD COLUMN subject TEXT;
ALTER TABLE signals ADD COLUMN sealed TEXT;
CREATE INDEX signals_subject ON signals (subject) WHERE subject IS NOT NULL;
