//! The short-lived voucher QR: a code only the wallet makes, bound to a voucher kind and to
//! the minute it was made, so a screenshot forwarded tomorrow is useless and a meal QR shown
//! at a pharmacy (or a prescription's at a club) gets a clear answer.
//!
//! The QR holds `SV` followed by 38 base64url characters of 28 bytes:
//!
//! ```text
//! version(1) = 2 | kind(1) | voucher id (u32, BE) | generation (u16, BE) | minute made (u32, BE: minutes since 1970) | MAC(16)
//! ```
//!
//! The MAC is HMAC-SHA256 under `HMAC(signing key, "voucher-qr/v2")`, truncated to 128 bits,
//! compared in constant time. The code works until [`QrLifetime::Minutes`] of its kind have
//! passed (`KindSpec::qr`); one minute of clock skew into the future is forgiven.
//!
//! The typed form (`K7P2QX-9M-4CZ8HT`, for a provider without a camera) carries the voucher
//! id (6 characters, base 31), the minute modulo 961 (2 characters: it names the minute
//! unambiguously within 16 hours) and 6 check characters of a MAC over kind, id, generation
//! and minute, drawn without modulo bias. The generation of a voucher is the caller's to
//! supply (the kind's table holds it); the kind is found by trying each kind's MAC.
//!
//! The meal kind keeps its own daily code (`SW…`, `wallet::token`); [`QrKeys::read`]
//! recognises its shape so another kind's provider can answer "this is a school-meal code".

use super::{QrLifetime, VoucherKind};
use crate::core::shared::signed::{self, CodeKey, base31};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

const VERSION: u8 = 2;
const BODY_LEN: usize = 1 + 1 + 4 + 2 + 4;
/// The prefix of an engine voucher QR's text.
pub const PREFIX: &str = "SV";
/// Characters after the prefix.
pub const TOKEN_CHARS: usize = signed::sealed_chars(BODY_LEN);
/// The meal kind's daily code: its prefix and length after it (`wallet::token`).
const MEAL_PREFIX: &str = "SW";
const MEAL_TOKEN_CHARS: usize = 36;
/// The typed meal code's length without its dash (`wallet::token::parse_short_code`).
const MEAL_SHORT_CHARS: usize = 11;

/// The short-code alphabet (the same as the venues' and meals'): no 0/O, 1/I/L.
pub const ALPHABET: &[u8] = signed::ALPHABET;
const ID_CHARS: usize = 6;
const MINUTE_CHARS: usize = 2;
const MAC_CHARS: usize = 6;
/// 31², the minute's period in typed codes.
const MINUTE_PERIOD: i64 = 961;

/// What a valid code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoucherToken {
    pub kind: VoucherKind,
    pub voucher_id: i64,
    pub generation: i64,
    /// Minutes since 1970-01-01 UTC when the code was made.
    pub minute: i64,
}

impl VoucherToken {
    /// A code of a voucher made at `now_ms`.
    pub fn new(kind: VoucherKind, voucher_id: i64, generation: i64, now_ms: i64) -> Self {
        Self {
            kind,
            voucher_id,
            generation,
            minute: now_ms.div_euclid(60_000),
        }
    }

    /// When the code stops working (ms): its kind's lifetime after the minute it was made.
    pub fn expires_at_ms(&self) -> i64 {
        let minutes = match self.kind.spec().qr {
            QrLifetime::Minutes(m) => m,
            QrLifetime::Daily => 24 * 60,
        };
        (self.minute + minutes) * 60_000
    }
}

/// A presented code as read, before the kind's own checks (voucher state, owner, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// Signed by the wallet and within its lifetime.
    Valid(VoucherToken),
    /// Signed by the wallet, but older than its kind's lifetime (a screenshot).
    Expired(VoucherToken),
    /// The shape of a school meal's daily code (`SW…` or its typed form).
    MealCode,
    /// Not a voucher code, or not one the wallet signed.
    Invalid,
}

/// Why a code was refused by a provider of `expected`'s kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A valid code of another kind (a meal QR at a pharmacy …): name the kind shown.
    WrongKind(VoucherKind),
    /// Older than its lifetime: ask for a fresh one.
    Expired,
    /// Not a code the wallet made (or a typed code that does not check).
    Invalid,
}

impl Refusal {
    /// A stable name for audit lines.
    pub fn outcome(self) -> &'static str {
        match self {
            Refusal::WrongKind(_) => "wrong_kind",
            Refusal::Expired => "expired",
            Refusal::Invalid => "invalid",
        }
    }

    /// The provider's answer (vouchers.ftl).
    pub fn msg(self) -> crate::i18n::Msg {
        use crate::i18n::Msg;
        match self {
            Refusal::WrongKind(shown) => {
                Msg::new("voucher-qr-wrong-kind").arg("shown", shown.as_str())
            }
            Refusal::Expired => Msg::new("voucher-qr-expired"),
            Refusal::Invalid => Msg::new("voucher-qr-invalid"),
        }
    }
}

/// The keys of voucher codes, derived from the vault's signing key.
#[derive(Clone, Debug)]
pub struct QrKeys {
    key: CodeKey,
}

/// A typed code in canonical form: `(canonical, voucher id, minute modulo 961)`, or `None`
/// when the text is not shaped like one (case, spaces and dashes forgiven).
pub fn parse_short_code(input: &str) -> Option<(String, i64, i64)> {
    let raw = crate::domain::fold_typed_code(input);
    if raw.len() != ID_CHARS + MINUTE_CHARS + MAC_CHARS || !signed::in_alphabet(&raw) {
        return None;
    }
    let id = signed::parse_base31(&raw[..ID_CHARS])?;
    let minute = signed::parse_base31(&raw[ID_CHARS..ID_CHARS + MINUTE_CHARS])?;
    Some((
        format!(
            "{}-{}-{}",
            &raw[..ID_CHARS],
            &raw[ID_CHARS..ID_CHARS + MINUTE_CHARS],
            &raw[ID_CHARS + MINUTE_CHARS..]
        ),
        id,
        minute,
    ))
}

/// Whether a text has the shape of a school meal's daily code (QR text or typed).
pub fn looks_like_meal_code(text: &str) -> bool {
    let t = text.trim();
    if let Some(raw) = t.strip_prefix(MEAL_PREFIX) {
        return raw.len() == MEAL_TOKEN_CHARS
            && URL_SAFE_NO_PAD
                .decode(raw)
                .is_ok_and(|b| b.first() == Some(&1));
    }
    let raw = crate::domain::fold_typed_code(t);
    raw.len() == MEAL_SHORT_CHARS && signed::in_alphabet(&raw)
}

impl QrKeys {
    pub fn new(signing_key: &[u8; 32]) -> Self {
        Self {
            key: CodeKey::derive(signing_key, b"voucher-qr/v2"),
        }
    }

    fn body(t: &VoucherToken) -> [u8; BODY_LEN] {
        let mut b = [0u8; BODY_LEN];
        b[0] = VERSION;
        b[1] = t.kind.code();
        b[2..6].copy_from_slice(&(t.voucher_id as u32).to_be_bytes());
        b[6..8].copy_from_slice(&(t.generation as u16).to_be_bytes());
        b[8..12].copy_from_slice(&(t.minute as u32).to_be_bytes());
        b
    }

    /// The QR text of a code.
    pub fn sign(&self, t: &VoucherToken) -> String {
        self.key.seal(PREFIX, &Self::body(t))
    }

    /// The typed form of the same code.
    pub fn short_code(&self, t: &VoucherToken) -> String {
        format!(
            "{}-{}-{}",
            base31(t.voucher_id as u64, ID_CHARS),
            base31(t.minute.rem_euclid(MINUTE_PERIOD) as u64, MINUTE_CHARS),
            self.key.check_chars(&Self::body(t), MAC_CHARS)
        )
    }

    /// Reads a QR text at `now_ms`: valid, expired, a meal code's shape, or invalid.
    pub fn read(&self, text: &str, now_ms: i64) -> Presented {
        if !text.trim().starts_with(PREFIX) {
            return if looks_like_meal_code(text) {
                Presented::MealCode
            } else {
                Presented::Invalid
            };
        }
        let Some(bytes) = self
            .key
            .open(PREFIX, text, BODY_LEN)
            .filter(|b| b[0] == VERSION)
        else {
            return Presented::Invalid;
        };
        let Some(kind) = VoucherKind::from_code(bytes[1]) else {
            return Presented::Invalid;
        };
        let t = VoucherToken {
            kind,
            voucher_id: i64::from(u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]])),
            generation: i64::from(u16::from_be_bytes([bytes[6], bytes[7]])),
            minute: i64::from(u32::from_be_bytes([
                bytes[8], bytes[9], bytes[10], bytes[11],
            ])),
        };
        Self::timed(t, now_ms)
    }

    fn timed(t: VoucherToken, now_ms: i64) -> Presented {
        let now_minute = now_ms.div_euclid(60_000);
        if t.minute > now_minute + 1 {
            // Made in the future: not by this wallet's clock.
            Presented::Invalid
        } else if now_ms >= t.expires_at_ms() {
            Presented::Expired(t)
        } else {
            Presented::Valid(t)
        }
    }

    /// Reads a typed code at `now_ms`. `generation_of(kind, id)` gives the voucher's current
    /// generation in that kind's table (`None`: no such voucher of that kind).
    pub fn read_short(
        &self,
        code: &str,
        now_ms: i64,
        generation_of: impl Fn(VoucherKind, i64) -> Option<i64>,
    ) -> Presented {
        let Some((canonical, id, minute_mod)) = parse_short_code(code) else {
            return if looks_like_meal_code(code) {
                Presented::MealCode
            } else {
                Presented::Invalid
            };
        };
        // The latest minute with this residue, at most one minute ahead of the clock.
        let ahead = now_ms.div_euclid(60_000) + 1;
        let minute = ahead - (ahead - minute_mod).rem_euclid(MINUTE_PERIOD);
        for kind in VoucherKind::ALL {
            let Some(generation) = generation_of(kind, id) else {
                continue;
            };
            let t = VoucherToken {
                kind,
                voucher_id: id,
                generation,
                minute,
            };
            if bool::from(self.short_code(&t).as_bytes().ct_eq(canonical.as_bytes())) {
                return Self::timed(t, now_ms);
            }
        }
        Presented::Invalid
    }

    /// A QR text or typed code presented to a provider of `expected`'s kind: the token, or
    /// why it is refused (the kind's own checks follow: the voucher's state and holder).
    pub fn check(
        &self,
        text: &str,
        expected: VoucherKind,
        now_ms: i64,
        generation_of: impl Fn(VoucherKind, i64) -> Option<i64>,
    ) -> Result<VoucherToken, Refusal> {
        let presented = if text.trim().starts_with(PREFIX) {
            self.read(text, now_ms)
        } else {
            self.read_short(text, now_ms, generation_of)
        };
        match presented {
            Presented::Valid(t) if t.kind == expected => Ok(t),
            Presented::Valid(t) | Presented::Expired(t) if t.kind != expected => {
                Err(Refusal::WrongKind(t.kind))
            }
            Presented::Expired(_) => Err(Refusal::Expired),
            Presented::MealCode if expected != VoucherKind::Meal => {
                Err(Refusal::WrongKind(VoucherKind::Meal))
            }
            _ => Err(Refusal::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000_000; // 2026-11-30

    fn keys() -> QrKeys {
        QrKeys::new(&[9u8; 32])
    }

    fn gen1(_: VoucherKind, _: i64) -> Option<i64> {
        Some(1)
    }

    #[test]
    fn codes_are_those_made_before_the_shared_signing_module() {
        // Made by the code of commit 08dad3a (before `core::shared::signed`), same key.
        let qr = QrKeys::new(&[5u8; 32]);
        let v = VoucherToken::new(VoucherKind::Medicine, 654_321, 2, 1_796_000_000_000);
        assert_eq!(qr.sign(&v), "SVAgIACfvxAAIByL8VdV7d2rpuF9Hcxp72DQirEg");
        assert_eq!(qr.short_code(&v), "22QYW6-5E-D2VBPY");
        assert_eq!(
            qr.read(&qr.sign(&v), 1_796_000_000_000),
            Presented::Valid(v)
        );
    }

    #[test]
    fn codes_round_trip_and_expire_after_their_kinds_lifetime() {
        let k = keys();
        let t = VoucherToken::new(VoucherKind::Medicine, 123_456, 1, NOW);
        let text = k.sign(&t);
        assert_eq!(text.len(), PREFIX.len() + TOKEN_CHARS);
        assert_eq!(k.read(&text, NOW), Presented::Valid(t));
        assert_eq!(
            k.read(&format!(" {text}\n"), NOW + 4 * 60_000),
            Presented::Valid(t)
        );
        // Five minutes for a prescription: then it is a screenshot.
        assert_eq!(k.read(&text, NOW + 5 * 60_000), Presented::Expired(t));
        assert_eq!(k.read(&text, NOW + 86_400_000), Presented::Expired(t));
        // Made "in the future" by more than a minute: not this wallet's.
        assert_eq!(k.read(&text, NOW - 3 * 60_000), Presented::Invalid);
        // Another key, or any changed character, fails.
        assert_eq!(QrKeys::new(&[8u8; 32]).read(&text, NOW), Presented::Invalid);
        for i in PREFIX.len()..text.len() {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let m = String::from_utf8(b).unwrap();
            assert!(
                m == text || k.read(&m, NOW) == Presented::Invalid,
                "position {i}"
            );
        }
        assert_eq!(k.read("SVshort", NOW), Presented::Invalid);
        assert_eq!(k.read("hello", NOW), Presented::Invalid);
    }

    #[test]
    fn a_code_of_another_kind_or_a_meal_code_is_refused_by_name() {
        let k = keys();
        let club = k.sign(&VoucherToken::new(VoucherKind::Club, 7, 1, NOW));
        assert_eq!(
            k.check(&club, VoucherKind::Medicine, NOW, gen1),
            Err(Refusal::WrongKind(VoucherKind::Club))
        );
        assert!(k.check(&club, VoucherKind::Club, NOW, gen1).is_ok());
        // The wallet's daily meal code (shape: `SW` + 36 characters of a version-1 body).
        let meal_body = [1u8; 27];
        let meal = format!("SW{}", URL_SAFE_NO_PAD.encode(meal_body));
        assert_eq!(k.read(&meal, NOW), Presented::MealCode);
        assert_eq!(
            k.check(&meal, VoucherKind::Medicine, NOW, gen1),
            Err(Refusal::WrongKind(VoucherKind::Meal))
        );
        assert_eq!(
            k.check("K7P2Q-X9M4CZ", VoucherKind::Club, NOW, gen1),
            Err(Refusal::WrongKind(VoucherKind::Meal)),
            "a typed meal code"
        );
        let med = VoucherToken::new(VoucherKind::Medicine, 9, 1, NOW);
        assert_eq!(
            k.check(&k.sign(&med), VoucherKind::Medicine, NOW + 6 * 60_000, gen1),
            Err(Refusal::Expired)
        );
        assert_eq!(
            k.check("SVnot-a-code", VoucherKind::Medicine, NOW, gen1),
            Err(Refusal::Invalid)
        );
    }

    #[test]
    fn typed_codes_name_the_minute_and_check_kind_and_generation() {
        let k = keys();
        let t = VoucherToken::new(VoucherKind::Medicine, 28_000_000, 2, NOW);
        let code = k.short_code(&t);
        assert_eq!(code.len(), 16, "{code}");
        let (canonical, id, _) = parse_short_code(&code.to_lowercase().replace('-', " ")).unwrap();
        assert_eq!((canonical.as_str(), id), (code.as_str(), 28_000_000));
        let generation = |kind: VoucherKind, id: i64| {
            (id == 28_000_000 && kind != VoucherKind::Meal).then_some(2)
        };
        assert_eq!(k.read_short(&code, NOW, generation), Presented::Valid(t));
        assert_eq!(
            k.read_short(&code, NOW + 10 * 60_000, generation),
            Presented::Expired(t)
        );
        // Reissued (generation 3): the old code no longer checks.
        assert_eq!(k.read_short(&code, NOW, |_, _| Some(3)), Presented::Invalid);
        assert_eq!(
            k.check(&code, VoucherKind::Club, NOW, generation),
            Err(Refusal::WrongKind(VoucherKind::Medicine))
        );
        assert_eq!(
            k.check(&code, VoucherKind::Medicine, NOW, generation),
            Ok(t)
        );
        assert!(parse_short_code("K7P-2QX9").is_none(), "a venue code");
        assert!(parse_short_code("K7P2Q-X9M4CZ").is_none(), "a meal code");
    }
}
