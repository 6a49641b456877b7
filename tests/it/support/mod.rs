//! Shared test helpers: a fresh database per test on SQLite and, when `TEST_POSTGRES_URL` is
//! set, on PostgreSQL; a core with a manual clock; a chat driver.
#![allow(dead_code)]

pub mod app;
pub mod fake_aitu;
pub mod fake_telegram;
pub mod images;

use ashyq::clock::ManualClock;
use ashyq::core::{Core, Event, Inbound, Outbound};
use ashyq::crypto::Vault;
use ashyq::i18n::Texts;
use ashyq::storage::{ChatRef, Store};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A database created for one test and dropped after it.
pub struct TestDb {
    pub url: String,
    pub name: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            name: "sqlite",
            _dir: Some(dir),
            pg_admin: None,
        }
    }

    /// `None` (with a notice) when `TEST_POSTGRES_URL` is not set.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
            eprintln!("notice: TEST_POSTGRES_URL is not set; PostgreSQL case skipped");
            return None;
        };
        sqlx::any::install_default_drivers();
        let db = format!("ashyq_t_{}", hex::encode(rand::random::<[u8; 6]>()));
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to TEST_POSTGRES_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(&db);
        Some(Self {
            url: url.to_string(),
            name: "postgres",
            _dir: None,
            pg_admin: Some((admin, db)),
        })
    }

    /// Drops a PostgreSQL test database (SQLite's goes with its temp dir).
    pub async fn cleanup(self) {
        if let Some((admin, db)) = &self.pg_admin
            && let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// Runs the same async test body on SQLite and (when configured) PostgreSQL.
#[allow(unused_macros)]
macro_rules! ashyq_on_both {
    ($body:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            let db = $crate::support::TestDb::sqlite().await;
            $body(&db).await;
            db.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            if let Some(db) = $crate::support::TestDb::postgres().await {
                $body(&db).await;
                db.cleanup().await;
            }
        }
    };
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("RFC 3339")
        .to_utc()
}

pub async fn core(db: &TestDb, clock: &ManualClock) -> Arc<Core> {
    core_built(db, clock, |c| c).await
}

/// A core with settings changed by `build` before it is shared.
pub async fn core_built(
    db: &TestDb,
    clock: &ManualClock,
    build: impl FnOnce(Core) -> Core,
) -> Arc<Core> {
    let store = Store::open(&db.url).await.expect("open store");
    Arc::new(build(
        Core::new(
            store,
            Vault::from_secret(SECRET).expect("secret"),
            Arc::new(clock.clone()),
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels()),
    ))
}

/// A core with a support desk configured.
pub async fn core_with_support(
    db: &TestDb,
    clock: &ManualClock,
    support: ashyq::core::support::SupportSettings,
) -> Arc<Core> {
    core_built(db, clock, |c| c.with_support(support)).await
}

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// One user talking to the core, as an adapter would.
pub struct Chat {
    pub core: Arc<Core>,
    pub chat: ChatRef,
    pub hint: Option<String>,
}

impl Chat {
    pub fn new(core: &Arc<Core>, id: &str, hint: Option<&str>) -> Self {
        Self {
            core: core.clone(),
            chat: ChatRef::new("test", id),
            hint: hint.map(Into::into),
        }
    }

    pub async fn send(&self, event: Event) -> Vec<Outbound> {
        let key = SERIAL.fetch_add(1, Ordering::SeqCst).to_string();
        self.send_keyed(event, Some(key)).await
    }

    pub async fn send_keyed(&self, event: Event, key: Option<String>) -> Vec<Outbound> {
        self.core
            .handle(Inbound {
                chat: self.chat.clone(),
                update_key: key,
                lang_hint: self.hint.clone(),
                event,
            })
            .await
            .expect("handled")
    }

    pub async fn text(&self, t: &str) -> Vec<String> {
        keys(&self.send(Event::Text(t.into())).await)
    }

    pub async fn command(&self, name: &str) -> Vec<String> {
        keys(
            &self
                .send(Event::Command {
                    name: name.into(),
                    arg: String::new(),
                })
                .await,
        )
    }

    pub async fn button(&self, data: &str) -> Vec<String> {
        keys(&self.send(Event::Button(data.into())).await)
    }

    /// The stored state as JSON, to check that something did not change.
    pub async fn stored_state(&self) -> Option<String> {
        self.core
            .store
            .conversation(&self.chat)
            .await
            .expect("read")
            .map(|r| r.state)
    }
}

pub fn keys(out: &[Outbound]) -> Vec<String> {
    out.iter().map(|o| o.text.key().to_string()).collect()
}

pub async fn count(store: &Store, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(store.pool())
        .await
        .expect("count");
    n
}

/// A text argument of a message (numbers as text); panics when the message has none.
pub fn arg(o: &Outbound, name: &str) -> String {
    o.text
        .args
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| match a {
            ashyq::i18n::Arg::Str(s) => s.clone(),
            ashyq::i18n::Arg::Num(n) => n.to_string(),
            ashyq::i18n::Arg::When(w) => w.to_string(),
        })
        .unwrap_or_else(|| panic!("{} has no {name}", o.text.key()))
}

/// The data of a message's inline buttons, row by row.
pub fn buttons(o: &Outbound) -> Vec<String> {
    match &o.keyboard {
        ashyq::core::Keyboard::Inline(rows) => {
            rows.iter().flatten().map(|b| b.data.clone()).collect()
        }
        _ => Vec::new(),
    }
}

/// `/name arg`.
pub fn command(name: &str, arg: &str) -> Event {
    Event::Command {
        name: name.into(),
        arg: arg.into(),
    }
}

/// Everything logged at TRACE by this test binary, captured in memory.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The one global subscriber of the test binary, installed by the first test that asks for
/// it (the privacy tests). Every test running after that is captured too, which only adds
/// coverage to the privacy scans.
pub fn captured_logs() -> &'static Captured {
    use tracing_subscriber::util::SubscriberInitExt;
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .try_init()
            .expect("the only subscriber in this test binary");
        logs
    })
}

/// Feeds the identity table (issue 15) with the pair `iin`–`phone` (any common forms), so
/// a registration with that phone and IIN gets the registry's `match`.
pub async fn identity_pair(core: &Core, iin: &str, phone: &str) {
    let (iin, phone) = ashyq::identity::table::parse_pair(iin, phone).expect("valid pair");
    ashyq::identity::table::add(core, &iin, &phone)
        .await
        .expect("pair stored");
}
