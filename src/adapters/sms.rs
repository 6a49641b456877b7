//! The SMS gateway adapter: an outbox worker for channel `sms`.
//!
//! A message to an SMS chat (chat id = the hex keyed hash of the number) is rendered in
//! Kazakh and Russian, the number is opened from `sms_numbers` (sealed) only to be sent, and
//! the message is POSTed to the gateway's webhook as JSON `{"to", "text", "id"}` with
//! `Authorization: Bearer <SMS_WEBHOOK_SECRET>`. `id` (`ashyq-<outbox id>`) lets the gateway
//! drop a repeat after a crash between its answer and our mark. Without `SMS_WEBHOOK_URL`
//! the gateway only logs (masked number, length), never sending anything. Inbound SMS come
//! back through `POST /api/v1/sms/inbound` (src/http/wallet.rs).

use crate::core::shared::channel::ChannelProfile;
use crate::core::wallet::WalletSettings;
use crate::core::{Core, Outbound};
use crate::crypto::Field;
use crate::delivery::{Envelope, Sent, Worker, WorkerOptions};
use crate::domain::Phone;
use crate::storage::{StoreError, wallet};
use std::sync::Arc;
use std::time::Duration;

/// The channel of SMS chats (the chat id is the hex keyed hash of the number); the core
/// knows it only as `Channels::phone_channel`.
pub const CHANNEL: &str = "sms";

/// What the core asks of an SMS chat: short texts, no buttons, and every reply through the
/// outbox (the gateway's webhook waits for no answer).
pub fn profile() -> ChannelProfile {
    ChannelProfile {
        display_name: "SMS".into(),
        max_text_chars: 480,
        relay_part_chars: 400,
        buttons_per_row: 0,
        replies_through_outbox: true,
        ..ChannelProfile::default()
    }
}

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

impl crate::delivery::Deliver for Gateway {
    fn channel(&self) -> &str {
        CHANNEL
    }

    async fn deliver(&self, core: &Core, envelope: Envelope<'_>) -> Sent {
        match send_one(core, self, envelope).await {
            Ok(()) => Sent::Delivered,
            Err(Failure::Retry(error)) => Sent::RetryLater { after: None, error },
            Err(Failure::GiveUp(error)) => Sent::Gone { error },
        }
    }
}

/// Why one message was not sent.
enum Failure {
    /// Try again later.
    Retry(String),
    /// Give up (unknown number, refused by the gateway).
    GiveUp(String),
}

async fn send_one(core: &Core, gateway: &Gateway, envelope: Envelope<'_>) -> Result<(), Failure> {
    let sealed = {
        let mut conn = core
            .store
            .pool()
            .acquire()
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        wallet::sms_number(&mut conn, envelope.chat_id)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?
            .ok_or_else(|| Failure::GiveUp("no number for this SMS chat".into()))?
    };
    let phone = core
        .vault
        .open(Field::Phone, &sealed)
        .map_err(|_| Failure::GiveUp("the number cannot be opened".into()))?;
    let text = render(core, envelope.message);
    match gateway {
        Gateway::Log => {
            let masked = Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default();
            tracing::info!(to = %masked, chars = text.chars().count(), id = envelope.id, "SMS (log-only gateway, not sent)");
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
                "id": format!("ashyq-{}", envelope.id),
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

/// The outbox worker of the SMS channel (sent one at a time, as the gateway expects).
pub fn worker(gateway: Gateway) -> Worker<Gateway> {
    Worker::new(gateway).with_options(WorkerOptions {
        batch: 100,
        chats_at_once: 1,
        idle: Duration::from_secs(2),
        ..WorkerOptions::default()
    })
}

/// Sends every due SMS once; returns how many were sent. Tests call it.
pub async fn send_due(core: &Core, gateway: &Gateway) -> Result<usize, StoreError> {
    worker(gateway.clone()).send_due(core).await
}

/// The SMS outbox worker.
pub async fn run_outbox(
    core: Arc<Core>,
    gateway: Gateway,
    stop: tokio_util::sync::CancellationToken,
) {
    tracing::info!(gateway = ?gateway, "SMS outbox worker started");
    worker(gateway).run(core, stop).await;
}
