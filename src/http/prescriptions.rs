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
        Ok(report) => super::feeds::respond_as(total, report, "withdrawn"),
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

/// Adds `POST /api/v1/prescriptions` (scope `prescriptions`) to the OpenAPI document: the
/// prescription or withdrawal items, their answer (the feeds' `BatchResult`) and errors.
pub fn extend_openapi(doc: &mut serde_json::Value) {
    use crate::core::feeds::MAX_BATCH;
    use crate::core::prescriptions::feed::MAX_ITEMS;
    let err = json!({"$ref": "#/components/schemas/Error"});
    let result = json!({"$ref": "#/components/schemas/BatchResult"});
    doc["paths"]["/api/v1/prescriptions"] = json!({
        "post": {
            "summary": "Post a batch of prescriptions from the medical information system, or withdraw some (scope `prescriptions`)",
            "description": "Each item is idempotent by its external_id: the same content again is a duplicate, the same id with other content is rejected, the same id twice in one batch is written once. An item is validated whole: one bad medicine rejects the prescription and nothing of it is written. `{\"external_id\", \"withdrawn\": true}` withdraws a stored prescription at once (its QR codes stop working); a withdrawn one cannot come back under the same id. See docs/FEEDS.md.",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": false, "required": ["items"],
                "properties": {"items": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": {"oneOf": [
                    {"$ref": "#/components/schemas/Prescription"},
                    {"$ref": "#/components/schemas/PrescriptionWithdrawal"}
                ]}}}
            }}}},
            "responses": {
                "200": {"description": "every item was written, withdrawn or was already stored", "content": {"application/json": {"schema": result}}},
                "400": {"description": "malformed JSON or unknown top-level field", "content": {"application/json": {"schema": err}}},
                "401": {"description": "missing or invalid API key", "content": {"application/json": {"schema": err}}},
                "403": {"description": "the API key lacks the `prescriptions` scope", "content": {"application/json": {"schema": err}}},
                "413": {"description": "too many items or too large a body", "content": {"application/json": {"schema": err}}},
                "422": {"description": "an empty batch, or some items rejected (the others were processed; see `items`)", "content": {"application/json": {"schema": result}}},
                "503": {"description": "temporarily unavailable; nothing of the failed transaction was kept, send the batch again", "content": {"application/json": {"schema": err}}}
            }
        }
    });
    let id = json!({"type": "string", "minLength": 1, "maxLength": crate::core::feeds::MAX_ID_CHARS, "description": "the sender's unique id of this prescription"});
    let schemas = &mut doc["components"]["schemas"];
    schemas["Prescription"] = json!({
        "type": "object", "additionalProperties": false,
        "required": ["external_id", "patient_iin", "prescriber", "issued_on", "expires_on", "kind", "items"],
        "properties": {
            "external_id": id,
            "patient_iin": {"type": "string", "pattern": "^[0-9]{12}$", "description": "the patient's IIN (valid check digit, not born in the future)"},
            "representative_iin": {"type": "string", "pattern": "^[0-9]{12}$", "description": "required for a patient under 18: an adult, not the patient"},
            "prescriber": {"type": "string", "minLength": 1, "maxLength": 200},
            "issued_on": {"type": "string", "format": "date", "description": "not in the future"},
            "expires_on": {"type": "string", "format": "date", "description": "the last day it may be dispensed (Asia/Almaty); not before issued_on"},
            "kind": {"type": "string", "enum": ["free", "discounted"], "description": "free: guaranteed volume of free medical care or insurance (no patient_share); discounted: the patient pays patient_share per cent"},
            "patient_share": {"type": "integer", "minimum": 1, "maximum": 99, "description": "per cent the patient pays; only and always with kind `discounted`"},
            "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS, "items": {"$ref": "#/components/schemas/Medicine"}},
            "withdrawn": {"type": "boolean", "const": false, "default": false}
        }
    });
    schemas["PrescriptionWithdrawal"] = json!({
        "type": "object", "additionalProperties": false, "required": ["external_id", "withdrawn"],
        "properties": {
            "external_id": {"type": "string", "minLength": 1, "description": "a stored prescription's id (an unknown id is rejected)"},
            "withdrawn": {"type": "boolean", "const": true}
        }
    });
    schemas["Medicine"] = json!({
        "type": "object", "additionalProperties": false, "required": ["inn", "form", "quantity", "unit"],
        "properties": {
            "inn": {"type": "string", "minLength": 1, "maxLength": 200, "description": "international non-proprietary name"},
            "form": {"type": "string", "minLength": 1, "maxLength": 200, "description": "form and strength, e.g. `tablets 500 mg`"},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 100000},
            "unit": {"type": "string", "enum": ["pieces", "packs", "ml", "g"], "description": "`pcs`, `pack`, `millilitres`, `grams` are accepted too"}
        }
    });
}
