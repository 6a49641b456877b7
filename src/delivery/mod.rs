//! Delivery of the durable outbox: ONE worker for every channel.
//!
//! The worker owns everything a channel has in common: claiming the due rows (leased on
//! PostgreSQL, see [`outbox::claim`]), one ordered sequence per chat with many chats at
//! once, back-off, marking each row sent right after the channel accepted it, giving up
//! (and queueing the message's `on_failure` notice, e.g. for the support operators). A
//! channel implements only [`Deliver`]: send one message and say what became of it.
//!
//! A crash between the channel's answer and the mark repeats that one message; nothing is
//! lost. With several replicas a claimed row is invisible to the other workers for the
//! lease ([`WorkerOptions::lease`], renewed while the batch is being sent), so it is sent
//! twice only if its claimer died between the channel's answer and the mark.

use crate::core::{Core, Outbound, Recipient};
use crate::storage::outbox::{self, OutboxRow};
use crate::storage::{Conn, StoreError};
use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The channel accepted it.
    Delivered,
    /// Try again later: after `after` when the channel said when (Telegram's `RetryAfter`),
    /// else with the worker's back-off.
    RetryLater {
        after: Option<Duration>,
        error: String,
    },
    /// It can never be delivered (the user blocked the bot, the chat does not exist, the
    /// gateway refused it): given up, and its failure notice queued.
    Gone { error: String },
}

/// One outbox message as a channel gets it.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// The outbox row's id (a gateway may use it to drop a repeat).
    pub id: i64,
    /// The chat in the channel's own terms (its `chat_id` column).
    pub chat_id: &'a str,
    pub message: &'a Outbound,
}

/// A channel's half of delivery: send one message.
pub trait Deliver: Send + Sync + 'static {
    /// The `channel` of the outbox rows this sends (`telegram`, `sms`, …).
    fn channel(&self) -> &str;

    /// Sends one message and says what became of it.
    fn deliver(&self, core: &Core, envelope: Envelope<'_>) -> impl Future<Output = Sent> + Send;
}

/// How a worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Rows claimed per round.
    pub batch: i64,
    /// Chats served at once (each chat's rows in order, one at a time).
    pub chats_at_once: usize,
    /// How long the worker sleeps when nothing is due (it also wakes on `Core::outbox_ready`).
    pub idle: Duration,
    /// The first retry's delay; doubled per attempt (up to 64 times).
    pub backoff: Duration,
    /// How long claimed rows stay invisible to other workers (PostgreSQL).
    pub lease: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            batch: 200,
            chats_at_once: 64,
            idle: Duration::from_secs(1),
            backoff: Duration::from_secs(2),
            lease: Duration::from_secs(30),
        }
    }
}

/// The outbox worker of one channel.
pub struct Worker<D> {
    deliver: D,
    options: WorkerOptions,
}

impl<D: Deliver> Worker<D> {
    pub fn new(deliver: D) -> Self {
        Self {
            deliver,
            options: WorkerOptions::default(),
        }
    }

    pub fn with_options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }

    pub fn channel(&self) -> &str {
        self.deliver.channel()
    }

    /// The channel's half.
    pub fn deliver(&self) -> &D {
        &self.deliver
    }

    /// Delivers until `stop`: a round whenever rows are due, else a nap until the core queues
    /// something or `idle` passes.
    pub async fn run(&self, core: Arc<Core>, stop: CancellationToken) {
        tracing::info!(channel = self.channel(), "outbox worker started");
        loop {
            let handled = match self.round(&core, Some(&stop)).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(channel = self.channel(), error = %e, "outbox: cannot read or mark");
                    0
                }
            };
            if stop.is_cancelled() {
                return;
            }
            if handled == 0 {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = core.outbox_ready.notified() => {}
                    () = tokio::time::sleep(self.options.idle) => {}
                }
            }
        }
    }

    /// One round: claims what is due and sends it; returns how many were sent. Tests and
    /// one-shot commands call it directly.
    pub async fn send_due(&self, core: &Core) -> Result<usize, StoreError> {
        let before = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        self.round_counting(core, None, &before).await?;
        Ok(before.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Sends what is due for one chat of this channel (the terminal shows its own user's
    /// notices after each input); returns how many were sent.
    pub async fn send_due_for_chat(&self, core: &Core, chat_id: &str) -> Result<usize, StoreError> {
        let chat = crate::storage::ChatRef::new(self.channel(), chat_id);
        let rows = {
            let mut conn = core.store.pool().acquire().await?;
            outbox::due_for_chat(&mut conn, &chat, core.now_ms()).await?
        };
        let mut sent = 0;
        for row in rows {
            match self.send_row(core, &row).await? {
                true => sent += 1,
                false => break,
            }
        }
        Ok(sent)
    }

    /// One round; returns how many rows were handled (sent or not), so the loop naps only
    /// when nothing was due.
    async fn round(
        &self,
        core: &Core,
        stop: Option<&CancellationToken>,
    ) -> Result<usize, StoreError> {
        let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        self.round_counting(core, stop, &sent).await
    }

    async fn round_counting(
        &self,
        core: &Core,
        stop: Option<&CancellationToken>,
        sent: &Arc<std::sync::atomic::AtomicUsize>,
    ) -> Result<usize, StoreError> {
        use futures::StreamExt;
        let claimed_at = core.now_ms();
        let lease_ms = self.options.lease.as_millis() as i64;
        let rows = {
            let mut conn = core.store.pool().acquire().await?;
            outbox::claim(
                &mut conn,
                core.store.backend(),
                self.channel(),
                claimed_at,
                lease_ms,
                self.options.batch,
            )
            .await?
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let count = rows.len();
        // Rows claimed and not yet finished (sent, failed or released).
        let open: Arc<Mutex<HashSet<i64>>> =
            Arc::new(Mutex::new(rows.iter().map(|r| r.id).collect()));
        // One queue per chat, chats in the order of their oldest row.
        let mut chats: Vec<(String, Vec<OutboxRow>)> = Vec::new();
        for row in rows {
            match chats.iter_mut().find(|(c, _)| *c == row.chat_id) {
                Some((_, queue)) => queue.push(row),
                None => chats.push((row.chat_id.clone(), vec![row])),
            }
        }
        let sending = futures::stream::iter(chats).for_each_concurrent(
            self.options.chats_at_once.max(1),
            |(_, queue)| {
                let open = open.clone();
                let sent = sent.clone();
                async move {
                    for row in queue {
                        if stop.is_some_and(CancellationToken::is_cancelled) {
                            return;
                        }
                        let ok = match self.send_row(core, &row).await {
                            Ok(ok) => ok,
                            Err(e) => {
                                tracing::error!(id = row.id, error = %e, "outbox: cannot record the attempt");
                                false
                            }
                        };
                        open.lock().unwrap().remove(&row.id);
                        if !ok {
                            // Keep the chat's order: its later rows wait for the next round.
                            return;
                        }
                        sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            },
        );
        tokio::pin!(sending);
        // Renew the lease of what is still unsent while the batch takes long.
        let renew_every = (self.options.lease / 3).max(Duration::from_millis(100));
        let leased = core.store.backend() == crate::storage::Backend::Postgres;
        loop {
            tokio::select! {
                () = &mut sending => break,
                () = tokio::time::sleep(renew_every), if leased => {
                    let ids: Vec<i64> = open.lock().unwrap().iter().copied().collect();
                    if let Ok(mut conn) = core.store.pool().acquire().await
                        && let Err(e) = outbox::extend_lease(&mut conn, &ids, core.now_ms() + lease_ms).await
                    {
                        tracing::warn!(error = %e, "outbox: cannot extend the lease");
                    }
                }
            }
        }
        // What this round claimed and did not send is due again now (PostgreSQL only: SQLite
        // claims nothing).
        let left: Vec<i64> = open.lock().unwrap().iter().copied().collect();
        if !left.is_empty() && leased {
            let mut conn = core.store.pool().acquire().await?;
            outbox::release(&mut conn, &left, claimed_at).await?;
        }
        Ok(count)
    }

    /// Sends one row and records the outcome; `Ok(false)` when it was not sent.
    async fn send_row(&self, core: &Core, row: &OutboxRow) -> Result<bool, StoreError> {
        let Ok(message) = serde_json::from_str::<Outbound>(&row.payload) else {
            let mut conn = core.store.pool().acquire().await?;
            outbox::mark_failed(&mut conn, row.id, core.now_ms(), "unreadable message", None)
                .await?;
            return Ok(false);
        };
        let envelope = Envelope {
            id: row.id,
            chat_id: &row.chat_id,
            message: &message,
        };
        let outcome = self.deliver.deliver(core, envelope).await;
        let now = core.now_ms();
        if outcome == Sent::Delivered {
            mark_sent(core, row.id, now).await?;
            return Ok(true);
        }
        let mut conn = core.store.pool().acquire().await?;
        let (error, retry_at) = match outcome {
            Sent::Delivered => unreachable!("marked above"),
            Sent::RetryLater { after, error } => {
                let delay =
                    after.unwrap_or_else(|| self.options.backoff * (1 << row.attempts.clamp(0, 6)));
                (error, Some(now + delay.as_millis() as i64))
            }
            Sent::Gone { error } => (error, None),
        };
        let given_up = retry_at.is_none() || row.attempts + 1 >= outbox::MAX_ATTEMPTS;
        tracing::warn!(channel = self.channel(), id = row.id, error = %error, retry = !given_up, "outbox: delivery failed");
        outbox::mark_failed(&mut conn, row.id, now, &error, retry_at).await?;
        if given_up {
            failure_notice(core, &mut conn, row.id, &message).await?;
        }
        Ok(false)
    }
}

/// Marks a delivered row sent, trying again for a few seconds when the database does not
/// answer (a busy pool): a row left unmarked is sent again when its lease runs out, so only a
/// process that dies between the channel's answer and the mark repeats a message.
async fn mark_sent(core: &Core, id: i64, now: i64) -> Result<(), StoreError> {
    let mut attempt = 0u32;
    loop {
        let marked = async {
            let mut conn = core.store.pool().acquire().await?;
            outbox::mark_sent(&mut conn, id, now).await
        };
        match marked.await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 5 => {
                attempt += 1;
                tracing::warn!(id, error = %e, attempt, "outbox: cannot mark sent yet, trying again");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Queues a given-up message's failure notice (e.g. for the operators: the user blocked the
/// bot), once.
async fn failure_notice(
    core: &Core,
    conn: &mut Conn,
    id: i64,
    message: &Outbound,
) -> Result<(), StoreError> {
    let Some(notice) = message.relay.as_ref().and_then(|r| r.on_failure.clone()) else {
        return Ok(());
    };
    let Recipient::Chat(to) = notice.to.clone() else {
        return Ok(());
    };
    let key = format!("outbox-failed:{id}");
    let payload = serde_json::to_string(&notice)?;
    let now = core.now_ms();
    outbox::enqueue(conn, &to, &payload, Some(&key), now, now).await?;
    core.outbox_ready.notify_waiters();
    Ok(())
}
