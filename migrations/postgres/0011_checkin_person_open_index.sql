-- A person's open visits, one probe: a new entry closes them, "I left" and exit codes find
-- them. Without it the visits query read every open visit in the country (checkins_open)
-- or every check-in of the person (checkins_person).
CREATE INDEX checkins_person_open ON checkins (person_id) WHERE left_at IS NULL AND admitted = 1;
