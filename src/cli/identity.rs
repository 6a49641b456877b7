//! `ashyq identity …`: feed and inspect the identity table (the `table` registry).

use crate::app;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::core::import;
use crate::identity::table;
use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Import pairs from a CSV file with columns `iin,phone` (any common phone form);
    /// idempotent; bad rows are reported by line. `--remove` deletes the file's pairs.
    Import {
        file: PathBuf,
        #[arg(long)]
        remove: bool,
    },
    /// Remove one pair (a number given up and issued to someone else).
    Remove {
        #[arg(long)]
        iin: String,
        #[arg(long)]
        phone: String,
    },
    /// Print how many pairs the table holds.
    Count,
}

pub async fn run(settings: &Settings, command: IdentityCommand) -> anyhow::Result<()> {
    let core = app::build_core(settings, Arc::new(SystemClock)).await?;
    let result = run_with(&core, command).await;
    core.store.close().await;
    result
}

async fn run_with(core: &crate::core::Core, command: IdentityCommand) -> anyhow::Result<()> {
    match command {
        IdentityCommand::Import { file, remove } => {
            let handle = std::fs::File::open(&file)?;
            let bar = import::progress_bar(handle.metadata()?.len());
            let started = std::time::Instant::now();
            let report =
                table::import_csv(core, std::io::BufReader::new(handle), remove, &bar).await?;
            bar.finish_and_clear();
            for r in &report.rejected {
                eprintln!("line {}: {}", r.index, r.reason);
            }
            println!(
                "added {}, already stored {}, removed {}, absent {}, rejected {} in {:.1} s",
                report.added,
                report.duplicates,
                report.removed,
                report.absent,
                report.rejected.len(),
                started.elapsed().as_secs_f64()
            );
        }
        IdentityCommand::Remove { iin, phone } => {
            let (iin, phone) = table::parse_pair(&iin, &phone).map_err(|e| anyhow::anyhow!(e))?;
            if table::remove(core, &iin, &phone).await? {
                println!("removed");
            } else {
                anyhow::bail!("no such pair");
            }
        }
        IdentityCommand::Count => {
            let mut conn = core.store.pool().acquire().await?;
            println!(
                "{}",
                crate::storage::identity::count_pairs(&mut conn).await?
            );
        }
    }
    Ok(())
}
