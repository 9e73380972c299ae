-- E-mail to families (src/messages): each guest's address and language, what the
-- calendar entry and the reminders need, the home's reminder and retention rules, and
-- the outbox every message waits in until the mail server has accepted it.

ALTER TABLE guests ADD COLUMN email TEXT;
-- 'ja' or 'en'; NULL: the facility's language.
ALTER TABLE guests ADD COLUMN lang TEXT;
-- The guest's current link, sealed with the key in DATA/message-links.key (never in
-- this database), kept only while a message may still need it.
ALTER TABLE guests ADD COLUMN link_sealed BLOB;
-- How many links the guest has had: the invitation's version in the outbox.
ALTER TABLE guests ADD COLUMN link_no INTEGER NOT NULL DEFAULT 1;

-- iCalendar SEQUENCE: grows with each change families are told of.
ALTER TABLE visits ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
-- When the visit got its current time (booking, or the last move): a reminder due
-- before that moment is not sent.
ALTER TABLE visits ADD COLUMN timed_at INTEGER;
-- When the guests' names and addresses were deleted (retention_days after the visit).
ALTER TABLE visits ADD COLUMN forgotten_at INTEGER;

-- NULL turns a reminder off.
ALTER TABLE facility ADD COLUMN reminder_day_before TEXT DEFAULT '09:00';
ALTER TABLE facility ADD COLUMN reminder_before_minutes INTEGER DEFAULT 60;
ALTER TABLE facility ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 30;

-- One message to one guest. (visit, guest, kind, version) is its idempotency key: a
-- change, a reminder or a retry can never queue the same message twice. Bodies are not
-- kept: the worker writes each message from the visit as it stands when it is sent.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    visit_id   TEXT NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    guest_id   TEXT NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed', 'dropped')),
    due_at     INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    -- The last failure as the mail server put it (never a body, a link or a token).
    error      TEXT,
    sent_at    INTEGER,
    -- "Send again" pressed: part of the Message-ID, so the copy is not taken for a duplicate.
    resends    INTEGER NOT NULL DEFAULT 0,
    -- A "changed" message: the start before the change (the message says "from … to …").
    previous_start INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (visit_id, guest_id, kind, version)
);
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_by_visit ON outbox (visit_id);
