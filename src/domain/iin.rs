//! IIN (individual identification number) and BIN (business identification number).
//!
//! Both are 12 digits with the same check digit (domain.md, "Identity numbers").
//! IIN digits 1-6 are the birth date YYMMDD, digit 7 the century and sex.

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// Why a string is not an IIN. Each variant gets its own message in the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    #[error("an IIN has 12 digits, got {0}")]
    WrongLength(usize),
    #[error("an IIN contains only digits")]
    NotDigits,
    #[error("the check digit does not match")]
    BadChecksum,
    #[error("the birth date or century digit is impossible")]
    ImpossibleDate,
}

/// Why a string is not a BIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BinError {
    #[error("a BIN has 12 digits, got {0}")]
    WrongLength(usize),
    #[error("a BIN contains only digits")]
    NotDigits,
    #[error("the check digit does not match")]
    BadChecksum,
    #[error("the registration month is impossible")]
    ImpossibleMonth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// Strips the separators people type (spaces, no-break spaces, dashes) and
/// returns the 12 digits, or the length / character error.
fn twelve_digits(input: &str) -> Result<[u8; 12], (usize, bool)> {
    let mut digits = [0u8; 12];
    let mut n = 0usize;
    let mut non_digit = false;
    for c in input.trim().chars() {
        match c {
            ' ' | '\u{a0}' | '\u{202f}' | '-' | '\u{2010}' | '\u{2011}' | '\u{2013}' => {}
            '0'..='9' => {
                if n < 12 {
                    digits[n] = c as u8 - b'0';
                }
                n += 1;
            }
            _ => non_digit = true,
        }
    }
    if non_digit {
        return Err((n, true));
    }
    if n != 12 {
        return Err((n, false));
    }
    Ok(digits)
}

/// The check digit shared by IIN and BIN, or `None` when the number can have none.
fn check_digit(d: &[u8; 12]) -> Option<u8> {
    let weighted = |weights: [u32; 11]| -> u32 {
        d[..11]
            .iter()
            .zip(weights)
            .map(|(&x, w)| u32::from(x) * w)
            .sum::<u32>()
            % 11
    };
    let first = weighted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if first != 10 {
        return Some(first as u8);
    }
    let second = weighted([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
    (second != 10).then_some(second as u8)
}

fn to_string(d: &[u8; 12]) -> String {
    d.iter().map(|x| char::from(b'0' + x)).collect()
}

/// A valid IIN. `Debug` never prints the number: it is personal data.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iin {
    digits: [u8; 12],
    birth_date: NaiveDate,
}

impl Iin {
    /// Parses a typed IIN; spaces and dashes are tolerated.
    pub fn parse(input: &str) -> Result<Self, IinError> {
        let d = twelve_digits(input).map_err(|(n, non_digit)| {
            if non_digit {
                IinError::NotDigits
            } else {
                IinError::WrongLength(n)
            }
        })?;
        let century = match d[6] {
            1 | 2 => 1800,
            3 | 4 => 1900,
            5 | 6 => 2000,
            _ => return Err(IinError::ImpossibleDate),
        };
        let year = century + i32::from(d[0] * 10 + d[1]);
        let month = u32::from(d[2] * 10 + d[3]);
        let day = u32::from(d[4] * 10 + d[5]);
        let birth_date =
            NaiveDate::from_ymd_opt(year, month, day).ok_or(IinError::ImpossibleDate)?;
        if check_digit(&d) != Some(d[11]) {
            return Err(IinError::BadChecksum);
        }
        Ok(Self {
            digits: d,
            birth_date,
        })
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    pub fn sex(&self) -> Sex {
        if self.digits[6] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Full years of age on `date` (a birthday counts on its day; 29 February on 28 February).
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let b = self.birth_date;
        let mut years = date.year() - b.year();
        if (date.month(), date.day()) < (b.month(), b.day()) {
            years -= 1;
        }
        years.max(0) as u32
    }

    /// The canonical 12 digits, for keyed hashing and encryption only.
    pub fn expose(&self) -> String {
        to_string(&self.digits)
    }

    /// `•••• •••• 1234`: what the bot may show back to its owner.
    pub fn masked(&self) -> String {
        let last4 = to_string(&self.digits)[8..].to_string();
        format!("•••• •••• {last4}")
    }

    /// Builds a valid IIN for a birth date (tests and demo data): the serial is
    /// adjusted until a check digit exists.
    pub fn synthetic(birth: NaiveDate, sex: Sex, serial: u16) -> Self {
        let century_digit = match (birth.year() / 100, sex) {
            (18, Sex::Male) => 1,
            (18, Sex::Female) => 2,
            (19, Sex::Male) => 3,
            (19, Sex::Female) => 4,
            (_, Sex::Male) => 5,
            (_, Sex::Female) => 6,
        };
        let yy = (birth.year() % 100) as u32;
        let mut serial = u32::from(serial) % 10_000;
        loop {
            let s = format!(
                "{yy:02}{:02}{:02}{century_digit}{serial:04}0",
                birth.month(),
                birth.day()
            );
            let mut d = [0u8; 12];
            for (i, b) in s.bytes().enumerate() {
                d[i] = b - b'0';
            }
            if let Some(c) = check_digit(&d) {
                d[11] = c;
                return Self {
                    digits: d,
                    birth_date: birth,
                };
            }
            serial = (serial + 1) % 10_000;
        }
    }
}

impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iin({})", self.masked())
    }
}

/// A valid BIN. Not personal data: it is printed freely.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bin([u8; 12]);

impl Bin {
    pub fn parse(input: &str) -> Result<Self, BinError> {
        let d = twelve_digits(input).map_err(|(n, non_digit)| {
            if non_digit {
                BinError::NotDigits
            } else {
                BinError::WrongLength(n)
            }
        })?;
        let month = d[2] * 10 + d[3];
        if !(1..=12).contains(&month) {
            return Err(BinError::ImpossibleMonth);
        }
        if check_digit(&d) != Some(d[11]) {
            return Err(BinError::BadChecksum);
        }
        Ok(Self(d))
    }

    pub fn as_string(&self) -> String {
        to_string(&self.0)
    }
}

impl fmt::Display for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_string(&self.0))
    }
}

impl fmt::Debug for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bin({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn accepts_a_real_format_iin_with_separators() {
        // 900101 3 0001 ?: a man born on 1 January 1990; check digit computed by hand:
        // 9*1+0*2+0*3+1*4+0*5+1*6+3*7+0*8+0*9+0*10+1*11 = 51, 51 % 11 = 7.
        let iin = Iin::parse("900101 300017").unwrap();
        assert_eq!(iin.birth_date(), date(1990, 1, 1));
        assert_eq!(iin.sex(), Sex::Male);
        assert_eq!(iin.expose(), "900101300017");
        assert_eq!(Iin::parse(" 9001-0130-0017 ").unwrap(), iin);
        assert_eq!(Iin::parse("900101\u{a0}300017").unwrap(), iin);
    }

    #[test]
    fn second_weight_row_is_used_when_the_first_gives_ten() {
        // Weighted 1..11 sum of 00010140000 is 0*.. + 1*4 + 1*6 + 4*7 = 38 -> 38 % 11 = 5; find one
        // that gives 10 by search and check against the second row.
        let mut found = false;
        for serial in 0..10_000u32 {
            let s = format!("0001014{serial:04}");
            let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
            let first: u32 = d.iter().zip(1..=11).map(|(x, w)| x * w).sum::<u32>() % 11;
            if first != 10 {
                continue;
            }
            let w2 = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
            let second: u32 = d.iter().zip(w2).map(|(x, w)| x * w).sum::<u32>() % 11;
            let candidate = format!("{s}{}", second % 10);
            let parsed = Iin::parse(&candidate);
            if second == 10 {
                assert_eq!(parsed, Err(IinError::BadChecksum), "{candidate}");
            } else {
                assert!(parsed.is_ok(), "{candidate}");
                found = true;
            }
        }
        assert!(found);
    }

    #[test]
    fn every_error_kind() {
        assert_eq!(Iin::parse("90010130001"), Err(IinError::WrongLength(11)));
        assert_eq!(Iin::parse("9001013000177"), Err(IinError::WrongLength(13)));
        assert_eq!(Iin::parse(""), Err(IinError::WrongLength(0)));
        assert_eq!(Iin::parse("90010130001a"), Err(IinError::NotDigits));
        assert_eq!(Iin::parse("900101300018"), Err(IinError::BadChecksum));
        // 31 February 1990
        assert_eq!(Iin::parse("900231300017"), Err(IinError::ImpossibleDate));
        // century digit 0 and 7
        assert_eq!(Iin::parse("900101000017"), Err(IinError::ImpossibleDate));
        assert_eq!(Iin::parse("900101700017"), Err(IinError::ImpossibleDate));
    }

    #[test]
    fn age_counts_full_years_and_birthdays() {
        let iin = Iin::synthetic(date(2008, 11, 21), Sex::Female, 42);
        assert_eq!(iin.sex(), Sex::Female);
        assert_eq!(iin.age_on(date(2026, 11, 20)), 17);
        assert_eq!(iin.age_on(date(2026, 11, 21)), 18);
        let leap = Iin::synthetic(date(2004, 2, 29), Sex::Male, 7);
        assert_eq!(leap.age_on(date(2022, 2, 28)), 17);
        assert_eq!(leap.age_on(date(2022, 3, 1)), 18);
    }

    #[test]
    fn synthetic_iins_parse_back() {
        for (i, y) in (1930..2020).step_by(7).enumerate() {
            let iin = Iin::synthetic(
                date(y, 1 + (i as u32 % 12), 1 + (i as u32 % 28)),
                Sex::Male,
                i as u16,
            );
            assert_eq!(Iin::parse(&iin.expose()).unwrap(), iin);
        }
    }

    #[test]
    fn debug_and_mask_hide_the_number() {
        let iin = Iin::parse("900101300017").unwrap();
        assert_eq!(iin.masked(), "•••• •••• 0017");
        assert!(!format!("{iin:?}").contains("900101"));
    }

    #[test]
    fn bin_uses_the_same_check_digit() {
        // Registered in April 2010, entity kind 4: 1004 4 000123 ?
        let base = "10044000123";
        let good = (0..10)
            .map(|c| format!("{base}{c}"))
            .find(|s| Bin::parse(s).is_ok())
            .expect("one check digit fits");
        let bin = Bin::parse(&good).unwrap();
        assert_eq!(bin.to_string(), good);
        let last = good.as_bytes()[11] - b'0';
        let bad = format!("{base}{}", (last + 1) % 10);
        assert_eq!(Bin::parse(&bad), Err(BinError::BadChecksum));
        assert_eq!(Bin::parse("101340001230"), Err(BinError::ImpossibleMonth));
        assert_eq!(Bin::parse("1004"), Err(BinError::WrongLength(4)));
        assert_eq!(Bin::parse("1004-4000-123x"), Err(BinError::NotDigits));
    }
}
