-- Security hardening (issue 15 item 7; docs/SECURITY.md).
--
-- 1. Check codes are unique per venue per local date (Astana time), enforced by a UNIQUE
--    index instead of a NOT EXISTS test that two concurrent check-ins could both pass.
--    `code_day` is the local date as days since 1970-01-01 (UTC+5), filled for existing rows.
--    It stays nullable while replicas of the previous version may still insert rows without it
--    (expand-then-contract, docs/OPERATIONS.md); rows without a day are outside the index.
--    Existing rows already had distinct codes within any 24 hours, so within a date.
ALTER TABLE checkins ADD COLUMN code_day BIGINT;
UPDATE checkins SET code_day = (entered_at + 18000000) / 86400000;
CREATE UNIQUE INDEX checkins_code_day ON checkins (venue_id, code_day, check_code);
DROP INDEX checkins_code;

-- 2. Failed attempts at typed codes (venue short codes per chat, meal codes per operator):
--    each failure is a row (the audit of the attempt), counted to throttle the chat; pruned
--    after 30 days by the retention job.
CREATE TABLE attempt_failures (
    scope TEXT NOT NULL,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX attempt_failures_chat ON attempt_failures (scope, channel, chat_id, at_ms);
CREATE INDEX attempt_failures_at ON attempt_failures (at_ms);

-- 3. Retention: sent and given-up outbox rows are pruned after 30 days.
CREATE INDEX outbox_done_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_done_failed ON outbox (failed_at) WHERE failed_at IS NOT NULL;

-- 4. Guard-mode quotas per venue count the venue's look-ups in the last hour and day.
CREATE INDEX checkin_audit_venue ON checkin_audit (venue_id, action, at);
