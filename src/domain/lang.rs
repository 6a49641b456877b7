use serde::{Deserialize, Serialize};
use std::fmt;

/// The languages every user-facing text exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Kk,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    /// The language of a chat that never chose one and whose messenger gave no usable hint:
    /// Kazakh, the state language. `/start` then offers all three.
    pub const FALLBACK: Lang = Lang::Kk;

    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The language's own name, shown on the language buttons.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Kk => "Қазақша",
            Lang::Ru => "Русский",
            Lang::En => "English",
        }
    }

    /// Our code, as stored.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "kk" => Some(Lang::Kk),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// A messenger's IETF tag (`ru`, `kk`, `ru-RU`, `kk-KZ`). Only Kazakh and Russian are taken
    /// on trust; anybody else is asked, as the bot serves Kazakhstan.
    pub fn from_messenger_hint(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "kk" | "kz" => Some(Lang::Kk),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The best language to write in before the user chose one: like
    /// [`Lang::from_messenger_hint`], and English for English clients.
    pub fn guess_from_hint(tag: &str) -> Option<Self> {
        Self::from_messenger_hint(tag).or_else(|| {
            let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
            (primary == "en").then_some(Lang::En)
        })
    }

    /// A browser's `Accept-Language` header (`ru-RU,ru;q=0.9,en;q=0.8`): the supported
    /// language with the highest weight (the first one among equals; `q=0` refuses), and
    /// Kazakh, the state language, when none of ours is asked for or the header is unusable.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(Lang, u32)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(|t| Self::guess_from_hint(t.trim())) else {
                continue;
            };
            let mut weight = 1000;
            for p in parts {
                if let Some(q) = p
                    .trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
                {
                    weight = q
                        .trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .map_or(0, |q| (q * 1000.0).round() as u32);
                }
            }
            if weight > 0 && best.is_none_or(|(_, w)| weight > w) {
                best = Some((lang, weight));
            }
        }
        best.map_or(Lang::FALLBACK, |(l, _)| l)
    }

    /// A button label or a typed name ("1", "Русский", "kk", "english").
    pub fn from_choice(text: &str) -> Option<Self> {
        let t = text.trim().to_lowercase();
        Lang::ALL.into_iter().find(|l| {
            t == l.code() || t == l.native_name().to_lowercase() || (t == "қаз" && *l == Lang::Kk)
        })
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messenger_hints() {
        assert_eq!(Lang::from_messenger_hint("kk"), Some(Lang::Kk));
        assert_eq!(Lang::from_messenger_hint("ru-RU"), Some(Lang::Ru));
        assert_eq!(Lang::from_messenger_hint("en"), None);
        assert_eq!(Lang::from_messenger_hint("uz"), None);
        assert_eq!(Lang::guess_from_hint("en-GB"), Some(Lang::En));
        assert_eq!(Lang::guess_from_hint("ru"), Some(Lang::Ru));
        assert_eq!(Lang::guess_from_hint("de"), None);
        assert_eq!(Lang::from_choice("Қазақша"), Some(Lang::Kk));
        assert_eq!(Lang::from_choice(" english "), Some(Lang::En));
        assert_eq!(Lang::from_code("de"), None);
    }
}

#[cfg(test)]
mod accept_language_tests {
    use super::Lang;

    #[test]
    fn the_heaviest_supported_language_wins_and_kazakh_is_the_default() {
        let pick = Lang::from_accept_language;
        assert_eq!(pick("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"), Lang::Ru);
        assert_eq!(pick("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(pick("kk-KZ"), Lang::Kk);
        assert_eq!(pick("de-DE,de;q=0.9,ru;q=0.5,en;q=0.4"), Lang::Ru);
        assert_eq!(pick("en;q=0.5, ru;q=0.8"), Lang::Ru);
        assert_eq!(pick("ru, en"), Lang::Ru, "the first among equal weights");
        assert_eq!(pick("ru;q=0,en;q=0.1"), Lang::En, "q=0 refuses");
        assert_eq!(pick("de,fr"), Lang::Kk);
        assert_eq!(pick(""), Lang::Kk);
        assert_eq!(pick("*"), Lang::Kk);
        assert_eq!(
            pick("ru;q=abc"),
            Lang::Kk,
            "an unreadable weight counts as a refusal"
        );
        assert_eq!(pick("ru;q=7"), Lang::Kk);
    }
}
