//! Personal data in the Social Wallet and the Businesses systems, on SQLite and PostgreSQL,
//! with logging at TRACE: a realistic flow — pupils imported by CSV and over HTTP with the
//! pupils' and parents' IINs and the parents' phones (in the `+7701…`, `7701…` and `8701…`
//! forms), offers to a registered parent and to an SMS parent (sent by the SMS gateway
//! worker to a local fake webhook, which must receive the number), consent `1#1` by chat
//! and by inbound SMS, a refusal `1#2`, activation, the child's QR, canteen redemption, a
//! rating with a comment carrying an IIN, `/meals`, ledger verification and acts; a business
//! application by a registered owner, approval, a staff invite and a violation whose note
//! carries a visitor's IIN. None of the IINs nor the phone numbers may appear in the logs,
//! in any byte of the database (the SQLite files with their WAL, or every row of every
//! PostgreSQL table as text plus every `bytea` value), in the outbox payloads (also rendered
//! in every language), the HTTP answers, or the ledger and act outputs.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::business::BusinessSettings;
use ashyq::core::wallet::{self, campaign, eligibility, ledger};
use ashyq::core::{Core, Event, Keyboard, Outbound};
use ashyq::crypto::Vault;
use ashyq::domain::{Iin, Lang, Sex};
use ashyq::i18n::{Arg, Texts};
use ashyq::storage::{ChatRef, Store};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Chat, SECRET, TestDb, at, keys};
use tower::ServiceExt;

const SCHOOL: &str = "210540012341";
const SUPPLIER: &str = "051040001237";
const BIN: &str = "190940001116";
const SMS_SECRET: &str = "gateway-secret-privacy";
/// Monday, a school day.
const MONDAY: &str = "2026-11-23T10:00:00+05:00";

/// The ten national digits of each phone; every form (`+7…`, `7…`, `8…`) contains them.
const PHONE_A: &str = "7011110001"; // registered parent (CSV, chat)
const PHONE_B: &str = "7011110002"; // SMS parent (CSV)
const PHONE_C: &str = "7011110003"; // registered parent (HTTP list, declines)
const PHONE_OWNER: &str = "7011110004"; // business owner
const PHONE_STRANGER: &str = "7011110005"; // answers an offer that was not sent to it

// ---------------------------------------------------------------- the secrets

fn iin(y: i32, m: u32, d: u32, sex: Sex, serial: u16) -> String {
    Iin::synthetic(NaiveDate::from_ymd_opt(y, m, d).unwrap(), sex, serial).expose()
}

struct People {
    pupil_a: String,
    pupil_b: String,
    pupil_c: String,
    parent_a: String,
    parent_b: String,
    parent_c: String,
    owner: String,
    visitor: String,
}

impl People {
    fn new() -> Self {
        Self {
            pupil_a: iin(2018, 2, 14, Sex::Male, 4021),
            pupil_b: iin(2017, 9, 3, Sex::Female, 4122),
            pupil_c: iin(2013, 5, 27, Sex::Male, 4223),
            parent_a: iin(1986, 6, 19, Sex::Female, 5324),
            parent_b: iin(1984, 1, 30, Sex::Male, 5425),
            parent_c: iin(1979, 11, 8, Sex::Female, 5526),
            owner: iin(1975, 3, 22, Sex::Male, 6627),
            visitor: iin(1992, 8, 17, Sex::Female, 6728),
        }
    }

    /// Every string that must not appear: the IINs, and each phone in its national, E.164
    /// without plus, E.164 and domestic (trunk 8) forms.
    fn secrets(&self) -> Vec<String> {
        let mut out = vec![
            self.pupil_a.clone(),
            self.pupil_b.clone(),
            self.pupil_c.clone(),
            self.parent_a.clone(),
            self.parent_b.clone(),
            self.parent_c.clone(),
            self.owner.clone(),
            self.visitor.clone(),
        ];
        for p in [PHONE_A, PHONE_B, PHONE_C, PHONE_OWNER, PHONE_STRANGER] {
            out.extend([
                p.to_string(),
                format!("7{p}"),
                format!("+7{p}"),
                format!("8{p}"),
            ]);
        }
        out
    }
}

/// Fails naming the secret and what it was found in, with a little context.
fn assert_clean(secrets: &[String], what: &str, haystack: &[u8]) {
    for s in secrets {
        if let Some(at) = haystack.windows(s.len()).position(|w| w == s.as_bytes()) {
            let from = at.saturating_sub(80);
            let to = (at + s.len() + 80).min(haystack.len());
            panic!(
                "{s} found in {what}: {:?}",
                String::from_utf8_lossy(&haystack[from..to])
            );
        }
    }
}

// ---------------------------------------------------------------- helpers

async fn full_core(db: &TestDb, clock: &ManualClock, sms_url: &str) -> Arc<Core> {
    let store = Store::open(&db.url).await.expect("open store");
    let business = BusinessSettings {
        admin_chat: Some(ChatRef::new("test", "admins")),
        bot_username: "ashyq_test_bot".into(),
        ..BusinessSettings::default()
    };
    Arc::new(
        Core::new(
            store,
            Vault::from_secret(SECRET).unwrap(),
            Arc::new(clock.clone()),
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels())
        .with_wallet(wallet::WalletSettings {
            sms_webhook_url: Some(sms_url.into()),
            sms_webhook_secret: Some(SMS_SECRET.into()),
            ..Default::default()
        })
        .with_business(business),
    )
}

fn arg(o: &Outbound, name: &str) -> String {
    o.text
        .args
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| match a {
            Arg::Str(s) => s.clone(),
            Arg::Num(n) => n.to_string(),
            Arg::When(w) => w.to_string(),
        })
        .unwrap_or_else(|| panic!("{} has no {name}", o.text.key()))
}

fn buttons(o: &Outbound) -> Vec<String> {
    match &o.keyboard {
        Keyboard::Inline(rows) => rows.iter().flatten().map(|b| b.data.clone()).collect(),
        _ => Vec::new(),
    }
}

fn cmd(name: &str, arg: &str) -> Event {
    Event::Command {
        name: name.into(),
        arg: arg.into(),
    }
}

/// Registers through the core's dialogue, sharing the phone in the form given.
async fn register(core: &Arc<Core>, id: &str, phone: &str, iin: &str) -> Chat {
    let chat = Chat::new(core, id, Some("ru"));
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    chat.send(Event::Contact {
        phone: phone.into(),
        own: true,
    })
    .await;
    crate::support::identity_pair(core, iin, phone).await;
    assert_eq!(chat.text(iin).await, ["registered"]);
    chat
}

async fn post(router: &Router, path: &str, auth: &str, body: Value) -> (StatusCode, Vec<u8>) {
    let req = Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {auth}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

/// A fake SMS gateway on a local port: keeps the JSON body of every POST (in memory only).
async fn fake_gateway() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = Router::new().route(
        "/send",
        axum::routing::post(move |body: axum::body::Bytes| {
            let s = s.clone();
            async move {
                s.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/send"), seen)
}

async fn wait_sms(seen: &Arc<Mutex<Vec<Value>>>, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = seen.lock().unwrap().clone();
        if got.len() >= n || tokio::time::Instant::now() > deadline {
            assert_eq!(got.len(), n, "SMS received by the gateway");
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn ids(core: &Core, table: &str) -> Vec<i64> {
    let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} ORDER BY id"
    )))
    .fetch_all(core.store.pool())
    .await
    .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

// ---------------------------------------------------------------- the flow

/// Everything the flow produced outside the database and the logs, to be scanned.
#[derive(Default)]
struct Outputs(Vec<(String, Vec<u8>)>);

impl Outputs {
    fn add(&mut self, what: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.0.push((what.into(), bytes.into()));
    }
}

async fn wallet_flow(
    core: &Arc<Core>,
    p: &People,
    seen: &Arc<Mutex<Vec<Value>>>,
    out: &mut Outputs,
) {
    wallet::set_supplier(core, SUPPLIER, "Taza Tagam LLP", "850.00")
        .await
        .unwrap();
    wallet::set_school(core, SCHOOL, "School-lyceum No. 5", Some(SUPPLIER))
        .await
        .unwrap();
    // Parents A and C are in the bot; A shares the number as Telegram sends it (no plus),
    // C in the domestic form.
    let a = register(core, "parent-a", &format!("7{PHONE_A}"), &p.parent_a).await;
    let c = register(core, "parent-c", &format!("8{PHONE_C}"), &p.parent_c).await;

    // The state list as CSV: A's child with +7…, B's with 8…; a bad row (grade) carrying a
    // real parent's IIN and phone is reported without them.
    let csv = format!(
        "pupil_iin,grade,school_bin,parent_iin,parent_phone,social_assistance\n\
         {},2,{SCHOOL},{},+7{PHONE_A},0\n\
         {},3,{SCHOOL},{},8{PHONE_B},0\n\
         {},13,{SCHOOL},{},8{PHONE_B},0\n",
        p.pupil_a, p.parent_a, p.pupil_b, p.parent_b, p.visitor, p.parent_b
    );
    let report = eligibility::import_csv(core, std::io::Cursor::new(csv.into_bytes()), &|_| {})
        .await
        .unwrap();
    assert_eq!((report.accepted, report.eligible), (2, 2));
    assert_eq!(report.rejected.len(), 1);
    out.add("the CSV import report", format!("{report:?}"));

    // The HTTP list: C's child (grade 9, social assistance), the number without a plus.
    let key = ashyq::core::feeds::create_api_key(core, "edu-ministry", &["pupils".into()])
        .await
        .unwrap();
    let router = ashyq::http::app(ashyq::http::HttpState {
        store: core.store.clone(),
        telegram: false,
        core: Some(core.clone()),
    });
    let items = json!({"items": [
        {"pupil_iin": p.pupil_c, "grade": 9, "school_bin": SCHOOL, "parent_iin": p.parent_c,
         "parent_phone": format!("7{PHONE_C}"), "social_assistance": true},
    ]});
    let (status, body) = post(&router, "/api/v1/pupils", &key.secret, items).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    out.add("the HTTP import answer", body);

    // The application (as `serve` runs it, Telegram off) with its SMS gateway worker,
    // pointed at the fake webhook, runs from now on.
    let app = support::app::TestApp::start(
        core.clone(),
        "http://127.0.0.1:9/",
        support::app::TestOptions {
            telegram: false,
            ..Default::default()
        },
    )
    .await;

    // Offers: A and C by chat, B by SMS.
    let offered = campaign::offer(core, None, &|_, _| {}).await.unwrap();
    assert_eq!((offered.offered, offered.chat, offered.sms), (3, 2, 1));
    out.add("the campaign report", format!("{offered:?}"));
    // The gateway — and only the gateway — gets B's number.
    let got = wait_sms(seen, 1).await;
    assert_eq!(got[0]["to"], format!("+7{PHONE_B}"));
    assert!(got[0]["text"].as_str().unwrap().contains("1#1"));

    // Consent: A by chat, C declines, B by inbound SMS (the confirmation goes by SMS too).
    assert_eq!(a.text("1#1").await, ["wallet-consent-accepted"]);
    assert_eq!(c.text("1 # 2").await, ["wallet-consent-declined"]);
    let (status, body) = post(
        &router,
        "/api/v1/sms/inbound",
        SMS_SECRET,
        json!({"from": format!("+7{PHONE_B}"), "text": "1#1", "id": "gw-100"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    out.add("the inbound SMS answer", body);
    // B then texts an IIN by SMS (explained what to send), and a stranger's number, in the
    // domestic form with spaces, answers B's offer (unknown here): both answered by SMS.
    let (status, _) = post(
        &router,
        "/api/v1/sms/inbound",
        SMS_SECRET,
        json!({"from": format!("+7{PHONE_B}"), "text": format!("мой ИИН {}", p.parent_b), "id": "gw-101"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let spaced = format!(
        "8 {} {} {} {}",
        &PHONE_STRANGER[..3],
        &PHONE_STRANGER[3..6],
        &PHONE_STRANGER[6..8],
        &PHONE_STRANGER[8..]
    );
    let (status, _) = post(
        &router,
        "/api/v1/sms/inbound",
        SMS_SECRET,
        json!({"from": spaced, "text": "1#1", "id": "gw-102"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let got = wait_sms(seen, 4).await;
    let to: Vec<&str> = got.iter().map(|m| m["to"].as_str().unwrap()).collect();
    let b = format!("+7{PHONE_B}");
    let stranger = format!("+7{PHONE_STRANGER}");
    assert_eq!(to, [b.as_str(), b.as_str(), b.as_str(), stranger.as_str()]);
    assert_eq!(ids(core, "wallet_vouchers").await.len(), 2);
    app.stop().await;
    for (i, m) in got.iter().enumerate() {
        // What was sent carries no IIN (the child only masked).
        out.add(format!("SMS text {i}"), m["text"].as_str().unwrap());
    }

    // Activation and the child's QR.
    let list = a.send(cmd("wallet", "")).await;
    assert_eq!(keys(&list), ["wallet-voucher"]);
    let activate = buttons(&list[0])[0].clone();
    let activated = a.send(Event::Button(activate)).await;
    assert_eq!(keys(&activated), ["wallet-activated"]);
    let photo = activated[0]
        .attachment
        .as_ref()
        .expect("the QR")
        .bytes
        .clone();

    // The canteen: an operator joins, sets the menu and redeems the photo of the QR.
    let link = wallet::canteen_invite(core, SCHOOL, "ashyq_test_bot")
        .await
        .unwrap();
    let token = link.split("start=").nth(1).unwrap().to_string();
    let op = Chat::new(core, "canteen", Some("kk"));
    assert_eq!(
        keys(&op.send(cmd("start", &token)).await),
        ["canteen-invite-accepted"]
    );
    assert_eq!(
        keys(&op.send(cmd("menu", "Борщ, плов, компот")).await),
        ["wallet-menu-set"]
    );
    let granted = op.send(Event::Image(photo)).await;
    assert_eq!(keys(&granted), ["wallet-redeem-granted"]);
    for o in &granted {
        for lang in [Lang::Kk, Lang::Ru, Lang::En] {
            out.add("the canteen's reply", core.texts.render(lang, &o.text));
        }
    }

    // The parent rates the meal and comments with the child's IIN: it is stored masked.
    let meal = ids(core, "wallet_meals").await[0];
    assert_eq!(
        a.button(&format!("wl:rate:{meal}:2")).await,
        ["wallet-rate-thanks", "wallet-comment-prompt"]
    );
    let comment = format!("Суп холодный, ИИН ребёнка {}, разберитесь", p.pupil_a);
    assert_eq!(a.text(&comment).await, ["wallet-comment-saved"]);
    let (stored,): (Option<String>,) = sqlx::query_as("SELECT comment FROM wallet_ratings")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    let stored = stored.unwrap();
    assert!(
        stored.starts_with("Суп холодный") && stored.contains("•••• •••• ••••"),
        "{stored}"
    );

    // /meals and /wallet as the parent sees them.
    for command in ["meals", "wallet"] {
        for o in a.send(cmd(command, "")).await {
            for lang in [Lang::Kk, Lang::Ru, Lang::En] {
                out.add(format!("/{command}"), core.texts.render(lang, &o.text));
            }
        }
    }

    // The ledger verifies; this month's act is a draft.
    let mut conn = core.store.pool().acquire().await.unwrap();
    let verified = ledger::verify(&mut conn).await.unwrap();
    drop(conn);
    assert_eq!(verified.first_problem, None);
    assert!(verified.entries >= 7, "{verified:?}");
    out.add(
        "ledger verify",
        serde_json::to_string(&verified).unwrap().into_bytes(),
    );
    let draft = ledger::act(core, SUPPLIER, "2026-11").await.unwrap();
    assert_eq!(draft.meals, 1);
    out.add(
        "the draft act",
        format!("{draft:?}\n{}\n{}", draft.csv, draft.html),
    );
}

async fn business_flow(core: &Arc<Core>, p: &People, out: &mut Outputs) -> i64 {
    let owner = register(core, "owner", &format!("+7{PHONE_OWNER}"), &p.owner).await;
    assert_eq!(
        owner.command("business").await,
        ["biz-intro", "biz-ask-bin"]
    );
    assert_eq!(owner.text(BIN).await, ["biz-ask-name"]);
    assert_eq!(owner.text("ТОО Фитнес Алем").await, ["biz-ask-address"]);
    assert_eq!(
        owner.text("Алматы, ул. Сатпаева 5").await,
        ["biz-ask-location"]
    );
    assert_eq!(owner.button("biz:skip").await, ["biz-ask-region"]);
    assert_eq!(owner.text("Almaty").await, ["biz-ask-oked"]);
    assert_eq!(owner.text("93130").await, ["biz-ask-category"]);
    assert_eq!(owner.button("biz:cat:fitness").await, ["biz-ask-entrances"]);
    assert_eq!(owner.text("1").await, ["biz-ask-max-stay"]);
    assert_eq!(owner.text("2h").await, ["biz-summary"]);
    let submitted = owner.send(Event::Button("biz:submit".into())).await;
    assert_eq!(keys(&submitted), ["biz-submitted"]);
    let id: i64 = arg(&submitted[0], "id").parse().unwrap();

    // Approval by the administrators' chat.
    let admins = Chat::new(core, "admins", Some("ru"));
    let approved = admins.send(Event::Button(format!("biz:ok:{id}"))).await;
    assert_eq!(keys(&approved), ["biz-review-approved"]);
    let venue: i64 = arg(&approved[0], "venue").parse().unwrap();

    // A staff invite, accepted.
    let invite = owner.send(Event::Button(format!("biz:inv:{venue}"))).await;
    // The test channel has no deep links: the message to send the bot.
    let typed = arg(&invite[0], "code");
    let token = typed.strip_prefix("/start ").unwrap().to_string();
    let staff = Chat::new(core, "staff", Some("ru"));
    assert_eq!(
        keys(&staff.send(cmd("start", &token)).await),
        ["invite-accepted"]
    );

    // A monitoring group records a violation naming a visitor by IIN.
    let monitor = ChatRef::new("test", "monitor");
    ashyq::core::business::monitor::grant(core, "monitor", &monitor, Some("Almaty"))
        .await
        .unwrap();
    let mon = Chat::new(core, "monitor", Some("ru"));
    let note = format!(
        "{venue} посетителя {} пропустили без проверки статуса",
        p.visitor
    );
    let recorded = mon.send(cmd("violation", &note)).await;
    assert_eq!(keys(&recorded), ["biz-violation-recorded"]);
    let (stored,): (String,) = sqlx::query_as("SELECT note FROM venue_violations")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert!(
        stored.starts_with("посетителя") && stored.contains("•••• •••• ••••"),
        "{stored}"
    );
    let history = ashyq::core::business::monitor::history(core, venue)
        .await
        .unwrap()
        .unwrap();
    out.add("the venue's history", format!("{history:?}"));
    venue
}

/// Every outbox payload as stored, and rendered in each language.
async fn outbox_outputs(core: &Core, out: &mut Outputs) -> usize {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT payload FROM outbox ORDER BY id")
        .fetch_all(core.store.pool())
        .await
        .unwrap();
    for (payload,) in &rows {
        out.add("an outbox payload", payload.as_bytes());
        let message: Outbound = serde_json::from_str(payload).unwrap();
        for lang in [Lang::Kk, Lang::Ru, Lang::En] {
            out.add(
                format!("outbox {} rendered", message.text.key()),
                core.texts.render(lang, &message.text),
            );
        }
    }
    rows.len()
}

/// SQLite: every byte of every file beside the database (the WAL and shared memory too).
fn scan_sqlite_files(db: &TestDb, secrets: &[String], when: &str) -> usize {
    let dir = std::path::Path::new(db.url.trim_start_matches("sqlite://"))
        .parent()
        .unwrap();
    let mut bytes_seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        bytes_seen += bytes.len();
        assert_clean(
            secrets,
            &format!("{} ({when})", path.file_name().unwrap().to_string_lossy()),
            &bytes,
        );
    }
    bytes_seen
}

/// PostgreSQL: every row of every table as text, and every `bytea` value as bytes.
async fn scan_postgres(core: &Core, secrets: &[String]) -> usize {
    let pool = core.store.pool();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.len() > 20, "{tables:?}");
    let mut rows_seen = 0;
    for (table,) in &tables {
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(t AS TEXT) FROM {table} t"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        for (row,) in &rows {
            assert_clean(secrets, &format!("a row of {table}"), row.as_bytes());
        }
        rows_seen += rows.len();
    }
    let blobs: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT)
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND data_type = 'bytea' ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        blobs
            .iter()
            .any(|(t, c)| t == "wallet_pupils" && c == "parent_phone_enc")
    );
    for (table, column) in &blobs {
        let values: Vec<(Vec<u8>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        for (v,) in &values {
            assert_clean(secrets, &format!("{table}.{column}"), v);
        }
    }
    rows_seen
}

async fn personal_data_stays_out(db: &TestDb) {
    let logs = support::captured_logs();
    let people = People::new();
    let secrets = people.secrets();
    let (sms_url, seen) = fake_gateway().await;
    let clock = ManualClock::new(at(MONDAY));
    let core = full_core(db, &clock, &sms_url).await;
    let mut out = Outputs::default();

    wallet_flow(&core, &people, &seen, &mut out).await;
    business_flow(&core, &people, &mut out).await;

    // December: November's act is closed and stored (its bytes are in the database now).
    clock.set(at("2026-12-01T09:00:00+05:00"));
    let act = ledger::act(&core, SUPPLIER, "2026-11").await.unwrap();
    assert!(act.closed && act.meals == 1);
    out.add(
        "the closed act",
        format!("{act:?}\n{}\n{}", act.csv, act.html),
    );

    let queued = outbox_outputs(&core, &mut out).await;
    assert!(queued >= 10, "offers, notices, review cards, posters");
    for (what, bytes) in &out.0 {
        assert_clean(&secrets, what, bytes);
    }

    if db.name == "sqlite" {
        assert!(scan_sqlite_files(db, &secrets, "open") > 0);
        core.store.close().await;
        scan_sqlite_files(db, &secrets, "closed");
    } else {
        assert!(scan_postgres(&core, &secrets).await > 50);
        core.store.close().await;
    }

    let logs = logs.0.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&logs);
    // The capture works across threads and crates: the core's line, sqlx's statements, the
    // SMS worker's start and the HTTP client's connection.
    assert!(text.contains("handled"), "core debug lines captured");
    assert!(text.contains("INSERT INTO wallet_pupils"), "sqlx captured");
    assert!(
        text.contains("SMS outbox worker started"),
        "worker captured"
    );
    for line in text.lines() {
        assert_clean(&secrets, "the logs", line.as_bytes());
    }
}

mod privacy_wallet_business {
    ashyq_on_both!(super::personal_data_stays_out);
}
