-- Dependants (issue 18 item 4, data side): family links from authoritative sources only,
-- never from an IIN an adult typed. One record per dependant (`family_members`, by the
-- IIN's keyed hash, sealed value for authorised recovery), linked to each adult that an
-- authoritative source names (two parents may both link the same child).

CREATE TABLE family_members (
    id BIGSERIAL PRIMARY KEY,
    iin_hash BYTEA NOT NULL UNIQUE,
    iin_enc BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- source: 'registry' (the civil registry's family feed, POST /api/v1/family).
-- A removal sets removed_at, effective at once.
CREATE TABLE family_links (
    id BIGSERIAL PRIMARY KEY,
    adult_iin_hash BYTEA NOT NULL,
    member_id BIGINT NOT NULL REFERENCES family_members (id),
    relation TEXT NOT NULL,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL UNIQUE,
    content_hash BYTEA NOT NULL,
    api_key_id BIGINT,
    created_at BIGINT NOT NULL,
    removed_at BIGINT
);
CREATE UNIQUE INDEX family_links_live ON family_links (adult_iin_hash, member_id)
    WHERE removed_at IS NULL;
CREATE INDEX family_links_member ON family_links (member_id);
