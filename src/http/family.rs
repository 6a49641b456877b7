//! `POST /api/v1/family` (scope `family`): the civil registry's parent–child links, as
//! `{"items": [{"parent_iin", "child_iin", "external_id", "removed"?}]}`. Answers like the
//! health feeds: 200 when nothing was rejected, 422 with the rejected items otherwise.

use super::HttpState;
use super::feeds::{authorise, core_of, read_batch};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(super) async fn post_family(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let core = match core_of(&state) {
        Ok(c) => c.clone(),
        Err(r) => return *r,
    };
    let key = match authorise(&core, &headers, "family").await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let items = match read_batch(body).await {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let total = items.len();
    match crate::core::family::ingest(&core, items, Some(key)).await {
        Ok(report) => super::feeds::respond_as(total, report, "removed"),
        Err(e) => {
            tracing::error!(error = %e, "family batch failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "the batch could not be stored; nothing was written, try again", "items": []})),
            )
                .into_response()
        }
    }
}
