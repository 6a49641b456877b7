//! Phone numbers as shared from a messenger contact or an SMS gateway.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("a phone number has 10 to 15 digits")]
    WrongLength,
    #[error("a phone number contains only digits, spaces, dashes, brackets and a leading +")]
    BadCharacters,
}

/// A phone number in E.164 form (`+77011234567`). `Debug` masks it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts `+7 701 123 45 67`, `77011234567` (Telegram sends no plus),
    /// `8 701 123 45 67` (the domestic trunk prefix) and other countries' numbers.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let mut digits = String::with_capacity(16);
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(PhoneError::BadCharacters),
            }
        }
        // Domestic format: 8 7xx xxx xx xx.
        if digits.len() == 11 && digits.starts_with('8') && !trimmed.starts_with('+') {
            digits.replace_range(0..1, "7");
        }
        // Ten digits starting with 7 are a Kazakh mobile number typed without the country code.
        if digits.len() == 10 && digits.starts_with('7') && !trimmed.starts_with('+') {
            digits.insert(0, '7');
        }
        if !(10..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(PhoneError::WrongLength);
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The E.164 string, for keyed hashing, encryption and the SMS gateway only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Kazakhstan's numbers: +7 followed by 6 or 7 (Russia shares +7 with 3, 4, 8, 9).
    pub fn is_kazakh(&self) -> bool {
        self.0.len() == 12 && (self.0.starts_with("+76") || self.0.starts_with("+77"))
    }

    /// `+7 ••• ••• •• 67`: only the last two digits stay visible.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let (cc, rest) = if let Some(rest) = digits.strip_prefix('7') {
            ("7", rest)
        } else {
            digits.split_at(digits.len().saturating_sub(10).max(1))
        };
        let last2 = &rest[rest.len() - 2..];
        format!("+{cc} ••• ••• •• {last2}")
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_people_and_messengers_use() {
        for input in [
            "+7 701 123 45 67",
            "77011234567",
            "8 (701) 123-45-67",
            "7011234567",
            "+77011234567",
        ] {
            assert_eq!(
                Phone::parse(input).unwrap().expose(),
                "+77011234567",
                "{input}"
            );
        }
        let ru = Phone::parse("+7 916 123 45 67").unwrap();
        assert!(!ru.is_kazakh());
        assert!(Phone::parse("+77011234567").unwrap().is_kazakh());
        assert_eq!(
            Phone::parse("+998 90 123 45 67").unwrap().expose(),
            "+998901234567"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Phone::parse("12345"), Err(PhoneError::WrongLength));
        assert_eq!(
            Phone::parse("+7701123456789012"),
            Err(PhoneError::WrongLength)
        );
        assert_eq!(Phone::parse("call me"), Err(PhoneError::BadCharacters));
        assert_eq!(
            Phone::parse("+7701+1234567"),
            Err(PhoneError::BadCharacters)
        );
        assert_eq!(Phone::parse("0701123456789"), Err(PhoneError::WrongLength));
    }

    #[test]
    fn mask_and_debug_hide_the_number() {
        let p = Phone::parse("+77011234567").unwrap();
        assert_eq!(p.masked(), "+7 ••• ••• •• 67");
        assert!(!format!("{p:?}").contains("7011234"));
        let uz = Phone::parse("+998901234567").unwrap();
        assert_eq!(uz.masked(), "+99 ••• ••• •• 67");
    }
}
