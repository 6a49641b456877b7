//! Subcommands of prescriptions: pharmacies, pharmacists' invitations, disputes, the
//! import (`ashyq import prescriptions FILE`; `ashyq act --pharmacy` lives with the acts).

use crate::app;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::core::Core;
use crate::core::prescriptions::{self, feed};
use crate::core::vouchers::{ProviderKind, providers};
use clap::Subcommand;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum PharmacyCommand {
    /// Set a pharmacy's name (created when new).
    Set {
        #[arg(long)]
        bin: String,
        #[arg(long)]
        name: String,
    },
    /// A one-time invitation link (7 days) that makes a chat a pharmacist of the pharmacy.
    Invite { bin: String },
}

#[derive(Debug, Subcommand)]
pub enum DisputeCommand {
    /// Move a dispute: `review`, `upheld` or `rejected` (the patient is told).
    Decide {
        id: i64,
        #[arg(long)]
        status: String,
    },
}

/// Either command group.
#[derive(Debug)]
pub enum Any {
    Pharmacy(PharmacyCommand),
    Dispute(DisputeCommand),
}

pub async fn run(settings: &Settings, command: Any) -> anyhow::Result<()> {
    let core = app::build_core(settings, Arc::new(SystemClock)).await?;
    let result = run_with(&core, settings, command).await;
    core.store.close().await;
    result
}

async fn run_with(core: &Core, settings: &Settings, command: Any) -> anyhow::Result<()> {
    match command {
        Any::Pharmacy(PharmacyCommand::Set { bin, name }) => {
            let id = providers::set(core, ProviderKind::Pharmacy, &bin, &name).await?;
            println!(
                "{}",
                serde_json::json!({"pharmacy_id": id, "bin": bin.trim()})
            );
        }
        Any::Pharmacy(PharmacyCommand::Invite { bin }) => {
            let bot = settings.bot_username.clone().ok_or_else(|| {
                anyhow::anyhow!("ASHYQ_BOT_USERNAME is needed for invitation links")
            })?;
            println!(
                "{}",
                providers::invite(core, ProviderKind::Pharmacy, &bin, &bot).await?
            );
        }
        Any::Dispute(DisputeCommand::Decide { id, status }) => {
            prescriptions::decide(core, id, &status).await?;
            println!(
                "{}",
                serde_json::json!({"dispute": id, "status": status.trim()})
            );
        }
    }
    Ok(())
}

/// `ashyq import prescriptions FILE`: prints rejected prescriptions (by first line) on
/// stderr and a JSON summary.
pub async fn import_prescriptions(core: &Core, file: &std::path::Path) -> anyhow::Result<()> {
    let handle = std::fs::File::open(file)?;
    let report = feed::import_csv(core, std::io::BufReader::new(handle)).await?;
    for r in &report.rejected {
        eprintln!("line {}: {}", r.index, r.reason);
    }
    println!(
        "{}",
        serde_json::json!({
            "accepted": report.accepted,
            "duplicates": report.duplicates,
            "withdrawn": report.withdrawn,
            "rejected": report.rejected.len(),
        })
    );
    Ok(())
}
