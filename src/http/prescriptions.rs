//! `POST /api/v1/prescriptions` (scope `prescriptions`): the medical information system's
//! prescriptions, `{"items": [{"external_id", "patient_iin", "representative_iin"?,
//! "prescriber", "issued_on", "expires_on", "kind", "patient_share"?, "items": [{"inn",
//! "form", "quantity", "unit"}]}]}`, or `{"external_id", "withdrawn": true}` to withdraw
//! one (docs/FEEDS.md). 200 when nothing was rejected, 422 with the rejected items
//! otherwise; the good ones are written anyway.

use super::HttpState;
use super::feeds::{authorise, core_of, read_batch};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(super) async fn post_prescriptions(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let core = match core_of(&state) {
        Ok(c) => c.clone(),
        Err(r) => return *r,
    };
    let key = match authorise(&core, &headers, "prescriptions").await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let items = match read_batch(body).await {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let total = items.len();
    match crate::core::prescriptions::feed::ingest(&core, items, Some(key)).await {
        Ok(report) => {
            let mut body = json!({
                "accepted": report.accepted,
                "duplicates": report.duplicates,
                "withdrawn": report.withdrawn,
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
            tracing::error!(error = %e, "prescriptions batch failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "the batch could not be stored; nothing was written, try again", "items": []})),
            )
                .into_response()
        }
    }
}
