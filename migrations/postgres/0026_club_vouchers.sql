-- Club vouchers (issue 17 item 5), the second kind on the voucher engine: a child on a list
-- gets N sessions a month at a club (a provider of kind 'club'); the parent accepts; the
-- club marks attendance by the child's QR; unused sessions do not carry over (sessions are
-- counted per local month). IINs and phones only as keyed hash + sealed value.

CREATE TABLE club_vouchers (
    id BIGSERIAL PRIMARY KEY,
    provider_id BIGINT NOT NULL REFERENCES voucher_providers (id),
    pupil_hash BYTEA NOT NULL,
    pupil_enc BYTEA NOT NULL,
    parent_iin_hash BYTEA NOT NULL,
    parent_iin_enc BYTEA NOT NULL,
    parent_phone_hash BYTEA NOT NULL,
    parent_phone_enc BYTEA NOT NULL,
    sessions_per_month BIGINT NOT NULL,
    source TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    -- NULL: offered; 'yes' / 'no': the parent's answer.
    answer TEXT,
    answered_at BIGINT,
    -- The chat that accepted: notices go there.
    channel TEXT,
    chat_id TEXT,
    UNIQUE (provider_id, pupil_hash)
);
CREATE INDEX club_vouchers_parent_phone ON club_vouchers (parent_phone_hash);
CREATE INDEX club_vouchers_parent_iin ON club_vouchers (parent_iin_hash);

-- One row per session attended: the n-th of its month (n <= sessions_per_month), at most
-- one a day; the UNIQUE constraints decide between simultaneous scans.
CREATE TABLE club_sessions (
    id BIGSERIAL PRIMARY KEY,
    voucher_id BIGINT NOT NULL REFERENCES club_vouchers (id),
    month TEXT NOT NULL,
    day TEXT NOT NULL,
    n BIGINT NOT NULL,
    at BIGINT NOT NULL,
    operator_channel TEXT NOT NULL,
    operator_chat_id TEXT NOT NULL,
    UNIQUE (voucher_id, month, n),
    UNIQUE (voucher_id, day)
);
