//! `Debug` of the conversation state without free text: a question typed for support, a
//! business application's draft (names, addresses, a contact) or an IIN's keyed hash never
//! reaches a log line through `{:?}`; what is shown is the step and its ids.

use crate::core::State;
use std::fmt;

/// How free text appears in `Debug`: its length only.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0)
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Idle => f.write_str("Idle"),
            State::ChoosingLanguage => f.write_str("ChoosingLanguage"),
            State::Consent => f.write_str("Consent"),
            State::Phone { consent_at_ms } => f
                .debug_struct("Phone")
                .field("consent_at_ms", consent_at_ms)
                .finish(),
            State::PhoneCode {
                consent_at_ms,
                pending,
                ..
            } => f
                .debug_struct("PhoneCode")
                .field("consent_at_ms", consent_at_ms)
                .field("expires_at_ms", &pending.expires_at_ms)
                .field("attempts_left", &pending.attempts_left)
                .finish_non_exhaustive(),
            State::Iin => f.write_str("Iin"),
            State::IdentityPending => f.write_str("IdentityPending"),
            State::Menu => f.write_str("Menu"),
            State::ConfirmForget => f.write_str("ConfirmForget"),
            State::SupportCategory => f.write_str("SupportCategory"),
            State::SupportQuestion { category } => f
                .debug_struct("SupportQuestion")
                .field("category", category)
                .finish(),
            State::SupportFaq { category, question } => f
                .debug_struct("SupportFaq")
                .field("category", category)
                .field("question", &Redacted(question.chars().count()))
                .finish(),
            State::Support { ticket } => f.debug_struct("Support").field("ticket", ticket).finish(),
            State::Business { at, menu, .. } => f
                .debug_struct("Business")
                .field("at", at)
                .field("draft", &format_args!("<redacted>"))
                .field("menu", menu)
                .finish(),
            State::BizRejectReason { application_id } => f
                .debug_struct("BizRejectReason")
                .field("application_id", application_id)
                .finish(),
            State::GuardIin { venue_id, menu } => f
                .debug_struct("GuardIin")
                .field("venue_id", venue_id)
                .field("menu", menu)
                .finish(),
            State::GuardConfirm { venue_id, menu, .. } => f
                .debug_struct("GuardConfirm")
                .field("venue_id", venue_id)
                .field("iin_hash", &format_args!("<redacted>"))
                .field("menu", menu)
                .finish(),
            State::GroupCheckIn(g) => f
                .debug_struct("GroupCheckIn")
                .field("entrance_id", &g.entrance_id)
                .field("members", &g.members.len())
                .field("with", &g.with)
                .finish(),
            State::WalletComment { meal_id } => f
                .debug_struct("WalletComment")
                .field("meal_id", meal_id)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_and_hashes_stay_out_of_debug() {
        let s = State::SupportFaq {
            category: "citizen".into(),
            question: "мой ИИН 900101300017, тел 87011234567".into(),
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("900101") && !shown.contains("8701"),
            "{shown}"
        );
        assert!(
            shown.contains("SupportFaq") && shown.contains("citizen"),
            "{shown}"
        );
        let g = State::GuardConfirm {
            venue_id: 7,
            iin_hash: "abcdef0123".into(),
            menu: false,
        };
        let shown = format!("{g:?}");
        assert!(
            !shown.contains("abcdef0123") && shown.contains("venue_id: 7"),
            "{shown}"
        );
        assert_eq!(format!("{:?}", State::Menu), "Menu");
    }
}
