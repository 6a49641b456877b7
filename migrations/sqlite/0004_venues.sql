-- Venues, entrances with signed entry/exit codes, check-ins, staff, invites, alerts, audit.
-- Times are BIGINT milliseconds (UTC); flags are nullable timestamps or BIGINT 0/1.

-- Live QR signing key ids; key `kid` is derived from the service's signing key, so only
-- the id and its revocation are stored. New codes use the highest live id.
CREATE TABLE qr_keys (
    kid BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
INSERT INTO qr_keys (kid, created_at) VALUES (1, 0);

CREATE TABLE venues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    bin TEXT NOT NULL,
    address TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    max_stay_ms BIGINT NOT NULL,
    -- Set when a business owner manages the venue (business self-service).
    owner_person_id BIGINT REFERENCES people (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    suspended_until BIGINT
);
CREATE INDEX venues_bin ON venues (bin);

CREATE TABLE entrances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    venue_id BIGINT NOT NULL REFERENCES venues (id),
    name TEXT NOT NULL,
    entry_code TEXT NOT NULL UNIQUE,
    exit_code TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    UNIQUE (venue_id, name)
);

-- Every attempt to enter (admitted or not) and its exit. A visit is open while
-- admitted = 1 and left_at IS NULL. Guard-mode entries have no chat and, for a visitor
-- without an account, only the keyed hash of the IIN.
CREATE TABLE checkins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    venue_id BIGINT NOT NULL REFERENCES venues (id),
    entrance_id BIGINT REFERENCES entrances (id),
    person_id BIGINT REFERENCES people (id) ON DELETE SET NULL,
    iin_hash BLOB,
    channel TEXT,
    chat_id TEXT,
    via TEXT NOT NULL,
    colour TEXT NOT NULL,
    admitted BIGINT NOT NULL,
    check_code TEXT NOT NULL,
    entered_at BIGINT NOT NULL,
    closes_at BIGINT NOT NULL,
    reminded_at BIGINT,
    left_at BIGINT,
    left_how TEXT
);
CREATE INDEX checkins_person ON checkins (person_id, entered_at);
CREATE INDEX checkins_venue ON checkins (venue_id, entered_at);
CREATE INDEX checkins_open ON checkins (closes_at) WHERE left_at IS NULL AND admitted = 1;

CREATE TABLE venue_staff (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    venue_id BIGINT NOT NULL REFERENCES venues (id),
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    person_id BIGINT REFERENCES people (id) ON DELETE SET NULL,
    role TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    removed_at BIGINT
);
CREATE UNIQUE INDEX venue_staff_active ON venue_staff (venue_id, channel, chat_id) WHERE removed_at IS NULL;
CREATE INDEX venue_staff_chat ON venue_staff (channel, chat_id);

-- One-time invite links: only the SHA-256 of the random token is kept.
CREATE TABLE venue_invites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    venue_id BIGINT NOT NULL REFERENCES venues (id),
    role TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_channel TEXT,
    used_chat_id TEXT
);

-- The sanitary-control chat alerted about red and yellow attempts in a region.
CREATE TABLE region_alerts (
    region TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A check-in waiting for its chat to finish registration.
CREATE TABLE pending_checkins (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    entrance_id BIGINT NOT NULL REFERENCES entrances (id),
    kind TEXT NOT NULL,
    via TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);

-- Every check-in attempt and guard look-up, refused ones too. No IIN: only its keyed hash.
CREATE TABLE checkin_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    venue_id BIGINT,
    entrance_id BIGINT,
    checkin_id BIGINT,
    channel TEXT,
    chat_id TEXT,
    person_id BIGINT,
    iin_hash BLOB
);
CREATE INDEX checkin_audit_actor ON checkin_audit (channel, chat_id, action, at);
