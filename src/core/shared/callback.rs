//! Button data as typed values.
//!
//! Every inline button the core sends carries a [`Callback`] written with `Display`, and
//! every press is read back with `FromStr`, in one place (`crate::core::route::route`). The format is
//! versioned: today's strings (`ci:r:42`, `ci:gy`, `consent:yes`, `wl:ans:3:1`…) are
//! version 0 and carry no prefix, so buttons already sent keep working; a later format is
//! written `v1:…`, and its parser is added beside version 0's, which stays.
//!
//! Telegram allows 64 bytes of callback data: the longest value here
//! (`biz:rot:<i64>:<i64>`) stays well under it.

use crate::domain::Lang;
use std::fmt;
use std::str::FromStr;

/// The version [`Callback`]'s `Display` writes.
pub const VERSION: u8 = 0;

/// Which feature's buttons a piece of data belongs to (known even when the rest does not
/// parse, so a stale button is answered by the feature that sent it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    Conversation,
    CheckIn,
    Business,
    Wallet,
    Support,
    Family,
    Prescriptions,
}

/// The pressed button, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// `lang:kk`: a language chosen.
    Lang(Lang),
    /// `consent:yes` / `consent:no`: personal-data processing accepted or declined.
    Consent(bool),
    /// `forget:yes` / `forget:no`: `/forget` confirmed or cancelled.
    Forget(bool),
    /// `ci:…`: check-in and guard mode.
    CheckIn(CheckInButton),
    /// `biz:…`: applications, review, owner tools.
    Business(BusinessButton),
    /// `wl:…`: Social Wallet.
    Wallet(WalletButton),
    /// `support:…`: the support desk.
    Support(SupportButton),
    /// `fam:…`: dependants (adult relatives' consent, removals).
    Family(FamilyButton),
    /// `rx:…`: prescriptions, pharmacies, disputes.
    Rx(RxButton),
}

/// A dispute's next status chosen by the health authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeDecision {
    Review,
    Upheld,
    Rejected,
}

impl DisputeDecision {
    pub fn code(self) -> &'static str {
        match self {
            DisputeDecision::Review => "r",
            DisputeDecision::Upheld => "u",
            DisputeDecision::Rejected => "x",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "r" => Some(DisputeDecision::Review),
            "u" => Some(DisputeDecision::Upheld),
            "x" => Some(DisputeDecision::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RxButton {
    /// `rx:ls`: the patient's prescriptions (the wallet's button).
    List,
    /// `rx:qr:ID`: a fresh QR of prescription ID.
    Qr(i64),
    /// `rx:d:ID:SEQ:ITEM:Q:UNTIL:MAC`: a pharmacist dispenses Q of item ITEM (0: everything
    /// left) of prescription ID as seen at its sequence SEQ; valid until minute UNTIL; MAC
    /// binds it to the chat that scanned the code.
    Dispense {
        prescription: i64,
        seq: i64,
        item: i64,
        quantity: i64,
        until: i64,
        mac: String,
    },
    /// `rx:x:ID`: "I did not receive this" for dispensing ID.
    Dispute(i64),
    /// `rx:v:ID:r|u|x`: the health authority moves dispute ID.
    Decide(i64, DisputeDecision),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInButton {
    /// `ci:r:ID`: refresh the result of check-in ID.
    Refresh(i64),
    /// `ci:l:ID`: "I left" for check-in ID.
    Left(i64),
    /// `ci:gy`: guard mode, the visitor consented.
    GuardConsent,
    /// `ci:gc`: guard mode cancelled.
    GuardCancel,
    /// `ci:gt:N`: group check-in, dependant N (in the order asked) with me or not.
    GroupToggle(u8),
    /// `ci:g1`: group check-in, only me.
    GroupOnlyMe,
    /// `ci:gd`: group check-in, done: me and the dependants chosen.
    GroupDone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyButton {
    /// `fam:yes:CODE`: the invited relative agrees to be the inviting adult's dependant.
    Accept(String),
    /// `fam:no`: the invited relative declines.
    Decline,
    /// `fam:rm:ID`: link ID removed (by the adult, or withdrawn by the dependant).
    Remove(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusinessButton {
    // The application dialogue.
    /// `biz:cancel`
    Cancel,
    /// `biz:skip` (the location step)
    Skip,
    /// `biz:cat:KEY`: a venue category.
    Category(String),
    /// `biz:submit`
    Submit,
    /// `biz:new`: a new application from the owner panel.
    New,
    // Review.
    /// `biz:ok:ID` / `biz:no:ID` (administrators), `biz:pre:ID` / `biz:prn:ID` (association).
    Review(ReviewAction, i64),
    // Owner tools.
    /// `biz:ACTION:VENUE` (`v`, `inv`, `staff`, `ent`, `codes`, `occ`, `today`, `chart`).
    Venue(VenueTool, i64),
    /// `biz:ACTION:VENUE:ID` (`rm` a staff member, `rot` / `rev` an entrance's codes).
    Item(ItemTool, i64, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    Approve,
    Reject,
    Preapprove,
    PreReject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueTool {
    Open,
    Invite,
    Staff,
    Entrance,
    Codes,
    Occupancy,
    Today,
    Chart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemTool {
    RemoveStaff,
    Rotate,
    Revoke,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletButton {
    /// `wl:skip`: no comment after a rating.
    SkipComment,
    /// `wl:ans:N:1` / `wl:ans:N:2`: offer N accepted or declined.
    Answer { number: i64, accept: bool },
    /// `wl:act:ID`: activate voucher ID.
    Activate(i64),
    /// `wl:qr:ID`: today's QR of voucher ID.
    Qr(i64),
    /// `wl:new:ID`: "lost it", a new code for voucher ID.
    Reissue(i64),
    /// `wl:rate:MEAL:N`: meal MEAL rated N.
    Rate { meal: i64, rating: i64 },
    /// `wl:am:ID:1` / `wl:am:ID:0`: the QR of voucher ID each school morning, or no more.
    Morning { voucher: i64, on: bool },
    /// `wl:cl:ID:1` / `wl:cl:ID:0`: club voucher ID accepted or declined.
    ClubAnswer { voucher: i64, accept: bool },
    /// `wl:cq:ID`: the child's QR of club voucher ID.
    ClubQr(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportButton {
    /// `support:cat:CODE`
    Category(String),
    /// `support:exit`
    Exit,
    /// `support:faq:yes` / `support:faq:no`
    FaqHelped(bool),
    /// `support:rate:TICKET:N`
    Rate { ticket: i64, rating: i64 },
}

/// Data that is not a button of ours, or one whose format this version cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownButton {
    /// The feature the data names, when its prefix is known.
    pub namespace: Option<Namespace>,
}

impl fmt::Display for UnknownButton {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown button data ({:?})", self.namespace)
    }
}

impl std::error::Error for UnknownButton {}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl fmt::Display for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Version 0 has no prefix.
        match self {
            Callback::Lang(l) => write!(f, "lang:{}", l.code()),
            Callback::Consent(b) => write!(f, "consent:{}", yes_no(*b)),
            Callback::Forget(b) => write!(f, "forget:{}", yes_no(*b)),
            Callback::CheckIn(b) => match b {
                CheckInButton::Refresh(id) => write!(f, "ci:r:{id}"),
                CheckInButton::Left(id) => write!(f, "ci:l:{id}"),
                CheckInButton::GuardConsent => f.write_str("ci:gy"),
                CheckInButton::GuardCancel => f.write_str("ci:gc"),
                CheckInButton::GroupToggle(n) => write!(f, "ci:gt:{n}"),
                CheckInButton::GroupOnlyMe => f.write_str("ci:g1"),
                CheckInButton::GroupDone => f.write_str("ci:gd"),
            },
            Callback::Family(b) => match b {
                FamilyButton::Accept(code) => write!(f, "fam:yes:{code}"),
                FamilyButton::Decline => f.write_str("fam:no"),
                FamilyButton::Remove(id) => write!(f, "fam:rm:{id}"),
            },
            Callback::Business(b) => match b {
                BusinessButton::Cancel => f.write_str("biz:cancel"),
                BusinessButton::Skip => f.write_str("biz:skip"),
                BusinessButton::Category(key) => write!(f, "biz:cat:{key}"),
                BusinessButton::Submit => f.write_str("biz:submit"),
                BusinessButton::New => f.write_str("biz:new"),
                BusinessButton::Review(action, id) => {
                    let a = match action {
                        ReviewAction::Approve => "ok",
                        ReviewAction::Reject => "no",
                        ReviewAction::Preapprove => "pre",
                        ReviewAction::PreReject => "prn",
                    };
                    write!(f, "biz:{a}:{id}")
                }
                BusinessButton::Venue(tool, venue) => {
                    let a = match tool {
                        VenueTool::Open => "v",
                        VenueTool::Invite => "inv",
                        VenueTool::Staff => "staff",
                        VenueTool::Entrance => "ent",
                        VenueTool::Codes => "codes",
                        VenueTool::Occupancy => "occ",
                        VenueTool::Today => "today",
                        VenueTool::Chart => "chart",
                    };
                    write!(f, "biz:{a}:{venue}")
                }
                BusinessButton::Item(tool, venue, id) => {
                    let a = match tool {
                        ItemTool::RemoveStaff => "rm",
                        ItemTool::Rotate => "rot",
                        ItemTool::Revoke => "rev",
                    };
                    write!(f, "biz:{a}:{venue}:{id}")
                }
            },
            Callback::Wallet(b) => match b {
                WalletButton::SkipComment => f.write_str("wl:skip"),
                WalletButton::Answer { number, accept } => {
                    write!(f, "wl:ans:{number}:{}", if *accept { 1 } else { 2 })
                }
                WalletButton::Activate(id) => write!(f, "wl:act:{id}"),
                WalletButton::Qr(id) => write!(f, "wl:qr:{id}"),
                WalletButton::Reissue(id) => write!(f, "wl:new:{id}"),
                WalletButton::Rate { meal, rating } => write!(f, "wl:rate:{meal}:{rating}"),
                WalletButton::Morning { voucher, on } => {
                    write!(f, "wl:am:{voucher}:{}", u8::from(*on))
                }
                WalletButton::ClubAnswer { voucher, accept } => {
                    write!(f, "wl:cl:{voucher}:{}", u8::from(*accept))
                }
                WalletButton::ClubQr(id) => write!(f, "wl:cq:{id}"),
            },
            Callback::Rx(b) => match b {
                RxButton::List => f.write_str("rx:ls"),
                RxButton::Qr(id) => write!(f, "rx:qr:{id}"),
                RxButton::Dispense {
                    prescription,
                    seq,
                    item,
                    quantity,
                    until,
                    mac,
                } => write!(
                    f,
                    "rx:d:{prescription}:{seq}:{item}:{quantity}:{until}:{mac}"
                ),
                RxButton::Dispute(id) => write!(f, "rx:x:{id}"),
                RxButton::Decide(id, d) => write!(f, "rx:v:{id}:{}", d.code()),
            },
            Callback::Support(b) => match b {
                SupportButton::Category(code) => write!(f, "support:cat:{code}"),
                SupportButton::Exit => f.write_str("support:exit"),
                SupportButton::FaqHelped(b) => write!(f, "support:faq:{}", yes_no(*b)),
                SupportButton::Rate { ticket, rating } => {
                    write!(f, "support:rate:{ticket}:{rating}")
                }
            },
        }
    }
}

fn id(s: &str) -> Option<i64> {
    s.parse().ok()
}

fn flag(s: &str) -> Option<bool> {
    match s {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

impl FromStr for Callback {
    type Err = UnknownButton;

    fn from_str(data: &str) -> Result<Self, UnknownButton> {
        // A later version is written `vN:…`; version 0 has no prefix.
        let v0 = match data.split_once(':') {
            Some(("v0", rest)) => rest,
            Some((v, rest))
                if v.len() > 1
                    && v.starts_with('v')
                    && v[1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                // A version this build does not know (newer than it): stale.
                let namespace = namespace(rest.split(':').next().unwrap_or_default());
                return Err(UnknownButton { namespace });
            }
            _ => data,
        };
        parse_v0(v0)
    }
}

fn namespace(prefix: &str) -> Option<Namespace> {
    Some(match prefix {
        "lang" | "consent" | "forget" => Namespace::Conversation,
        "ci" => Namespace::CheckIn,
        "biz" => Namespace::Business,
        "wl" => Namespace::Wallet,
        "support" => Namespace::Support,
        "fam" => Namespace::Family,
        "rx" => Namespace::Prescriptions,
        _ => return None,
    })
}

fn parse_v0(data: &str) -> Result<Callback, UnknownButton> {
    let parts: Vec<&str> = data.split(':').collect();
    let ns = namespace(parts[0]);
    let parsed = match parts.as_slice() {
        ["lang", code] => Lang::from_code(code).map(Callback::Lang),
        ["consent", b] => flag(b).map(Callback::Consent),
        ["forget", b] => flag(b).map(Callback::Forget),
        ["ci", rest @ ..] => match rest {
            ["r", n] => id(n).map(CheckInButton::Refresh),
            ["l", n] => id(n).map(CheckInButton::Left),
            ["gy"] => Some(CheckInButton::GuardConsent),
            ["gc"] => Some(CheckInButton::GuardCancel),
            ["gt", n] => n.parse().ok().map(CheckInButton::GroupToggle),
            ["g1"] => Some(CheckInButton::GroupOnlyMe),
            ["gd"] => Some(CheckInButton::GroupDone),
            _ => None,
        }
        .map(Callback::CheckIn),
        ["fam", rest @ ..] => match rest {
            ["yes", code]
                if !code.is_empty()
                    && code.len() <= 32
                    && code.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                Some(FamilyButton::Accept(code.to_string()))
            }
            ["no"] => Some(FamilyButton::Decline),
            ["rm", n] => id(n).map(FamilyButton::Remove),
            _ => None,
        }
        .map(Callback::Family),
        ["biz", rest @ ..] => business(rest).map(Callback::Business),
        ["wl", rest @ ..] => match rest {
            ["skip"] => Some(WalletButton::SkipComment),
            ["ans", n, a] => match (id(n), *a) {
                (Some(number), "1") => Some(WalletButton::Answer {
                    number,
                    accept: true,
                }),
                (Some(number), "2") => Some(WalletButton::Answer {
                    number,
                    accept: false,
                }),
                _ => None,
            },
            ["act", n] => id(n).map(WalletButton::Activate),
            ["qr", n] => id(n).map(WalletButton::Qr),
            ["new", n] => id(n).map(WalletButton::Reissue),
            ["rate", m, r] => match (id(m), id(r)) {
                (Some(meal), Some(rating)) => Some(WalletButton::Rate { meal, rating }),
                _ => None,
            },
            ["am", v, b] => match (id(v), *b) {
                (Some(voucher), "1") => Some(WalletButton::Morning { voucher, on: true }),
                (Some(voucher), "0") => Some(WalletButton::Morning { voucher, on: false }),
                _ => None,
            },
            ["cl", v, b] => match (id(v), *b) {
                (Some(voucher), "1") => Some(WalletButton::ClubAnswer {
                    voucher,
                    accept: true,
                }),
                (Some(voucher), "0") => Some(WalletButton::ClubAnswer {
                    voucher,
                    accept: false,
                }),
                _ => None,
            },
            ["cq", n] => id(n).map(WalletButton::ClubQr),
            _ => None,
        }
        .map(Callback::Wallet),
        ["support", rest @ ..] => match rest {
            ["cat", code] if !code.is_empty() => Some(SupportButton::Category(code.to_string())),
            ["exit"] => Some(SupportButton::Exit),
            ["faq", b] => flag(b).map(SupportButton::FaqHelped),
            ["rate", t, r] => match (id(t), id(r)) {
                (Some(ticket), Some(rating)) => Some(SupportButton::Rate { ticket, rating }),
                _ => None,
            },
            _ => None,
        }
        .map(Callback::Support),
        ["rx", rest @ ..] => match rest {
            ["ls"] => Some(RxButton::List),
            ["qr", n] => id(n).map(RxButton::Qr),
            ["d", p, s, i, q, u, m]
                if !m.is_empty() && m.len() <= 16 && m.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                match (id(p), id(s), id(i), id(q), id(u)) {
                    (Some(prescription), Some(seq), Some(item), Some(quantity), Some(until)) => {
                        Some(RxButton::Dispense {
                            prescription,
                            seq,
                            item,
                            quantity,
                            until,
                            mac: m.to_string(),
                        })
                    }
                    _ => None,
                }
            }
            ["x", n] => id(n).map(RxButton::Dispute),
            ["v", n, d] => match (id(n), DisputeDecision::from_code(d)) {
                (Some(n), Some(d)) => Some(RxButton::Decide(n, d)),
                _ => None,
            },
            _ => None,
        }
        .map(Callback::Rx),
        _ => None,
    };
    parsed.ok_or(UnknownButton { namespace: ns })
}

fn business(rest: &[&str]) -> Option<BusinessButton> {
    use BusinessButton as B;
    Some(match rest {
        ["cancel"] => B::Cancel,
        ["skip"] => B::Skip,
        ["submit"] => B::Submit,
        ["new"] => B::New,
        ["cat", key] if !key.is_empty() => B::Category(key.to_string()),
        [action, n] => {
            let n = id(n)?;
            let review = match *action {
                "ok" => Some(ReviewAction::Approve),
                "no" => Some(ReviewAction::Reject),
                "pre" => Some(ReviewAction::Preapprove),
                "prn" => Some(ReviewAction::PreReject),
                _ => None,
            };
            if let Some(r) = review {
                return Some(B::Review(r, n));
            }
            let tool = match *action {
                "v" => VenueTool::Open,
                "inv" => VenueTool::Invite,
                "staff" => VenueTool::Staff,
                "ent" => VenueTool::Entrance,
                "codes" => VenueTool::Codes,
                "occ" => VenueTool::Occupancy,
                "today" => VenueTool::Today,
                "chart" => VenueTool::Chart,
                _ => return None,
            };
            B::Venue(tool, n)
        }
        [action, venue, n] => {
            let tool = match *action {
                "rm" => ItemTool::RemoveStaff,
                "rot" => ItemTool::Rotate,
                "rev" => ItemTool::Revoke,
                _ => return None,
            };
            B::Item(tool, id(venue)?, id(n)?)
        }
        _ => return None,
    })
}

impl From<CheckInButton> for Callback {
    fn from(b: CheckInButton) -> Self {
        Callback::CheckIn(b)
    }
}

impl From<BusinessButton> for Callback {
    fn from(b: BusinessButton) -> Self {
        Callback::Business(b)
    }
}

impl From<WalletButton> for Callback {
    fn from(b: WalletButton) -> Self {
        Callback::Wallet(b)
    }
}

impl From<FamilyButton> for Callback {
    fn from(b: FamilyButton) -> Self {
        Callback::Family(b)
    }
}

impl From<RxButton> for Callback {
    fn from(b: RxButton) -> Self {
        Callback::Rx(b)
    }
}

impl From<SupportButton> for Callback {
    fn from(b: SupportButton) -> Self {
        Callback::Support(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string the core sent before callbacks were typed: each must parse (version 0)
    /// and write back unchanged.
    const LEGACY: &[&str] = &[
        "lang:kk",
        "lang:ru",
        "lang:en",
        "consent:yes",
        "consent:no",
        "forget:yes",
        "forget:no",
        "ci:r:42",
        "ci:l:42",
        "ci:gy",
        "ci:gc",
        "biz:cancel",
        "biz:skip",
        "biz:cat:catering",
        "biz:submit",
        "biz:new",
        "biz:ok:7",
        "biz:no:7",
        "biz:pre:7",
        "biz:prn:7",
        "biz:v:3",
        "biz:inv:3",
        "biz:staff:3",
        "biz:ent:3",
        "biz:codes:3",
        "biz:occ:3",
        "biz:today:3",
        "biz:chart:3",
        "biz:rm:3:11",
        "biz:rot:3:12",
        "biz:rev:3:12",
        "wl:skip",
        "wl:ans:2:1",
        "wl:ans:2:2",
        "wl:act:9",
        "wl:qr:9",
        "wl:new:9",
        "wl:rate:15:4",
        "wl:am:9:1",
        "wl:am:9:0",
        "wl:cl:9:1",
        "wl:cl:9:0",
        "wl:cq:9",
        "support:cat:business",
        "support:exit",
        "support:faq:yes",
        "support:faq:no",
        "support:rate:5:3",
    ];

    #[test]
    fn every_legacy_string_parses_as_version_0_and_round_trips() {
        for s in LEGACY {
            let cb: Callback = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(cb.to_string(), *s, "round trip of {s}");
            let prefixed: Callback = format!("v0:{s}").parse().unwrap();
            assert_eq!(prefixed, cb, "v0-prefixed {s}");
        }
    }

    #[test]
    fn legacy_strings_decode_to_what_they_meant() {
        let cases: &[(&str, Callback)] = &[
            ("ci:r:42", CheckInButton::Refresh(42).into()),
            ("ci:gy", CheckInButton::GuardConsent.into()),
            ("consent:yes", Callback::Consent(true)),
            ("forget:no", Callback::Forget(false)),
            ("lang:kk", Callback::Lang(Lang::Kk)),
            (
                "biz:ok:7",
                BusinessButton::Review(ReviewAction::Approve, 7).into(),
            ),
            (
                "biz:prn:7",
                BusinessButton::Review(ReviewAction::PreReject, 7).into(),
            ),
            (
                "biz:rev:3:12",
                BusinessButton::Item(ItemTool::Revoke, 3, 12).into(),
            ),
            ("biz:v:3", BusinessButton::Venue(VenueTool::Open, 3).into()),
            (
                "wl:ans:2:2",
                WalletButton::Answer {
                    number: 2,
                    accept: false,
                }
                .into(),
            ),
            (
                "wl:rate:15:4",
                WalletButton::Rate {
                    meal: 15,
                    rating: 4,
                }
                .into(),
            ),
            (
                "support:rate:5:3",
                SupportButton::Rate {
                    ticket: 5,
                    rating: 3,
                }
                .into(),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(&s.parse::<Callback>().unwrap(), want, "{s}");
        }
    }

    #[test]
    fn group_and_family_buttons_round_trip() {
        let cases: &[(&str, Callback)] = &[
            ("ci:gt:3", CheckInButton::GroupToggle(3).into()),
            ("ci:g1", CheckInButton::GroupOnlyMe.into()),
            ("ci:gd", CheckInButton::GroupDone.into()),
            (
                "fam:yes:ABCD2345",
                FamilyButton::Accept("ABCD2345".into()).into(),
            ),
            ("fam:no", FamilyButton::Decline.into()),
            ("fam:rm:17", FamilyButton::Remove(17).into()),
        ];
        for (s, want) in cases {
            assert_eq!(&s.parse::<Callback>().unwrap(), want, "{s}");
            assert_eq!(want.to_string(), *s);
        }
        for bad in [
            "ci:gt:300",
            "ci:gt:x",
            "fam:yes:",
            "fam:yes:a-b",
            "fam:rm:x",
            "fam:zz",
        ] {
            let ns = bad.split(':').next().unwrap();
            assert_eq!(
                bad.parse::<Callback>().unwrap_err().namespace,
                namespace(ns),
                "{bad}"
            );
        }
    }

    #[test]
    fn malformed_data_keeps_its_namespace() {
        let cases: &[(&str, Option<Namespace>)] = &[
            ("ci:r:abc", Some(Namespace::CheckIn)),
            ("ci:zz", Some(Namespace::CheckIn)),
            ("biz:v", Some(Namespace::Business)),
            ("biz:ok:x", Some(Namespace::Business)),
            ("biz:what:1", Some(Namespace::Business)),
            ("wl:ans:2:3", Some(Namespace::Wallet)),
            ("support:faq:maybe", Some(Namespace::Support)),
            ("lang:xx", Some(Namespace::Conversation)),
            ("consent:maybe", Some(Namespace::Conversation)),
            ("whatever", None),
            ("", None),
            ("v7:ci:r:1", Some(Namespace::CheckIn)),
        ];
        for (s, ns) in cases {
            let err = s.parse::<Callback>().unwrap_err();
            assert_eq!(err.namespace, *ns, "{s}");
        }
    }

    #[test]
    fn ids_round_trip_at_the_extremes_within_telegram_limit() {
        for id in [0, 1, i64::MAX, i64::MIN] {
            let cb: Callback = BusinessButton::Item(ItemTool::Rotate, id, id).into();
            let s = cb.to_string();
            assert!(s.len() <= 64, "{s} is longer than Telegram allows");
            assert_eq!(s.parse::<Callback>().unwrap(), cb);
        }
    }

    #[test]
    fn prescription_buttons_round_trip_within_telegram_limits() {
        let longest = Callback::Rx(RxButton::Dispense {
            prescription: 99_999_999,
            seq: 9_999,
            item: 999_999_999,
            quantity: 100_000,
            until: 99_999_999,
            mac: "0123456789ab".into(),
        });
        for cb in [
            longest.clone(),
            Callback::Rx(RxButton::List),
            Callback::Rx(RxButton::Qr(5)),
            Callback::Rx(RxButton::Dispute(8)),
            Callback::Rx(RxButton::Decide(3, DisputeDecision::Upheld)),
            Callback::Rx(RxButton::Decide(3, DisputeDecision::Review)),
            Callback::Rx(RxButton::Decide(3, DisputeDecision::Rejected)),
        ] {
            let s = cb.to_string();
            assert!(s.len() <= 64, "{s}");
            assert_eq!(s.parse::<Callback>().unwrap(), cb, "{s}");
        }
        for bad in ["rx:d:1:2:3:4:5:zz", "rx:v:1:q", "rx:qr:x", "rx:nope"] {
            assert_eq!(
                bad.parse::<Callback>(),
                Err(UnknownButton {
                    namespace: Some(Namespace::Prescriptions)
                }),
                "{bad}"
            );
        }
    }
}
