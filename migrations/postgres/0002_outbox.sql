-- Durable outbox: messages to chats other than the one being answered (notices, alerts,
-- staff feeds) are written in the same transaction as their cause and sent by a worker.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (channel, not_before, id) WHERE sent_at IS NULL AND failed_at IS NULL;
