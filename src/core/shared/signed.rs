//! Codes the service signs and people show or type: a QR text (`prefix` + base64url of a
//! body and a 128-bit MAC) and its typed form (characters of the look-alike-free alphabet,
//! check characters drawn from a MAC without modulo bias). The meal's daily code
//! (`wallet::token`) and the engine's short-lived voucher code (`vouchers::qr`) are both made
//! here; each keeps its own key label, body layout and prefix.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The typed codes' alphabet (venues, meals, vouchers): no 0/O, 1/I/L.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Bytes of MAC a QR text carries.
const MAC_LEN: usize = 16;

/// A key for one kind of code, derived from the vault's signing key and the kind's label.
#[derive(Clone)]
pub struct CodeKey {
    key: [u8; 32],
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(…)")
    }
}

impl CodeKey {
    /// `HMAC(signing key, label)`.
    pub fn derive(signing_key: &[u8; 32], label: &[u8]) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(signing_key).expect("any key length");
        mac.update(label);
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    /// HMAC-SHA256 of `label ‖ body` under this key.
    pub fn mac(&self, label: &[u8], body: &[u8]) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(label);
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The QR text: `prefix` + base64url(body ‖ first 16 bytes of MAC("qr:", body)).
    pub fn seal(&self, prefix: &str, body: &[u8]) -> String {
        let mac = self.mac(b"qr:", body);
        let mut bytes = body.to_vec();
        bytes.extend_from_slice(&mac[..MAC_LEN]);
        format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The body of a QR text sealed with `prefix` and a body of `body_len` bytes, or `None`
    /// (another prefix or length, not base64url, or a MAC that does not match, compared in
    /// constant time).
    pub fn open(&self, prefix: &str, text: &str, body_len: usize) -> Option<Vec<u8>> {
        let raw = text.trim().strip_prefix(prefix)?;
        if raw.len() != sealed_chars(body_len) {
            return None;
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        if bytes.len() != body_len + MAC_LEN {
            return None;
        }
        let mac = self.mac(b"qr:", &bytes[..body_len]);
        if !bool::from(mac[..MAC_LEN].ct_eq(&bytes[body_len..])) {
            return None;
        }
        bytes.truncate(body_len);
        Some(bytes)
    }

    /// `n` check characters of a body for its typed form: each from one byte of
    /// MAC("code:", body [‖ block]) below 248 (= 8 × 31) taken modulo 31, so every character
    /// is equally likely; bytes of 248 or more are skipped and more MAC blocks follow when
    /// needed.
    pub fn check_chars(&self, body: &[u8], n: usize) -> String {
        const LIMIT: u8 = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
        let mut out = Vec::with_capacity(n);
        let mut block = 0u8;
        while out.len() < n {
            let mut input = body.to_vec();
            if block > 0 {
                input.push(block);
            }
            let mac = self.mac(b"code:", &input);
            out.extend(
                mac.iter()
                    .filter(|b| **b < LIMIT)
                    .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()])
                    .take(n - out.len()),
            );
            block = block.wrapping_add(1);
        }
        String::from_utf8(out).expect("ASCII")
    }
}

/// Characters of base64url (no padding) of a sealed body of `body_len` bytes.
pub const fn sealed_chars(body_len: usize) -> usize {
    ((body_len + MAC_LEN) * 4).div_ceil(3)
}

/// `n` in `width` characters of the alphabet (base 31, most significant first; wraps).
pub fn base31(mut n: u64, width: usize) -> String {
    let mut out = vec![ALPHABET[0]; width];
    for c in out.iter_mut().rev() {
        *c = ALPHABET[(n % ALPHABET.len() as u64) as usize];
        n /= ALPHABET.len() as u64;
    }
    String::from_utf8(out).expect("ASCII")
}

/// The number a run of alphabet characters spells (base 31), or `None` for another character.
pub fn parse_base31(s: &str) -> Option<i64> {
    s.bytes().try_fold(0i64, |n, b| {
        let d = ALPHABET.iter().position(|a| *a == b)? as i64;
        Some(n * ALPHABET.len() as i64 + d)
    })
}

/// Whether every character is of the alphabet.
pub fn in_alphabet(s: &str) -> bool {
    s.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_body_opens_only_with_its_key_prefix_and_length() {
        let key = CodeKey::derive(&[7; 32], b"test/v1");
        let body = [1u8, 2, 3, 4, 5];
        let text = key.seal("TT", &body);
        assert_eq!(text.len(), 2 + sealed_chars(body.len()));
        assert_eq!(key.open("TT", &text, 5).as_deref(), Some(&body[..]));
        assert_eq!(
            key.open("TT", &format!(" {text}\n"), 5).as_deref(),
            Some(&body[..])
        );
        assert_eq!(key.open("XX", &text, 5), None);
        assert_eq!(key.open("TT", &text, 4), None);
        assert_eq!(
            CodeKey::derive(&[8; 32], b"test/v1").open("TT", &text, 5),
            None
        );
        assert_eq!(
            CodeKey::derive(&[7; 32], b"test/v2").open("TT", &text, 5),
            None
        );
        let mut forged = text.into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open("TT", &String::from_utf8(forged).unwrap(), 5), None);
    }

    #[test]
    fn base31_round_trips_and_check_characters_are_of_the_alphabet() {
        for n in [0u64, 1, 30, 31, 961, 887_502, 28_629_150] {
            let s = base31(n, 5);
            assert_eq!(s.len(), 5);
            assert_eq!(parse_base31(&s), Some(n as i64));
        }
        assert_eq!(base31(0, 2), "22");
        assert_eq!(parse_base31("2O"), None);
        let key = CodeKey::derive(&[1; 32], b"x");
        let check = key.check_chars(b"body", 6);
        assert_eq!(check.len(), 6);
        assert!(in_alphabet(&check));
        assert_eq!(check, key.check_chars(b"body", 6), "deterministic");
        assert_ne!(check, key.check_chars(b"bodz", 6));
        // Longer than one MAC block can give: the next blocks follow.
        assert_eq!(key.check_chars(b"body", 40).len(), 40);
    }
}
