//! Prescriptions at pharmacies (issue 17, items 2-4; shared/domain.md, "Medicines").
//!
//! - [`feed`]: the medical information system's prescriptions (HTTP and CSV), withdrawals.
//! - [`token`]: the patient's short-lived QR and typed code, the pharmacist's signed buttons.
//! - [`patient`]: `/prescriptions` for the registry-verified patient (or, for a child, the
//!   verified representative): active, partly dispensed, used and expired ones with their
//!   items and dispensings, "show QR", "I did not receive this".
//! - [`pharmacy`]: the pharmacist's scan, the dispensing ([`dispense`], the one path:
//!   benchmarks and tests call it directly), the monthly act from the ledger.
//! - [`dispute`]: the health authority's decisions (buttons in its chat, or the CLI).
//!
//! The medicine kind of the voucher engine (`core::vouchers`): pharmacies are providers of
//! kind `pharmacy` and pharmacists their operators (one-time `prv_…` invites, joined
//! through the wallet), the patient's QR is the engine's short-lived token, and every
//! issue, withdrawal, dispensing line, complaint and decision is a version-2 entry of the
//! one ledger.

pub mod feed;
pub mod token;

mod dispute;
mod patient;
mod pharmacy;
pub use dispute::*;
pub use patient::*;
pub use pharmacy::*;

use super::context::Ctx;
use super::shared::callback::RxButton;
use super::shared::routes::PrescriptionsRoute;
use super::{Core, CoreError, Outbound};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::{ChatRef, StoreError};
use chrono::NaiveDate;

/// Settings (from the environment, see `config.rs`).
#[derive(Debug, Clone, Default)]
pub struct PrescriptionSettings {
    /// The health authority's chat, where disputes arrive with their buttons
    /// (`HEALTH_AUTHORITY_CHAT_ID`); `None`: disputes are decided by the CLI only.
    pub authority_chat: Option<ChatRef>,
    /// The language of the authority's messages (Russian unless set).
    pub authority_lang: Option<Lang>,
}

impl PrescriptionSettings {
    pub fn authority_lang(&self) -> Lang {
        self.authority_lang.unwrap_or(Lang::Ru)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrescriptionError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("import: {0}")]
    Import(String),
    #[error("invalid BIN: {0}")]
    BadBin(String),
    #[error("the name must be 1..=200 characters")]
    BadName,
    #[error("no pharmacy with BIN {0} (set it with `ashyq pharmacy set`)")]
    NoPharmacy(String),
    #[error("the month must be YYYY-MM")]
    BadMonth,
    #[error("no dispute {0}")]
    NoDispute(i64),
    #[error("dispute {0} cannot move from {1} to {2}")]
    BadMove(i64, String, String),
    #[error("the status must be review, upheld or rejected")]
    BadStatus,
    #[error("the ledger does not verify: {0}")]
    LedgerBroken(String),
}

impl From<StoreError> for PrescriptionError {
    fn from(e: StoreError) -> Self {
        PrescriptionError::Core(e.into())
    }
}

impl From<sqlx::Error> for PrescriptionError {
    fn from(e: sqlx::Error) -> Self {
        PrescriptionError::Core(e.into())
    }
}

/// Today in Almaty.
pub fn today(core: &Core) -> NaiveDate {
    core.clock
        .now()
        .with_timezone(&crate::clock::almaty())
        .date_naive()
}

/// A stored local day (`YYYY-MM-DD`) as a date for a text.
fn day_of(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

fn reply(lang: Lang, msg: Msg) -> Vec<Outbound> {
    vec![Outbound::reply(lang, msg)]
}

/// The feature's entry point.
pub async fn handle(
    ctx: &mut Ctx<'_>,
    route: PrescriptionsRoute,
) -> Result<Vec<Outbound>, CoreError> {
    match route {
        PrescriptionsRoute::List => patient::list(ctx).await,
        PrescriptionsRoute::Code(code) => {
            pharmacy::scan(ctx.core, ctx.tx, ctx.chat, ctx.lang, &code).await
        }
        PrescriptionsRoute::StaleButton => Ok(reply(ctx.lang, Msg::new("hint-stale-button"))),
        PrescriptionsRoute::Button(b) => match b {
            RxButton::List => patient::list(ctx).await,
            RxButton::Qr(id) => patient::qr(ctx, id).await,
            RxButton::Dispute(id) => patient::dispute(ctx, id).await,
            RxButton::Decide(id, d) => {
                dispute::decide_from_chat(ctx.core, ctx.tx, ctx.chat, ctx.lang, id, d).await
            }
            RxButton::Dispense {
                prescription,
                seq,
                item,
                quantity,
                until,
                mac,
            } => {
                pharmacy::on_dispense_button(
                    ctx.core,
                    ctx.tx,
                    ctx.chat,
                    ctx.lang,
                    pharmacy::ButtonPress {
                        prescription,
                        seq,
                        item,
                        quantity,
                        until,
                        mac,
                    },
                )
                .await
            }
        },
    }
}
