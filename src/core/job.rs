//! Background jobs: work that falls due with time rather than with a message (automatic
//! check-out and its reminders, owners' notices, colours that change by themselves, the
//! change log's pruning).
//!
//! Each job implements [`Job`]: a name, how often it looks, and one pass
//! [`Job::run_due`] that does whatever is due at `now` and is safe to run twice, after a
//! restart, or in two processes at once (its effects carry dedupe keys or conditional
//! updates). The application schedules every job of [`all`] on its own task with [`run`],
//! so one slow or failing job never delays another, and each can be wrapped in a leader
//! lock when several replicas run. Tests call `run_due` directly with a `ManualClock`.

use super::{Core, CoreError};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future borrowing the job and the core (the trait stays object-safe).
pub type JobFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One background job.
pub trait Job: Send + Sync + 'static {
    /// A stable name for logs, metrics and leader locks (`checkout`, `status-notifier`…).
    fn name(&self) -> &'static str;

    /// The longest time between two passes.
    fn interval(&self) -> Duration;

    /// Does what is due at `now`; returns how many items it handled (0: nothing was due).
    fn run_due<'a>(
        &'a self,
        core: &'a Core,
        now: DateTime<Utc>,
    ) -> JobFuture<'a, Result<usize, CoreError>>;

    /// How long to wait before the next pass, at most [`Job::interval`]. A job that knows
    /// when its next item falls due (the status notifier) answers sooner.
    fn next_wait<'a>(&'a self, _core: &'a Core) -> JobFuture<'a, Duration> {
        let every = self.interval();
        Box::pin(async move { every })
    }
}

/// Every job `ashyq serve` runs, each to be scheduled on its own.
pub fn all() -> Vec<Arc<dyn Job>> {
    vec![
        Arc::new(super::checkin::due::CheckOut),
        Arc::new(super::business::monitor::OwnerNotices),
        Arc::new(super::status::Notifier),
        Arc::new(super::status::PruneChanges),
        Arc::new(super::wallet::MorningQr),
        Arc::new(super::prescriptions::ChainDispensings),
    ]
}

/// Runs one job until `stop`: a pass, then a wait of [`Job::next_wait`]. A failed pass is
/// logged with the job's name and retried at the next turn.
pub async fn run(core: Arc<Core>, job: Arc<dyn Job>, stop: tokio_util::sync::CancellationToken) {
    loop {
        let now = core.clock.now();
        match job.run_due(&core, now).await {
            Ok(0) => {}
            Ok(done) => tracing::debug!(job = job.name(), done, "job pass"),
            Err(e) => tracing::error!(job = job.name(), error = %e, "job pass failed"),
        }
        let wait = job.next_wait(&core).await.min(job.interval());
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Spawns [`run`] for one job.
pub fn spawn(
    core: Arc<Core>,
    job: Arc<dyn Job>,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(core, job, stop))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_unique_and_intervals_positive() {
        let jobs = all();
        let mut names: Vec<_> = jobs.iter().map(|j| j.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "two jobs share a name");
        assert!(jobs.iter().all(|j| j.interval() > Duration::ZERO));
    }
}
