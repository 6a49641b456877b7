//! The fallback when a channel gives no proven number: a one-time code sent by SMS to the
//! number the person types.
//!
//! On a channel whose profile says own-contact sharing may be unavailable
//! (`ChannelProfile::typed_phone_by_code`, Aitu: its share-contact button and
//! `send_private_data` are legacy, docs/AITU.md), the registration's phone step takes the
//! number as text, [`issue`]s a code, queues it by SMS with [`queue_sms`] in its transaction,
//! keeps the returned [`PendingCode`] in the conversation state (`State::PhoneCode`: keyed
//! hashes and the sealed number only), and [`check`]s what the person types back. A code has
//! 6 digits, lives 10 minutes and allows 5 attempts; it is stored only as the Vault's keyed
//! hash bound to the number, compared in constant time. Codes are limited per chat and per
//! number ([`CODES_PER_HOUR`], `security::throttle`).

use crate::core::{Core, CoreError, Outbound};
use crate::crypto::{Field, Vault};
use crate::domain::{Lang, Phone};
use crate::i18n::Msg;
use crate::storage::{ChatRef, Conn};
use rand::Rng;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// How long a code is valid.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong answers allowed before the code is void.
pub const MAX_ATTEMPTS: u8 = 5;
/// Codes sent per chat, and per number, in an hour.
pub const CODES_PER_HOUR: i64 = 3;
/// Codes sent per chat, and per number, in a day.
pub const CODES_PER_DAY: i64 = 10;

/// A code in memory, on its way to the SMS. `Debug` never shows it.
pub struct Code(String);

impl Code {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(••••••)")
    }
}

/// A code waiting for its answer: what the conversation state keeps (hex keyed hashes, no
/// number, no code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    /// Keyed hash of the number the code went to (hex), the same as `people.phone_hash`.
    pub phone_hash: String,
    /// Keyed hash of the number and the code (hex).
    pub code_hash: String,
    pub expires_at_ms: i64,
    pub attempts_left: u8,
}

/// What an answer came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The number is proven: register it (its keyed hash is `PendingCode::phone_hash`).
    Verified,
    /// Wrong code; this many attempts remain (0: the code is void, issue a new one).
    Wrong { attempts_left: u8 },
    /// The 10 minutes are over: issue a new one.
    Expired,
    /// No attempts left.
    Exhausted,
    /// Not 6 digits (spaces and dashes are ignored): no attempt used.
    NotACode,
}

fn code_hash(vault: &Vault, phone: &Phone, code: &str) -> String {
    hex::encode(vault.pinned_hash(Field::Phone, &format!("otp/v1:{}:{code}", phone.expose())))
}

/// A fresh code for `phone`, valid from `now_ms`.
pub fn issue(vault: &Vault, phone: &Phone, now_ms: i64) -> (PendingCode, Code) {
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    issue_with(vault, phone, now_ms, format!("{n:06}"))
}

fn issue_with(vault: &Vault, phone: &Phone, now_ms: i64, code: String) -> (PendingCode, Code) {
    let pending = PendingCode {
        phone_hash: hex::encode(vault.pinned_hash(Field::Phone, phone.expose())),
        code_hash: code_hash(vault, phone, &code),
        expires_at_ms: now_ms + CODE_TTL_MS,
        attempts_left: MAX_ATTEMPTS,
    };
    (pending, Code(code))
}

/// The digits of a typed answer, when it is a code at all.
fn digits(typed: &str) -> Option<String> {
    let d: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| {
            c.to_digit(10)
                .and_then(|d| char::from_digit(d, 10))
                .unwrap_or('x')
        })
        .collect();
    (d.len() == CODE_DIGITS && d.bytes().all(|b| b.is_ascii_digit())).then_some(d)
}

/// Checks an answer against the pending code for `phone` (the number typed before, kept in
/// memory only by the caller, or re-typed), using one attempt unless it is not a code.
pub fn check(
    vault: &Vault,
    pending: &mut PendingCode,
    phone: &Phone,
    typed: &str,
    now_ms: i64,
) -> Check {
    if now_ms >= pending.expires_at_ms {
        return Check::Expired;
    }
    if pending.attempts_left == 0 {
        return Check::Exhausted;
    }
    let Some(code) = digits(typed) else {
        return Check::NotACode;
    };
    pending.attempts_left -= 1;
    let given = code_hash(vault, phone, &code);
    let same_number = hex::encode(vault.pinned_hash(Field::Phone, phone.expose()))
        .as_bytes()
        .ct_eq(pending.phone_hash.as_bytes());
    let same_code = given.as_bytes().ct_eq(pending.code_hash.as_bytes());
    if bool::from(same_number & same_code) {
        pending.attempts_left = 0;
        Check::Verified
    } else {
        Check::Wrong {
            attempts_left: pending.attempts_left,
        }
    }
}

/// Queues the SMS with the code in the caller's transaction (so it leaves only if the
/// pending code was saved): to the SMS chat of the number (`("sms", hex keyed hash)`, its
/// sealed number in `sms_numbers`, as Social Wallet offers do), rendered by the SMS gateway.
pub async fn queue_sms(
    core: &Core,
    conn: &mut Conn,
    phone: &Phone,
    code: &Code,
    pending: &PendingCode,
) -> Result<(), CoreError> {
    let chat = ChatRef::new(&core.channels.phone_channel, pending.phone_hash.clone());
    let now = core.now_ms();
    crate::storage::wallet::put_sms_number(
        conn,
        &chat.chat_id,
        &core.vault.seal(Field::Phone, phone.expose()),
        now,
    )
    .await?;
    let message = Outbound::to_chat(
        chat.clone(),
        Lang::Kk,
        Msg::new("aitu-otp-sms")
            .arg("code", code.expose())
            .num("minutes", CODE_TTL_MS / 60_000),
    );
    // One SMS per issued code, however often the step runs.
    let key = format!("aitu-otp:{}", &pending.code_hash[..32]);
    core.enqueue(conn, &chat, &message, Some(&key), None)
        .await?;
    Ok(())
}

/// The reply for an answer (`aitu-otp-*` texts), for the registration step.
pub fn reply_for(result: Check, lang: Lang) -> Outbound {
    let msg = match result {
        Check::Verified => Msg::new("aitu-otp-verified"),
        Check::Wrong { attempts_left: 0 } | Check::Exhausted => Msg::new("aitu-otp-exhausted"),
        Check::Wrong { attempts_left } => {
            Msg::new("aitu-otp-wrong").num("left", i64::from(attempts_left))
        }
        Check::Expired => Msg::new("aitu-otp-expired"),
        Check::NotACode => Msg::new("aitu-otp-not-a-code").num("digits", CODE_DIGITS as i64),
    };
    Outbound::reply(lang, msg)
}

/// The prompts around it: ask for the number as text, and "code sent".
pub fn ask_number(lang: Lang) -> Outbound {
    Outbound::reply(lang, Msg::new("aitu-otp-ask-number"))
}

pub fn code_sent(lang: Lang) -> Outbound {
    Outbound::reply(
        lang,
        Msg::new("aitu-otp-sent").num("minutes", CODE_TTL_MS / 60_000),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::from_secret(&"ab".repeat(32)).unwrap()
    }

    fn phone(s: &str) -> Phone {
        Phone::parse(s).unwrap()
    }

    #[test]
    fn a_code_has_six_digits_and_is_stored_only_as_a_keyed_hash() {
        let v = vault();
        let p = phone("+7 701 123 45 67");
        let (pending, code) = issue(&v, &p, 1_000);
        assert_eq!(code.expose().len(), 6);
        assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(format!("{code:?}"), "Code(••••••)");
        let json = serde_json::to_string(&pending).unwrap();
        assert!(!json.contains(code.expose()) && !json.contains("7011234567"));
        assert_eq!(pending.expires_at_ms, 1_000 + 600_000);
        assert_eq!(pending.attempts_left, 5);
        // Another vault (another key) gives other hashes.
        let other = Vault::from_secret(&"cd".repeat(32)).unwrap();
        let (again, _) = issue_with(&other, &p, 1_000, code.expose().to_string());
        assert_ne!(again.code_hash, pending.code_hash);
    }

    #[test]
    fn the_right_code_verifies_once_within_ten_minutes() {
        let v = vault();
        let p = phone("87011234567");
        let (mut pending, _) = issue_with(&v, &p, 0, "042917".into());
        assert_eq!(
            check(&v, &mut pending, &p, " 042-917 ", 599_999),
            Check::Verified
        );
        // Used up: a second use does not verify.
        assert_eq!(check(&v, &mut pending, &p, "042917", 600), Check::Exhausted);
        let (mut late, _) = issue_with(&v, &p, 0, "042917".into());
        assert_eq!(check(&v, &mut late, &p, "042917", 600_000), Check::Expired);
    }

    #[test]
    fn five_wrong_answers_void_the_code_and_non_codes_cost_nothing() {
        let v = vault();
        let p = phone("87011234567");
        let (mut pending, _) = issue_with(&v, &p, 0, "123456".into());
        assert_eq!(check(&v, &mut pending, &p, "12345", 1), Check::NotACode);
        assert_eq!(check(&v, &mut pending, &p, "abcdef", 1), Check::NotACode);
        for left in (0..5).rev() {
            assert_eq!(
                check(&v, &mut pending, &p, "654321", 1),
                Check::Wrong {
                    attempts_left: left
                }
            );
        }
        assert_eq!(check(&v, &mut pending, &p, "123456", 1), Check::Exhausted);
    }

    #[test]
    fn a_code_proves_only_the_number_it_was_sent_to() {
        let v = vault();
        let p = phone("87011234567");
        let q = phone("87017654321");
        let (mut pending, _) = issue_with(&v, &p, 0, "123456".into());
        assert_eq!(
            check(&v, &mut pending, &q, "123456", 1),
            Check::Wrong { attempts_left: 4 }
        );
        assert_eq!(check(&v, &mut pending, &p, "123456", 1), Check::Verified);
    }

    #[test]
    fn replies_name_their_texts() {
        assert_eq!(
            reply_for(Check::Verified, Lang::Kk).text.key(),
            "aitu-otp-verified"
        );
        assert_eq!(
            reply_for(Check::Wrong { attempts_left: 2 }, Lang::Ru)
                .text
                .key(),
            "aitu-otp-wrong"
        );
        assert_eq!(
            reply_for(Check::Wrong { attempts_left: 0 }, Lang::Ru)
                .text
                .key(),
            "aitu-otp-exhausted"
        );
        assert_eq!(
            reply_for(Check::Expired, Lang::En).text.key(),
            "aitu-otp-expired"
        );
    }
}
