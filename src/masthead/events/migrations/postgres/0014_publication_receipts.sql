-- What a publisher answered: the service's id for the post and its link (PublicationDelivered),
-- and why a publication waits for a person (PublicationNeedsHuman) or failed before it was sent
-- (PublicationFailed), or was taken back (PublicationRetracted).
-- Status: requested | delivered | failed | needs_human | retracted.
ALTER TABLE publications ADD COLUMN remote_id TEXT;
ALTER TABLE publications ADD COLUMN url TEXT;
ALTER TABLE publications ADD COLUMN reason TEXT;
