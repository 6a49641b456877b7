-- One per-chat attempt counter (security review): the IINs a chat sends at registration are
-- counted in `attempt_failures` (scope `iin`) like failed typed codes, by one mechanism
-- (`security::throttle`). The rows of `identity_attempts` move there.
--
-- `identity_attempts` itself stays until the next release (expand, then contract:
-- docs/OPERATIONS.md): replicas of the previous version still write to it during a deploy.
-- Nothing of this version reads or writes it; a later migration drops it.
INSERT INTO attempt_failures (scope, channel, chat_id, at_ms)
SELECT 'iin', channel, chat_id, at FROM identity_attempts;
DELETE FROM identity_attempts;
