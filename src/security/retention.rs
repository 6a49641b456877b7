//! The retention job (docs/SECURITY.md, "Retention"): records that are only needed for a while
//! are deleted when their time is up. `run_due` is called by `ashyq serve` every hour and
//! directly by tests with a manual clock.

use crate::core::{Core, CoreError};
use crate::storage::{self, security};

/// Sent (or given-up) outbox rows, whose payloads carry relayed texts, are kept this long.
pub const OUTBOX_DAYS: i64 = 30;
/// Processed update ids (redelivery protection) are kept this long.
pub const UPDATE_IDS_DAYS: i64 = 7;
/// Failed code attempts (throttle and audit) are kept this long.
pub const ATTEMPT_DAYS: i64 = 30;

const DAY_MS: i64 = 86_400_000;

/// What one run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub outbox: u64,
    pub update_ids: u64,
    pub attempts: u64,
}

/// Deletes what is past its retention at `now_ms`, in one transaction.
pub async fn run_due(core: &Core, now_ms: i64) -> Result<Pruned, CoreError> {
    let mut tx = core.store.begin().await?;
    let pruned = Pruned {
        outbox: security::prune_outbox(&mut tx, now_ms - OUTBOX_DAYS * DAY_MS).await?,
        update_ids: storage::prune_updates(&mut tx, now_ms - UPDATE_IDS_DAYS * DAY_MS).await?,
        attempts: security::prune_failures(&mut tx, now_ms - ATTEMPT_DAYS * DAY_MS).await?,
    };
    tx.commit().await?;
    if pruned != Pruned::default() {
        tracing::info!(?pruned, "retention: expired records deleted");
    }
    Ok(pruned)
}

/// Runs [`run_due`] every hour until `stop` fires.
pub async fn run_loop(core: std::sync::Arc<Core>, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3_600));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = run_due(&core, core.now_ms()).await {
                    tracing::warn!(error = %e, "retention run failed");
                }
            }
        }
    }
}
