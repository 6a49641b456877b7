//! The patient's short-lived prescription code, and the pharmacist's signed buttons.
//!
//! The QR holds `RX` followed by 34 base64url characters of 25 bytes:
//!
//! ```text
//! version(1) = 1 | prescription id (u32, BE) | issued minute (u32, BE: minutes since 1970) | MAC(16)
//! ```
//!
//! The MAC is HMAC-SHA256 under `HMAC(signing key, "rx-qr/v1")`, truncated to 128 bits and
//! compared in constant time. A code is valid for [`QR_TTL_MINUTES`] after it was made, so
//! a screenshot forwarded later (or yesterday's) answers "expired": only the wallet makes
//! a code, on the patient's request.
//!
//! The typed form (`RX-K7P2Q-X9M4CZ`) is 5 characters of the prescription id in base 31
//! and 6 check characters of a MAC over the id and the five-minute slot it was made in; it
//! is accepted in its own slot and the two before (10 to 15 minutes). The alphabet and the
//! unbiased check characters are the meal codes' (`wallet::token`).
//!
//! A dispensing button carries the prescription, its sequence number when the code was
//! scanned (a second press, or a dispensing elsewhere in between, answers "scan again"),
//! the item and quantity, its last valid minute and a 48-bit MAC binding all of it to the
//! pharmacist's chat, so a button cannot be forged for another prescription.

use crate::storage::ChatRef;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 4 + 4;
const MAC_LEN: usize = 16;
const TOKEN_BYTES: usize = BODY_LEN + MAC_LEN;
/// The prefix of a prescription QR's text (and of the typed code).
pub const PREFIX: &str = "RX";
/// Characters after the prefix.
pub const TOKEN_CHARS: usize = 34;
/// How long a code stays valid after the wallet made it.
pub const QR_TTL_MINUTES: i64 = 10;
/// The typed code's slot.
pub const SLOT_MINUTES: i64 = 5;
/// Slots a typed code is accepted in (its own and the ones before).
const SLOTS_VALID: i64 = 3;
/// Slots a typed code is still recognised in, to answer "expired" rather than "wrong".
const SLOTS_RECOGNISED: i64 = 24 * 60 / SLOT_MINUTES;
/// How long a pharmacist's buttons stay usable after the scan.
pub const BUTTON_TTL_MINUTES: i64 = 15;

/// The short-code alphabet of venue and meal codes: no 0/O, 1/I/L.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const ID_CHARS: usize = 5;
const MAC_CHARS: usize = 6;

/// What a code says once its signature checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Valid now.
    Valid(i64),
    /// Genuine but too old (or made in the future).
    Expired(i64),
}

/// The keys of prescription codes, derived from the vault's signing key.
#[derive(Clone)]
pub struct RxKeys {
    key: [u8; 32],
}

impl std::fmt::Debug for RxKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RxKeys(…)")
    }
}

/// Minutes since 1970 of a time in milliseconds.
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(60_000)
}

impl RxKeys {
    pub fn new(signing_key: &[u8; 32]) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(signing_key).expect("any key length");
        mac.update(b"rx-qr/v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, label: &[u8], body: &[u8]) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(label);
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The QR text of prescription `id` made at `now_ms`.
    pub fn sign(&self, id: i64, now_ms: i64) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[0] = VERSION;
        bytes[1..5].copy_from_slice(&(id as u32).to_be_bytes());
        bytes[5..9].copy_from_slice(&(minute_of(now_ms) as u32).to_be_bytes());
        let mac = self.mac(b"qr:", &bytes[..BODY_LEN]);
        bytes[BODY_LEN..].copy_from_slice(&mac[..MAC_LEN]);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Whether a text is shaped like a QR code (prefix and length), before any check.
    pub fn looks_like_qr(text: &str) -> bool {
        text.trim()
            .strip_prefix(PREFIX)
            .is_some_and(|r| r.len() == TOKEN_CHARS)
    }

    /// Checks a QR text at `now_ms`: `None` when it is not a genuine prescription code.
    pub fn verify(&self, text: &str, now_ms: i64) -> Option<Checked> {
        let raw = text.trim().strip_prefix(PREFIX)?;
        if raw.len() != TOKEN_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        if bytes.len() != TOKEN_BYTES || bytes[0] != VERSION {
            return None;
        }
        let mac = self.mac(b"qr:", &bytes[..BODY_LEN]);
        if !bool::from(mac[..MAC_LEN].ct_eq(&bytes[BODY_LEN..])) {
            return None;
        }
        let id = i64::from(u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]));
        let made = i64::from(u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]));
        let age = minute_of(now_ms) - made;
        Some(if (0..QR_TTL_MINUTES).contains(&age) {
            Checked::Valid(id)
        } else {
            Checked::Expired(id)
        })
    }

    fn check_chars(&self, id: i64, slot: i64) -> Vec<u8> {
        const LIMIT: u8 = (256 / 31 * 31) as u8;
        let mut body = [0u8; 16];
        body[..8].copy_from_slice(&id.to_be_bytes());
        body[8..].copy_from_slice(&slot.to_be_bytes());
        let mut out = Vec::with_capacity(MAC_CHARS);
        let mut block = 0u8;
        while out.len() < MAC_CHARS {
            let mut input = body.to_vec();
            input.push(block);
            let mac = self.mac(b"code:", &input);
            out.extend(
                mac.iter()
                    .filter(|b| **b < LIMIT)
                    .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()])
                    .take(MAC_CHARS - out.len()),
            );
            block = block.wrapping_add(1);
        }
        out
    }

    /// The typed code of prescription `id` made at `now_ms`: `RX-K7P2Q-X9M4CZ`.
    pub fn typed_code(&self, id: i64, now_ms: i64) -> String {
        let slot = minute_of(now_ms).div_euclid(SLOT_MINUTES);
        let mut n = id as u64;
        let mut id_chars = [b'2'; ID_CHARS];
        for c in id_chars.iter_mut().rev() {
            *c = ALPHABET[(n % ALPHABET.len() as u64) as usize];
            n /= ALPHABET.len() as u64;
        }
        format!(
            "{PREFIX}-{}-{}",
            String::from_utf8_lossy(&id_chars),
            String::from_utf8_lossy(&self.check_chars(id, slot))
        )
    }

    /// Checks a typed code at `now_ms` (case, spaces and dashes forgiven).
    pub fn verify_typed(&self, input: &str, now_ms: i64) -> Option<Checked> {
        let (id, check) = parse_typed(input)?;
        let slot = minute_of(now_ms).div_euclid(SLOT_MINUTES);
        for back in 0..SLOTS_RECOGNISED {
            if bool::from(self.check_chars(id, slot - back).ct_eq(check.as_bytes())) {
                return Some(if back < SLOTS_VALID {
                    Checked::Valid(id)
                } else {
                    Checked::Expired(id)
                });
            }
        }
        None
    }

    /// The MAC of a dispensing button (12 hex characters).
    pub fn button_mac(
        &self,
        chat: &ChatRef,
        prescription: i64,
        seq: i64,
        item: i64,
        quantity: i64,
        until: i64,
    ) -> String {
        let line = format!(
            "{}\u{1f}{}\u{1f}{prescription}\u{1f}{seq}\u{1f}{item}\u{1f}{quantity}\u{1f}{until}",
            chat.channel, chat.chat_id
        );
        hex::encode(&self.mac(b"button:", line.as_bytes())[..6])
    }

    /// Whether a button's MAC is genuine for this chat (constant time).
    #[allow(clippy::too_many_arguments)]
    pub fn button_ok(
        &self,
        chat: &ChatRef,
        prescription: i64,
        seq: i64,
        item: i64,
        quantity: i64,
        until: i64,
        mac: &str,
    ) -> bool {
        let want = self.button_mac(chat, prescription, seq, item, quantity, until);
        bool::from(want.as_bytes().ct_eq(mac.to_ascii_lowercase().as_bytes()))
    }
}

/// A typed code's id and check characters, or `None` when the text is not shaped like one.
pub fn parse_typed(input: &str) -> Option<(i64, String)> {
    let raw = crate::domain::fold_typed_code(input);
    let raw = raw.strip_prefix(PREFIX)?;
    if raw.len() != ID_CHARS + MAC_CHARS || !raw.bytes().all(|b| ALPHABET.contains(&b)) {
        return None;
    }
    let mut id: i64 = 0;
    for b in raw[..ID_CHARS].bytes() {
        let digit = ALPHABET.iter().position(|a| *a == b)? as i64;
        id = id * ALPHABET.len() as i64 + digit;
    }
    Some((id, raw[ID_CHARS..].to_string()))
}

/// Whether a text is a prescription code by its shape (QR text or typed code).
pub fn is_code(text: &str) -> bool {
    RxKeys::looks_like_qr(text) || parse_typed(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_790_000_000_000;

    #[test]
    fn a_code_is_valid_for_ten_minutes_then_expired() {
        let keys = RxKeys::new(&[7; 32]);
        let code = keys.sign(42, T0);
        assert!(code.starts_with(PREFIX) && code.len() == 2 + TOKEN_CHARS, "{code}");
        assert_eq!(keys.verify(&code, T0), Some(Checked::Valid(42)));
        assert_eq!(keys.verify(&code, T0 + 9 * 60_000), Some(Checked::Valid(42)));
        assert_eq!(
            keys.verify(&code, T0 + 10 * 60_000 + 60_000),
            Some(Checked::Expired(42))
        );
        // Yesterday's screenshot.
        assert_eq!(
            keys.verify(&code, T0 + 86_400_000),
            Some(Checked::Expired(42))
        );
        // Made "in the future" (a clock far off): not valid.
        assert_eq!(
            keys.verify(&code, T0 - 5 * 60_000),
            Some(Checked::Expired(42))
        );
    }

    #[test]
    fn forged_or_foreign_codes_are_not_codes() {
        let keys = RxKeys::new(&[7; 32]);
        let other = RxKeys::new(&[8; 32]);
        let code = keys.sign(42, T0);
        assert_eq!(other.verify(&code, T0), None);
        let mut bytes = code.clone().into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(keys.verify(&String::from_utf8(bytes).unwrap(), T0), None);
        assert_eq!(keys.verify("SWabc", T0), None);
        assert_eq!(keys.verify("", T0), None);
    }

    #[test]
    fn typed_codes_work_for_a_few_slots_then_say_expired() {
        let keys = RxKeys::new(&[7; 32]);
        let code = keys.typed_code(12_345, T0);
        assert!(code.starts_with("RX-") && code.len() == 15, "{code}");
        assert_eq!(parse_typed(&code).map(|p| p.0), Some(12_345));
        assert_eq!(keys.verify_typed(&code, T0), Some(Checked::Valid(12_345)));
        let sloppy = code.to_lowercase().replace('-', " ");
        assert_eq!(keys.verify_typed(&sloppy, T0), Some(Checked::Valid(12_345)));
        assert_eq!(
            keys.verify_typed(&code, T0 + 10 * 60_000),
            Some(Checked::Valid(12_345))
        );
        assert_eq!(
            keys.verify_typed(&code, T0 + 20 * 60_000),
            Some(Checked::Expired(12_345))
        );
        assert_eq!(keys.verify_typed(&code, T0 + 3 * 86_400_000), None);
        assert_eq!(RxKeys::new(&[8; 32]).verify_typed(&code, T0), None);
        // A meal code's shape is not a prescription code.
        assert!(parse_typed("K7P2Q-X9M4CZ").is_none());
        assert!(is_code(&code) && is_code(&keys.sign(1, T0)));
    }

    #[test]
    fn buttons_are_bound_to_the_chat_and_their_content() {
        let keys = RxKeys::new(&[7; 32]);
        let a = ChatRef::new("telegram", "1");
        let b = ChatRef::new("telegram", "2");
        let mac = keys.button_mac(&a, 5, 0, 9, 1, 100);
        assert_eq!(mac.len(), 12);
        assert!(keys.button_ok(&a, 5, 0, 9, 1, 100, &mac));
        assert!(!keys.button_ok(&b, 5, 0, 9, 1, 100, &mac));
        assert!(!keys.button_ok(&a, 6, 0, 9, 1, 100, &mac));
        assert!(!keys.button_ok(&a, 5, 0, 9, 2, 100, &mac));
        assert!(!keys.button_ok(&a, 5, 0, 9, 1, 101, &mac));
        assert!(!keys.button_ok(&a, 5, 1, 9, 1, 100, &mac));
    }
}
