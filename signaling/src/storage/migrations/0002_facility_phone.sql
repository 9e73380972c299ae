-- A telephone number families can call, shown on every page they see and on the card.
ALTER TABLE facility ADD COLUMN phone TEXT NOT NULL DEFAULT '';
