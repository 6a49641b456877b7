//! The eligible OKED activity codes and the pilot categories they may apply for.
//!
//! The list is data (`data/eligible_oked.csv`, compiled in; `ASHYQ_ELIGIBLE_OKED` names a
//! replacement file); the categories and what they imply (admission rule, sector
//! association pre-approval) are fixed here because every category has localised texts.

use crate::status::VenueCategory;

/// A pilot category of business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// Stable key, also the text key suffix (`biz-category` selector).
    pub key: &'static str,
    /// Admission rule of its venues.
    pub admission: VenueCategory,
    /// The sector association that pre-approves applications, if any.
    pub association: Option<&'static str>,
}

const fn cat(
    key: &'static str,
    admission: VenueCategory,
    association: Option<&'static str>,
) -> Category {
    Category {
        key,
        admission,
        association,
    }
}

/// The pilot's categories (domain.md: "Businesses that joined in the pilot").
pub const CATEGORIES: [Category; 15] = [
    cat("catering", VenueCategory::Ordinary, Some("catering")),
    cat("cinemas", VenueCategory::Ordinary, Some("cinemas")),
    cat("theatres", VenueCategory::Ordinary, None),
    cat("concert_halls", VenueCategory::Ordinary, None),
    cat("computer_clubs", VenueCategory::Ordinary, None),
    cat("bowling_billiards", VenueCategory::Ordinary, None),
    cat("beauty_salons", VenueCategory::Ordinary, None),
    cat("fitness", VenueCategory::Ordinary, None),
    cat("spa", VenueCategory::Ordinary, None),
    cat("pools_baths", VenueCategory::Ordinary, None),
    cat("stadiums", VenueCategory::Ordinary, None),
    cat("karaoke", VenueCategory::Ordinary, None),
    cat("banquet_halls", VenueCategory::PcrRequired, None),
    cat("tourist_transport", VenueCategory::PcrRequired, None),
    cat("airports", VenueCategory::PcrRequired, None),
];

pub fn category(key: &str) -> Option<Category> {
    CATEGORIES.iter().copied().find(|c| c.key == key)
}

/// The built-in list.
pub const DEFAULT_LIST: &str = include_str!("../../../data/eligible_oked.csv");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OkedError {
    #[error("an OKED code has 5 digits")]
    Format,
    #[error("OKED code {0} is not on the list of eligible activities")]
    Ineligible(String),
}

#[derive(Debug, thiserror::Error)]
#[error("eligible OKED list, line {line}: {reason}")]
pub struct ListError {
    pub line: usize,
    pub reason: String,
}

/// The eligible codes: `(code, category)` pairs in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligible {
    pairs: Vec<(String, Category)>,
}

impl Default for Eligible {
    fn default() -> Self {
        Self::parse(DEFAULT_LIST).expect("the built-in OKED list is valid")
    }
}

impl Eligible {
    /// Parses `code,category` lines; `#` starts a comment line.
    pub fn parse(text: &str) -> Result<Self, ListError> {
        let mut pairs = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: &str| ListError {
                line: i + 1,
                reason: reason.into(),
            };
            let (code, key) = line
                .split_once(',')
                .ok_or_else(|| err("expected `code,category`"))?;
            let code = normalise(code).map_err(|_| err("the code is not 5 digits"))?;
            let category = category(key.trim()).ok_or_else(|| err("unknown category"))?;
            pairs.push((code, category));
        }
        if pairs.is_empty() {
            return Err(ListError {
                line: 0,
                reason: "no code".into(),
            });
        }
        Ok(Self { pairs })
    }

    /// The categories a code may apply for, or why it may not.
    pub fn check(&self, input: &str) -> Result<(String, Vec<Category>), OkedError> {
        let code = normalise(input)?;
        let cats: Vec<Category> = self
            .pairs
            .iter()
            .filter(|(c, _)| *c == code)
            .map(|(_, cat)| *cat)
            .collect();
        if cats.is_empty() {
            return Err(OkedError::Ineligible(code));
        }
        Ok((code, cats))
    }

    /// Whether `category` may be chosen with `code`.
    pub fn allows(&self, code: &str, category: &str) -> bool {
        self.pairs
            .iter()
            .any(|(c, cat)| c == code && cat.key == category)
    }

    pub fn pairs(&self) -> &[(String, Category)] {
        &self.pairs
    }
}

/// `56.10.1`, `56 101` and `56101` are the same code.
fn normalise(input: &str) -> Result<String, OkedError> {
    let digits: String = input
        .chars()
        .filter(|c| !matches!(c, '.' | ' ' | '-'))
        .collect();
    if digits.len() != 5 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(OkedError::Format);
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_covers_every_pilot_category() {
        let list = Eligible::default();
        for c in CATEGORIES {
            assert!(
                list.pairs().iter().any(|(_, cat)| cat.key == c.key),
                "{} has no code",
                c.key
            );
        }
        let (code, cats) = list.check("56.10.1").unwrap();
        assert_eq!(code, "56101");
        assert_eq!(cats[0].association, Some("catering"));
        assert_eq!(list.check("59140").unwrap().1[0].key, "cinemas");
        assert!(list.allows("93290", "karaoke"));
        assert!(!list.allows("93290", "cinemas"));
    }

    #[test]
    fn bad_codes_are_refused_with_a_reason() {
        let list = Eligible::default();
        assert_eq!(list.check("4711"), Err(OkedError::Format));
        assert_eq!(list.check("47a11"), Err(OkedError::Format));
        // Retail trade is not a pilot activity.
        assert_eq!(
            list.check("47111"),
            Err(OkedError::Ineligible("47111".into()))
        );
    }

    #[test]
    fn list_files_are_checked() {
        assert!(Eligible::parse("# only a comment\n").is_err());
        assert_eq!(Eligible::parse("56101,nightclubs").unwrap_err().line, 1);
        assert!(Eligible::parse("5610,catering").is_err());
        let list = Eligible::parse("47111,catering\n").unwrap();
        assert!(list.check("47111").is_ok());
    }
}
