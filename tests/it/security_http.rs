//! HTTP hardening and operations endpoints with `oneshot` (docs/SECURITY.md,
//! docs/OPERATIONS.md): authentication before the body, per-route body limits, deadlines,
//! load shedding, the failed-authentication throttle per source, regional occupancy keys,
//! `/readyz` and `/metrics`.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::feeds;
use ashyq::http::guard::Limits;
use ashyq::http::{HttpState, app, app_with};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::time::Duration;
use support::{TestDb, at};
use tower::ServiceExt;

const SMS_SECRET: &str = "sms-gateway-secret";

/// A body that sends one chunk and then never ends: a handler that reads it hangs.
fn endless_body() -> Body {
    let first =
        futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from(vec![b'{'; 1 << 20])) });
    Body::from_stream(futures::StreamExt::chain(first, futures::stream::pending()))
}

fn from(ip: &str, mut req: Request<Body>) -> Request<Body> {
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

async fn router(db: &TestDb, limits: &Limits) -> (Router, std::sync::Arc<ashyq::core::Core>) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core_built(db, &clock, |c| {
        c.with_wallet(ashyq::core::wallet::WalletSettings {
            sms_webhook_secret: Some(SMS_SECRET.into()),
            ..Default::default()
        })
    })
    .await;
    let router = app_with(
        HttpState {
            store: core.store.clone(),
            telegram: false,
            core: Some(core.clone()),
        },
        limits,
    );
    (router, core)
}

async fn status_within(router: &Router, req: Request<Body>, within: Duration) -> StatusCode {
    tokio::time::timeout(within, router.clone().oneshot(req))
        .await
        .expect("answered without reading the body")
        .unwrap()
        .status()
}

async fn hardening(db: &TestDb) {
    let limits = Limits {
        timeout: Duration::from_millis(500),
        concurrency: 64,
        client_ip_header: None,
    };
    let (router, core) = router(db, &limits).await;
    let lab = feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap();

    // Without a key, a feed answers 401 before reading the (endless) body.
    for path in [
        "/api/v1/pcr-results",
        "/api/v1/contacts",
        "/api/v1/pupils",
        "/api/v1/sms/inbound",
    ] {
        let req = from(
            "10.0.0.1",
            Request::post(path).body(endless_body()).unwrap(),
        );
        assert_eq!(
            status_within(&router, req, Duration::from_secs(5)).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    // With a key, the endless body runs into the request deadline: 408.
    let req = from(
        "10.0.0.2",
        Request::post("/api/v1/pcr-results")
            .header("Authorization", format!("Bearer {}", lab.secret))
            .body(endless_body())
            .unwrap(),
    );
    assert_eq!(
        status_within(&router, req, Duration::from_secs(5)).await,
        StatusCode::REQUEST_TIMEOUT
    );

    // The SMS webhook takes at most 4 KiB.
    let sms = |text: String| {
        from(
            "10.0.0.3",
            Request::post("/api/v1/sms/inbound")
                .header("Authorization", format!("Bearer {SMS_SECRET}"))
                .header("Content-Type", "application/json")
                .body(Body::from(
                    serde_json::json!({"from": "+77011234567", "text": text, "id": "s1"})
                        .to_string(),
                ))
                .unwrap(),
        )
    };
    assert_eq!(
        status_within(&router, sms("x".repeat(5000)), Duration::from_secs(5)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        status_within(&router, sms("2#1".into()), Duration::from_secs(5)).await,
        StatusCode::OK
    );

    // Failed authentications: 20 per source per 10 minutes, then 429 even with a good key;
    // another source is unaffected.
    let bad = |ip: &str, key: &str| {
        from(
            ip,
            Request::get("/api/v1/occupancy")
                .header("Authorization", format!("Bearer {key}"))
                .body(Body::empty())
                .unwrap(),
        )
    };
    for i in 0..20 {
        let s = status_within(
            &router,
            bad("10.0.0.9", &format!("guess{i}")),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{i}");
    }
    let s = status_within(
        &router,
        bad("10.0.0.9", &lab.secret),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let s = status_within(
        &router,
        bad("10.0.0.10", &lab.secret),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a good key without the scope, from elsewhere"
    );
}

mod http_hardening {
    ashyq_on_both!(super::hardening);
}

async fn load_shedding(db: &TestDb) {
    let limits = Limits {
        timeout: Duration::from_secs(3),
        concurrency: 1,
        client_ip_header: None,
    };
    let (router, core) = router(db, &limits).await;
    let lab = feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap();
    // One request holds the only slot (its body never ends) ...
    let slow = router.clone().oneshot(from(
        "10.0.0.1",
        Request::post("/api/v1/pcr-results")
            .header("Authorization", format!("Bearer {}", lab.secret))
            .body(endless_body())
            .unwrap(),
    ));
    let slow = tokio::spawn(slow);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ... so another is shed at once with 503.
    let req = from(
        "10.0.0.2",
        Request::get("/healthz").body(Body::empty()).unwrap(),
    );
    assert_eq!(
        status_within(&router, req, Duration::from_secs(2)).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        slow.await.unwrap().unwrap().status(),
        StatusCode::REQUEST_TIMEOUT
    );
    let req = from(
        "10.0.0.2",
        Request::get("/healthz").body(Body::empty()).unwrap(),
    );
    assert_eq!(
        status_within(&router, req, Duration::from_secs(2)).await,
        StatusCode::OK
    );
}

mod http_load_shedding {
    ashyq_on_both!(super::load_shedding);
}

async fn regional_occupancy(db: &TestDb) {
    let (router, core) = router(db, &Limits::default()).await;
    for (bin, region) in [("210540012341", "Almaty"), ("190940001116", "Astana")] {
        ashyq::core::checkin::admin::add_venue(
            &core,
            &ashyq::core::checkin::admin::AddVenue {
                name: format!("Kino {region}"),
                bin: bin.into(),
                address: "Abai 1".into(),
                region: region.into(),
                category: "ordinary".into(),
                entrances: 1,
                max_stay_ms: None,
            },
            "bot",
        )
        .await
        .unwrap();
    }
    let almaty = feeds::create_api_key(&core, "akimat-almaty", &["occupancy:Almaty".into()])
        .await
        .unwrap();
    assert!(
        feeds::create_api_key(&core, "x", &["occupancy:".into()])
            .await
            .is_err()
    );
    let get = |q: &str| {
        Request::get(format!("/api/v1/occupancy{q}"))
            .header("Authorization", format!("Bearer {}", almaty.secret))
            .body(Body::empty())
            .unwrap()
    };
    for (q, status, venues) in [
        ("", StatusCode::OK, vec!["Kino Almaty"]),
        ("?region=almaty", StatusCode::OK, vec!["Kino Almaty"]),
        ("?region=Astana", StatusCode::FORBIDDEN, vec![]),
    ] {
        let res = router.clone().oneshot(get(q)).await.unwrap();
        assert_eq!(res.status(), status, "{q}");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let names: Vec<&str> = json["venues"]
            .as_array()
            .map(|v| v.iter().map(|x| x["name"].as_str().unwrap()).collect())
            .unwrap_or_default();
        assert_eq!(names, venues, "{q}");
    }
}

mod occupancy_by_region {
    ashyq_on_both!(super::regional_occupancy);
}

async fn readiness_and_metrics(db: &TestDb) {
    let (router, core) = router(db, &Limits::default()).await;
    let res = router
        .clone()
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A handled update and a queued message show in the metrics.
    let chat = support::Chat::new(&core, "m1", Some("ru"));
    chat.command("start").await;
    let to = ashyq::storage::ChatRef::new("test", "metrics-peer");
    let msg = ashyq::core::Outbound::reply(
        ashyq::domain::Lang::Ru,
        ashyq::i18n::Msg::new("error-generic"),
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    core.enqueue(&mut conn, &to, &msg, None, None)
        .await
        .unwrap();
    drop(conn);
    let res = router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    for needle in [
        "ashyq_updates_total{channel=\"test\",result=\"ok\"}",
        "ashyq_update_handling_seconds_bucket{channel=\"test\"",
        "ashyq_outbox_backlog{channel=\"test\"} 1",
        "ashyq_outbox_oldest_age_seconds{channel=\"test\"}",
        "ashyq_outbox_messages{channel=\"test\",result=\"sent\"} 0",
        "ashyq_db_pool_connections{state=\"open\"}",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // A database whose migrations are behind this binary is not ready.
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 13")
        .execute(core.store.pool())
        .await
        .unwrap();
    let res = app(HttpState {
        store: core.store.clone(),
        telegram: false,
        core: None,
    })
    .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["pending_migrations"], serde_json::json!([13]));
}

mod readyz_and_metrics {
    ashyq_on_both!(super::readiness_and_metrics);
}

/// `ashyq serve` as the real binary: JSON logs, `/readyz` over TCP, and SIGTERM stops it
/// cleanly within the grace period.
#[cfg(unix)]
#[test]
fn serve_stops_on_sigterm_and_logs_json() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(["serve", "--http", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("s.db").display()),
        )
        .env("ASHYQ_SECRET_KEY", support::SECRET)
        .env("ASHYQ_LOG_FORMAT", "json")
        .env("ASHYQ_SHUTDOWN_GRACE_SECS", "10")
        .env_remove("TELOXIDE_TOKEN")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ashyq serve");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    let bound = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve ended early: {lines:?}"
        );
        let json: serde_json::Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        lines.push(line.clone());
        if let Some(b) = json["fields"]["bound"].as_str() {
            break b.to_string();
        }
    };
    let mut tcp = std::net::TcpStream::connect(&bound).unwrap();
    tcp.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let started = std::time::Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "exit {status:?}: {rest}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    for line in rest.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    assert!(
        rest.contains("SIGTERM: stopping") && rest.contains("\"stopped\""),
        "{rest}"
    );
}

/// The value of one series (name with its labels, as rendered) in a `/metrics` scrape.
async fn scrape(router: &Router, series: &str) -> Option<f64> {
    let res = router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Identity registry look-ups (by implementation and result) and leader status per job are
/// fed where they happen: a scrape sees them change. The counters are process-wide and other
/// tests run beside this one, so look-ups are compared as "at least one more".
async fn registry_and_leader_metrics(db: &TestDb) {
    let (router, core) = router(db, &Limits::default()).await;
    let matched = "ashyq_identity_registry_lookups_total{registry=\"table\",result=\"match\"}";
    let mismatched =
        "ashyq_identity_registry_lookups_total{registry=\"table\",result=\"mismatch\"}";
    let before = (
        scrape(&router, matched).await.unwrap_or(0.0),
        scrape(&router, mismatched).await.unwrap_or(0.0),
    );
    support::identity_pair(&core, "900101300017", "+77011234567").await;
    let chat = support::Chat::new(&core, "metrics-reg", Some("ru"));
    chat.command("start").await;
    chat.button("consent:yes").await;
    chat.send(ashyq::core::Event::Contact {
        phone: "+77011234567".into(),
        own: true,
    })
    .await;
    // Another person's IIN: the registry says mismatch.
    support::identity_pair(&core, "900517412346", "+77019998877").await;
    assert_eq!(chat.text("900517412346").await, ["identity-mismatch"]);
    assert!(scrape(&router, mismatched).await.unwrap() >= before.1 + 1.0);
    assert_eq!(chat.text("900101300017").await, ["registered"]);
    assert!(scrape(&router, matched).await.unwrap() >= before.0 + 1.0);

    // A job led by this process reads 1 while it runs and 0 after.
    let job = format!(
        "metrics-probe-{}",
        db.url.len() ^ std::process::id() as usize
    );
    let series = format!("ashyq_leader{{job=\"{job}\"}}");
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = tokio_util::sync::CancellationToken::new();
    let leading = tokio::spawn({
        let store = core.store.clone();
        let job = job.clone();
        let stop = stop.clone();
        let mut started = Some(started_tx);
        let mut release = Some(release_rx);
        async move {
            ashyq::leader::run_as_leader(
                &job,
                &store,
                stop.clone(),
                ashyq::leader::Leadership::default(),
                |_| {
                    let started = started.take();
                    let release = release.take();
                    let stop = stop.clone();
                    async move {
                        if let Some(s) = started {
                            let _ = s.send(());
                        }
                        if let Some(r) = release {
                            let _ = r.await;
                        }
                        stop.cancel();
                    }
                },
            )
            .await;
        }
    });
    started_rx.await.unwrap();
    assert_eq!(scrape(&router, &series).await, Some(1.0));
    release_tx.send(()).unwrap();
    leading.await.unwrap();
    assert_eq!(scrape(&router, &series).await, Some(0.0));
}

mod registry_and_leader_gauges {
    ashyq_on_both!(super::registry_and_leader_metrics);
}
