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

/// Messages answered per chat of a keyword channel (an SMS number) in an hour.
pub const KEYWORD_MESSAGES_PER_HOUR: i64 = 10;
/// Messages answered per chat of a keyword channel (an SMS number) in a day.
pub const KEYWORD_MESSAGES_PER_DAY: i64 = 30;
/// The scope of answered messages of a keyword channel.
pub const KEYWORD_MESSAGE: &str = "keyword_message";
/// The scope of the "too many messages" notice.
pub const KEYWORD_NOTICE: &str = "keyword_notice";
/// The scope of one-time codes sent, per chat and per number (`core::shared::otp`).
pub const OTP_CODE: &str = "otp_code";
const DAY_MS: i64 = 24 * HOUR_MS;

/// What to do with one message of a keyword channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// Within the limits: answer it (counted).
    Answer,
    /// Over a limit, not told since the last answered message: one short notice (counted).
    Notice,
    /// Over a limit and already told: no answer at all.
    Silent,
}

/// Takes one message of `chat` against [`KEYWORD_MESSAGES_PER_HOUR`] and
/// [`KEYWORD_MESSAGES_PER_DAY`], in the caller's transaction (the rows of
/// `attempt_failures` count, so the limits hold across replicas).
pub async fn keyword_message(
    conn: &mut Conn,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<Quota, StoreError> {
    let hour = security::failures_since(conn, KEYWORD_MESSAGE, chat, now_ms - HOUR_MS).await?;
    let day = security::failures_since(conn, KEYWORD_MESSAGE, chat, now_ms - DAY_MS).await?;
    if hour < KEYWORD_MESSAGES_PER_HOUR && day < KEYWORD_MESSAGES_PER_DAY {
        security::record_failure(conn, KEYWORD_MESSAGE, chat, now_ms).await?;
        return Ok(Quota::Answer);
    }
    // One notice per time over the limit: none since the last answered message.
    let last_answer = security::latest_failure(conn, KEYWORD_MESSAGE, chat)
        .await?
        .unwrap_or(0);
    if security::failures_since(conn, KEYWORD_NOTICE, chat, last_answer).await? > 0 {
        return Ok(Quota::Silent);
    }
    tracing::info!(target: "ashyq::audit", channel = %chat.channel, chat = %chat.chat_id, "keyword channel over its limit");
    security::record_failure(conn, KEYWORD_NOTICE, chat, now_ms).await?;
    Ok(Quota::Notice)
}

/// Whether another one-time code may go to each of `chats` (the asking chat and the
/// number's SMS chat): at most `per_hour` and `per_day` each. Counts one for each when it may.
pub async fn otp_code(
    conn: &mut Conn,
    chats: &[&ChatRef],
    per_hour: i64,
    per_day: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    for chat in chats {
        if security::failures_since(conn, OTP_CODE, chat, now_ms - HOUR_MS).await? >= per_hour
            || security::failures_since(conn, OTP_CODE, chat, now_ms - DAY_MS).await? >= per_day
        {
            return Ok(false);
        }
    }
    for chat in chats {
        security::record_failure(conn, OTP_CODE, chat, now_ms).await?;
    }
    Ok(true)
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
