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
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app(state)).await {
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
    let (bound, http_task) = spawn_http(http, state).await?;
    tracing::info!(%bound, "HTTP listening (GET /healthz, POST /api/v1/…)");
    let stop_cache = tokio_util::sync::CancellationToken::new();
    let cache = start_status_cache(&core, stop_cache.clone()).await?;
    // Background jobs (check-out, owners' notices, status notifier, pruning), each on its own.
    let stop_jobs = tokio_util::sync::CancellationToken::new();
    let jobs: Vec<_> = crate::core::job::all()
        .into_iter()
        .map(|job| crate::core::job::spawn(core.clone(), job, stop_jobs.clone()))
        .collect();
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
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("stopping");
                let _ = token.shutdown();
            }
        });
        dispatcher.dispatch().await;
        stop_outbox.cancel();
        let _ = outbox.await;
    } else {
        tracing::warn!(
            "Telegram is off: TELOXIDE_TOKEN is not set. Serving HTTP only; press Ctrl+C to stop."
        );
        tokio::signal::ctrl_c().await?;
    }
    stop_sms.cancel();
    let _ = sms.await;
    stop_jobs.cancel();
    stop_cache.cancel();
    for job in jobs {
        let _ = job.await;
    }
    if let Some(cache) = cache {
        let _ = cache.await;
    }
    http_task.abort();
    core.store.close().await;
    Ok(())
}
