-- Prescriptions at pharmacies (issue 17, items 2-4), the medicine kind of the voucher
-- engine (0016): the medical information system's prescriptions with their items,
-- dispensings by pharmacies (engine providers of kind 'pharmacy'; never beyond an item's
-- quantity: a CHECK and a conditional UPDATE decide between simultaneous scans; each
-- dispensing is also in the one ledger, `wallet_ledger`, version 2), and the patients'
-- disputes. IINs only as keyed hash + sealed value. Days are local (Asia/Almaty) dates
-- 'YYYY-MM-DD'; times BIGINT epoch milliseconds.

-- kind: 'free' (guaranteed volume or insurance) or 'discounted' (patient_share per cent).
-- A minor's prescription names the representative; either may see it once verified.
-- seq: the number of the prescription's last dispensing (its row is taken first: a row
-- lock on PostgreSQL serialises the dispensings of one prescription).
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
    seq BIGINT NOT NULL DEFAULT 0
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

-- One dispensing: a pharmacist of a pharmacy gave these lines at this time. The ledger's
-- copy (one version-2 redemption line per medicine) is appended by the one chaining job
-- after the dispensing committed; ledger_seq is its last line (0 while being chained).
CREATE TABLE dispensings (
    id BIGSERIAL PRIMARY KEY,
    prescription_id BIGINT NOT NULL REFERENCES prescriptions (id),
    seq BIGINT NOT NULL,
    provider_id BIGINT NOT NULL REFERENCES voucher_providers (id),
    pharmacy_bin TEXT NOT NULL,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    day TEXT NOT NULL,
    ledger_seq BIGINT,
    UNIQUE (prescription_id, seq)
);
CREATE INDEX dispensings_pharmacy_day ON dispensings (pharmacy_bin, day);
CREATE INDEX dispensings_unchained ON dispensings (id) WHERE ledger_seq IS NULL;

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
