//! Keys derived from the one service secret, keyed hashes for look-up and
//! authenticated encryption for values that must be recovered.
//!
//! Nothing here logs or formats a plaintext.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// What a sealed value or keyed hash is of; part of the MAC input and of the AEAD's
/// associated data, so a sealed phone cannot be passed off as an IIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Iin,
    Phone,
    /// An update's replies kept until they were sent (`processed_updates.replies`).
    Reply,
}

impl Field {
    fn label(self) -> &'static [u8] {
        match self {
            Field::Iin => b"iin",
            Field::Phone => b"phone",
            Field::Reply => b"reply",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be at least 32 bytes, given as hex or base64")]
    WeakSecret,
    #[error("a sealed value could not be opened (wrong key or altered data)")]
    Open,
}

/// The service's keys. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    lookup: Zeroizing<[u8; 32]>,
    seal: Zeroizing<[u8; 32]>,
    sign: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(…)")
    }
}

fn derive(master: &[u8], purpose: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(b"ashyq/v1/");
    mac.update(purpose);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

impl Vault {
    /// From the configured secret: 64+ hex digits or base64 of 32+ bytes.
    pub fn from_secret(secret: &str) -> Result<Self, CryptoError> {
        let secret = secret.trim();
        let bytes = Zeroizing::new(
            hex::decode(secret)
                .ok()
                .or_else(|| {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(secret)
                        .ok()
                })
                .ok_or(CryptoError::WeakSecret)?,
        );
        if bytes.len() < 32 {
            return Err(CryptoError::WeakSecret);
        }
        Ok(Self {
            lookup: derive(&bytes, b"lookup"),
            seal: derive(&bytes, b"seal"),
            sign: derive(&bytes, b"sign"),
        })
    }

    /// A fresh random secret in the format `from_secret` reads.
    pub fn generate_secret() -> String {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        hex::encode(bytes.as_ref())
    }

    /// Keyed hash for look-up and uniqueness: equal inputs give equal hashes, and
    /// without the key nobody can test a guess.
    pub fn lookup_hash(&self, field: Field, value: &str) -> Vec<u8> {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(self.lookup.as_ref()).expect("32-byte key");
        mac.update(field.label());
        mac.update(b":");
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// XChaCha20-Poly1305 with a random nonce: `version(1) || nonce(24) || ciphertext+tag`.
    pub fn seal(&self, field: Field, value: &str) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.seal.as_ref().into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: field.label(),
                },
            )
            .expect("encryption of a short value cannot fail");
        let mut out = Vec::with_capacity(1 + 24 + ct.len());
        out.push(1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, field: Field, sealed: &[u8]) -> Result<Zeroizing<String>, CryptoError> {
        if sealed.len() < 1 + 24 + 16 || sealed[0] != 1 {
            return Err(CryptoError::Open);
        }
        let cipher = XChaCha20Poly1305::new(self.seal.as_ref().into());
        let pt = cipher
            .decrypt(
                XNonce::from_slice(&sealed[1..25]),
                Payload {
                    msg: &sealed[25..],
                    aad: field.label(),
                },
            )
            .map_err(|_| CryptoError::Open)?;
        String::from_utf8(pt)
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Open)
    }

    /// The key later issues sign QR tokens with (HMAC-SHA256).
    pub fn signing_key(&self) -> &[u8; 32] {
        &self.sign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::from_secret(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn hashes_are_stable_keyed_and_field_separated() {
        let v = vault();
        let other = Vault::from_secret(&"cd".repeat(32)).unwrap();
        let a = v.lookup_hash(Field::Iin, "900101300017");
        assert_eq!(a, v.lookup_hash(Field::Iin, "900101300017"));
        assert_ne!(a, other.lookup_hash(Field::Iin, "900101300017"));
        assert_ne!(a, v.lookup_hash(Field::Phone, "900101300017"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn seal_round_trips_and_detects_tampering() {
        let v = vault();
        let sealed = v.seal(Field::Phone, "+77011234567");
        assert_ne!(sealed, v.seal(Field::Phone, "+77011234567"), "random nonce");
        assert_eq!(
            v.open(Field::Phone, &sealed).unwrap().as_str(),
            "+77011234567"
        );
        assert!(v.open(Field::Iin, &sealed).is_err(), "field is bound");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(v.open(Field::Phone, &altered).is_err());
        assert!(v.open(Field::Phone, &sealed[..10]).is_err());
        let other = Vault::from_secret(&"cd".repeat(32)).unwrap();
        assert!(other.open(Field::Phone, &sealed).is_err());
    }

    #[test]
    fn secrets_must_be_strong_and_parse() {
        assert!(Vault::from_secret("short").is_err());
        assert!(Vault::from_secret(&"ab".repeat(16)).is_err());
        assert!(Vault::from_secret(&Vault::generate_secret()).is_ok());
        let b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        assert!(Vault::from_secret(b64).is_ok());
    }
}
