-- Health data (issue 3): PCR results and contacts keyed by the IIN's keyed hash (so they
-- may arrive before the person registers), API keys of the feeds, and the status watch
-- that tells the notifier when someone's colour changes by itself.
-- external_id is the sender's id, unique per kind; content_hash tells "the same item sent
-- again" (a duplicate) from "the same id with other content" (rejected).

CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_hash BYTEA NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE pcr_results (
    id BIGSERIAL PRIMARY KEY,
    iin_hash BYTEA NOT NULL,
    taken_at BIGINT NOT NULL,
    result_at BIGINT NOT NULL,
    positive BIGINT NOT NULL,
    lab TEXT NOT NULL,
    external_id TEXT NOT NULL UNIQUE,
    content_hash BYTEA NOT NULL,
    withdrawn_at BIGINT,
    api_key_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX pcr_results_iin ON pcr_results (iin_hash);

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    iin_hash BYTEA NOT NULL,
    contact_date TEXT NOT NULL,
    case_id TEXT NOT NULL,
    external_id TEXT NOT NULL UNIQUE,
    content_hash BYTEA NOT NULL,
    api_key_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX contacts_iin ON contacts (iin_hash);

-- The colour a registered person was last known (and told) to have, and when it next
-- changes by itself; the notifier wakes at next_change_at.
CREATE TABLE status_watch (
    person_id BIGINT PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    colour TEXT NOT NULL,
    since_at BIGINT,
    next_change_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX status_watch_due ON status_watch (next_change_at);
