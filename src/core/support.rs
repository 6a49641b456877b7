//! The support desk, messenger-neutral: categories, FAQ matching, tickets and their life
//! cycle, the flood limit, bans, working hours, ratings and statistics.
//!
//! The core decides WHAT is relayed and to whom: a user's message goes to the operators'
//! chat ([`SupportSettings::chat`]) in the ticket's topic ([`Topic`] keyed `support:N`),
//! copied as-is when the channel can ([`Relay::copy`]); an operator's message in that topic
//! goes back to the user, anonymously, through the durable outbox, with a notice for the
//! topic when it cannot be delivered ([`Relay::on_failure`]). Adapters decide HOW (forum
//! topics, copying, reply-to mapping).

use super::context::Ctx;
use super::shared::callback::{Callback, SupportButton};
pub use super::shared::duration::parse_duration;
pub use super::shared::mask::mask_iins;
use super::shared::routes::SupportRoute;
use super::{
    Button, Conversation, Core, CoreError, Event, Keyboard, Label, MediaKind, Outbound, Relay,
    Relayed, ReplyButton, State, Topic,
};
use crate::crypto::Field;
use crate::domain::{Lang, Phone};
use crate::i18n::{Msg, Texts};
use crate::storage::support::{self as tickets, TicketRow};
use crate::storage::{ChatRef, Store, StoreError, Tx, conversations, people};
use chrono::{Datelike, NaiveTime, Timelike, Weekday};

/// A closed ticket reopens on a new message within this time; later a new ticket opens.
pub const REOPEN_WINDOW_MS: i64 = 48 * 3600 * 1000;
/// Relayed texts are split into parts of at most this many characters (Telegram: 4096).
pub const PART_CHARS: usize = 3500;
/// The "outside working hours" reply is repeated at most this often per ticket.
const OFF_HOURS_REPEAT_MS: i64 = 12 * 3600 * 1000;
const FLOOD_WINDOW_MS: i64 = 60_000;

/// Ticket categories: `(code, button label key)`.
pub const CATEGORIES: [(&str, &str); 3] = [
    ("citizen", "support-cat-citizen"),
    ("business", "support-cat-business"),
    ("voucher", "support-cat-voucher"),
];

/// FAQ entries: `(id, keywords key, answer key)`. The keywords are word stems per language,
/// matched against the beginnings of the user's words.
pub const FAQ: [(&str, &str, &str); 7] = [
    ("colours", "faq-colours-keywords", "faq-colours"),
    ("ill-red", "faq-ill-red-keywords", "faq-ill-red"),
    ("business-qr", "faq-business-qr-keywords", "faq-business-qr"),
    ("guard", "faq-guard-keywords", "faq-guard"),
    ("checkout", "faq-checkout-keywords", "faq-checkout"),
    ("vouchers", "faq-vouchers-keywords", "faq-vouchers"),
    ("data", "faq-data-keywords", "faq-data"),
];

/// Kinds of media that channels can copy as-is; the rest is described to the operator.
fn copyable(kind: MediaKind) -> bool {
    matches!(
        kind,
        MediaKind::Photo
            | MediaKind::Voice
            | MediaKind::Video
            | MediaKind::Audio
            | MediaKind::Document
            | MediaKind::Location
    )
}

/// Working hours in Almaty time, Monday to Friday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl WorkingHours {
    /// Parses `09:00-18:00`.
    pub fn parse(s: &str) -> Option<Self> {
        let (a, b) = s.trim().split_once('-')?;
        let start = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
        let end = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
        (start < end).then_some(Self { start, end })
    }

    pub fn is_open(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        let local = at.with_timezone(&crate::clock::almaty());
        let weekday = !matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
        let t = local.time();
        weekday && t >= self.start && t < self.end
    }

    fn label(&self) -> String {
        format!(
            "{:02}:{:02}–{:02}:{:02}",
            self.start.hour(),
            self.start.minute(),
            self.end.hour(),
            self.end.minute()
        )
    }
}

/// The support desk's settings (`SUPPORT_CHAT_ID`, `SUPPORT_HOURS`, `SUPPORT_FLOOD`).
#[derive(Debug, Clone)]
pub struct SupportSettings {
    /// The operators' chat; without it support answers with the call-centre numbers.
    pub chat: Option<ChatRef>,
    /// Without working hours, support is always "open".
    pub hours: Option<WorkingHours>,
    /// Messages per user per minute relayed at most.
    pub flood_per_minute: i64,
    /// The language of texts for the operators (topic titles, notices).
    pub staff_lang: Lang,
}

impl Default for SupportSettings {
    fn default() -> Self {
        Self {
            chat: None,
            hours: None,
            flood_per_minute: 20,
            staff_lang: Lang::Ru,
        }
    }
}

// ---------------------------------------------------------------------------------------
// FAQ matching

fn normalise(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('ё', "е")
        .split(|c: char| !(c.is_alphanumeric() || c == '#'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Scores each FAQ entry by how many of its keyword stems (in any language: people mix
/// Kazakh and Russian) begin one of the question's words; returns the best (at most 3)
/// entries' indices, best first.
pub fn match_faq(texts: &Texts, question: &str) -> Vec<usize> {
    let words = normalise(question);
    let mut scored: Vec<(usize, usize)> = FAQ
        .iter()
        .enumerate()
        .map(|(i, (_, keywords, _))| {
            let score = Lang::ALL
                .iter()
                .map(|l| {
                    normalise(&texts.get(*l, keywords))
                        .iter()
                        .filter(|k| {
                            words.iter().any(|w| {
                                if k.chars().count() >= 3 {
                                    w.starts_with(k.as_str())
                                } else {
                                    w == *k
                                }
                            })
                        })
                        .count()
                })
                .max()
                .unwrap_or(0);
            (i, score)
        })
        .filter(|(_, s)| *s > 0)
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.into_iter().take(3).map(|(i, _)| i).collect()
}

/// Splits a long text into parts of at most `max` characters, at a line break or a space
/// when there is one in the second half of a part. Nothing is lost.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    while chars.len() - start > max {
        let window = &chars[start..start + max];
        let cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .or_else(|| window.iter().rposition(|c| c.is_whitespace()))
            .filter(|p| *p >= max / 2)
            .map_or(max, |p| p + 1);
        parts.push(chars[start..start + cut].iter().collect());
        start += cut;
    }
    if start < chars.len() || parts.is_empty() {
        parts.push(chars[start..].iter().collect());
    }
    parts
}

fn local_time(ms: i64) -> String {
    crate::clock::local_text(ms, "%d.%m.%Y %H:%M")
}

fn topic_key(ticket: i64) -> String {
    format!("support:{ticket}")
}

fn ticket_of_topic(key: &str) -> Option<i64> {
    key.strip_prefix("support:")?.parse().ok()
}

// ---------------------------------------------------------------------------------------
// The user's side

/// What the user sent, as the support desk relays it.
enum UserMessage {
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

fn exit_keyboard() -> Keyboard {
    Keyboard::Reply(vec![vec![ReplyButton {
        label: Label::Text(Msg::new("support-exit")),
        request_contact: false,
    }]])
}

/// What the bot says to ask for a support step's input.
pub(super) fn prompt(state: &State, lang: Lang) -> Outbound {
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
async fn message(ctx: &mut Ctx<'_>) -> Result<Vec<Outbound>, CoreError> {
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
                if !found.is_empty() && question.chars().count() <= super::MAX_TEXT_CHARS {
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
async fn open(
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
            Msg::new("support-banned").arg("until", local_time(until)),
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

async fn exit(ctx: &mut Ctx<'_>, msg: Msg) -> Result<Vec<Outbound>, CoreError> {
    ctx.conv.state = back_state(ctx.tx, ctx.conv).await?;
    Ok(vec![
        Outbound::reply(ctx.lang, msg).with_keyboard(Keyboard::Remove),
        ctx.prompt(),
    ])
}

async fn button(ctx: &mut Ctx<'_>, b: SupportButton) -> Result<Vec<Outbound>, CoreError> {
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
fn to_topic(core: &Core, ticket: i64, text: Msg, lang: Lang) -> Option<Outbound> {
    let chat = core.support.chat.clone()?;
    Some(Outbound::to_chat(chat, lang, text).with_relay(topic_relay(ticket, None)))
}

fn topic_relay(ticket: i64, category: Option<&str>) -> Relay {
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

async fn open_ticket(
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
            Msg::new("support-banned").arg("until", local_time(until)),
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

async fn user_message(
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
            Msg::new("support-banned").arg("until", local_time(until)),
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
async fn relay_to_staff(
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
            for part in split_text(&text, PART_CHARS) {
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
                for part in split_text(&text, PART_CHARS) {
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

// ---------------------------------------------------------------------------------------
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
    let lang = Lang::from_code(&ticket.lang).unwrap_or(Lang::Ru);
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
            for part in split_text(r.text.as_deref().unwrap_or_default(), PART_CHARS) {
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

async fn command(
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
    let lang = Lang::from_code(&ticket.lang).unwrap_or(Lang::Ru);
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
                    here(Msg::new("support-op-banned").arg("until", local_time(until))),
                    notify(
                        Msg::new("support-banned").arg("until", local_time(until)),
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
async fn info(core: &Core, tx: &mut Tx, ticket: &TicketRow) -> Result<Msg, CoreError> {
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
    let lang = Lang::from_code(&ticket.lang).unwrap_or(Lang::Ru);
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
        .arg("opened", local_time(ticket.opened_at)))
}

// ---------------------------------------------------------------------------------------
// Statistics

/// What `ashyq support stats` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct SupportStats {
    pub open: i64,
    pub closed: i64,
    pub median_first_response_ms: Option<i64>,
    pub median_resolution_ms: Option<i64>,
    /// How many tickets got 1, 2, 3, 4, 5 stars.
    pub ratings: [i64; 5],
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

impl SupportStats {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let mut conn = store.pool().acquire().await?;
        let rows = tickets::all_for_stats(&mut conn).await?;
        let mut ratings = [0i64; 5];
        for r in rows.iter().filter_map(|r| r.rating) {
            if (1..=5).contains(&r) {
                ratings[(r - 1) as usize] += 1;
            }
        }
        Ok(Self {
            open: rows.iter().filter(|r| r.closed_at.is_none()).count() as i64,
            closed: rows.iter().filter(|r| r.closed_at.is_some()).count() as i64,
            median_first_response_ms: median(
                rows.iter()
                    .filter_map(|r| r.first_response_at.map(|f| f - r.opened_at))
                    .collect(),
            ),
            median_resolution_ms: median(
                rows.iter()
                    .filter_map(|r| r.closed_at.map(|c| c - r.opened_at))
                    .collect(),
            ),
            ratings,
        })
    }

    pub fn average_rating(&self) -> Option<f64> {
        let n: i64 = self.ratings.iter().sum();
        (n > 0).then(|| {
            self.ratings
                .iter()
                .enumerate()
                .map(|(i, c)| (i as i64 + 1) * c)
                .sum::<i64>() as f64
                / n as f64
        })
    }
}

fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) => {
            let m = ms / 60_000;
            format!("{}h {:02}m", m / 60, m % 60)
        }
    }
}

impl std::fmt::Display for SupportStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "tickets open:              {}", self.open)?;
        writeln!(f, "tickets closed:            {}", self.closed)?;
        writeln!(
            f,
            "median first response:     {}",
            duration(self.median_first_response_ms)
        )?;
        writeln!(
            f,
            "median resolution:         {}",
            duration(self.median_resolution_ms)
        )?;
        let n: i64 = self.ratings.iter().sum();
        match self.average_rating() {
            Some(avg) => writeln!(f, "ratings:                   {n}, average {avg:.2}")?,
            None => writeln!(f, "ratings:                   0")?,
        }
        for (i, c) in self.ratings.iter().enumerate() {
            writeln!(f, "  {} star: {c}", i + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn working_hours_are_almaty_weekdays() {
        let h = WorkingHours::parse("09:00-18:00").unwrap();
        assert!(h.is_open(at("2026-11-20T09:00:00+05:00"))); // Friday
        assert!(!h.is_open(at("2026-11-20T18:00:00+05:00")));
        assert!(!h.is_open(at("2026-11-20T08:59:00+05:00")));
        assert!(!h.is_open(at("2026-11-21T12:00:00+05:00"))); // Saturday
        assert!(h.is_open(at("2026-11-23T04:30:00Z"))); // Monday 09:30 in Almaty
        assert_eq!(WorkingHours::parse("18:00-09:00"), None);
        assert_eq!(WorkingHours::parse("9-18"), None);
    }

    #[test]
    fn long_texts_split_without_loss() {
        let text = "слово ".repeat(2000);
        let parts = split_text(&text, 3500);
        assert!(parts.len() >= 4);
        assert!(parts.iter().all(|p| p.chars().count() <= 3500));
        assert_eq!(parts.concat(), text);
        let dense = "x".repeat(7001);
        let parts = split_text(&dense, 3500);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [3500, 3500, 1]
        );
        assert_eq!(split_text("", 10), vec![String::new()]);
    }

    #[test]
    fn faq_matches_words_in_every_language() {
        let t = Texts::load();
        let id = |q: &str| match_faq(&t, q).first().map(|i| FAQ[*i].0);
        assert_eq!(id("Я переболел, почему я красный?"), Some("ill-red"));
        assert_eq!(id("I was ill, why am I red"), Some("ill-red"));
        assert_eq!(id("Мен ауырдым, неге қызылмын?"), Some("ill-red"));
        assert_eq!(id("как бизнесу получить QR-код"), Some("business-qr"));
        assert_eq!(id("что значит ответ 2#1 на ваучер"), Some("vouchers"));
        assert_eq!(id("how do I check out of a venue"), Some("checkout"));
        assert_eq!(
            id("режим охранника, как проверить посетителя"),
            Some("guard")
        );
        assert_eq!(id("what happens to my personal data"), Some("data"));
        assert_eq!(id("сколько длится зеленый статус"), Some("colours"));
        assert!(match_faq(&t, "здравствуйте").is_empty());
        assert!(match_faq(&t, "").is_empty());
        assert!(match_faq(&t, "красный зелёный желтый статус QR").len() <= 3);
    }

    #[test]
    fn faq_and_category_texts_exist_in_every_language() {
        let t = Texts::load();
        for lang in Lang::ALL {
            for (_, keywords, answer) in FAQ {
                assert!(
                    t.has(lang, keywords) && t.has(lang, answer),
                    "{lang:?} {answer}"
                );
                assert!(!normalise(&t.get(lang, keywords)).is_empty());
            }
            for (_, label) in CATEGORIES {
                assert!(t.has(lang, label), "{lang:?} {label}");
            }
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
    }
}
