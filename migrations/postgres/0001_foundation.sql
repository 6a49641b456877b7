-- Foundation: people, conversations, processed updates.
-- Times are BIGINT milliseconds since the Unix epoch (UTC) on both backends.
-- IIN and phone are never stored in plain text: *_hash is an HMAC-SHA256 under the
-- service's look-up key, *_enc is XChaCha20-Poly1305 under its sealing key.

CREATE TABLE people (
    id BIGSERIAL PRIMARY KEY,
    phone_hash BYTEA NOT NULL,
    phone_enc BYTEA NOT NULL,
    iin_hash BYTEA UNIQUE,
    iin_enc BYTEA,
    consent_at BIGINT NOT NULL,
    registered_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX people_phone_hash ON people (phone_hash);

CREATE TABLE conversations (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    lang TEXT,
    state TEXT NOT NULL,
    person_id BIGINT REFERENCES people (id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
CREATE INDEX conversations_person ON conversations (person_id);

CREATE TABLE processed_updates (
    channel TEXT NOT NULL,
    update_key TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (channel, update_key)
);
CREATE INDEX processed_updates_at ON processed_updates (processed_at);
