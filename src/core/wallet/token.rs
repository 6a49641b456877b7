//! The child's daily meal code and the school calendar.
//!
//! The QR holds `SW` followed by 36 base64url characters of 27 bytes:
//!
//! ```text
//! version(1) = 1 | voucher id (u32, BE) | generation (u16, BE) | day (u32, BE: days from CE) | MAC(16)
//! ```
//!
//! The MAC is HMAC-SHA256 under `HMAC(signing key, "wallet-qr/v1")`, truncated to 128 bits
//! and compared in constant time. The day is part of the signed body, so yesterday's
//! screenshot no longer redeems; the generation goes up when the parent reissues a lost
//! code, so every earlier code says "revoked".
//!
//! The typed short code (`K7P2Q-X9M4CZ`) is 5 characters of the voucher id in base 31 and 6
//! characters of a MAC over id, generation and day, from the alphabet without look-alikes. Each
//! check character comes from one MAC byte below 248 (= 8 × 31) taken modulo 31, so every
//! character is equally likely (a byte of 248 or more is skipped; more MAC blocks follow when
//! needed): 31⁶ ≈ 8.9 × 10⁸ codes per voucher and day, and failed attempts are throttled.

use crate::core::shared::signed::{self, CodeKey};
use chrono::{Datelike, NaiveDate, Weekday};

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 4 + 2 + 4;
/// The prefix of a meal QR's text.
pub const PREFIX: &str = "SW";
/// Characters after the prefix.
pub const TOKEN_CHARS: usize = signed::sealed_chars(BODY_LEN);

/// The short-code alphabet (the same as the venues'): no 0/O, 1/I/L.
pub const ALPHABET: &[u8] = signed::ALPHABET;
const ID_CHARS: usize = 5;
const MAC_CHARS: usize = 6;

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MealToken {
    pub voucher_id: i64,
    pub generation: i64,
    pub day: NaiveDate,
}

/// The keys of the meal codes, derived from the vault's signing key.
#[derive(Clone, Debug)]
pub struct MealKeys {
    key: CodeKey,
}

fn day_number(day: NaiveDate) -> u32 {
    u32::try_from(day.num_days_from_ce()).unwrap_or(0)
}

impl MealKeys {
    pub fn new(signing_key: &[u8; 32]) -> Self {
        Self {
            key: CodeKey::derive(signing_key, b"wallet-qr/v1"),
        }
    }

    fn body(t: &MealToken) -> [u8; BODY_LEN] {
        let mut b = [0u8; BODY_LEN];
        b[0] = VERSION;
        b[1..5].copy_from_slice(&(t.voucher_id as u32).to_be_bytes());
        b[5..7].copy_from_slice(&(t.generation as u16).to_be_bytes());
        b[7..11].copy_from_slice(&day_number(t.day).to_be_bytes());
        b
    }

    /// The QR text of a voucher's code for one day.
    pub fn sign(&self, t: &MealToken) -> String {
        self.key.seal(PREFIX, &Self::body(t))
    }

    /// Checks a QR text: `None` when it is not a valid meal code (shape or signature).
    pub fn verify(&self, text: &str) -> Option<MealToken> {
        let bytes = self.key.open(PREFIX, text, BODY_LEN)?;
        if bytes[0] != VERSION {
            return None;
        }
        let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let generation = u16::from_be_bytes([bytes[5], bytes[6]]);
        let day = u32::from_be_bytes([bytes[7], bytes[8], bytes[9], bytes[10]]);
        Some(MealToken {
            voucher_id: i64::from(id),
            generation: i64::from(generation),
            day: NaiveDate::from_num_days_from_ce_opt(i32::try_from(day).ok()?)?,
        })
    }

    /// The typed form of the same code: `K7P2Q-X9M4C`.
    pub fn short_code(&self, t: &MealToken) -> String {
        format!(
            "{}-{}",
            signed::base31(t.voucher_id as u64, ID_CHARS),
            self.key.check_chars(&Self::body(t), MAC_CHARS)
        )
    }

    /// Whether `code` (canonical form) is the code of this voucher, generation and day,
    /// compared in constant time.
    pub fn short_code_matches(&self, code: &str, t: &MealToken) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.short_code(t).as_bytes().ct_eq(code.as_bytes()))
    }
}

/// A typed short code in canonical form with the voucher id it names, or `None` when the
/// text is not shaped like one (case, spaces and dashes forgiven).
pub fn parse_short_code(input: &str) -> Option<(String, i64)> {
    let raw = crate::domain::fold_typed_code(input);
    if raw.len() != ID_CHARS + MAC_CHARS || !signed::in_alphabet(&raw) {
        return None;
    }
    let id = signed::parse_base31(&raw[..ID_CHARS])?;
    Some((format!("{}-{}", &raw[..ID_CHARS], &raw[ID_CHARS..]), id))
}

/// The school year a date belongs to: 2026 means 2026/27. From June the lists and offers
/// are for the year that starts in September.
pub fn school_year_of(day: NaiveDate) -> i64 {
    let y = i64::from(day.year());
    if day.month() >= 6 { y } else { y - 1 }
}

/// The first day after the school year: vouchers are valid until then.
pub fn school_year_end(year: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(year as i32 + 1, 6, 1).expect("a valid date")
}

/// Meals are served Monday to Friday between 1 September and 31 May, except the configured
/// holidays and vacations.
pub fn is_school_day(day: NaiveDate, holidays: &[NaiveDate]) -> bool {
    let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
    let in_term = day.month() >= 9 || day.month() <= 5;
    weekday && in_term && !holidays.contains(&day)
}

/// Parses `WALLET_HOLIDAYS`: dates `2026-12-16` and ranges `2026-12-29..2027-01-07`,
/// separated by commas. Bad items are returned as errors.
pub fn parse_holidays(text: &str) -> Result<Vec<NaiveDate>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let parse = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("bad date {s:?}"))
        };
        match item.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (parse(a)?, parse(b)?);
                if b < a || (b - a).num_days() > 366 {
                    return Err(format!("bad range {item:?}"));
                }
                let mut d = a;
                while d <= b {
                    out.push(d);
                    d = d.succ_opt().expect("a next day");
                }
            }
            None => out.push(parse(item)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_those_made_before_the_shared_signing_module() {
        // Made by the code of commit 08dad3a (before `core::shared::signed`), same key.
        let meal = MealKeys::new(&[5u8; 32]);
        let m = MealToken {
            voucher_id: 123_456,
            generation: 3,
            day: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
        };
        assert_eq!(meal.sign(&m), "SWAQAB4kAAAwALSnUTMpehzp-fvzlees_RVtxp");
        assert_eq!(meal.short_code(&m), "266GG-WJQWQE");
        assert_eq!(
            meal.verify("SWAQAB4kAAAwALSnUTMpehzp-fvzlees_RVtxp"),
            Some(m)
        );
    }

    fn keys() -> MealKeys {
        MealKeys::new(&[9u8; 32])
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_key_day_and_generation() {
        let k = keys();
        let t = MealToken {
            voucher_id: 123_456,
            generation: 3,
            day: day("2026-11-23"),
        };
        let text = k.sign(&t);
        assert_eq!(text.len(), PREFIX.len() + TOKEN_CHARS);
        assert_eq!(k.verify(&text), Some(t));
        assert_eq!(k.verify(&format!(" {text}\n")), Some(t));
        let other_day = k.sign(&MealToken {
            day: day("2026-11-24"),
            ..t
        });
        assert_ne!(text, other_day);
        assert!(MealKeys::new(&[8u8; 32]).verify(&text).is_none());
        // Any one changed character fails.
        for i in PREFIX.len()..text.len() {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let m = String::from_utf8(b).unwrap();
            assert!(k.verify(&m).is_none() || m == text, "position {i}");
        }
        assert!(k.verify("SWshort").is_none());
        assert!(k.verify("https://t.me/bot?start=abc").is_none());
    }

    #[test]
    fn check_characters_are_drawn_without_bias() {
        // With `byte % 31` the first 8 symbols would take 72/256 = 28.1% of the draws; drawn
        // without bias they take 8/31 = 25.8%. 60 000 draws put the two 12 standard deviations
        // apart; the keys are fixed, so the test is deterministic.
        let k = MealKeys::new(&[9u8; 32]);
        let day = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap();
        let mut low = 0usize;
        let mut all = 0usize;
        for voucher_id in 1..=10_000 {
            let code = k.short_code(&MealToken {
                voucher_id,
                generation: 1,
                day,
            });
            let check = code.split_once('-').unwrap().1;
            assert_eq!(check.len(), 6, "{code}");
            for b in check.bytes() {
                let i = ALPHABET.iter().position(|a| *a == b).unwrap();
                low += usize::from(i < 8);
                all += 1;
            }
        }
        let share = low as f64 / all as f64;
        assert!((share - 8.0 / 31.0).abs() < 0.008, "{share}");
    }

    #[test]
    fn short_codes_carry_the_id_and_check_the_day() {
        let k = keys();
        let t = MealToken {
            voucher_id: 28_000_000,
            generation: 1,
            day: day("2026-11-23"),
        };
        let code = k.short_code(&t);
        assert_eq!(code.len(), 12);
        let (canonical, id) = parse_short_code(&code.to_lowercase().replace('-', " ")).unwrap();
        assert_eq!((canonical.as_str(), id), (code.as_str(), 28_000_000));
        assert!(k.short_code_matches(&canonical, &t));
        let tomorrow = MealToken {
            day: day("2026-11-24"),
            ..t
        };
        assert!(!k.short_code_matches(&canonical, &tomorrow));
        let reissued = MealToken { generation: 2, ..t };
        assert!(!k.short_code_matches(&canonical, &reissued));
        assert!(
            parse_short_code("K7P-2QX9").is_none(),
            "a venue code is not a meal code"
        );
        assert!(parse_short_code("ABCDE-FGHI0").is_none());
    }

    #[test]
    fn calendar_and_school_years() {
        assert_eq!(school_year_of(day("2026-11-23")), 2026);
        assert_eq!(school_year_of(day("2027-03-01")), 2026);
        assert_eq!(school_year_of(day("2027-06-15")), 2027);
        assert_eq!(school_year_end(2026), day("2027-06-01"));
        let holidays = parse_holidays("2026-12-16, 2026-12-29..2027-01-02").unwrap();
        assert_eq!(holidays.len(), 6);
        assert!(is_school_day(day("2026-11-23"), &holidays)); // Monday
        assert!(!is_school_day(day("2026-11-21"), &holidays)); // Saturday
        assert!(!is_school_day(day("2026-12-16"), &holidays));
        assert!(!is_school_day(day("2026-12-30"), &holidays));
        assert!(!is_school_day(day("2027-07-05"), &holidays)); // summer
        assert!(parse_holidays("2026-13-01").is_err());
        assert!(parse_holidays("2027-01-02..2026-12-29").is_err());
    }
}
