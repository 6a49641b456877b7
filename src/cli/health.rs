//! Subcommands of the health-data feeds: API keys, CSV import, status look-up.

use crate::app;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::core::feeds;
use crate::core::import::{self, Kind};
use crate::domain::Iin;
use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum HealthCommand {
    /// API keys of the HTTP feeds.
    Apikey {
        #[command(subcommand)]
        action: ApikeyAction,
    },
    /// Import PCR results or contacts from a CSV file (idempotent by external_id).
    Import {
        #[command(subcommand)]
        kind: ImportKind,
    },
    /// Print a person's colour status as one JSON object (operators and auditors).
    Status {
        /// The person's IIN.
        #[arg(long)]
        iin: String,
        /// The instant to evaluate at (RFC 3339); now by default.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApikeyAction {
    /// Create a key and print it once (only its hash is stored).
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: pcr, contacts, occupancy, pupils, clubs, identity.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
    /// List keys (names, scopes, dates; never the secrets).
    List,
    /// Revoke a key by name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportKind {
    /// Columns `iin,taken_at,result_at,result,lab,external_id`.
    Pcr { file: PathBuf },
    /// Columns `iin,contact_date,case_id,external_id`.
    Contacts { file: PathBuf },
    /// Social Wallet lists: `pupil_iin,grade,school_bin,parent_iin,parent_phone,social_assistance`.
    Pupils { file: PathBuf },
    /// Prescriptions, one row per medicine: `external_id,patient_iin,representative_iin,
    /// prescriber,issued_on,expires_on,kind,patient_share,inn,form,quantity,unit,withdrawn`.
    Prescriptions { file: PathBuf },
    /// Club voucher lists: `pupil_iin,club_bin,sessions_per_month,parent_iin,parent_phone`.
    Clubs { file: PathBuf },
}

pub async fn run(settings: &Settings, command: HealthCommand) -> anyhow::Result<()> {
    let core = app::build_core(settings, Arc::new(SystemClock)).await?;
    let result = run_with(&core, command).await;
    core.store.close().await;
    result
}

async fn run_with(core: &crate::core::Core, command: HealthCommand) -> anyhow::Result<()> {
    match command {
        HealthCommand::Apikey {
            action: ApikeyAction::Create { name, scopes },
        } => {
            let key = feeds::create_api_key(core, &name, &scopes).await?;
            eprintln!(
                "API key {name:?} created (id {}). It is shown only once:",
                key.id
            );
            println!("{}", key.secret);
        }
        HealthCommand::Apikey {
            action: ApikeyAction::List,
        } => {
            let mut conn = core.store.pool().acquire().await?;
            for k in crate::storage::health::list_api_keys(&mut conn).await? {
                let revoked = k.revoked_at.map_or(String::new(), |_| " (revoked)".into());
                println!("{}\t{}\t{}{revoked}", k.id, k.name, k.scopes);
            }
        }
        HealthCommand::Apikey {
            action: ApikeyAction::Revoke { name },
        } => {
            let mut conn = core.store.pool().acquire().await?;
            if !crate::storage::health::revoke_api_key(&mut conn, &name, core.now_ms()).await? {
                anyhow::bail!("no active API key named {name:?}");
            }
            println!("revoked");
        }
        HealthCommand::Import { kind } => {
            let (kind, file) = match kind {
                ImportKind::Pcr { file } => (Kind::Pcr, file),
                ImportKind::Contacts { file } => (Kind::Contacts, file),
                ImportKind::Pupils { file } => {
                    return super::wallet::import_pupils(core, &file).await;
                }
                ImportKind::Prescriptions { file } => {
                    return super::pharmacy::import_prescriptions(core, &file).await;
                }
                ImportKind::Clubs { file } => {
                    let handle = std::fs::File::open(&file)?;
                    let report =
                        crate::core::wallet::import_clubs(core, std::io::BufReader::new(handle))
                            .await?;
                    for r in &report.rejected {
                        eprintln!("line {}: {}", r.index, r.reason);
                    }
                    println!("{}", serde_json::to_string(&report)?);
                    return Ok(());
                }
            };
            let handle = std::fs::File::open(&file)?;
            let bar = import::progress_bar(handle.metadata()?.len());
            let started = std::time::Instant::now();
            let report =
                import::import_csv(core, kind, std::io::BufReader::new(handle), &bar).await?;
            bar.finish_and_clear();
            for r in &report.rejected {
                eprintln!("line {}: {}", r.index, r.reason);
            }
            println!(
                "imported {}, already stored {}, rejected {}, notices queued {} in {:.1} s",
                report.accepted,
                report.duplicates,
                report.rejected.len(),
                report.notices,
                started.elapsed().as_secs_f64()
            );
        }
        HealthCommand::Status { iin, at } => {
            let iin = Iin::parse(&iin).map_err(|e| anyhow::anyhow!("invalid IIN: {e}"))?;
            let at = match at {
                Some(a) => chrono::DateTime::parse_from_rfc3339(&a)
                    .map_err(|e| anyhow::anyhow!("--at is not RFC 3339: {e}"))?
                    .to_utc(),
                None => core.clock.now(),
            };
            let st = crate::core::status::status_of_iin(core, &iin, at).await?;
            println!("{}", crate::core::status::status_json_line(&st));
        }
    }
    Ok(())
}
