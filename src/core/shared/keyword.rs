//! Keywords: what a person types on a channel without buttons or a dialogue (an SMS from a
//! feature phone). Parsed once into a [`Keyword`]; the router turns it into a route.
//!
//! - `STATUS`, `СТАТУС`, `МӘРТЕБЕ` (any case, Latin `MARTEBE` too), optionally followed by
//!   an IIN: the person's colour;
//! - `HELP`, `КӨМЕК`, `ПОМОЩЬ` (and `?`): what works;
//! - `RU`/`РУ`, `KZ`/`ҚЗ`/`КЗ`/`KK`, `EN`: the language of the replies.
//!
//! Anything else is [`Keyword::Unknown`] (an offer's `N#M` answer is taken before, by the
//! wallet).

use crate::domain::{Iin, Lang};

/// One keyword message.
#[derive(Debug, Clone, PartialEq)]
pub enum Keyword {
    /// `STATUS` alone (`None`: the IIN bound to the sender's number), or with an IIN.
    Status(Option<Iin>),
    /// `STATUS` followed by something that is not a valid IIN.
    StatusBadIin,
    Help,
    Language(Lang),
    Unknown,
}

/// The longest text read as a keyword (a keyword with an IIN is about 20 characters).
pub const MAX_KEYWORD_CHARS: usize = 64;

const STATUS: &[&str] = &["STATUS", "СТАТУС", "МӘРТЕБЕ", "МАРТЕБЕ", "MARTEBE"];
const HELP: &[&str] = &["HELP", "КӨМЕК", "КОМЕК", "ПОМОЩЬ", "ПОМОЩ", "?"];
const LANGS: &[(&str, Lang)] = &[
    ("RU", Lang::Ru),
    ("РУ", Lang::Ru),
    ("KZ", Lang::Kk),
    ("KK", Lang::Kk),
    ("ҚЗ", Lang::Kk),
    ("КЗ", Lang::Kk),
    ("EN", Lang::En),
];

impl Keyword {
    pub fn parse(text: &str) -> Keyword {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_KEYWORD_CHARS {
            return Keyword::Unknown;
        }
        let upper = text.to_uppercase();
        let mut words = upper
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '.'))
            .filter(|w| !w.is_empty());
        let Some(first) = words.next() else {
            return Keyword::Unknown;
        };
        let rest: Vec<&str> = words.collect();
        if STATUS.contains(&first) {
            if rest.is_empty() {
                return Keyword::Status(None);
            }
            return match Iin::parse(&rest.concat()) {
                Ok(iin) => Keyword::Status(Some(iin)),
                Err(_) => Keyword::StatusBadIin,
            };
        }
        if !rest.is_empty() {
            return Keyword::Unknown;
        }
        if HELP.contains(&first) {
            return Keyword::Help;
        }
        LANGS
            .iter()
            .find(|(word, _)| *word == first)
            .map_or(Keyword::Unknown, |(_, lang)| Keyword::Language(*lang))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IIN: &str = "900101300017";

    #[test]
    fn status_in_three_languages_any_case_with_or_without_the_iin() {
        for word in ["STATUS", "status", "Статус", "СТАТУС", "мәртебе", "МӘРТЕБЕ"]
        {
            assert_eq!(Keyword::parse(word), Keyword::Status(None), "{word}");
            assert_eq!(
                Keyword::parse(&format!(" {word}  {IIN} ")),
                Keyword::Status(Some(Iin::parse(IIN).unwrap())),
                "{word}"
            );
        }
        assert_eq!(
            Keyword::parse("status 900101 300017"),
            Keyword::Status(Some(Iin::parse(IIN).unwrap()))
        );
        assert_eq!(
            Keyword::parse("status: 900101300017"),
            Keyword::Status(Some(Iin::parse(IIN).unwrap()))
        );
        assert_eq!(Keyword::parse("status 900101300018"), Keyword::StatusBadIin);
        assert_eq!(Keyword::parse("status please"), Keyword::StatusBadIin);
    }

    #[test]
    fn help_and_languages() {
        for word in ["help", "HELP", "көмек", "Помощь", "?"] {
            assert_eq!(Keyword::parse(word), Keyword::Help, "{word}");
        }
        assert_eq!(Keyword::parse("ru"), Keyword::Language(Lang::Ru));
        assert_eq!(Keyword::parse("РУ"), Keyword::Language(Lang::Ru));
        assert_eq!(Keyword::parse("kz"), Keyword::Language(Lang::Kk));
        assert_eq!(Keyword::parse("ҚЗ"), Keyword::Language(Lang::Kk));
        assert_eq!(Keyword::parse("En"), Keyword::Language(Lang::En));
    }

    #[test]
    fn anything_else_is_unknown() {
        for text in ["", "  ", "hello", "help me", "ru en", "1#1", "статус?!"] {
            assert_eq!(Keyword::parse(text), Keyword::Unknown, "{text:?}");
        }
        let long = "STATUS ".repeat(200);
        assert_eq!(Keyword::parse(&long), Keyword::Unknown);
        assert_eq!(Keyword::parse(&"я".repeat(1000)), Keyword::Unknown);
    }
}
