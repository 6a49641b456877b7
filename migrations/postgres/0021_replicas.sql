-- Issue 16, replicas: a processed update keeps its replies (sealed), so a redelivery of an
-- update whose reply never left (the process died between the commit and the send) gets
-- that reply again; and the shared pace of a messenger's sends across replicas.
ALTER TABLE processed_updates ADD COLUMN replies BYTEA;

CREATE TABLE send_pace (
    channel TEXT PRIMARY KEY,
    next_at_us BIGINT NOT NULL
);
