//! The user's side: opening support, categories, the FAQ, tickets, relaying to the operators.

use super::*;

// The user's side

/// What the user sent, as the support desk relays it.
pub(super) enum UserMessage {
    Text(String),
    Relayed(Relayed),
    /// Media the channel gave no reference for (it cannot be copied).
    Media(MediaKind),
}

impl UserMessage {
    fn of(event: &Event) -> Option<Self> {
        Some(match event {
            Event::Text(t) => UserMessage::Text(mask_iins(t)),
            Event::Relay(r) if r.kind.is_none() && !r.forwarded => {
                UserMessage::Text(mask_iins(r.text.as_deref().unwrap_or_default()))
            }
            Event::Relay(r) => UserMessage::Relayed(Relayed {
                text: r.text.as_deref().map(mask_iins),
                ..r.clone()
            }),
            Event::Unsupported(k) => UserMessage::Media(*k),
            Event::Image(_) => UserMessage::Media(MediaKind::Photo),
            _ => return None,
        })
    }
}

pub(super) fn exit_keyboard() -> Keyboard {
    Keyboard::Reply(vec![vec![ReplyButton {
        label: Label::Text(Msg::new("support-exit")),
        request_contact: false,
    }]])
}

/// What the bot says to ask for a support step's input.
pub fn prompt(state: &State, lang: Lang) -> Outbound {
    match state {
        State::SupportCategory => {
            let mut rows: Vec<Vec<Button>> = CATEGORIES
                .iter()
                .map(|(code, key)| {
                    vec![Button {
                        label: Label::Text(Msg::new(key)),
                        data: Callback::from(SupportButton::Category(code.to_string())).to_string(),
                    }]
                })
                .collect();
            rows.push(vec![Button {
                label: Label::Text(Msg::new("support-exit")),
                data: Callback::from(SupportButton::Exit).to_string(),
            }]);
            Outbound::reply(lang, Msg::new("support-choose-category"))
                .with_keyboard(Keyboard::Inline(rows))
        }
        State::SupportQuestion { .. } => {
            Outbound::reply(lang, Msg::new("support-ask-question")).with_keyboard(exit_keyboard())
        }
        State::SupportFaq { .. } => Outbound::reply(lang, Msg::new("support-faq-did-it-help"))
            .with_keyboard(Keyboard::Inline(vec![vec![
                Button {
                    label: Label::Text(Msg::new("support-faq-helped")),
                    data: Callback::from(SupportButton::FaqHelped(true)).to_string(),
                },
                Button {
                    label: Label::Text(Msg::new("support-faq-not-helped")),
                    data: Callback::from(SupportButton::FaqHelped(false)).to_string(),
                },
            ]])),
        State::Support { ticket } => {
            Outbound::reply(lang, Msg::new("support-prompt").num("ticket", *ticket))
                .with_keyboard(exit_keyboard())
        }
        _ => Outbound::reply(lang, Msg::new("support-choose-category")),
    }
}

/// The support desk's entry point (a user's side; the operators' chat goes to [`staff`]).
pub async fn handle(ctx: &mut Ctx<'_>, route: SupportRoute) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang) = (ctx.core, ctx.lang);
    match route {
        SupportRoute::Staff => staff(core, ctx.tx, ctx.event).await,
        SupportRoute::Open => open(core, ctx.tx, ctx.conv, lang).await,
        SupportRoute::Exit => exit(ctx, Msg::new("support-left")).await,
        SupportRoute::Button(b) => button(ctx, b).await,
        SupportRoute::StaleButton => Ok(ctx.refuse(Msg::new("hint-stale-button"))),
        SupportRoute::Message => message(ctx).await,
    }
}

/// A message while in support: the category step waits for a button, a question is matched
/// against the FAQ or opens a ticket, a ticket's message is relayed.
pub(super) async fn message(ctx: &mut Ctx<'_>) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang) = (ctx.core, ctx.lang);
    let Some(message) = UserMessage::of(ctx.event) else {
        return Ok(ctx.refuse(Msg::new("hint-not-understood")));
    };
    let conv = &mut *ctx.conv;
    match conv.state.clone() {
        State::SupportCategory => Ok(vec![
            Outbound::reply(lang, Msg::new("support-use-buttons")),
            prompt(&conv.state, lang),
        ]),
        State::SupportQuestion { category } | State::SupportFaq { category, .. } => {
            if let UserMessage::Text(question) = &message {
                let found = match_faq(&core.texts, question);
                if !found.is_empty() && question.chars().count() <= crate::core::MAX_TEXT_CHARS {
                    let mut out: Vec<Outbound> = found
                        .iter()
                        .map(|i| Outbound::reply(lang, Msg::new(FAQ[*i].2)))
                        .collect();
                    conv.state = State::SupportFaq {
                        category,
                        question: question.clone(),
                    };
                    out.push(prompt(&conv.state, lang));
                    return Ok(out);
                }
            }
            open_ticket(core, ctx.tx, conv, lang, &category, message).await
        }
        State::Support { ticket } => user_message(core, ctx.tx, conv, lang, ticket, message).await,
        _ => Ok(ctx.refuse(Msg::new("hint-not-understood"))),
    }
}

/// `/support` or the menu button.
pub(super) async fn open(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    if core.support.chat.is_none() {
        return Ok(vec![Outbound::reply(lang, Msg::new("support-unavailable"))]);
    }
    if let Some(until) = tickets::banned_until(tx, &conv.chat, core.now_ms()).await? {
        return Ok(vec![Outbound::reply(
            lang,
            Msg::new("support-banned").date_time("until", until),
        )]);
    }
    if let Some(t) = tickets::latest(tx, &conv.chat).await?
        && t.is_open()
    {
        conv.state = State::Support { ticket: t.id };
        return Ok(vec![
            Outbound::reply(lang, Msg::new("support-resumed").num("ticket", t.id))
                .with_keyboard(exit_keyboard()),
        ]);
    }
    conv.state = State::SupportCategory;
    Ok(vec![
        Outbound::reply(lang, Msg::new("support-intro")).with_keyboard(Keyboard::Remove),
        prompt(&conv.state, lang),
    ])
}

/// Where a conversation goes back to when support is left.
pub(crate) async fn back_state(tx: &mut Tx, conv: &Conversation) -> Result<State, CoreError> {
    let Some(id) = conv.person_id else {
        return Ok(State::Idle);
    };
    Ok(match people::get(tx, id).await? {
        Some(p) if p.registered_at.is_some() => State::Menu,
        Some(_) => State::Iin,
        None => State::Idle,
    })
}

pub(super) async fn exit(ctx: &mut Ctx<'_>, msg: Msg) -> Result<Vec<Outbound>, CoreError> {
    ctx.conv.state = back_state(ctx.tx, ctx.conv).await?;
    Ok(vec![
        Outbound::reply(ctx.lang, msg).with_keyboard(Keyboard::Remove),
        ctx.prompt(),
    ])
}

pub(super) async fn button(
    ctx: &mut Ctx<'_>,
    b: SupportButton,
) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang) = (ctx.core, ctx.lang);
    let stale = |ctx: &Ctx<'_>| ctx.refuse(Msg::new("hint-stale-button"));
    match (ctx.conv.state.clone(), b) {
        (State::SupportCategory, SupportButton::Category(code)) => {
            let Some((code, _)) = CATEGORIES.iter().find(|(c, _)| *c == code) else {
                return Ok(stale(ctx));
            };
            ctx.conv.state = State::SupportQuestion {
                category: code.to_string(),
            };
            Ok(vec![ctx.prompt()])
        }
        (s, SupportButton::Exit) if s.is_support() => exit(ctx, Msg::new("support-left")).await,
        (State::SupportFaq { .. }, SupportButton::FaqHelped(true)) => {
            exit(ctx, Msg::new("support-faq-glad")).await
        }
        (State::SupportFaq { category, question }, SupportButton::FaqHelped(false)) => {
            open_ticket(
                core,
                ctx.tx,
                ctx.conv,
                lang,
                &category,
                UserMessage::Text(question),
            )
            .await
        }
        (_, SupportButton::Rate { ticket, rating: n }) => {
            let own = tickets::get(ctx.tx, ticket)
                .await?
                .filter(|t| t.user() == ctx.conv.chat && t.rating.is_none());
            if !(1..=5).contains(&n) || own.is_none() || !tickets::rate(ctx.tx, ticket, n).await? {
                return Ok(stale(ctx));
            }
            let staff = core.support.staff_lang;
            let mut out = vec![Outbound::reply(lang, Msg::new("support-rated"))];
            out.extend(to_topic(
                core,
                ticket,
                Msg::new("support-op-rated")
                    .num("ticket", ticket)
                    .num("rating", n),
                staff,
            ));
            Ok(out)
        }
        _ => Ok(stale(ctx)),
    }
}

/// A message for the operators in the ticket's topic.
pub(super) fn to_topic(core: &Core, ticket: i64, text: Msg, lang: Lang) -> Option<Outbound> {
    let chat = core.support.chat.clone()?;
    Some(Outbound::to_chat(chat, lang, text).with_relay(topic_relay(ticket, None)))
}

pub(super) fn topic_relay(ticket: i64, category: Option<&str>) -> Relay {
    Relay {
        topic: Some(Topic {
            key: topic_key(ticket),
            title: Msg::new("support-topic-title")
                .num("ticket", ticket)
                .arg("category", category.unwrap_or("citizen").to_string()),
        }),
        ..Relay::default()
    }
}

/// A ticket opened for a user by another feature's event (`Happened::Complaint`, e.g. a
/// disputed dispensing): the operators get the new-ticket notice and `summary` in the
/// ticket's topic and answer through it as usual; the user's conversation stays where it
/// was. Nothing happens without a support chat.
pub async fn complaint_ticket(
    core: &Core,
    tx: &mut Tx,
    user: &ChatRef,
    lang: Lang,
    summary: Msg,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(chat) = core.support.chat.clone() else {
        return Ok(Vec::new());
    };
    let category = "voucher";
    let id = tickets::open(tx, user, category, lang.code(), core.now_ms()).await?;
    let staff = core.support.staff_lang;
    Ok(vec![
        Outbound::to_chat(
            chat.clone(),
            staff,
            Msg::new("support-op-new-ticket")
                .num("ticket", id)
                .arg("category", category)
                .arg("language", lang.native_name())
                .arg("registered", "yes"),
        )
        .with_relay(topic_relay(id, Some(category))),
        Outbound::to_chat(chat, staff, summary).with_relay(topic_relay(id, Some(category))),
    ])
}

pub(super) async fn open_ticket(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    lang: Lang,
    category: &str,
    first: UserMessage,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(chat) = core.support.chat.clone() else {
        conv.state = back_state(tx, conv).await?;
        return Ok(vec![Outbound::reply(lang, Msg::new("support-unavailable"))]);
    };
    if let Some(until) = tickets::banned_until(tx, &conv.chat, core.now_ms()).await? {
        return Ok(vec![Outbound::reply(
            lang,
            Msg::new("support-banned").date_time("until", until),
        )]);
    }
    let now = core.now_ms();
    let id = tickets::open(tx, &conv.chat, category, lang.code(), now).await?;
    conv.state = State::Support { ticket: id };
    let registered = match conv.person_id {
        Some(p) => match people::get(tx, p).await? {
            Some(row) if row.registered_at.is_some() => "yes",
            Some(_) => "phone",
            None => "no",
        },
        None => "no",
    };
    let staff = core.support.staff_lang;
    let mut out = vec![
        Outbound::to_chat(
            chat,
            staff,
            Msg::new("support-op-new-ticket")
                .num("ticket", id)
                .arg("category", category.to_string())
                .arg("language", lang.native_name())
                .arg("registered", registered),
        )
        .with_relay(topic_relay(id, Some(category))),
        Outbound::reply(lang, Msg::new("support-ticket-opened").num("ticket", id))
            .with_keyboard(exit_keyboard()),
    ];
    let ticket = tickets::get(tx, id).await?.expect("just inserted");
    out.extend(relay_to_staff(core, tx, &ticket, lang, first).await?);
    Ok(out)
}

pub(super) async fn user_message(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    lang: Lang,
    ticket: i64,
    message: UserMessage,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    if let Some(until) = tickets::banned_until(tx, &conv.chat, now).await? {
        return Ok(vec![Outbound::reply(
            lang,
            Msg::new("support-banned").date_time("until", until),
        )]);
    }
    let limit = core.support.flood_per_minute.max(1);
    let hits = tickets::flood_hit(tx, &conv.chat, now - now.rem_euclid(FLOOD_WINDOW_MS)).await?;
    if hits > limit {
        return Ok(if hits == limit + 1 {
            vec![Outbound::reply(
                lang,
                Msg::new("support-flood").num("limit", limit),
            )]
        } else {
            Vec::new()
        });
    }
    let staff = core.support.staff_lang;
    let row = tickets::get(tx, ticket)
        .await?
        .filter(|t| t.user() == conv.chat);
    let mut out = Vec::new();
    let row = match row {
        Some(t) if t.is_open() => t,
        Some(t) if t.closed_at.is_some_and(|c| now - c <= REOPEN_WINDOW_MS) => {
            tickets::reopen(tx, t.id).await?;
            out.push(Outbound::reply(
                lang,
                Msg::new("support-reopened").num("ticket", t.id),
            ));
            out.extend(to_topic(
                core,
                t.id,
                Msg::new("support-op-reopened-by-user").num("ticket", t.id),
                staff,
            ));
            tickets::get(tx, t.id).await?.expect("exists")
        }
        other => {
            let category = other.map_or_else(|| "citizen".to_string(), |t| t.category);
            return open_ticket(core, tx, conv, lang, &category, message).await;
        }
    };
    out.extend(relay_to_staff(core, tx, &row, lang, message).await?);
    Ok(out)
}

/// The user's message into the ticket's topic, and what the user is told about it.
pub(super) async fn relay_to_staff(
    core: &Core,
    tx: &mut Tx,
    ticket: &TicketRow,
    lang: Lang,
    message: UserMessage,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(chat) = core.support.chat.clone() else {
        return Ok(Vec::new());
    };
    let staff = core.support.staff_lang;
    let id = ticket.id;
    let in_topic =
        |text: Msg| Outbound::to_chat(chat.clone(), staff, text).with_relay(topic_relay(id, None));
    let mut out = Vec::new();
    let quoted = |t: &str| {
        t.lines()
            .map(|l| format!("» {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match message {
        UserMessage::Text(text) => {
            for part in split_text(&text, part_chars(core, &chat)) {
                out.push(in_topic(
                    Msg::new("support-op-user-text")
                        .num("ticket", id)
                        .arg("text", part),
                ));
            }
        }
        UserMessage::Relayed(r) => match (r.kind, r.source.clone()) {
            (Some(kind), Some(source)) if copyable(kind) => {
                let mut relay = topic_relay(id, None);
                relay.copy = Some(source);
                // The copy is headed by the ticket number (a group without topics needs it),
                // with the caption's text, IINs masked.
                relay.caption = match (kind, r.text.as_deref()) {
                    (MediaKind::Location, _) => None,
                    (_, Some(c)) if !c.trim().is_empty() => Some(
                        Msg::new("support-op-user-caption")
                            .num("ticket", id)
                            .arg("text", c.to_string()),
                    ),
                    _ => Some(Msg::new("support-op-user-signature").num("ticket", id)),
                };
                out.push(
                    Outbound::to_chat(
                        chat.clone(),
                        staff,
                        Msg::new("support-op-user-media")
                            .num("ticket", id)
                            .arg("kind", kind.as_str()),
                    )
                    .with_relay(relay),
                );
            }
            (None, _) => {
                let text = quoted(r.text.as_deref().unwrap_or_default());
                for part in split_text(&text, part_chars(core, &chat)) {
                    out.push(in_topic(
                        Msg::new("support-op-user-forwarded")
                            .num("ticket", id)
                            .arg("text", part),
                    ));
                }
            }
            (Some(kind), _) => {
                out.push(in_topic(
                    Msg::new("support-op-user-uncopyable")
                        .num("ticket", id)
                        .arg("kind", kind.as_str()),
                ));
                out.push(Outbound::reply(
                    lang,
                    Msg::new("support-not-relayed").arg("kind", kind.as_str()),
                ));
            }
        },
        UserMessage::Media(kind) => {
            out.push(in_topic(
                Msg::new("support-op-user-uncopyable")
                    .num("ticket", id)
                    .arg("kind", kind.as_str()),
            ));
            out.push(Outbound::reply(
                lang,
                Msg::new("support-not-relayed").arg("kind", kind.as_str()),
            ));
        }
    }
    tickets::count_user_message(tx, id).await?;
    let now = core.now_ms();
    if let Some(hours) = core.support.hours
        && !hours.is_open(core.clock.now())
        && ticket
            .off_hours_notice_at
            .is_none_or(|at| now - at >= OFF_HOURS_REPEAT_MS)
    {
        tickets::set_off_hours_notice(tx, id, now).await?;
        out.push(Outbound::reply(
            lang,
            Msg::new("support-off-hours").arg("hours", hours.label()),
        ));
    }
    Ok(out)
}
