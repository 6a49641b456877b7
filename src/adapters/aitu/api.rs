//! A typed client for Aitu's Bot API (`docs/AITU.md`, `shared/reference/aitu-bot-api.md`):
//! the base URL and token are configurable, every request carries `X-BOT-TOKEN`, every
//! request waits for the bot's [`Pacer`], and the serde types tolerate unknown fields and
//! unknown `type` values (an unknown update or media item is kept as `Unknown`, never an
//! error).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Aitu's current host (Nov 2021 onwards).
pub const DEFAULT_API_URL: &str = "https://botapi.aitu.io/bot/v1/";

/// A party to a conversation: `USER`, `GROUP`, `CHANNEL`, `BOT` (kept as a string, so an
/// unknown type passes through). Name fields are not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

impl Peer {
    pub fn user(id: &str) -> Self {
        Self {
            kind: "USER".into(),
            id: id.into(),
        }
    }
}

/// One incoming update, by its `type`. Fields Aitu may omit are optional.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Message(MessageUpdate),
    MessageEdited(MessageUpdate),
    /// A press on a button under a message (`InlineCommandSelected`) or on a legacy quick
    /// button (`QuickButtonSelected`).
    Button(ButtonUpdate),
    /// `FormMessageSent` / `FormSubmitted` (legacy forms and `send_private_data`).
    Form(FormUpdate),
    /// A known type the bot has no use for (`MessageIdAssigned`, membership changes).
    Ignored(String),
    /// A type this adapter does not know.
    Unknown(String),
    /// A known type whose fields did not parse (its type; never the values).
    Malformed(String),
}

/// An update as it arrived: its id (opaque) and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub update_id: Option<String>,
    pub update: Update,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageUpdate {
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub author: Option<Peer>,
    pub dialog: Peer,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "media_list")]
    pub media: Vec<Media>,
    #[serde(default)]
    pub forward_metadata: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ButtonUpdate {
    pub dialog: Peer,
    #[serde(default)]
    pub sender: Option<Peer>,
    #[serde(default)]
    pub metadata: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormUpdate {
    pub dialog: Peer,
    #[serde(default)]
    pub sender: Option<Peer>,
    /// A JSON document in a string (parsed a second time by [`FormUpdate::private_phone`]).
    #[serde(default)]
    pub additional_metadata: Option<String>,
}

impl FormUpdate {
    /// The account phone a `send_private_data` action posted
    /// (`additionalMetadata.private_data.value.phone_number`).
    pub fn private_phone(&self) -> Option<String> {
        let meta: Value = serde_json::from_str(self.additional_metadata.as_deref()?).ok()?;
        let data = meta.get("private_data")?;
        if let Some(kind) = data.get("type").and_then(Value::as_str)
            && kind != "phone_number"
        {
            return None;
        }
        data.get("value")?
            .get("phone_number")?
            .as_str()
            .map(str::to_string)
    }
}

/// One media item of a message, by its `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum Media {
    /// `Image`, `Video`, `Audio`, `Music`, `Gif`, `Document`.
    File(FileMedia),
    RegisteredContact {
        user_id: Option<String>,
        phone: Option<String>,
    },
    UnregisteredContact {
        phone: Option<String>,
    },
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMedia {
    /// The item's `type` (`Image`, `Document`…).
    #[serde(skip)]
    pub kind: String,
    #[serde(default)]
    pub file_id: String,
    /// A short label in practice (`JPEG`, `MP4`, `M4A`, `UNKNOWN`), not a MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactUser {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
}

impl Media {
    pub fn from_value(v: &Value) -> Media {
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "Image" | "Video" | "Audio" | "Music" | "Gif" | "Document" => {
                match FileMedia::deserialize(v) {
                    Ok(mut f) => {
                        f.kind = kind.to_string();
                        Media::File(f)
                    }
                    Err(_) => Media::Unknown(kind.to_string()),
                }
            }
            "RegisteredContact" => {
                let user = v.get("user").and_then(|u| ContactUser::deserialize(u).ok());
                Media::RegisteredContact {
                    user_id: user.as_ref().and_then(|u| u.id.clone()),
                    phone: user.and_then(|u| u.phone_number),
                }
            }
            "UnregisteredContact" => Media::UnregisteredContact {
                phone: v
                    .get("phoneNumber")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
            other => Media::Unknown(other.to_string()),
        }
    }
}

fn media_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Media>, D::Error> {
    let items = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(items.iter().map(Media::from_value).collect())
}

/// Reads one update object; never fails (an odd shape is `Unknown` or `Malformed`).
pub fn parse_update(v: &Value) -> Envelope {
    let update_id = match v.get("updateId") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    fn typed<T: serde::de::DeserializeOwned>(
        v: &Value,
        kind: &str,
        wrap: impl FnOnce(T) -> Update,
    ) -> Update {
        // serde's message may quote the offending value (a phone, an IIN): only the kind is
        // kept for the log.
        match T::deserialize(v) {
            Ok(t) => wrap(t),
            Err(_) => Update::Malformed(kind.to_string()),
        }
    }
    let update = match kind {
        "Message" => typed(v, kind, Update::Message),
        "MessageEdited" => typed(v, kind, Update::MessageEdited),
        "InlineCommandSelected" | "QuickButtonSelected" => typed(v, kind, Update::Button),
        "FormMessageSent" | "FormSubmitted" => typed(v, kind, Update::Form),
        "MessageIdAssigned"
        | "FormClosed"
        | "InvitedToGroup"
        | "KickedFromGroup"
        | "InvitedToChannel"
        | "KickedFromChannel"
        | "NewChannelSubscriber"
        | "ChannelAdminAdded"
        | "ChannelAdminDeleted"
        | "ChannelPermissionsGranted"
        | "ChannelPermissionsRevoked" => Update::Ignored(kind.to_string()),
        other => Update::Unknown(other.to_string()),
    };
    Envelope { update_id, update }
}

/// The `{"updates": [...]}` envelope of a poll answer or a webhook call, each update kept
/// as JSON so one odd update cannot spoil the batch.
#[derive(Debug, Default, Deserialize)]
pub struct UpdatesBody {
    #[serde(default)]
    pub updates: Vec<Value>,
}

// ------------------------------------------------------------------ commands

/// A command POSTed to `updates` (the ones this bot sends).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Command {
    SendMessage(SendMessage),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    pub recipient: Option<Peer>,
    pub content: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inline_command_rows: Vec<Vec<InlineCommand>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media_list: Vec<InputMedia>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_state: Option<UiState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineCommand {
    pub caption: String,
    pub metadata: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputMedia {
    pub file_id: String,
    pub name: String,
    /// `IMAGE` or `DOCUMENT` here.
    pub media_type: String,
}

/// The input area of a dialog **[legacy]**: every flag is sent explicitly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UiState {
    pub can_write_text: bool,
    pub show_camera_button: bool,
    pub show_gallery_button: bool,
    pub show_record_audio_button: bool,
    pub show_share_contact_button: bool,
    pub show_speech_to_text_button: bool,
    pub reply_keyboard: Vec<Caption>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quick_button_commands: Vec<QuickButton>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caption {
    pub caption: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuickButton {
    pub caption: String,
    /// `QUICK_REQUEST` or `QUICK_FORM_ACTION`.
    pub action: String,
    pub metadata: String,
}

// ------------------------------------------------------------------ errors

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No answer (connection, timeout).
    #[error("network: {0}")]
    Network(String),
    /// A non-2xx answer; `message` is read from Spring's error body when there is one.
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// A 2xx answer whose body was not what the API documents.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// A download larger than the caller's limit (stopped while streaming).
    #[error("file larger than the limit")]
    TooLarge,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// 401: a missing, invalid or banned token. Fatal for polling.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// 409: another long poll with this token is open.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// 400 "Webhook is specified": polling while a webhook is set.
    pub fn is_webhook_set(&self) -> bool {
        matches!(self, ApiError::Status { status: 400, message, .. }
            if message.to_ascii_lowercase().contains("webhook"))
    }

    /// Worth trying again later: network, timeouts, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Network(_) => true,
            ApiError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

fn network(e: reqwest::Error) -> ApiError {
    ApiError::Network(e.without_url().to_string())
}

/// The message of an error body: Spring's `{"message"}`, `{"error": {"message"}}`, else
/// the text itself (cut short).
pub fn error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let found = v
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| v.get("error")?.get("message")?.as_str())
            .or_else(|| v.get("error").and_then(Value::as_str));
        if let Some(m) = found {
            return m.to_string();
        }
    }
    body.chars().take(200).collect()
}

async fn checked(resp: reqwest::Response) -> Result<reqwest::Response, ApiError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = resp.text().await.unwrap_or_default();
    Err(ApiError::Status {
        status,
        message: error_message(&body),
        retry_after,
    })
}

// ------------------------------------------------------------------ pacing

/// One bot's pace: calls start at least `interval` apart, whoever makes them (Aitu
/// documents no rate limit; the SDKs send one command per request and poll at most once a
/// second, so the default is gentle).
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    pub fn per_second(rate: f64) -> Self {
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        Self {
            interval,
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this caller's slot.
    pub async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let at = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Pushes every later call back by `pause` (after a 429).
    pub async fn hold(&self, pause: Duration) {
        let mut next = self.next.lock().await;
        let until = tokio::time::Instant::now() + pause;
        if *next < until {
            *next = until;
        }
    }
}

// ------------------------------------------------------------------ client

/// The HTTP client of one bot.
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    token: String,
    pub pacer: Pacer,
    /// How long a long poll may be held before the client gives up and polls again.
    pub poll_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "aitu::Client({})", self.base)
    }
}

/// A downloaded file, or the fact that it was larger than allowed.
#[derive(Debug, Clone, PartialEq)]
pub enum Download {
    Bytes(Vec<u8>),
    TooLarge,
}

impl Client {
    /// `base` ends with `/bot/v1/` (a missing final slash is added).
    pub fn new(base: &str, token: &str, rate_per_second: f64) -> Result<Self, url::ParseError> {
        let mut base = base.trim().to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Self {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base: url::Url::parse(&base)?,
            token: token.to_string(),
            pacer: Pacer::per_second(rate_per_second),
            poll_timeout: Duration::from_secs(60),
        })
    }

    fn url(&self, path: &str) -> url::Url {
        self.base
            .join(path)
            .expect("a relative path joins the base")
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("X-BOT-TOKEN", &self.token)
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<T, ApiError> {
        self.pacer.wait().await;
        let resp = checked(req.timeout(timeout).send().await.map_err(network)?).await?;
        let bytes = resp.bytes().await.map_err(network)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            // Some servers answer a command with an empty 200 body.
            return serde_json::from_str("{}").map_err(|e| ApiError::Decode(e.to_string()));
        }
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode(e.to_string()))
    }

    /// `GET getMe`: a start-up check of the token.
    pub async fn get_me(&self) -> Result<Value, ApiError> {
        self.json(
            self.request(reqwest::Method::GET, "getMe"),
            Duration::from_secs(15),
        )
        .await
    }

    /// `GET updates` (long poll), with the last update id seen as `lastUpdateId`.
    pub async fn poll(&self, last_update_id: Option<&str>) -> Result<Vec<Value>, ApiError> {
        let mut req = self.request(reqwest::Method::GET, "updates");
        if let Some(last) = last_update_id {
            req = req.query(&[("lastUpdateId", last)]);
        }
        let body: UpdatesBody = self.json(req, self.poll_timeout).await?;
        Ok(body.updates)
    }

    /// `POST updates` with 1 to 10 commands.
    pub async fn send(&self, commands: &[Command]) -> Result<(), ApiError> {
        let body = serde_json::json!({ "commands": commands });
        let _: Value = self
            .json(
                self.request(reqwest::Method::POST, "updates").json(&body),
                Duration::from_secs(30),
            )
            .await?;
        Ok(())
    }

    /// `POST upload`: one file; returns its file id.
    pub async fn upload(&self, file_name: &str, bytes: Vec<u8>) -> Result<String, ApiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Uploaded {
            file_id: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            #[serde(default)]
            uploaded_files: Vec<Uploaded>,
        }
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str("application/octet-stream")
            .map_err(network)?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let answer: Answer = self
            .json(
                self.request(reqwest::Method::POST, "upload")
                    .multipart(form),
                Duration::from_secs(60),
            )
            .await?;
        answer
            .uploaded_files
            .into_iter()
            .next()
            .map(|f| f.file_id)
            .ok_or_else(|| ApiError::Decode("upload answered no file".into()))
    }

    /// `GET download?fileId=`: the bytes, streamed and stopped beyond `max_bytes`.
    pub async fn download(&self, file_id: &str, max_bytes: usize) -> Result<Download, ApiError> {
        use futures::StreamExt;
        self.pacer.wait().await;
        let resp = self
            .request(reqwest::Method::GET, "download")
            .query(&[("fileId", file_id)])
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(network)?;
        let resp = checked(resp).await?;
        if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
            return Ok(Download::TooLarge);
        }
        let mut stream = resp.bytes_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(network)?;
            if bytes.len() + chunk.len() > max_bytes {
                return Ok(Download::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Download::Bytes(bytes))
    }

    /// `GET webhook`: the URL set, empty when none.
    pub async fn webhook(&self) -> Result<String, ApiError> {
        let v: Value = self
            .json(
                self.request(reqwest::Method::GET, "webhook"),
                Duration::from_secs(15),
            )
            .await?;
        Ok(v.get("url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// `POST webhook`: updates go to `url` from now on (HTTPS, at most 200 characters).
    pub async fn set_webhook(&self, url: &str) -> Result<(), ApiError> {
        let _: Value = self
            .json(
                self.request(reqwest::Method::POST, "webhook")
                    .json(&serde_json::json!({ "url": url })),
                Duration::from_secs(15),
            )
            .await?;
        Ok(())
    }

    /// `DELETE webhook`: back to long polling.
    pub async fn delete_webhook(&self) -> Result<(), ApiError> {
        let _: Value = self
            .json(
                self.request(reqwest::Method::DELETE, "webhook"),
                Duration::from_secs(15),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_with_unknown_fields_and_media_parses() {
        let v = json!({
            "type": "Message", "updateId": "u1", "messageId": "m1",
            "author": {"type": "USER", "id": "a", "username": "x", "shiny": 1},
            "dialog": {"type": "USER", "id": "a"}, "content": "hi",
            "media": [
                {"type": "Image", "fileId": "f1", "mimeType": "JPEG", "size": 10, "width": 1},
                {"type": "Hologram", "fileId": "f2"},
                {"type": "RegisteredContact", "user": {"id": "a", "phoneNumber": "+77011234567", "userName": "x"}},
                {"type": "UnregisteredContact", "phoneNumber": "+77017654321"}
            ],
            "futureField": {"a": 1}
        });
        let env = parse_update(&v);
        assert_eq!(env.update_id.as_deref(), Some("u1"));
        let Update::Message(m) = env.update else {
            panic!("{env:?}")
        };
        assert_eq!(m.content.as_deref(), Some("hi"));
        assert!(
            matches!(&m.media[0], Media::File(f) if f.kind == "Image" && f.file_id == "f1" && f.size == Some(10))
        );
        assert_eq!(m.media[1], Media::Unknown("Hologram".into()));
        assert_eq!(
            m.media[2],
            Media::RegisteredContact {
                user_id: Some("a".into()),
                phone: Some("+77011234567".into())
            }
        );
        assert_eq!(
            m.media[3],
            Media::UnregisteredContact {
                phone: Some("+77017654321".into())
            }
        );
    }

    #[test]
    fn unknown_ignored_and_malformed_updates_are_kept_apart() {
        let unknown = parse_update(&json!({"type": "Teleported", "updateId": 7}));
        assert_eq!(unknown.update_id.as_deref(), Some("7"));
        assert_eq!(unknown.update, Update::Unknown("Teleported".into()));
        let ignored =
            parse_update(&json!({"type": "MessageIdAssigned", "updateId": "x", "localId": "l"}));
        assert_eq!(ignored.update, Update::Ignored("MessageIdAssigned".into()));
        let malformed = parse_update(&json!({"type": "Message", "updateId": "y"}));
        assert!(matches!(malformed.update, Update::Malformed(_)));
        // What is kept for the log never quotes a value.
        let leaky = parse_update(&json!({"type": "Message", "updateId": "z",
            "dialog": {"type": "USER", "id": "a"}, "content": 77011234567_u64}));
        assert_eq!(leaky.update, Update::Malformed("Message".into()));
        let no_type = parse_update(&json!({"hello": 1}));
        assert_eq!(no_type.update, Update::Unknown(String::new()));
    }

    #[test]
    fn a_private_phone_is_read_from_the_nested_json_string() {
        let form = FormUpdate {
            dialog: Peer::user("a"),
            sender: Some(Peer::user("a")),
            additional_metadata: Some(
                r#"{"private_data":{"type":"phone_number","value":{"phone_number":"+77011234567","metadata":"auth"}}}"#
                    .into(),
            ),
        };
        assert_eq!(form.private_phone().as_deref(), Some("+77011234567"));
        let untyped = FormUpdate {
            additional_metadata: Some(
                r#"{"private_data":{"value":{"phone_number":"+7701"}}}"#.into(),
            ),
            ..form.clone()
        };
        assert_eq!(untyped.private_phone().as_deref(), Some("+7701"));
        let geo = FormUpdate {
            additional_metadata: Some(
                r#"{"private_data":{"type":"geo","value":{"latitude":1}}}"#.into(),
            ),
            ..form.clone()
        };
        assert_eq!(geo.private_phone(), None);
        let broken = FormUpdate {
            additional_metadata: Some("not json".into()),
            ..form
        };
        assert_eq!(broken.private_phone(), None);
    }

    #[test]
    fn commands_serialise_in_aitus_shape() {
        let cmd = Command::SendMessage(SendMessage {
            recipient: Some(Peer::user("a")),
            content: "x".into(),
            inline_command_rows: vec![vec![InlineCommand {
                caption: "Yes".into(),
                metadata: "consent:yes".into(),
            }]],
            ..SendMessage::default()
        });
        let v = serde_json::to_value(&cmd).unwrap();
        assert_eq!(
            v,
            json!({"type": "SendMessage", "recipient": {"type": "USER", "id": "a"}, "content": "x",
                   "inlineCommandRows": [[{"caption": "Yes", "metadata": "consent:yes"}]]})
        );
    }

    #[test]
    fn error_bodies_of_every_shape_give_a_message() {
        assert_eq!(
            error_message(
                r#"{"timestamp":"t","status":401,"error":"Unauthorized","message":"Token is invalid"}"#
            ),
            "Token is invalid"
        );
        assert_eq!(error_message(r#"{"error":{"message":"nope"}}"#), "nope");
        assert_eq!(error_message("plain"), "plain");
        let e = ApiError::Status {
            status: 400,
            message: "Webhook is specified".into(),
            retry_after: None,
        };
        assert!(e.is_webhook_set() && !e.is_transient());
        assert!(ApiError::Network("x".into()).is_transient());
    }

    #[tokio::test]
    async fn the_pacer_spaces_calls() {
        let pacer = Pacer::per_second(50.0);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            pacer.wait().await;
        }
        // The first call goes at once, the next four 20 ms apart.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(80), "{took:?}");
        pacer.hold(Duration::from_millis(100)).await;
        let held = tokio::time::Instant::now();
        pacer.wait().await;
        assert!(held.elapsed() >= Duration::from_millis(90));
    }
}
