//! Answers to offers (`N#1`, `N#2`, the buttons): consent or refusal, the voucher opened.
//! A number that is no meal offer's may be a club offer's (`club::answer_by_number`): one
//! numbering and one parser for both kinds.

use super::*;

pub(super) async fn answer_offer(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    number: i64,
    accept: bool,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    let Some(offer) = store::offer_by_number(tx, chat, number).await? else {
        if let Some(out) = club::answer_by_number(core, tx, chat, lang, number, accept).await? {
            return Ok(out);
        }
        audit(
            core,
            tx,
            "answer",
            "unknown_offer",
            chat,
            (None, None, None),
        )
        .await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-offer-unknown").num("number", number),
        ));
    };
    let ids = (Some(offer.id), None, None);
    if offer.answer.is_some() {
        audit(core, tx, "answer", "already_answered", chat, ids).await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-offer-answered")
                .num("number", number)
                .arg("answer", offer.answer.clone().unwrap_or_default()),
        ));
    }
    if offer.expires_at <= now {
        audit(core, tx, "answer", "expired", chat, ids).await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-offer-expired")
                .num("number", number)
                .date_of("date", offer.expires_at),
        ));
    }
    let answer = if accept { "accepted" } else { "declined" };
    if !store::answer_offer(tx, offer.id, answer, now).await? {
        audit(core, tx, "answer", "already_answered", chat, ids).await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-offer-answered")
                .num("number", number)
                .arg("answer", answer),
        ));
    }
    let pupil = store::pupil(tx, offer.pupil_id)
        .await?
        .ok_or_else(|| CoreError::internal("offer answer", "the offer's pupil is missing"))?;
    let school = store::school(tx, pupil.school_id)
        .await?
        .ok_or_else(|| CoreError::internal("offer answer", "the pupil's school is missing"))?;
    let child = child(core, &pupil.pupil_enc)?;
    if !accept {
        ledger::append(
            tx,
            Kind::Refusal,
            &Entry {
                offer_id: Some(offer.id),
                pupil_id: Some(pupil.id),
                school_bin: Some(&school.bin),
                ..Default::default()
            },
            now,
        )
        .await?;
        return Ok(reply(
            lang,
            Msg::new("wallet-consent-declined")
                .num("number", number)
                .arg("child", child),
        ));
    }
    let until = local_ms(token::school_year_end(pupil.school_year));
    let voucher_id = store::insert_voucher(tx, &offer, school.id, now, until).await?;
    ledger::append(
        tx,
        Kind::Consent,
        &Entry {
            offer_id: Some(offer.id),
            voucher_id: Some(voucher_id),
            pupil_id: Some(pupil.id),
            school_bin: Some(&school.bin),
            ..Default::default()
        },
        now,
    )
    .await?;
    let key = if core.channels.replies_through_outbox(&chat.channel) {
        "wallet-consent-accepted-sms"
    } else {
        "wallet-consent-accepted"
    };
    Ok(reply(
        lang,
        Msg::new(key)
            .num("number", number)
            .arg("child", child)
            .arg("school", school.name)
            .date_of("until", until - 1),
    ))
}
