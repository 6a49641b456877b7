use serde::{Deserialize, Serialize};

/// Where a conversation stands. Persisted as JSON in `conversations.state`, so a restart
/// in the middle of a conversation resumes at the same step. New variants and fields must
/// stay readable from older rows (`#[serde(default)]`).
/// `Debug` is written by hand in `security::redact`: it never shows free text.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum State {
    /// Nothing asked yet (new, declined consent, or data forgotten).
    #[default]
    Idle,
    /// Waiting for a language button.
    ChoosingLanguage,
    /// Waiting for accept / decline of personal-data processing.
    Consent,
    /// Consent given at `consent_at_ms`; waiting for the user's own contact.
    Phone { consent_at_ms: i64 },
    /// A number was typed (a channel without reliable contact sharing): a one-time code was
    /// sent to it by SMS; waiting for the code. `pending` holds keyed hashes only,
    /// `phone_enc` the number sealed by the vault (hex), never in clear.
    PhoneCode {
        consent_at_ms: i64,
        pending: super::shared::otp::PendingCode,
        phone_enc: String,
    },
    /// Phone stored; waiting for the IIN.
    Iin,
    /// IIN sent; the identity registry could not answer yet (`core::identity`): retried in
    /// the background, no status shown meanwhile. A new IIN may be sent.
    IdentityPending,
    /// Registered; the main menu.
    Menu,
    /// Asked to confirm `/forget`.
    ConfirmForget,
    /// Support: choosing a category.
    SupportCategory,
    /// Support: category chosen, waiting for the question.
    SupportQuestion { category: String },
    /// Support: FAQ answers shown for the question; waiting for "helped" / "didn't help".
    SupportFaq { category: String, question: String },
    /// Support: talking to the operators in ticket `ticket` (open, or closed and reopenable).
    Support { ticket: i64 },
    /// Business application (`/business`): the answers so far and the step waiting for input.
    /// `menu`: the chat returns to the main menu afterwards.
    Business {
        at: super::business::Step,
        #[serde(default)]
        draft: super::business::Draft,
        #[serde(default)]
        menu: bool,
    },
    /// A reviewers' chat is typing the reason for rejecting application `application_id`.
    BizRejectReason { application_id: i64 },
    /// Guard mode (venue staff): waiting for a visitor's IIN. `menu`: the chat returns to
    /// the main menu afterwards (else to `Idle`).
    GuardIin {
        venue_id: i64,
        #[serde(default)]
        menu: bool,
    },
    /// Guard mode: the IIN's keyed hash (hex, never the IIN), waiting for the staff member to
    /// confirm that the visitor consented.
    GuardConfirm {
        venue_id: i64,
        iin_hash: String,
        #[serde(default)]
        menu: bool,
    },
    /// Social Wallet: a meal was rated; waiting for an optional comment.
    WalletComment { meal_id: i64 },
    /// Group check-in: an adult with dependants scanned an entry code; waiting for "who is
    /// with you?" (toggles, then "done" or "only me"). Back to the menu afterwards; any other
    /// input ends the question without a visit.
    GroupCheckIn(Box<GroupCheckIn>),
}

/// The entry an adult is checking in at, with the dependants asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCheckIn {
    pub entrance_id: i64,
    #[serde(default)]
    pub kid: Option<u16>,
    /// How the code arrived (`link`, `photo`, `code`).
    pub via: String,
    pub venue: String,
    pub asked_at_ms: i64,
    /// The dependants in the order asked: keyed IIN hash (hex, never the IIN) and the
    /// masked IIN shown on the button.
    pub members: Vec<GroupMember>,
    /// Who was chosen, by position.
    pub with: Vec<bool>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    pub iin_hash: String,
    pub label: String,
}

impl std::fmt::Debug for GroupMember {
    // Neither the hash nor the masked IIN in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupMember(..)")
    }
}

impl State {
    /// Steps of the support conversation.
    pub fn is_support(&self) -> bool {
        matches!(
            self,
            State::SupportCategory
                | State::SupportQuestion { .. }
                | State::SupportFaq { .. }
                | State::Support { .. }
        )
    }

    /// Steps where the user's messages are relayed to the operators as they are.
    pub fn relays(&self) -> bool {
        matches!(self, State::SupportQuestion { .. } | State::Support { .. })
    }

    /// Steps of the registration, where most commands wait until it is done.
    pub fn is_registering(&self) -> bool {
        matches!(
            self,
            State::ChoosingLanguage
                | State::Consent
                | State::Phone { .. }
                | State::PhoneCode { .. }
                | State::Iin
                | State::IdentityPending
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_as_tagged_json() {
        let s = State::Phone { consent_at_ms: 42 };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"step":"phone","consent_at_ms":42}"#);
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), s);
        assert_eq!(
            serde_json::from_str::<State>(r#"{"step":"menu"}"#).unwrap(),
            State::Menu
        );
    }
}
