//! Retention: visits (check-ins) older than `visit_retention_days` are deleted, with the
//! warnings about them; the check-in audit lines that sanitary alerts cite (and the export
//! audit) are kept for their own, longer `audit_retention_days`. See docs/PRIVACY.md.

use super::DAY_MS;
use crate::core::{Core, CoreError};
use crate::storage::exposure as store;
use chrono::{DateTime, Utc};

/// Rows deleted per statement, so that no transaction holds the table for long.
const BATCH: i64 = 50_000;

/// What one retention run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub visits: u64,
    pub warnings: u64,
    pub jobs: u64,
    pub audit_lines: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.visits + self.warnings + self.jobs + self.audit_lines
    }
}

/// Deletes what is older than its retention period at `now`. Idempotent; the loop in
/// [`super::run_loop`] runs it hourly.
pub async fn run_due(core: &Core, now: DateTime<Utc>) -> Result<Purged, CoreError> {
    let now_ms = now.timestamp_millis();
    let s = &core.exposure;
    let visits_before = now_ms - s.visit_retention_days * DAY_MS;
    let audit_before = now_ms - s.audit_retention_days * DAY_MS;
    let mut purged = Purged::default();
    loop {
        let mut tx = core.store.begin().await?;
        let n = store::delete_visits_before(&mut tx, visits_before, BATCH).await?;
        tx.commit().await?;
        purged.visits += n;
        if n < BATCH as u64 {
            break;
        }
    }
    let mut tx = core.store.begin().await?;
    purged.warnings = store::delete_warnings_before(&mut tx, visits_before).await?;
    purged.jobs = store::delete_jobs_before(&mut tx, visits_before).await?;
    purged.audit_lines = store::delete_audit_before(&mut tx, audit_before).await?;
    tx.commit().await?;
    Ok(purged)
}
