-- Key versions for the keyed hashes and sealed values (issue 15 item 4; docs/SECURITY.md,
-- "Key rotation"). Each stored hash and sealed value carries its version in its own bytes
-- (a hash of version 1 is the 32 bytes from before versions; later versions are 33 bytes
-- starting with the version; a sealed value starts with its version byte), so old and new
-- keys coexist row by row. This table says which version writes (`current`), which one is
-- still read while `ashyq keys rotate` re-hashes and re-seals (`previous`), and which
-- are `retired`. No rows: version 1 writes, as before.
CREATE TABLE key_versions (
    version BIGINT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- Where a rotation towards `version` is in each table: the last key done (an id, or the
-- key columns written as text), so a rotation that was stopped resumes there.
CREATE TABLE key_rotation_progress (
    version BIGINT NOT NULL,
    table_name TEXT NOT NULL,
    cursor_key TEXT,
    rows_changed BIGINT NOT NULL,
    done_at BIGINT,
    PRIMARY KEY (version, table_name)
);
