//! Throttles for guessing.
//!
//! - Typed codes (a venue's short code per chat, a meal code per canteen operator): every
//!   failure is a row of `attempt_failures` (the audit: scope, chat, time) written in the
//!   attempt's transaction; after [`CODE_FAILURES_PER_HOUR`] failures in the last hour the chat
//!   is refused without the code being looked at. The rows live in the database, so the limit
//!   holds across replicas.
//! - Failed authentications on the HTTP API, per source address ([`AuthThrottle`]): in memory
//!   per replica (a bound per process; N replicas allow N times the rate, stated in
//!   docs/SECURITY.md), so a key can not be guessed at network speed.

use crate::storage::{ChatRef, Conn, StoreError, security};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed typed codes allowed per chat per hour, per scope.
pub const CODE_FAILURES_PER_HOUR: i64 = 10;
const HOUR_MS: i64 = 3_600_000;

/// The scope of venue short codes typed by a visitor.
pub const VENUE_CODE: &str = "venue_code";
/// The scope of meal codes typed or scanned by a canteen operator.
pub const MEAL_CODE: &str = "meal_code";
/// The scope of family invitation codes typed or opened by a relative.
pub const FAMILY_CODE: &str = "family_code";

/// Whether `chat` has used up its failed attempts in `scope` for now.
pub async fn code_blocked(
    conn: &mut Conn,
    scope: &str,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<bool, StoreError> {
    Ok(
        security::failures_since(conn, scope, chat, now_ms - HOUR_MS).await?
            >= CODE_FAILURES_PER_HOUR,
    )
}

/// Records (and so audits) one failed attempt.
pub async fn code_failed(
    conn: &mut Conn,
    scope: &str,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<(), StoreError> {
    tracing::info!(target: "ashyq::audit", scope, channel = %chat.channel, chat = %chat.chat_id, "failed code attempt");
    security::record_failure(conn, scope, chat, now_ms).await
}

/// Failed authentications per source address within a window; a source over the limit is
/// answered 429 before its credentials are even compared.
pub struct AuthThrottle {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AuthThrottle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `source` may try to authenticate now.
    pub fn allowed(&self, source: IpAddr, now: Instant) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get(&source) {
            Some((since, n)) if now.duration_since(*since) < self.window => *n < self.limit,
            _ => true,
        }
    }

    /// Counts one failed authentication of `source`.
    pub fn failed(&self, source: IpAddr, now: Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded memory: old windows are dropped when the map grows.
        if seen.len() >= 100_000 {
            let window = self.window;
            seen.retain(|_, (since, _)| now.duration_since(*since) < window);
        }
        let entry = seen.entry(source).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

impl Default for AuthThrottle {
    /// 20 failed authentications per source per 10 minutes.
    fn default() -> Self {
        Self::new(20, Duration::from_secs(600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_stopped_after_its_failures_until_the_window_passes() {
        let t = AuthThrottle::new(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.allowed(a, t0));
            t.failed(a, t0);
        }
        assert!(!t.allowed(a, t0 + Duration::from_secs(59)));
        assert!(t.allowed(b, t0), "another source is not affected");
        assert!(t.allowed(a, t0 + Duration::from_secs(60)));
        t.failed(a, t0 + Duration::from_secs(61));
        assert!(
            t.allowed(a, t0 + Duration::from_secs(62)),
            "a new window counts anew"
        );
    }
}
