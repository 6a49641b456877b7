//! The operators' side: replies relayed back, commands in a ticket's topic.

use super::*;

// The operators' side

/// An event in the operators' chat: a command in a ticket's topic, an internal `#note`, or a
/// reply that goes back to the user.
pub async fn staff(core: &Core, tx: &mut Tx, event: &Event) -> Result<Vec<Outbound>, CoreError> {
    let Event::Relay(r) = event else {
        return Ok(Vec::new());
    };
    let staff = core.support.staff_lang;
    let ticket = match r.topic.as_deref().and_then(ticket_of_topic) {
        Some(id) => tickets::get(tx, id).await?,
        None => None,
    };
    let here = |msg: Msg| -> Outbound {
        let out = Outbound::reply(staff, msg);
        match &ticket {
            Some(t) => out.with_relay(topic_relay(t.id, None)),
            None => out,
        }
    };
    let text = r.text.as_deref().unwrap_or("").trim();
    if r.kind.is_none() && text.starts_with('/') {
        let rest = &text[1..];
        let (head, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let name = head.split('@').next().unwrap_or(head).to_lowercase();
        if !matches!(
            name.as_str(),
            "close" | "reopen" | "assign" | "ban" | "unban" | "info"
        ) {
            return Ok(match ticket {
                Some(_) => vec![here(Msg::new("support-op-unknown-command"))],
                None => Vec::new(),
            });
        }
        let Some(ticket) = ticket.clone() else {
            return Ok(vec![here(Msg::new("support-op-not-in-ticket"))]);
        };
        return command(
            core,
            tx,
            &ticket,
            &name,
            arg.trim(),
            r.author.as_deref(),
            here,
        )
        .await;
    }
    if r.kind.is_none() && text.to_lowercase().starts_with("#note") {
        return Ok(Vec::new());
    }
    let Some(ticket) = ticket.clone() else {
        // Operators talking among themselves outside any ticket.
        return Ok(Vec::new());
    };
    let user = ticket.user();
    let lang = Lang::from_code(&ticket.lang).unwrap_or(Lang::FALLBACK);
    let failed = to_topic(
        core,
        ticket.id,
        Msg::new("support-op-delivery-failed").num("ticket", ticket.id),
        staff,
    );
    // Copies are signed "Support" in their caption; operators stay anonymous.
    let caption = match (r.kind, r.text.as_deref()) {
        (Some(MediaKind::Location), _) | (None, _) => None,
        (Some(_), Some(c)) if !c.trim().is_empty() => {
            Some(Msg::new("support-reply").arg("text", c.to_string()))
        }
        (Some(_), _) => Some(Msg::new("support-reply-signature")),
    };
    let for_user = |text: Msg, copy| {
        Outbound::to_chat(user.clone(), lang, text).with_relay(Relay {
            copy,
            caption: caption.clone(),
            on_failure: failed.clone(),
            ..Relay::default()
        })
    };
    let mut out = Vec::new();
    match (r.kind, r.source.clone()) {
        (None, _) => {
            for part in split_text(
                r.text.as_deref().unwrap_or_default(),
                part_chars(core, &user),
            ) {
                out.push(for_user(Msg::new("support-reply").arg("text", part), None));
            }
        }
        (Some(kind), Some(source)) if copyable(kind) => {
            out.push(for_user(
                Msg::new("support-reply-media").arg("kind", kind.as_str()),
                Some(source),
            ));
        }
        (Some(kind), _) => {
            return Ok(vec![here(
                Msg::new("support-op-cannot-relay").arg("kind", kind.as_str()),
            )]);
        }
    }
    if !ticket.is_open() {
        out.push(here(
            Msg::new("support-op-ticket-closed-note").num("ticket", ticket.id),
        ));
    }
    tickets::count_operator_message(tx, ticket.id, core.now_ms()).await?;
    Ok(out)
}

pub(super) async fn command(
    core: &Core,
    tx: &mut Tx,
    ticket: &TicketRow,
    name: &str,
    arg: &str,
    author: Option<&str>,
    here: impl Fn(Msg) -> Outbound,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    let user = ticket.user();
    let lang = Lang::from_code(&ticket.lang).unwrap_or(Lang::FALLBACK);
    let id = ticket.id;
    let failed = to_topic(
        core,
        id,
        Msg::new("support-op-delivery-failed").num("ticket", id),
        core.support.staff_lang,
    );
    let notify = |text: Msg, keyboard: Keyboard| {
        Outbound::to_chat(user.clone(), lang, text)
            .with_keyboard(keyboard)
            .with_relay(Relay {
                on_failure: failed.clone(),
                ..Relay::default()
            })
    };
    Ok(match name {
        "close" => {
            if !tickets::close(tx, id, now).await? {
                vec![here(
                    Msg::new("support-op-already-closed").num("ticket", id),
                )]
            } else {
                let rating = Keyboard::Inline(vec![
                    (1..=5)
                        .map(|n| Button {
                            label: Label::Literal("⭐".repeat(n)),
                            data: Callback::from(SupportButton::Rate {
                                ticket: id,
                                rating: n as i64,
                            })
                            .to_string(),
                        })
                        .collect(),
                ]);
                vec![
                    here(Msg::new("support-op-closed").num("ticket", id)),
                    notify(Msg::new("support-closed").num("ticket", id), rating),
                ]
            }
        }
        "reopen" => {
            if !tickets::reopen(tx, id).await? {
                vec![here(Msg::new("support-op-already-open").num("ticket", id))]
            } else {
                vec![
                    here(Msg::new("support-op-reopened").num("ticket", id)),
                    notify(
                        Msg::new("support-reopened").num("ticket", id),
                        Keyboard::Keep,
                    ),
                ]
            }
        }
        "assign" => {
            let who = author.unwrap_or("?");
            tickets::assign(tx, id, who).await?;
            vec![here(
                Msg::new("support-op-assigned")
                    .num("ticket", id)
                    .arg("operator", who.to_string()),
            )]
        }
        "ban" => match parse_duration(arg) {
            None => vec![here(Msg::new("support-op-ban-usage"))],
            Some(d) => {
                let until = now + d.num_milliseconds();
                tickets::ban(tx, &user, until).await?;
                vec![
                    here(Msg::new("support-op-banned").date_time("until", until)),
                    notify(
                        Msg::new("support-banned").date_time("until", until),
                        Keyboard::Keep,
                    ),
                ]
            }
        },
        "unban" => {
            tickets::unban(tx, &user).await?;
            vec![here(Msg::new("support-op-unbanned"))]
        }
        _ => vec![here(info(core, tx, ticket).await?)],
    })
}

/// `/info`: language, registration, masked phone and counts. Never the IIN.
pub(super) async fn info(core: &Core, tx: &mut Tx, ticket: &TicketRow) -> Result<Msg, CoreError> {
    let user = ticket.user();
    let person = match conversations::load(tx, &user)
        .await?
        .and_then(|c| c.person_id)
    {
        Some(id) => people::get(tx, id).await?,
        None => None,
    };
    let (registered, phone) = match &person {
        None => ("no", String::new()),
        Some(p) => {
            let phone = core.vault.open(Field::Phone, &p.phone_enc)?;
            let masked = Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default();
            (
                if p.registered_at.is_some() {
                    "yes"
                } else {
                    "phone"
                },
                masked,
            )
        }
    };
    let lang = Lang::from_code(&ticket.lang).unwrap_or(Lang::FALLBACK);
    Ok(Msg::new("support-op-info")
        .num("ticket", ticket.id)
        .arg("category", ticket.category.clone())
        .arg("language", lang.native_name())
        .arg("registered", registered)
        .arg(
            "phone",
            if phone.is_empty() {
                "—".to_string()
            } else {
                phone
            },
        )
        .arg("status", if ticket.is_open() { "open" } else { "closed" })
        .num("tickets", tickets::count_for(tx, &user).await?)
        .num("from_user", ticket.user_messages)
        .num("from_operators", ticket.operator_messages)
        .date_time("opened", ticket.opened_at))
}
