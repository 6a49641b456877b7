-- A change log of health records, tailed by every process's status cache so a record
-- written by another process (`ashyq import`, a second server) invalidates its cached
-- statuses. One row per feed transaction: `hashes` is the concatenation of the 32-byte
-- IIN keyed hashes whose records changed. `seq` is taken from the one-row head, whose row
-- lock is held until commit, so sequence numbers become visible in commit order.
CREATE TABLE health_change_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO health_change_head (id, seq) VALUES (1, 0);

CREATE TABLE health_changes (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    hashes BYTEA NOT NULL
);
CREATE INDEX health_changes_at ON health_changes (at);
