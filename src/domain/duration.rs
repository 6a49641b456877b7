//! Durations typed by people (an operator's `/ban 30m`): parsed with checked arithmetic, so
//! no input can overflow and panic a worker (`/ban 99999999999999999m` once did).

use chrono::Duration;

/// Why a typed duration is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("a duration is a positive number followed by m, h, d or w")]
    Malformed,
    #[error("the duration is longer than allowed")]
    TooLong,
}

/// Parses `30m`, `12h`, `7d`, `2w` (units case-insensitive, surrounding spaces ignored) and
/// refuses anything longer than `max`. Never panics: the multiplication is checked in `i64`
/// seconds before a `chrono::Duration` is built.
pub fn parse_duration(input: &str, max: Duration) -> Result<Duration, DurationError> {
    let s = input.trim();
    let unit = s.chars().last().ok_or(DurationError::Malformed)?;
    let number = &s[..s.len() - unit.len_utf8()];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::Malformed);
    }
    let per_unit: i64 = match unit.to_ascii_lowercase() {
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(DurationError::Malformed),
    };
    // Digits only, so a parse error is an overflow of u64/i64: too long.
    let n: i64 = number.parse().map_err(|_| DurationError::TooLong)?;
    if n == 0 {
        return Err(DurationError::Malformed);
    }
    let seconds = n.checked_mul(per_unit).ok_or(DurationError::TooLong)?;
    let d = Duration::try_seconds(seconds).ok_or(DurationError::TooLong)?;
    if d > max {
        return Err(DurationError::TooLong);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn year() -> Duration {
        Duration::days(366)
    }

    #[test]
    fn units_parse() {
        assert_eq!(parse_duration("30m", year()), Ok(Duration::minutes(30)));
        assert_eq!(parse_duration(" 2H ", year()), Ok(Duration::hours(2)));
        assert_eq!(parse_duration("7d", year()), Ok(Duration::days(7)));
        assert_eq!(parse_duration("1w", year()), Ok(Duration::weeks(1)));
        assert_eq!(parse_duration("366d", year()), Ok(Duration::days(366)));
    }

    #[test]
    fn garbage_and_overflow_are_errors_not_panics() {
        for bad in ["", "d", "0d", "-1d", "+1d", "5y", "ten", "1.5h", "١d", "m"] {
            assert_eq!(
                parse_duration(bad, year()),
                Err(DurationError::Malformed),
                "{bad}"
            );
        }
        for long in [
            "367d",
            "99999999999999999m",
            "9223372036854775807w",
            "99999999999999999999999999m",
            "153722867280912930m",
        ] {
            assert_eq!(
                parse_duration(long, year()),
                Err(DurationError::TooLong),
                "{long}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_duration(&s, year());
        }

        #[test]
        fn any_number_with_a_unit_is_bounded(n in any::<u64>(), unit in prop::sample::select(vec!['m', 'h', 'd', 'w'])) {
            if let Ok(d) = parse_duration(&format!("{n}{unit}"), year()) {
                prop_assert!(d > Duration::zero() && d <= year());
            }
        }
    }
}
