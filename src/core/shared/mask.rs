//! Masking personal data in free text.

/// Hides every IIN and phone number in a user's text before it leaves for the operators or
/// is kept (`domain::mask_personal`): operators never see one, and none is stored.
pub fn mask_iins(text: &str) -> String {
    crate::domain::mask_personal(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iins_are_masked_in_relayed_texts() {
        assert_eq!(
            mask_iins("ИИН 900101300017, тел 87011234567"),
            "ИИН •••• •••• ••••, тел +• ••• ••• •• ••"
        );
        // Not an IIN: wrong check digit, or longer runs of digits.
        assert_eq!(mask_iins("900101300018"), "900101300018");
        assert_eq!(mask_iins("9001013000171"), "9001013000171");
        assert_eq!(mask_iins(""), "");
        assert_eq!(mask_iins("a900101300017"), "a•••• •••• ••••");
    }
}
