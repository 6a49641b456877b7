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
    #[error(
        "the key material is malformed: a bare secret is version 1, later versions are written `N:secret` (N from 2 to 255), each version once"
    )]
    BadVersions,
    #[error("key version {0} is not configured (add it to the key file or ASHYQ_SECRET_KEY)")]
    MissingVersion(u8),
    #[error("a sealed value could not be opened (wrong key or altered data)")]
    Open,
}

/// The keys of one version, derived from that version's secret.
struct Keys {
    lookup: Zeroizing<[u8; 32]>,
    seal: Zeroizing<[u8; 32]>,
}

/// Which key version writes (`current`) and which older one is still read while a rotation
/// re-hashes and re-seals the stored values (`previous`). Kept in the database
/// (`key_versions`, `security::keys`) and loaded into every process's vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyState {
    pub current: u8,
    pub previous: Option<u8>,
}

impl Default for KeyState {
    fn default() -> Self {
        Self {
            current: 1,
            previous: None,
        }
    }
}

/// The service's keys, in versions (docs/SECURITY.md, "Key rotation"). Cheap to clone;
/// clones share the key state.
///
/// - A keyed hash of version 1 is `HMAC(lookup₁, field:value)`, 32 bytes (the format from
///   before versions). Version `v ≥ 2` is the byte `v` followed by
///   `HMAC(lookup_v, "rotate:" ‖ mac_{v−1})`: a chain, so a stored hash moves to a newer
///   version without the plain value (most hashed columns have no sealed twin), and nobody
///   holding only an older key can test a guess against it.
/// - A sealed value starts with its version byte (`1` for every value from before versions)
///   and is opened with that version's sealing key.
#[derive(Clone)]
pub struct Vault {
    versions: std::sync::Arc<std::collections::BTreeMap<u8, Keys>>,
    sign: Zeroizing<[u8; 32]>,
    state: std::sync::Arc<std::sync::RwLock<KeyState>>,
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

fn decode_secret(secret: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
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
    Ok(bytes)
}

/// Length of a keyed hash of version 1; later versions are one byte longer.
pub const HASH_LEN_V1: usize = 32;

impl Vault {
    /// From the configured key material: the secret of version 1 (64+ hex digits or base64 of
    /// 32+ bytes), then any later versions as `N:secret`, separated by white space or commas
    /// (one a line in the key file). The signing key comes from version 1.
    pub fn from_secret(material: &str) -> Result<Self, CryptoError> {
        let mut versions = std::collections::BTreeMap::new();
        let mut sign = None;
        for token in material
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
        {
            let (version, secret) = match token.split_once(':') {
                Some((v, secret)) => {
                    let v: u8 = v.parse().map_err(|_| CryptoError::BadVersions)?;
                    if v < 2 {
                        return Err(CryptoError::BadVersions);
                    }
                    (v, secret)
                }
                None => (1, token),
            };
            let bytes = decode_secret(secret)?;
            if version == 1 {
                sign = Some(derive(&bytes, b"sign"));
            }
            let keys = Keys {
                lookup: derive(&bytes, b"lookup"),
                seal: derive(&bytes, b"seal"),
            };
            if versions.insert(version, keys).is_some() {
                return Err(CryptoError::BadVersions);
            }
        }
        let Some(sign) = sign else {
            return Err(if versions.is_empty() {
                CryptoError::WeakSecret
            } else {
                CryptoError::BadVersions
            });
        };
        Ok(Self {
            versions: std::sync::Arc::new(versions),
            sign,
            state: Default::default(),
        })
    }

    /// A fresh random secret in the format `from_secret` reads.
    pub fn generate_secret() -> String {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        hex::encode(bytes.as_ref())
    }

    /// The configured versions, oldest first.
    pub fn versions(&self) -> Vec<u8> {
        self.versions.keys().copied().collect()
    }

    /// Which versions write and read now.
    pub fn state(&self) -> KeyState {
        *self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Switches to `state` (from the database); refused when a version is not configured.
    pub fn set_state(&self, state: KeyState) -> Result<(), CryptoError> {
        for v in std::iter::once(state.current).chain(state.previous) {
            if !self.versions.contains_key(&v) {
                return Err(CryptoError::MissingVersion(v));
            }
        }
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = state;
        Ok(())
    }

    fn keys(&self, version: u8) -> Result<&Keys, CryptoError> {
        self.versions
            .get(&version)
            .ok_or(CryptoError::MissingVersion(version))
    }

    fn readable(&self, version: u8) -> bool {
        let s = self.state();
        version == s.current || Some(version) == s.previous
    }

    fn mac_v1(&self, field: Field, value: &str) -> [u8; 32] {
        let keys = self.keys(1).expect("version 1 is always configured");
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(keys.lookup.as_ref()).expect("32-byte key");
        mac.update(field.label());
        mac.update(b":");
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn step(&self, version: u8, mac: &[u8]) -> Result<[u8; 32], CryptoError> {
        let keys = self.keys(version)?;
        let mut m = <HmacSha256 as Mac>::new_from_slice(keys.lookup.as_ref()).expect("32-byte key");
        m.update(b"rotate:");
        m.update(mac);
        Ok(m.finalize().into_bytes().into())
    }

    fn encode(version: u8, mac: &[u8]) -> Vec<u8> {
        if version == 1 {
            mac.to_vec()
        } else {
            let mut out = Vec::with_capacity(1 + mac.len());
            out.push(version);
            out.extend_from_slice(mac);
            out
        }
    }

    /// The version of a stored keyed hash (`None`: not a keyed hash of ours).
    pub fn hash_version(hash: &[u8]) -> Option<u8> {
        match hash.len() {
            HASH_LEN_V1 => Some(1),
            33 if hash[0] >= 2 => Some(hash[0]),
            _ => None,
        }
    }

    /// The 32 bytes of a keyed hash without its version (the status cache's key).
    pub fn hash_body(hash: &[u8]) -> &[u8] {
        &hash[hash.len().saturating_sub(HASH_LEN_V1)..]
    }

    /// A keyed hash of `version` (configured, not necessarily readable).
    pub fn lookup_hash_at(
        &self,
        field: Field,
        value: &str,
        version: u8,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut mac = self.mac_v1(field, value);
        for v in 2..=version {
            mac = self.step(v, &mac)?;
        }
        Ok(Self::encode(version, &mac))
    }

    /// Keyed hash for look-up and uniqueness, under the current version: equal inputs give
    /// equal hashes, and without the keys nobody can test a guess.
    pub fn lookup_hash(&self, field: Field, value: &str) -> Vec<u8> {
        self.lookup_hash_at(field, value, self.state().current)
            .expect("the current version is configured (set_state checks it)")
    }

    /// The hashes a look-up tries: the current version's, then the previous one's while a
    /// rotation runs.
    pub fn lookup_hashes(&self, field: Field, value: &str) -> Vec<Vec<u8>> {
        let s = self.state();
        let mut out = vec![self.lookup_hash(field, value)];
        if let Some(p) = s.previous
            && let Ok(h) = self.lookup_hash_at(field, value, p)
        {
            out.push(h);
        }
        out
    }

    /// A keyed hash that never changes version (version 1's key): for identifiers that are
    /// not stored values but names, such as an SMS chat's id, which must stay the same
    /// across rotations (docs/SECURITY.md, "Key rotation").
    pub fn pinned_hash(&self, field: Field, value: &str) -> Vec<u8> {
        self.mac_v1(field, value).to_vec()
    }

    /// `hash` moved to version `to` along the chain (no plain value needed). `None` when it
    /// is not a keyed hash, already newer than `to`, or a version is missing.
    pub fn upgrade_hash(&self, hash: &[u8], to: u8) -> Option<Vec<u8>> {
        let from = Self::hash_version(hash)?;
        if from > to {
            return None;
        }
        let mut mac: [u8; 32] = Self::hash_body(hash).try_into().ok()?;
        for v in from + 1..=to {
            mac = self.step(v, &mac).ok()?;
        }
        Some(Self::encode(to, &mac))
    }

    /// A stored keyed hash in the current version (as it is when older than current and the
    /// keys allow; itself otherwise): the form look-ups by a stored hash use, beside the
    /// stored one, while a rotation runs.
    pub fn current_form(&self, hash: &[u8]) -> Vec<u8> {
        self.upgrade_hash(hash, self.state().current)
            .unwrap_or_else(|| hash.to_vec())
    }

    /// Whether two stored keyed hashes are of the same value, whatever their versions.
    pub fn same_hash(&self, a: &[u8], b: &[u8]) -> bool {
        let (Some(va), Some(vb)) = (Self::hash_version(a), Self::hash_version(b)) else {
            return false;
        };
        let to = va.max(vb);
        match (self.upgrade_hash(a, to), self.upgrade_hash(b, to)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
    }

    /// XChaCha20-Poly1305 with a random nonce under the current version:
    /// `version(1) || nonce(24) || ciphertext+tag`.
    pub fn seal(&self, field: Field, value: &str) -> Vec<u8> {
        let version = self.state().current;
        let keys = self
            .keys(version)
            .expect("the current version is configured");
        let cipher = XChaCha20Poly1305::new(keys.seal.as_ref().into());
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
        out.push(version);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The version a sealed value was sealed under.
    pub fn sealed_version(sealed: &[u8]) -> Option<u8> {
        sealed.first().copied()
    }

    /// Opens a sealed value of the current or the previous version (a retired version's
    /// values are refused).
    pub fn open(&self, field: Field, sealed: &[u8]) -> Result<Zeroizing<String>, CryptoError> {
        if sealed.len() < 1 + 24 + 16 || !self.readable(sealed[0]) {
            return Err(CryptoError::Open);
        }
        let keys = self.keys(sealed[0]).map_err(|_| CryptoError::Open)?;
        let cipher = XChaCha20Poly1305::new(keys.seal.as_ref().into());
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

    /// The signing key (HMAC-SHA256 of QR tokens and meal codes), from version 1: tokens have
    /// their own key ids and rotation (`core::venues::token`), so a rotation of the keys for
    /// personal data leaves printed posters valid.
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

    fn two_versions() -> Vault {
        Vault::from_secret(&format!("{}\n2:{}", "ab".repeat(32), "cd".repeat(32))).unwrap()
    }

    #[test]
    fn key_material_reads_versions() {
        let v = two_versions();
        assert_eq!(v.versions(), [1, 2]);
        assert_eq!(v.state(), KeyState::default());
        for bad in [
            format!("2:{}", "cd".repeat(32)),
            format!("{} {}", "ab".repeat(32), "cd".repeat(32)),
            format!("{} 1:{}", "ab".repeat(32), "cd".repeat(32)),
            format!("{} x:{}", "ab".repeat(32), "cd".repeat(32)),
            format!("{} 2:{}", "ab".repeat(32), "cd".repeat(8)),
        ] {
            assert!(Vault::from_secret(&bad).is_err(), "{bad}");
        }
        assert!(matches!(
            v.set_state(KeyState {
                current: 3,
                previous: Some(2)
            }),
            Err(CryptoError::MissingVersion(3))
        ));
        // Version 1 alone is the format from before versions.
        let old = vault();
        let new = two_versions();
        assert_eq!(
            old.lookup_hash(Field::Iin, "900101300017"),
            new.lookup_hash(Field::Iin, "900101300017")
        );
        assert_eq!(old.signing_key(), new.signing_key());
        let sealed = old.seal(Field::Iin, "900101300017");
        assert_eq!(sealed[0], 1);
        assert_eq!(
            new.open(Field::Iin, &sealed).unwrap().as_str(),
            "900101300017"
        );
    }

    #[test]
    fn hashes_move_along_the_chain_and_seals_follow_the_state() {
        let v = two_versions();
        let h1 = v.lookup_hash(Field::Phone, "+77011234567");
        let s1 = v.seal(Field::Phone, "+77011234567");
        v.set_state(KeyState {
            current: 2,
            previous: Some(1),
        })
        .unwrap();
        let h2 = v.lookup_hash(Field::Phone, "+77011234567");
        assert_eq!(h2.len(), 33);
        assert_eq!(Vault::hash_version(&h2), Some(2));
        assert_eq!(Vault::hash_version(&h1), Some(1));
        assert_eq!(v.upgrade_hash(&h1, 2).unwrap(), h2);
        assert_eq!(v.upgrade_hash(&h2, 2).unwrap(), h2);
        assert!(v.upgrade_hash(&h2, 1).is_none());
        assert!(v.same_hash(&h1, &h2));
        assert!(!v.same_hash(&h1, &v.lookup_hash(Field::Phone, "+77011234568")));
        assert_eq!(
            v.lookup_hashes(Field::Phone, "+77011234567"),
            [h2.clone(), h1.clone()]
        );
        // The pinned hash is version 1's, whatever the state.
        assert_eq!(v.pinned_hash(Field::Phone, "+77011234567"), h1);
        // A new seal is version 2; both open while 1 is the previous version.
        let s2 = v.seal(Field::Phone, "+77011234567");
        assert_eq!(Vault::sealed_version(&s2), Some(2));
        assert!(v.open(Field::Phone, &s1).is_ok());
        assert!(v.open(Field::Phone, &s2).is_ok());
        // Retired: version 1 is neither written nor read.
        v.set_state(KeyState {
            current: 2,
            previous: None,
        })
        .unwrap();
        assert!(v.open(Field::Phone, &s1).is_err());
        assert_eq!(v.lookup_hashes(Field::Phone, "+77011234567"), [h2]);
        // Someone holding only version 1's key cannot make a version 2 hash.
        let only_one = vault();
        assert!(
            only_one
                .set_state(KeyState {
                    current: 2,
                    previous: None
                })
                .is_err()
        );
    }
}
