//! Keywords: the conversation of a channel without a dialogue (SMS from a feature phone).
//!
//! A feature (docs/ARCHITECTURE.md, "SMS as a channel"): `STATUS` answers the colour and
//! until when, only over a binding the identity registry confirms for the sending number
//! (with an IIN: the registry is asked about that IIN and the number; without: the IIN
//! registered with that number and verified by the registry); otherwise one neutral text
//! that says nothing about anyone's health. `HELP` lists what works; `RU`/`KZ`/`EN` switch
//! the language of the replies. Texts are `sms-*` (`locales/*/sms.ftl`), short enough for
//! two SMS segments in every language (`tests/it/sms.rs`). The chat id of such a chat is the
//! keyed hash of its number (hex); its sealed number is in `sms_numbers`.
//!
//! Nothing is written here but the chosen language; the per-number limits are taken by the
//! dispatcher before routing.

use crate::core::context::Ctx;
use crate::core::shared::routes::KeywordRoute;
use crate::core::{CoreError, Outbound};
use crate::crypto::Field;
use crate::domain::{Iin, Phone};
use crate::i18n::Msg;
use crate::identity::Verdict;
use crate::storage::{identity as id_store, wallet as numbers};

/// The entry point.
pub async fn handle(ctx: &mut Ctx<'_>, route: KeywordRoute) -> Result<Vec<Outbound>, CoreError> {
    let lang = ctx.lang;
    let msg = match route {
        KeywordRoute::Status(iin) => status(ctx, iin).await?,
        KeywordRoute::StatusBadIin => Msg::new("sms-status-bad-iin"),
        KeywordRoute::Help => Msg::new("sms-help"),
        KeywordRoute::Language(chosen) => {
            ctx.conv.lang = Some(chosen);
            return Ok(vec![Outbound::reply(chosen, Msg::new("sms-language-set"))]);
        }
        KeywordRoute::Unknown => Msg::new("sms-unknown"),
    };
    Ok(vec![Outbound::reply(lang, msg)])
}

/// The neutral answer: the same whether the IIN exists, belongs to another number, the
/// registry does not know or cannot be reached, or the number has no verified binding.
fn unavailable() -> Msg {
    Msg::new("sms-status-unavailable")
}

async fn status(ctx: &mut Ctx<'_>, iin: Option<Iin>) -> Result<Msg, CoreError> {
    let core = ctx.core;
    let iin_hash = match iin {
        Some(iin) => {
            let Some(phone) = number(ctx).await? else {
                return Ok(unavailable());
            };
            match crate::core::shared::identity::verdict(core, ctx.tx, &iin, &phone).await? {
                Verdict::Match => core.vault.lookup_hash(Field::Iin, &iin.expose()),
                Verdict::Mismatch | Verdict::Unknown => return Ok(unavailable()),
            }
        }
        None => {
            let Ok(phone_hash) = hex::decode(&ctx.chat.chat_id) else {
                return Ok(unavailable());
            };
            match id_store::verified_iin_of_phone(ctx.tx, &phone_hash).await? {
                Some(hash) => hash,
                None => return Ok(unavailable()),
            }
        }
    };
    let now = core.clock.now();
    let st = core.status_of(ctx.tx, &iin_hash, now).await?;
    let msg = Msg::new("sms-status").arg("colour", st.colour.as_str());
    Ok(match st.until {
        Some(until) => msg
            .arg("has_until", "yes")
            .date_time("until", until.timestamp_millis()),
        None => msg.arg("has_until", "no").arg("until", ""),
    })
}

/// The sender's number, opened from its sealed value (`None`: not a number's chat).
async fn number(ctx: &mut Ctx<'_>) -> Result<Option<Phone>, CoreError> {
    let Some(sealed) = numbers::sms_number(ctx.tx, &ctx.chat.chat_id).await? else {
        return Ok(None);
    };
    let plain = ctx.core.vault.open(Field::Phone, &sealed)?;
    Ok(Phone::parse(&plain).ok())
}
