//! Health-data feeds over HTTP: `POST /api/v1/pcr-results`, `POST /api/v1/contacts`, and
//! the OpenAPI document at `GET /api/v1/openapi.json`.
//!
//! Authentication: `Authorization: Bearer <key>` with a key from `ashyq apikey create`
//! (401 when missing or unknown, 403 without the endpoint's scope). Body:
//! `{"items": [...]}`, 1..=10 000 items (413 above). Each item is validated on its own: the
//! good ones are written (one transaction) and the bad ones reported, 200 when none was
//! rejected, 422 when some were. Errors are JSON: `{"error": ..., "items": [{"index",
//! "external_id", "reason"}]}`; internals never leak.

use super::HttpState;
use super::guard::{BodyError, read_body};
use crate::core::Core;
use crate::core::feeds::{self, MAX_BATCH, Report};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// Bodies above this are refused before parsing (10 000 items of a few hundred bytes fit).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    items: Vec<Value>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into(), "items": []}))).into_response()
}

/// Early answers are boxed: a `Response` is large.
pub(crate) type Early<T> = Result<T, Box<Response>>;

pub(crate) fn core_of(state: &HttpState) -> Early<&Arc<Core>> {
    state.core.as_ref().ok_or_else(|| {
        Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "feeds are not enabled",
        ))
    })
}

pub(crate) async fn authorise(core: &Core, headers: &HeaderMap, scope: &str) -> Early<i64> {
    let key = authenticate_key(core, headers).await?;
    if !key.has_scope(scope) {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            format!("this API key lacks the `{scope}` scope"),
        )));
    }
    Ok(key.id)
}

/// The active API key named by the `Authorization` header (401 when none is).
pub(crate) async fn authenticate_key(
    core: &Core,
    headers: &HeaderMap,
) -> Early<crate::storage::health::ApiKeyRow> {
    let unauthorised = || {
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or invalid API key");
        r.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        Box::new(r)
    };
    let Some(secret) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Err(unauthorised());
    };
    match feeds::authenticate(core, secret).await {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(unauthorised()),
        Err(e) => {
            tracing::error!(error = %e, "API key look-up failed");
            Err(Box::new(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "try again later",
            )))
        }
    }
}

fn early(status: StatusCode, message: impl Into<String>) -> Box<Response> {
    Box::new(error(status, message))
}

/// Reads (after authentication: see `http::guard`) and parses a batch body.
pub(super) async fn read_batch(body: Body) -> Early<Vec<Value>> {
    parse_batch(read_body(body, MAX_BODY_BYTES).await)
}

pub(super) fn parse_batch(body: Result<Bytes, BodyError>) -> Early<Vec<Value>> {
    let body = body.map_err(|e| {
        if e == BodyError::TooLarge {
            early(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body exceeds {MAX_BODY_BYTES} bytes; send at most {MAX_BATCH} items per request"),
            )
        } else {
            early(StatusCode::BAD_REQUEST, "the body could not be read")
        }
    })?;
    let batch: Batch = serde_json::from_slice(&body)
        .map_err(|e| early(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))?;
    if batch.items.is_empty() {
        return Err(early(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty batch: `items` has no item",
        ));
    }
    if batch.items.len() > MAX_BATCH {
        return Err(early(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "batch of {} items exceeds the limit of {MAX_BATCH}; split it",
                batch.items.len()
            ),
        ));
    }
    Ok(batch.items)
}

fn respond(total: usize, report: Report) -> Response {
    respond_as(total, report, "withdrawn")
}

/// A feed batch's answer: 200 with the counts, or 422 naming how many items were rejected
/// (the others were processed); `withdrawn_key` names the count of withdrawn items.
pub(crate) fn respond_as(total: usize, report: Report, withdrawn_key: &str) -> Response {
    let body = |error: Option<String>| {
        let mut v = json!({
            "accepted": report.accepted,
            "duplicates": report.duplicates,
            withdrawn_key: report.withdrawn,
            "rejected": report.rejected.len(),
            "items": report.rejected,
        });
        if let Some(e) = error {
            v["error"] = Value::String(e);
        }
        v
    };
    if report.rejected.is_empty() {
        (StatusCode::OK, Json(body(None))).into_response()
    } else {
        let msg = format!(
            "{} of {total} items rejected; the other items were processed",
            report.rejected.len()
        );
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body(Some(msg)))).into_response()
    }
}

fn internal(e: crate::core::CoreError) -> Response {
    tracing::error!(error = %e, "feed batch failed");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the batch could not be stored; nothing was written, try again",
    )
}

pub(super) async fn post_pcr(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let core = match core_of(&state) {
        Ok(c) => c.clone(),
        Err(r) => return *r,
    };
    let key = match authorise(&core, &headers, "pcr").await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let items = match read_batch(body).await {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let total = items.len();
    match feeds::ingest_pcr(&core, items, Some(key)).await {
        Ok(report) => respond(total, report),
        Err(e) => internal(e),
    }
}

pub(super) async fn post_contacts(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let core = match core_of(&state) {
        Ok(c) => c.clone(),
        Err(r) => return *r,
    };
    let key = match authorise(&core, &headers, "contacts").await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let items = match read_batch(body).await {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let total = items.len();
    match feeds::ingest_contacts(&core, items, Some(key)).await {
        Ok(report) => respond(total, report),
        Err(e) => internal(e),
    }
}

pub(super) async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The OpenAPI 3.1 description of the feeds.
pub fn openapi_document() -> Value {
    let mut doc = feeds_document();
    super::identity::extend_openapi(&mut doc);
    super::prescriptions::extend_openapi(&mut doc);
    super::wallet::extend_openapi(&mut doc);
    doc
}

fn feeds_document() -> Value {
    let rejection = json!({
        "type": "object",
        "required": ["index", "reason"],
        "properties": {
            "index": {"type": "integer", "description": "position of the item in `items`, from 0"},
            "external_id": {"type": "string"},
            "reason": {"type": "string"}
        }
    });
    let result = json!({
        "type": "object",
        "required": ["accepted", "duplicates", "withdrawn", "rejected", "items"],
        "properties": {
            "error": {"type": "string", "description": "present when some items were rejected"},
            "accepted": {"type": "integer", "description": "new items written"},
            "duplicates": {"type": "integer", "description": "items already stored with the same content (nothing written)"},
            "withdrawn": {"type": "integer", "description": "stored results now withdrawn"},
            "rejected": {"type": "integer"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Rejection"}}
        }
    });
    let error = json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Rejection"}}
        }
    });
    let responses = |what: &str| {
        json!({
            "200": {"description": format!("every {what} was written or was already stored"), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResult"}}}},
            "400": {"description": "malformed JSON or unknown top-level field", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"description": "missing or invalid API key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "403": {"description": "the API key lacks the scope", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "413": {"description": format!("more than {MAX_BATCH} items or a body above {MAX_BODY_BYTES} bytes"), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "422": {"description": "an empty batch, or some items rejected (the others were processed; see `items`)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResult"}}}},
            "503": {"description": "temporarily unavailable; nothing was written", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        })
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Ashyq health-data feeds",
            "version": "1",
            "description": "Laboratories post PCR results and epidemiologists post close contacts in batches. Each item is idempotent by its external_id: the same content again is a duplicate, the same id with different content is rejected. Items are validated one by one; nothing partial is written for a rejected item."
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/pcr-results": {
                "post": {
                    "summary": "Post a batch of PCR results (scope `pcr`)",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": false, "required": ["items"],
                        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": {"$ref": "#/components/schemas/PcrResult"}}}
                    }}}},
                    "responses": responses("result")
                }
            },
            "/api/v1/contacts": {
                "post": {
                    "summary": "Post a batch of close contacts (scope `contacts`)",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": false, "required": ["items"],
                        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": {"$ref": "#/components/schemas/Contact"}}}
                    }}}},
                    "responses": responses("contact")
                }
            }
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "a key from `ashyq apikey create --name NAME --scopes pcr,contacts`"}},
            "schemas": {
                "PcrResult": {
                    "type": "object", "additionalProperties": false,
                    "required": ["iin", "taken_at", "result_at", "result", "lab", "external_id"],
                    "properties": {
                        "iin": {"type": "string", "pattern": "^[0-9]{12}$", "description": "the person's IIN (valid check digit)"},
                        "taken_at": {"type": "string", "format": "date-time", "description": "when the sample was taken; not in the future"},
                        "result_at": {"type": "string", "format": "date-time", "description": "when the result became known; not before taken_at, not in the future"},
                        "result": {"type": "string", "enum": ["positive", "negative"]},
                        "lab": {"type": "string", "minLength": 1, "maxLength": 128, "description": "the laboratory; never shown to citizens"},
                        "external_id": {"type": "string", "minLength": 1, "maxLength": 128, "description": "the sender's unique id of this result"},
                        "withdrawn": {"type": "boolean", "default": false, "description": "true (with the same content) withdraws a stored result"}
                    }
                },
                "Contact": {
                    "type": "object", "additionalProperties": false,
                    "required": ["iin", "contact_date", "case_id", "external_id"],
                    "properties": {
                        "iin": {"type": "string", "pattern": "^[0-9]{12}$"},
                        "contact_date": {"type": "string", "format": "date", "description": "local (Asia/Almaty) date of the contact; not in the future"},
                        "case_id": {"type": "string", "minLength": 1, "maxLength": 128, "description": "the source case"},
                        "external_id": {"type": "string", "minLength": 1, "maxLength": 128}
                    }
                },
                "Rejection": rejection,
                "BatchResult": result,
                "Error": error
            }
        }
    })
}
