//! The patient's side: `/prescriptions`, "show QR", "I did not receive this".
//!
//! Health data: only for a person whose IIN binding the identity registry confirmed
//! (`shared::identity::gate`), and only the prescriptions where that IIN is the patient's
//! or the representative's.

use super::pharmacy::{RxState, item_line, masked_patient};
use super::{reply, today};
use crate::core::context::Ctx;
use crate::core::shared::callback::RxButton;
use crate::core::shared::events::Happened;
use crate::core::shared::menu::button_with;
use crate::core::vouchers::qr::{QrKeys, VoucherToken};
use crate::core::vouchers::{QrLifetime, VoucherKind};
use crate::core::{AttachmentKind, CoreError, Keyboard, Label, Outbound};
use crate::domain::{Lang, RxKind};
use crate::i18n::Msg;
use crate::storage::people;
use crate::storage::prescriptions::{self as store, PrescriptionRow};

/// The most prescriptions listed.
pub const LIST_LIMIT: i64 = 20;

/// The verified IIN hash of the chat's person, or what to answer instead.
async fn verified(ctx: &mut Ctx<'_>) -> Result<Result<Vec<u8>, Vec<Outbound>>, CoreError> {
    let lang = ctx.lang;
    let Some(person_id) = ctx.conv.person_id else {
        return Ok(Err(reply(lang, Msg::new("hint-register-first"))));
    };
    if let Some(out) =
        crate::core::shared::identity::gate(ctx.core, ctx.tx, ctx.conv, ctx.chat, lang, ctx.prompt)
            .await?
    {
        return Ok(Err(out));
    }
    match people::get(ctx.tx, person_id).await? {
        Some(p) if p.verified_at.is_some() && p.iin_hash.is_some() => {
            Ok(Ok(p.iin_hash.unwrap_or_default()))
        }
        _ => Ok(Err(reply(lang, Msg::new("rx-not-verified")))),
    }
}

fn is_mine(p: &PrescriptionRow, hash: &[u8]) -> bool {
    p.patient_hash == hash || p.representative_hash.as_deref() == Some(hash)
}

/// `/prescriptions`: one message per prescription (items, state, dispensings), with "show
/// QR" while something can be dispensed and "I did not receive this" per dispensing.
pub(super) async fn list(ctx: &mut Ctx<'_>) -> Result<Vec<Outbound>, CoreError> {
    let hash = match verified(ctx).await? {
        Ok(h) => h,
        Err(out) => return Ok(out),
    };
    let (core, lang) = (ctx.core, ctx.lang);
    let rows = store::of_person(ctx.tx, &hash, LIST_LIMIT).await?;
    if rows.is_empty() {
        return Ok(reply(lang, Msg::new("rx-none")));
    }
    let today = today(core);
    let mut out = Vec::with_capacity(rows.len());
    for p in rows {
        let items = store::items(ctx.tx, p.id).await?;
        let state = RxState::of(&p, &items, today);
        let lines: Vec<String> = items
            .iter()
            .map(|i| {
                item_line(
                    core,
                    lang,
                    &i.inn,
                    &i.form,
                    i.quantity,
                    &i.unit,
                    Some(i.left()),
                )
            })
            .collect();
        let disputes = store::disputes_of(ctx.tx, p.id).await?;
        let mut history = Vec::new();
        let mut buttons = Vec::new();
        if matches!(state, RxState::Active | RxState::Partly) {
            buttons.push(vec![button_with(
                Label::Text(Msg::new("rx-qr-button")),
                RxButton::Qr(p.id),
            )]);
        }
        for d in store::dispensings_of(ctx.tx, p.id).await? {
            let pharmacy = store::pharmacy_name(ctx.tx, d.provider_id).await?;
            let given: Vec<String> = store::lines_of(ctx.tx, d.id)
                .await?
                .iter()
                .map(|(_, inn, form, unit, q)| item_line(core, lang, inn, form, *q, unit, None))
                .collect();
            let dispute = disputes
                .iter()
                .find(|(id, _)| *id == d.id)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| "none".into());
            history.push(
                core.texts.render(
                    lang,
                    &Msg::new("rx-history-line")
                        .date_time("at", d.at)
                        .arg("pharmacy", pharmacy.clone())
                        .arg("items", given.join("\n"))
                        .arg("dispute_status", dispute.clone()),
                ),
            );
            if dispute == "none" {
                buttons.push(vec![button_with(
                    Label::Text(
                        Msg::new("rx-dispute-history-button")
                            .date_time("at", d.at)
                            .arg("pharmacy", pharmacy),
                    ),
                    RxButton::Dispute(d.id),
                )]);
            }
        }
        let kind = RxKind::from_stored(&p.kind, p.patient_share).unwrap_or(RxKind::Free);
        let msg = Msg::new("rx-list-entry")
            .arg("rx", p.external_id.clone())
            .arg("patient", masked_patient(core, &p.patient_enc)?)
            .arg("state", state.code())
            .arg("kind", kind.as_str())
            .num("share", i64::from(kind.patient_share()))
            .arg("prescriber", p.prescriber.clone())
            .date("issued", super::day_of(&p.issued_on))
            .date("expires", super::day_of(&p.expires_on))
            .arg("items", lines.join("\n"))
            .arg("history", history.join("\n"))
            .num("dispensings", history.len() as i64);
        let o = Outbound::reply(lang, msg);
        out.push(if buttons.is_empty() {
            o
        } else {
            o.with_keyboard(Keyboard::Inline(buttons))
        });
    }
    Ok(out)
}

/// "Show QR": a code valid for a few minutes, as a picture and as a typed code.
pub(super) async fn qr(ctx: &mut Ctx<'_>, id: i64) -> Result<Vec<Outbound>, CoreError> {
    let hash = match verified(ctx).await? {
        Ok(h) => h,
        Err(out) => return Ok(out),
    };
    let (core, lang) = (ctx.core, ctx.lang);
    let Some(p) = store::get(ctx.tx, id).await?.filter(|p| is_mine(p, &hash)) else {
        return Ok(reply(lang, Msg::new("rx-not-yours")));
    };
    let items = store::items(ctx.tx, id).await?;
    let state = RxState::of(&p, &items, today(core));
    match state {
        RxState::Active | RxState::Partly => {}
        RxState::Withdrawn => {
            return Ok(reply(
                lang,
                Msg::new("rx-withdrawn").arg("rx", p.external_id),
            ));
        }
        RxState::Used => return Ok(reply(lang, Msg::new("rx-used").arg("rx", p.external_id))),
        RxState::Expired => {
            return Ok(reply(lang, Msg::new("rx-expired").arg("rx", p.external_id)));
        }
    }
    let keys = QrKeys::new(core.vault.signing_key());
    let token = VoucherToken::new(
        VoucherKind::Medicine,
        p.id,
        super::pharmacy::GENERATION,
        core.now_ms(),
    );
    let text = keys.sign(&token);
    let typed = keys.short_code(&token);
    let minutes = match VoucherKind::Medicine.spec().qr {
        QrLifetime::Minutes(m) => m,
        QrLifetime::Daily => 24 * 60,
    };
    let png = tokio::task::spawn_blocking(move || crate::core::shared::qr_image::render_png(&text))
        .await
        .map_err(|e| CoreError::internal("QR rendering", e))??;
    Ok(vec![
        Outbound::reply(
            lang,
            Msg::new("rx-qr")
                .arg("rx", p.external_id)
                .arg("code", typed)
                .num("minutes", minutes),
        )
        .with_attachment(AttachmentKind::Photo, "prescription-qr.png", png),
    ])
}

/// "I did not receive this": a dispute to the health authority's chat and a support
/// ticket (through `Happened::Complaint`), with the pharmacy, the time and the items and no
/// IIN. Only on a dispensing of the person's own prescription, once.
pub(super) async fn dispute(
    ctx: &mut Ctx<'_>,
    dispensing_id: i64,
) -> Result<Vec<Outbound>, CoreError> {
    let hash = match verified(ctx).await? {
        Ok(h) => h,
        Err(out) => return Ok(out),
    };
    let (core, lang, chat) = (ctx.core, ctx.lang, ctx.chat);
    let Some(d) = store::dispensing(ctx.tx, dispensing_id).await? else {
        return Ok(reply(lang, Msg::new("rx-dispute-not-yours")));
    };
    let Some(p) = store::get(ctx.tx, d.prescription_id)
        .await?
        .filter(|p| is_mine(p, &hash))
    else {
        return Ok(reply(lang, Msg::new("rx-dispute-not-yours")));
    };
    let now = core.now_ms();
    let Some(id) = store::open_dispute(ctx.tx, d.id, chat, lang.code(), now).await? else {
        return Ok(reply(lang, Msg::new("rx-dispute-exists")));
    };
    let pharmacy = store::pharmacy_name(ctx.tx, d.provider_id).await?;
    let staff = core.prescriptions.authority_lang();
    let lines_in = |l: Lang, rows: &[store::LineRow]| -> String {
        rows.iter()
            .map(|(_, inn, form, unit, q)| item_line(core, l, inn, form, *q, unit, None))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let rows = store::lines_of(ctx.tx, d.id).await?;
    let summary = |l: Lang| {
        Msg::new("rx-dispute-summary")
            .num("dispute", id)
            .arg("rx", p.external_id.clone())
            .arg("pharmacy", pharmacy.clone())
            .arg("bin", d.pharmacy_bin.clone())
            .date_time("at", d.at)
            .arg("items", lines_in(l, &rows))
    };
    let mut out = vec![Outbound::reply(
        lang,
        Msg::new("rx-dispute-opened").num("dispute", id),
    )];
    if let Some(authority) = core.prescriptions.authority_chat.clone() {
        out.push(
            Outbound::to_chat(authority, staff, summary(staff))
                .with_keyboard(super::dispute::decision_keyboard(id, "open")),
        );
    }
    // The dispensing's own lines before the complaint about it.
    super::pharmacy::chain_one(ctx.tx, &d).await?;
    crate::core::vouchers::ledger::append_v2(
        ctx.tx,
        VoucherKind::Medicine,
        crate::core::vouchers::ledger::Action::Complaint,
        &crate::core::vouchers::ledger::EntryV2 {
            voucher_id: Some(p.id),
            redemption_id: Some(d.id),
            provider_bin: Some(&d.pharmacy_bin),
            day: Some(&d.day),
            detail: Some(&format!("dispute {id}")),
            ..Default::default()
        },
        now,
    )
    .await?;
    ctx.happened.push(Happened::Complaint {
        user: chat.clone(),
        lang,
        summary: summary(core.support.staff_lang),
    });
    Ok(out)
}
