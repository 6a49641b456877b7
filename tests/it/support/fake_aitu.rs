//! A fake Aitu Bot API server (axum on 127.0.0.1, port 0), after
//! `shared/reference/aitu-bot-api.md` §11: the token check on every route, long polling
//! that consumes what it returns (409 for a second poll, 400 while a webhook is set),
//! commands validated against Aitu's limits and recorded, uploads and downloads by v1-UUID
//! file ids, the webhook URL (pushed to by [`FakeAitu::deliver_webhook`]). Paths work with
//! and without a trailing slash. Helpers build realistic updates for the tests.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

pub const TOKEN: &str = "51ae2e07-22e6-4a60-8929-4baa082127fa";
pub const BOT_ID: &str = "5b1f6a8e-3c2d-4e7f-9a10-b2c3d4e5f601";

#[derive(Default)]
struct Inner {
    queue: VecDeque<Value>,
    /// Every accepted command, in order.
    commands: Vec<Value>,
    /// Every call: `(method, path)`.
    calls: Vec<(String, String)>,
    files: HashMap<String, Vec<u8>>,
    /// `(file id, file name, bytes)` of every upload.
    uploads: Vec<(String, String, Vec<u8>)>,
    webhook: String,
    polling: bool,
    hold: Duration,
    /// `(path, status)`: the next calls to that path answer with the status.
    fail_next: VecDeque<(String, u16)>,
    /// `lastUpdateId` values polls carried.
    last_ids: Vec<Option<String>>,
    counter: u64,
}

#[derive(Clone)]
pub struct FakeAitu {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

/// A v1 (time-based) UUID-shaped id, unique in this fake.
fn time_uuid(n: u64) -> String {
    let r: u64 = rand::random();
    format!(
        "{:08x}-{:04x}-1{:03x}-{:04x}-{:012x}",
        (n as u32) ^ (r as u32),
        (r >> 32) as u16,
        (r >> 48) as u16 & 0xfff,
        0x8000 | (n as u16 & 0x3fff),
        n & 0xffff_ffff_ffff
    )
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<_> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Spring's default error body, the likeliest real shape.
fn error(status: StatusCode, message: &str, path: &str) -> Response {
    json_response(
        status,
        json!({"timestamp": "2026-11-21T10:00:00.000+0000", "status": status.as_u16(),
               "error": status.canonical_reason().unwrap_or(""), "message": message, "path": path}),
    )
}

impl FakeAitu {
    /// Starts the server; returns it and the base URL to give the adapter (`AITU_API_URL`).
    pub async fn start() -> (Self, String) {
        let fake = FakeAitu {
            inner: Arc::new(Mutex::new(Inner {
                hold: Duration::from_millis(500),
                ..Inner::default()
            })),
            changed: Arc::new(Notify::new()),
        };
        let app = Router::new()
            .route("/bot/v1/{*path}", any(api))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (fake, format!("http://{addr}/bot/v1/"))
    }

    fn next_id(&self) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        time_uuid(inner.counter)
    }

    /// Queues an update as it is (odd shapes, unknown types, replays).
    pub fn push_raw(&self, update: Value) {
        self.inner.lock().unwrap().queue.push_back(update);
        self.changed.notify_waiters();
    }

    /// The next `n` calls to `path` (`upload`, `getMe`, or with the method: `POST updates`)
    /// answer with `status` (500, 504, 401, 429…).
    pub fn fail_next(&self, path: &str, n: usize, status: u16) {
        let mut inner = self.inner.lock().unwrap();
        inner
            .fail_next
            .extend(std::iter::repeat_n((path.to_string(), status), n));
    }

    pub fn peer(user: &str) -> Value {
        json!({"type": "USER", "id": user})
    }

    /// A `Message` from `user` in their private dialog; returns the update (also queued).
    pub fn message(&self, user: &str, content: &str, media: Value) -> Value {
        let update = json!({
            "type": "Message", "updateId": self.next_id(), "messageId": self.next_id(),
            "sentAt": "2026-11-21T05:00:00.000Z",
            "author": {"type": "USER", "id": user, "username": "citizen", "firstName": "Aidana"},
            "dialog": Self::peer(user), "content": content, "media": media,
            "forwardMetadata": null, "replyToMessageId": null
        });
        self.push_raw(update.clone());
        update
    }

    pub fn text(&self, user: &str, content: &str) -> Value {
        self.message(user, content, json!([]))
    }

    /// A file a user sent: stored under a fresh id, returned.
    pub fn add_file(&self, bytes: Vec<u8>) -> String {
        let id = self.next_id();
        self.inner.lock().unwrap().files.insert(id.clone(), bytes);
        id
    }

    /// A photo (`Image`, mimeType `JPEG` whatever the bytes are, as Aitu labels it).
    pub fn photo(&self, user: &str, bytes: Vec<u8>) -> Value {
        let size = bytes.len();
        let file_id = self.add_file(bytes);
        self.message(
            user,
            "",
            json!([{"type": "Image", "fileId": file_id, "mimeType": "JPEG",
                    "name": "IMG_20261121_100000.jpg", "size": size, "width": 800, "height": 800}]),
        )
    }

    /// A document (`Document`) with a name and a declared size.
    pub fn document(&self, user: &str, bytes: Vec<u8>, name: &str, size: Option<u64>) -> Value {
        let real = bytes.len() as u64;
        let file_id = self.add_file(bytes);
        self.message(
            user,
            "",
            json!([{"type": "Document", "fileId": file_id, "mimeType": "UNKNOWN",
                    "name": name, "size": size.unwrap_or(real)}]),
        )
    }

    /// A contact of an Aitu user (`owner`) shared by `user`.
    pub fn registered_contact(&self, user: &str, owner: &str, phone: &str) -> Value {
        self.message(
            user,
            "",
            json!([{"type": "RegisteredContact", "user": {"id": owner, "firstName": "A",
                    "lastName": "K.", "phoneNumber": phone, "userName": "someone", "avatar": null}}]),
        )
    }

    /// A phone-book entry that is not an Aitu user.
    pub fn unregistered_contact(&self, user: &str, phone: &str) -> Value {
        self.message(
            user,
            "",
            json!([{"type": "UnregisteredContact", "firstName": "Erlan", "lastName": "",
                    "phoneNumber": phone}]),
        )
    }

    /// The account's number posted by the client after `send_private_data` (legacy).
    pub fn private_phone(&self, user: &str, phone: &str) -> Value {
        let meta = json!({"data_template_result": phone.trim_start_matches('+'),
            "private_data": {"type": "phone_number",
                "value": {"phone_number": phone, "metadata": "auth"}},
            "hidden_metadata": ""});
        let update = json!({
            "type": "FormMessageSent", "updateId": self.next_id(), "formId": "",
            "dialog": Self::peer(user), "sender": Self::peer(user), "message": phone,
            "messageId": format!("pd-{}", self.next_id()),
            "additionalMetadata": meta.to_string()
        });
        self.push_raw(update.clone());
        update
    }

    /// A press on the inline button with `metadata` of the last message that carries one
    /// (panics when the bot never sent such a button to `user`).
    pub fn press(&self, user: &str, metadata: &str) -> Value {
        let (message_id, caption) = {
            let inner = self.inner.lock().unwrap();
            inner
                .commands
                .iter()
                .rev()
                .filter(|c| c["recipient"]["id"] == json!(user))
                .find_map(|c| {
                    let rows = c["inlineCommandRows"].as_array()?;
                    rows.iter()
                        .flat_map(|r| r.as_array().into_iter().flatten())
                        .find_map(|b| {
                            (b["metadata"] == json!(metadata))
                                .then(|| (c["_messageId"].clone(), b["caption"].clone()))
                        })
                })
                .unwrap_or_else(|| panic!("no button {metadata} was sent to {user}"))
        };
        let update = json!({
            "type": "InlineCommandSelected", "updateId": self.next_id(), "messageId": message_id,
            "dialog": Self::peer(user), "sender": Self::peer(user), "metadata": metadata,
            "content": caption
        });
        self.push_raw(update.clone());
        update
    }

    /// Every accepted command, in order (a `_messageId` field added by the fake).
    pub fn commands(&self) -> Vec<Value> {
        self.inner.lock().unwrap().commands.clone()
    }

    /// `(method, path)` of every call.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// `lastUpdateId` of every poll.
    pub fn poll_ids(&self) -> Vec<Option<String>> {
        self.inner.lock().unwrap().last_ids.clone()
    }

    /// `(file id, name, bytes)` of every upload.
    pub fn uploads(&self) -> Vec<(String, String, Vec<u8>)> {
        self.inner.lock().unwrap().uploads.clone()
    }

    pub fn webhook(&self) -> String {
        self.inner.lock().unwrap().webhook.clone()
    }

    /// The messages sent to `user`.
    pub fn sent_to(&self, user: &str) -> Vec<Value> {
        self.commands()
            .into_iter()
            .filter(|c| c["type"] == json!("SendMessage") && c["recipient"]["id"] == json!(user))
            .collect()
    }

    pub fn texts_to(&self, user: &str) -> Vec<String> {
        self.sent_to(user)
            .iter()
            .map(|c| c["content"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Waits until `n` messages were sent to `user` (panics after 20 s); returns their texts.
    pub async fn wait_sent(&self, user: &str, n: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let texts = self.texts_to(user);
            if texts.len() >= n {
                return texts;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} messages to {user}, got {}: {texts:#?}",
                texts.len()
            );
            let notified = self.changed.notified();
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Waits until every queued update was fetched and nothing was sent for a moment.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (pending, n) = {
                let i = self.inner.lock().unwrap();
                (i.queue.len(), i.commands.len())
            };
            tokio::time::sleep(Duration::from_millis(400)).await;
            let now = self.inner.lock().unwrap().commands.len();
            if pending == 0 && now == n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bot did not settle"
            );
        }
    }

    /// Pushes every queued update to the webhook URL, one `{"updates":[u]}` POST each, as
    /// Aitu would; returns the HTTP statuses.
    pub async fn deliver_webhook(&self) -> Vec<u16> {
        let (url, updates) = {
            let mut inner = self.inner.lock().unwrap();
            (
                inner.webhook.clone(),
                inner.queue.drain(..).collect::<Vec<_>>(),
            )
        };
        assert!(!url.is_empty(), "no webhook set");
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for u in updates {
            let status = client
                .post(&url)
                .json(&json!({"updates": [u]}))
                .send()
                .await
                .map_or(0, |r| r.status().as_u16());
            statuses.push(status);
        }
        statuses
    }

    async fn poll(&self, last: Option<String>) -> Response {
        {
            let mut inner = self.inner.lock().unwrap();
            inner.last_ids.push(last.clone());
            if !inner.webhook.is_empty() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Webhook is specified",
                    "/bot/v1/updates",
                );
            }
            if inner.polling {
                return error(
                    StatusCode::CONFLICT,
                    "Duplicate request not allowed in long polling",
                    "/bot/v1/updates",
                );
            }
            inner.polling = true;
            if let Some(last) = &last
                && let Some(pos) = inner
                    .queue
                    .iter()
                    .position(|u| u["updateId"].as_str() == Some(last))
            {
                inner.queue.drain(..=pos);
            }
        }
        struct Release(Arc<Mutex<Inner>>);
        impl Drop for Release {
            fn drop(&mut self) {
                self.0.lock().unwrap().polling = false;
            }
        }
        let _release = Release(self.inner.clone());
        let hold = self.inner.lock().unwrap().hold;
        let deadline = tokio::time::Instant::now() + hold;
        loop {
            let notified = self.changed.notified();
            {
                let mut inner = self.inner.lock().unwrap();
                if !inner.queue.is_empty() {
                    let updates: Vec<Value> = inner.queue.drain(..).collect();
                    return json_response(StatusCode::OK, json!({"updates": updates}));
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return json_response(StatusCode::OK, json!({"updates": []}));
            }
        }
    }

    fn command(&self, body: &Bytes) -> Response {
        const PATH: &str = "/bot/v1/updates";
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return error(StatusCode::BAD_REQUEST, "Failed to read HTTP message", PATH);
        };
        let Some(commands) = v["commands"].as_array() else {
            return error(StatusCode::BAD_REQUEST, "Failed to read HTTP message", PATH);
        };
        if commands.is_empty() || commands.len() > 10 {
            return error(
                StatusCode::BAD_REQUEST,
                "maximum commands length is 10",
                PATH,
            );
        }
        for c in commands {
            if c["type"] != json!("SendMessage") {
                return error(StatusCode::BAD_REQUEST, "Invalid JSON", PATH);
            }
            if let Some(why) = invalid_send_message(c) {
                return error(StatusCode::BAD_REQUEST, &why, PATH);
            }
        }
        let mut inner = self.inner.lock().unwrap();
        for c in commands {
            inner.counter += 1;
            let mut c = c.clone();
            c["_messageId"] = json!(time_uuid(inner.counter));
            inner.commands.push(c);
        }
        drop(inner);
        self.changed.notify_waiters();
        json_response(StatusCode::OK, json!({}))
    }
}

/// The §8 limits a SendMessage must keep.
fn invalid_send_message(c: &Value) -> Option<String> {
    let peer = &c["recipient"];
    if !peer["id"].as_str().is_some_and(is_uuid) || !peer["type"].is_string() {
        return Some("id is not a valid UUID".into());
    }
    let content = c["content"].as_str()?;
    if content.chars().count() > 4096 {
        return Some("content length should be <= 4096".into());
    }
    if let Some(rows) = c["inlineCommandRows"].as_array() {
        if rows.len() > 8
            || rows
                .iter()
                .any(|r| r.as_array().is_none_or(|r| r.len() > 8))
        {
            return Some("inlineCommandRows should not have more than 25 rows, 25 columns".into());
        }
        for b in rows.iter().flat_map(|r| r.as_array().into_iter().flatten()) {
            if b["caption"].as_str().is_none_or(|s| s.chars().count() > 32) {
                return Some("caption length should be <= 32, recommended is 20".into());
            }
            if b["metadata"]
                .as_str()
                .is_none_or(|s| s.chars().count() > 255)
            {
                return Some("metadata length should be <= 255".into());
            }
        }
    }
    if let Some(ui) = c.get("uiState") {
        for flag in [
            "canWriteText",
            "showCameraButton",
            "showGalleryButton",
            "showRecordAudioButton",
            "showShareContactButton",
            "showSpeechToTextButton",
        ] {
            if !ui[flag].is_boolean() {
                return Some(format!("uiState.{flag} is required"));
            }
        }
        let captions = ui["replyKeyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(ui["quickButtonCommands"].as_array().into_iter().flatten());
        for b in captions {
            if b["caption"].as_str().is_none_or(|s| s.chars().count() > 32) {
                return Some("caption length should be <= 32, recommended is 20".into());
            }
        }
        if ui["quickButtonCommands"]
            .as_array()
            .is_some_and(|q| q.len() > 25)
        {
            return Some("Size of quickButtonCommands should be <= 25".into());
        }
    }
    if let Some(media) = c["mediaList"].as_array() {
        for m in media {
            if !m["fileId"].is_string() || !m["mediaType"].is_string() {
                return Some("mediaList item is invalid".into());
            }
        }
    }
    None
}

async fn api(
    State(fake): State<FakeAitu>,
    method: Method,
    axum::extract::Path(path): axum::extract::Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = path.trim_end_matches('/').to_string();
    fake.inner
        .lock()
        .unwrap()
        .calls
        .push((method.to_string(), path.clone()));
    let full = format!("/bot/v1/{path}");
    match headers.get("x-bot-token").and_then(|v| v.to_str().ok()) {
        None | Some("") => return error(StatusCode::UNAUTHORIZED, "Token is not specified", &full),
        Some(t) if t != TOKEN => return error(StatusCode::UNAUTHORIZED, "Token is invalid", &full),
        Some(_) => {}
    }
    let forced = {
        let mut inner = fake.inner.lock().unwrap();
        let call = format!("{method} {path}");
        let at = inner
            .fail_next
            .iter()
            .position(|(p, _)| *p == path || *p == call);
        at.and_then(|i| inner.fail_next.remove(i)).map(|(_, s)| s)
    };
    if let Some(status) = forced {
        let status = StatusCode::from_u16(status).unwrap();
        return error(status, status.canonical_reason().unwrap_or("error"), &full);
    }
    match (method.as_str(), path.as_str()) {
        ("GET", "getMe") => json_response(
            StatusCode::OK,
            json!({"botId": BOT_ID, "name": "Ashyq", "username": "ashyq_bot"}),
        ),
        ("GET", "updates") => fake.poll(query.get("lastUpdateId").cloned()).await,
        ("POST", "updates") => fake.command(&body),
        ("POST", "upload") => {
            let Some(boundary) = headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|ct| ct.split("boundary=").nth(1))
                .map(|b| b.trim_matches('"').to_string())
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Failed to read HTTP message",
                    &full,
                );
            };
            let mut uploaded = Vec::new();
            for (name, bytes) in multipart_files(&body, &boundary) {
                let id = fake.next_id();
                let mut inner = fake.inner.lock().unwrap();
                inner.files.insert(id.clone(), bytes.clone());
                inner.uploads.push((id.clone(), name.clone(), bytes));
                uploaded.push(json!({"fileId": id, "fileName": name}));
            }
            json_response(StatusCode::OK, json!({"uploadedFiles": uploaded}))
        }
        ("GET", "download") => {
            let file = query
                .get("fileId")
                .and_then(|id| fake.inner.lock().unwrap().files.get(id).cloned());
            match file {
                Some(bytes) => (
                    [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
                    bytes,
                )
                    .into_response(),
                None => error(StatusCode::NOT_FOUND, "File not found", &full),
            }
        }
        ("GET", "webhook") => json_response(StatusCode::OK, json!({"url": fake.webhook()})),
        ("POST", "webhook") => {
            let url = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["url"].as_str().map(str::to_string));
            match url {
                None => error(StatusCode::BAD_REQUEST, "UNSPECIFIED", &full),
                Some(u) if u.chars().count() > 200 => error(
                    StatusCode::BAD_REQUEST,
                    "Size of url should be <= 200",
                    &full,
                ),
                // The real server wants HTTPS; the fake also takes http://127.0.0.1.
                Some(u) if !(u.starts_with("https://") || u.starts_with("http://127.0.0.1")) => {
                    error(StatusCode::BAD_REQUEST, "INVALID_PROTOCOL", &full)
                }
                Some(u) => {
                    fake.inner.lock().unwrap().webhook = u;
                    json_response(StatusCode::OK, json!({}))
                }
            }
        }
        ("DELETE", "webhook") => {
            fake.inner.lock().unwrap().webhook.clear();
            json_response(StatusCode::OK, json!({}))
        }
        _ => error(StatusCode::NOT_FOUND, "Not Found", &full),
    }
}

/// The file parts of a `multipart/form-data` body: `(file name, bytes)` in part order.
fn multipart_files(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let mut out = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + d.len() <= body.len() {
        if &body[i..i + d.len()] == d {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    for w in starts.windows(2) {
        let part = &body[w[0] + d.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let content = &part[split + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let Some(name) = head
            .split(';')
            .map(str::trim)
            .find_map(|kv| kv.strip_prefix("filename="))
            .map(|v| v.lines().next().unwrap_or(v).trim_matches('"').to_string())
        else {
            continue;
        };
        out.push((name, content.to_vec()));
    }
    out
}

/// The adapter running against a fake: long polling and the outbox worker, quick pauses.
pub struct RunningAitu {
    pub aitu: Arc<ashyq::adapters::aitu::Aitu>,
    stop: tokio_util::sync::CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Settings for tests: the fake's URL and token, no pacing to speak of, short pauses.
pub fn settings(url: &str) -> ashyq::adapters::aitu::Settings {
    let mut s = ashyq::adapters::aitu::Settings::new(url, TOKEN);
    s.rate_per_second = 1000.0;
    s.poll_pause = Duration::from_millis(20);
    s.retry_pause = Duration::from_millis(100);
    s
}

impl RunningAitu {
    pub async fn spawn(url: &str, core: Arc<ashyq::core::Core>) -> Self {
        Self::spawn_with(settings(url), core).await
    }

    pub async fn spawn_with(
        settings: ashyq::adapters::aitu::Settings,
        core: Arc<ashyq::core::Core>,
    ) -> Self {
        let aitu = ashyq::adapters::aitu::Aitu::new(core, settings).expect("aitu");
        let stop = tokio_util::sync::CancellationToken::new();
        let tasks = aitu.start(stop.clone()).await.expect("start");
        Self { aitu, stop, tasks }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        for t in self.tasks {
            t.await.unwrap();
        }
    }
}
