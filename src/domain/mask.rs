//! Personal data in free text: every IIN and phone number a person writes into a support
//! message, a meal comment, a violation note or a rejection reason is masked before the text
//! is relayed, stored or logged.
//!
//! A "number" here is a run of digit groups (ASCII or full-width digits) joined by the
//! separators people type: spaces, no-break spaces, dashes, dots and brackets, optionally
//! after a `+`. From each group the longest run of following groups that forms a valid IIN
//! (12 digits, check digit, date: the forms `Iin::parse` accepts) or a phone number is
//! masked: `+` and 10-15 digits; 11 digits starting with 7 or 8 (`8 701 123 45 67`); 10 digits
//! starting with 7 (`701 123 45 67`). Other numbers (amounts, dates, ticket numbers, a
//! 12-digit number with a wrong check digit) stay as written.

use super::Iin;

/// What replaces an IIN.
pub const IIN_MASK: &str = "•••• •••• ••••";
/// What replaces a phone number.
pub const PHONE_MASK: &str = "+• ••• ••• •• ••";

/// The value of an ASCII or full-width decimal digit.
fn digit_of(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{ff10}'..='\u{ff19}' => Some((c as u32 - 0xff10) as u8),
        _ => None,
    }
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}'
            | '\u{202f}'
            | '\u{2009}'
            | '\u{3000}'
            | '-'
            | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{ff0d}'
            | '.'
            | '('
            | ')'
    )
}

/// At most this many separator characters between two groups of one number (`) ` or ` - `).
const MAX_GAP: usize = 3;

/// One group of digits: its byte range in the text and its digits.
struct Group {
    start: usize,
    end: usize,
    digits: Vec<u8>,
    /// Byte index where the separators before the next group end (the next group's start),
    /// when the next group is close enough to belong to the same number.
    joins_next: bool,
}

fn groups(text: &str) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut gap = 0usize;
    let mut gap_ok = false;
    while let Some((i, c)) = chars.next() {
        if let Some(d) = digit_of(c) {
            let mut g = Group {
                start: i,
                end: i + c.len_utf8(),
                digits: vec![d],
                joins_next: false,
            };
            while let Some(&(j, c2)) = chars.peek() {
                match digit_of(c2) {
                    Some(d2) => {
                        g.digits.push(d2);
                        g.end = j + c2.len_utf8();
                        chars.next();
                    }
                    None => break,
                }
            }
            if gap_ok && let Some(prev) = out.last_mut() {
                prev.joins_next = true;
            }
            out.push(g);
            gap = 0;
            gap_ok = true;
        } else if is_separator(c) && gap_ok && gap < MAX_GAP {
            gap += 1;
        } else {
            gap_ok = false;
        }
    }
    // A trailing gap after the last group joins nothing.
    out
}

fn is_phone(digits: &[u8], plus: bool) -> bool {
    let n = digits.len();
    if plus {
        return (10..=15).contains(&n) && digits[0] != 0;
    }
    (n == 11 && (digits[0] == 7 || digits[0] == 8)) || (n == 10 && digits[0] == 7)
}

fn is_iin(digits: &[u8]) -> bool {
    if digits.len() != 12 {
        return false;
    }
    let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    Iin::parse(&s).is_ok()
}

/// Masks every IIN and phone number in `text`; everything else is kept as written.
pub fn mask_personal(text: &str) -> String {
    let gs = groups(text);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0usize;
    let mut i = 0usize;
    while i < gs.len() {
        let plus = text[..gs[i].start].ends_with('+') || text[..gs[i].start].ends_with('\u{ff0b}');
        let mut digits: Vec<u8> = Vec::new();
        let mut best: Option<(usize, &str)> = None;
        let mut j = i;
        loop {
            digits.extend_from_slice(&gs[j].digits);
            if digits.len() > 15 {
                break;
            }
            if is_iin(&digits) {
                best = Some((j, IIN_MASK));
            } else if is_phone(&digits, plus) {
                best = Some((j, PHONE_MASK));
            }
            if !gs[j].joins_next || j + 1 >= gs.len() {
                break;
            }
            j += 1;
        }
        match best {
            Some((last, mask)) => {
                let mut start = gs[i].start;
                if plus {
                    start -= text[..start].chars().next_back().map_or(0, char::len_utf8);
                }
                out.push_str(&text[copied..start]);
                out.push_str(mask);
                copied = gs[last].end;
                i = last + 1;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const IIN: &str = "900101300017";

    #[test]
    fn iins_in_the_forms_people_type() {
        for written in [
            "900101300017",
            "900101 300017",
            "9001 0130 0017",
            "900-101-300-017",
            "900101\u{a0}300017",
            "9001\u{202f}0130\u{202f}0017",
            "９００１０１３０００１７",
            "９００１０１ ３０００１７",
        ] {
            let text = format!("мой ИИН {written}, спасибо");
            assert_eq!(
                mask_personal(&text),
                format!("мой ИИН {IIN_MASK}, спасибо"),
                "{written}"
            );
        }
        assert_eq!(mask_personal(&format!("a{IIN}")), format!("a{IIN_MASK}"));
        assert_eq!(
            mask_personal(&format!("ИИН:{IIN}.")),
            format!("ИИН:{IIN_MASK}.")
        );
    }

    #[test]
    fn phones_in_common_forms() {
        for written in [
            "+77011234567",
            "+7 701 123 45 67",
            "+7 (701) 123-45-67",
            "8 (701) 123-45-67",
            "87011234567",
            "77011234567",
            "701 123 4567",
            "7011234567",
            "8-701-123-45-67",
            "8.701.123.45.67",
            "+998 90 123 45 67",
            "＋７ ７０１ １２３ ４５ ６７",
        ] {
            let text = format!("звоните {written} вечером");
            assert_eq!(
                mask_personal(&text),
                format!("звоните {PHONE_MASK} вечером"),
                "{written}"
            );
        }
    }

    #[test]
    fn two_numbers_side_by_side_are_both_masked() {
        assert_eq!(
            mask_personal(&format!("{IIN} 87011234567")),
            format!("{IIN_MASK} {PHONE_MASK}")
        );
        assert_eq!(
            mask_personal("87011234567 87021234567"),
            format!("{PHONE_MASK} {PHONE_MASK}")
        );
    }

    #[test]
    fn ordinary_numbers_stay() {
        for kept in [
            "",
            "900101300018",
            "9001013000171",
            "ticket 42, 3 meals on 12.05.2024 at 12:30",
            "сумма 1 500 тенге",
            "код K7P-2QX9",
            "2#1",
            "123456789",
        ] {
            assert_eq!(mask_personal(kept), kept);
        }
    }

    fn written_forms() -> impl Strategy<Value = String> {
        // A valid IIN or a Kazakh phone, its digits ASCII or full-width, split by separators.
        let iin = (1u16..9999).prop_map(|serial| {
            crate::domain::Iin::synthetic(
                chrono::NaiveDate::from_ymd_opt(1985, 7, 14).unwrap(),
                crate::domain::Sex::Female,
                serial,
            )
            .expose()
        });
        // 7 or 8 or +7, then 70x and seven more digits: 11 digits.
        let phone = (
            0u32..100_000_000,
            prop::sample::select(vec!["8", "7", "+7"]),
        )
            .prop_map(|(n, p)| format!("{p}70{n:08}"));
        (
            prop_oneof![iin, phone],
            prop::collection::vec(prop::sample::select(vec!["", " ", "-", "\u{a0}", ") "]), 16),
            any::<bool>(),
        )
            .prop_map(|(number, seps, wide)| {
                let mut s = String::new();
                for (k, c) in number.chars().enumerate() {
                    if k > 1 {
                        s.push_str(seps[k]);
                    }
                    match (wide, c.to_digit(10)) {
                        (true, Some(d)) => s.push(char::from_u32(0xff10 + d).unwrap()),
                        _ => s.push(c),
                    }
                }
                s
            })
    }

    proptest! {
        #[test]
        fn no_digit_of_a_written_iin_or_phone_survives(
            before in "[a-zA-Zа-я,:!? ]{0,12}",
            number in written_forms(),
            after in "[a-zA-Zа-я,:!? ]{0,12}",
        ) {
            let masked = mask_personal(&format!("{before} {number} {after}"));
            prop_assert!(!masked.chars().any(|c| digit_of(c).is_some()), "{masked}");
        }

        #[test]
        fn never_panics_and_keeps_text_without_digits(s in "\\PC{0,64}") {
            let masked = mask_personal(&s);
            if !s.chars().any(|c| digit_of(c).is_some()) {
                prop_assert_eq!(masked, s);
            }
        }
    }
}
