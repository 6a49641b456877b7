//! `GET /api/v1/occupancy[?region=R]`: read-only occupancy of participating venues for
//! authorities. `Authorization: Bearer <key>` with the `occupancy` scope (401 / 403 like the
//! feeds). Counts only: venue id, name, address, region, admission category, people inside
//! now, and the venue's mode (`live`, `test`, `suspended`).

use super::HttpState;
use super::feeds::{authorise, core_of};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, serde::Deserialize)]
pub struct OccupancyQuery {
    pub region: Option<String>,
}

pub async fn get_occupancy(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Query(q): Query<OccupancyQuery>,
) -> Response {
    let core = match core_of(&state) {
        Ok(c) => c.clone(),
        Err(r) => return *r,
    };
    if let Err(r) = authorise(&core, &headers, "occupancy").await {
        return *r;
    }
    let region = q.region.filter(|r| !r.trim().is_empty());
    match crate::core::business::monitor::occupancy(&core, region.as_deref()).await {
        Ok(rows) => {
            let now = core.now_ms();
            let venues: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({
                        "venue_id": r.venue_id,
                        "name": r.name,
                        "address": r.address,
                        "region": r.region,
                        "category": r.category,
                        "inside_now": r.inside_now,
                        "mode": crate::core::business::monitor::mode(r, now),
                    })
                })
                .collect();
            let total: i64 = rows.iter().map(|r| r.inside_now).sum();
            (
                StatusCode::OK,
                Json(json!({"region": region, "inside_now": total, "venues": venues})),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "occupancy query failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "try again later", "items": []})),
            )
                .into_response()
        }
    }
}
