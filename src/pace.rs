//! A messenger's send pace, per bot and not per process: Telegram allows a bot about 30
//! messages a second overall, however many replicas send for it.
//!
//! Every send takes a slot first ([`Paces::wait`]): slots are `1/rate` apart with no burst.
//! On PostgreSQL the slots are reserved in the database (`storage::pace::reserve`, one row
//! per pace in `send_pace`), so N replicas together keep the rate; on SQLite (one process)
//! in memory. A replica that cannot reach the database paces on its own meanwhile. Slots
//! are wall-clock microseconds of the reserving replica: replicas' clocks must agree (NTP)
//! to well under one slot.
//!
//! Slots alone keep the mean, not every second: a sender that wakes late (a busy machine, a
//! slow network) sends next to the following slot's message. So a pace may also have a
//! **cap** ([`SendPace::with_cap`]; Telegram's: 30): a message holds a place in the pace's
//! one-second window ([`Permit`]) from the moment it may go until the messenger answered it,
//! and for one second after that answer. The messenger receives each message between those
//! two moments, so any second of its clock sees at most `cap` messages, however late the
//! senders wake or the network delivers. The places are rows of `send_window` on PostgreSQL
//! (every replica counts them under the pace row's lock), in memory on SQLite.

use crate::storage::pace::Place;
use crate::storage::{Backend, Store};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The pace of Telegram's ordinary sends (replies and the outbox).
pub const TELEGRAM: &str = "telegram";
/// The pace of Aitu's sends (`AITU_RATE_PER_SECOND`, all replicas together).
pub const AITU: &str = "aitu";
/// The pace of Telegram's paid broadcasts (`allow_paid_broadcast`, up to 1 000 a second).
pub const TELEGRAM_PAID: &str = "telegram-paid";

/// Telegram's paces (`Settings::telegram_pace`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceSettings {
    /// `TELEGRAM_RATE_PER_SECOND`: replies and the outbox together, all replicas (default
    /// 29: Telegram allows about 30, and the slots have no burst).
    pub per_second: f64,
    /// `TELEGRAM_PAID_RATE_PER_SECOND`: paid broadcasts (default and most: 1 000).
    pub paid_per_second: f64,
    /// `TELEGRAM_MAX_PER_SECOND`: the most messages any one second may see (default 30,
    /// Telegram's limit; never below `per_second` rounded up).
    pub max_per_second: u32,
}

impl Default for PaceSettings {
    fn default() -> Self {
        Self {
            per_second: 29.0,
            paid_per_second: 1000.0,
            max_per_second: 30,
        }
    }
}

impl PaceSettings {
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let rate = |k: &str, default: f64| {
            var(k)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|r| r.is_finite() && *r > 0.0)
                .unwrap_or(default)
        };
        let per_second = rate("TELEGRAM_RATE_PER_SECOND", d.per_second);
        let max = var("TELEGRAM_MAX_PER_SECOND")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(d.max_per_second);
        Self {
            per_second,
            paid_per_second: rate("TELEGRAM_PAID_RATE_PER_SECOND", d.paid_per_second).min(1000.0),
            max_per_second: max.max(per_second.ceil() as u32),
        }
    }
}

/// How late after its slot a sender may still send (µs).
pub const LATE_US: i64 = 100_000;

/// The window a pace's cap counts in (µs): one second.
pub const WINDOW_US: i64 = 1_000_000;

/// How long a message in flight holds its place at most when its sender never says it was
/// answered (a replica that died mid-request): longer than any request's timeout.
pub const LEASE_US: i64 = 30_000_000;

/// One pace: a rate and where its slots are reserved.
pub struct SendPace {
    name: String,
    interval_us: i64,
    store: Option<Store>,
    /// The next free slot when reserved in this process (SQLite, or the database is down).
    local: Mutex<i64>,
    /// The most messages in any one-second window (none: slots only).
    cap: Option<i64>,
    /// The window's places when kept in this process (SQLite, or the database is down).
    window: Arc<Mutex<LocalWindow>>,
    /// One sender of this process at a time asks the window (the others queue here, not
    /// on the pace row's lock with a pool connection each).
    turn: tokio::sync::Mutex<()>,
    /// Consecutive failures to reach the shared window.
    failures: std::sync::atomic::AtomicU32,
}

/// The places of a window kept in memory: `(id, started, answered)`.
#[derive(Default)]
struct LocalWindow {
    next_id: u64,
    places: VecDeque<(u64, i64, Option<i64>)>,
}

impl LocalWindow {
    fn take(&mut self, now_us: i64, cap: i64) -> Result<u64, i64> {
        // Places that no longer count are forgotten (started before the lease and answered
        // more than a window ago, or never answered within the lease).
        self.places.retain(|&(_, started, done)| match done {
            Some(d) => d > now_us - WINDOW_US,
            None => started > now_us - LEASE_US,
        });
        if self.places.len() as i64 >= cap {
            let first_done = self.places.iter().filter_map(|p| p.2).min();
            return Err(first_done.map_or(now_us + 5_000, |d| d + WINDOW_US));
        }
        self.next_id += 1;
        self.places.push_back((self.next_id, now_us, None));
        Ok(self.next_id)
    }

    fn leave(&mut self, id: u64, done_us: i64) {
        if let Some(place) = self.places.iter_mut().find(|p| p.0 == id) {
            place.2 = Some(done_us);
        }
    }
}

/// A message's place in its pace's window: keep it until the messenger answered (or the
/// request failed), then drop it; the place frees one window later.
#[must_use = "a place is held until the message was answered"]
pub struct Permit {
    held: Option<Held>,
}

enum Held {
    Local(Arc<Mutex<LocalWindow>>, u64),
    Shared(Store, i64),
}

impl Permit {
    /// No place: the pace has no cap (or there is no pace).
    pub fn none() -> Self {
        Self { held: None }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let done = now_us();
        match self.held.take() {
            None => {}
            Some(Held::Local(window, id)) => window.lock().expect("pace window").leave(id, done),
            Some(Held::Shared(store, id)) => {
                // Recorded in the background; until it lands (or, should it never, until
                // the lease ends) the place counts as in flight: more careful, not less.
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    rt.spawn(async move {
                        let left = async {
                            let mut conn = store.pool().acquire().await?;
                            crate::storage::pace::leave_place(&mut conn, id, done).await
                        };
                        if let Err(e) = left.await {
                            tracing::warn!(error = %e, "send window: answer not recorded (its place frees at the lease)");
                        }
                    });
                }
            }
        }
    }
}

impl SendPace {
    /// `per_second` messages a second (at least one a minute); slots in the database when
    /// `store` is PostgreSQL, else in this process.
    pub fn new(name: &str, per_second: f64, store: Option<Store>) -> Self {
        let per_second = per_second.max(1.0 / 60.0);
        Self {
            name: name.to_string(),
            interval_us: (1_000_000.0 / per_second).round().max(1.0) as i64,
            store: store.filter(|s| s.backend() == Backend::Postgres),
            local: Mutex::new(0),
            cap: None,
            window: Arc::default(),
            turn: tokio::sync::Mutex::new(()),
            failures: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// At most `cap` messages in any one-second window (see the module's notes).
    pub fn with_cap(mut self, cap: u32) -> Self {
        self.cap = Some(i64::from(cap.max(1)));
        self
    }

    /// The cap, when the pace has one.
    pub fn cap(&self) -> Option<i64> {
        self.cap
    }

    /// Takes a place in the window, or says when to look again.
    async fn take_place(&self, cap: i64) -> Result<Held, i64> {
        let now_us = now_us();
        if let Some(store) = &self.store {
            let taken = async {
                let mut tx = store.begin().await?;
                let place = crate::storage::pace::take_place(
                    &mut tx, &self.name, now_us, cap, WINDOW_US, LEASE_US,
                )
                .await?;
                tx.commit().await?;
                Ok::<_, crate::storage::StoreError>(place)
            };
            use std::sync::atomic::Ordering::Relaxed;
            match taken.await {
                Ok(place) => {
                    self.failures.store(0, Relaxed);
                    return match place {
                        Place::Taken(id) => Ok(Held::Shared(store.clone(), id)),
                        Place::FullUntil(at) => Err(at),
                    };
                }
                // A passing failure is waited out (counting alone would let every replica
                // send a whole cap); after a second of failures this replica counts alone.
                Err(e) if self.failures.fetch_add(1, Relaxed) < 20 => {
                    tracing::debug!(pace = %self.name, error = %e, "shared send window: retrying");
                    return Err(now_us + 50_000);
                }
                Err(e) => {
                    tracing::warn!(pace = %self.name, error = %e, "shared send window unavailable: counting locally")
                }
            }
        }
        let taken = self.window.lock().expect("pace window").take(now_us, cap);
        taken.map(|id| Held::Local(self.window.clone(), id))
    }

    /// Messages a second.
    pub fn rate(&self) -> f64 {
        1_000_000.0 / self.interval_us as f64
    }

    /// Whether the slots are shared through the database.
    pub fn is_shared(&self) -> bool {
        self.store.is_some()
    }

    fn reserve_locally(&self, now_us: i64) -> i64 {
        let mut next = self.local.lock().expect("pace lock");
        let slot = (*next).max(now_us);
        *next = slot + self.interval_us;
        slot
    }

    /// The next slot (µs since the epoch).
    pub async fn reserve(&self) -> i64 {
        let now_us = now_us();
        if let Some(store) = &self.store {
            let reserved = async {
                let mut conn = store.pool().acquire().await?;
                crate::storage::pace::reserve(&mut conn, &self.name, now_us, self.interval_us).await
            };
            match reserved.await {
                Ok(slot) => return slot,
                Err(e) => {
                    tracing::warn!(pace = %self.name, error = %e, "shared send pace unavailable: pacing locally")
                }
            }
        }
        self.reserve_locally(now_us)
    }

    /// Waits for the next slot, then (with a cap) for a place in the window: keep the
    /// permit until the messenger answered. A sender that wakes up more than [`LATE_US`]
    /// after its slot (a stalled process) takes a new slot instead (up to three times), so
    /// the slots missed during a stall are not sent in one burst afterwards.
    pub async fn wait(&self) -> Permit {
        for _ in 0..3 {
            let slot = self.reserve().await;
            let ahead = slot - now_us();
            if ahead > 0 {
                tokio::time::sleep(Duration::from_micros(ahead as u64)).await;
            }
            if now_us() - slot <= LATE_US.max(self.interval_us) {
                break;
            }
        }
        let Some(cap) = self.cap else {
            return Permit::none();
        };
        let _turn = self.turn.lock().await;
        loop {
            match self.take_place(cap).await {
                Ok(held) => return Permit { held: Some(held) },
                Err(at) => {
                    let ahead = (at - now_us()).clamp(1_000, WINDOW_US);
                    tokio::time::sleep(Duration::from_micros(ahead as u64)).await;
                }
            }
        }
    }
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A messenger's limits per chat, kept in this process: at most one message a second to a
/// chat, and in a group at most `per_minute_group` a minute (Telegram: 20). Each send
/// reserves its moment in its chat's queue, so a chat's messages keep their order and
/// spacing however many tasks send to it. (A chat's messages come from one replica at a
/// time: its conversation is locked while an update is handled, its outbox rows are claimed
/// together.)
pub struct ChatSpacing {
    per_minute_group: usize,
    chats: Mutex<HashMap<String, VecDeque<std::time::Instant>>>,
}

impl Default for ChatSpacing {
    fn default() -> Self {
        Self {
            per_minute_group: 20,
            chats: Mutex::default(),
        }
    }
}

impl ChatSpacing {
    /// Reserves the next moment `chat` may receive a message at or after `now`.
    fn reserve(&self, chat: &str, group: bool, now: std::time::Instant) -> std::time::Instant {
        const SECOND: Duration = Duration::from_secs(1);
        const MINUTE: Duration = Duration::from_secs(60);
        let mut chats = self.chats.lock().expect("chat spacing");
        if chats.len() > 10_000 {
            // Forget chats whose last message is more than a minute old.
            chats.retain(|_, sent| sent.back().is_some_and(|&t| t + MINUTE > now));
        }
        let sent = chats.entry(chat.to_string()).or_default();
        let mut at = sent.back().map_or(now, |&last| (last + SECOND).max(now));
        if group && sent.len() >= self.per_minute_group {
            at = at.max(sent[sent.len() - self.per_minute_group] + MINUTE);
        }
        while sent.front().is_some_and(|&t| t + MINUTE <= at) {
            sent.pop_front();
        }
        sent.push_back(at);
        at
    }

    /// Waits until `chat` may receive the next message.
    pub async fn wait(&self, chat: &str, group: bool) {
        let at = self.reserve(chat, group, std::time::Instant::now());
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The paces of a core by name; a name without a pace is not paced (tests, SMS).
#[derive(Clone, Default)]
pub struct Paces(Arc<HashMap<String, Arc<SendPace>>>, Arc<ChatSpacing>);

impl Paces {
    pub fn with(mut self, pace: SendPace) -> Self {
        let mut map = (*self.0).clone();
        map.insert(pace.name.clone(), Arc::new(pace));
        self.0 = Arc::new(map);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<SendPace>> {
        self.0.get(name)
    }

    /// The per-chat limits of this process.
    pub fn chats(&self) -> &ChatSpacing {
        &self.1
    }

    /// Waits for the next slot of `name`'s pace (at once when it has none); keep the permit
    /// until the messenger answered.
    pub async fn wait(&self, name: &str) -> Permit {
        match self.get(name) {
            Some(pace) => pace.wait().await,
            None => Permit::none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_slots_are_one_interval_apart_without_a_burst() {
        let pace = SendPace::new("t", 20.0, None);
        assert!(!pace.is_shared());
        let now = 1_000_000;
        let slots: Vec<i64> = (0..5).map(|_| pace.reserve_locally(now)).collect();
        assert_eq!(
            slots,
            [
                now,
                now + 50_000,
                now + 100_000,
                now + 150_000,
                now + 200_000
            ]
        );
        // After a pause the next slot is now, not a backlog of unused ones.
        let later = now + 10_000_000;
        assert_eq!(pace.reserve_locally(later), later);
        assert_eq!(pace.reserve_locally(later), later + 50_000);
        assert!((pace.rate() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn a_window_holds_a_place_from_the_start_until_a_second_after_the_answer() {
        let mut w = LocalWindow::default();
        let t = 10_000_000;
        let a = w.take(t, 2).unwrap();
        let b = w.take(t + 10, 2).unwrap();
        // Both in flight: full, and no answer to count from yet.
        assert_eq!(w.take(t + 20, 2), Err(t + 20 + 5_000));
        w.leave(b, t + 300_000);
        w.leave(a, t + 400_000);
        // Answered: the first answer frees its place one window after it.
        assert_eq!(w.take(t + 500_000, 2), Err(t + 300_000 + WINDOW_US));
        assert_eq!(w.take(t + 1_299_999, 2), Err(t + 300_000 + WINDOW_US));
        assert!(w.take(t + 1_300_000, 2).is_ok());
        assert!(w.take(t + 1_300_001, 2).is_err());
        assert!(w.take(t + 1_400_000, 2).is_ok());
        // A place never answered frees at the lease.
        let mut w = LocalWindow::default();
        w.take(t, 1).unwrap();
        assert!(w.take(t + LEASE_US - 1, 1).is_err());
        assert!(w.take(t + LEASE_US, 1).is_ok());
    }

    #[test]
    fn a_chat_gets_one_message_a_second_and_a_group_twenty_a_minute() {
        let spacing = ChatSpacing::default();
        let t = std::time::Instant::now();
        let s = Duration::from_secs(1);
        let user: Vec<_> = (0..3).map(|_| spacing.reserve("u", false, t)).collect();
        assert_eq!(user, [t, t + s, t + 2 * s]);
        // Another chat is not held up by the first.
        assert_eq!(spacing.reserve("v", false, t), t);
        // A quiet chat sends at once again.
        assert_eq!(spacing.reserve("u", false, t + 10 * s), t + 10 * s);
        // A group: one a second for 20, then the 21st a minute after the first.
        let group: Vec<_> = (0..21).map(|_| spacing.reserve("g", true, t)).collect();
        assert_eq!(group[19], t + 19 * s);
        assert_eq!(group[20], t + 60 * s);
    }

    #[test]
    fn the_cap_is_never_below_the_rate() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(PaceSettings::from_vars(&vars(&[])).max_per_second, 30);
        let s = PaceSettings::from_vars(&vars(&[("TELEGRAM_RATE_PER_SECOND", "45.5")]));
        assert_eq!(s.max_per_second, 46);
        let s = PaceSettings::from_vars(&vars(&[("TELEGRAM_MAX_PER_SECOND", "25")]));
        assert_eq!((s.per_second, s.max_per_second), (29.0, 29));
    }
}
