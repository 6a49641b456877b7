-- Identity registry (issue 15 items 1-3): does phone P belong to IIN X?
-- `identity_pairs` is the `table` registry: pairs from the mobile citizens database, both
-- numbers as keyed hashes (HMAC-SHA256 under the look-up key), never in plain text.
CREATE TABLE identity_pairs (
    iin_hash BYTEA NOT NULL,
    phone_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (iin_hash, phone_hash)
);
CREATE INDEX identity_pairs_phone ON identity_pairs (phone_hash);

-- When the registry confirmed the person's IIN for their phone (NULL: not yet, including
-- everyone registered before this migration, re-checked on their next disclosure).
ALTER TABLE people ADD COLUMN verified_at BIGINT;

-- IINs sent per chat, for the limits (5 an hour, 20 a day); pruned after a day.
CREATE TABLE identity_attempts (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX identity_attempts_chat ON identity_attempts (channel, chat_id, at);

-- A registration waiting for the registry (it answered `unknown` or was unreachable):
-- retried with back-off until `deadline_at`. The IIN is kept as hash and sealed value.
CREATE TABLE identity_pending (
    person_id BIGINT PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    iin_hash BYTEA NOT NULL,
    iin_enc BYTEA NOT NULL,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    tries BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    deadline_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX identity_pending_due ON identity_pending (next_at);
