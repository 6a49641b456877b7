//! Where applications are reviewed and what is eligible: the businesses' part of the
//! configuration (`BUSINESS_CHAT_ID`, `ASSOCIATION_CHATS`, the OKED list, the poster font).

use super::oked;
use crate::domain::Lang;
use crate::storage::ChatRef;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where applications are reviewed and what is eligible; from the configuration.
#[derive(Debug, Clone)]
pub struct BusinessSettings {
    /// The administrators' chat (`BUSINESS_CHAT_ID`): every application to approve or reject.
    pub admin_chat: Option<ChatRef>,
    /// Sector associations' reviewers chats by association key (`ASSOCIATION_CHATS`).
    pub associations: BTreeMap<String, ChatRef>,
    /// The bot's username for the deep links on posters and invites.
    pub bot_username: String,
    /// Eligible OKED codes.
    pub eligible: Arc<oked::Eligible>,
    /// Language of the texts for reviewers.
    pub staff_lang: Lang,
    /// A TrueType font for PDF posters (else SVG posters are sent).
    pub poster_font: Option<std::path::PathBuf>,
}

impl Default for BusinessSettings {
    fn default() -> Self {
        Self {
            admin_chat: None,
            associations: BTreeMap::new(),
            bot_username: "ashyq_bot".into(),
            eligible: Arc::new(oked::Eligible::default()),
            staff_lang: Lang::Ru,
            poster_font: None,
        }
    }
}

impl BusinessSettings {
    /// `catering:-1001,cinemas:-1002` → association chats in `channel` (the configuration
    /// names the channel; the core does not).
    pub fn parse_associations(channel: &str, spec: &str) -> BTreeMap<String, ChatRef> {
        spec.split(',')
            .filter_map(|pair| {
                let (key, chat) = pair.split_once(':')?;
                let chat = chat.trim();
                chat.parse::<i64>().ok()?;
                Some((key.trim().to_string(), ChatRef::new(channel, chat)))
            })
            .collect()
    }

    /// The association key a chat reviews for, if it is one.
    pub fn association_of(&self, chat: &ChatRef) -> Option<&str> {
        self.associations
            .iter()
            .find(|(_, c)| *c == chat)
            .map(|(k, _)| k.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn association_chats_parse() {
        let m =
            BusinessSettings::parse_associations("telegram", "catering:-1001, cinemas:-1002,bad:x");
        assert_eq!(m.len(), 2);
        assert_eq!(m["cinemas"], ChatRef::new("telegram", "-1002"));
    }
}
