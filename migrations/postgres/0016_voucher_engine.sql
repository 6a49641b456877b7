-- The voucher engine (issue 17 item 1): every Social Wallet kind (school meals, medicines,
-- club sessions, …) on one set of providers, operators and one hash-chained ledger.
--
-- Providers are organisations with a BIN and a kind (canteen = a school's canteen,
-- pharmacy, club); their operators join by a one-time invite (SHA-256 of the secret
-- stored, like venue and canteen invites).

CREATE TABLE voucher_providers (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    bin TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (kind, bin)
);

CREATE TABLE provider_staff (
    id BIGSERIAL PRIMARY KEY,
    provider_id BIGINT NOT NULL REFERENCES voucher_providers (id),
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    removed_at BIGINT,
    UNIQUE (provider_id, channel, chat_id)
);
CREATE INDEX provider_staff_chat ON provider_staff (channel, chat_id);

CREATE TABLE provider_invites (
    id BIGSERIAL PRIMARY KEY,
    provider_id BIGINT NOT NULL REFERENCES voucher_providers (id),
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_channel TEXT,
    used_chat_id TEXT
);

-- The one ledger for all kinds. Existing rows keep version 1 and their hashed line (the
-- meal kind's line, unchanged); entries of other kinds are version 2, whose hashed line
-- names the voucher kind and covers the new columns too.
ALTER TABLE wallet_ledger ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE wallet_ledger ADD COLUMN voucher_kind TEXT;
ALTER TABLE wallet_ledger ADD COLUMN provider_bin TEXT;
ALTER TABLE wallet_ledger ADD COLUMN subject_id BIGINT;
ALTER TABLE wallet_ledger ADD COLUMN redemption_id BIGINT;
ALTER TABLE wallet_ledger ADD COLUMN item TEXT;
ALTER TABLE wallet_ledger ADD COLUMN quantity BIGINT;
ALTER TABLE wallet_ledger ADD COLUMN amount BIGINT;
ALTER TABLE wallet_ledger ADD COLUMN detail TEXT;
CREATE INDEX wallet_ledger_kind_provider_day ON wallet_ledger (voucher_kind, provider_bin, day);
