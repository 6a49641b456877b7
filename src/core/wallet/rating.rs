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
    let ours = meal
        .as_ref()
        .is_some_and(|m| m.channel == chat.channel && m.chat_id == chat.chat_id);
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
            Msg::new("wallet-meals-none").arg("month", today.format("%m.%Y").to_string()),
        ));
    }
    let mut lines = Vec::with_capacity(rows.len());
    for m in &rows {
        lines.push(format!(
            "{} {} · {} · {}{}",
            local_date(m.served_at),
            local_time(m.served_at),
            m.school_name,
            m.menu.clone().unwrap_or_else(|| "—".into()),
            m.rating.map_or(String::new(), |r| format!(" · {r}⭐")),
        ));
    }
    Ok(reply(
        lang,
        Msg::new("wallet-meals")
            .arg("month", today.format("%m.%Y").to_string())
            .num("count", rows.len() as i64)
            .arg("lines", lines.join("\n")),
    ))
}
