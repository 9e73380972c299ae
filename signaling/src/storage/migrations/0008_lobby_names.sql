-- How the entrance kiosk's idle screen (in the lobby, seen by anyone) names residents:
-- full, initials (the default) or times_only. Ward tablets always show full names.
ALTER TABLE facility ADD COLUMN lobby_names TEXT NOT NULL DEFAULT 'initials';
