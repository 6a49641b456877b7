//! Durations typed by people: a ban (`30m`, `7d`), a venue's maximum stay (`2h30m`).

/// Parses a ban duration: `30m`, `12h`, `7d`, `2w` (at most a year).
pub fn parse_duration(s: &str) -> Option<chrono::Duration> {
    let s = s.trim().to_lowercase();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    if n <= 0 {
        return None;
    }
    let d = match unit {
        'm' => chrono::Duration::minutes(n),
        'h' => chrono::Duration::hours(n),
        'd' => chrono::Duration::days(n),
        'w' => chrono::Duration::weeks(n),
        _ => return None,
    };
    (d <= chrono::Duration::days(366)).then_some(d)
}

/// Parses `3h`, `90m`, `2h30m` or plain minutes into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    if let Ok(m) = s.parse::<i64>() {
        return Some(m * 60_000);
    }
    let mut total = 0i64;
    let mut num = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => num.push(c),
            'h' | 'm' => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                total += n * if c == 'h' { 3_600_000 } else { 60_000 };
            }
            _ => return None,
        }
    }
    (num.is_empty() && total > 0).then_some(total)
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
    }
}
