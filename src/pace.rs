//! A messenger's send pace, per bot and not per process: Telegram allows a bot about 30
//! messages a second overall, however many replicas send for it.
//!
//! Every send takes a slot first ([`Paces::wait`]): slots are `1/rate` apart with no burst.
//! On PostgreSQL the slots are reserved in the database (`storage::pace::reserve`, one row
//! per pace in `send_pace`), so N replicas together keep the rate; on SQLite (one process)
//! in memory. A replica that cannot reach the database paces on its own meanwhile. Slots
//! are wall-clock microseconds of the reserving replica: replicas' clocks must agree (NTP)
//! to well under one slot.

use crate::storage::{Backend, Store};
use std::collections::HashMap;
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
}

impl Default for PaceSettings {
    fn default() -> Self {
        Self {
            per_second: 29.0,
            paid_per_second: 1000.0,
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
        Self {
            per_second: rate("TELEGRAM_RATE_PER_SECOND", d.per_second),
            paid_per_second: rate("TELEGRAM_PAID_RATE_PER_SECOND", d.paid_per_second).min(1000.0),
        }
    }
}

/// How late after its slot a sender may still send (µs).
pub const LATE_US: i64 = 100_000;

/// One pace: a rate and where its slots are reserved.
pub struct SendPace {
    name: String,
    interval_us: i64,
    store: Option<Store>,
    /// The next free slot when reserved in this process (SQLite, or the database is down).
    local: Mutex<i64>,
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
        }
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

    /// Waits for the next slot. A sender that wakes up more than [`LATE_US`] after its slot
    /// (a stalled process) takes a new slot instead (up to three times), so the slots missed
    /// during a stall are not sent in one burst afterwards.
    pub async fn wait(&self) {
        for _ in 0..3 {
            let slot = self.reserve().await;
            let ahead = slot - now_us();
            if ahead > 0 {
                tokio::time::sleep(Duration::from_micros(ahead as u64)).await;
            }
            if now_us() - slot <= LATE_US.max(self.interval_us) {
                return;
            }
        }
    }
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The paces of a core by name; a name without a pace is not paced (tests, SMS).
#[derive(Clone, Default)]
pub struct Paces(Arc<HashMap<String, Arc<SendPace>>>);

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

    /// Waits for the next slot of `name`'s pace (at once when it has none).
    pub async fn wait(&self, name: &str) {
        if let Some(pace) = self.get(name) {
            pace.wait().await;
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
}
