//! The pharmacist's signed dispensing buttons. (The patient's QR is the voucher engine's
//! short-lived token, `core::vouchers::qr`, of kind `Medicine`: valid for the kind's
//! minutes, so a screenshot forwarded tomorrow answers "expired".)
//!
//! A dispensing button carries the prescription, its sequence number when the code was
//! scanned (a second press, or a dispensing elsewhere in between, answers "scan again"),
//! the item and quantity, its last valid minute and a 48-bit MAC binding all of it to the
//! pharmacist's chat, so a button cannot be forged for another prescription.

use crate::core::shared::signed::CodeKey;
use crate::storage::ChatRef;
use subtle::ConstantTimeEq;

/// How long a pharmacist's buttons stay usable after the scan.
pub const BUTTON_TTL_MINUTES: i64 = 15;

/// The key of the buttons, derived from the vault's signing key.
#[derive(Clone, Debug)]
pub struct RxKeys {
    key: CodeKey,
}

/// Minutes since 1970 of a time in milliseconds.
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(60_000)
}

impl RxKeys {
    pub fn new(signing_key: &[u8; 32]) -> Self {
        Self {
            key: CodeKey::derive(signing_key, b"rx-buttons/v1"),
        }
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
        hex::encode(&self.key.mac(b"button:", line.as_bytes())[..6])
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // Made by the code before `core::shared::signed` (commit 08dad3a), same key.
        assert_eq!(mac, "1133e2da7934");
    }
}
