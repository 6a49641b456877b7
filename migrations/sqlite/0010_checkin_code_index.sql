-- The check-code uniqueness test of a new check-in (`WHERE NOT EXISTS … venue_id, check_code,
-- entered_at >= window`) walked every check-in of the venue in the window through
-- checkins_venue; this index makes it one probe.
CREATE INDEX checkins_code ON checkins (venue_id, check_code, entered_at);
