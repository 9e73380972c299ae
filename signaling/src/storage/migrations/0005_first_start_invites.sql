-- Set-up links printed at first start: only the newest is valid, and none once an
-- administrator exists. Marked so they can be told apart from staff invitations.
ALTER TABLE staff_invites ADD COLUMN first_start INTEGER NOT NULL DEFAULT 0;
