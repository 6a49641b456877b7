//! The HTTP side: health (`/healthz` alive, `/readyz` ready), `/metrics` (Prometheus), and
//! the feeds under `/api/v1` (`feeds`), hardened by `guard` (timeouts, concurrency limit,
//! failed-authentication throttle, bodies read only after authentication), and the public
//! venue page `/v/<token>` that posters encode with `ASHYQ_PUBLIC_URL` (`venue_page`).

pub mod family;
pub mod feeds;
pub mod guard;
pub mod identity;
pub mod occupancy;
pub mod prescriptions;
pub mod venue_page;
pub mod wallet;

use crate::core::Core;
use crate::security::throttle::AuthThrottle;
use crate::storage::Store;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct HttpState {
    pub store: Store,
    pub telegram: bool,
    /// The core, for the feeds; without it they answer 503.
    pub core: Option<Arc<Core>>,
}

pub fn app(state: HttpState) -> Router {
    app_with(state, &guard::Limits::from_env())
}

/// [`app`] with explicit limits (tests).
pub fn app_with(state: HttpState, limits: &guard::Limits) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/pcr-results", post(feeds::post_pcr))
        .route("/api/v1/contacts", post(feeds::post_contacts))
        .route("/api/v1/openapi.json", get(feeds::openapi))
        .route("/api/v1/occupancy", get(occupancy::get_occupancy))
        .route("/api/v1/pupils", post(wallet::post_pupils))
        .route("/api/v1/clubs", post(wallet::post_clubs))
        .route("/api/v1/identity", post(identity::post_pairs))
        .route("/api/v1/family", post(family::post_family))
        .route(
            "/api/v1/prescriptions",
            post(prescriptions::post_prescriptions),
        )
        .route("/api/v1/sms/inbound", post(wallet::sms_inbound))
        .route("/v/{token}", get(venue_page::venue_page))
        .layer(DefaultBodyLimit::max(feeds::MAX_BODY_BYTES))
        .with_state(state);
    guard::harden(router, limits, Arc::new(AuthThrottle::default()))
}

/// Ready to take traffic: the database answers and every migration this binary carries is
/// applied (a replica of a newer version waits for its migrations before taking traffic).
async fn readyz(State(state): State<HttpState>) -> (StatusCode, Json<serde_json::Value>) {
    let pending =
        crate::storage::security::pending_migrations(state.store.pool(), state.store.migrator())
            .await;
    match pending {
        Ok(p) if p.is_empty() => (
            StatusCode::OK,
            Json(json!({"status": "ready", "database": "ok", "migrations": "applied"})),
        ),
        Ok(p) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "database": "ok", "pending_migrations": p})),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not ready", "database": "unreachable"})),
            )
        }
    }
}

/// Prometheus text exposition. With `ASHYQ_METRICS_TOKEN` set, a bearer token is required.
async fn metrics(
    State(state): State<HttpState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Ok(token) = std::env::var("ASHYQ_METRICS_TOKEN")
        && !token.trim().is_empty()
    {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .trim();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            token.trim().as_bytes(),
        )) {
            return (StatusCode::UNAUTHORIZED, "missing or invalid metrics token").into_response();
        }
    }
    let now = state
        .core
        .as_ref()
        .map_or_else(|| chrono::Utc::now().timestamp_millis(), |c| c.now_ms());
    let body = crate::ops::metrics::render(&state.store, now).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn healthz(State(state): State<HttpState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "database": "ok", "telegram": state.telegram})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unreachable"})),
            )
        }
    }
}
