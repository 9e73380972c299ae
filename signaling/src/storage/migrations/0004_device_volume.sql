-- A ward tablet's playback volume in percent, set by staff; above 100 the device
-- amplifies, for residents who hear poorly. Kept so a restarted tablet keeps it.
ALTER TABLE devices ADD COLUMN volume_percent INTEGER NOT NULL DEFAULT 100;
