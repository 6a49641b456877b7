//! Guard mode: venue staff check a visitor without a smartphone by the visitor's IIN, with
//! the visitor's consent, and record the entry.

use super::{Entrant, GUARD_LIMIT_PER_HOUR, Target, Via, decide, record_entry, verdict};
use crate::clock::local_time;
use crate::core::context::Ctx;
use crate::core::shared::callback::CheckInButton;
use crate::core::shared::menu::{button, reply};
use crate::core::shared::routes::{GuardRoute, leave_guard};
use crate::core::{Conversation, Core, CoreError, Keyboard, Outbound, State};
use crate::crypto::Field;
use crate::domain::{Iin, IinError, Lang};
use crate::i18n::Msg;
use crate::status::VenueCategory;
use crate::storage::venues::{self, AuditLine};
use crate::storage::{ChatRef, Tx};

/// Guard mode's entry point.
pub async fn handle(ctx: &mut Ctx<'_>, route: GuardRoute) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang, chat) = (ctx.core, ctx.lang, ctx.chat);
    match route {
        GuardRoute::Start(arg) => guard_start(core, ctx.tx, ctx.conv, chat, lang, &arg).await,
        GuardRoute::Iin(text) => guard_iin(core, ctx.tx, ctx.conv, chat, lang, &text).await,
        GuardRoute::Consent => guard_confirm(core, ctx.tx, ctx.conv, chat, lang).await,
        GuardRoute::Cancel => {
            leave_guard(ctx.conv);
            Ok(reply(lang, Msg::new("guard-cancelled")))
        }
    }
}

/// The prompts of guard mode's steps.
pub fn prompt(state: &State, lang: Lang) -> Outbound {
    match state {
        State::GuardConfirm { .. } => Outbound::reply(lang, Msg::new("guard-confirm-consent")),
        _ => Outbound::reply(lang, Msg::new("guard-enter-iin")),
    }
}

fn resume(menu: bool) -> State {
    if menu { State::Menu } else { State::Idle }
}

/// The venue a staff chat works at (the most recently joined), after the rate limit.
/// `Err(reply)` for a chat that is not staff or is over the limit (both audited).
async fn guard_venue(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Result<i64, Vec<Outbound>>, CoreError> {
    let now = core.now_ms();
    let places = venues::staff_venues(tx, chat).await?;
    let Some((venue_id, _, _)) = places.first() else {
        venues::audit(
            tx,
            &AuditLine {
                action: "guard_refused",
                outcome: "not_staff",
                chat: Some(chat),
                ..Default::default()
            },
            now,
        )
        .await?;
        return Ok(Err(reply(lang, Msg::new("staff-only"))));
    };
    let used = venues::count_audit(tx, chat, "guard_lookup", now - 3_600_000).await?;
    if used >= GUARD_LIMIT_PER_HOUR {
        venues::audit(
            tx,
            &AuditLine {
                action: "guard_refused",
                outcome: "limit",
                venue_id: Some(*venue_id),
                chat: Some(chat),
                ..Default::default()
            },
            now,
        )
        .await?;
        return Ok(Err(reply(
            lang,
            Msg::new("guard-limit").num("limit", GUARD_LIMIT_PER_HOUR),
        )));
    }
    if let Some(msg) = crate::security::guard_quota::venue_refusal(tx, *venue_id, now).await? {
        let line = AuditLine {
            action: "guard_refused",
            outcome: "venue_limit",
            venue_id: Some(*venue_id),
            chat: Some(chat),
            ..Default::default()
        };
        venues::audit(tx, &line, now).await?;
        return Ok(Err(reply(lang, msg)));
    }
    Ok(Ok(*venue_id))
}

fn cancel_keyboard() -> Keyboard {
    Keyboard::Inline(vec![vec![button(
        "guard-cancel",
        CheckInButton::GuardCancel,
    )]])
}

async fn guard_start(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    arg: &str,
) -> Result<Vec<Outbound>, CoreError> {
    if conv.state.is_registering() {
        return Ok(reply(lang, Msg::new("hint-registration-in-progress")));
    }
    let venue_id = match guard_venue(core, tx, chat, lang).await? {
        Ok(v) => v,
        Err(out) => {
            leave_guard(conv);
            return Ok(out);
        }
    };
    let menu = match &conv.state {
        State::GuardIin { menu, .. } | State::GuardConfirm { menu, .. } => *menu,
        State::Menu | State::ConfirmForget => true,
        _ => false,
    };
    conv.state = State::GuardIin { venue_id, menu };
    if arg.is_empty() {
        return Ok(vec![
            Outbound::reply(lang, Msg::new("guard-enter-iin")).with_keyboard(cancel_keyboard()),
        ]);
    }
    guard_iin(core, tx, conv, chat, lang, arg).await
}

async fn guard_iin(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    _chat: &ChatRef,
    lang: Lang,
    text: &str,
) -> Result<Vec<Outbound>, CoreError> {
    let State::GuardIin { venue_id, menu } = conv.state else {
        return Ok(Vec::new());
    };
    let iin = match Iin::parse(text) {
        Ok(iin) => iin,
        Err(e) => {
            let msg = match e {
                IinError::WrongLength(n) => Msg::new("iin-wrong-length").num("count", n as i64),
                IinError::NotDigits => Msg::new("iin-not-digits"),
                IinError::BadChecksum => Msg::new("iin-bad-checksum"),
                IinError::ImpossibleDate => Msg::new("iin-impossible-date"),
            };
            return Ok(vec![
                Outbound::reply(lang, msg).with_keyboard(cancel_keyboard()),
            ]);
        }
    };
    crate::security::keys::settle(tx, &core.vault, Field::Iin, &iin.expose()).await?;
    let hash = core.vault.lookup_hash(Field::Iin, &iin.expose());
    conv.state = State::GuardConfirm {
        venue_id,
        iin_hash: hex::encode(hash),
        menu,
    };
    Ok(vec![
        Outbound::reply(lang, Msg::new("guard-confirm-consent")).with_keyboard(Keyboard::Inline(
            vec![vec![
                button("guard-consent-yes", CheckInButton::GuardConsent),
                button("guard-cancel", CheckInButton::GuardCancel),
            ]],
        )),
    ])
}

async fn guard_confirm(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let State::GuardConfirm {
        venue_id,
        ref iin_hash,
        menu,
    } = conv.state
    else {
        leave_guard(conv);
        return Ok(reply(lang, Msg::new("hint-stale-button")));
    };
    let Ok(iin_hash) = hex::decode(iin_hash) else {
        conv.state = resume(menu);
        return Ok(reply(lang, Msg::new("hint-stale-button")));
    };
    conv.state = resume(menu);
    let current = match guard_venue(core, tx, chat, lang).await? {
        Ok(v) => v,
        Err(out) => return Ok(out),
    };
    if current != venue_id {
        return Ok(reply(lang, Msg::new("hint-stale-button")));
    }
    let Some(venue) = venues::venue(tx, venue_id).await? else {
        return Ok(reply(lang, Msg::new("staff-only")));
    };
    let now = core.now_ms();
    if venue.revoked_at.is_some() || venue.suspended_until.is_some_and(|u| u > now) {
        return Ok(reply(
            lang,
            Msg::new("checkin-venue-suspended")
                .arg("venue", venue.name)
                .date_of("until", venue.suspended_until.unwrap_or(now)),
        ));
    }
    let status = crate::status::iin_status(tx, core, &iin_hash, core.clock.now()).await?;
    let category = VenueCategory::parse(&venue.category).unwrap_or(VenueCategory::Ordinary);
    let decision = decide(&status, category);
    let person_id = crate::storage::people::find_by_iin_hash(tx, &iin_hash).await?;
    let view = record_entry(
        core,
        tx,
        &Target {
            venue_id,
            venue_name: venue.name.clone(),
            region: venue.region.clone(),
            category: venue.category.clone(),
            entrance_id: None,
            entrance_name: None,
            max_stay_ms: venue.max_stay_ms,
            test: venue.test_until.is_some_and(|t| t > now),
        },
        Entrant {
            person_id,
            iin_hash: Some(&iin_hash),
            chat: None,
            via: Via::Guard,
            actor: chat,
            open: None,
        },
        decision,
    )
    .await?;
    crate::security::guard_quota::after_lookup(core, tx, venue_id, &venue.name, &venue.region, now)
        .await?;
    Ok(reply(
        lang,
        Msg::new("guard-result")
            .arg("colour", decision.colour.as_str())
            .arg("verdict", verdict(decision.admit))
            .arg("venue", view.venue_name)
            .arg("time", local_time(view.entered_at))
            .arg("code", view.check_code),
    ))
}
