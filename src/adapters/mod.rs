//! Adapters translate between a messenger and the core at the edge, and render texts in
//! the recipient's language. They hold no rules.
//!
//! Each messenger adapter describes its channel to the core (`profile()`: links and
//! limits); [`channels`] registers them all, so the core itself names no channel.

pub mod aitu;
pub mod sms;
pub mod telegram;
pub mod terminal;

use crate::config::Settings;
use crate::core::shared::channel::Channels;

/// The bot's account name when `ASHYQ_BOT_USERNAME` is not set (development, tests).
pub const DEFAULT_BOT_USERNAME: &str = "ashyq_bot";

/// The channels of this build with their default links: Telegram (the links channel: its
/// deep links go on posters and on invitations printed without `--channel`), Aitu (no deep
/// link: its chats show invitations as the `/start …` message), SMS (reaches bare phone
/// numbers).
pub fn channels() -> Channels {
    Channels::default()
        .with(telegram::CHANNEL, telegram::profile())
        .with(aitu::CHANNEL, aitu::profile(None))
        .with(sms::CHANNEL, sms::profile())
        .with_links_channel(telegram::CHANNEL)
        .with_phone_channel(sms::CHANNEL)
        .with_bot_username(DEFAULT_BOT_USERNAME)
}

/// [`channels`] with the settings' links: `ASHYQ_BOT_USERNAME`, `ASHYQ_PUBLIC_URL` (posters
/// encode the venue page) and `AITU_DEEP_LINK`.
pub fn channels_for(settings: &Settings) -> Channels {
    let mut c = channels()
        .with(
            aitu::CHANNEL,
            aitu::profile(settings.aitu_deep_link.as_deref()),
        )
        .with_public_url(settings.public_url.clone());
    if let Some(bot) = &settings.bot_username {
        c = c.with_bot_username(bot);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adapters_register_their_channels() {
        let c = channels();
        assert_eq!(
            c.deep_link("abc"),
            "https://t.me/ashyq_bot?start=abc",
            "Telegram's deep link is the links channel's"
        );
        assert!(c.profile(telegram::CHANNEL).has_topics);
        assert!(c.replies_through_outbox(sms::CHANNEL));
        assert_eq!(c.phone_channel, sms::CHANNEL);
        assert_eq!(c.profile(aitu::CHANNEL).deep_link, None);
        assert_eq!(c.open_links("T").len(), 1, "Aitu offers no link by default");
    }
}
