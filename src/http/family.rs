//! `POST /api/v1/family` (scope `family`): the civil registry's parent–child links, as
//! `{"items": [{"parent_iin", "child_iin", "external_id", "removed"?}]}`. Answers like the
//! health feeds: 200 when nothing was rejected, 422 with the rejected items otherwise.

use super::HttpState;
use super::feeds::{authorise, core_of, parse_batch};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(super) async fn post_family(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let core = match core_of(&state) {
        Ok(c) => c.clone(),
        Err(r) => return *r,
    };
    let key = match authorise(&core, &headers, "family").await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let items = match parse_batch(body) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let total = items.len();
    match crate::core::family::ingest(&core, items, Some(key)).await {
        Ok(report) => {
            let mut body = json!({
                "accepted": report.accepted,
                "duplicates": report.duplicates,
                "removed": report.withdrawn,
                "rejected": report.rejected.len(),
                "items": report.rejected,
            });
            if report.rejected.is_empty() {
                (StatusCode::OK, Json(body)).into_response()
            } else {
                body["error"] = json!(format!(
                    "{} of {total} items rejected; the other items were processed",
                    report.rejected.len()
                ));
                (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
            }
        }
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
