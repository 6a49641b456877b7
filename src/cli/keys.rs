//! `ashyq keys …`: key versions and their rotation (docs/SECURITY.md, "Key rotation";
//! docs/OPERATIONS.md).

use crate::app;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::security::keys::{self, Started, Step};
use clap::Subcommand;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a newer key version the one that writes, re-hash and re-seal every stored value
    /// under it in batches while the service keeps serving, then retire the old version.
    /// With the key file, the new version is added to it; with ASHYQ_SECRET_KEY, add
    /// ` N:<secret>` to it on every replica first. Run again to resume a stopped rotation.
    Rotate {
        /// Rows per transaction.
        #[arg(long, default_value_t = keys::BATCH)]
        batch: i64,
    },
    /// Print the key state and the rows still under an older version.
    Status,
}

pub async fn run(settings: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate { batch } => {
            let mut core = app::build_core(settings, Arc::new(SystemClock)).await?;
            let state = core.vault.state();
            let newest = core.vault.versions().last().copied().unwrap_or(1);
            if state.previous.is_none() && newest <= state.current && settings.keys_from_file() {
                let v = crate::config::add_key_version(&settings.key_file)?;
                println!(
                    "added key version {v} to {} (back the file up now)",
                    settings.key_file.display()
                );
                core.store.close().await;
                core = app::build_core(settings, Arc::new(SystemClock)).await?;
            }
            let result = rotate(&core, batch).await;
            core.store.close().await;
            result
        }
        KeysCommand::Status => {
            let core = app::build_core(settings, Arc::new(SystemClock)).await?;
            let state = core.vault.state();
            println!(
                "current version {}{}; configured versions {:?}",
                state.current,
                state
                    .previous
                    .map(|p| format!(", rotating from version {p}"))
                    .unwrap_or_default(),
                core.vault.versions()
            );
            for (table, n) in keys::remaining(&core.store, &core.vault).await? {
                if n > 0 {
                    println!("{table}: {n} rows under an older version");
                }
            }
            core.store.close().await;
            Ok(())
        }
    }
}

async fn rotate(core: &crate::core::Core, batch: i64) -> anyhow::Result<()> {
    match keys::start(&core.store, &core.vault, core.now_ms()).await? {
        Started::New { from, to } => println!(
            "version {to} writes from now on; version {from} is read until the rotation ends. \
             Waiting {} s for every replica to pick it up…",
            keys::GRACE_MS / 1000
        ),
        Started::Resumed { from, to } => {
            println!("resuming the rotation from version {from} to {to}")
        }
    }
    let mut changed = 0usize;
    let end = keys::run(
        &core.store,
        &core.vault,
        batch.max(1),
        || core.now_ms(),
        None,
        |s| {
            if let Step::Batch {
                table,
                changed: n,
                finished,
            } = s
            {
                changed += n;
                if *finished {
                    println!("{table}: done ({changed} rows rewritten so far)");
                }
            }
        },
    )
    .await?;
    if let Step::Retired { version } = end {
        println!("rotation complete: {changed} rows rewritten, version {version} retired");
    }
    Ok(())
}
