-- Co-visitor exposure warnings (issue 18): the jobs queued when a positive PCR result is
-- committed (or withdrawn), one warning per co-visitor, venue and day with the cases that
-- justify it, the audited exports for epidemiologists, the per-venue opt-out, and the
-- indexes that find a positive person's visits and delete old visits.

-- Set when warnings make no sense at the venue (a pharmacy counter, transit).
ALTER TABLE venues ADD COLUMN exposure_off_at BIGINT;

-- A guard-mode visitor without an account is known only by the IIN's keyed hash.
CREATE INDEX checkins_iin ON checkins (iin_hash, entered_at) WHERE iin_hash IS NOT NULL;
-- Retention deletes visits by age (PostgreSQL uses a BRIN index; SQLite has none).
CREATE INDEX checkins_entered ON checkins (entered_at);

-- kind: 'positive' (find co-visitors and warn) or 'withdrawn' (correct what it warned).
CREATE TABLE exposure_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pcr_id BIGINT NOT NULL REFERENCES pcr_results (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    done_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (pcr_id, kind)
);
CREATE INDEX exposure_jobs_due ON exposure_jobs (id) WHERE done_at IS NULL;

-- One warning per co-visitor (person_key: 'p:<person id>' or 'h:<hex IIN keyed hash>' for
-- a guard-mode visitor without an account), venue and local day of the visit.
-- generation counts the warnings sent (a corrected warning may be sent again when a new
-- case justifies it); corrected_at is set while no live case justifies it.
CREATE TABLE exposure_warnings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_key TEXT NOT NULL,
    person_id BIGINT REFERENCES people (id) ON DELETE SET NULL,
    iin_hash BLOB,
    venue_id BIGINT NOT NULL REFERENCES venues (id),
    day TEXT NOT NULL,
    visit_from BIGINT NOT NULL,
    visit_to BIGINT NOT NULL,
    generation BIGINT NOT NULL DEFAULT 0,
    warned_at BIGINT,
    corrected_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (person_key, venue_id, day)
);
CREATE INDEX exposure_warnings_day ON exposure_warnings (day);

-- Which positive cases justify a warning (removed when the case is withdrawn).
CREATE TABLE exposure_links (
    warning_id BIGINT NOT NULL REFERENCES exposure_warnings (id) ON DELETE CASCADE,
    pcr_id BIGINT NOT NULL,
    venue_id BIGINT NOT NULL,
    overlap_from BIGINT NOT NULL,
    overlap_to BIGINT NOT NULL,
    PRIMARY KEY (warning_id, pcr_id)
);
CREATE INDEX exposure_links_pcr ON exposure_links (pcr_id);

-- Every export of a case's co-visitors (who, when, which case, how many rows).
CREATE TABLE exposure_exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    case_external_id TEXT NOT NULL,
    pcr_id BIGINT,
    outcome TEXT NOT NULL,
    rows_listed BIGINT NOT NULL,
    not_recoverable BIGINT NOT NULL
);
