//! Commands and `start` payloads, parsed once.

/// What a `/start` carried: the deep link's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPayload {
    /// A plain `/start`.
    Empty,
    /// `inv_…`: a venue's one-time staff invitation (the secret after the prefix).
    VenueInvite(String),
    /// `cnt_…`: a school canteen's one-time operator invitation (the secret).
    CanteenInvite(String),
    /// `fam_…`: an adult's invitation to a relative to become their dependant (the code).
    FamilyInvite(String),
    /// `prv_…`: a voucher provider's (pharmacy, club) one-time operator invitation.
    ProviderInvite(String),
    /// Anything else: a venue code's token (verified by the check-in).
    VenueToken(String),
}

/// Prefix of a venue staff invitation's payload.
pub const VENUE_INVITE_PREFIX: &str = "inv_";
/// Prefix of a canteen invitation's payload.
pub const CANTEEN_INVITE_PREFIX: &str = "cnt_";
/// Prefix of a family invitation's payload.
pub const FAMILY_INVITE_PREFIX: &str = "fam_";
/// Prefix of another voucher provider's invitation.
pub const PROVIDER_INVITE_PREFIX: &str = "prv_";

impl StartPayload {
    pub fn parse(arg: &str) -> Self {
        let arg = arg.trim();
        if arg.is_empty() {
            StartPayload::Empty
        } else if let Some(s) = arg.strip_prefix(VENUE_INVITE_PREFIX) {
            StartPayload::VenueInvite(s.to_string())
        } else if let Some(s) = arg.strip_prefix(CANTEEN_INVITE_PREFIX) {
            StartPayload::CanteenInvite(s.to_string())
        } else if let Some(s) = arg.strip_prefix(FAMILY_INVITE_PREFIX) {
            StartPayload::FamilyInvite(s.to_string())
        } else if let Some(s) = arg.strip_prefix(PROVIDER_INVITE_PREFIX) {
            StartPayload::ProviderInvite(s.to_string())
        } else {
            StartPayload::VenueToken(arg.to_string())
        }
    }

    /// The payload as a deep link carries it (the inverse of [`StartPayload::parse`]).
    pub fn encode(&self) -> String {
        match self {
            StartPayload::Empty => String::new(),
            StartPayload::VenueInvite(s) => format!("{VENUE_INVITE_PREFIX}{s}"),
            StartPayload::CanteenInvite(s) => format!("{CANTEEN_INVITE_PREFIX}{s}"),
            StartPayload::FamilyInvite(s) => format!("{FAMILY_INVITE_PREFIX}{s}"),
            StartPayload::ProviderInvite(s) => format!("{PROVIDER_INVITE_PREFIX}{s}"),
            StartPayload::VenueToken(t) => t.clone(),
        }
    }
}

/// A command (the adapter removed the `/` and the bot's `@username`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start(StartPayload),
    Status,
    Me,
    Lang,
    Help,
    Forget,
    Support,
    /// `/cancel`, `/stop`: leave the current step.
    Cancel,
    Stop,
    /// `/menu [text]`: a canteen's menu of the day (and, in support, leave support).
    Menu(String),
    // Check-in, staff, guard.
    Left,
    Occupancy,
    Guard(String),
    // Social Wallet.
    Wallet,
    /// `/family [invite | CODE | IIN]`: dependants, invitations of adult relatives.
    Family(String),
    Qr,
    Meals,
    /// `/prescriptions`: the patient's prescriptions.
    Prescriptions,
    // Businesses.
    Business,
    Violation(String),
    Venues,
    /// A command the bot does not have.
    Other(String),
}

impl Command {
    pub fn parse(name: &str, arg: &str) -> Self {
        match name {
            "start" => Command::Start(StartPayload::parse(arg)),
            "status" => Command::Status,
            "me" => Command::Me,
            "lang" | "language" => Command::Lang,
            "help" => Command::Help,
            "forget" => Command::Forget,
            "support" => Command::Support,
            "cancel" => Command::Cancel,
            "stop" => Command::Stop,
            "menu" => Command::Menu(arg.to_string()),
            "left" => Command::Left,
            "occupancy" => Command::Occupancy,
            "guard" => Command::Guard(arg.to_string()),
            "wallet" => Command::Wallet,
            "family" => Command::Family(arg.trim().to_string()),
            "qr" => Command::Qr,
            "meals" => Command::Meals,
            "prescriptions" | "rx" => Command::Prescriptions,
            "business" => Command::Business,
            "violation" => Command::Violation(arg.to_string()),
            "venues" => Command::Venues,
            other => Command::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_payloads_parse_once_and_encode_back() {
        let cases = [
            ("", StartPayload::Empty),
            ("inv_abc", StartPayload::VenueInvite("abc".into())),
            ("cnt_xyz", StartPayload::CanteenInvite("xyz".into())),
            ("fam_K7Q2", StartPayload::FamilyInvite("K7Q2".into())),
            ("prv_xyz", StartPayload::ProviderInvite("xyz".into())),
            ("AAAABBBB", StartPayload::VenueToken("AAAABBBB".into())),
        ];
        for (arg, want) in cases {
            let got = StartPayload::parse(arg);
            assert_eq!(got, want, "{arg}");
            assert_eq!(got.encode(), arg);
        }
    }

    #[test]
    fn commands_parse_with_their_arguments() {
        assert_eq!(Command::parse("language", ""), Command::Lang);
        assert_eq!(
            Command::parse("guard", "900101300017"),
            Command::Guard("900101300017".into())
        );
        assert_eq!(
            Command::parse("start", "cnt_s"),
            Command::Start(StartPayload::CanteenInvite("s".into()))
        );
        assert_eq!(Command::parse("nope", ""), Command::Other("nope".into()));
    }
}
