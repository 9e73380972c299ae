-- The latest health report of each device (camera, microphone, battery, browser…), as
-- JSON, so staff see before a visit whether the tablet or kiosk is ready.
ALTER TABLE devices ADD COLUMN health TEXT;
