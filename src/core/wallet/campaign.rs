//! The offer campaign: `ashyq vouchers offer --school BIN | --all`.
//!
//! Every eligible pupil of the current school year without an offer gets one, numbered per
//! recipient (`1`, `2`, … — the `N` of `N#1`), sent to the parent's chat when the parent is
//! registered in the bot (matched by the phone's keyed hash) and by SMS otherwise. The
//! offer row, its ledger entry and its outbox message (dedupe key `wallet-offer:{id}`) are
//! written in one transaction per batch, so a crash loses nothing and a re-run offers only
//! the pupils still without an offer: nothing is ever sent twice. Sending is the outbox
//! workers' job (Telegram's throttle, the SMS gateway).

use super::ledger::{self, Entry, Kind};
use super::{WalletError, child, today, token};
use crate::core::shared::callback::{Callback, WalletButton};
use crate::core::{Button, Core, Keyboard, Label, Outbound};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::ChatRef;
use crate::storage::wallet as store;

/// Pupils per transaction.
pub const BATCH: i64 = 200;

/// What a campaign run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CampaignReport {
    pub school_year: i64,
    /// Offers created by this run.
    pub offered: u64,
    /// Of those, to a chat of a registered parent.
    pub chat: u64,
    /// Of those, by SMS.
    pub sms: u64,
}

/// Offers vouchers to the eligible pupils of one school (`Some(BIN)`) or of all schools.
/// `progress(done, total)` is called after every batch.
pub async fn offer(
    core: &Core,
    school_bin: Option<&str>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<CampaignReport, WalletError> {
    let year = token::school_year_of(today(core));
    let school_id = match school_bin {
        None => None,
        Some(bin) => {
            let bin = super::bin(bin)?;
            let mut conn = core.store.pool().acquire().await?;
            Some(
                store::school_by_bin(&mut conn, &bin)
                    .await?
                    .ok_or(WalletError::NoSchool(bin))?
                    .id,
            )
        }
    };
    let total = {
        let mut conn = core.store.pool().acquire().await?;
        store::count_to_offer(&mut conn, year, school_id).await? as u64
    };
    let mut report = CampaignReport {
        school_year: year,
        ..Default::default()
    };
    progress(0, total);
    loop {
        let now = core.now_ms();
        let expires = now + core.wallet.offer_days.max(1) * 24 * 3_600_000;
        let mut tx = core.store.begin().await?;
        let pupils = store::pupils_to_offer(&mut tx, year, school_id, BATCH).await?;
        if pupils.is_empty() {
            tx.rollback().await?;
            break;
        }
        for p in &pupils {
            let (to, lang) = match store::chat_of_phone(&mut tx, &p.parent_phone_hash).await? {
                Some((chat, lang)) => (
                    chat,
                    lang.as_deref()
                        .and_then(Lang::from_code)
                        .unwrap_or(Lang::FALLBACK),
                ),
                None => {
                    let chat = ChatRef::new(
                        &core.channels.phone_channel,
                        hex::encode(&p.parent_phone_hash),
                    );
                    store::put_sms_number(&mut tx, &chat.chat_id, &p.parent_phone_enc, now).await?;
                    (chat, Lang::Kk)
                }
            };
            let Some((offer_id, number)) =
                store::insert_offer(&mut tx, p.id, &to, now, expires).await?
            else {
                continue;
            };
            let school = store::school(&mut tx, p.school_id)
                .await?
                .ok_or_else(|| WalletError::NoSchool(p.school_id.to_string()))?;
            ledger::append(
                &mut tx,
                Kind::Offer,
                &Entry {
                    offer_id: Some(offer_id),
                    pupil_id: Some(p.id),
                    school_bin: Some(&school.bin),
                    ..Default::default()
                },
                now,
            )
            .await?;
            let mut message = Outbound::to_chat(
                to.clone(),
                lang,
                Msg::new("wallet-offer")
                    .num("number", number)
                    .arg("child", child(core, &p.pupil_enc)?)
                    .num("grade", p.grade)
                    .arg("school", school.name.clone())
                    .date_of("until", expires),
            );
            if core.channels.profile(&to.channel).buttons_per_row > 0 {
                message = message.with_keyboard(Keyboard::Inline(vec![vec![
                    Button {
                        label: Label::Text(Msg::new("wallet-offer-accept")),
                        data: Callback::from(WalletButton::Answer {
                            number,
                            accept: true,
                        })
                        .to_string(),
                    },
                    Button {
                        label: Label::Text(Msg::new("wallet-offer-decline")),
                        data: Callback::from(WalletButton::Answer {
                            number,
                            accept: false,
                        })
                        .to_string(),
                    },
                ]]));
            }
            core.enqueue(
                &mut tx,
                &to,
                &message,
                Some(&format!("wallet-offer:{offer_id}")),
                None,
            )
            .await?;
            report.offered += 1;
            if to.channel == core.channels.phone_channel {
                report.sms += 1;
            } else {
                report.chat += 1;
            }
        }
        tx.commit().await?;
        core.outbox_ready.notify_waiters();
        progress(report.offered, total);
    }
    Ok(report)
}
