//! Ratings of meals, the comment after them, `/meals`.

use super::*;

pub(super) async fn rate(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    meal_id: i64,
    rating: i64,
) -> Result<Vec<Outbound>, CoreError> {
    let meal = store::meal(tx, meal_id).await?;
    let mine = parent_vouchers(core, tx, conv, chat)
        .await?
        .unwrap_or_default();
    let ours = meal.as_ref().is_some_and(|m| {
        m.channel == chat.channel
            && m.chat_id == chat.chat_id
            && mine.iter().any(|v| v.id == m.voucher_id)
    });
    if !ours || !(1..=5).contains(&rating) {
        audit(core, tx, "rate", "refused", chat, (None, None, None)).await?;
        return Ok(reply(lang, Msg::new("hint-stale-button")));
    }
    if !store::rate_meal(tx, meal_id, rating, core.now_ms()).await? {
        return Ok(reply(lang, Msg::new("wallet-rate-already")));
    }
    conv.state = State::WalletComment { meal_id };
    Ok(vec![
        Outbound::reply(lang, Msg::new("wallet-rate-thanks").num("rating", rating)),
        comment_prompt(lang),
    ])
}

pub(super) async fn meals(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let today = today(core);
    let month = today.format("%Y-%m").to_string();
    let rows =
        store::meals_of_chat(tx, chat, &format!("{month}-01"), &format!("{month}-31")).await?;
    if rows.is_empty() {
        return Ok(reply(
            lang,
            Msg::new("wallet-meals-none").month("month", today),
        ));
    }
    let mut lines = Vec::with_capacity(rows.len());
    for m in &rows {
        lines.push(
            core.texts.render(
                lang,
                &Msg::new("wallet-meal-line")
                    .date_time("at", m.served_at)
                    .arg("school", m.school_name.clone())
                    .arg("menu", m.menu.clone().unwrap_or_else(|| "—".into()))
                    .num("rating", m.rating.map_or(0, i64::from)),
            ),
        );
    }
    Ok(reply(
        lang,
        Msg::new("wallet-meals")
            .month("month", today)
            .num("count", rows.len() as i64)
            .arg("lines", lines.join("\n")),
    ))
}
