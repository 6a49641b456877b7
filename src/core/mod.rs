//! The messenger-neutral core: an inbound event in, state and outbound messages out.
//!
//! Nothing here knows Telegram, a terminal or SMS. Adapters build an [`Inbound`], call
//! [`Core::handle`], and render the returned [`Outbound`]s (text keys with arguments,
//! buttons, images) in the recipient's language. Every write of one inbound event happens
//! in one transaction, and the replies are returned only after it committed.

pub mod business;
pub mod checkin;
pub mod context;
mod dispatch;
pub mod exposure;
pub mod family;
pub mod feeds;
pub mod identity;
pub mod import;
pub mod job;
pub mod keywords;
#[cfg(test)]
mod layout_tests;
pub mod prescriptions;
pub mod registration;
pub mod route;
pub mod shared;
mod state;
pub mod status;
pub mod status_cache;
pub mod support;
pub mod venues;
pub mod vouchers;
pub mod wallet;

pub use state::{GroupCheckIn, GroupMember, State};

mod conversation;
mod message;

pub use conversation::Conversation;
pub(crate) use conversation::chat_lang;
pub use message::*;

use crate::clock::Clock;
use crate::crypto::Vault;
use crate::domain::Lang;
use crate::i18n::{Msg, Texts};
use crate::storage::{self, Store, StoreError};
use std::fmt;
use std::sync::Arc;

/// Why handling failed. Two kinds, both roll the event's transaction back:
///
/// - a **refusal** ([`CoreError::Refused`]): the user is told why in their language
///   ([`Core::handle`] answers the text; nothing the handler wrote before is kept);
/// - an **internal error** (every other variant): logged with its context, the user gets
///   `error-generic` (adapters answer it through [`Core::error_reply`]).
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A refusal for the user; the transaction rolls back.
    #[error("refused: {}", .0.key())]
    Refused(Msg),
    /// The database (a query, a connection, a row that should exist and does not).
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Anything else that went wrong inside (rendering, a panicked worker): what was being
    /// done and why it failed.
    #[error("{context}: {detail}")]
    Internal {
        context: &'static str,
        detail: String,
    },
    /// A panic while handling an event, caught by `security::panic_guard` (rolled back).
    #[error("panic while handling: {0}")]
    Panicked(String),
}

impl From<sqlx::Error> for CoreError {
    fn from(e: sqlx::Error) -> Self {
        CoreError::Store(StoreError::Db(e))
    }
}

impl CoreError {
    /// An internal error: `context` says what was being done.
    pub fn internal(context: &'static str, detail: impl fmt::Display) -> Self {
        CoreError::Internal {
            context,
            detail: detail.to_string(),
        }
    }

    /// Whether this is a refusal (a text for the user) rather than an internal error.
    pub fn is_refusal(&self) -> bool {
        matches!(self, CoreError::Refused(_))
    }
}

/// Everything the core needs, injected once at start-up.
pub struct Core {
    pub store: Store,
    pub vault: Vault,
    pub clock: Arc<dyn Clock>,
    pub texts: Arc<Texts>,
    /// Woken whenever a transaction queued messages in the outbox.
    pub outbox_ready: Arc<tokio::sync::Notify>,
    /// The support desk: the operators' chat, working hours, limits.
    pub support: support::SupportSettings,
    /// Evaluated statuses by IIN hash (`None`: every look-up reads the database).
    pub status_cache: Option<Arc<status_cache::StatusCache>>,
    /// Businesses: review chats, eligible activity codes, the bot's username.
    pub business: business::BusinessSettings,
    /// Social Wallet: holidays, offer lifetime, SMS gateway.
    pub wallet: wallet::WalletSettings,
    /// Prescriptions: the health authority's chat for disputes.
    pub prescriptions: prescriptions::PrescriptionSettings,
    /// Batched check-ins (see [`checkin::lane`]).
    pub checkin_lanes: checkin::lane::Lanes,
    /// The channels' links and limits (the core never decides by a channel's name).
    pub channels: shared::channel::Channels,
    /// Does a phone belong to an IIN? (`crate::identity`; the table registry by default).
    pub identity: Arc<dyn crate::identity::IdentityRegistry>,
    /// A remote registry's answers fetched before the event's transaction.
    pub(crate) identity_prefetched: identity::Prefetched,
    /// Exposure warnings: infectious window, least overlap, retention periods.
    pub exposure: exposure::ExposureSettings,
    /// The messengers' send paces, shared by the replicas (`crate::pace`; none: unpaced).
    pub pace: crate::pace::Paces,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Core")
    }
}

/// Texts longer than this are answered with a hint instead of being read.
pub const MAX_TEXT_CHARS: usize = 1000;

impl Core {
    pub fn new(store: Store, vault: Vault, clock: Arc<dyn Clock>, texts: Arc<Texts>) -> Self {
        let identity = Arc::new(crate::identity::table::TableRegistry::new(
            store.clone(),
            vault.clone(),
        ));
        Self {
            identity,
            identity_prefetched: identity::Prefetched::default(),
            store,
            vault,
            clock,
            texts,
            outbox_ready: Arc::new(tokio::sync::Notify::new()),
            support: support::SupportSettings::default(),
            business: business::BusinessSettings::default(),
            wallet: wallet::WalletSettings::default(),
            prescriptions: prescriptions::PrescriptionSettings::default(),
            status_cache: None,
            checkin_lanes: checkin::lane::Lanes::default(),
            channels: shared::channel::Channels::default(),
            exposure: exposure::ExposureSettings::default(),
            pace: crate::pace::Paces::default(),
        }
    }

    /// Sends of a messenger wait for this pace ([`crate::pace`]).
    pub fn with_pace(mut self, pace: crate::pace::SendPace) -> Self {
        self.pace = self.pace.with(pace);
        self
    }

    /// Check-ins that arrive together are written in batches over this many lanes
    /// (0: each one alone; see [`checkin::lane`]).
    pub fn with_checkin_lanes(mut self, lanes: usize) -> Self {
        self.checkin_lanes = checkin::lane::Lanes::new(lanes);
        self
    }

    /// Look-ups go through this cache (which serves once started; see
    /// [`status_cache::StatusCache::run`]).
    pub fn with_status_cache(mut self, cache: Arc<status_cache::StatusCache>) -> Self {
        self.status_cache = Some(cache);
        self
    }

    /// The status of whoever holds the IIN with this keyed hash, at `at`: from the cache
    /// when it has it, else from the records (and then cached).
    pub async fn status_of(
        &self,
        conn: &mut storage::Conn,
        iin_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::status::Status, CoreError> {
        // The cache and the change log know hashes in the current key version.
        let iin_hash = &self.vault.current_form(iin_hash)[..];
        let Some(cache) = &self.status_cache else {
            let (pcr, contacts) = status::records_of(&self.vault, conn, iin_hash).await?;
            let (pcr, contacts) = status::engine_records(&pcr, &contacts);
            return Ok(crate::status::evaluate(&pcr, &contacts, at));
        };
        if let Some(st) = cache.get(iin_hash, at) {
            return Ok(st);
        }
        let ticket = cache.ticket(iin_hash);
        let (pcr, contacts) = status::records_of(&self.vault, conn, iin_hash).await?;
        let (pcr, contacts) = status::engine_records(&pcr, &contacts);
        let st = crate::status::evaluate(&pcr, &contacts, at);
        if let Some(ticket) = ticket {
            cache.put(ticket, iin_hash, at, &pcr, &contacts, st);
        }
        Ok(st)
    }

    /// Like [`Core::status_of`] outside a transaction: a cached status costs no database
    /// connection; a miss borrows one from the pool.
    pub async fn lookup_status(
        &self,
        iin_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::status::Status, CoreError> {
        let current = self.vault.current_form(iin_hash);
        if let Some(st) = self.status_cache.as_ref().and_then(|c| c.get(&current, at)) {
            return Ok(st);
        }
        let mut conn = self.store.pool().acquire().await?;
        self.status_of(&mut conn, iin_hash, at).await
    }

    /// Forgets the cached statuses of these IIN hashes (after their records changed).
    pub fn invalidate_statuses(&self, hashes: &[Vec<u8>]) {
        if let Some(cache) = &self.status_cache {
            cache.invalidate(hashes.iter().map(Vec::as_slice));
        }
    }

    /// Registration asks this identity registry (see [`crate::identity`]).
    pub fn with_identity(mut self, registry: Arc<dyn crate::identity::IdentityRegistry>) -> Self {
        self.identity = registry;
        self
    }

    pub fn with_exposure(mut self, exposure: exposure::ExposureSettings) -> Self {
        self.exposure = exposure;
        self
    }

    /// The channels' links and limits, registered by the adapters (`adapters::channels`);
    /// without this call the core knows no channel (plain defaults, bare payloads).
    pub fn with_channels(mut self, channels: shared::channel::Channels) -> Self {
        self.channels = channels;
        self
    }

    pub fn with_business(mut self, business: business::BusinessSettings) -> Self {
        self.channels = self.channels.with_bot_username(&business.bot_username);
        self.business = business;
        self
    }

    pub fn with_wallet(mut self, wallet: wallet::WalletSettings) -> Self {
        self.wallet = wallet;
        self
    }

    pub fn with_prescriptions(mut self, p: prescriptions::PrescriptionSettings) -> Self {
        self.prescriptions = p;
        self
    }

    pub fn with_support(mut self, support: support::SupportSettings) -> Self {
        self.support = support;
        self
    }

    /// Queues a message for another chat in the caller's transaction. With a `dedupe_key`
    /// the same notice is queued once, however often its cause is processed.
    pub async fn enqueue(
        &self,
        conn: &mut storage::Conn,
        to: &ChatRef,
        message: &Outbound,
        dedupe_key: Option<&str>,
        not_before_ms: Option<i64>,
    ) -> Result<bool, CoreError> {
        let now = self.now_ms();
        let payload = serde_json::to_string(message).map_err(StoreError::from)?;
        Ok(storage::outbox::enqueue(
            conn,
            to,
            &payload,
            dedupe_key,
            not_before_ms.unwrap_or(now),
            now,
        )
        .await?)
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Handles one inbound event: loads the conversation, decides, writes everything in one
    /// transaction and returns the replies after it committed. A repeated delivery of the
    /// same update returns no replies and writes nothing. A panic while handling it is caught
    /// (`security::panic_guard`), rolls the transaction back and becomes an error.
    pub async fn handle(&self, inbound: Inbound) -> Result<Vec<Outbound>, CoreError> {
        let started = std::time::Instant::now();
        let channel = inbound.chat.channel.clone();
        let out = crate::security::panic_guard::catch("update", self.handle_unguarded(inbound))
            .await
            .unwrap_or_else(|panic| Err(CoreError::Panicked(panic)));
        let result = match &out {
            Ok(_) => "ok",
            Err(CoreError::Panicked(_)) => "panic",
            Err(_) => "error",
        };
        crate::ops::metrics::update_handled(&channel, result, started.elapsed().as_secs_f64());
        out
    }

    async fn handle_unguarded(&self, inbound: Inbound) -> Result<Vec<Outbound>, CoreError> {
        // Images are decoded before the transaction, on the blocking pool, so no lock is
        // held while the decoder runs.
        let scan = match inbound.event.unrelayed() {
            Event::Image(bytes) => Some(shared::scan::scan(bytes.clone()).await),
            _ => None,
        };
        // The common check-in is written in a batch with those arriving at the same time.
        let quick = route::quick_check_in(self, &inbound.event, scan.as_ref());
        if let Some(candidate) = checkin::lane::candidate(self, &inbound, quick) {
            use checkin::lane::Outcome;
            match self.checkin_lanes.submit(self, candidate).await {
                Outcome::Done(replies) => return Ok(replies),
                // A duplicate goes the one-by-one way, which sends the kept replies again.
                Outcome::Duplicate | Outcome::Fallback => {}
            }
        }
        // A remote identity registry is asked before the transaction (core::identity).
        identity::prefetch(self, &inbound).await;
        let now_ms = self.now_ms();
        let mut tx = self.store.begin().await?;
        let staff = self.support.chat.as_ref() == Some(&inbound.chat);
        // The conversation first, held to the end of the transaction: two updates of one
        // chat (on two replicas) run one after the other. Locked before the update id is
        // recorded, in the order the check-in lane takes them too.
        let row = if staff {
            None
        } else {
            storage::conversations::lock_with_iin(&mut tx, self.store.backend(), &inbound.chat)
                .await?
        };
        let update = inbound
            .update_key
            .as_deref()
            .map(|key| (inbound.chat.channel.as_str(), key));
        if let Some((channel, key)) = update
            && !storage::mark_update(&mut tx, channel, key, now_ms).await?
        {
            let kept = storage::update_replies(&mut tx, channel, key).await?;
            tx.rollback().await?;
            let replies = self.open_replies(kept.as_deref());
            tracing::info!(channel = %channel, update = %key, replies = replies.len(), "duplicate update: kept replies sent again");
            return Ok(replies);
        }
        if staff {
            let out = match support::staff(self, &mut tx, &inbound.event).await {
                Err(CoreError::Refused(msg)) => {
                    tx.rollback().await?;
                    return Ok(vec![Outbound::reply(self.support.staff_lang, msg)]);
                }
                other => other?,
            };
            return self.finish(tx, out, update).await;
        }
        let mut conv = Conversation::from_row(row, &inbound.chat)?;
        let hinted = inbound
            .lang_hint
            .as_deref()
            .and_then(Lang::from_messenger_hint);
        if conv.lang.is_none() {
            conv.lang = hinted;
        }
        let before = conv.clone();
        let hint = inbound.lang_hint.as_deref();
        let out = match dispatch::step(
            self,
            &mut tx,
            &mut conv,
            &inbound.event,
            hint,
            &inbound.chat,
            scan.as_ref(),
        )
        .await
        {
            Ok(out) => out,
            Err(CoreError::Refused(msg)) => {
                // Nothing the handler wrote is kept; the user is told why. Only the place
                // in the dialogue moves on (a reviewer's reason step ends), with the update
                // id, in a transaction of its own.
                tx.rollback().await?;
                let lang = before
                    .lang
                    .or_else(|| hint.and_then(Lang::guess_from_hint))
                    .unwrap_or(Lang::FALLBACK);
                tracing::info!(refused = msg.key(), "refused, rolled back");
                let mut reply = Outbound::reply(lang, msg);
                if self.channels.replies_through_outbox(&inbound.chat.channel) {
                    reply.to = Recipient::Chat(inbound.chat.clone());
                }
                if conv != before || before.is_new {
                    let mut tx = self.store.begin().await?;
                    // Held again: no other replica's update of this chat runs in between.
                    let backend = self.store.backend();
                    storage::conversations::lock_with_iin(&mut tx, backend, &inbound.chat).await?;
                    if let Some((channel, key)) = update {
                        storage::mark_update(&mut tx, channel, key, now_ms).await?;
                    }
                    storage::conversations::save(&mut tx, &inbound.chat, &conv.to_row()?, now_ms)
                        .await?;
                    return self.finish(tx, vec![reply], update).await;
                }
                if matches!(reply.to, Recipient::Chat(_)) {
                    let tx = self.store.begin().await?;
                    return self.finish(tx, vec![reply], None).await;
                }
                return Ok(vec![reply]);
            }
            Err(e) => return Err(e),
        };
        if conv != before || before.is_new {
            storage::conversations::save(&mut tx, &inbound.chat, &conv.to_row()?, now_ms).await?;
        }
        tracing::debug!(chat = %inbound.chat.channel, event = ?inbound.event, replies = out.len(), "handled");
        self.finish(tx, out, update).await
    }

    /// Queues the messages for other chats in the outbox, keeps the replies (sealed) with the
    /// update's id, commits, and returns the replies.
    async fn finish(
        &self,
        mut tx: storage::Tx,
        out: Vec<Outbound>,
        update: Option<(&str, &str)>,
    ) -> Result<Vec<Outbound>, CoreError> {
        let mut replies = Vec::with_capacity(out.len());
        for message in out {
            match &message.to {
                Recipient::Sender => replies.push(message),
                Recipient::Chat(chat) => {
                    self.enqueue(&mut tx, chat, &message, None, None).await?;
                }
            }
        }
        if let Some((channel, key)) = update
            && !replies.is_empty()
        {
            let sealed = self.seal_replies(&replies)?;
            storage::keep_replies(&mut tx, &[(channel, key, sealed)]).await?;
        }
        tx.commit().await?;
        // Messages may have been queued here or by a feature (feeds, alerts): wake the worker.
        self.outbox_ready.notify_waiters();
        Ok(replies)
    }

    /// The replies of an update, sealed (they may name a person or a colour) to be kept with
    /// its id until the adapter says they were sent ([`Core::replies_sent`]).
    pub(crate) fn seal_replies(&self, replies: &[Outbound]) -> Result<Vec<u8>, CoreError> {
        let json = serde_json::to_string(replies).map_err(StoreError::from)?;
        Ok(self.vault.seal(crate::crypto::Field::Reply, &json))
    }

    /// Kept replies opened again; nothing when there are none or they cannot be read (a
    /// redelivery then answers nothing, as before replies were kept).
    fn open_replies(&self, sealed: Option<&[u8]>) -> Vec<Outbound> {
        let Some(sealed) = sealed else {
            return Vec::new();
        };
        let opened = self
            .vault
            .open(crate::crypto::Field::Reply, sealed)
            .map_err(|e| e.to_string())
            .and_then(|json| serde_json::from_str(&json).map_err(|e| e.to_string()));
        opened.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "kept replies unreadable");
            Vec::new()
        })
    }

    /// An adapter sent the replies of an update: they are no longer kept, so a later
    /// redelivery of the update answers nothing. Until this is called, a redelivery (the
    /// process died between the commit and the send, or the send failed) gets the replies
    /// again.
    pub async fn replies_sent(&self, chat: &ChatRef, update_key: &str) -> Result<(), CoreError> {
        let mut conn = self.store.pool().acquire().await?;
        storage::forget_replies(&mut conn, &chat.channel, update_key).await?;
        Ok(())
    }

    /// The language to apologise in when handling failed.
    pub async fn language_of(&self, chat: &ChatRef, hint: Option<&str>) -> Lang {
        let stored = self
            .store
            .conversation(chat)
            .await
            .ok()
            .flatten()
            .and_then(|r| r.lang)
            .and_then(|l| Lang::from_code(&l));
        stored
            .or_else(|| hint.and_then(Lang::from_messenger_hint))
            .unwrap_or(Lang::FALLBACK)
    }

    /// The localised "something went wrong" reply adapters send on an error.
    pub fn error_reply(lang: Lang) -> Outbound {
        Outbound::reply(lang, Msg::new("error-generic"))
    }

    /// The bot's command menu for one language: `(command, description key)`.
    pub fn commands() -> &'static [(&'static str, &'static str)] {
        &[
            ("start", "cmd-start"),
            ("status", "cmd-status"),
            ("me", "cmd-me"),
            ("left", "cmd-left"),
            ("occupancy", "cmd-occupancy"),
            ("guard", "cmd-guard"),
            ("wallet", "cmd-wallet"),
            ("family", "cmd-family"),
            ("qr", "cmd-qr"),
            ("meals", "cmd-meals"),
            ("prescriptions", "cmd-prescriptions"),
            ("menu", "cmd-menu"),
            ("lang", "cmd-lang"),
            ("forget", "cmd-forget"),
            ("support", "cmd-support"),
            ("business", "cmd-business"),
            ("help", "cmd-help"),
        ]
    }
}
