//! The HTTP app, tested with `oneshot` (no socket).

use crate::support;

use ashyq::http::{HttpState, app};
use ashyq::storage::Store;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn healthz_reports_the_database() {
    let db = support::TestDb::sqlite().await;
    let store = Store::open(&db.url).await.unwrap();
    let router = app(HttpState {
        store: store.clone(),
        telegram: false,
        core: None,
    });
    let res = router
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["database"], "ok");
    assert_eq!(json["telegram"], false);

    store.close().await;
    let res = router
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(
        !String::from_utf8_lossy(&body).contains("pool"),
        "no internals leak"
    );
}
