//! Start-up: builds the core from the settings, and runs the long-lived services.
//! `main.rs` stays thin; tests build the same pieces with their own clock and database.

use crate::adapters::telegram;
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::Core;
use crate::core::status_cache::{CacheSettings, StatusCache};
use crate::http::{HttpState, app};
use crate::i18n::Texts;
use crate::storage::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// Opens the database (migrating it) and builds the core.
pub async fn build_core(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<Core>> {
    let vault = settings.vault()?;
    let store = Store::open(&settings.database_url).await?;
    let mut core = Core::new(store, vault, clock, Arc::new(Texts::load()))
        .with_support(settings.support.clone())
        .with_business(settings.business.clone())
        .with_wallet(settings.wallet.clone())
        .with_checkin_lanes(settings.checkin_lanes);
    if settings.status_cache_entries > 0 {
        core = core.with_status_cache(Arc::new(StatusCache::new(CacheSettings {
            max_entries: settings.status_cache_entries,
            ..CacheSettings::default()
        })));
    }
    Ok(Arc::new(core))
}

/// Starts the status cache (when the core has one) and keeps it following the change log
/// until `stop`. Until this runs, the cache answers nothing.
pub async fn start_status_cache(
    core: &Arc<Core>,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(cache) = core.status_cache.clone() else {
        return Ok(None);
    };
    let mut conn = core.store.pool().acquire().await?;
    cache.start(&mut conn).await?;
    drop(conn);
    Ok(Some(tokio::spawn(cache.run(core.store.clone(), stop))))
}

/// Binds the HTTP server (port 0 picks a free port) and serves it in the background.
pub async fn spawn_http(
    addr: SocketAddr,
    state: HttpState,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    spawn_http_until(addr, state, tokio_util::sync::CancellationToken::new()).await
}

/// [`spawn_http`] that stops accepting at `stop` and finishes the requests in flight. The
/// peer address reaches the handlers (the failed-authentication throttle counts per source).
pub async fn spawn_http_until(
    addr: SocketAddr,
    state: HttpState,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, service)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok((bound, handle))
}

/// `ashyq serve`: HTTP always; Telegram long polling when a token is configured.
pub async fn serve(core: Arc<Core>, http: SocketAddr, telegram_on: bool) -> anyhow::Result<()> {
    let state = HttpState {
        store: core.store.clone(),
        telegram: telegram_on,
        core: Some(core.clone()),
    };
    let stop_http = tokio_util::sync::CancellationToken::new();
    let (bound, http_task) = spawn_http_until(http, state, stop_http.clone()).await?;
    tracing::info!(%bound, "HTTP listening (GET /healthz, POST /api/v1/…)");
    let stop_cache = tokio_util::sync::CancellationToken::new();
    let cache = start_status_cache(&core, stop_cache.clone()).await?;
    // Automatic check-out and its reminders.
    let stop_due = tokio_util::sync::CancellationToken::new();
    let due = tokio::spawn(crate::core::checkin::run_due_loop(
        core.clone(),
        std::time::Duration::from_secs(30),
        stop_due.clone(),
    ));
    // Status changes that happen by themselves ("now blue").
    let stop_notifier = tokio_util::sync::CancellationToken::new();
    let notifier = tokio::spawn(crate::core::status::run_notifier(
        core.clone(),
        stop_notifier.clone(),
    ));
    // Retention: sent outbox payloads, processed update ids, failed attempts.
    let stop_retention = tokio_util::sync::CancellationToken::new();
    let retention = tokio::spawn(crate::security::retention::run_loop(
        core.clone(),
        stop_retention.clone(),
    ));
    // The SMS gateway (Social Wallet offers and answers to parents without the bot).
    let stop_sms = tokio_util::sync::CancellationToken::new();
    let sms = tokio::spawn(crate::adapters::sms::run_outbox(
        core.clone(),
        crate::adapters::sms::Gateway::from_settings(&core.wallet),
        stop_sms.clone(),
    ));
    if telegram_on {
        let bot = telegram::bot_from_env();
        if let Err(e) = telegram::set_commands(&bot, &core.texts).await {
            tracing::warn!(error = %e, "could not set the command menu");
        }
        tracing::info!("Telegram long polling started");
        let stop_outbox = tokio_util::sync::CancellationToken::new();
        let outbox = tokio::spawn(telegram::run_outbox(
            bot.clone(),
            core.clone(),
            stop_outbox.clone(),
        ));
        let mut dispatcher = telegram::dispatcher(bot, core.clone());
        let token = dispatcher.shutdown_token();
        tokio::spawn(async move {
            crate::ops::shutdown_signal_then_watchdog().await;
            let _ = token.shutdown();
        });
        dispatcher.dispatch().await;
        stop_outbox.cancel();
        let _ = outbox.await;
    } else {
        tracing::warn!(
            "Telegram is off: TELOXIDE_TOKEN is not set. Serving HTTP only; Ctrl+C or SIGTERM stops."
        );
        crate::ops::shutdown_signal_then_watchdog().await;
    }
    stop_http.cancel();
    stop_retention.cancel();
    let _ = retention.await;
    stop_sms.cancel();
    let _ = sms.await;
    stop_due.cancel();
    stop_notifier.cancel();
    stop_cache.cancel();
    let _ = due.await;
    let _ = notifier.await;
    if let Some(cache) = cache {
        let _ = cache.await;
    }
    let _ = http_task.await;
    core.store.close().await;
    tracing::info!("stopped");
    Ok(())
}
