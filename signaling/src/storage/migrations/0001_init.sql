-- Times are whole seconds since the Unix epoch, UTC.

CREATE TABLE facility (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    name           TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    language       TEXT NOT NULL,
    slot_minutes   INTEGER NOT NULL,
    buffer_minutes INTEGER NOT NULL,
    visiting_hours TEXT NOT NULL -- JSON array of {weekday, from, to}
);

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- One-time links that let a person create their own staff account.
CREATE TABLE staff_invites (
    token_hash   TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE residents (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    room        TEXT NOT NULL,
    archived_at INTEGER,
    created_at  INTEGER NOT NULL
);

CREATE TABLE devices (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('entrance', 'ward')),
    pairing_code_hash  TEXT UNIQUE,
    pairing_expires_at INTEGER,
    token_hash         TEXT UNIQUE,
    paired_at          INTEGER,
    revoked_at         INTEGER,
    last_seen_at       INTEGER,
    created_at         INTEGER NOT NULL
);

CREATE TABLE visits (
    id                 TEXT PRIMARY KEY,
    resident_id        TEXT NOT NULL REFERENCES residents (id),
    starts_at          INTEGER NOT NULL,
    ends_at            INTEGER NOT NULL,
    mode               TEXT NOT NULL CHECK (mode IN ('remote', 'entrance')),
    ward_device_id     TEXT NOT NULL REFERENCES devices (id),
    entrance_device_id TEXT REFERENCES devices (id),
    cancelled_at       INTEGER,
    ended_at           INTEGER,
    created_at         INTEGER NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX visits_by_time ON visits (starts_at, ends_at);

-- One guest of a visit.
CREATE TABLE guests (
    id       TEXT PRIMARY KEY,
    visit_id TEXT NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name     TEXT NOT NULL
);
CREATE INDEX guests_by_visit ON guests (visit_id);

-- A guest's visit link. Staff can replace a lost link: the old row is revoked, so the
-- old link says it was replaced rather than "unknown". Only the token's hash is kept.
CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    guest_id   TEXT NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX invitations_by_guest ON invitations (guest_id);

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
