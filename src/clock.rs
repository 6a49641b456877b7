//! Time is injected so every "14 days" rule is testable.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that tests set and advance; shared handles see the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(AtomicI64::new(at.timestamp_micros())))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp_micros(), Ordering::SeqCst);
    }

    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX);
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

/// Local time of the service: Asia/Almaty, UTC+5 all year since 2024.
pub fn almaty() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(5 * 3600).expect("a valid offset")
}

/// A UTC instant in milliseconds as Almaty wall-clock text in `format` (chrono's
/// `strftime` syntax): what replies show.
pub fn local_text(ms: i64, format: &str) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&almaty())
        .format(format)
        .to_string()
}

/// `HH:MM` in Almaty.
pub fn local_time(ms: i64) -> String {
    local_text(ms, "%H:%M")
}

/// `DD.MM.YYYY` in Almaty: for files and logs only. A date shown to a person goes as a
/// typed argument (`Msg::date_of`, `Msg::date_time`), rendered with month names per language.
pub fn local_date(ms: i64) -> String {
    local_text(ms, "%d.%m.%Y")
}

/// The Astana calendar day of a UTC instant in milliseconds.
pub fn local_day(ms: i64) -> chrono::NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&almaty())
        .date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_texts_are_almaty() {
        // 2026-11-21 19:30 UTC is 00:30 of the next day in Almaty.
        let ms = DateTime::parse_from_rfc3339("2026-11-21T19:30:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(local_time(ms), "00:30");
        assert_eq!(local_date(ms), "22.11.2026");
        assert_eq!(local_text(ms, "%d.%m.%Y %H:%M"), "22.11.2026 00:30");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-11-01T10:00:00+05:00")
            .unwrap()
            .to_utc();
        let clock = ManualClock::new(start);
        let other = clock.clone();
        assert_eq!(clock.now(), start);
        other.advance(chrono::Duration::days(14));
        assert_eq!(clock.now(), start + chrono::Duration::days(14));
    }
}
