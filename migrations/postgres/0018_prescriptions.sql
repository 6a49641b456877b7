-- Prescriptions at pharmacies (issue 17, items 2-4): the medical information system's
-- prescriptions with their items, pharmacies and their pharmacists (one-time invites),
-- dispensings (each a hash-chained entry of its prescription, never beyond an item's
-- quantity: a CHECK and a conditional UPDATE decide between simultaneous scans), and the
-- patients' disputes. IINs only as keyed hash + sealed value. Days are local
-- (Asia/Almaty) dates 'YYYY-MM-DD'; times BIGINT epoch milliseconds.

CREATE TABLE pharmacies (
    id BIGSERIAL PRIMARY KEY,
    bin TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One chat serves one pharmacy (a scan is then unambiguous).
CREATE TABLE pharmacy_staff (
    id BIGSERIAL PRIMARY KEY,
    pharmacy_id BIGINT NOT NULL REFERENCES pharmacies (id),
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    UNIQUE (channel, chat_id)
);
CREATE INDEX pharmacy_staff_pharmacy ON pharmacy_staff (pharmacy_id);

CREATE TABLE pharmacy_invites (
    id BIGSERIAL PRIMARY KEY,
    pharmacy_id BIGINT NOT NULL REFERENCES pharmacies (id),
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_channel TEXT,
    used_chat_id TEXT
);

-- kind: 'free' (guaranteed volume or insurance) or 'discounted' (patient_share per cent).
-- A minor's prescription names the representative; either may see it once verified.
-- seq/head_hash: the chain of the prescription's dispensings (row lock on PostgreSQL).
CREATE TABLE prescriptions (
    id BIGSERIAL PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    content_hash BYTEA NOT NULL,
    patient_hash BYTEA NOT NULL,
    patient_enc BYTEA NOT NULL,
    representative_hash BYTEA,
    representative_enc BYTEA,
    prescriber TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('free', 'discounted')),
    patient_share BIGINT NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    api_key_id BIGINT,
    created_at BIGINT NOT NULL,
    withdrawn_at BIGINT,
    seq BIGINT NOT NULL DEFAULT 0,
    head_hash BYTEA NOT NULL
);
CREATE INDEX prescriptions_patient ON prescriptions (patient_hash);
CREATE INDEX prescriptions_representative ON prescriptions (representative_hash);

CREATE TABLE prescription_items (
    id BIGSERIAL PRIMARY KEY,
    prescription_id BIGINT NOT NULL REFERENCES prescriptions (id),
    line BIGINT NOT NULL,
    inn TEXT NOT NULL,
    form TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit TEXT NOT NULL CHECK (unit IN ('pieces', 'packs', 'ml', 'g')),
    dispensed BIGINT NOT NULL DEFAULT 0 CHECK (dispensed >= 0 AND dispensed <= quantity),
    UNIQUE (prescription_id, line)
);

-- One dispensing: a pharmacist of a pharmacy gave these lines at this time.
-- hash = SHA-256(prev_hash || canonical line), chained per prescription (seq).
CREATE TABLE dispensings (
    id BIGSERIAL PRIMARY KEY,
    prescription_id BIGINT NOT NULL REFERENCES prescriptions (id),
    seq BIGINT NOT NULL,
    pharmacy_id BIGINT NOT NULL REFERENCES pharmacies (id),
    pharmacy_bin TEXT NOT NULL,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    day TEXT NOT NULL,
    lines TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    UNIQUE (prescription_id, seq)
);
CREATE INDEX dispensings_pharmacy_day ON dispensings (pharmacy_bin, day);

CREATE TABLE dispensing_lines (
    dispensing_id BIGINT NOT NULL REFERENCES dispensings (id),
    item_id BIGINT NOT NULL REFERENCES prescription_items (id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (dispensing_id, item_id)
);

-- "I did not receive this": one complaint per dispensing.
-- status: open -> review -> upheld | rejected.
CREATE TABLE prescription_disputes (
    id BIGSERIAL PRIMARY KEY,
    dispensing_id BIGINT NOT NULL UNIQUE REFERENCES dispensings (id),
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'review', 'upheld', 'rejected')),
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
