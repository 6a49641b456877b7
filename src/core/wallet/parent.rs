//! Parents: `/wallet`, activation, the child's daily QR, reissue.

use super::*;

/// The registered person of the chat and their `(phone hash, IIN hash)`.
pub(super) async fn parent_of(
    tx: &mut Tx,
    conv: &Conversation,
) -> Result<Option<(Vec<u8>, Vec<u8>)>, CoreError> {
    let Some(id) = conv.person_id else {
        return Ok(None);
    };
    Ok(people::get(tx, id)
        .await?
        .filter(|p| p.registered_at.is_some())
        // The IIN counts only when the identity registry confirmed it (core::shared::identity).
        .map(|p| {
            let iin = p.iin_hash.filter(|_| p.verified_at.is_some());
            (p.phone_hash, iin.unwrap_or_default())
        }))
}

pub(super) async fn parent_vouchers(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    _chat: &ChatRef,
) -> Result<Option<Vec<VoucherRow>>, CoreError> {
    let Some((phone, iin)) = parent_of(tx, conv).await? else {
        return Ok(None);
    };
    // While a key rotation runs the list may hold the hashes in the newer version.
    let (phone_now, iin_now) = (
        core.vault.current_form(&phone),
        core.vault.current_form(&iin),
    );
    Ok(Some(
        store::vouchers_of_parent(tx, (&phone, &phone_now), (&iin, &iin_now)).await?,
    ))
}

pub(super) fn status_of(v: &VoucherRow, now: i64) -> &'static str {
    if v.revoked_at.is_some() {
        "revoked"
    } else if now >= v.valid_until {
        "expired"
    } else if v.activated_at.is_some() {
        "active"
    } else {
        "inactive"
    }
}

pub(super) async fn wallet_list(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(vouchers) = parent_vouchers(core, tx, conv, chat).await? else {
        return Ok(reply(lang, Msg::new("wallet-register-first")));
    };
    let (phone, iin) = parent_of(tx, conv).await?.unwrap_or_default();
    let club_vouchers = club_list(core, tx, &phone, &iin, lang).await?;
    if vouchers.is_empty() && club_vouchers.is_empty() {
        return Ok(reply(lang, Msg::new("wallet-none")));
    }
    let now = core.now_ms();
    let mut out = Vec::new();
    for v in &vouchers {
        let status = status_of(v, now);
        let buttons = match status {
            "inactive" => vec![button(
                Label::Text(Msg::new("wallet-activate-button")),
                WalletButton::Activate(v.id),
            )],
            "active" => vec![
                button(
                    Label::Text(Msg::new("wallet-qr-button")),
                    WalletButton::Qr(v.id),
                ),
                button(
                    Label::Text(Msg::new("wallet-reissue-button")),
                    WalletButton::Reissue(v.id),
                ),
                morning_button(v),
            ],
            _ => Vec::new(),
        };
        let msg = Msg::new("wallet-voucher")
            .arg("child", child(core, &v.pupil_enc)?)
            .num("grade", v.grade)
            .arg("school", v.school_name.clone())
            .date_of("until", v.valid_until - 1)
            .arg("status", status);
        let o = Outbound::reply(lang, msg);
        out.push(if buttons.is_empty() {
            o
        } else {
            o.with_keyboard(Keyboard::Inline(vec![buttons]))
        });
    }
    out.extend(club_vouchers);
    Ok(out)
}

/// "Send the QR every school morning" (or "stop") for an active voucher.
fn morning_button(v: &VoucherRow) -> Button {
    let on = v.morning_qr == 0;
    button(
        Label::Text(Msg::new(if on {
            "wallet-morning-button-on"
        } else {
            "wallet-morning-button-off"
        })),
        WalletButton::Morning { voucher: v.id, on },
    )
}

/// The QR picture of a text, drawn on the blocking pool: 8 pixels a module, quiet zone 4.
pub async fn qr_png(text: String) -> Result<Vec<u8>, CoreError> {
    tokio::task::spawn_blocking(move || render_qr_png(&text))
        .await
        .map_err(|e| CoreError::internal("QR rendering", e))?
}

pub(super) fn render_qr_png(text: &str) -> Result<Vec<u8>, CoreError> {
    crate::core::shared::qr_image::render_png(text)
}

/// Today's code of a voucher: the QR text and the short code.
pub fn todays_code(core: &Core, voucher_id: i64, generation: i64) -> (String, String) {
    let keys = MealKeys::new(core.vault.signing_key());
    let t = MealToken {
        voucher_id,
        generation,
        day: today(core),
    };
    (keys.sign(&t), keys.short_code(&t))
}

pub(super) async fn qr_message(
    core: &Core,
    v: &VoucherRow,
    generation: i64,
    lang: Lang,
    key: &'static str,
) -> Result<Outbound, CoreError> {
    let (text, code) = todays_code(core, v.id, generation);
    let png = qr_png(text).await?;
    Ok(Outbound::reply(
        lang,
        Msg::new(key)
            .arg("child", child(core, &v.pupil_enc)?)
            .arg("school", v.school_name.clone())
            .date_of("date", core.now_ms())
            .arg("code", code),
    )
    .with_attachment(AttachmentKind::Photo, "meal-qr.png", png))
}

pub(super) async fn todays_codes(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(vouchers) = parent_vouchers(core, tx, conv, chat).await? else {
        return Ok(reply(lang, Msg::new("wallet-register-first")));
    };
    let now = core.now_ms();
    let mut out = Vec::new();
    for v in vouchers.iter().filter(|v| status_of(v, now) == "active") {
        out.push(qr_message(core, v, v.generation, lang, "wallet-qr").await?);
    }
    if out.is_empty() {
        out = reply(lang, Msg::new("wallet-no-active"));
    }
    Ok(out)
}

pub(super) async fn on_button(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    button: WalletButton,
) -> Result<Vec<Outbound>, CoreError> {
    match button {
        WalletButton::Rate { meal, rating } => rate(core, tx, conv, chat, lang, meal, rating).await,
        WalletButton::Answer { number, accept } => {
            answer_offer(core, tx, chat, lang, number, accept).await
        }
        WalletButton::Activate(id) => voucher_action(core, tx, conv, chat, lang, "act", id).await,
        WalletButton::Qr(id) => voucher_action(core, tx, conv, chat, lang, "qr", id).await,
        WalletButton::Reissue(id) => voucher_action(core, tx, conv, chat, lang, "new", id).await,
        WalletButton::Morning { voucher, on } => {
            morning_opt_in(core, tx, conv, chat, lang, voucher, on).await
        }
        WalletButton::ClubAnswer { voucher, accept } => {
            club_answer(core, tx, conv, chat, lang, voucher, accept).await
        }
        WalletButton::ClubQr(id) => club_qr(core, tx, conv, chat, lang, id).await,
        // Outside the comment step.
        WalletButton::SkipComment => Ok(reply(lang, Msg::new("hint-stale-button"))),
    }
}

pub(super) async fn voucher_action(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
    action: &str,
    id: i64,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(vouchers) = parent_vouchers(core, tx, conv, chat).await? else {
        return Ok(reply(lang, Msg::new("wallet-register-first")));
    };
    let now = core.now_ms();
    let Some(v) = vouchers.into_iter().find(|v| v.id == id) else {
        audit(core, tx, action, "not_parent", chat, (None, Some(id), None)).await?;
        return Ok(reply(lang, Msg::new("wallet-voucher-unavailable")));
    };
    let status = status_of(&v, now);
    if status == "revoked" || status == "expired" {
        audit(core, tx, action, status, chat, (None, Some(id), None)).await?;
        return Ok(reply(lang, Msg::new("wallet-voucher-unavailable")));
    }
    if status == "active" {
        crate::core::shared::identity::claim_notices(&core.vault, tx, &v, chat).await?;
    }
    let entry = |kind| (kind, v.pupil_id, v.school_bin.clone());
    match (action, status) {
        ("act", "inactive") => {
            if store::activate_voucher(tx, v.id, chat, now).await? {
                let (kind, pupil, school) = entry(Kind::Activation);
                ledger::append(
                    tx,
                    kind,
                    &Entry {
                        voucher_id: Some(v.id),
                        pupil_id: Some(pupil),
                        school_bin: Some(&school),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
            }
            crate::core::shared::identity::voucher_sms(core, tx, &v, "activated", v.generation)
                .await?;
            Ok(vec![
                qr_message(core, &v, v.generation, lang, "wallet-activated").await?,
            ])
        }
        ("act" | "qr", _) if status == "active" => Ok(vec![
            qr_message(core, &v, v.generation, lang, "wallet-qr").await?,
        ]),
        ("new", "active") => {
            let generation = store::reissue_voucher(tx, v.id).await?;
            let (kind, pupil, school) = entry(Kind::Revocation);
            ledger::append(
                tx,
                kind,
                &Entry {
                    voucher_id: Some(v.id),
                    pupil_id: Some(pupil),
                    school_bin: Some(&school),
                    ..Default::default()
                },
                now,
            )
            .await?;
            crate::core::shared::identity::voucher_sms(core, tx, &v, "reissued", generation)
                .await?;
            Ok(vec![
                qr_message(core, &v, generation, lang, "wallet-reissued").await?,
            ])
        }
        _ => Ok(reply(lang, Msg::new("wallet-voucher-unavailable"))),
    }
}

/// The parent opts in to (or out of) the child's meal QR each school morning
/// (`MorningQr`). Only a parent of the voucher's pupil, for an active voucher; the QR goes to
/// this chat from then on (its notices are claimed like a QR request's).
pub(super) async fn morning_opt_in(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
    id: i64,
    on: bool,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(vouchers) = parent_vouchers(core, tx, conv, chat).await? else {
        return Ok(reply(lang, Msg::new("wallet-register-first")));
    };
    let now = core.now_ms();
    let Some(v) = vouchers.into_iter().find(|v| v.id == id) else {
        audit(
            core,
            tx,
            "morning",
            "not_parent",
            chat,
            (None, Some(id), None),
        )
        .await?;
        return Ok(reply(lang, Msg::new("wallet-voucher-unavailable")));
    };
    let status = status_of(&v, now);
    if status != "active" {
        audit(core, tx, "morning", status, chat, (None, Some(id), None)).await?;
        return Ok(reply(lang, Msg::new("wallet-voucher-unavailable")));
    }
    crate::core::shared::identity::claim_notices(&core.vault, tx, &v, chat).await?;
    store::set_morning_qr(tx, v.id, on).await?;
    Ok(reply(
        lang,
        Msg::new(if on {
            "wallet-morning-on"
        } else {
            "wallet-morning-off"
        })
        .arg("child", child(core, &v.pupil_enc)?),
    ))
}
