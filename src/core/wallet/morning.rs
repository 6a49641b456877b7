//! The child's meal QR each school morning (issue 17 item 6), for parents who opted in with
//! the button beside an active voucher in `/wallet`.
//!
//! [`MorningQr`] is a background job (`core::job::all`), run by one replica at a time under
//! a leader lock (`app::loops`). From [`MORNING_AT`] (Almaty) on a school day it takes the
//! opted-in active vouchers not served yet today, claims each for the day with a conditional
//! update (so a second pass, a restart or a second replica sends nothing twice) and queues
//! the day's QR picture and typed code in the outbox to the voucher's chat, in the claim's
//! transaction (dedupe key `wallet-morning:{voucher}:{day}`). Only while that chat is still
//! the pupil's parent's (as for meal notices).

use super::*;
use crate::core::job::{Job, JobFuture};
use chrono::{DateTime, NaiveTime, Utc};
use std::time::Duration;

/// Local time (Almaty) from which the morning QR is sent.
pub const MORNING_AT: NaiveTime = NaiveTime::from_hms_opt(7, 0, 0).expect("a valid time");
/// Local time after which a day's morning QR is no longer sent (a late pass sends nothing).
pub const MORNING_UNTIL: NaiveTime = NaiveTime::from_hms_opt(12, 0, 0).expect("a valid time");
/// Vouchers per transaction.
const BATCH: i64 = 100;

/// The morning QR job.
pub struct MorningQr;

impl Job for MorningQr {
    fn name(&self) -> &'static str {
        "wallet-morning-qr"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(120)
    }

    fn run_due<'a>(
        &'a self,
        core: &'a Core,
        now: DateTime<Utc>,
    ) -> JobFuture<'a, Result<usize, CoreError>> {
        Box::pin(send_morning_codes(core, now))
    }
}

/// One pass: queues the day's QR of every opted-in voucher not served yet; how many.
pub async fn send_morning_codes(core: &Core, now: DateTime<Utc>) -> Result<usize, CoreError> {
    let local = now.with_timezone(&crate::clock::almaty());
    let day = local.date_naive();
    if local.time() < MORNING_AT
        || local.time() >= MORNING_UNTIL
        || !token::is_school_day(day, &core.wallet.holidays)
    {
        return Ok(0);
    }
    let day_s = day_str(day);
    let now_ms = now.timestamp_millis();
    let keys = MealKeys::new(core.vault.signing_key());
    let mut sent = 0usize;
    loop {
        let mut tx = core.store.begin().await?;
        let due = store::morning_due(&mut tx, &day_s, now_ms, BATCH).await?;
        if due.is_empty() {
            tx.rollback().await?;
            break;
        }
        for v in &due {
            if !store::claim_morning(&mut tx, v.id, &day_s).await? {
                continue;
            }
            let to = ChatRef::new(&v.channel, v.chat_id.clone());
            if !crate::storage::identity::chat_is_parent(&mut tx, &to, v.pupil_id).await? {
                continue;
            }
            let t = MealToken {
                voucher_id: v.id,
                generation: v.generation,
                day,
            };
            let png = qr_png(keys.sign(&t)).await?;
            let lang = crate::core::chat_lang(&mut tx, &to).await?;
            let msg = Outbound::to_chat(
                to.clone(),
                lang,
                Msg::new("wallet-morning-qr")
                    .arg("child", child(core, &v.pupil_enc)?)
                    .arg("school", v.school_name.clone())
                    .date("date", day)
                    .arg("code", keys.short_code(&t)),
            )
            .with_attachment(AttachmentKind::Photo, "meal-qr.png", png);
            if core
                .enqueue(
                    &mut tx,
                    &to,
                    &msg,
                    Some(&format!("wallet-morning:{}:{day_s}", v.id)),
                    None,
                )
                .await?
            {
                sent += 1;
            }
        }
        tx.commit().await?;
        core.outbox_ready.notify_waiters();
    }
    Ok(sent)
}
