//! Start-up: builds the core from the settings, and the [`Application`] that `ashyq serve`
//! runs and the integration tests start (`TestApp::spawn`): the HTTP server, the bot (long
//! polling or webhook), one outbox worker per channel and the background jobs, each loop
//! under a leader lock (one replica runs it; see [`crate::leader`]).

use crate::adapters::aitu::{Aitu, AituDelivery, run_polling};
use crate::adapters::sms::Gateway;
use crate::adapters::telegram::{self, TgBot, WebhookConfig};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::Core;
use crate::core::status_cache::{CacheSettings, StatusCache};
use crate::delivery::Worker;
use crate::http::{HttpState, app};
use crate::i18n::Texts;
use crate::leader::{Leadership, ProcessLock, run_as_leader};
use crate::pace::{self, SendPace};
use crate::storage::Store;
use futures::future::BoxFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Opens the database (migrating it) and builds the core.
pub async fn build_core(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<Core>> {
    let vault = settings.vault()?;
    let store = Store::open(&settings.database_url).await?;
    // Which key version writes and which is still read (a rotation may be under way).
    crate::security::keys::refresh(&store, &vault).await?;
    let registry = settings.identity.build(&store, &vault)?;
    let mut core = Core::new(store, vault, clock, Arc::new(Texts::load()))
        .with_identity(registry)
        .with_channels(crate::adapters::channels_for(settings))
        .with_support(settings.support.clone())
        .with_business(settings.business.clone())
        .with_wallet(settings.wallet.clone())
        .with_prescriptions(settings.prescriptions.clone())
        .with_exposure(settings.exposure.clone())
        .with_checkin_lanes(settings.checkin_lanes);
    // Telegram's pace per bot, shared by the replicas through the database (crate::pace).
    let pace = settings.telegram_pace;
    let store = core.store.clone();
    core = core
        .with_pace(
            SendPace::new(pace::TELEGRAM, pace.per_second, Some(store.clone()))
                .with_cap(pace.max_per_second),
        )
        .with_pace(SendPace::new(
            pace::TELEGRAM_PAID,
            pace.paid_per_second,
            Some(store),
        ));
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
    stop: CancellationToken,
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
    spawn_router(addr, app(state), CancellationToken::new()).await
}

/// Serves `router` in the background (the HTTP app with any channel webhooks merged in) until
/// `stop`, finishing the requests in flight. The peer address reaches the handlers (the
/// failed-authentication throttle counts per source).
pub async fn spawn_router(
    addr: SocketAddr,
    router: axum::Router,
    stop: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, service)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok((bound, handle))
}

/// The bot: how updates arrive.
#[derive(Clone)]
pub struct TelegramConfig {
    pub bot: TgBot,
    /// `None`: long polling (`getUpdates`, one consumer: the leader of `telegram-polling`).
    pub webhook: Option<WebhookConfig>,
    /// `TELEGRAM_PAID_BROADCAST=1`: the outbox (national alerts, campaigns) is sent as paid
    /// broadcasts (`allow_paid_broadcast`, up to 1 000 a second, charged in Stars).
    pub paid_broadcast: bool,
}

/// What the application runs besides the core.
#[derive(Clone)]
pub struct AppConfig {
    /// Where HTTP listens (port 0: any free port, as in tests).
    pub http: SocketAddr,
    /// `None`: Telegram is off (no `TELOXIDE_TOKEN`).
    pub telegram: Option<TelegramConfig>,
    /// The SMS gateway of the `sms` channel's outbox worker.
    pub sms: Gateway,
    /// The background jobs (automatic check-out, status notifier…). Tests that drive the
    /// jobs' passes themselves with a manual clock turn them off.
    pub jobs: bool,
    /// `None`: Aitu is off (no `AITU_TOKEN`; docs/AITU.md).
    pub aitu: Option<crate::adapters::aitu::Settings>,
}

impl AppConfig {
    /// From the environment: `TELOXIDE_TOKEN` (and `TELOXIDE_API_URL`) turn Telegram on;
    /// `TELEGRAM_WEBHOOK_URL` with `TELEGRAM_WEBHOOK_SECRET` switch it from long polling to
    /// a webhook.
    pub fn from_env(settings: &Settings, http: SocketAddr) -> anyhow::Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let telegram = match var("TELOXIDE_TOKEN") {
            None => None,
            Some(_) => {
                let webhook = match (var("TELEGRAM_WEBHOOK_URL"), var("TELEGRAM_WEBHOOK_SECRET")) {
                    (None, _) => None,
                    (Some(_), None) => anyhow::bail!(
                        "TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET (1-256 characters of A-Z, a-z, 0-9, _ and -)"
                    ),
                    (Some(url), Some(secret)) => Some(WebhookConfig::new(&url, &secret)?),
                };
                Some(TelegramConfig {
                    bot: telegram::bot_from_env(),
                    webhook,
                    paid_broadcast: var("TELEGRAM_PAID_BROADCAST")
                        .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on")),
                })
            }
        };
        Ok(Self {
            http,
            telegram,
            sms: Gateway::from_settings(&settings.wallet),
            jobs: true,
            aitu: crate::adapters::aitu::Settings::from_env(),
        })
    }
}

/// A loop the application runs under a leader lock: its name and how to start it.
type Loop = (
    String,
    Box<dyn FnMut(CancellationToken) -> BoxFuture<'static, ()> + Send>,
);

/// The running service: one per process. `serve` builds it from the settings; tests build it
/// around their own core (manual clock, fresh database) and the fake Bot API.
pub struct Application {
    core: Arc<Core>,
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    config: AppConfig,
    aitu: Option<Arc<Aitu>>,
    loops: Vec<(Loop, Leadership)>,
    _lock: Option<ProcessLock>,
}

impl Application {
    /// `ashyq serve`: refuses a second process on the same SQLite file, opens and migrates
    /// the database, builds the core, binds HTTP.
    pub async fn build(settings: &Settings, config: AppConfig) -> anyhow::Result<Self> {
        let lock = ProcessLock::acquire(&settings.database_url)?;
        let core = build_core(settings, Arc::new(crate::clock::SystemClock)).await?;
        let mut app = Self::with_core(core, config).await?;
        app._lock = lock;
        Ok(app)
    }

    /// The application around a core built by the caller; binds HTTP (port 0: a free one).
    pub async fn with_core(core: Arc<Core>, config: AppConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.http).await?;
        let address = listener.local_addr()?;
        let aitu = match &config.aitu {
            Some(settings) => Some(Aitu::new(core.clone(), settings.clone())?),
            None => None,
        };
        let loops = loops(&core, &config, aitu.as_ref())
            .into_iter()
            .map(|l| (l, Leadership::default()))
            .collect();
        Ok(Self {
            core,
            listener,
            address,
            config,
            aitu,
            loops,
            _lock: None,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Whether this process leads each loop (`outbox:telegram`, `checkout`…), live.
    pub fn leaders(&self) -> Vec<(String, Leadership)> {
        self.loops
            .iter()
            .map(|((name, _), l)| (name.clone(), l.clone()))
            .collect()
    }

    /// Runs everything until `stop`, then stops the loops and HTTP and waits for them. The
    /// database stays open (the caller closes it).
    pub async fn run_until_stopped(self, stop: CancellationToken) -> anyhow::Result<()> {
        let core = self.core.clone();
        let cache = start_status_cache(&core, stop.child_token()).await?;
        let mut router = app(HttpState {
            store: core.store.clone(),
            telegram: self.config.telegram.is_some(),
            core: Some(core.clone()),
        });
        if let Some(tg) = &self.config.telegram {
            if let Err(e) = telegram::set_commands(&tg.bot, &core.texts).await {
                tracing::warn!(error = %e, "could not set the command menu");
            }
            if let Some(hook) = &tg.webhook {
                router = router.merge(telegram::webhook_router(tg.bot.clone(), core.clone(), hook));
                telegram::set_webhook(&tg.bot, hook).await?;
                tracing::info!(path = %hook.path(), "Telegram webhook set");
            }
        } else {
            tracing::warn!("Telegram is off: TELOXIDE_TOKEN is not set. Serving HTTP only.");
        }
        // Aitu (docs/AITU.md): its webhook shares the HTTP server.
        if let Some(aitu) = &self.aitu {
            if let Some(webhook) = aitu.router()? {
                router = router.merge(webhook);
            }
            aitu.prepare().await?;
        }
        let listener = self.listener;
        tracing::info!(bound = %self.address, "HTTP listening (GET /healthz, POST /api/v1/…)");
        let http_stop = stop.clone();
        let http = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let served = axum::serve(listener, service)
                .with_graceful_shutdown(http_stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        let mut tasks = Vec::new();
        // Every replica reloads the key state (a rotation started elsewhere).
        tasks.push(tokio::spawn(crate::security::keys::refresh_loop(
            core.store.clone(),
            core.vault.clone(),
            stop.clone(),
        )));
        for ((name, job), leadership) in self.loops {
            let (store, stop) = (core.store.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                run_as_leader(&name, &store, stop, leadership, job).await;
            }));
        }
        stop.cancelled().await;
        tracing::info!("stopping");
        for task in tasks {
            let _ = task.await;
        }
        if let Some(cache) = cache {
            let _ = cache.await;
        }
        let _ = http.await;
        Ok(())
    }

    /// Runs the application on its own task; stop it with [`RunningApp::stop`].
    pub fn spawn(self) -> RunningApp {
        let stop = CancellationToken::new();
        let address = self.address;
        let core = self.core.clone();
        let leaders = self.leaders();
        let task = tokio::spawn(self.run_until_stopped(stop.clone()));
        RunningApp {
            stop,
            task,
            address,
            core,
            leaders,
        }
    }
}

/// An [`Application`] running on its own task.
pub struct RunningApp {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub address: SocketAddr,
    pub core: Arc<Core>,
    /// Whether this process leads each loop.
    pub leaders: Vec<(String, Leadership)>,
}

impl RunningApp {
    /// Stops every loop and HTTP, and waits for them.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.await?
    }
}

/// The loops that one replica at a time runs: the background jobs, one outbox worker per
/// channel (a messenger's pace is per bot), Telegram's long polling (one consumer).
// When `core::job` lands, each `Job` of `job::all()` becomes one loop here
// (`(job.name(), |stop| job::run(core, job, stop))`).
fn loops(core: &Arc<Core>, config: &AppConfig, aitu: Option<&Arc<Aitu>>) -> Vec<Loop> {
    let mut loops: Vec<Loop> = Vec::new();
    if config.jobs {
        // The core's jobs (`core::job::all`), two leader locks as before: automatic check-out
        // with its reminders and owners' notices under `checkout`; colours that change by
        // themselves, the change log's pruning and the parents' morning meal QR under
        // `status-notifier`. Each job still runs on its own task.
        let mut groups: Vec<(&str, Vec<Arc<dyn crate::core::job::Job>>)> =
            vec![("checkout", Vec::new()), ("status-notifier", Vec::new())];
        for job in crate::core::job::all() {
            let group = match job.name() {
                "checkout" | "business-notices" => 0,
                _ => 1,
            };
            groups[group].1.push(job);
        }
        for (name, jobs) in groups {
            let c = core.clone();
            loops.push((
                name.into(),
                Box::new(move |stop| {
                    let runs: Vec<_> = jobs
                        .iter()
                        .map(|job| crate::core::job::run(c.clone(), job.clone(), stop.clone()))
                        .collect();
                    Box::pin(async move {
                        futures::future::join_all(runs).await;
                    })
                }),
            ));
        }
        // Registrations waiting for the identity registry (retried with back-off).
        let c = core.clone();
        loops.push((
            "identity".into(),
            Box::new(move |stop| {
                Box::pin(crate::core::identity::run_loop(
                    c.clone(),
                    std::time::Duration::from_secs(30),
                    stop,
                ))
            }),
        ));
        // Key rotation: carries on a rotation under way (docs/SECURITY.md, "Key rotation").
        let c = core.clone();
        loops.push((
            "keys".into(),
            Box::new(move |stop| Box::pin(crate::security::keys::rotation_loop(c.clone(), stop))),
        ));
        // Retention: sent outbox payloads, processed update ids, failed attempts.
        let c = core.clone();
        loops.push((
            "retention".into(),
            Box::new(move |stop| Box::pin(crate::security::retention::run_loop(c.clone(), stop))),
        ));
        // Exposure warnings after positive results, and the retention of old visits.
        let c = core.clone();
        loops.push((
            "exposure".into(),
            Box::new(move |stop| {
                Box::pin(crate::core::exposure::run_loop(
                    c.clone(),
                    std::time::Duration::from_secs(5),
                    stop,
                ))
            }),
        ));
    }
    let (gateway, c) = (config.sms.clone(), core.clone());
    loops.push((
        "outbox:sms".into(),
        Box::new(move |stop| {
            Box::pin(crate::adapters::sms::run_outbox(
                c.clone(),
                gateway.clone(),
                stop,
            ))
        }),
    ));
    if let Some(tg) = &config.telegram {
        let worker = Arc::new(if tg.paid_broadcast {
            telegram::paid_worker(tg.bot.clone())
        } else {
            telegram::worker(tg.bot.clone())
        });
        let c = core.clone();
        loops.push((
            "outbox:telegram".into(),
            Box::new(move |stop| {
                let (w, c) = (worker.clone(), c.clone());
                Box::pin(async move { w.run(c, stop).await })
            }),
        ));
        if tg.webhook.is_none() {
            let (bot, c) = (tg.bot.clone(), core.clone());
            loops.push((
                "telegram-polling".into(),
                Box::new(move |stop| Box::pin(long_polling(bot.clone(), c.clone(), stop))),
            ));
        }
    }
    if let Some(aitu) = aitu {
        let worker = Arc::new(Worker::new(AituDelivery(aitu.clone())));
        let c = core.clone();
        loops.push((
            "outbox:aitu".into(),
            Box::new(move |stop| {
                let (w, c) = (worker.clone(), c.clone());
                Box::pin(async move { w.run(c, stop).await })
            }),
        ));
        if aitu.polls() {
            // Aitu's poll allows one consumer.
            let aitu = aitu.clone();
            loops.push((
                "aitu-polling".into(),
                Box::new(move |stop| Box::pin(run_polling(aitu.clone(), stop))),
            ));
        }
    }
    loops
}

/// Telegram's long polling until `stop` (run by the leader of `telegram-polling`: Telegram
/// allows one `getUpdates` consumer per bot).
async fn long_polling(bot: TgBot, core: Arc<Core>, stop: CancellationToken) {
    tracing::info!("Telegram long polling started");
    let mut dispatcher = telegram::dispatcher(bot, core);
    let shutdown = dispatcher.shutdown_token();
    let watcher = tokio::spawn(async move {
        stop.cancelled().await;
        // The dispatcher refuses a shutdown before it has started: ask until it accepts.
        loop {
            match shutdown.shutdown() {
                Ok(done) => {
                    done.await;
                    return;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
    });
    dispatcher.dispatch().await;
    watcher.abort();
}

/// `ashyq serve`: the application from the settings and the environment, until Ctrl+C.
pub async fn serve(settings: &Settings, http: SocketAddr) -> anyhow::Result<()> {
    let config = AppConfig::from_env(settings, http)?;
    let application = Application::build(settings, config).await?;
    let core = application.core().clone();
    crate::core::identity::warn_if_empty(&core).await;
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        crate::ops::shutdown_signal_then_watchdog().await;
        on_signal.cancel();
    });
    application.run_until_stopped(stop).await?;
    core.store.close().await;
    tracing::info!("stopped");
    Ok(())
}
