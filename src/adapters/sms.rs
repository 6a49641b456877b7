//! The SMS gateway adapter: an outbox worker for channel `sms`.
//!
//! A message to an SMS chat (chat id = the hex keyed hash of the number) is rendered in
//! Kazakh and Russian, the number is opened from `sms_numbers` (sealed) only to be sent, and
//! the message is POSTed to the gateway's webhook as JSON `{"to", "text", "encoding",
//! "segments", "id"}` (GSM-7 where the text allows it, at most [`MAX_SEGMENTS`]) with
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
        // No dialogue: STATUS / HELP / RU-KZ keywords and offer answers (ARCHITECTURE.md,
        // "SMS as a channel").
        keywords: true,
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

/// How an SMS is encoded: GSM-7 (160 characters in one segment, 153 per segment of a longer
/// message; the extension characters `^{}\[~]|€` count twice) or UCS-2 (70, then 67 UTF-16
/// units per segment: Kazakh and Russian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }
}

/// A reply of the SMS channel is at most this many segments (docs/ARCHITECTURE.md, "SMS as
/// a channel"); `tests/it/sms.rs` renders every SMS reply in every language against it.
/// Notices that are not replies (a voucher offer, 4 segments) are sent whole.
pub const MAX_SEGMENTS: usize = 2;

/// An SMS ready for the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsText {
    pub text: String,
    pub encoding: Encoding,
    pub segments: usize,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{0C}";

/// Septets of `c` in GSM-7 (`None`: not in the alphabet).
fn septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Typography that has a GSM-7 twin (so an English text with a dash or a masked number
/// still goes as GSM-7).
fn plain(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2010}'..='\u{2015}' | '\u{2212}' => "-",
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '«' | '»' => "\"",
        '\u{2022}' | '\u{00B7}' => "*",
        '\u{2026}' => "...",
        '\u{00A0}' | '\u{2009}' | '\u{202F}' | '\u{2007}' => " ",
        '№' => "No.",
        '\t' => " ",
        _ => return None,
    })
}

fn segments_of(units: usize, encoding: Encoding) -> usize {
    let (single, part) = match encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    };
    if units <= single {
        1
    } else {
        units.div_ceil(part)
    }
}

/// How `text` goes as an SMS, unchanged: its encoding and number of segments.
pub fn measure(text: &str) -> (Encoding, usize) {
    let gsm: Option<usize> = text.chars().map(septets).sum();
    match gsm {
        Some(n) => (Encoding::Gsm7, segments_of(n, Encoding::Gsm7)),
        None => (
            Encoding::Ucs2,
            segments_of(text.encode_utf16().count(), Encoding::Ucs2),
        ),
    }
}

/// The SMS for `text`: GSM-7 where the text allows it (typography replaced by its GSM-7
/// twin), else UCS-2, with its number of segments.
pub fn encode(text: &str) -> SmsText {
    let text = text.trim();
    let mut flat = String::with_capacity(text.len());
    for c in text.chars() {
        match plain(c) {
            Some(p) => flat.push_str(p),
            None => flat.push(c),
        }
    }
    let (text, encoding) = match measure(&flat) {
        (Encoding::Gsm7, _) => (flat, Encoding::Gsm7),
        (Encoding::Ucs2, _) => (text.to_string(), Encoding::Ucs2),
    };
    let (_, segments) = measure(&text);
    if segments > MAX_SEGMENTS {
        // A notice that is not a reply (an offer: its instructions must not be cut).
        tracing::debug!(segments, "SMS longer than a reply may be");
    }
    SmsText {
        text,
        encoding,
        segments,
    }
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
    let sms = encode(&render(core, envelope.message));
    match gateway {
        Gateway::Log => {
            let masked = Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default();
            tracing::info!(to = %masked, chars = sms.text.chars().count(), encoding = sms.encoding.as_str(), segments = sms.segments, id = envelope.id, "SMS (log-only gateway, not sent)");
            Ok(())
        }
        Gateway::Webhook {
            url,
            secret,
            client,
        } => {
            let body = serde_json::json!({
                "to": phone.as_str(),
                "text": sms.text,
                "encoding": sms.encoding.as_str(),
                "segments": sms.segments,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm7_and_ucs2_segments() {
        assert_eq!(measure(&"a".repeat(160)), (Encoding::Gsm7, 1));
        assert_eq!(measure(&"a".repeat(161)), (Encoding::Gsm7, 2));
        assert_eq!(measure(&"a".repeat(306)), (Encoding::Gsm7, 2));
        assert_eq!(measure(&"a".repeat(307)), (Encoding::Gsm7, 3));
        // Extension characters count twice.
        assert_eq!(measure(&"[".repeat(80)), (Encoding::Gsm7, 1));
        assert_eq!(measure(&"[".repeat(81)), (Encoding::Gsm7, 2));
        assert_eq!(measure(&"ә".repeat(70)), (Encoding::Ucs2, 1));
        assert_eq!(measure(&"ә".repeat(71)), (Encoding::Ucs2, 2));
        assert_eq!(measure(&"я".repeat(134)), (Encoding::Ucs2, 2));
        assert_eq!(measure(&"я".repeat(135)), (Encoding::Ucs2, 3));
        // One Cyrillic letter makes the whole message UCS-2.
        assert_eq!(
            measure(&format!("{}Ж", "a".repeat(69))),
            (Encoding::Ucs2, 1)
        );
        assert_eq!(
            measure(&format!("{}Ж", "a".repeat(70))),
            (Encoding::Ucs2, 2)
        );
    }

    #[test]
    fn typography_keeps_english_in_gsm7() {
        let sms = encode(
            "Ashyq \u{2014} IIN \u{2022}\u{2022}\u{2022}\u{2022} 0017 \u{201C}ok\u{201D}\u{2026}",
        );
        assert_eq!(sms.encoding, Encoding::Gsm7);
        assert_eq!(sms.text, "Ashyq - IIN **** 0017 \"ok\"...");
        // Kazakh stays as it is (UCS-2), typography included.
        let sms = encode("Ashyq \u{2014} мәртебе");
        assert_eq!(sms.encoding, Encoding::Ucs2);
        assert!(sms.text.contains('\u{2014}'));
    }

    #[test]
    fn longer_texts_count_their_segments() {
        let sms = encode(&"word ".repeat(100));
        assert_eq!((sms.encoding, sms.segments), (Encoding::Gsm7, 4));
        let sms = encode(&"сөз ".repeat(100));
        assert_eq!((sms.encoding, sms.segments), (Encoding::Ucs2, 6));
    }
}
