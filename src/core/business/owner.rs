//! Owner tools in the bot: staff invites and removal, a new entrance, rotating or revoking an
//! entrance's codes (new posters sent), occupancy now, today's admitted and refused counts,
//! and a PNG chart of visits by hour over the last week. Counts only, never personal data.
//! Every action checks that the chat is an active owner of the venue at that moment.

use super::{button, reply};
use crate::core::shared::callback::{BusinessButton, Callback, ItemTool, VenueTool};
use crate::core::shared::channel::StartLink;

/// An owner tool pressed for one venue.
enum Act {
    Tool(VenueTool),
    Item(ItemTool, i64),
}
use crate::core::venues::admin::{self, INVITE_TTL_MS};
use crate::core::venues::token_keys;
use crate::core::{AttachmentKind, Button, Core, CoreError, Keyboard, Label, Outbound};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::{ChatRef, Tx, business, venues};

fn tools_keyboard(venue_id: i64) -> Keyboard {
    Keyboard::Inline(vec![
        vec![
            button(
                "biz-tool-invite",
                BusinessButton::Venue(VenueTool::Invite, venue_id),
            ),
            button(
                "biz-tool-staff",
                BusinessButton::Venue(VenueTool::Staff, venue_id),
            ),
        ],
        vec![
            button(
                "biz-tool-entrance",
                BusinessButton::Venue(VenueTool::Entrance, venue_id),
            ),
            button(
                "biz-tool-codes",
                BusinessButton::Venue(VenueTool::Codes, venue_id),
            ),
        ],
        vec![
            button(
                "biz-tool-occupancy",
                BusinessButton::Venue(VenueTool::Occupancy, venue_id),
            ),
            button(
                "biz-tool-today",
                BusinessButton::Venue(VenueTool::Today, venue_id),
            ),
            button(
                "biz-tool-chart",
                BusinessButton::Venue(VenueTool::Chart, venue_id),
            ),
        ],
        vec![button("biz-tool-new-application", BusinessButton::New)],
    ])
}

/// `/business` for an owner: the tools of their venue, or a choice of venue first.
pub(super) fn panel(owned: &[(i64, String)], lang: Lang) -> Outbound {
    if let [(id, name)] = owned {
        return Outbound::reply(lang, Msg::new("biz-owner-tools").arg("venue", name.clone()))
            .with_keyboard(tools_keyboard(*id));
    }
    let mut rows: Vec<Vec<Button>> = owned
        .iter()
        .map(|(id, name)| {
            vec![Button {
                label: Label::Literal(name.clone()),
                data: Callback::from(BusinessButton::Venue(VenueTool::Open, *id)).to_string(),
            }]
        })
        .collect();
    rows.push(vec![button(
        "biz-tool-new-application",
        BusinessButton::New,
    )]);
    Outbound::reply(lang, Msg::new("biz-owner-choose")).with_keyboard(Keyboard::Inline(rows))
}

/// The venue's name when `chat` is an active owner of it.
async fn owned(tx: &mut Tx, chat: &ChatRef, venue_id: i64) -> Result<Option<String>, CoreError> {
    Ok(venues::owned_venues(tx, chat)
        .await?
        .into_iter()
        .find(|(id, _)| *id == venue_id)
        .map(|(_, name)| name))
}

/// The owner tools' buttons: `button` is a [`BusinessButton::Venue`] or
/// [`BusinessButton::Item`] (others answer "stale").
pub(super) async fn on_button(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    button: BusinessButton,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let (venue_id, act) = match button {
        BusinessButton::Venue(tool, venue) => (venue, Act::Tool(tool)),
        BusinessButton::Item(tool, venue, id) => (venue, Act::Item(tool, id)),
        _ => return Ok(reply(lang, Msg::new("hint-stale-button"))),
    };
    let Some(name) = owned(tx, chat, venue_id).await? else {
        return Ok(reply(lang, Msg::new("biz-owner-only")));
    };
    let now = core.now_ms();
    let out = match act {
        Act::Tool(VenueTool::Open) => vec![
            Outbound::reply(lang, Msg::new("biz-owner-tools").arg("venue", name))
                .with_keyboard(tools_keyboard(venue_id)),
        ],
        Act::Tool(VenueTool::Invite) => {
            // Built by the channel of the owner's chat: a link to pass on, or (a channel
            // without deep links) the message the staff member sends the bot.
            let msg = match invite(core, tx, &chat.channel, venue_id).await? {
                StartLink::Link(link) => Msg::new("biz-invite-link").arg("link", link),
                StartLink::Command(code) => Msg::new("biz-invite-command").arg("code", code),
            };
            reply(
                lang,
                msg.arg("venue", name).date_of("until", now + INVITE_TTL_MS),
            )
        }
        Act::Tool(VenueTool::Staff) => {
            let staff: Vec<_> = venues::staff_members(tx, venue_id)
                .await?
                .into_iter()
                .filter(|(_, role, _)| role == "staff")
                .collect();
            if staff.is_empty() {
                reply(lang, Msg::new("biz-staff-none").arg("venue", name))
            } else {
                let rows = staff
                    .iter()
                    .map(|(id, _, added)| {
                        vec![Button {
                            label: Label::Text(
                                Msg::new("biz-staff-remove-button")
                                    .num("id", *id)
                                    .date_of("since", *added),
                            ),
                            data: Callback::from(BusinessButton::Item(
                                ItemTool::RemoveStaff,
                                venue_id,
                                *id,
                            ))
                            .to_string(),
                        }]
                    })
                    .collect();
                vec![
                    Outbound::reply(
                        lang,
                        Msg::new("biz-staff-list")
                            .arg("venue", name)
                            .num("count", staff.len() as i64),
                    )
                    .with_keyboard(Keyboard::Inline(rows)),
                ]
            }
        }
        Act::Item(ItemTool::RemoveStaff, staff_id) => {
            match venues::remove_staff(tx, venue_id, staff_id, now).await? {
                Some(removed) => {
                    let their = super::chat_lang(tx, &removed).await?;
                    let mut out = reply(lang, Msg::new("biz-staff-removed").num("id", staff_id));
                    out.push(Outbound::to_chat(
                        removed,
                        their,
                        Msg::new("biz-staff-removed-notice").arg("venue", name),
                    ));
                    out
                }
                None => reply(lang, Msg::new("hint-stale-button")),
            }
        }
        Act::Tool(VenueTool::Entrance) => {
            let existing = venues::entrances_of(tx, venue_id).await?;
            let mut n = existing.iter().filter(|e| e.revoked_at.is_none()).count() + 1;
            while existing.iter().any(|e| e.name == n.to_string()) {
                n += 1;
            }
            if n as i64 > super::MAX_ENTRANCES * 2 {
                return Ok(reply(lang, Msg::new("biz-too-many-entrances")));
            }
            let id = admin::add_entrance(tx, venue_id, &n.to_string(), now)
                .await
                .map_err(admin_error)?;
            let mut out = reply(
                lang,
                Msg::new("biz-entrance-added")
                    .arg("venue", name.clone())
                    .arg("entrance", n.to_string()),
            );
            out.extend(posters(core, tx, venue_id, id, &name, lang).await?);
            out
        }
        Act::Tool(VenueTool::Codes) => {
            let rows: Vec<Vec<Button>> = venues::entrances_of(tx, venue_id)
                .await?
                .into_iter()
                .filter(|e| e.revoked_at.is_none())
                .map(|e| {
                    vec![
                        Button {
                            label: Label::Text(
                                Msg::new("biz-code-rotate-button").arg("entrance", e.name.clone()),
                            ),
                            data: Callback::from(BusinessButton::Item(
                                ItemTool::Rotate,
                                venue_id,
                                e.id,
                            ))
                            .to_string(),
                        },
                        Button {
                            label: Label::Text(
                                Msg::new("biz-code-revoke-button").arg("entrance", e.name.clone()),
                            ),
                            data: Callback::from(BusinessButton::Item(
                                ItemTool::Revoke,
                                venue_id,
                                e.id,
                            ))
                            .to_string(),
                        },
                    ]
                })
                .collect();
            vec![
                Outbound::reply(lang, Msg::new("biz-codes-choose").arg("venue", name))
                    .with_keyboard(Keyboard::Inline(rows)),
            ]
        }
        Act::Item(ItemTool::Rotate, entrance_id) => {
            let Some(entrance) = venues::revoke_entrance(tx, venue_id, entrance_id, now).await?
            else {
                return Ok(reply(lang, Msg::new("hint-stale-button")));
            };
            let id = admin::add_entrance(tx, venue_id, &entrance, now)
                .await
                .map_err(admin_error)?;
            let mut out = reply(
                lang,
                Msg::new("biz-code-rotated")
                    .arg("venue", name.clone())
                    .arg("entrance", entrance),
            );
            out.extend(posters(core, tx, venue_id, id, &name, lang).await?);
            out
        }
        Act::Item(ItemTool::Revoke, entrance_id) => {
            let active = venues::entrances_of(tx, venue_id)
                .await?
                .iter()
                .filter(|e| e.revoked_at.is_none())
                .count();
            if active <= 1 {
                return Ok(reply(lang, Msg::new("biz-last-entrance")));
            }
            match venues::revoke_entrance(tx, venue_id, entrance_id, now).await? {
                Some(entrance) => reply(
                    lang,
                    Msg::new("biz-code-revoked")
                        .arg("venue", name)
                        .arg("entrance", entrance),
                ),
                None => reply(lang, Msg::new("hint-stale-button")),
            }
        }
        Act::Tool(VenueTool::Occupancy) => {
            let n = venues::occupancy(tx, venue_id).await?;
            reply(
                lang,
                Msg::new("biz-occupancy").arg("venue", name).num("count", n),
            )
        }
        Act::Tool(VenueTool::Today) => {
            let (admitted, refused) =
                business::attempt_counts(tx, venue_id, local_midnight(core)).await?;
            reply(
                lang,
                Msg::new("biz-today")
                    .arg("venue", name)
                    .num("admitted", admitted)
                    .num("refused", refused),
            )
        }
        Act::Tool(VenueTool::Chart) => {
            let times = business::entry_times(tx, venue_id, now - 7 * 24 * 3_600_000).await?;
            let counts = super::chart::hourly(&times, now);
            let total: u32 = counts.iter().sum();
            let title = core.texts.render(
                lang,
                &Msg::new("biz-chart-title").arg("venue", name.clone()),
            );
            let days: Vec<String> = (0..7)
                .map(|d| {
                    use chrono::Datelike;
                    let day = crate::clock::local_day(now - (6 - d) * 24 * 3_600_000);
                    core.texts.render(
                        lang,
                        &Msg::new("date-short")
                            .num("day", i64::from(day.day()))
                            .num("month", i64::from(day.month())),
                    )
                })
                .collect();
            let font_path = core.business.poster_font.clone();
            let png = tokio::task::spawn_blocking(move || {
                let font = crate::core::venues::poster::find_font(font_path.as_deref()).ok();
                super::chart::render(&counts, &title, &days, font.as_ref())
            })
            .await
            .map_err(|e| CoreError::internal("chart rendering", e))?;
            vec![
                Outbound::reply(
                    lang,
                    Msg::new("biz-chart-caption")
                        .arg("venue", name)
                        .num("total", i64::from(total)),
                )
                .with_attachment(AttachmentKind::Photo, "visits-7d.png", png),
            ]
        }
    };
    Ok(out)
}

fn admin_error(e: admin::AdminError) -> CoreError {
    match e {
        admin::AdminError::Core(c) => c,
        other => CoreError::internal("venue administration", other),
    }
}

/// Local (Almaty) midnight of today, in milliseconds.
fn local_midnight(core: &Core) -> i64 {
    let local = core.clock.now().with_timezone(&crate::clock::almaty());
    local
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|m| m.and_local_timezone(crate::clock::almaty()).single())
        .map(|m| m.timestamp_millis())
        .unwrap_or_else(|| core.now_ms() - 24 * 3_600_000)
}

/// A one-time staff invite (expires after [`INVITE_TTL_MS`]) in the caller's transaction.
async fn invite(
    core: &Core,
    tx: &mut Tx,
    channel: &str,
    venue_id: i64,
) -> Result<StartLink, CoreError> {
    let bot = &core.channels.bot_username;
    let now = core.now_ms();
    Ok(admin::insert_invite(tx, &core.channels, channel, venue_id, "staff", bot, now).await?)
}

/// The posters of one entrance, as document replies.
async fn posters(
    core: &Core,
    tx: &mut Tx,
    venue_id: i64,
    entrance_id: i64,
    name: &str,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(keys) = token_keys(core, tx).await? else {
        return Ok(reply(lang, Msg::new("error-generic")));
    };
    let Some(venue) = venues::venue(tx, venue_id).await? else {
        return Ok(Vec::new());
    };
    let codes: Vec<_> = venues::entrances_of(tx, venue_id)
        .await?
        .iter()
        .filter(|e| e.id == entrance_id)
        .map(|e| admin::codes_of(&core.channels, &keys, &core.business.bot_username, e))
        .collect();
    let files = match super::review::render(core, venue, codes).await {
        Ok(files) => files,
        Err(super::review::ReviewError::Core(e)) => return Err(e),
        Err(e) => {
            tracing::error!(error = %e, "posters failed");
            return Ok(reply(lang, Msg::new("error-generic")));
        }
    };
    Ok(files
        .into_iter()
        .map(|f| {
            Outbound::reply(
                lang,
                Msg::new("biz-poster-caption")
                    .arg("venue", name.to_string())
                    .arg("entrance", f.entrance.clone())
                    .arg("kind", if f.exit { "exit" } else { "entry" }),
            )
            .with_attachment(AttachmentKind::Document, &f.file_name, f.bytes)
        })
        .collect())
}
