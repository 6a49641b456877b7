//! What the core asks of a channel, as settings: its links and its limits.
//!
//! The core addresses chats by [`ChatRef`](crate::storage::ChatRef) (`channel`, `chat_id`)
//! and never decides by a channel's name: it looks the channel's [`ChannelProfile`] up in
//! [`Channels`]. Nothing here names a messenger: the adapters describe their channels
//! (`adapters::telegram::profile`, `adapters::aitu::profile`, `adapters::sms::profile`) and
//! `adapters::channels` registers them with the settings' links (`ASHYQ_BOT_USERNAME`,
//! `ASHYQ_PUBLIC_URL`, `AITU_DEEP_LINK`) when the core is built. An empty `Channels` (the
//! default) has no profiles: every chat gets the plain defaults and links are bare payloads.

use std::collections::BTreeMap;

/// One channel's links and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelProfile {
    /// The messenger's name as people know it (a proper noun, the same in every language:
    /// "Telegram"), shown on the venue page's buttons.
    pub display_name: String,
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
            display_name: String::new(),
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

/// The service's own public address (`ASHYQ_PUBLIC_URL`): an `http` or `https` URL with a
/// host and no query or fragment, kept without a trailing slash. Posters then encode
/// `<public>/v/<token>`, a page of ours that opens the check-in in any messenger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

/// Why a public URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublicUrlError {
    #[error("ASHYQ_PUBLIC_URL must start with https:// (or http:// for a local test)")]
    Scheme,
    #[error("ASHYQ_PUBLIC_URL has no host")]
    NoHost,
    #[error("ASHYQ_PUBLIC_URL must not hold spaces, a query (?), a fragment (#) or a user")]
    Shape,
}

impl PublicUrl {
    pub fn parse(s: &str) -> Result<Self, PublicUrlError> {
        let s = s.trim();
        let lower = s.to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &s["https://".len()..]
        } else if lower.starts_with("http://") {
            &s["http://".len()..]
        } else {
            return Err(PublicUrlError::Scheme);
        };
        if s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '?' | '#' | '@' | '"' | '<' | '>' | '\\')
        }) {
            return Err(PublicUrlError::Shape);
        }
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || host.starts_with(':') {
            return Err(PublicUrlError::NoHost);
        }
        Ok(Self(s.trim_end_matches('/').to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The venue page of a token: `<public>/v/<token>`.
    pub fn venue_page(&self, token: &str) -> String {
        format!("{}{VENUE_PAGE_PREFIX}{token}", self.0)
    }
}

/// The path of the venue page, before the token (served by `http::venue_page`).
pub const VENUE_PAGE_PREFIX: &str = "/v/";

/// The profiles by channel name, and the channel links on printed codes point to.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    profiles: BTreeMap<String, ChannelProfile>,
    /// The channel whose deep links go on posters (without a public URL) and on
    /// invitations made outside any chat (the CLI's default `--channel`).
    pub links_channel: String,
    /// The bot's account name (`{bot}` in deep links, `ASHYQ_BOT_USERNAME`).
    pub bot_username: String,
    /// The channel that reaches a bare phone number (Social Wallet offers to parents who
    /// do not use the bot); its chat id is the hex keyed hash of the number.
    pub phone_channel: String,
    /// `ASHYQ_PUBLIC_URL`: posters encode the service's venue page instead of a deep link.
    pub public_url: Option<PublicUrl>,
    fallback: ChannelProfile,
}

impl Channels {
    /// Adds or replaces a channel's profile.
    pub fn with(mut self, channel: &str, profile: ChannelProfile) -> Self {
        self.profiles.insert(channel.to_string(), profile);
        self
    }

    /// The channel whose deep links go on posters and invitations.
    pub fn with_links_channel(mut self, channel: &str) -> Self {
        self.links_channel = channel.to_string();
        self
    }

    /// The channel that reaches a bare phone number.
    pub fn with_phone_channel(mut self, channel: &str) -> Self {
        self.phone_channel = channel.to_string();
        self
    }

    pub fn with_bot_username(mut self, bot: &str) -> Self {
        self.bot_username = bot.trim_start_matches('@').to_string();
        self
    }

    /// Posters encode `<public>/v/<token>` (`None`: the links channel's deep link).
    pub fn with_public_url(mut self, public_url: Option<PublicUrl>) -> Self {
        self.public_url = public_url;
        self
    }

    /// A channel's profile (an unknown channel gets plain defaults).
    pub fn profile(&self, channel: &str) -> &ChannelProfile {
        self.profiles.get(channel).unwrap_or(&self.fallback)
    }

    /// The registered channels' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
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

    /// What a chat of `channel` shows for `payload` (invitations): that channel's deep link
    /// for `bot`, or, when the channel has none (Aitu without `AITU_DEEP_LINK`, SMS, an
    /// unknown channel), the start command to type in the bot's chat there.
    pub fn start_link(&self, channel: &str, bot: &str, payload: &str) -> StartLink {
        let profile = self.profile(channel);
        match profile.deep_link {
            Some(_) => StartLink::Link(deep_link_in(profile, bot, payload)),
            None => StartLink::Command(format!("/start {payload}")),
        }
    }

    /// The deep link carrying `payload` in the links channel.
    pub fn deep_link(&self, payload: &str) -> String {
        self.deep_link_for(&self.bot_username, payload)
    }

    /// The links channel's deep link carrying `payload` for the bot account `bot` (the one
    /// the settings name): the one way invitations and posters build a bot link.
    pub fn deep_link_for(&self, bot: &str, payload: &str) -> String {
        deep_link_in(self.profile(&self.links_channel), bot, payload)
    }

    /// What a venue's poster encodes for a token: the service's venue page with a public
    /// URL, else the links channel's deep link for `bot`.
    pub fn poster_link(&self, bot: &str, token: &str) -> String {
        match &self.public_url {
            Some(public) => public.venue_page(token),
            None => self.deep_link_for(bot, token),
        }
    }

    /// Every channel with a deep link, as `(display name, link carrying payload)`: the
    /// links channel first, then the others by name (the venue page's buttons).
    pub fn open_links(&self, payload: &str) -> Vec<(String, String)> {
        let first = self.profiles.get_key_value(self.links_channel.as_str());
        first
            .into_iter()
            .chain(
                self.profiles
                    .iter()
                    .filter(|(name, _)| **name != self.links_channel),
            )
            .filter(|(_, p)| p.deep_link.is_some())
            .map(|(name, p)| {
                let shown = if p.display_name.is_empty() {
                    name.clone()
                } else {
                    p.display_name.clone()
                };
                (shown, deep_link_in(p, &self.bot_username, payload))
            })
            .collect()
    }
}

/// How a person opens a start payload in one channel: a link to tap, or a command to type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLink {
    /// The channel's deep link (`https://t.me/bot?start=…`).
    Link(String),
    /// The channel has no deep link: the message to send the bot (`/start …`).
    Command(String),
}

impl StartLink {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Link(s) | Self::Command(s) => s,
        }
    }

    /// The start payload it carries (after `start=` or `/start `).
    pub fn payload(&self) -> &str {
        match self {
            Self::Link(s) => s.rsplit_once("start=").map_or(s.as_str(), |(_, p)| p),
            Self::Command(s) => s.strip_prefix("/start ").unwrap_or(s),
        }
    }
}

impl std::fmt::Display for StartLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

    fn channels() -> Channels {
        Channels::default()
            .with(
                "tg",
                ChannelProfile {
                    display_name: "TG".into(),
                    deep_link: Some("https://tg.example/{bot}?start={payload}".into()),
                    ..ChannelProfile::default()
                },
            )
            .with(
                "a",
                ChannelProfile {
                    deep_link: Some("https://a.example/x?start={payload}".into()),
                    ..ChannelProfile::default()
                },
            )
            .with(
                "phone",
                ChannelProfile {
                    replies_through_outbox: true,
                    ..ChannelProfile::default()
                },
            )
            .with_links_channel("tg")
            .with_phone_channel("phone")
            .with_bot_username("@ashyq_bot")
    }

    #[test]
    fn deep_links_come_from_the_registered_profile() {
        let c = channels();
        assert_eq!(c.deep_link("abc"), "https://tg.example/ashyq_bot?start=abc");
        assert_eq!(
            c.deep_link_for("@other", "abc"),
            "https://tg.example/other?start=abc"
        );
        let c = c.with(
            "tg",
            ChannelProfile {
                deep_link: Some("https://example.kz/{bot}/{payload}".into()),
                ..ChannelProfile::default()
            },
        );
        assert_eq!(c.deep_link("abc"), "https://example.kz/ashyq_bot/abc");
        assert!(c.replies_through_outbox("phone"));
        assert!(!c.replies_through_outbox("terminal"));
    }

    #[test]
    fn a_chat_gets_its_own_channels_link_or_the_command_to_type() {
        let c = channels();
        assert_eq!(
            c.start_link("tg", "@b", "inv_x"),
            StartLink::Link("https://tg.example/b?start=inv_x".into())
        );
        assert_eq!(
            c.start_link("a", "b", "inv_x"),
            StartLink::Link("https://a.example/x?start=inv_x".into())
        );
        for no_link in ["phone", "terminal"] {
            let shown = c.start_link(no_link, "b", "inv_x");
            assert_eq!(shown, StartLink::Command("/start inv_x".into()));
            assert_eq!(shown.payload(), "inv_x");
        }
        assert_eq!(c.start_link("a", "b", "cnt_y").payload(), "cnt_y");
        assert_eq!(
            c.start_link("tg", "b", "cnt_y").to_string(),
            c.deep_link_for("b", "cnt_y")
        );
    }

    #[test]
    fn nothing_is_registered_by_default() {
        let c = Channels::default();
        assert_eq!(c.deep_link("abc"), "abc");
        assert_eq!(c.profile("telegram"), &ChannelProfile::default());
        assert!(c.open_links("abc").is_empty());
    }

    #[test]
    fn posters_link_to_the_public_page_when_there_is_one() {
        let c = channels();
        assert_eq!(c.poster_link("bot", "T"), "https://tg.example/bot?start=T");
        let c = c.with_public_url(Some(PublicUrl::parse("https://ashyq.kz/").unwrap()));
        assert_eq!(c.poster_link("bot", "T"), "https://ashyq.kz/v/T");
        // Invitations stay bot links.
        assert_eq!(
            c.deep_link_for("bot", "inv"),
            "https://tg.example/bot?start=inv"
        );
    }

    #[test]
    fn open_links_put_the_links_channel_first_and_skip_channels_without_links() {
        let links = channels().open_links("T");
        assert_eq!(
            links,
            [
                (
                    "TG".to_string(),
                    "https://tg.example/ashyq_bot?start=T".to_string()
                ),
                ("a".to_string(), "https://a.example/x?start=T".to_string()),
            ]
        );
    }

    #[test]
    fn public_urls_parse() {
        let ok = |s: &str| PublicUrl::parse(s).map(|u| u.as_str().to_string());
        assert_eq!(ok("https://ashyq.kz"), Ok("https://ashyq.kz".into()));
        assert_eq!(
            ok(" https://ashyq.kz/qr/ "),
            Ok("https://ashyq.kz/qr".into())
        );
        assert_eq!(
            ok("http://127.0.0.1:8080"),
            Ok("http://127.0.0.1:8080".into())
        );
        assert_eq!(ok("HTTPS://Ashyq.kz"), Ok("HTTPS://Ashyq.kz".into()));
        assert_eq!(ok("ftp://ashyq.kz"), Err(PublicUrlError::Scheme));
        assert_eq!(ok("ashyq.kz"), Err(PublicUrlError::Scheme));
        assert_eq!(ok("https://"), Err(PublicUrlError::NoHost));
        assert_eq!(ok("https:///v"), Err(PublicUrlError::NoHost));
        assert_eq!(ok("https://ashyq.kz/?a=1"), Err(PublicUrlError::Shape));
        assert_eq!(ok("https://ashyq.kz/#x"), Err(PublicUrlError::Shape));
        assert_eq!(ok("https://u@ashyq.kz"), Err(PublicUrlError::Shape));
        assert_eq!(ok("https://ashyq kz"), Err(PublicUrlError::Shape));
        assert_eq!(
            PublicUrl::parse("https://ashyq.kz/")
                .unwrap()
                .venue_page("T"),
            "https://ashyq.kz/v/T"
        );
    }
}
