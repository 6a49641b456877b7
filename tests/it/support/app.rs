//! `TestApp`: the [`Application`] that `ashyq serve` runs, started the same way in a test:
//! HTTP on port 0, the test's fresh database and manual clock, the fake Bot API, and every
//! worker (outbox per channel, long polling or the webhook, background jobs) started as in
//! production, each under its leader lock.

use super::fake_telegram::{FakeTelegram, test_bot};
use super::{TestDb, core};
use ashyq::adapters::sms::Gateway;
use ashyq::adapters::telegram::WebhookConfig;
use ashyq::app::{AppConfig, Application, RunningApp, TelegramConfig};
use ashyq::clock::ManualClock;
use ashyq::core::Core;
use std::net::SocketAddr;
use std::sync::Arc;

/// The webhook URL tests register (its path is served on the app's own port).
pub const WEBHOOK_URL: &str = "https://bot.ashyq.test/telegram/webhook";

/// How a test app differs from the default (long polling, SMS logged, jobs on).
#[derive(Clone)]
pub struct TestOptions {
    /// The background jobs (check-out, notifier). Off for tests that run the passes
    /// themselves with a manual clock and count what each pass did.
    pub jobs: bool,
    /// `Some(secret)`: Telegram by webhook at [`WEBHOOK_URL`] instead of long polling.
    pub webhook: Option<String>,
    /// `None`: the gateway the core's wallet settings name (log-only without a URL).
    pub sms: Option<Gateway>,
    /// Telegram on (the fake Bot API); off: HTTP, SMS and the jobs only.
    pub telegram: bool,
    /// Aitu on with these settings (`support::fake_aitu::settings(url)`).
    pub aitu: Option<ashyq::adapters::aitu::Settings>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            jobs: true,
            webhook: None,
            sms: None,
            telegram: true,
            aitu: None,
        }
    }
}

pub struct TestApp {
    pub core: Arc<Core>,
    /// Where the app's HTTP server listens (127.0.0.1, a free port).
    pub address: SocketAddr,
    running: RunningApp,
}

impl TestApp {
    /// A fresh core on `db` with `clock` and the application around it, talking to a new
    /// fake Bot API (returned with it).
    pub async fn spawn(db: &TestDb, clock: &ManualClock) -> (Self, FakeTelegram) {
        let (fake, url) = FakeTelegram::start().await;
        let core = core(db, clock).await;
        (Self::start(core, &url, TestOptions::default()).await, fake)
    }

    /// The application around a core the test built, with Telegram pointed at the fake Bot
    /// API at `api_url`.
    pub async fn start(core: Arc<Core>, api_url: &str, options: TestOptions) -> Self {
        let telegram = options.telegram.then(|| TelegramConfig {
            bot: test_bot(api_url),
            webhook: options
                .webhook
                .as_deref()
                .map(|secret| WebhookConfig::new(WEBHOOK_URL, secret).expect("webhook config")),
            paid_broadcast: false,
        });
        let config = AppConfig {
            http: "127.0.0.1:0".parse().unwrap(),
            telegram,
            sms: options
                .sms
                .clone()
                .unwrap_or_else(|| Gateway::from_settings(&core.wallet)),
            jobs: options.jobs,
            aitu: options.aitu.clone(),
        };
        let app = Application::with_core(core.clone(), config)
            .await
            .expect("the application binds");
        let address = app.address();
        let running = app.spawn();
        Self {
            core,
            address,
            running,
        }
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Whether this app leads the loop `name` now.
    pub fn leads(&self, name: &str) -> bool {
        self.running
            .leaders
            .iter()
            .any(|(n, l)| n == name && l.is_leader())
    }

    /// Stops every worker and the HTTP server and waits for them (the database stays open).
    pub async fn stop(self) {
        self.running.stop().await.expect("the application ran");
    }
}
