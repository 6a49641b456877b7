//! Signed venue tokens and short codes.
//!
//! A token is the `start` parameter of the venue's deep link
//! (`https://t.me/<bot>?start=<token>`), or the last path segment of the service's venue
//! page (`<ASHYQ_PUBLIC_URL>/v/<token>`): base64url without padding of 24 bytes
//!
//! ```text
//! version(1) = 1 | kind(1): 0 entry, 1 exit | entrance id (u32, big endian) | key id (u16, BE) | MAC(16)
//! ```
//!
//! = 32 characters of `A-Za-z0-9_-`, well inside Telegram's 64. The MAC is HMAC-SHA256 under the
//! key of that key id, truncated to 128 bits and compared in constant time. Key `kid` is
//! `HMAC(signing_key, "qr-key/{kid}")`, so no key material is stored; which key ids are live is
//! a table (`qr_keys`), so an old key keeps working until it is revoked.
//!
//! A short code (`K7P-2QX9`) is 7 random characters from an alphabet without look-alikes,
//! written with a dash after the third; it maps to the same entrance through the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 1 + 4 + 2;
const MAC_LEN: usize = 16;
const TOKEN_BYTES: usize = BODY_LEN + MAC_LEN;
/// Length of every token in characters.
pub const TOKEN_CHARS: usize = 32;

/// Entry or exit code of an entrance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Entry,
    Exit,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Entry => "entry",
            Kind::Exit => "exit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "entry" => Some(Kind::Entry),
            "exit" => Some(Kind::Exit),
            _ => None,
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not the shape of a token at all (length, characters, version).
    #[error("malformed token")]
    Malformed,
    /// A key id that never existed or was revoked.
    #[error("unknown or revoked key")]
    UnknownKey,
    /// The MAC does not match: forged or altered.
    #[error("bad signature")]
    BadMac,
}

/// A token whose signature checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    pub kind: Kind,
    pub entrance_id: i64,
    pub kid: u16,
}

/// The signing keys in force: every live key id, and the one new tokens use.
#[derive(Clone)]
pub struct TokenKeys {
    master: [u8; 32],
    /// `None`: every key id passes `verify`, and the caller checks that it is live (the
    /// check-in does it in the same query that loads the door).
    live: Option<Vec<u16>>,
    current: u16,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TokenKeys(live: {:?}, current: {})",
            self.live, self.current
        )
    }
}

impl TokenKeys {
    /// `live` are the key ids not revoked; new tokens are signed with the highest.
    /// `None` when no key is live.
    pub fn new(signing_key: &[u8; 32], live: &[u16]) -> Option<Self> {
        let current = *live.iter().max()?;
        Some(Self {
            master: *signing_key,
            live: Some(live.to_vec()),
            current,
        })
    }

    /// Keys that verify the MAC under any key id; the caller must check that
    /// [`VerifiedToken::kid`] is live before trusting the token.
    pub fn unchecked(signing_key: &[u8; 32]) -> Self {
        Self {
            master: *signing_key,
            live: None,
            current: 1,
        }
    }

    pub fn current(&self) -> u16 {
        self.current
    }

    fn key(&self, kid: u16) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.master).expect("any key length");
        mac.update(format!("qr-key/{kid}").as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn mac(&self, kid: u16, body: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key(kid)).expect("any key length");
        mac.update(b"ashyq-venue-token/v1:");
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The token of one entrance's entry or exit code under the current key.
    pub fn sign(&self, kind: Kind, entrance_id: i64) -> String {
        self.sign_with(self.current, kind, entrance_id)
    }

    /// The token under a given key id (live or not; used by tests and rotation).
    pub fn sign_with(&self, kid: u16, kind: Kind, entrance_id: i64) -> String {
        let id = u32::try_from(entrance_id).expect("entrance ids fit in u32");
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[0] = VERSION;
        bytes[1] = match kind {
            Kind::Entry => 0,
            Kind::Exit => 1,
        };
        bytes[2..6].copy_from_slice(&id.to_be_bytes());
        bytes[6..8].copy_from_slice(&kid.to_be_bytes());
        let mac = self.mac(kid, &bytes[..BODY_LEN]);
        bytes[BODY_LEN..].copy_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks a token: shape, live key id, and the MAC in constant time.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        if token.len() != TOKEN_CHARS
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(TokenError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() != TOKEN_BYTES || bytes[0] != VERSION || bytes[1] > 1 {
            return Err(TokenError::Malformed);
        }
        let kid = u16::from_be_bytes([bytes[6], bytes[7]]);
        if self.live.as_ref().is_some_and(|live| !live.contains(&kid)) {
            return Err(TokenError::UnknownKey);
        }
        let expected = self.mac(kid, &bytes[..BODY_LEN]);
        if !bool::from(expected.ct_eq(&bytes[BODY_LEN..])) {
            return Err(TokenError::BadMac);
        }
        let id = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
        Ok(VerifiedToken {
            kind: if bytes[1] == 0 {
                Kind::Entry
            } else {
                Kind::Exit
            },
            entrance_id: i64::from(id),
            kid,
        })
    }
}

/// What a scanned or typed payload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload<'a> {
    /// A Telegram deep link's `start` parameter, or a bare token-shaped string.
    Token(&'a str),
    /// Anything else.
    Foreign,
}

/// Finds the token in a QR payload, in any link form a poster may carry: a bot link
/// (`t.me`, `telegram.me`, `tg://resolve`) with `start=` (whatever its value: verified
/// later), any other URL whose `start`, `startapp` or `start_param` parameter or whose last
/// path segment has a token's shape (a messenger's or the service's own link), or the bare
/// token.
pub fn payload_of(text: &str) -> Payload<'_> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let is_tg = [
        "https://t.me/",
        "http://t.me/",
        "t.me/",
        "https://telegram.me/",
        "tg://resolve",
    ]
    .iter()
    .any(|p| lower.starts_with(p));
    let query = text.find('?').map(|q| &text[q + 1..]);
    let params = || {
        query
            .into_iter()
            .flat_map(|q| q.split(['&', '#']))
            .filter_map(|pair| pair.split_once('='))
    };
    if is_tg {
        return params()
            .find(|(k, _)| *k == "start")
            .map_or(Payload::Foreign, |(_, v)| Payload::Token(v));
    }
    if is_token_shaped(text) {
        return Payload::Token(text);
    }
    let is_link = lower.contains("://") || lower.split('/').next().is_some_and(|h| h.contains('.'));
    if !is_link {
        return Payload::Foreign;
    }
    if let Some((_, v)) = params()
        .find(|(k, v)| matches!(*k, "start" | "startapp" | "start_param") && is_token_shaped(v))
    {
        return Payload::Token(v);
    }
    let path = text.split(['?', '#']).next().unwrap_or_default();
    match path.trim_end_matches('/').rsplit('/').next() {
        Some(last) if is_token_shaped(last) && path.contains('/') => Payload::Token(last),
        _ => Payload::Foreign,
    }
}

fn is_token_shaped(s: &str) -> bool {
    s.len() == TOKEN_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The short-code alphabet: digits and capitals without 0/O, 1/I/L.
pub const SHORT_ALPHABET: &[u8] = crate::core::shared::signed::ALPHABET;
const SHORT_LEN: usize = 7;

/// A fresh random short code in its canonical form (`K7P-2QX9`).
pub fn new_short_code() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    let raw: String = (0..SHORT_LEN)
        .map(|_| char::from(SHORT_ALPHABET[rng.gen_range(0..SHORT_ALPHABET.len())]))
        .collect();
    format!("{}-{}", &raw[..3], &raw[3..])
}

/// The canonical form of a typed short code (case, spaces and dash forgiven), or `None`.
pub fn parse_short_code(input: &str) -> Option<String> {
    let raw = crate::domain::fold_typed_code(input);
    if raw.len() != SHORT_LEN || !raw.bytes().all(|b| SHORT_ALPHABET.contains(&b)) {
        return None;
    }
    Some(format!("{}-{}", &raw[..3], &raw[3..]))
}

/// A 4-character check code from the short-code alphabet.
pub fn new_check_code() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..4)
        .map(|_| char::from(SHORT_ALPHABET[rng.gen_range(0..SHORT_ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], &[1, 2]).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_fit_telegram() {
        let k = keys();
        for (kind, id) in [
            (Kind::Entry, 1),
            (Kind::Exit, 1),
            (Kind::Entry, 4_000_000_000),
        ] {
            let t = k.sign(kind, id);
            assert_eq!(t.len(), TOKEN_CHARS);
            assert!(t.len() <= 64);
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            let v = k.verify(&t).unwrap();
            assert_eq!((v.kind, v.entrance_id, v.kid), (kind, id, 2));
        }
        assert_ne!(k.sign(Kind::Entry, 5), k.sign(Kind::Exit, 5));
    }

    #[test]
    fn old_keys_work_until_revoked_and_other_servers_keys_fail() {
        let k = keys();
        let old = k.sign_with(1, Kind::Entry, 9);
        assert_eq!(k.verify(&old).unwrap().kid, 1);
        let revoked = TokenKeys::new(&[7u8; 32], &[2]).unwrap();
        assert_eq!(revoked.verify(&old), Err(TokenError::UnknownKey));
        let unknown = k.sign_with(3, Kind::Entry, 9);
        assert_eq!(k.verify(&unknown), Err(TokenError::UnknownKey));
        let other = TokenKeys::new(&[8u8; 32], &[1, 2]).unwrap();
        assert_eq!(
            other.verify(&k.sign(Kind::Entry, 9)),
            Err(TokenError::BadMac)
        );
        assert!(TokenKeys::new(&[7u8; 32], &[]).is_none());
        // Unchecked keys still check the MAC, under whichever key id the token names.
        let any = TokenKeys::unchecked(&[7u8; 32]);
        assert_eq!(any.verify(&unknown).unwrap().kid, 3);
        assert_eq!(
            any.verify(&other.sign(Kind::Entry, 9)),
            Err(TokenError::BadMac)
        );
    }

    #[test]
    fn payloads_are_found_in_links() {
        let t = keys().sign(Kind::Entry, 3);
        let link = format!("https://t.me/ashyq_bot?start={t}");
        assert_eq!(payload_of(&link), Payload::Token(&t));
        assert_eq!(payload_of(&t), Payload::Token(&t));
        assert_eq!(
            payload_of(&format!("tg://resolve?domain=x&start={t}")),
            Payload::Token(&t)
        );
        assert_eq!(
            payload_of("https://example.com/?start=abc"),
            Payload::Foreign
        );
        assert_eq!(payload_of("https://t.me/somebody"), Payload::Foreign);
        // Any other link form a poster may carry: another messenger's deep link, a query
        // parameter, the service's own short link with the token as the last segment.
        assert_eq!(
            payload_of(&format!("https://aitu.me/ashyq?startapp={t}")),
            Payload::Token(&t)
        );
        assert_eq!(
            payload_of(&format!("https://example.com/?start={t}")),
            Payload::Token(&t)
        );
        assert_eq!(
            payload_of(&format!("https://ashyq.kz/c/{t}")),
            Payload::Token(&t)
        );
        assert_eq!(payload_of(&format!("ashyq.kz/c/{t}/")), Payload::Token(&t));
        // The venue page a poster encodes with ASHYQ_PUBLIC_URL.
        assert_eq!(
            payload_of(&format!("https://ashyq.kz/v/{t}")),
            Payload::Token(&t)
        );
        assert_eq!(
            payload_of(&format!("HTTPS://QR.ASHYQ.KZ/v/{t}")),
            Payload::Token(&t)
        );
        assert_eq!(
            payload_of(&format!("https://example.com/{t}x")),
            Payload::Foreign
        );
        assert_eq!(payload_of("WIFI:S:cafe;T:WPA;P:secret;;"), Payload::Foreign);
    }

    #[test]
    fn short_codes_forgive_case_and_dashes_and_refuse_look_alikes() {
        for _ in 0..100 {
            let c = new_short_code();
            assert_eq!(c.len(), 8);
            assert_eq!(parse_short_code(&c), Some(c.clone()));
            assert_eq!(parse_short_code(&c.to_lowercase()), Some(c.clone()));
            assert_eq!(parse_short_code(&c.replace('-', " ")), Some(c.clone()));
        }
        assert_eq!(parse_short_code("k7p-2qx9"), Some("K7P-2QX9".into()));
        assert_eq!(parse_short_code("K7P2QX9"), Some("K7P-2QX9".into()));
        assert_eq!(
            parse_short_code("K7P-2QX0"),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(parse_short_code("I7P-2QX9"), None);
        assert_eq!(parse_short_code("K7P-2QX"), None);
        assert_eq!(parse_short_code("900101300017"), None);
        for b in b"01ILO" {
            assert!(!SHORT_ALPHABET.contains(b));
        }
        let code = new_check_code();
        assert_eq!(code.len(), 4);
    }

    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// No change of one character of a valid token verifies.
        #[test]
        fn no_single_character_mutation_verifies(
            id in 1i64..=u32::MAX as i64, exit: bool, pos in 0usize..TOKEN_CHARS, sym in 0usize..64
        ) {
            let k = keys();
            let kind = if exit { Kind::Exit } else { Kind::Entry };
            let t = k.sign(kind, id);
            let mut b = t.clone().into_bytes();
            prop_assume!(b[pos] != ALPHABET[sym]);
            b[pos] = ALPHABET[sym];
            let m = String::from_utf8(b).unwrap();
            prop_assert!(k.verify(&m).is_err());
        }

        /// No truncation, extension, bit flip of the decoded bytes or splice verifies.
        #[test]
        fn no_truncation_extension_or_byte_flip_verifies(
            id in 1i64..=u32::MAX as i64, cut in 0usize..TOKEN_CHARS,
            extra in "[A-Za-z0-9_-]{1,8}", byte in 0usize..24, bit in 0u8..8
        ) {
            let k = keys();
            let t = k.sign(Kind::Entry, id);
            prop_assert!(k.verify(&t[..cut]).is_err());
            let longer = format!("{t}{extra}");
            let prefixed = format!("{extra}{t}");
            prop_assert!(k.verify(&longer).is_err());
            prop_assert!(k.verify(&prefixed).is_err());
            let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
            raw[byte] ^= 1 << bit;
            prop_assert!(k.verify(&URL_SAFE_NO_PAD.encode(&raw)).is_err());
            // The MAC of another entrance does not move to this one.
            let other = k.sign(Kind::Entry, id ^ 1);
            let spliced = format!("{}{}", &t[..11], &other[11..]);
            prop_assume!(spliced != other);
            prop_assert!(k.verify(&spliced).is_err());
        }
    }
}
