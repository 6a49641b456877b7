//! Operations (issue 16 item 5, docs/OPERATIONS.md): Prometheus metrics, the shutdown signal
//! and grace period, and the log format.

pub mod metrics;

use std::time::Duration;

/// Resolves on SIGTERM (what orchestrators send) or Ctrl+C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl+C: stopping"),
        () = term => tracing::info!("SIGTERM: stopping"),
    }
}

/// Waits for [`shutdown_signal`], then starts the watchdog: if the process is still running
/// [`grace_period`] later, it exits with status 1 (in-flight work had its chance; the outbox
/// and processed updates are durable, so nothing acknowledged is lost).
pub async fn shutdown_signal_then_watchdog() {
    shutdown_signal().await;
    let grace = grace_period();
    tracing::info!(
        grace_secs = grace.as_secs(),
        "stopping: no new updates; finishing those in flight"
    );
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        tracing::error!("grace period over: exiting now");
        std::process::exit(1);
    });
}

/// How long `serve` may take to stop after the signal (`ASHYQ_SHUTDOWN_GRACE_SECS`, default 20):
/// in-flight updates finish and the outbox flushes within it; then the process exits anyway.
pub fn grace_period() -> Duration {
    std::env::var("ASHYQ_SHUTDOWN_GRACE_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(20), Duration::from_secs)
}

/// Whether logs are JSON lines (`ASHYQ_LOG_FORMAT=json`).
pub fn json_logs() -> bool {
    std::env::var("ASHYQ_LOG_FORMAT").is_ok_and(|v| v.trim().eq_ignore_ascii_case("json"))
}
