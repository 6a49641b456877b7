//! Aitu, the Kazakh messenger, as a channel of the core (docs/AITU.md).
//!
//! - [`api`]: the typed Bot API client (`AITU_API_URL`, `AITU_TOKEN` in `X-BOT-TOKEN`), paced
//!   per bot;
//! - [`inbound`]: an update → the core's `Inbound` (contacts, buttons, photos for check-in);
//! - [`outbound`]: an `Outbound` → Aitu commands within Aitu's limits, and [`SendResult`];
//! - [`otp`]: the SMS one-time code for people whose own number Aitu does not give;
//! - here: [`Aitu`] (one update handled: downloaded, `Core::handle`, replies sent), the long
//!   polling loop, the webhook handler on an unguessable path, and an outbox worker for
//!   channel `aitu` until the shared worker takes [`Aitu::deliver_row`] over.
//!
//! A chat is `ChatRef { channel: "aitu", chat_id }` where `chat_id` is the dialog peer's
//! id, prefixed by its type when that is not `USER` (`GROUP:<id>`), so a reply or a queued
//! message echoes the peer's type back, as Aitu requires.

pub mod api;
pub mod inbound;
pub use crate::core::shared::otp;
pub mod outbound;

pub use outbound::SendResult;

use crate::core::{Core, Event, Inbound, MediaKind, Outbound, Recipient, State};
use crate::storage::{ChatRef, outbox};
use api::{ApiError, Download, Peer};
use inbound::{Incoming, Kind, Skip};
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const CHANNEL: &str = "aitu";

/// What the core asks of an Aitu chat: 4096 characters a message, 8 buttons a row, no
/// copies, no topics. Aitu's reference describes no deep links (docs/AITU.md): `deep_link`
/// is `AITU_DEEP_LINK` when the operator sets one (`{payload}`, and `{bot}` for
/// `ASHYQ_BOT_USERNAME`), and only then does the venue page offer an Aitu button.
pub fn profile(deep_link: Option<&str>) -> crate::core::shared::channel::ChannelProfile {
    crate::core::shared::channel::ChannelProfile {
        display_name: "Aitu".into(),
        deep_link: deep_link.map(str::to_string),
        // Contact sharing is legacy in Aitu's reference: a typed number is proven by a
        // one-time code sent by SMS (docs/AITU.md).
        typed_phone_by_code: true,
        ..Default::default()
    }
}

/// Dialogs of one batch handled at the same time.
pub const DIALOGS_AT_ONCE: usize = 32;

/// The chat id of a dialog peer: its id for a user, `TYPE:id` for any other peer type.
pub fn chat_id_of(peer: &Peer) -> String {
    if peer.kind == "USER" {
        peer.id.clone()
    } else {
        format!("{}:{}", peer.kind, peer.id)
    }
}

/// The dialog peer of a chat id (the inverse of [`chat_id_of`]).
pub fn peer_of(chat_id: &str) -> Peer {
    match chat_id.split_once(':') {
        Some((kind, id)) => Peer {
            kind: kind.to_string(),
            id: id.to_string(),
        },
        None => Peer::user(chat_id),
    }
}

pub fn chat_ref(peer: &Peer) -> ChatRef {
    ChatRef::new(CHANNEL, chat_id_of(peer))
}

/// Configuration, from the environment.
#[derive(Clone)]
pub struct Settings {
    /// `AITU_API_URL` (default [`api::DEFAULT_API_URL`]).
    pub api_url: String,
    /// `AITU_TOKEN`.
    pub token: String,
    /// `AITU_WEBHOOK_URL`: updates by webhook at this URL (its last path segment is the
    /// secret, at least 24 characters); `None`: long polling.
    pub webhook_url: Option<String>,
    /// `AITU_RATE_PER_SECOND`: calls a second for this bot (default 10).
    pub rate_per_second: f64,
    /// The least time between two polls (the Kotlin SDK polls at most once a second).
    pub poll_pause: Duration,
    /// The pause after a failed poll (network, 5xx, 409).
    pub retry_pause: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("aitu::Settings")
            .field("api_url", &self.api_url)
            .field("webhook", &self.webhook_url.is_some())
            .field("rate_per_second", &self.rate_per_second)
            .finish()
    }
}

impl Settings {
    pub fn new(api_url: &str, token: &str) -> Self {
        Self {
            api_url: api_url.to_string(),
            token: token.to_string(),
            webhook_url: None,
            rate_per_second: 10.0,
            poll_pause: Duration::from_secs(1),
            retry_pause: Duration::from_secs(15),
        }
    }

    /// `None` when `AITU_TOKEN` is not set (Aitu off).
    pub fn from_env() -> Option<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let token = var("AITU_TOKEN")?;
        let mut s = Self::new(
            &var("AITU_API_URL").unwrap_or_else(|| api::DEFAULT_API_URL.to_string()),
            token.trim(),
        );
        s.webhook_url = var("AITU_WEBHOOK_URL");
        if let Some(rate) = var("AITU_RATE_PER_SECOND").and_then(|r| r.parse().ok()) {
            s.rate_per_second = rate;
        }
        Some(s)
    }
}

/// Recently seen update ids (Aitu gives no offset; a resent update is dropped here cheaply,
/// and by `processed_updates` in the core for good).
#[derive(Default)]
struct Seen {
    order: VecDeque<String>,
    set: HashSet<String>,
}

const SEEN_CAPACITY: usize = 4096;

impl Seen {
    fn insert(&mut self, id: &str) -> bool {
        if !self.set.insert(id.to_string()) {
            return false;
        }
        self.order.push_back(id.to_string());
        if self.order.len() > SEEN_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    fn forget(&mut self, id: &str) {
        self.set.remove(id);
    }
}

/// Handling an update failed before the core committed (the webhook answers 500 so Aitu
/// may deliver it again).
#[derive(Debug, thiserror::Error)]
#[error("the update was not processed: {0}")]
pub struct NotProcessed(String);

/// The Aitu channel: the client, the core, and what it remembers between updates.
pub struct Aitu {
    pub api: api::Client,
    pub core: Arc<Core>,
    pub settings: Settings,
    seen: Mutex<Seen>,
    /// The bot's send pace shared by the replicas (`crate::pace`, `AITU_RATE_PER_SECOND`):
    /// every message part waits for a slot, on top of this process's own pacer (none when
    /// the rate is 0: unpaced).
    pace: Option<crate::pace::SendPace>,
}

impl std::fmt::Debug for Aitu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Aitu({:?})", self.settings)
    }
}

impl Aitu {
    pub fn new(core: Arc<Core>, settings: Settings) -> anyhow::Result<Arc<Self>> {
        let api = api::Client::new(&settings.api_url, &settings.token, settings.rate_per_second)?;
        let pace = (settings.rate_per_second > 0.0).then(|| {
            crate::pace::SendPace::new(
                crate::pace::AITU,
                settings.rate_per_second,
                Some(core.store.clone()),
            )
            .with_cap(settings.rate_per_second.ceil() as u32)
        });
        Ok(Arc::new(Self {
            api,
            core,
            settings,
            seen: Mutex::new(Seen::default()),
            pace,
        }))
    }

    /// From the environment; `None` when `AITU_TOKEN` is not set.
    pub fn from_env(core: Arc<Core>) -> Option<anyhow::Result<Arc<Self>>> {
        Settings::from_env().map(|s| Self::new(core, s))
    }

    /// Whether the conversation of `chat` relays its messages to the support desk.
    async fn relays(&self, chat: &ChatRef) -> bool {
        match self.core.store.conversation(chat).await {
            Ok(Some(row)) => serde_json::from_str::<State>(&row.state).is_ok_and(|s| s.relays()),
            _ => false,
        }
    }

    /// The event of an update, downloading an image (at most the check-in limit).
    async fn event_of(&self, incoming: Incoming) -> Result<Event, ApiError> {
        if let Some(relay) = incoming.relay
            && self.relays(&incoming.chat).await
        {
            return Ok(Event::Relay(relay));
        }
        match incoming.kind {
            Kind::Event(e) => Ok(e),
            Kind::Image { file_id } => {
                match self
                    .api
                    .download(&file_id, crate::core::checkin::MAX_IMAGE_BYTES)
                    .await?
                {
                    Download::Bytes(bytes) => Ok(Event::Image(bytes)),
                    Download::TooLarge => Ok(Event::Unsupported(MediaKind::OversizedImage)),
                }
            }
        }
    }

    /// Handles one update as Aitu sent it: ignored when it is not for the core (unknown
    /// types at debug level), dropped when seen already, else turned into an event, handled
    /// by the core and answered. `Err` only when the core did not commit.
    pub async fn handle_update(&self, raw: &Value) -> Result<(), NotProcessed> {
        let envelope = api::parse_update(raw);
        let incoming = match inbound::classify(envelope) {
            Ok(incoming) => incoming,
            Err(Skip::Unknown(kind)) => {
                tracing::debug!(kind = %kind, "aitu: update of an unknown type ignored");
                return Ok(());
            }
            Err(Skip::NotForCore(kind)) => {
                tracing::debug!(kind = %kind, "aitu: update ignored");
                return Ok(());
            }
            Err(Skip::Malformed(why)) => {
                tracing::warn!(why = %why, "aitu: malformed update ignored");
                return Ok(());
            }
        };
        let update_id = incoming.update_id.clone();
        if let Some(id) = &update_id
            && !self.seen.lock().expect("seen lock").insert(id)
        {
            tracing::debug!(update = %id, "aitu: update seen already");
            return Ok(());
        }
        let chat = incoming.chat.clone();
        let dialog = incoming.dialog.clone();
        let event = match self.event_of(incoming).await {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "aitu: image download failed");
                let lang = self.core.language_of(&chat, None).await;
                self.deliver(&dialog, vec![Core::error_reply(lang)]).await;
                return Ok(());
            }
        };
        tracing::debug!(update = ?update_id, event = ?event, "aitu update");
        let inbound = Inbound {
            chat: chat.clone(),
            update_key: update_id.clone(),
            lang_hint: None,
            event,
        };
        match self.core.handle(inbound).await {
            Ok(replies) => {
                let any = !replies.is_empty();
                // Sent: a redelivery answers nothing; unsent, it gets the kept replies.
                if self.deliver(&dialog, replies).await
                    && any
                    && let Some(key) = &update_id
                    && let Err(e) = self.core.replies_sent(&chat, key).await
                {
                    tracing::warn!(error = %e, "aitu: cannot forget sent replies");
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, channel = CHANNEL, "handling failed");
                if let Some(id) = &update_id {
                    self.seen.lock().expect("seen lock").forget(id);
                }
                let lang = self.core.language_of(&chat, None).await;
                self.deliver(&dialog, vec![Core::error_reply(lang)]).await;
                Err(NotProcessed(e.to_string()))
            }
        }
    }

    /// Handles a batch: updates of one dialog in their order, dialogs side by side (at most
    /// [`DIALOGS_AT_ONCE`]), so one slow conversation does not hold the others up and a
    /// burst of check-ins reaches the core's batching together. `false` when an update was
    /// not processed.
    pub async fn handle_batch(&self, updates: &[Value]) -> bool {
        use futures::StreamExt;
        let mut dialogs: Vec<(String, Vec<&Value>)> = Vec::new();
        for (i, update) in updates.iter().enumerate() {
            let key = update
                .get("dialog")
                .and_then(|d| d.get("id"))
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{i}"), str::to_string);
            match dialogs.iter_mut().find(|(k, _)| *k == key) {
                Some((_, queue)) => queue.push(update),
                None => dialogs.push((key, vec![update])),
            }
        }
        let work: Vec<_> = dialogs
            .into_iter()
            .map(|(_, queue)| self.handle_in_order(queue))
            .collect();
        let results: Vec<bool> = futures::stream::iter(work)
            .buffer_unordered(DIALOGS_AT_ONCE)
            .collect()
            .await;
        results.into_iter().all(|ok| ok)
    }

    async fn handle_in_order(&self, queue: Vec<&Value>) -> bool {
        let mut ok = true;
        for update in queue {
            ok &= self.handle_update(update).await.is_ok();
        }
        ok
    }

    /// Sends the replies to the sender's dialog (messages for other chats were queued in the
    /// outbox by the core).
    /// Sends the replies; `true` when every one was delivered.
    async fn deliver(&self, dialog: &Peer, replies: Vec<Outbound>) -> bool {
        let mut all = true;
        for reply in replies {
            let to = match &reply.to {
                Recipient::Sender => dialog.clone(),
                Recipient::Chat(c) if c.channel == CHANNEL => peer_of(&c.chat_id),
                Recipient::Chat(c) => {
                    tracing::warn!(channel = %c.channel, "message for another channel dropped by the Aitu adapter");
                    continue;
                }
            };
            let result = self.send(&to, &reply).await;
            if result != SendResult::Delivered {
                tracing::warn!(?result, "aitu: a reply was not delivered");
                all = false;
            }
        }
        all
    }

    /// Sends one message: uploads its attachment, then each command on its own (precise
    /// error attribution). A failure after some parts left can repeat those parts on retry.
    pub async fn send(&self, to: &Peer, message: &Outbound) -> SendResult {
        let file = match &message.attachment {
            None => None,
            Some(file) => match self.api.upload(&file.file_name, file.bytes.clone()).await {
                Ok(file_id) => Some(api::InputMedia {
                    file_id,
                    name: file.file_name.clone(),
                    media_type: outbound::media_type(file.kind).to_string(),
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "aitu: upload failed");
                    return outbound::result_of(&e);
                }
            },
        };
        for part in outbound::render(&self.core.texts, to, message, file) {
            let permit = match &self.pace {
                Some(pace) => pace.wait().await,
                None => crate::pace::Permit::none(),
            };
            let sent = self.api.send(&[api::Command::SendMessage(part)]).await;
            drop(permit);
            if let Err(e) = sent {
                tracing::warn!(error = %e, "aitu: send failed");
                if let ApiError::Status {
                    status: 429,
                    retry_after,
                    ..
                } = &e
                {
                    self.api
                        .pacer
                        .hold(retry_after.unwrap_or(Duration::from_secs(1)))
                        .await;
                }
                return outbound::result_of(&e);
            }
        }
        SendResult::Delivered
    }

    /// Sends one outbox row of channel `aitu` (for the outbox worker; marks nothing).
    pub async fn deliver_row(&self, row: &outbox::OutboxRow) -> SendResult {
        let Ok(message) = serde_json::from_str::<Outbound>(&row.payload) else {
            return SendResult::Gone;
        };
        self.send(&peer_of(&row.chat_id), &message).await
    }

    /// The webhook's routes, when `AITU_WEBHOOK_URL` is set.
    pub fn router(self: &Arc<Self>) -> anyhow::Result<Option<axum::Router>> {
        match &self.settings.webhook_url {
            None => Ok(None),
            Some(url) => webhook_router(self.clone(), url).map(Some),
        }
    }

    /// What `ashyq serve`'s application does before its loops start: checks the token, and
    /// sets the webhook (with `AITU_WEBHOOK_URL`) or deletes one left set (long polling).
    /// The outbox worker ([`AituDelivery`]) and [`run_polling`] then run as the
    /// application's loops, each under its leader lock.
    pub async fn prepare(self: &Arc<Self>) -> anyhow::Result<()> {
        match self.api.get_me().await {
            Ok(me) => {
                let name = me.get("username").and_then(Value::as_str).unwrap_or("?");
                tracing::info!(bot = %name, "Aitu bot");
            }
            Err(e) if e.is_unauthorized() => anyhow::bail!("Aitu refused AITU_TOKEN: {e}"),
            Err(e) => tracing::warn!(error = %e, "Aitu getMe failed; going on"),
        }
        match &self.settings.webhook_url {
            Some(url) => match self.api.set_webhook(url).await {
                Ok(_) => tracing::info!("Aitu webhook set"),
                Err(e) => tracing::error!(error = %e, "Aitu: setting the webhook failed"),
            },
            None => {
                if let Ok(url) = self.api.webhook().await
                    && !url.is_empty()
                {
                    tracing::warn!("Aitu: a webhook was set; deleting it for long polling");
                    if let Err(e) = self.api.delete_webhook().await {
                        tracing::warn!(error = %e, "Aitu: deleting the webhook failed");
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether updates come by long polling (no `AITU_WEBHOOK_URL`).
    pub fn polls(&self) -> bool {
        self.settings.webhook_url.is_none()
    }

    /// Starts the background work until `stop`: the outbox worker, and either long polling
    /// (deleting a webhook left set) or the webhook registration (the routes of
    /// [`Aitu::router`] must be served). Fails only on a rejected token.
    pub async fn start(
        self: &Arc<Self>,
        stop: CancellationToken,
    ) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
        match self.api.get_me().await {
            Ok(me) => {
                let name = me.get("username").and_then(Value::as_str).unwrap_or("?");
                tracing::info!(bot = %name, "Aitu bot");
            }
            Err(e) if e.is_unauthorized() => anyhow::bail!("Aitu refused AITU_TOKEN: {e}"),
            Err(e) => tracing::warn!(error = %e, "Aitu getMe failed; going on"),
        }
        let mut tasks = vec![tokio::spawn(run_outbox(self.clone(), stop.clone()))];
        match &self.settings.webhook_url {
            Some(url) => {
                if let Err(e) = self.api.set_webhook(url).await {
                    tracing::error!(error = %e, "Aitu: setting the webhook failed");
                } else {
                    tracing::info!("Aitu webhook set");
                }
            }
            None => {
                if let Ok(url) = self.api.webhook().await
                    && !url.is_empty()
                {
                    tracing::warn!("Aitu: a webhook was set; deleting it for long polling");
                    if let Err(e) = self.api.delete_webhook().await {
                        tracing::warn!(error = %e, "Aitu: deleting the webhook failed");
                    }
                }
                tasks.push(tokio::spawn(run_polling(self.clone(), stop)));
                tracing::info!("Aitu long polling started");
            }
        }
        Ok(tasks)
    }
}

/// Long polling until `stop` (or a rejected token). A batch is handled with
/// [`Aitu::handle_batch`] (in order within each dialog) before the next poll. Aitu's GET appears to consume what it returns (at most once): an update whose
/// processing is cut by a crash is lost, which is why durability needs the webhook
/// (docs/AITU.md).
pub async fn run_polling(aitu: Arc<Aitu>, stop: CancellationToken) {
    let mut last: Option<String> = None;
    loop {
        let started = tokio::time::Instant::now();
        let polled = tokio::select! {
            () = stop.cancelled() => return,
            r = aitu.api.poll(last.as_deref()) => r,
        };
        let pause = match polled {
            Ok(updates) => {
                aitu.handle_batch(&updates).await;
                if let Some(id) = updates
                    .last()
                    .and_then(|u| u.get("updateId"))
                    .and_then(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .or_else(|| Some(v.to_string()))
                    })
                {
                    last = Some(id);
                }
                aitu.settings.poll_pause.saturating_sub(started.elapsed())
            }
            Err(e) if e.is_unauthorized() => {
                tracing::error!(error = %e, "Aitu: the token was refused; polling stopped");
                return;
            }
            Err(e) if e.is_webhook_set() => {
                tracing::warn!("Aitu: a webhook is set; deleting it to poll");
                if let Err(e) = aitu.api.delete_webhook().await {
                    tracing::warn!(error = %e, "Aitu: deleting the webhook failed");
                }
                aitu.settings.retry_pause
            }
            Err(e) if e.is_conflict() => {
                tracing::warn!("Aitu: another poller runs with this token; waiting");
                aitu.settings.retry_pause
            }
            Err(ApiError::Network(e)) if e.contains("timed out") => Duration::ZERO,
            Err(e) => {
                tracing::warn!(error = %e, "Aitu: polling failed; retrying");
                aitu.settings.retry_pause
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// The webhook's routes: `POST <path of AITU_WEBHOOK_URL>`. Aitu signs nothing, so the last
/// path segment is the secret (at least 24 characters), compared in constant time; any
/// other segment answers 404. The answer comes after the core committed every update of
/// the batch (500 when one failed, so Aitu may deliver it again; repeats are dropped).
pub fn webhook_router(aitu: Arc<Aitu>, url: &str) -> anyhow::Result<axum::Router> {
    use axum::extract::{Path, State as AxState};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let parsed = url::Url::parse(url)?;
    let path = parsed.path().trim_end_matches('/');
    let (prefix, secret) = path
        .rsplit_once('/')
        .filter(|(prefix, _)| !prefix.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("AITU_WEBHOOK_URL must look like https://host/aitu/<secret>")
        })?;
    if secret.len() < 24 {
        anyhow::bail!(
            "the last segment of AITU_WEBHOOK_URL is its secret: use at least 24 random characters"
        );
    }
    let secret = Arc::new(secret.to_string());
    async fn handler(
        AxState((aitu, secret)): AxState<(Arc<Aitu>, Arc<String>)>,
        Path(given): Path<String>,
        body: axum::body::Bytes,
    ) -> axum::response::Response {
        use subtle::ConstantTimeEq;
        if !bool::from(given.as_bytes().ct_eq(secret.as_bytes())) {
            return StatusCode::NOT_FOUND.into_response();
        }
        let Ok(batch) = serde_json::from_slice::<api::UpdatesBody>(&body) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        // Run to the end even if Aitu hangs up: a committed update must get its reply.
        let work = tokio::spawn(async move { aitu.handle_batch(&batch.updates).await });
        match work.await {
            Ok(true) => (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"updates":[]}"#,
            )
                .into_response(),
            _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    Ok(axum::Router::new()
        .route(
            &format!("{prefix}/{{secret}}"),
            axum::routing::post(handler),
        )
        .with_state((aitu, secret)))
}

/// Rows of the outbox read per round.
const OUTBOX_BATCH: i64 = 50;

/// Delivers the outbox rows of channel `aitu` until `stop`, one at a time in order (the
/// pacer keeps the bot's rate), through [`Aitu::deliver_row`]: sent rows are marked, a
/// retry is scheduled with back-off, a row that can never be sent is given up and its
/// failure notice queued. An interim worker: the shared outbox worker (another branch) can
/// call `deliver_row` instead.
pub async fn run_outbox(aitu: Arc<Aitu>, stop: CancellationToken) {
    let core = aitu.core.clone();
    loop {
        let now = core.now_ms();
        let rows = match core.store.pool().acquire().await {
            Ok(mut conn) => outbox::due(&mut conn, CHANNEL, now, OUTBOX_BATCH).await,
            Err(e) => Err(e.into()),
        }
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "aitu outbox: cannot read");
            Vec::new()
        });
        if rows.is_empty() {
            tokio::select! {
                () = stop.cancelled() => return,
                () = core.outbox_ready.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        let mut held: HashSet<String> = HashSet::new();
        for row in rows {
            if stop.is_cancelled() {
                return;
            }
            // A chat whose earlier row failed keeps its order: later rows wait.
            if held.contains(&row.chat_id) {
                continue;
            }
            let result = aitu.deliver_row(&row).await;
            if result != SendResult::Delivered {
                held.insert(row.chat_id.clone());
            }
            if let Err(e) = record(&core, &row, result).await {
                tracing::error!(id = row.id, error = %e, "aitu outbox: cannot record the attempt");
            }
        }
    }
}

async fn record(
    core: &Core,
    row: &outbox::OutboxRow,
    result: SendResult,
) -> Result<(), crate::storage::StoreError> {
    let now = core.now_ms();
    let mut conn = core.store.pool().acquire().await?;
    match result {
        SendResult::Delivered => outbox::mark_sent(&mut conn, row.id, now).await,
        SendResult::Retry(after) => {
            let wait = after.map_or(2_000 * (1i64 << row.attempts.min(6)), |d| {
                d.as_millis() as i64
            });
            outbox::mark_failed(&mut conn, row.id, now, "aitu: retry", Some(now + wait)).await?;
            if row.attempts + 1 >= outbox::MAX_ATTEMPTS {
                failure_notice(core, &mut conn, row).await;
            }
            Ok(())
        }
        SendResult::Gone => {
            outbox::mark_failed(&mut conn, row.id, now, "aitu: refused", None).await?;
            failure_notice(core, &mut conn, row).await;
            Ok(())
        }
    }
}

/// Queues the row's failure notice (e.g. for the operators: the user blocked the bot).
async fn failure_notice(core: &Core, conn: &mut crate::storage::Conn, row: &outbox::OutboxRow) {
    let Some(notice) = serde_json::from_str::<Outbound>(&row.payload)
        .ok()
        .and_then(|m| m.relay?.on_failure)
    else {
        return;
    };
    let Recipient::Chat(to) = notice.to.clone() else {
        return;
    };
    let key = format!("outbox-failed:{}", row.id);
    match core.enqueue(conn, &to, &notice, Some(&key), None).await {
        Ok(_) => core.outbox_ready.notify_waiters(),
        Err(e) => {
            tracing::error!(id = row.id, error = %e, "aitu outbox: cannot queue the failure notice")
        }
    }
}

/// The Aitu channel's half of the one outbox worker (`crate::delivery`).
pub struct AituDelivery(pub Arc<Aitu>);

impl crate::delivery::Deliver for AituDelivery {
    fn channel(&self) -> &str {
        CHANNEL
    }

    async fn deliver(
        &self,
        _core: &Core,
        envelope: crate::delivery::Envelope<'_>,
    ) -> crate::delivery::Sent {
        use crate::delivery::Sent;
        match self
            .0
            .send(&peer_of(envelope.chat_id), envelope.message)
            .await
        {
            SendResult::Delivered => Sent::Delivered,
            SendResult::Retry(after) => Sent::RetryLater {
                after,
                error: "aitu: retry".into(),
            },
            SendResult::Gone => Sent::Gone {
                error: "aitu: refused".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_ids_keep_the_peer_type() {
        let user = Peer::user("0d6c3a52-7b1e-4f8a-9c2d-1e2f3a4b5c6d");
        assert_eq!(chat_id_of(&user), user.id);
        assert_eq!(peer_of(&chat_id_of(&user)), user);
        let group = Peer {
            kind: "GROUP".into(),
            id: "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d".into(),
        };
        assert_eq!(chat_id_of(&group), format!("GROUP:{}", group.id));
        assert_eq!(peer_of(&chat_id_of(&group)), group);
    }

    #[test]
    fn seen_ids_are_remembered_up_to_the_capacity() {
        let mut seen = Seen::default();
        assert!(seen.insert("a"));
        assert!(!seen.insert("a"));
        seen.forget("a");
        assert!(seen.insert("a"));
        for i in 0..SEEN_CAPACITY {
            seen.insert(&i.to_string());
        }
        assert!(seen.insert("a"), "the oldest id was forgotten");
        assert_eq!(seen.order.len(), SEEN_CAPACITY);
    }
}
