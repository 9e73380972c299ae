-- The latest pre-visit check of each link (checks.rs: verdicts and figures, as JSON;
-- never a picture or a sound), shown to staff next to the guest.
ALTER TABLE invitations ADD COLUMN check_result TEXT;
