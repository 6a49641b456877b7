//! The HTTP side: health, and the health-data feeds under `/api/v1` (`feeds`).

pub mod family;
pub mod feeds;
pub mod identity;
pub mod occupancy;
pub mod wallet;

use crate::core::Core;
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
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/pcr-results", post(feeds::post_pcr))
        .route("/api/v1/contacts", post(feeds::post_contacts))
        .route("/api/v1/openapi.json", get(feeds::openapi))
        .route("/api/v1/occupancy", get(occupancy::get_occupancy))
        .route("/api/v1/pupils", post(wallet::post_pupils))
        .route("/api/v1/identity", post(identity::post_pairs))
        .route("/api/v1/family", post(family::post_family))
        .route("/api/v1/sms/inbound", post(wallet::sms_inbound))
        .layer(DefaultBodyLimit::max(feeds::MAX_BODY_BYTES))
        .with_state(state)
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
