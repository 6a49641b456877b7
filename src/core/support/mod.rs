//! The support desk, messenger-neutral: categories, FAQ matching, tickets and their life
//! cycle, the flood limit, bans, working hours, ratings and statistics.
//!
//! The core decides WHAT is relayed and to whom: a user's message goes to the operators'
//! chat ([`SupportSettings::chat`]) in the ticket's topic ([`Topic`] keyed `support:N`),
//! copied as-is when the channel can ([`Relay::copy`]); an operator's message in that topic
//! goes back to the user, anonymously, through the durable outbox, with a notice for the
//! topic when it cannot be delivered ([`Relay::on_failure`]). Adapters decide HOW (forum
//! topics, copying, reply-to mapping).

mod faq;
mod staff;
mod stats;
mod user;
pub use faq::*;
pub use staff::*;
pub use stats::*;
pub use user::*;

use super::context::Ctx;
use super::shared::callback::{Callback, SupportButton};
pub use super::shared::duration::parse_duration;
pub use super::shared::mask::mask_iins;
use super::shared::routes::SupportRoute;
use super::{
    Button, Conversation, Core, CoreError, Event, Keyboard, Label, MediaKind, Outbound, Relay,
    Relayed, ReplyButton, State, Topic,
};
use crate::crypto::Field;
use crate::domain::{Lang, Phone};
use crate::i18n::{Msg, Texts};
use crate::storage::support::{self as tickets, TicketRow};
use crate::storage::{ChatRef, Store, StoreError, Tx, conversations, people};
use chrono::{Datelike, NaiveTime, Timelike, Weekday};

/// A closed ticket reopens on a new message within this time; later a new ticket opens.
pub const REOPEN_WINDOW_MS: i64 = 48 * 3600 * 1000;
/// Relayed texts are split into parts of at most this many characters (Telegram: 4096).
pub const PART_CHARS: usize = 3500;

/// The relay part size of the channel a text goes to ([`PART_CHARS`] where the channel
/// does not say).
pub(crate) fn part_chars(core: &Core, to: &ChatRef) -> usize {
    core.channels.profile(&to.channel).relay_part_chars.max(1)
}
/// The "outside working hours" reply is repeated at most this often per ticket.
const OFF_HOURS_REPEAT_MS: i64 = 12 * 3600 * 1000;
const FLOOD_WINDOW_MS: i64 = 60_000;

/// Ticket categories: `(code, button label key)`.
pub const CATEGORIES: [(&str, &str); 3] = [
    ("citizen", "support-cat-citizen"),
    ("business", "support-cat-business"),
    ("voucher", "support-cat-voucher"),
];

/// FAQ entries: `(id, keywords key, answer key)`. The keywords are word stems per language,
/// matched against the beginnings of the user's words.
pub const FAQ: [(&str, &str, &str); 7] = [
    ("colours", "faq-colours-keywords", "faq-colours"),
    ("ill-red", "faq-ill-red-keywords", "faq-ill-red"),
    ("business-qr", "faq-business-qr-keywords", "faq-business-qr"),
    ("guard", "faq-guard-keywords", "faq-guard"),
    ("checkout", "faq-checkout-keywords", "faq-checkout"),
    ("vouchers", "faq-vouchers-keywords", "faq-vouchers"),
    ("data", "faq-data-keywords", "faq-data"),
];

/// Kinds of media that channels can copy as-is; the rest is described to the operator.
fn copyable(kind: MediaKind) -> bool {
    matches!(
        kind,
        MediaKind::Photo
            | MediaKind::Voice
            | MediaKind::Video
            | MediaKind::Audio
            | MediaKind::Document
            | MediaKind::Location
    )
}

/// Working hours in Almaty time, Monday to Friday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl WorkingHours {
    /// Parses `09:00-18:00`.
    pub fn parse(s: &str) -> Option<Self> {
        let (a, b) = s.trim().split_once('-')?;
        let start = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
        let end = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
        (start < end).then_some(Self { start, end })
    }

    pub fn is_open(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        let local = at.with_timezone(&crate::clock::almaty());
        let weekday = !matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
        let t = local.time();
        weekday && t >= self.start && t < self.end
    }

    fn label(&self) -> String {
        format!(
            "{:02}:{:02}–{:02}:{:02}",
            self.start.hour(),
            self.start.minute(),
            self.end.hour(),
            self.end.minute()
        )
    }
}

/// The support desk's settings (`SUPPORT_CHAT_ID`, `SUPPORT_HOURS`, `SUPPORT_FLOOD`).
#[derive(Debug, Clone)]
pub struct SupportSettings {
    /// The operators' chat; without it support answers with the call-centre numbers.
    pub chat: Option<ChatRef>,
    /// Without working hours, support is always "open".
    pub hours: Option<WorkingHours>,
    /// Messages per user per minute relayed at most.
    pub flood_per_minute: i64,
    /// The language of texts for the operators (topic titles, notices).
    pub staff_lang: Lang,
}

impl Default for SupportSettings {
    fn default() -> Self {
        Self {
            chat: None,
            hours: None,
            flood_per_minute: 20,
            staff_lang: Lang::Ru,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn working_hours_are_almaty_weekdays() {
        let h = WorkingHours::parse("09:00-18:00").unwrap();
        assert!(h.is_open(at("2026-11-20T09:00:00+05:00"))); // Friday
        assert!(!h.is_open(at("2026-11-20T18:00:00+05:00")));
        assert!(!h.is_open(at("2026-11-20T08:59:00+05:00")));
        assert!(!h.is_open(at("2026-11-21T12:00:00+05:00"))); // Saturday
        assert!(h.is_open(at("2026-11-23T04:30:00Z"))); // Monday 09:30 in Almaty
        assert_eq!(WorkingHours::parse("18:00-09:00"), None);
        assert_eq!(WorkingHours::parse("9-18"), None);
    }

    #[test]
    fn long_texts_split_without_loss() {
        let text = "слово ".repeat(2000);
        let parts = split_text(&text, 3500);
        assert!(parts.len() >= 4);
        assert!(parts.iter().all(|p| p.chars().count() <= 3500));
        assert_eq!(parts.concat(), text);
        let dense = "x".repeat(7001);
        let parts = split_text(&dense, 3500);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [3500, 3500, 1]
        );
        assert_eq!(split_text("", 10), vec![String::new()]);
    }

    #[test]
    fn faq_matches_words_in_every_language() {
        let t = Texts::load();
        let id = |q: &str| match_faq(&t, q).first().map(|i| FAQ[*i].0);
        assert_eq!(id("Я переболел, почему я красный?"), Some("ill-red"));
        assert_eq!(id("I was ill, why am I red"), Some("ill-red"));
        assert_eq!(id("Мен ауырдым, неге қызылмын?"), Some("ill-red"));
        assert_eq!(id("как бизнесу получить QR-код"), Some("business-qr"));
        assert_eq!(id("что значит ответ 2#1 на ваучер"), Some("vouchers"));
        assert_eq!(id("how do I check out of a venue"), Some("checkout"));
        assert_eq!(
            id("режим охранника, как проверить посетителя"),
            Some("guard")
        );
        assert_eq!(id("what happens to my personal data"), Some("data"));
        assert_eq!(id("сколько длится зеленый статус"), Some("colours"));
        assert!(match_faq(&t, "здравствуйте").is_empty());
        assert!(match_faq(&t, "").is_empty());
        assert!(match_faq(&t, "красный зелёный желтый статус QR").len() <= 3);
    }

    #[test]
    fn faq_and_category_texts_exist_in_every_language() {
        let t = Texts::load();
        for lang in Lang::ALL {
            for (_, keywords, answer) in FAQ {
                assert!(
                    t.has(lang, keywords) && t.has(lang, answer),
                    "{lang:?} {answer}"
                );
                assert!(!normalise(&t.get(lang, keywords)).is_empty());
            }
            for (_, label) in CATEGORIES {
                assert!(t.has(lang, label), "{lang:?} {label}");
            }
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
    }
}
