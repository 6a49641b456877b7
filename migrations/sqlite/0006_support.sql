-- Support desk: tickets relayed to the operators' chat, bans, the flood window, and the
-- generic relay maps (a core-named topic <-> the messenger's thread; a posted message ->
-- its topic, for replies in chats without topics). No message content is stored here.
CREATE TABLE support_tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    category TEXT NOT NULL,
    lang TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    first_response_at BIGINT,
    closed_at BIGINT,
    assignee TEXT,
    rating BIGINT,
    user_messages BIGINT NOT NULL DEFAULT 0,
    operator_messages BIGINT NOT NULL DEFAULT 0,
    off_hours_notice_at BIGINT
);
CREATE INDEX support_tickets_chat ON support_tickets (channel, chat_id, id);

CREATE TABLE support_bans (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    until_at BIGINT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);

CREATE TABLE support_flood (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);

CREATE TABLE relay_topics (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    topic_key TEXT NOT NULL,
    thread_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, chat_id, topic_key)
);
CREATE INDEX relay_topics_thread ON relay_topics (channel, chat_id, thread_id);

CREATE TABLE relay_links (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    topic_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, chat_id, message_id)
);
