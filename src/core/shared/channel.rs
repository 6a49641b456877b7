//! What the core asks of a channel, as settings: its links and its limits.
//!
//! The core addresses chats by [`ChatRef`](crate::storage::ChatRef) (`channel`, `chat_id`)
//! and never decides by a channel's name: it looks the channel's [`ChannelProfile`] up in
//! [`Channels`] (built at start-up; `Channels::default()` holds the profiles of the
//! adapters this build has). A new messenger adds its profile here or in the settings.

use std::collections::BTreeMap;

/// One channel's links and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelProfile {
    /// A deep link that opens the bot with a start payload: `{bot}` and `{payload}` are
    /// replaced (`None`: the channel has no such links).
    pub deep_link: Option<String>,
    /// The longest text one message may carry (in characters).
    pub max_text_chars: usize,
    /// Relayed texts (support) are split into parts of at most this many characters,
    /// leaving room for the text around them.
    pub relay_part_chars: usize,
    /// Inline buttons one row may hold.
    pub buttons_per_row: usize,
    /// Whether a message can be copied as-is (support relays).
    pub can_copy: bool,
    /// Whether a chat can hold topics (the support desk's tickets).
    pub has_topics: bool,
    /// Nobody waits for an answer (an SMS gateway's webhook): every reply goes through the
    /// outbox, the channel only answers offers, and keyboards are not shown.
    pub replies_through_outbox: bool,
    /// No dialogue: each message is a keyword (`core::shared::keyword`: `STATUS`, `HELP`, a
    /// language) or an offer's answer, rate-limited per chat (`security::throttle`), answered
    /// in one language with short texts (an SMS from a feature phone).
    pub keywords: bool,
    /// Own-contact sharing may be unavailable: a number typed at the registration's phone
    /// step is proven by a one-time code sent to it by SMS (`core::shared::otp`).
    pub typed_phone_by_code: bool,
}

impl Default for ChannelProfile {
    fn default() -> Self {
        Self {
            deep_link: None,
            max_text_chars: 4096,
            relay_part_chars: 3500,
            buttons_per_row: 8,
            can_copy: false,
            has_topics: false,
            replies_through_outbox: false,
            keywords: false,
            typed_phone_by_code: false,
        }
    }
}

/// The profiles by channel name, and the channel links on printed codes point to.
#[derive(Debug, Clone)]
pub struct Channels {
    profiles: BTreeMap<String, ChannelProfile>,
    /// The channel whose deep links go on posters and invitations.
    pub links_channel: String,
    /// The bot's account name in that channel (`{bot}` in its deep link).
    pub bot_username: String,
    /// The channel that reaches a bare phone number (Social Wallet offers to parents who
    /// do not use the bot); its chat id is the hex keyed hash of the number.
    pub phone_channel: String,
    fallback: ChannelProfile,
}

impl Default for Channels {
    /// The profiles of the adapters in this build (`src/adapters`).
    fn default() -> Self {
        let mut profiles = BTreeMap::new();
        profiles.insert(
            "telegram".to_string(),
            ChannelProfile {
                deep_link: Some("https://t.me/{bot}?start={payload}".into()),
                max_text_chars: 4096,
                relay_part_chars: 3500,
                buttons_per_row: 8,
                can_copy: true,
                has_topics: true,
                replies_through_outbox: false,
                keywords: false,
                typed_phone_by_code: false,
            },
        );
        // Aitu (src/adapters/aitu): 4096 characters a message, 8 buttons a row, no copy,
        // no topics, no deep link of ours on posters; its contact sharing is legacy, so a
        // typed number is proven by an SMS code (docs/AITU.md).
        profiles.insert(
            "aitu".to_string(),
            ChannelProfile {
                typed_phone_by_code: true,
                ..ChannelProfile::default()
            },
        );
        profiles.insert(
            "sms".to_string(),
            ChannelProfile {
                max_text_chars: 480,
                relay_part_chars: 400,
                buttons_per_row: 0,
                replies_through_outbox: true,
                keywords: true,
                ..ChannelProfile::default()
            },
        );
        Self {
            profiles,
            links_channel: "telegram".into(),
            bot_username: "ashyq_bot".into(),
            phone_channel: "sms".into(),
            fallback: ChannelProfile::default(),
        }
    }
}

impl Channels {
    /// Adds or replaces a channel's profile.
    pub fn with(mut self, channel: &str, profile: ChannelProfile) -> Self {
        self.profiles.insert(channel.to_string(), profile);
        self
    }

    pub fn with_bot_username(mut self, bot: &str) -> Self {
        self.bot_username = bot.trim_start_matches('@').to_string();
        self
    }

    /// A channel's profile (an unknown channel gets plain defaults).
    pub fn profile(&self, channel: &str) -> &ChannelProfile {
        self.profiles.get(channel).unwrap_or(&self.fallback)
    }

    pub fn replies_through_outbox(&self, channel: &str) -> bool {
        self.profile(channel).replies_through_outbox
    }

    pub fn keywords(&self, channel: &str) -> bool {
        self.profile(channel).keywords
    }

    pub fn typed_phone_by_code(&self, channel: &str) -> bool {
        self.profile(channel).typed_phone_by_code
    }

    /// The deep link carrying `payload` in the links channel (posters, invitations).
    pub fn deep_link(&self, payload: &str) -> String {
        deep_link_in(
            self.profile(&self.links_channel),
            &self.bot_username,
            payload,
        )
    }

    /// [`Channels::deep_link`] for the bot account `bot` (the one the settings name).
    pub fn deep_link_for(&self, bot: &str, payload: &str) -> String {
        deep_link_in(self.profile(&self.links_channel), bot, payload)
    }
}

/// `profile`'s deep link for `bot` and `payload` (the bare payload when it has none).
pub fn deep_link_in(profile: &ChannelProfile, bot: &str, payload: &str) -> String {
    match &profile.deep_link {
        Some(t) => t
            .replace("{bot}", bot.trim_start_matches('@'))
            .replace("{payload}", payload),
        None => payload.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_links_come_from_the_profile() {
        let c = Channels::default().with_bot_username("@ashyq_bot");
        assert_eq!(c.deep_link("abc"), "https://t.me/ashyq_bot?start=abc");
        let c = c.with(
            "telegram",
            ChannelProfile {
                deep_link: Some("https://example.kz/{bot}/{payload}".into()),
                ..ChannelProfile::default()
            },
        );
        assert_eq!(c.deep_link("abc"), "https://example.kz/ashyq_bot/abc");
        assert!(c.replies_through_outbox("sms"));
        assert!(!c.replies_through_outbox("terminal"));
    }
}
