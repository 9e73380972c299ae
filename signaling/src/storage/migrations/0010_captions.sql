-- Live captions (issue 22): a resident's standing choice, and each visit's own (staff
-- may turn them on or off for one visit, also while it runs).
ALTER TABLE residents ADD COLUMN captions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN captions INTEGER NOT NULL DEFAULT 0;
