-- Dependants (issue 18 item 4): adult relatives by consent, group check-in.
--
-- An adult relative is linked only when they confirm from their own verified chat: the
-- inviting adult gets a one-time code (only its keyed hash is stored), valid for a day;
-- the relative's confirmation writes a family_links row with source 'consent'.
CREATE TABLE family_invites (
    id BIGSERIAL PRIMARY KEY,
    code_hash BYTEA NOT NULL UNIQUE,
    adult_iin_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    link_id BIGINT
);
CREATE INDEX family_invites_adult ON family_invites (adult_iin_hash);

-- A dependant's visit recorded in a group check-in: the adult's own check-in id. The adult
-- leaving closes the group's visits.
ALTER TABLE checkins ADD COLUMN group_of BIGINT;
CREATE INDEX checkins_group_of ON checkins (group_of) WHERE group_of IS NOT NULL;

-- A dependant's colour as last announced to the adults (the status notifier re-evaluates
-- it when it is due to change by itself), by the dependant's IIN keyed hash.
CREATE TABLE family_watch (
    id BIGSERIAL PRIMARY KEY,
    iin_hash BYTEA NOT NULL UNIQUE,
    colour TEXT NOT NULL,
    since_at BIGINT,
    next_change_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX family_watch_due ON family_watch (next_change_at);
