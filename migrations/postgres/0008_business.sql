-- Businesses: applications for venue codes, the test week, monitoring violations and
-- suspensions, and the roles of monitoring groups and authorities (issue 8).
-- Times are BIGINT milliseconds (UTC); flags are nullable timestamps or BIGINT 0/1.

-- A venue created from an application runs in test mode until `test_until`; the owner is
-- told once when it goes live (`live_notice_at`).
ALTER TABLE venues ADD COLUMN test_until BIGINT;
ALTER TABLE venues ADD COLUMN live_notice_at BIGINT;
-- 1 for check-ins recorded while their venue was in test mode.
ALTER TABLE checkins ADD COLUMN test BIGINT NOT NULL DEFAULT 0;

-- status: association (waiting for the sector association), pending (waiting for the
-- administrators), approved, rejected. `address_key` is the normalised address: one live
-- application per BIN and address.
CREATE TABLE business_applications (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    person_id BIGINT REFERENCES people (id) ON DELETE SET NULL,
    lang TEXT NOT NULL,
    bin TEXT NOT NULL,
    legal_name TEXT NOT NULL,
    address TEXT NOT NULL,
    address_key TEXT NOT NULL,
    lat_e6 BIGINT,
    lon_e6 BIGINT,
    region TEXT NOT NULL,
    oked TEXT NOT NULL,
    category TEXT NOT NULL,
    association TEXT,
    entrances BIGINT NOT NULL,
    max_stay_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    preapproved_at BIGINT,
    decided_at BIGINT,
    decided_by TEXT,
    reason TEXT,
    venue_id BIGINT REFERENCES venues (id)
);
CREATE UNIQUE INDEX business_applications_live ON business_applications (bin, address_key)
    WHERE status <> 'rejected';
CREATE INDEX business_applications_status ON business_applications (status, id);

-- Chats with a business role: `monitor` (monitoring groups record violations) or
-- `authority` (read-only occupancy of a region).
CREATE TABLE business_roles (
    id BIGSERIAL PRIMARY KEY,
    role TEXT NOT NULL,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    region TEXT,
    added_at BIGINT NOT NULL,
    removed_at BIGINT
);
CREATE UNIQUE INDEX business_roles_active ON business_roles (role, channel, chat_id)
    WHERE removed_at IS NULL;

CREATE TABLE venue_violations (
    id BIGSERIAL PRIMARY KEY,
    venue_id BIGINT NOT NULL REFERENCES venues (id),
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    note TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX venue_violations_venue ON venue_violations (venue_id, at);

-- Each suspension; `end_notice_at` once the owner was told it ended.
CREATE TABLE venue_suspensions (
    id BIGSERIAL PRIMARY KEY,
    venue_id BIGINT NOT NULL REFERENCES venues (id),
    violation_id BIGINT REFERENCES venue_violations (id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    end_notice_at BIGINT
);
CREATE INDEX venue_suspensions_due ON venue_suspensions (ends_at) WHERE end_notice_at IS NULL;
