//! Masking personal data in free text.

/// Hides every valid IIN (12 digits in a row) in a user's text before it leaves for the
/// operators or is kept: operators never see an IIN, and none is stored in plain text.
pub fn mask_iins(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == 12 && crate::domain::Iin::parse(digits).is_ok() {
            out.push_str("•••• •••• ••••");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iins_are_masked_in_relayed_texts() {
        assert_eq!(
            mask_iins("ИИН 900101300017, тел 87011234567"),
            "ИИН •••• •••• ••••, тел 87011234567"
        );
        // Not an IIN: wrong check digit, or longer runs of digits.
        assert_eq!(mask_iins("900101300018"), "900101300018");
        assert_eq!(mask_iins("9001013000171"), "9001013000171");
        assert_eq!(mask_iins(""), "");
        assert_eq!(mask_iins("a900101300017"), "a•••• •••• ••••");
    }
}
