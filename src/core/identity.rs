//! The identity registry's glue in the composition root: the background re-check
//! ([`run_due`], [`run_loop`]) binds an IIN and starts the person's status watch (a feature,
//! so it is named here and not in the shared service `core::shared::identity`).

use super::job::JobFuture;
pub use super::shared::identity::*;
use super::{Core, CoreError};
use crate::storage::Conn;

/// Starts the status watch of a person the background check bound.
fn start_watch<'a>(
    core: &'a Core,
    conn: &'a mut Conn,
    person: i64,
    hash: &'a [u8],
) -> JobFuture<'a, Result<(), CoreError>> {
    Box::pin(super::status::on_registered(core, conn, person, hash))
}

/// One pass of the background check (see [`run_due_with`]).
pub async fn run_due(core: &Core, now_ms: i64) -> Result<usize, CoreError> {
    run_due_with(core, now_ms, start_watch).await
}

/// The background check (`ashyq serve`): [`run_due`] every `every` until `stop`.
pub async fn run_loop(
    core: std::sync::Arc<Core>,
    every: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        if let Err(e) = run_due(&core, core.now_ms()).await {
            tracing::error!(error = %e, "identity re-check pass failed");
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
