//! Operators and authorities outside the chat: `ashyq applications …`, `ashyq venue history`,
//! `ashyq role …` as the real binary, and `GET /api/v1/occupancy` with API key scopes.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::feeds;
use ashyq::http::{HttpState, app};
use ashyq::storage::{ChatRef, business};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::path::Path;
use std::process::Command;
use support::{TestDb, at};
use tower::ServiceExt;

fn ashyq(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(args)
        .current_dir(dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("test.db").display()),
        )
        .env("ASHYQ_SECRET_KEY", support::SECRET)
        .env("ASHYQ_BOT_USERNAME", "ashyq_bot")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ashyq");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn seed_application(db: &TestDb, bin: &str, address: &str, status: &str) -> i64 {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let mut tx = core.store.begin().await.unwrap();
    let id = business::insert_application(
        &mut tx,
        &business::NewApplication {
            chat: &ChatRef::new("telegram", "5151"),
            person_id: None,
            lang: "ru",
            bin,
            legal_name: "ТОО Кино",
            address,
            address_key: &ashyq::core::business::address_key(address),
            lat_e6: None,
            lon_e6: None,
            region: "almaty",
            oked: "59140",
            category: "cinemas",
            association: Some("cinemas"),
            entrances: 1,
            max_stay_ms: 3 * 3_600_000,
            status,
        },
        core.now_ms(),
    )
    .await
    .unwrap()
    .unwrap();
    tx.commit().await.unwrap();
    core.store.close().await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_history_and_roles_from_the_cli() {
    let db = TestDb::sqlite().await;
    let dir = Path::new(db.url.trim_start_matches("sqlite://"))
        .parent()
        .unwrap()
        .to_path_buf();
    let a = seed_application(&db, "210540012341", "Abai 1", "association").await;
    let b = seed_application(&db, "190940001116", "Abai 2", "pending").await;

    let (ok, out, _) = ashyq(&dir, &["applications", "list", "--status", "association"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1);
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(row["id"], a);
    // The association first; then approve; approving twice is refused.
    let (ok, _, err) = ashyq(&dir, &["applications", "approve", &a.to_string()]);
    assert!(!ok && err.contains("association"), "{err}");
    let (ok, _, err) = ashyq(&dir, &["applications", "preapprove", &a.to_string()]);
    assert!(ok, "{err}");
    let (ok, out, err) = ashyq(&dir, &["applications", "approve", &a.to_string()]);
    assert!(ok, "{err}");
    let approved: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let venue_id = approved["venue_id"].as_i64().unwrap();
    assert_eq!(approved["posters"], 2);
    let (ok, _, err) = ashyq(&dir, &["applications", "approve", &a.to_string()]);
    assert!(!ok && err.contains("already decided"), "{err}");
    // Reject needs a reason; with one it works once.
    let (ok, _, _) = ashyq(&dir, &["applications", "reject", &b.to_string()]);
    assert!(!ok);
    let (ok, _, err) = ashyq(
        &dir,
        &[
            "applications",
            "reject",
            &b.to_string(),
            "--reason",
            "ОКЭД не совпадает",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, _) = ashyq(
        &dir,
        &["applications", "reject", &b.to_string(), "--reason", "x"],
    );
    assert!(!ok);

    // Roles.
    let (ok, _, err) = ashyq(&dir, &["role", "grant", "inspector", "-100"]);
    assert!(!ok && err.contains("unknown role"), "{err}");
    let (ok, _, _) = ashyq(
        &dir,
        &["role", "grant", "monitor", "-100", "--region", "Almaty"],
    );
    assert!(ok);
    let (_, out, _) = ashyq(&dir, &["role", "list"]);
    assert!(
        out.contains("\"monitor\"") && out.contains("\"almaty\""),
        "{out}"
    );

    // History lists the application (violations and suspensions are empty so far).
    let (ok, out, err) = ashyq(&dir, &["venue", "history", &venue_id.to_string()]);
    assert!(ok, "{err}");
    let h: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(h["applications"].as_array().unwrap().len(), 1);
    assert_eq!(h["applications"][0]["status"], "approved");
    assert_eq!(h["violations"].as_array().unwrap().len(), 0);
    assert!(h["test_until_ms"].as_i64().is_some());
    let (ok, _, _) = ashyq(&dir, &["venue", "history", "999"]);
    assert!(!ok);
    db.cleanup().await;
}

async fn occupancy_endpoint(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = support::core(db, &clock).await;
    ashyq::core::checkin::admin::add_venue(
        &core,
        &ashyq::core::checkin::admin::AddVenue {
            name: "Kinopark".into(),
            bin: "210540012341".into(),
            address: "Abai 1".into(),
            region: "Almaty".into(),
            category: "ordinary".into(),
            entrances: 1,
            max_stay_ms: None,
        },
        "bot",
    )
    .await
    .unwrap();
    let pcr = feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap();
    let gov = feeds::create_api_key(&core, "akimat", &["occupancy".into()])
        .await
        .unwrap();
    let router = app(HttpState {
        store: core.store.clone(),
        telegram: false,
        core: Some(core.clone()),
    });
    let get = |key: Option<&str>, q: &str| {
        let mut r = Request::get(format!("/api/v1/occupancy{q}"));
        if let Some(k) = key {
            r = r.header("Authorization", format!("Bearer {k}"));
        }
        r.body(Body::empty()).unwrap()
    };
    let res = router.clone().oneshot(get(None, "")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = router
        .clone()
        .oneshot(get(Some(&pcr.secret), ""))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = router
        .clone()
        .oneshot(get(Some(&gov.secret), "?region=Almaty"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["venues"][0]["name"], "Kinopark");
    assert_eq!(json["venues"][0]["inside_now"], 0);
    assert_eq!(json["venues"][0]["mode"], "live");
    let res = router
        .oneshot(get(Some(&gov.secret), "?region=karaganda"))
        .await
        .unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["venues"].as_array().unwrap().len(), 0);
    core.store.close().await;
}

mod http_occupancy {
    ashyq_on_both!(super::occupancy_endpoint);
}
