//! Social Wallet over HTTP: `POST /api/v1/pupils` (the state lists, API key with scope
//! `pupils`) and `POST /api/v1/sms/inbound` (the SMS gateway's inbound messages,
//! authenticated by `SMS_WEBHOOK_SECRET`).

use super::HttpState;
use super::feeds::{authorise, read_batch};
use super::guard::{BodyError, read_body};
use crate::core::wallet::eligibility;
use crate::core::{Event, Inbound};
use crate::crypto::Field;
use crate::domain::Phone;
use crate::storage::ChatRef;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// `POST /api/v1/pupils`: `{"items": [{"pupil_iin", "grade", "school_bin", "parent_iin",
/// "parent_phone", "social_assistance"}]}`; 200 when every item was stored or already was,
/// 422 with the rejected items (index, reason) otherwise; the good ones are stored anyway.
pub(super) async fn post_pupils(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(core) = state.core.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the API is not enabled");
    };
    let key = match authorise(&core, &headers, "pupils").await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let items = match read_batch(body).await {
        Ok(i) => i,
        Err(r) => return *r,
    };
    match eligibility::import_items(&core, items, key).await {
        Ok(report) => {
            let status = if report.rejected.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let body = json!({
                "accepted": report.accepted,
                "eligible": report.eligible,
                "duplicates": report.duplicates,
                "rejected": report.rejected.len(),
                "items": report.rejected,
            });
            (status, Json(body)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "pupils batch failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the batch could not be stored completely; send it again (stored rows are not duplicated)",
            )
        }
    }
}

/// `POST /api/v1/clubs`: `{"items": [{"pupil_iin", "club_bin", "sessions_per_month",
/// "parent_iin", "parent_phone"}]}` (API key with scope `clubs`); answers like
/// `/api/v1/pupils`.
pub(super) async fn post_clubs(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(core) = state.core.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the API is not enabled");
    };
    let key = match authorise(&core, &headers, "clubs").await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let items = match read_batch(body).await {
        Ok(i) => i,
        Err(r) => return *r,
    };
    match crate::core::wallet::import_club_json(&core, items, key).await {
        Ok(report) => {
            let status = if report.rejected.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let body = json!({
                "accepted": report.accepted,
                "offered": report.offered,
                "duplicates": report.duplicates,
                "rejected": report.rejected.len(),
                "items": report.rejected,
            });
            (status, Json(body)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "clubs batch failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the batch could not be stored completely; send it again (stored rows are not duplicated)",
            )
        }
    }
}

/// An inbound SMS (sender, at most a few segments of text, an id) fits in 4 KiB.
pub const MAX_SMS_BODY_BYTES: usize = 4 * 1024;

#[derive(serde::Deserialize)]
struct InboundSms {
    from: String,
    text: String,
    /// The gateway's message id: a repeated delivery is processed once.
    #[serde(default)]
    id: Option<String>,
}

/// `POST /api/v1/sms/inbound`: `{"from": "+7701…", "text": "2#1", "id": "…"}` with
/// `Authorization: Bearer <SMS_WEBHOOK_SECRET>`. The answer to the parent is queued for the
/// SMS worker in the same transaction as the consent; the response only says it was taken.
pub(super) async fn sms_inbound(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(core) = state.core.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the API is not enabled");
    };
    let Some(secret) = core.wallet.sms_webhook_secret.clone() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no SMS gateway is configured",
        );
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim();
    if given.is_empty() || !bool::from(given.as_bytes().ct_eq(secret.as_bytes())) {
        return error(
            StatusCode::UNAUTHORIZED,
            "missing or invalid gateway secret",
        );
    }
    let body = match read_body(body, MAX_SMS_BODY_BYTES).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "an inbound SMS body is at most 4 KiB",
            );
        }
        Err(BodyError::Unreadable) => {
            return error(StatusCode::BAD_REQUEST, "the body could not be read");
        }
    };
    let Ok(sms) = serde_json::from_slice::<InboundSms>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"from\", \"text\", \"id\"}",
        );
    };
    let Ok(phone) = Phone::parse(&sms.from) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`from` is not a phone number",
        );
    };
    // The chat's id is a name, not a stored value: pinned to key version 1 so the chat stays
    // the same across key rotations (docs/SECURITY.md, "Key rotation").
    let chat_id = hex::encode(core.vault.pinned_hash(Field::Phone, phone.expose()));
    let sealed = core.vault.seal(Field::Phone, phone.expose());
    let remembered = async {
        let mut tx = core.store.begin().await?;
        crate::storage::wallet::put_sms_number(&mut tx, &chat_id, &sealed, core.now_ms()).await?;
        tx.commit().await?;
        Ok::<_, crate::storage::StoreError>(())
    }
    .await;
    if let Err(e) = remembered {
        tracing::error!(error = %e, "inbound SMS: cannot store the number");
        return error(StatusCode::SERVICE_UNAVAILABLE, "try again later");
    }
    let text: String = sms.text.chars().take(crate::core::MAX_TEXT_CHARS).collect();
    let inbound = Inbound {
        chat: ChatRef::new(&core.channels.phone_channel, chat_id),
        update_key: sms.id.filter(|s| !s.trim().is_empty()),
        lang_hint: None,
        event: Event::Text(text),
    };
    match core.handle(inbound).await {
        Ok(_) => (StatusCode::OK, Json(json!({"ok": true}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "inbound SMS failed");
            error(StatusCode::SERVICE_UNAVAILABLE, "try again later")
        }
    }
}

/// Adds `POST /api/v1/clubs` (scope `clubs`) to the OpenAPI document: the club list's
/// items, their answer and errors.
pub fn extend_openapi(doc: &mut serde_json::Value) {
    let err = json!({"$ref": "#/components/schemas/Error"});
    let result = json!({"$ref": "#/components/schemas/ClubListResult"});
    doc["paths"]["/api/v1/clubs"] = json!({
        "post": {
            "summary": "Post a club list: children with N sessions a month at a club (scope `clubs`)",
            "description": "Each row is written on its own (a bad one is reported, the others are written). The same child at the same club twice in one batch is refused the second time; the same row again is a duplicate; a changed row for a child already listed at the club is refused. A registered parent gets the offer at once. Same validation as `ashyq import clubs FILE.csv`.",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": false, "required": ["items"],
                "properties": {"items": {"type": "array", "minItems": 1, "maxItems": crate::core::feeds::MAX_BATCH, "items": {"$ref": "#/components/schemas/ClubListItem"}}}
            }}}},
            "responses": {
                "200": {"description": "every row was stored or already was", "content": {"application/json": {"schema": result}}},
                "400": {"description": "malformed JSON or unknown top-level field", "content": {"application/json": {"schema": err}}},
                "401": {"description": "missing or invalid API key", "content": {"application/json": {"schema": err}}},
                "403": {"description": "the API key lacks the `clubs` scope", "content": {"application/json": {"schema": err}}},
                "413": {"description": "too many items or too large a body", "content": {"application/json": {"schema": err}}},
                "422": {"description": "an empty batch, or some rows rejected (the others were stored; see `items`)", "content": {"application/json": {"schema": result}}},
                "503": {"description": "the batch could not be stored completely; send it again (stored rows are not duplicated)", "content": {"application/json": {"schema": err}}}
            }
        }
    });
    let schemas = &mut doc["components"]["schemas"];
    schemas["ClubListItem"] = json!({
        "type": "object", "additionalProperties": false,
        "required": ["pupil_iin", "club_bin", "sessions_per_month", "parent_iin", "parent_phone"],
        "properties": {
            "pupil_iin": {"type": "string", "pattern": "^[0-9]{12}$", "description": "the child's IIN (valid check digit)"},
            "club_bin": {"type": "string", "pattern": "^[0-9]{12}$", "description": "the club's BIN (set up with `ashyq club set`)"},
            "sessions_per_month": {"type": ["integer", "string"], "minimum": 1, "maximum": 31, "description": "sessions a month, 1..31; unused sessions do not carry over"},
            "parent_iin": {"type": "string", "pattern": "^[0-9]{12}$", "description": "the parent's IIN, not the child's"},
            "parent_phone": {"type": "string", "description": "the parent's phone in any common written form"}
        }
    });
    schemas["ClubListResult"] = json!({
        "type": "object", "required": ["accepted", "offered", "duplicates", "rejected", "items"],
        "properties": {
            "accepted": {"type": "integer", "description": "new rows stored"},
            "offered": {"type": "integer", "description": "offers sent at once to registered parents"},
            "duplicates": {"type": "integer", "description": "rows already stored (nothing written)"},
            "rejected": {"type": "integer"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Rejection"}}
        }
    });
}
