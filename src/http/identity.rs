//! The identity table over HTTP: `POST /api/v1/identity` (an API key with scope
//! `identity`), batches of `{"iin", "phone", "remove"?}` like the other feeds; and the
//! protocol the `http` registry speaks to the mobile citizens database's gateway, both in
//! the OpenAPI document.

use super::HttpState;
use super::feeds::{authorise, core_of, parse_batch};
use crate::identity::table;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// 200 when every item was written (or already was / already absent), 422 with the
/// rejected items (index, reason) otherwise; the good ones are written anyway.
pub(super) async fn post_pairs(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let core = match core_of(&state) {
        Ok(c) => c.clone(),
        Err(r) => return *r,
    };
    if let Err(r) = authorise(&core, &headers, "identity").await {
        return *r;
    }
    let items = match parse_batch(body) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    match table::ingest(&core, items).await {
        Ok(report) => {
            let status = if report.rejected.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let body = json!({
                "added": report.added,
                "duplicates": report.duplicates,
                "removed": report.removed,
                "absent": report.absent,
                "rejected": report.rejected.len(),
                "items": report.rejected,
            });
            (status, Json(body)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "identity batch failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "the batch could not be stored; nothing was written, try again", "items": []})),
            )
                .into_response()
        }
    }
}

/// Adds the identity feed and the registry protocol to the OpenAPI document.
pub fn extend_openapi(doc: &mut Value) {
    let err = json!({"$ref": "#/components/schemas/Error"});
    let pair_result = json!({
        "type": "object",
        "required": ["added", "duplicates", "removed", "absent", "rejected", "items"],
        "properties": {
            "added": {"type": "integer", "description": "new pairs stored"},
            "duplicates": {"type": "integer", "description": "pairs already stored (nothing written)"},
            "removed": {"type": "integer", "description": "pairs removed"},
            "absent": {"type": "integer", "description": "removals of pairs that were not stored"},
            "rejected": {"type": "integer"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Rejection"}}
        }
    });
    doc["paths"]["/api/v1/identity"] = json!({
        "post": {
            "summary": "Feed the identity table: pairs of IIN and phone from the mobile citizens database (scope `identity`)",
            "description": "Each pair is stored only as two keyed hashes. `remove: true` deletes a pair (a number given up and later issued to someone else). Idempotent: a pair already stored is a duplicate. Registration asks this table whether the phone the messenger proved belongs to the IIN typed.",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": false, "required": ["items"],
                "properties": {"items": {"type": "array", "minItems": 1, "maxItems": crate::core::feeds::MAX_BATCH, "items": {"$ref": "#/components/schemas/IdentityPair"}}}
            }}}},
            "responses": {
                "200": {"description": "every item was processed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IdentityResult"}}}},
                "400": {"description": "malformed JSON", "content": {"application/json": {"schema": err}}},
                "401": {"description": "missing or invalid API key", "content": {"application/json": {"schema": err}}},
                "403": {"description": "the API key lacks the `identity` scope", "content": {"application/json": {"schema": err}}},
                "413": {"description": "too many items or too large a body", "content": {"application/json": {"schema": err}}},
                "422": {"description": "an empty batch, or some items rejected (the others were processed)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IdentityResult"}}}},
                "503": {"description": "temporarily unavailable; nothing was written", "content": {"application/json": {"schema": err}}}
            }
        }
    });
    let schemas = &mut doc["components"]["schemas"];
    schemas["IdentityPair"] = json!({
        "type": "object", "additionalProperties": false, "required": ["iin", "phone"],
        "properties": {
            "iin": {"type": "string", "description": "the IIN (12 digits with a valid check digit; spaces and dashes tolerated)"},
            "phone": {"type": "string", "description": "the phone number in any common written form: +7 701 123 45 67, 87011234567, 7011234567"},
            "remove": {"type": "boolean", "default": false, "description": "true removes the pair"}
        }
    });
    schemas["IdentityResult"] = pair_result;
    schemas["IdentityCheck"] = json!({
        "type": "object", "additionalProperties": false, "required": ["iin", "phone"],
        "description": "What the `http` registry (IDENTITY_REGISTRY=http) POSTs to IDENTITY_URL with `Authorization: Bearer IDENTITY_KEY`: only the two numbers the question is about.",
        "properties": {
            "iin": {"type": "string", "pattern": "^[0-9]{12}$"},
            "phone": {"type": "string", "pattern": "^\\+[0-9]{10,15}$", "description": "E.164"}
        }
    });
    schemas["IdentityAnswer"] = json!({
        "type": "object", "required": ["result"],
        "description": "The gateway's 200 answer to an IdentityCheck. Network errors, timeouts, 429 and 5xx are retried with back-off; any other status or an unreadable answer counts as `unknown` and the registration is retried in the background for up to a day.",
        "properties": {"result": {"type": "string", "enum": ["match", "mismatch", "unknown"]}}
    });
    doc["webhooks"] = json!({
        "identityCheck": {
            "post": {
                "summary": "Does this phone belong to this IIN? (called by Ashyq at IDENTITY_URL)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IdentityCheck"}}}},
                "responses": {"200": {"description": "the registry's answer", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IdentityAnswer"}}}}}
            }
        }
    });
}
