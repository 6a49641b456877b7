//! Durations typed by people: a ban (`30m`, `7d`), a venue's maximum stay (`2h30m`).

/// Parses a ban duration: `30m`, `12h`, `7d`, `2w` (at most a year), without overflow.
pub fn parse_duration(s: &str) -> Option<chrono::Duration> {
    crate::domain::parse_duration(s, chrono::Duration::days(366)).ok()
}

/// Parses a duration as people type it into milliseconds (rounded to the minute): plain
/// minutes (`90`), or numbers with units in Kazakh, Russian or English, with or without
/// spaces, a decimal comma or point allowed: `3 сағ`, `3 сағат`, `3 ч`, `1,5 ч`, `90 мин`,
/// `2 ч 30 мин`, `3h`, `90m`, `2h30m`, `1.5 hours`.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    const HOUR: f64 = 3_600_000.0;
    const MINUTE: f64 = 60_000.0;
    fn unit(word: &str) -> Option<f64> {
        match word {
            "h" | "hr" | "hrs" | "hour" | "hours" | "ч" | "час" | "часа" | "часов" | "сағ"
            | "сағат" => Some(HOUR),
            "m" | "min" | "mins" | "minute" | "minutes" | "м" | "мин" | "минута" | "минуты"
            | "минут" | "минуттан" => Some(MINUTE),
            _ => None,
        }
    }
    let s = s.trim().to_lowercase();
    let chars: Vec<char> = s.chars().collect();
    let (mut i, mut total, mut parts) = (0, 0.0f64, 0);
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], ',' | '.')) {
            i += 1;
        }
        let number: String = chars[start..i].iter().collect();
        if number.is_empty() || number.matches([',', '.']).count() > 1 {
            return None;
        }
        let value: f64 = number.replace(',', ".").parse().ok()?;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let word_start = i;
        while i < chars.len() && chars[i].is_alphabetic() {
            i += 1;
        }
        let word: String = chars[word_start..i].iter().collect();
        if i < chars.len() && chars[i] == '.' {
            i += 1;
        }
        let per = if word.is_empty() {
            // A bare number is minutes, and only when it is all there is.
            if parts > 0 || i < chars.len() {
                return None;
            }
            MINUTE
        } else {
            unit(&word)?
        };
        total += value * per;
        parts += 1;
    }
    let minutes = (total / MINUTE).round() as i64;
    (parts > 0 && minutes > 0).then_some(minutes * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30m"), Some(chrono::Duration::minutes(30)));
        assert_eq!(parse_duration("2H"), Some(chrono::Duration::hours(2)));
        assert_eq!(parse_duration("7d"), Some(chrono::Duration::days(7)));
        assert_eq!(parse_duration("1w"), Some(chrono::Duration::weeks(1)));
        for bad in ["", "d", "0d", "-1d", "5y", "400d", "ten"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration_ms("3h"), Some(3 * 3_600_000));
        assert_eq!(parse_duration_ms("90m"), Some(90 * 60_000));
        assert_eq!(parse_duration_ms("2h30m"), Some(150 * 60_000));
        assert_eq!(parse_duration_ms("45"), Some(45 * 60_000));
        assert_eq!(parse_duration_ms("3x"), None);
        assert_eq!(parse_duration_ms("h"), None);
        assert_eq!(parse_duration_ms("3h5"), None);
        // What people type in Kazakh, Russian and English.
        let h = |n: f64| Some((n * 60.0) as i64 * 60_000);
        for (typed, want) in [
            ("3 сағ", h(3.0)),
            ("3 сағат", h(3.0)),
            ("3сағ", h(3.0)),
            ("3 ч", h(3.0)),
            ("3 ч.", h(3.0)),
            ("3 часа", h(3.0)),
            ("1,5 ч", h(1.5)),
            ("1.5 hours", h(1.5)),
            ("90 мин", h(1.5)),
            ("90 мин.", h(1.5)),
            ("90 минут", h(1.5)),
            ("2 ч 30 мин", h(2.5)),
            ("2 сағ 30 мин", h(2.5)),
            ("3H", h(3.0)),
            ("90m", h(1.5)),
            (" 45 ", Some(45 * 60_000)),
        ] {
            assert_eq!(parse_duration_ms(typed), want, "{typed}");
        }
        for typed in [
            "", "ч", "3 дня", "1,5,5 ч", "3 ч 30", "30 45", "-3 ч", "0 мин", "3 ч!",
        ] {
            assert_eq!(parse_duration_ms(typed), None, "{typed}");
        }
    }
}
