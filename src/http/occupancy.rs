//! `GET /api/v1/occupancy[?region=R]`: read-only occupancy of participating venues for
//! authorities. `Authorization: Bearer <key>` with the `occupancy` scope (401 / 403 like the
//! feeds). Counts only: venue id, name, address, region, admission category, people inside
//! now, and the venue's mode (`live`, `test`, `suspended`).
//!
//! Keys are scoped by region like the authorities' chats: `occupancy` sees the whole country,
//! `occupancy:<region>` (created with `--scope occupancy:almaty`) only its region(s); such a
//! key without `?region=` reads its region, and another region is 403.

use super::HttpState;
use super::feeds::{authenticate_key, core_of};
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
    let key = match authenticate_key(&core, &headers).await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let asked = q.region.filter(|r| !r.trim().is_empty());
    let region = match allowed_region(&key, asked) {
        Ok(r) => r,
        Err((status, msg)) => {
            return (status, Json(json!({"error": msg, "items": []}))).into_response();
        }
    };
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

/// The region a key may read: `Ok(None)` for the whole country (a national key without
/// `?region=`), `Ok(Some(r))` for one region, or the refusal.
fn allowed_region(
    key: &crate::storage::health::ApiKeyRow,
    asked: Option<String>,
) -> Result<Option<String>, (StatusCode, String)> {
    use crate::core::checkin::admin::region_key;
    if key.has_scope("occupancy") {
        return Ok(asked);
    }
    let regions: Vec<&str> = key
        .scopes
        .split(',')
        .filter_map(|s| s.trim().strip_prefix("occupancy:"))
        .collect();
    if regions.is_empty() {
        return Err((
            StatusCode::FORBIDDEN,
            "this API key lacks the `occupancy` scope".into(),
        ));
    }
    match asked {
        Some(r) if regions.contains(&region_key(&r).as_str()) => Ok(Some(r)),
        Some(r) => Err((
            StatusCode::FORBIDDEN,
            format!("this API key may not read the region {r:?}"),
        )),
        None if regions.len() == 1 => Ok(Some(regions[0].to_string())),
        None => Err((
            StatusCode::BAD_REQUEST,
            "this key covers several regions: give `?region=`".into(),
        )),
    }
}
