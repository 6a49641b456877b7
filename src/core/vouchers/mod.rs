//! The voucher engine (issue 17 item 1): what every Social Wallet kind shares.
//!
//! A voucher kind (school meals, medicines, club sessions, …) is *a module and a
//! migration*: the kind's feature module keeps its own tables (who holds what, what is
//! left), and everything the kinds have in common is here:
//!
//! - [`VoucherKind`] and its [`KindSpec`]: who is eligible, what one redemption takes, who
//!   may redeem (a [`ProviderKind`]), what the holder sees, how the provider's act is
//!   computed, how long the holder's QR lives. One table ([`VoucherKind::spec`]), read by
//!   the kinds' modules, the audit export and the docs.
//! - [`providers`]: organisations with a BIN and a provider kind (a school's canteen, a
//!   pharmacy, a club) and their operators, who join by a one-time invite
//!   (`/start prv_…`; canteens keep their `cnt_…` links).
//! - [`ledger`]: the one hash-chained ledger of every kind. Version-1 lines (the meal kind,
//!   unchanged since before the engine) and version-2 lines that name the kind
//!   ([`ledger::append_v2`]); [`ledger::verify`] walks both.
//! - [`qr`]: the short-lived voucher QR only the wallet makes, bound to a kind and to the
//!   minute it was made, so a screenshot forwarded tomorrow, or a meal QR shown at a
//!   pharmacy, gets a clear answer.
//! - [`audit`]: the CSV export of every Social Wallet action of every actor, masked.
//!
//! This is a shared module: it names no feature. The recipe "adding a voucher kind" is in
//! docs/ARCHITECTURE.md.

pub mod audit;
pub mod ledger;
pub mod providers;
pub mod qr;

/// The kinds of voucher on the engine. The discriminant is the kind's byte in QR tokens:
/// never reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VoucherKind {
    /// School meals: one meal per pupil per school day (`core::wallet`).
    Meal = 1,
    /// Medicines on prescription: listed items in quantities (issue 17 items 2–4).
    Medicine = 2,
    /// Extracurricular clubs: a number of sessions a month (issue 17 item 5).
    Club = 3,
}

/// Who redeems vouchers: an organisation with a BIN, its operators invited one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// A school's canteen (the provider's BIN is the school's).
    Canteen,
    Pharmacy,
    Club,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::Canteen,
        ProviderKind::Pharmacy,
        ProviderKind::Club,
    ];

    /// The stored name (`voucher_providers.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Canteen => "canteen",
            ProviderKind::Pharmacy => "pharmacy",
            ProviderKind::Club => "club",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// Whether an operator works for one provider of this kind only: a pharmacist of one
    /// pharmacy using another's invite is refused (the dispensing answers name one
    /// pharmacy). Canteens and clubs keep allowing several.
    pub fn one_provider_per_operator(self) -> bool {
        matches!(self, ProviderKind::Pharmacy)
    }

    /// The voucher kind this provider redeems.
    pub fn voucher_kind(self) -> VoucherKind {
        match self {
            ProviderKind::Canteen => VoucherKind::Meal,
            ProviderKind::Pharmacy => VoucherKind::Medicine,
            ProviderKind::Club => VoucherKind::Club,
        }
    }
}

/// Who may hold a kind's vouchers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    /// A state list (CSV and HTTP) decides per child; the parent named on it accepts an
    /// offer (`N#1`) and holds the voucher.
    StateListWithParentConsent,
    /// A prescription fed by the medical information system: the registry-verified patient,
    /// for a minor the verified representative.
    Prescription,
}

/// What one redemption takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// One meal per pupil per school day (the database's UNIQUE decides).
    OneMealPerSchoolDay,
    /// Listed items, each up to its prescribed quantity (pieces, packs, ml, g), in parts.
    ItemsInQuantities,
    /// One session; `N` a month, unused ones do not carry over.
    SessionsPerMonth,
}

/// What the holder sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderView {
    /// Each meal at once (time, school, menu) with a rating; the month's list.
    MealsWithMenuAndRating,
    /// Each prescription (active, partly dispensed, used) with its items and what is left;
    /// each dispensing at once, with "I did not receive this".
    PrescriptionsWithItems,
    /// Each session at once, with what is left this month.
    SessionsLeft,
}

/// How the provider's monthly act is computed from the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActBasis {
    /// Redemptions per school and day times the supplier's unit price (the payee is the
    /// school's supplier, recorded in each entry).
    MealsPerDayTimesPrice,
    /// Dispensings with their items and quantities (and the patient's share, if any).
    DispensedQuantities,
    /// Sessions counted per child.
    SessionsCounted,
}

/// How long the holder's QR is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrLifetime {
    /// The meal kind's own code (`wallet::token`): one signed code a day.
    Daily,
    /// An engine token ([`qr`]) that stops working this many minutes after it was made.
    Minutes(i64),
}

/// Everything the engine knows about a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    pub kind: VoucherKind,
    pub eligibility: Eligibility,
    pub unit: Unit,
    /// Who may redeem.
    pub provider: ProviderKind,
    pub holder_view: HolderView,
    pub act: ActBasis,
    pub qr: QrLifetime,
    /// The version of the kind's ledger line (1: meals, unchanged; 2: every other kind).
    pub ledger_version: i64,
}

const SPECS: [KindSpec; 3] = [
    KindSpec {
        kind: VoucherKind::Meal,
        eligibility: Eligibility::StateListWithParentConsent,
        unit: Unit::OneMealPerSchoolDay,
        provider: ProviderKind::Canteen,
        holder_view: HolderView::MealsWithMenuAndRating,
        act: ActBasis::MealsPerDayTimesPrice,
        qr: QrLifetime::Daily,
        ledger_version: 1,
    },
    KindSpec {
        kind: VoucherKind::Medicine,
        eligibility: Eligibility::Prescription,
        unit: Unit::ItemsInQuantities,
        provider: ProviderKind::Pharmacy,
        holder_view: HolderView::PrescriptionsWithItems,
        act: ActBasis::DispensedQuantities,
        qr: QrLifetime::Minutes(5),
        ledger_version: 2,
    },
    KindSpec {
        kind: VoucherKind::Club,
        eligibility: Eligibility::StateListWithParentConsent,
        unit: Unit::SessionsPerMonth,
        provider: ProviderKind::Club,
        holder_view: HolderView::SessionsLeft,
        act: ActBasis::SessionsCounted,
        qr: QrLifetime::Minutes(15),
        ledger_version: 2,
    },
];

impl VoucherKind {
    pub const ALL: [VoucherKind; 3] = [VoucherKind::Meal, VoucherKind::Medicine, VoucherKind::Club];

    /// The stored name (`wallet_ledger.voucher_kind`, audit rows).
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherKind::Meal => "meal",
            VoucherKind::Medicine => "medicine",
            VoucherKind::Club => "club",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The kind's byte in QR tokens.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == b)
    }

    pub fn spec(self) -> &'static KindSpec {
        SPECS
            .iter()
            .find(|s| s.kind == self)
            .expect("every kind has a spec")
    }

    /// Who redeems this kind.
    pub fn provider(self) -> ProviderKind {
        self.spec().provider
    }

    /// The text key naming the kind to people (`voucher-kind-meal`, …, in vouchers.ftl).
    pub fn name_key(self) -> &'static str {
        match self {
            VoucherKind::Meal => "voucher-kind-meal",
            VoucherKind::Medicine => "voucher-kind-medicine",
            VoucherKind::Club => "voucher-kind-club",
        }
    }
}

/// Errors of the engine's administration (CLI, feeds).
#[derive(Debug, thiserror::Error)]
pub enum VoucherError {
    #[error(transparent)]
    Core(#[from] super::CoreError),
    #[error("invalid BIN: {0}")]
    BadBin(String),
    #[error("the name must not be empty")]
    EmptyName,
    #[error("no {kind} with BIN {bin}")]
    NoProvider { kind: &'static str, bin: String },
    #[error("unknown provider kind {0:?} (canteen, pharmacy, club)")]
    BadProviderKind(String),
    #[error("the date must be YYYY-MM-DD: {0:?}")]
    BadDate(String),
    #[error("writing the export: {0}")]
    Io(String),
}

impl From<crate::storage::StoreError> for VoucherError {
    fn from(e: crate::storage::StoreError) -> Self {
        VoucherError::Core(e.into())
    }
}

impl From<sqlx::Error> for VoucherError {
    fn from(e: sqlx::Error) -> Self {
        VoucherError::Core(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_spec_a_distinct_code_and_a_provider_that_redeems_it() {
        let mut codes = std::collections::HashSet::new();
        for k in VoucherKind::ALL {
            assert_eq!(k.spec().kind, k);
            assert!(codes.insert(k.code()), "{k:?}");
            assert_eq!(VoucherKind::from_code(k.code()), Some(k));
            assert_eq!(VoucherKind::parse(k.as_str()), Some(k));
            assert_eq!(k.provider().voucher_kind(), k);
            // Only meals keep the version-1 line; every new kind names itself (version 2).
            assert_eq!(k.spec().ledger_version == 1, k == VoucherKind::Meal);
        }
        assert_eq!(VoucherKind::from_code(0), None);
        assert_eq!(VoucherKind::parse("gas"), None);
        for p in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(p.as_str()), Some(p));
        }
        assert_eq!(ProviderKind::parse("bank"), None);
        assert_eq!(
            VoucherKind::Medicine.spec().qr,
            QrLifetime::Minutes(5),
            "a prescription's QR lives a few minutes"
        );
    }
}
