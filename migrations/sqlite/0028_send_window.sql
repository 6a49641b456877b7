-- Issue 16, strict pace: every message a paced sender sends holds a place in its pace's
-- one-second window from the moment it may go until the messenger answered (`done_us`);
-- a place counts while the message is in flight (at most a lease) and for one second after
-- the answer, so no second-long window of the messenger's clock can see more messages than
-- the pace's cap (crate::pace). Rows older than a minute are deleted as the window moves.
CREATE TABLE send_window (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    started_us BIGINT NOT NULL,
    done_us BIGINT
);
CREATE INDEX send_window_channel ON send_window (channel, started_us);
