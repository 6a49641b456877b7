//! A small fake Telegram Bot API server (axum on port 0): it queues updates for `getUpdates`,
//! records every call the bot makes, answers them with well-formed objects, and serves file
//! downloads, so tests run the real teloxide client and dispatcher against it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

pub const BOT_ID: i64 = 7_000_000_001;
pub const BOT_USERNAME: &str = "ashyq_test_bot";

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// JSON bodies as sent; multipart forms as an object of their text fields, each file
    /// field as `{"file_name": …, "size": …}`.
    pub body: Value,
    /// The files of a multipart call (`sendPhoto`, `sendDocument`).
    pub files: Vec<SentFile>,
    /// When the call arrived (the pace measurements count calls per second).
    pub at: std::time::Instant,
}

/// A file the bot uploaded.
#[derive(Debug, Clone)]
pub struct SentFile {
    pub field: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Inner {
    updates: VecDeque<Value>,
    calls: Vec<Call>,
    next_update_id: i64,
    next_message_id: i64,
    files: HashMap<String, Vec<u8>>,
    /// Supergroups with topics (forums).
    forums: std::collections::HashSet<i64>,
    /// Chats whose user blocked the bot (every send answers 403).
    blocked: std::collections::HashSet<i64>,
    /// Deleted topics: `(chat, thread)`.
    deleted_topics: std::collections::HashSet<(i64, i64)>,
    next_thread_id: i64,
    /// `(chat, message id)` of every message the bot sent or copied, in order.
    sent_ids: Vec<(i64, i64)>,
}

#[derive(Clone, Default)]
pub struct FakeTelegram {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

impl FakeTelegram {
    /// Starts the server; returns it and the API URL to give teloxide (`TELOXIDE_API_URL`).
    pub async fn start() -> (Self, String) {
        let fake = FakeTelegram::default();
        {
            let mut inner = fake.inner.lock().unwrap();
            inner.next_update_id = 1;
            inner.next_message_id = 1000;
            inner.next_thread_id = 50;
        }
        let app = Router::new()
            .route("/{bot}/{method}", post(api).get(api))
            .route("/file/{bot}/{*path}", get(file))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (fake, format!("http://{addr}/"))
    }

    fn push(&self, make: impl FnOnce(i64, i64) -> Value) -> i64 {
        let mut inner = self.inner.lock().unwrap();
        let id = inner.next_update_id;
        inner.next_update_id += 1;
        inner.next_message_id += 1;
        let mid = inner.next_message_id;
        inner.updates.push_back(make(id, mid));
        drop(inner);
        self.changed.notify_waiters();
        id
    }

    /// Makes `chat` a supergroup with topics: `createForumTopic` works there.
    pub fn set_forum(&self, chat: i64) {
        self.inner.lock().unwrap().forums.insert(chat);
    }

    /// Every message to `chat` now fails with 403 "bot was blocked by the user".
    pub fn block(&self, chat: i64) {
        self.inner.lock().unwrap().blocked.insert(chat);
    }

    /// Messages to `chat` go through again (a network failure that passed).
    pub fn unblock(&self, chat: i64) {
        self.inner.lock().unwrap().blocked.remove(&chat);
    }

    /// Deletes a topic: posting to it fails with "message thread not found".
    pub fn delete_topic(&self, chat: i64, thread: i64) {
        self.inner
            .lock()
            .unwrap()
            .deleted_topics
            .insert((chat, thread));
    }

    /// A message in a (super)group from `user`: in topic `thread` when given (a forum topic
    /// message), replying to the message `reply_to` when given. Returns the message id.
    pub fn group_message(
        &self,
        chat: i64,
        user: i64,
        thread: Option<i64>,
        reply_to: Option<i64>,
        content: Value,
    ) -> i64 {
        let forum = self.inner.lock().unwrap().forums.contains(&chat);
        let group =
            json!({"id": chat, "type": "supergroup", "title": "Operators", "is_forum": forum});
        let mut mid_out = 0;
        self.push(|id, mid| {
            mid_out = mid;
            let mut msg = json!({
                "message_id": mid,
                "date": 1_790_000_000,
                "chat": group,
                "from": Self::user(user, Some("ru")),
            });
            if let Some(t) = thread {
                msg["message_thread_id"] = json!(t);
                msg["is_topic_message"] = json!(true);
            }
            if let Some(r) = reply_to.or(thread) {
                msg["reply_to_message"] = json!({
                    "message_id": r, "date": 1_790_000_000, "chat": group,
                    "from": {"id": BOT_ID, "is_bot": true, "first_name": "Ashyq"},
                    "text": "…"
                });
            }
            for (k, v) in content.as_object().unwrap() {
                msg[k] = v.clone();
            }
            json!({"update_id": id, "message": msg})
        });
        mid_out
    }

    /// A photo message content (for `message` / `group_message`).
    pub fn photo(file_id: &str, caption: Option<&str>) -> Value {
        let mut v = json!({"photo": [{
            "file_id": file_id, "file_unique_id": format!("u{file_id}"),
            "width": 640, "height": 480, "file_size": 1000
        }]});
        if let Some(c) = caption {
            v["caption"] = json!(c);
        }
        v
    }

    /// The id of the last message the bot sent or copied to `chat`.
    pub fn last_sent_id(&self, chat: i64) -> Option<i64> {
        let inner = self.inner.lock().unwrap();
        inner
            .sent_ids
            .iter()
            .rev()
            .find(|(c, _)| *c == chat)
            .map(|(_, id)| *id)
    }

    /// Calls of `method` whose body's `chat_id` is `chat`.
    pub fn calls_to(&self, method: &str, chat: i64) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.body["chat_id"] == json!(chat))
            .map(|c| c.body)
            .collect()
    }

    /// Waits until `n` calls of `method` to `chat` were made (panics after 20 s).
    pub async fn wait_calls(&self, method: &str, chat: i64, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let calls = self.calls_to(method, chat);
            if calls.len() >= n {
                return calls;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "expected {n} {method} calls to {chat}, got {}: {calls:#?}",
                    calls.len()
                );
            }
            let notified = self.changed.notified();
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Queues an update verbatim (for redelivery tests); returns its id.
    pub fn push_raw(&self, update: Value) {
        self.inner.lock().unwrap().updates.push_back(update);
        self.changed.notify_waiters();
    }

    pub fn user(user_id: i64, lang: Option<&str>) -> Value {
        let mut u = json!({"id": user_id, "is_bot": false, "first_name": "Test"});
        if let Some(l) = lang {
            u["language_code"] = json!(l);
        }
        u
    }

    fn chat(user_id: i64) -> Value {
        json!({"id": user_id, "type": "private", "first_name": "Test"})
    }

    /// A message update with the given content fields merged in.
    pub fn message(&self, user_id: i64, lang: Option<&str>, content: Value) -> i64 {
        self.push(|id, mid| {
            let mut msg = json!({
                "message_id": mid,
                "date": 1_790_000_000,
                "chat": Self::chat(user_id),
                "from": Self::user(user_id, lang),
            });
            for (k, v) in content.as_object().unwrap() {
                msg[k] = v.clone();
            }
            json!({"update_id": id, "message": msg})
        })
    }

    pub fn text(&self, user_id: i64, lang: Option<&str>, text: &str) -> i64 {
        let mut content = json!({"text": text});
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .unwrap()
                .encode_utf16()
                .count();
            content["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        self.message(user_id, lang, content)
    }

    pub fn contact(
        &self,
        user_id: i64,
        lang: Option<&str>,
        phone: &str,
        owner: Option<i64>,
    ) -> i64 {
        let mut contact = json!({"phone_number": phone, "first_name": "Test"});
        if let Some(o) = owner {
            contact["user_id"] = json!(o);
        }
        self.message(user_id, lang, json!({"contact": contact}))
    }

    pub fn callback(&self, user_id: i64, lang: Option<&str>, data: &str) -> i64 {
        self.push(|id, mid| {
            json!({"update_id": id, "callback_query": {
                "id": format!("cb{id}"),
                "from": Self::user(user_id, lang),
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": mid,
                    "date": 1_790_000_000,
                    "chat": Self::chat(user_id),
                    "from": {"id": BOT_ID, "is_bot": true, "first_name": "Ashyq"},
                    "text": "…"
                }
            }})
        })
    }

    pub fn sticker(&self, user_id: i64, lang: Option<&str>) -> i64 {
        self.message(
            user_id,
            lang,
            json!({"sticker": {
                "file_id": "stk", "file_unique_id": "stku", "type": "regular",
                "width": 512, "height": 512, "is_animated": false, "is_video": false
            }}),
        )
    }

    /// A photo message offering `sizes` as `(file_id, width, height, file_size)`, smallest
    /// first as Telegram sends them.
    pub fn photo_sizes(
        &self,
        user_id: i64,
        lang: Option<&str>,
        sizes: &[(&str, u32, u32, u64)],
    ) -> i64 {
        let sizes: Vec<Value> = sizes
            .iter()
            .map(|(id, w, h, size)| {
                json!({"file_id": id, "file_unique_id": format!("u{id}"),
                       "width": w, "height": h, "file_size": size})
            })
            .collect();
        self.message(user_id, lang, json!({"photo": sizes}))
    }

    /// A document message.
    pub fn document(
        &self,
        user_id: i64,
        lang: Option<&str>,
        file_id: &str,
        file_name: &str,
        mime_type: &str,
        size: u64,
    ) -> i64 {
        self.message(
            user_id,
            lang,
            json!({"document": {
                "file_id": file_id, "file_unique_id": format!("u{file_id}"),
                "file_name": file_name, "mime_type": mime_type, "file_size": size
            }}),
        )
    }

    /// Makes `file_id` downloadable with these bytes (for photo tests).
    pub fn add_file(&self, file_id: &str, bytes: Vec<u8>) {
        self.inner
            .lock()
            .unwrap()
            .files
            .insert(file_id.to_string(), bytes);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Texts of all `sendMessage` calls to `chat_id` so far.
    /// Every file the bot uploaded to `chat_id` (photos and documents), in order, with the
    /// method that sent it and its caption.
    pub fn sent_files(&self, chat_id: i64) -> Vec<(String, Option<String>, SentFile)> {
        self.calls()
            .into_iter()
            .filter(|c| c.body["chat_id"] == json!(chat_id))
            .flat_map(|c| {
                let caption = c.body["caption"].as_str().map(str::to_string);
                c.files
                    .into_iter()
                    .map(move |f| (c.method.clone(), caption.clone(), f))
            })
            .collect()
    }

    pub fn sent_texts(&self, chat_id: i64) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == json!(chat_id))
            .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The last `sendMessage` to `chat_id`.
    pub fn last_message(&self, chat_id: i64) -> Option<Value> {
        self.calls()
            .into_iter()
            .rev()
            .find(|c| c.method == "sendMessage" && c.body["chat_id"] == json!(chat_id))
            .map(|c| c.body)
    }

    /// Waits until `n` messages were sent to `chat_id` in total (panics after 20 s).
    pub async fn wait_messages(&self, chat_id: i64, n: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let texts = self.sent_texts(chat_id);
            if texts.len() >= n {
                return texts;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "expected {n} messages to {chat_id}, got {}: {texts:#?}",
                    texts.len()
                );
            }
            let notified = self.changed.notified();
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Waits until every queued update was fetched and the bot went quiet for a moment.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (pending, calls) = {
                let i = self.inner.lock().unwrap();
                (i.updates.len(), i.calls.len())
            };
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now_calls = self.inner.lock().unwrap().calls.len();
            if pending == 0 && now_calls == calls {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "bot did not settle");
        }
    }
}

fn parse_body(headers: &HeaderMap, bytes: &Bytes) -> (Value, Vec<SentFile>) {
    if bytes.is_empty() {
        return (json!({}), Vec::new());
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
    {
        return parse_multipart(bytes, boundary.trim_matches('"'));
    }
    let body = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| json!({"_raw": String::from_utf8_lossy(bytes)}));
    (body, Vec::new())
}

/// A minimal `multipart/form-data` reader: text fields become JSON values (parsed as JSON
/// when they are, like `chat_id` or `reply_markup`), file fields are kept as bytes.
fn parse_multipart(bytes: &[u8], boundary: &str) -> (Value, Vec<SentFile>) {
    let delimiter = format!("--{boundary}");
    let mut body = serde_json::Map::new();
    let mut files = Vec::new();
    let parts = split_on(bytes, delimiter.as_bytes());
    for part in parts {
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        if part.starts_with(b"--") || part.is_empty() {
            continue;
        }
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let mut content = &part[split + 4..];
        content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let attr = |key: &str| {
            head.split(';')
                .map(str::trim)
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                .map(|v| v.lines().next().unwrap_or(v).trim_matches('"').to_string())
        };
        let Some(name) = attr("name") else { continue };
        match attr("filename") {
            Some(file_name) => {
                body.insert(
                    name.clone(),
                    json!({"file_name": file_name, "size": content.len()}),
                );
                files.push(SentFile {
                    field: name,
                    file_name,
                    bytes: content.to_vec(),
                });
            }
            None => {
                let text = String::from_utf8_lossy(content).to_string();
                let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                body.insert(name, value);
            }
        }
    }
    (Value::Object(body), files)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_on<'a>(mut bytes: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(bytes, delimiter) {
        parts.push(&bytes[..at]);
        bytes = &bytes[at + delimiter.len()..];
    }
    parts.push(bytes);
    parts
}

fn canonical(method: &str) -> String {
    let mut chars = method.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn ok(result: Value) -> axum::response::Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

async fn api(
    State(fake): State<FakeTelegram>,
    Path((_bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let (body, files) = parse_body(&headers, &body);
    // Telegram matches method names case-insensitively; teloxide sends `SendMessage`.
    let method = canonical(&method);
    if method == "getUpdates" {
        let offset = body["offset"].as_i64().unwrap_or(0);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        loop {
            let notified = fake.changed.notified();
            {
                let mut inner = fake.inner.lock().unwrap();
                while inner
                    .updates
                    .front()
                    .is_some_and(|u| u["update_id"].as_i64().unwrap_or(0) < offset && offset > 0)
                {
                    inner.updates.pop_front();
                }
                if !inner.updates.is_empty() {
                    // One update per poll keeps the order of processing deterministic.
                    let u = inner.updates.pop_front().unwrap();
                    return ok(json!([u]));
                }
            }
            if tokio::time::Instant::now() > deadline {
                return ok(json!([]));
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    }
    let result = {
        let mut inner = fake.inner.lock().unwrap();
        inner.calls.push(Call {
            method: method.clone(),
            body: body.clone(),
            files,
            at: std::time::Instant::now(),
        });
        match method.as_str() {
            "getMe" => json!({
                "id": BOT_ID, "is_bot": true, "first_name": "Ashyq", "username": BOT_USERNAME,
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "has_main_web_app": false
            }),
            "getWebhookInfo" => {
                json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0})
            }
            "sendMessage" | "sendPhoto" | "sendDocument" | "copyMessage" | "createForumTopic"
                if let Some(error) = refusal(&inner, &method, &body) =>
            {
                drop(inner);
                fake.changed.notify_waiters();
                return error;
            }
            "createForumTopic" => {
                inner.next_thread_id += 1;
                json!({
                    "message_thread_id": inner.next_thread_id,
                    "name": body["name"], "icon_color": 7_322_096
                })
            }
            "copyMessage" => {
                inner.next_message_id += 1;
                let id = inner.next_message_id;
                if let Some(chat) = body["chat_id"].as_i64() {
                    inner.sent_ids.push((chat, id));
                }
                json!({"message_id": id})
            }
            "sendMessage" | "sendPhoto" | "sendDocument" => {
                inner.next_message_id += 1;
                let id = inner.next_message_id;
                if let Some(chat) = body["chat_id"].as_i64() {
                    inner.sent_ids.push((chat, id));
                }
                let mut m = json!({
                    "message_id": inner.next_message_id,
                    "date": 1_790_000_000,
                    "chat": {"id": body["chat_id"], "type": "private", "first_name": "Test"},
                    "from": {"id": BOT_ID, "is_bot": true, "first_name": "Ashyq"},
                });
                if let Some(t) = body.get("text") {
                    m["text"] = t.clone();
                }
                if let Some(t) = body.get("caption") {
                    m["caption"] = t.clone();
                }
                if let Some(t) = body.get("message_thread_id") {
                    m["message_thread_id"] = t.clone();
                    m["is_topic_message"] = json!(true);
                }
                m
            }
            "getFile" => {
                let id = body["file_id"].as_str().unwrap_or_default().to_string();
                match inner.files.get(&id) {
                    Some(bytes) => json!({
                        "file_id": id, "file_unique_id": format!("u{id}"),
                        "file_size": bytes.len(), "file_path": format!("photos/{id}.jpg")
                    }),
                    None => {
                        drop(inner);
                        fake.changed.notify_waiters();
                        return (
                            StatusCode::BAD_REQUEST,
                            axum::Json(json!({"ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"})),
                        )
                            .into_response();
                    }
                }
            }
            _ => json!(true),
        }
    };
    fake.changed.notify_waiters();
    ok(result)
}

/// The error Telegram would answer for this call, if any.
fn refusal(inner: &Inner, method: &str, body: &Value) -> Option<axum::response::Response> {
    let error = |status: StatusCode, description: &str| {
        (
            status,
            axum::Json(
                json!({"ok": false, "error_code": status.as_u16(), "description": description}),
            ),
        )
            .into_response()
    };
    let chat = body["chat_id"].as_i64()?;
    if method == "createForumTopic" {
        return (!inner.forums.contains(&chat)).then(|| {
            error(
                StatusCode::BAD_REQUEST,
                "Bad Request: the chat is not a forum",
            )
        });
    }
    if inner.blocked.contains(&chat) {
        return Some(error(
            StatusCode::FORBIDDEN,
            "Forbidden: bot was blocked by the user",
        ));
    }
    let thread = body["message_thread_id"].as_i64()?;
    inner.deleted_topics.contains(&(chat, thread)).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message thread not found",
        )
    })
}

async fn file(
    State(fake): State<FakeTelegram>,
    Path((_bot, path)): Path<(String, String)>,
) -> axum::response::Response {
    let id = path
        .trim_start_matches("photos/")
        .trim_end_matches(".jpg")
        .to_string();
    match fake.inner.lock().unwrap().files.get(&id) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A throttled bot client pointed at the fake server (`url` from [`FakeTelegram::start`]).
pub fn test_bot(url: &str) -> ashyq::adapters::telegram::TgBot {
    teloxide::adaptors::Throttle::new_spawn(
        teloxide::Bot::new("123456:TEST").set_api_url(url.parse().expect("fake server URL")),
        teloxide::adaptors::throttle::Limits::default(),
    )
}

/// The real dispatcher running against the fake server; stop it with [`RunningBot::stop`].
pub struct RunningBot {
    token: teloxide::dispatching::ShutdownToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunningBot {
    pub fn spawn(url: &str, core: std::sync::Arc<ashyq::core::Core>) -> Self {
        let mut dispatcher = ashyq::adapters::telegram::dispatcher(test_bot(url), core);
        let token = dispatcher.shutdown_token();
        let task = tokio::spawn(async move { dispatcher.dispatch().await });
        Self { token, task }
    }

    pub async fn stop(self) {
        self.token.shutdown().expect("dispatcher running").await;
        self.task.await.expect("dispatcher task");
    }
}
