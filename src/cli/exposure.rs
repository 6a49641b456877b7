//! Subcommands of exposure warnings: the epidemiologists' export, the jobs and retention
//! run by hand, and the per-venue setting (`ashyq venue set`).

use crate::app;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::core::exposure;
use clap::Subcommand;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum ExposureCommand {
    /// The co-visitors of one positive case with their IINs, as CSV for the official
    /// contact list (audited: who, when, which case, how many rows).
    Export {
        /// The PCR result's external id (as the laboratory sent it).
        #[arg(long = "case")]
        case: String,
        /// Who exports (recorded in the audit; the OS user by default).
        #[arg(long, env = "USER")]
        by: Option<String>,
        /// Write the CSV to this file (created with mode 0600) instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Process the queued exposure jobs now (`ashyq serve` does it every few seconds).
    Run,
    /// Delete visits and audit lines older than their retention periods now (hourly in
    /// `ashyq serve`).
    Retention,
}

pub async fn run(settings: &Settings, command: ExposureCommand) -> anyhow::Result<()> {
    let core = app::build_core(settings, Arc::new(SystemClock)).await?;
    let result = run_with(&core, command).await;
    core.store.close().await;
    result
}

async fn run_with(core: &crate::core::Core, command: ExposureCommand) -> anyhow::Result<()> {
    match command {
        ExposureCommand::Export { case, by, out } => {
            let by = by.unwrap_or_default();
            let export = exposure::export::export(core, &case, &by).await?;
            match out {
                Some(path) => {
                    write_private(&path, export.csv.as_bytes())?;
                    eprintln!("{} rows written to {}", export.rows, path.display());
                }
                None => print!("{}", export.csv),
            }
            if export.rows == 0 {
                eprintln!("no co-visitors for case {case:?}");
            }
            if export.not_recoverable > 0 {
                eprintln!(
                    "{} co-visitor(s) entered in guard mode without an account: only a keyed hash of the IIN is stored, so the IIN column is empty; the venue's staff hold the visit's check code",
                    export.not_recoverable
                );
            }
        }
        ExposureCommand::Run => {
            let r = exposure::run_jobs(core).await?;
            println!(
                "jobs {}, failed {}, co-visitors {}, warnings queued {}, corrections queued {}",
                r.jobs, r.failed, r.co_visitors, r.warned, r.corrected
            );
        }
        ExposureCommand::Retention => {
            let p = exposure::retention::run_due(core, core.clock.now()).await?;
            println!(
                "deleted visits {}, warnings {}, jobs {}, audit lines {}",
                p.visits, p.warnings, p.jobs, p.audit_lines
            );
        }
    }
    Ok(())
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// `ashyq venue set VENUE_ID --exposure on|off`.
pub async fn set_venue(
    core: &crate::core::Core,
    venue_id: i64,
    exposure_on: bool,
) -> anyhow::Result<()> {
    let mut tx = core.store.begin().await?;
    let off_at = (!exposure_on).then(|| core.now_ms());
    if !crate::storage::exposure::set_venue_exposure_off(&mut tx, venue_id, off_at).await? {
        anyhow::bail!("no venue {venue_id}");
    }
    tx.commit().await?;
    Ok(())
}
