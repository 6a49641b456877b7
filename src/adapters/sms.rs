//! The SMS gateway adapter: an outbox worker for channel `sms`.
//!
//! A message to an SMS chat (chat id = the hex keyed hash of the number) is rendered in
//! Kazakh and Russian, the number is opened from `sms_numbers` (sealed) only to be sent, and
//! the message is POSTed to the gateway's webhook as JSON `{"to", "text", "id"}` with
//! `Authorization: Bearer <SMS_WEBHOOK_SECRET>`. `id` (`ashyq-<outbox id>`) lets the gateway
//! drop a repeat after a crash between its answer and our mark. Without `SMS_WEBHOOK_URL`
//! the gateway only logs (masked number, length), never sending anything. Inbound SMS come
//! back through `POST /api/v1/sms/inbound` (src/http/wallet.rs).

use crate::core::wallet::{SMS, WalletSettings};
use crate::core::{Core, Outbound};
use crate::crypto::Field;
use crate::domain::Phone;
use crate::storage::{StoreError, outbox, wallet};
use std::sync::Arc;
use std::time::Duration;

/// Where SMS go.
#[derive(Clone)]
pub enum Gateway {
    /// Logs a masked line per message and sends nothing (development, tests).
    Log,
    /// POSTs every message to a webhook with the shared secret.
    Webhook {
        url: String,
        secret: String,
        client: reqwest::Client,
    },
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gateway::Log => f.write_str("Gateway::Log"),
            Gateway::Webhook { url, .. } => write!(f, "Gateway::Webhook({url})"),
        }
    }
}

impl Gateway {
    pub fn from_settings(w: &WalletSettings) -> Self {
        match (&w.sms_webhook_url, &w.sms_webhook_secret) {
            (Some(url), Some(secret)) => Gateway::Webhook {
                url: url.clone(),
                secret: secret.clone(),
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(15))
                    .build()
                    .unwrap_or_default(),
            },
            (Some(_), None) => {
                tracing::warn!("SMS_WEBHOOK_URL without SMS_WEBHOOK_SECRET: SMS are only logged");
                Gateway::Log
            }
            _ => Gateway::Log,
        }
    }
}

/// The text of an SMS, in ONE language: the message's (the recipient's chat language when
/// known, else Kazakh, as the core queues it), so an offer fits in fewer segments.
pub fn render(core: &Core, message: &Outbound) -> String {
    core.texts.render(message.lang, &message.text)
}

/// Why one message was not sent.
enum Failure {
    /// Try again later.
    Retry(String),
    /// Give up (unreadable message, unknown number, refused by the gateway).
    GiveUp(String),
}

async fn send_one(core: &Core, gateway: &Gateway, row: &outbox::OutboxRow) -> Result<(), Failure> {
    let message: Outbound = serde_json::from_str(&row.payload)
        .map_err(|_| Failure::GiveUp("unreadable message".into()))?;
    let sealed = {
        let mut conn = core
            .store
            .pool()
            .acquire()
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        wallet::sms_number(&mut conn, &row.chat_id)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?
            .ok_or_else(|| Failure::GiveUp("no number for this SMS chat".into()))?
    };
    let phone = core
        .vault
        .open(Field::Phone, &sealed)
        .map_err(|_| Failure::GiveUp("the number cannot be opened".into()))?;
    let text = render(core, &message);
    match gateway {
        Gateway::Log => {
            let masked = Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default();
            tracing::info!(to = %masked, chars = text.chars().count(), id = row.id, "SMS (log-only gateway, not sent)");
            Ok(())
        }
        Gateway::Webhook {
            url,
            secret,
            client,
        } => {
            let body = serde_json::json!({
                "to": phone.as_str(),
                "text": text,
                "id": format!("ashyq-{}", row.id),
            });
            let response = client
                .post(url)
                .bearer_auth(secret)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string())
                .send()
                .await
                .map_err(|e| Failure::Retry(format!("gateway unreachable: {}", e.without_url())))?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else if status.is_server_error() || status.as_u16() == 429 {
                Err(Failure::Retry(format!("gateway answered {status}")))
            } else {
                Err(Failure::GiveUp(format!("gateway refused: {status}")))
            }
        }
    }
}

/// Sends every due SMS once; returns how many were sent. The worker loop and tests call it.
pub async fn send_due(core: &Core, gateway: &Gateway) -> Result<usize, StoreError> {
    let now = core.now_ms();
    let rows = {
        let mut conn = core.store.pool().acquire().await?;
        outbox::due(&mut conn, SMS, now, 100).await?
    };
    let mut sent = 0;
    for row in rows {
        let result = send_one(core, gateway, &row).await;
        let now = core.now_ms();
        let mut conn = core.store.pool().acquire().await?;
        match result {
            Ok(()) => {
                outbox::mark_sent(&mut conn, row.id, now).await?;
                sent += 1;
            }
            Err(Failure::Retry(e)) => {
                tracing::warn!(id = row.id, error = %e, "SMS: will retry");
                let retry = now + 2_000 * (1 << row.attempts.min(6));
                outbox::mark_failed(&mut conn, row.id, now, &e, Some(retry)).await?;
            }
            Err(Failure::GiveUp(e)) => {
                tracing::warn!(id = row.id, error = %e, "SMS: given up");
                outbox::mark_failed(&mut conn, row.id, now, &e, None).await?;
            }
        }
    }
    Ok(sent)
}

/// The SMS outbox worker started by `ashyq serve`.
pub async fn run_outbox(
    core: Arc<Core>,
    gateway: Gateway,
    stop: tokio_util::sync::CancellationToken,
) {
    tracing::info!(gateway = ?gateway, "SMS outbox worker started");
    loop {
        let sent = match send_due(&core, &gateway).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "SMS outbox: cannot read or mark");
                0
            }
        };
        if sent == 0 {
            tokio::select! {
                () = stop.cancelled() => return,
                () = core.outbox_ready.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        } else if stop.is_cancelled() {
            return;
        }
    }
}
