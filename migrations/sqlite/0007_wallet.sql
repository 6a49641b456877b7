-- Social Wallet: school-meal vouchers. Eligibility from state lists, offers answered with
-- `N#1` / `N#2`, vouchers with a daily signed QR, canteen redemptions (one meal per child
-- per school day, enforced by UNIQUE), ratings, menus, a hash-chained append-only ledger and
-- stored monthly acts. IINs and phones only as keyed hash + sealed value.
-- Money is BIGINT tiyn (1/100 tenge). Days are local (Asia/Almaty) dates 'YYYY-MM-DD'.

CREATE TABLE wallet_suppliers (
    bin TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    unit_price BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE wallet_schools (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bin TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    supplier_bin TEXT,
    created_at BIGINT NOT NULL
);

-- One row per pupil per school year (2026 = 2026/27), with the eligibility decision and
-- the rule that made it.
CREATE TABLE wallet_pupils (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_year BIGINT NOT NULL,
    pupil_hash BLOB NOT NULL,
    pupil_enc BLOB NOT NULL,
    school_id BIGINT NOT NULL REFERENCES wallet_schools (id),
    grade BIGINT NOT NULL,
    parent_iin_hash BLOB NOT NULL,
    parent_iin_enc BLOB NOT NULL,
    parent_phone_hash BLOB NOT NULL,
    parent_phone_enc BLOB NOT NULL,
    social_assistance BIGINT NOT NULL,
    eligible BIGINT NOT NULL,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    UNIQUE (pupil_hash, school_year)
);
CREATE INDEX wallet_pupils_school ON wallet_pupils (school_id, school_year);
CREATE INDEX wallet_pupils_parent_phone ON wallet_pupils (parent_phone_hash);
CREATE INDEX wallet_pupils_parent_iin ON wallet_pupils (parent_iin_hash);

-- SMS recipients: the chat id of channel 'sms' is the hex keyed hash of the number; the
-- number itself only sealed, opened by the SMS gateway worker to send.
CREATE TABLE sms_numbers (
    chat_id TEXT PRIMARY KEY,
    phone_enc BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE wallet_offers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pupil_id BIGINT NOT NULL UNIQUE REFERENCES wallet_pupils (id),
    number BIGINT NOT NULL,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    answer TEXT,
    answered_at BIGINT,
    UNIQUE (channel, chat_id, number)
);

CREATE TABLE wallet_vouchers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pupil_id BIGINT NOT NULL UNIQUE REFERENCES wallet_pupils (id),
    offer_id BIGINT NOT NULL UNIQUE REFERENCES wallet_offers (id),
    school_id BIGINT NOT NULL REFERENCES wallet_schools (id),
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    activated_at BIGINT,
    generation BIGINT NOT NULL DEFAULT 1,
    revoked_at BIGINT
);
CREATE INDEX wallet_vouchers_chat ON wallet_vouchers (channel, chat_id);

CREATE TABLE wallet_meals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    voucher_id BIGINT NOT NULL REFERENCES wallet_vouchers (id),
    pupil_id BIGINT NOT NULL REFERENCES wallet_pupils (id),
    school_id BIGINT NOT NULL REFERENCES wallet_schools (id),
    day TEXT NOT NULL,
    served_at BIGINT NOT NULL,
    operator_channel TEXT NOT NULL,
    operator_chat_id TEXT NOT NULL,
    UNIQUE (pupil_id, day)
);
CREATE INDEX wallet_meals_voucher ON wallet_meals (voucher_id, day);

CREATE TABLE wallet_ratings (
    meal_id BIGINT PRIMARY KEY REFERENCES wallet_meals (id),
    rating BIGINT NOT NULL,
    comment TEXT,
    rated_at BIGINT NOT NULL
);

CREATE TABLE wallet_menus (
    school_id BIGINT NOT NULL REFERENCES wallet_schools (id),
    day TEXT NOT NULL,
    text TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (school_id, day)
);

CREATE TABLE canteen_staff (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id BIGINT NOT NULL REFERENCES wallet_schools (id),
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    removed_at BIGINT,
    UNIQUE (school_id, channel, chat_id)
);
CREATE INDEX canteen_staff_chat ON canteen_staff (channel, chat_id);

CREATE TABLE canteen_invites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_id BIGINT NOT NULL REFERENCES wallet_schools (id),
    token_hash BLOB NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_channel TEXT,
    used_chat_id TEXT
);

-- The append-only ledger: hash = SHA-256(prev_hash || canonical row). `seq` is given out
-- under the one-row head (whose UPDATE serialises appenders on PostgreSQL).
CREATE TABLE wallet_ledger (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    voucher_id BIGINT,
    offer_id BIGINT,
    pupil_id BIGINT,
    meal_id BIGINT,
    school_bin TEXT,
    supplier_bin TEXT,
    day TEXT,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX wallet_ledger_supplier_day ON wallet_ledger (supplier_bin, day);

CREATE TABLE wallet_ledger_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO wallet_ledger_head (id, seq, hash) VALUES (1, 0, X'0000000000000000000000000000000000000000000000000000000000000000');

-- Acts of closed months, stored once with their hash; never generated again.
CREATE TABLE wallet_acts (
    supplier_bin TEXT NOT NULL,
    month TEXT NOT NULL,
    csv TEXT NOT NULL,
    html TEXT NOT NULL,
    sha256 BLOB NOT NULL,
    ledger_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (supplier_bin, month)
);

-- Refused actions: the only thing they write.
CREATE TABLE wallet_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    channel TEXT,
    chat_id TEXT,
    offer_id BIGINT,
    voucher_id BIGINT,
    school_id BIGINT
);
