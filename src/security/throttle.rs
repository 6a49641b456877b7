//! Throttles for guessing.
//!
//! - Per chat, one mechanism for everything a chat may only try so often ([`Scope`]): a venue's
//!   short code typed by a visitor, a meal code typed or scanned by a canteen operator, and an
//!   IIN sent at registration (asked of the identity registry). Every counted attempt is a row
//!   of `attempt_failures` (the audit: scope, chat, time) written in the attempt's
//!   transaction; a chat over any of its scope's [`Limit`]s is refused before the input is
//!   looked at. For codes only failures count; for IINs every IIN sent counts (each one is a
//!   question to the registry). The rows live in the database, so the limits hold across
//!   replicas; the retention job deletes them after 30 days. (Until migration 0025 the IIN
//!   attempts had a table of their own, `identity_attempts`; its rows were moved here.)
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
/// IINs a chat may send per hour and per day.
pub const IIN_PER_HOUR: i64 = 5;
pub const IIN_PER_DAY: i64 = 20;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// What a chat's attempts are counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Venue short codes typed by a visitor (failures count).
    VenueCode,
    /// Meal codes typed or scanned by a canteen operator (failures count).
    MealCode,
    /// IINs sent at registration, each asked of the identity registry (every one counts).
    Iin,
    /// Family invitation codes typed or opened by a relative (failures count).
    FamilyCode,
}

/// At most `max` attempts within `window_ms`; `period` names the window for the user
/// (`hour`, `day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: i64,
    pub window_ms: i64,
    pub period: &'static str,
}

const CODE_LIMITS: &[Limit] = &[Limit {
    max: CODE_FAILURES_PER_HOUR,
    window_ms: HOUR_MS,
    period: "hour",
}];
const IIN_LIMITS: &[Limit] = &[
    Limit {
        max: IIN_PER_HOUR,
        window_ms: HOUR_MS,
        period: "hour",
    },
    Limit {
        max: IIN_PER_DAY,
        window_ms: DAY_MS,
        period: "day",
    },
];

impl Scope {
    /// The `scope` column's value.
    pub fn name(self) -> &'static str {
        match self {
            Scope::VenueCode => "venue_code",
            Scope::MealCode => "meal_code",
            Scope::Iin => "iin",
            Scope::FamilyCode => "family_code",
        }
    }

    /// The limits, shortest window first.
    pub fn limits(self) -> &'static [Limit] {
        match self {
            Scope::VenueCode | Scope::MealCode | Scope::FamilyCode => CODE_LIMITS,
            Scope::Iin => IIN_LIMITS,
        }
    }
}

/// The first limit `chat` has reached in `scope` at `now_ms` (`None`: it may try).
pub async fn exceeded(
    conn: &mut Conn,
    scope: Scope,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<Option<Limit>, StoreError> {
    for limit in scope.limits() {
        let n =
            security::failures_since(conn, scope.name(), chat, now_ms - limit.window_ms).await?;
        if n >= limit.max {
            return Ok(Some(*limit));
        }
    }
    Ok(None)
}

/// Records (and so audits) one counted attempt.
pub async fn record(
    conn: &mut Conn,
    scope: Scope,
    chat: &ChatRef,
    now_ms: i64,
) -> Result<(), StoreError> {
    tracing::info!(target: "ashyq::audit", scope = scope.name(), channel = %chat.channel, chat = %chat.chat_id, "counted attempt");
    security::record_failure(conn, scope.name(), chat, now_ms).await
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
