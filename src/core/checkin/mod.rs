//! Venue check-in: signed codes by deep link, photo or short code; exits and automatic
//! check-out; the live staff feed; guard mode; sanitary alerts.
//!
//! The conversation calls [`intercept`] before its own dispatch; everything about venues is
//! decided here. The admission decision is the pure [`decide`]; a person's colour comes from
//! the seam [`crate::status::person_status`].

pub mod due;
pub mod guard;
pub mod lane;
pub mod staff;

pub use crate::core::shared::scan::{MAX_IMAGE_BYTES, Scan, limits, scan};
pub use due::run_due;
// The venue registry (codes, posters, administration) is a shared service; these names
// stay for the CLI, benches and tests.
pub use crate::core::venues::{DEFAULT_MAX_STAY_MS, admin, poster, token, token_keys};

use super::context::{Ctx, Prompt};
use super::shared::callback::CheckInButton;
use super::shared::events::Happened;
use super::shared::menu::{button, reply};
use super::shared::routes::{CheckInRoute, leave_guard};
use super::{Conversation, Core, CoreError, Keyboard, Outbound, Recipient, State};
use crate::clock::{local_date, local_time};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::qr;
use crate::status::{Colour, Status, VenueCategory};
use crate::storage::venues::{self, AuditLine, CheckinView, Door, NewCheckin};
use crate::storage::{ChatRef, StoreError, Tx, outbox};
use token::{Kind, Payload, TokenError, TokenKeys};

/// The same code scanned again within this window is the same visit and the same reply.
pub const REPEAT_WINDOW_MS: i64 = 60_000;
/// A result older than this says it is stale when refreshed.
pub const STALE_AFTER_MS: i64 = 5 * 60_000;
/// The visitor is reminded this long before the automatic check-out.
pub const REMIND_BEFORE_MS: i64 = 15 * 60_000;
/// Guard-mode look-ups allowed per staff chat per hour.
pub const GUARD_LIMIT_PER_HOUR: i64 = 60;
/// Check codes are unique per venue within this window.
const CHECK_CODE_WINDOW_MS: i64 = 24 * 3_600_000;

/// Colour and admission at one venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub colour: Colour,
    pub admit: bool,
}

/// The admission decision: a pure function of the status and the venue's category.
pub fn decide(status: &Status, category: VenueCategory) -> Decision {
    Decision {
        colour: status.colour,
        admit: category.admits(status.colour),
    }
}

/// Whether an attempt in this colour is reported to sanitary control.
pub fn alerts_sanitary_control(colour: Colour) -> bool {
    matches!(colour, Colour::Red | Colour::Yellow)
}

/// How a check-in arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Link,
    Photo,
    Code,
    Guard,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Link => "link",
            Via::Photo => "photo",
            Via::Code => "code",
            Via::Guard => "guard",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "photo" => Via::Photo,
            "code" => Via::Code,
            "guard" => Via::Guard,
            _ => Via::Link,
        }
    }
}

fn verdict(admit: bool) -> &'static str {
    if admit { "admit" } else { "deny" }
}

/// The registered person of this conversation, if the registration is complete.
fn registered_person(conv: &Conversation) -> Option<i64> {
    let done = match &conv.state {
        State::Menu | State::ConfirmForget => true,
        State::GuardIin { menu, .. } | State::GuardConfirm { menu, .. } => *menu,
        _ => false,
    };
    conv.person_id.filter(|_| done)
}

/// A refusal, then the current step's prompt again (the conversation goes on where it was).
fn refuse(p: Prompt, conv: &Conversation, lang: Lang, msg: Msg) -> Vec<Outbound> {
    vec![Outbound::reply(lang, msg), p(&conv.state, lang)]
}

/// The check-in's entry point (a visitor's side; guard mode is [`guard`], venue staff
/// [`staff`]).
pub async fn handle(ctx: &mut Ctx<'_>, route: CheckInRoute) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang, chat, p) = (ctx.core, ctx.lang, ctx.chat, ctx.prompt);
    let scan = ctx.scan;
    let Ctx {
        tx, conv, happened, ..
    } = ctx;
    match route {
        CheckInRoute::Token(token) => {
            by_token(core, tx, conv, chat, lang, p, happened, &token, Via::Link).await
        }
        CheckInRoute::Scan => match scan {
            Some(scan) => by_scan(core, tx, conv, chat, lang, p, happened, scan).await,
            None => Ok(refuse(p, conv, lang, Msg::new("checkin-no-qr"))),
        },
        CheckInRoute::ImageTooLarge => {
            Ok(refuse(p, conv, lang, Msg::new("checkin-image-too-large")))
        }
        CheckInRoute::NotAnImage => Ok(refuse(p, conv, lang, Msg::new("checkin-not-an-image"))),
        CheckInRoute::ShortCode(text) => {
            let Some(code) = token::parse_short_code(&text) else {
                return Ok(refuse(p, conv, lang, Msg::new("checkin-code-unknown")));
            };
            match venues::entrance_by_code(tx, &code).await? {
                Some((entrance_id, exit)) => {
                    let code = Code {
                        entrance_id,
                        kind: if exit { Kind::Exit } else { Kind::Entry },
                        kid: None,
                    };
                    check_in(core, tx, conv, chat, lang, p, happened, code, Via::Code).await
                }
                None => Ok(refuse(p, conv, lang, Msg::new("checkin-code-unknown"))),
            }
        }
        CheckInRoute::LeftLatest => {
            let Some(person) = registered_person(conv) else {
                return Ok(reply(lang, Msg::new("hint-register-first")));
            };
            let open = venues::open_visits(tx, person).await?;
            match open.last() {
                Some(v) => leave(core, tx, lang, v, "button").await,
                None => Ok(reply(lang, Msg::new("checkin-not-inside"))),
            }
        }
        CheckInRoute::Refresh(id) => refresh(core, tx, conv, lang, id).await,
        CheckInRoute::Left(id) => match own_visit(tx, conv, id).await? {
            Ok(view) => leave(core, tx, lang, &view, "button").await,
            Err(msg) => Ok(reply(lang, msg)),
        },
        CheckInRoute::StaleButton => Ok(reply(lang, Msg::new("hint-stale-button"))),
        CheckInRoute::Instructions => Ok(vec![instructions(lang)]),
    }
}

/// The "check in" menu entry: how to check in.
fn instructions(lang: Lang) -> Outbound {
    Outbound::reply(lang, Msg::new("checkin-how"))
}

/// After registration completed: the check-in that was waiting for it.
pub(crate) async fn after_registration(ctx: &mut Ctx<'_>) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang, chat, p) = (ctx.core, ctx.lang, ctx.chat, ctx.prompt);
    let Ctx {
        tx, conv, happened, ..
    } = ctx;
    let Some((entrance_id, kind, via, created_at)) = venues::take_pending(tx, chat).await? else {
        return Ok(Vec::new());
    };
    // A code scanned long ago is no longer at the door.
    if core.now_ms() - created_at > 3_600_000 {
        return Ok(Vec::new());
    }
    let code = Code {
        entrance_id,
        kind: Kind::parse(&kind).unwrap_or(Kind::Entry),
        kid: None,
    };
    check_in(
        core,
        tx,
        conv,
        chat,
        lang,
        p,
        happened,
        code,
        Via::parse(&via),
    )
    .await
}

async fn audit_refusal(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    person_id: Option<i64>,
    outcome: &str,
    door: Option<&Door>,
) -> Result<(), CoreError> {
    venues::audit(
        tx,
        &AuditLine {
            action: "checkin",
            outcome,
            venue_id: door.map(|d| d.venue_id),
            entrance_id: door.map(|d| d.entrance_id),
            chat: Some(chat),
            person_id,
            ..Default::default()
        },
        core.now_ms(),
    )
    .await?;
    Ok(())
}

async fn by_token(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    p: Prompt,
    happened: &mut Vec<Happened>,
    raw: &str,
    via: Via,
) -> Result<Vec<Outbound>, CoreError> {
    // The MAC is checked here; whether its key id is live, with the door, in one query.
    match TokenKeys::unchecked(core.vault.signing_key()).verify(raw) {
        Ok(t) => {
            let code = Code {
                entrance_id: t.entrance_id,
                kind: t.kind,
                kid: Some(t.kid),
            };
            check_in(core, tx, conv, chat, lang, p, happened, code, via).await
        }
        Err(e) => {
            let (outcome, key) = match e {
                TokenError::UnknownKey => ("revoked_key", "checkin-code-revoked"),
                TokenError::Malformed | TokenError::BadMac => ("bad_token", "checkin-code-invalid"),
            };
            tracing::info!(error = %e, via = via.as_str(), "check-in token refused");
            audit_refusal(core, tx, chat, conv.person_id, outcome, None).await?;
            Ok(refuse(p, conv, lang, Msg::new(key)))
        }
    }
}

async fn by_scan(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    p: Prompt,
    happened: &mut Vec<Happened>,
    scan: &Scan,
) -> Result<Vec<Outbound>, CoreError> {
    use qr::DecodeError as E;
    let texts = match scan {
        Ok(texts) => texts,
        Err(E::TooLarge { .. } | E::DimensionsTooLarge { .. }) => {
            return Ok(refuse(p, conv, lang, Msg::new("checkin-image-too-large")));
        }
        Err(E::NotAnImage | E::UnsupportedFormat(_) | E::Corrupt(_)) => {
            return Ok(refuse(p, conv, lang, Msg::new("checkin-image-unreadable")));
        }
        Err(E::Timeout | E::Internal) => {
            return Ok(refuse(p, conv, lang, Msg::new("checkin-no-qr")));
        }
    };
    if texts.is_empty() {
        return Ok(refuse(p, conv, lang, Msg::new("checkin-no-qr")));
    }
    // A photo may hold several codes; the first one of ours that verifies counts.
    let keys = TokenKeys::unchecked(core.vault.signing_key());
    let mut refused = None;
    for text in texts {
        if let Payload::Token(raw) = token::payload_of(text) {
            match keys.verify(raw) {
                Ok(t) => {
                    leave_guard(conv);
                    let code = Code {
                        entrance_id: t.entrance_id,
                        kind: t.kind,
                        kid: Some(t.kid),
                    };
                    return check_in(core, tx, conv, chat, lang, p, happened, code, Via::Photo)
                        .await;
                }
                Err(e) => refused = Some(e),
            }
        }
    }
    match refused {
        Some(e) => {
            let (outcome, key) = match e {
                TokenError::UnknownKey => ("revoked_key", "checkin-code-revoked"),
                _ => ("bad_token", "checkin-code-invalid"),
            };
            audit_refusal(core, tx, chat, conv.person_id, outcome, None).await?;
            Ok(refuse(p, conv, lang, Msg::new(key)))
        }
        None => Ok(refuse(p, conv, lang, Msg::new("checkin-not-ashyq"))),
    }
}

/// Checks a door for refusals: `Err(reply)` when it must not be used.
async fn usable_door(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    person_id: Option<i64>,
    code: Code,
) -> Result<Result<Door, Msg>, CoreError> {
    let kid = code.kid.map(i64::from);
    let Some(door) = venues::door(tx, code.entrance_id, kid).await? else {
        audit_refusal(core, tx, chat, person_id, "unknown_entrance", None).await?;
        return Ok(Err(Msg::new("checkin-code-revoked")));
    };
    match door_refusal(&door, core.now_ms()) {
        Some((outcome, msg)) => {
            audit_refusal(core, tx, chat, person_id, outcome, Some(&door)).await?;
            Ok(Err(msg))
        }
        None => Ok(Ok(door)),
    }
}

/// Why a door must not be used now (the audit outcome and the reply), if it must not.
fn door_refusal(door: &Door, now_ms: i64) -> Option<(&'static str, Msg)> {
    if door.key_live == 0 {
        return Some(("revoked_key", Msg::new("checkin-code-revoked")));
    }
    if door.entrance_revoked_at.is_some() || door.venue_revoked_at.is_some() {
        return Some(("revoked", Msg::new("checkin-code-revoked")));
    }
    let until = door.suspended_until.filter(|u| *u > now_ms)?;
    Some((
        "suspended",
        Msg::new("checkin-venue-suspended")
            .arg("venue", door.venue_name.clone())
            .arg("until", local_date(until)),
    ))
}

/// Whether a door may be used now.
fn usable_now(door: &Door, now_ms: i64) -> bool {
    door_refusal(door, now_ms).is_none()
}

/// The status of the conversation's person now: by the IIN hash loaded with the
/// conversation, or through the person's row when this very event registered them.
async fn status_of_conv(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    person: i64,
) -> Result<crate::status::Status, CoreError> {
    match &conv.iin_hash {
        Some(hash) => core.status_of(tx, hash, core.clock.now()).await,
        None => crate::status::person_status(tx, core, person, core.clock.now()).await,
    }
}

/// A code that named an entrance: by token (with its key id) or by short code.
#[derive(Debug, Clone, Copy)]
struct Code {
    entrance_id: i64,
    kind: Kind,
    kid: Option<u16>,
}

async fn check_in(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    p: Prompt,
    happened: &mut Vec<Happened>,
    code: Code,
    via: Via,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    let Code {
        entrance_id, kind, ..
    } = code;
    let door = match usable_door(core, tx, chat, conv.person_id, code).await? {
        Ok(door) => door,
        Err(msg) => return Ok(refuse(p, conv, lang, msg)),
    };
    let Some(person) = registered_person(conv) else {
        // Registration first; the check-in completes by itself afterwards.
        venues::set_pending(tx, chat, entrance_id, kind.as_str(), via.as_str(), now).await?;
        let out = reply(
            lang,
            Msg::new("checkin-register-first").arg("venue", door.venue_name.clone()),
        );
        happened.push(Happened::RegistrationNeeded);
        return Ok(out);
    };
    match kind {
        Kind::Exit => {
            let open = venues::open_visits(tx, person).await?;
            match open.iter().find(|v| v.venue_id == door.venue_id) {
                Some(v) => {
                    let v = v.clone();
                    leave(core, tx, lang, &v, "exit_code").await
                }
                None => {
                    audit_refusal(
                        core,
                        tx,
                        chat,
                        Some(person),
                        "exit_without_entry",
                        Some(&door),
                    )
                    .await?;
                    Ok(refuse(
                        p,
                        conv,
                        lang,
                        Msg::new("checkin-exit-without-entry").arg("venue", door.venue_name),
                    ))
                }
            }
        }
        Kind::Entry => {
            let since = now - REPEAT_WINDOW_MS;
            let visits = venues::person_visits(tx, person, entrance_id, since).await?;
            let recent = visits
                .iter()
                .find(|v| v.entrance_id == Some(entrance_id) && v.entered_at >= since);
            if let Some(prev) = recent
                && prev.left_at.is_none()
            {
                venues::audit(
                    tx,
                    &AuditLine {
                        action: "checkin",
                        outcome: "repeat",
                        venue_id: Some(prev.venue_id),
                        entrance_id: prev.entrance_id,
                        checkin_id: Some(prev.id),
                        chat: Some(chat),
                        person_id: Some(person),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
                return Ok(vec![result(prev, lang)]);
            }
            let status = status_of_conv(core, tx, conv, person).await?;
            let category = VenueCategory::parse(&door.category).unwrap_or(VenueCategory::Ordinary);
            let decision = decide(&status, category);
            let view = record_entry(
                core,
                tx,
                &door_target(&door, now),
                Entrant {
                    person_id: Some(person),
                    iin_hash: None,
                    chat: Some(chat),
                    via,
                    actor: chat,
                    open: Some(
                        visits
                            .iter()
                            .filter(|v| v.admitted == 1 && v.left_at.is_none())
                            .map(|v| v.id)
                            .collect(),
                    ),
                },
                decision,
            )
            .await?;
            let mut out = vec![result(&view, lang)];
            if door.test_until.is_some_and(|t| t > now) {
                out.push(Outbound::reply(
                    lang,
                    Msg::new("checkin-test-mode").arg("venue", view.venue_name.clone()),
                ));
            }
            Ok(out)
        }
    }
}

/// Where an entry is recorded.
struct Target {
    venue_id: i64,
    venue_name: String,
    region: String,
    category: String,
    entrance_id: Option<i64>,
    entrance_name: Option<String>,
    max_stay_ms: i64,
    /// The venue is in its test week: the check-in is marked test and alerts nobody.
    test: bool,
}

fn door_target(door: &Door, now_ms: i64) -> Target {
    Target {
        venue_id: door.venue_id,
        venue_name: door.venue_name.clone(),
        region: door.region.clone(),
        category: door.category.clone(),
        entrance_id: Some(door.entrance_id),
        entrance_name: Some(door.entrance_name.clone()),
        max_stay_ms: door.max_stay_ms,
        test: door.test_until.is_some_and(|t| t > now_ms),
    }
}

/// Who enters.
struct Entrant<'a> {
    person_id: Option<i64>,
    iin_hash: Option<&'a [u8]>,
    /// The visitor's own chat (none in guard mode).
    chat: Option<&'a ChatRef>,
    via: Via,
    /// The chat that caused the entry (the visitor, or the guard).
    actor: &'a ChatRef,
    /// The person's open visits when the caller already read them.
    open: Option<Vec<i64>>,
}

/// Records an entry attempt: closes the person's other open visits when admitted, writes the
/// check-in with a fresh check code, the audit line, the staff feed and the sanitary alert.
async fn record_entry(
    core: &Core,
    tx: &mut Tx,
    target: &Target,
    who: Entrant<'_>,
    decision: Decision,
) -> Result<CheckinView, CoreError> {
    let now = core.now_ms();
    if decision.admit
        && let Some(person) = who.person_id
    {
        let open = match who.open {
            Some(ids) => ids,
            None => venues::open_visits(tx, person)
                .await?
                .into_iter()
                .map(|v| v.id)
                .collect(),
        };
        for visit in open {
            venues::close_visit(tx, visit, now, "next_entry").await?;
        }
    }
    // A fresh check code, unique at the venue for a day (the insert refuses a taken one).
    let mut inserted = None;
    for _ in 0..20 {
        let code = token::new_check_code();
        let row = NewCheckin {
            venue_id: target.venue_id,
            entrance_id: target.entrance_id,
            person_id: who.person_id,
            iin_hash: who.iin_hash,
            chat: who.chat,
            via: who.via.as_str(),
            colour: decision.colour.as_str(),
            admitted: decision.admit,
            check_code: &code,
            entered_at: now,
            closes_at: now + target.max_stay_ms,
        };
        if let Some(id) = venues::insert_checkin(tx, &row, now - CHECK_CODE_WINDOW_MS).await? {
            inserted = Some((id, code));
            break;
        }
    }
    let (id, code) = inserted
        .ok_or_else(|| CoreError::internal("check code", "no free check code at the venue"))?;
    if target.test {
        crate::storage::business::mark_checkin_test(tx, id).await?;
    }
    // The check-in row records a visitor's own entry (who, when, where, colour, verdict);
    // a guard's look-up and an attempt that alerts sanitary control also get an audit line
    // (the look-up limit counts them; the alert cites its reference).
    let alerting = alerts_sanitary_control(decision.colour) && !target.test;
    let audit_id = if who.via == Via::Guard || alerting {
        let line = AuditLine {
            action: if who.via == Via::Guard {
                "guard_lookup"
            } else {
                "checkin"
            },
            outcome: verdict(decision.admit),
            venue_id: Some(target.venue_id),
            entrance_id: target.entrance_id,
            checkin_id: Some(id),
            chat: Some(who.actor),
            person_id: who.person_id,
            iin_hash: who.iin_hash,
        };
        Some(venues::audit(tx, &line, now).await?)
    } else {
        None
    };
    let view = entry_view(
        target,
        id,
        &code,
        who.person_id,
        who.chat,
        who.via,
        decision,
        now,
    );
    let [kk, ru, en] = staff_payloads(&view, decision, who.via)?;
    let skip = (who.via == Via::Guard).then_some(who.actor);
    // Core::handle wakes the outbox worker after the commit.
    outbox::enqueue_to_staff(
        tx,
        target.venue_id,
        [&kk, &ru, &en],
        &format!("ci-feed-{id}-"),
        skip,
        now,
    )
    .await?;
    if alerting {
        match venues::alert_chat(tx, &view.region).await? {
            Some((to, lang)) => {
                let lang = lang
                    .as_deref()
                    .and_then(Lang::from_code)
                    .unwrap_or(Lang::Ru);
                let alert = Outbound {
                    to: Recipient::Chat(to.clone()),
                    lang,
                    text: Msg::new("checkin-sanitary-alert")
                        .arg("venue", view.venue_name.clone())
                        .arg("venue_id", view.venue_id.to_string())
                        .arg("entrance", entrance_label(&view))
                        .arg("time", format!("{} {}", local_date(now), local_time(now)))
                        .arg("colour", decision.colour.as_str())
                        .arg(
                            "reference",
                            audit_id.map(|a| format!("A-{a}")).unwrap_or_default(),
                        ),
                    keyboard: Keyboard::Keep,
                    relay: None,
                    attachment: None,
                };
                let key = format!("ci-alert-{id}");
                core.enqueue(tx, &to, &alert, Some(&key), None).await?;
            }
            None => {
                tracing::warn!(region = %view.region, checkin = id, "no sanitary-control chat configured for the region");
            }
        }
    }
    Ok(view)
}

/// The check-in just written, as a reply shows it.
#[allow(clippy::too_many_arguments)]
fn entry_view(
    target: &Target,
    id: i64,
    code: &str,
    person_id: Option<i64>,
    chat: Option<&ChatRef>,
    via: Via,
    decision: Decision,
    now: i64,
) -> CheckinView {
    CheckinView {
        id,
        venue_id: target.venue_id,
        venue_name: target.venue_name.clone(),
        region: target.region.clone(),
        category: target.category.clone(),
        entrance_id: target.entrance_id,
        entrance_name: target.entrance_name.clone(),
        person_id,
        channel: chat.map(|c| c.channel.clone()),
        chat_id: chat.map(|c| c.chat_id.clone()),
        via: via.as_str().to_string(),
        colour: decision.colour.as_str().to_string(),
        admitted: i64::from(decision.admit),
        check_code: code.to_string(),
        entered_at: now,
        closes_at: now + target.max_stay_ms,
        left_at: None,
    }
}

/// The live staff feed's line for a check-in, in kk, ru and en: time, entrance, colour,
/// admit or not, check code — no name, no IIN.
fn staff_payloads(
    view: &CheckinView,
    decision: Decision,
    via: Via,
) -> Result<[String; 3], StoreError> {
    let line = Msg::new("checkin-staff-line")
        .arg("time", local_time(view.entered_at))
        .arg("entrance", entrance_label(view))
        .arg("colour", decision.colour.as_str())
        .arg("verdict", verdict(decision.admit))
        .arg("code", view.check_code.clone())
        .arg("via", via.as_str());
    let [kk, ru, en] = [Lang::Kk, Lang::Ru, Lang::En]
        .map(|lang| serde_json::to_string(&Outbound::reply(lang, line.clone())));
    Ok([kk?, ru?, en?])
}

fn entrance_label(view: &CheckinView) -> String {
    view.entrance_name.clone().unwrap_or_else(|| "—".into())
}

/// The reply to a check-in: colour block, admit or not, venue, entrance, time, check code.
fn result(view: &CheckinView, lang: Lang) -> Outbound {
    let admit = view.admitted == 1;
    Outbound::reply(
        lang,
        Msg::new("checkin-result")
            .arg("colour", view.colour.clone())
            .arg("verdict", verdict(admit))
            .arg("venue", view.venue_name.clone())
            .arg("entrance", entrance_label(view))
            .arg("time", local_time(view.entered_at))
            .arg("code", view.check_code.clone()),
    )
    .with_keyboard(result_keyboard(view))
}

async fn leave(
    core: &Core,
    tx: &mut Tx,
    lang: Lang,
    visit: &CheckinView,
    how: &str,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    if visit.left_at.is_some() || !venues::close_visit(tx, visit.id, now, how).await? {
        return Ok(reply(lang, Msg::new("checkin-not-inside")));
    }
    venues::audit(
        tx,
        &AuditLine {
            action: "exit",
            outcome: how,
            venue_id: Some(visit.venue_id),
            entrance_id: visit.entrance_id,
            checkin_id: Some(visit.id),
            person_id: visit.person_id,
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(reply(
        lang,
        Msg::new("checkin-left")
            .arg("venue", visit.venue_name.clone())
            .arg("time", local_time(now))
            .num("minutes", ((now - visit.entered_at) / 60_000).max(0)),
    ))
}

/// Check-in `id` when it is this registered person's: `Err(text)` otherwise.
async fn own_visit(
    tx: &mut Tx,
    conv: &Conversation,
    id: i64,
) -> Result<Result<CheckinView, Msg>, CoreError> {
    let Some(person) = registered_person(conv) else {
        return Ok(Err(Msg::new("hint-register-first")));
    };
    match venues::checkin(tx, id).await? {
        Some(view) if view.person_id == Some(person) => Ok(Ok(view)),
        _ => Ok(Err(Msg::new("hint-stale-button"))),
    }
}

/// "Refresh": the visit's colour now.
async fn refresh(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    lang: Lang,
    id: i64,
) -> Result<Vec<Outbound>, CoreError> {
    let view = match own_visit(tx, conv, id).await? {
        Ok(view) => view,
        Err(msg) => return Ok(reply(lang, msg)),
    };
    let Some(person) = registered_person(conv) else {
        return Ok(reply(lang, Msg::new("hint-register-first")));
    };
    let now = core.now_ms();
    let status = status_of_conv(core, tx, conv, person).await?;
    let category = VenueCategory::parse(&view.category).unwrap_or(VenueCategory::Ordinary);
    let decision = decide(&status, category);
    let age_min = (now - view.entered_at) / 60_000;
    let stale = now - view.entered_at > STALE_AFTER_MS;
    Ok(vec![
        Outbound::reply(
            lang,
            Msg::new("checkin-refreshed")
                .arg("colour", decision.colour.as_str())
                .arg("verdict", verdict(decision.admit))
                .arg("venue", view.venue_name.clone())
                .arg("entrance", entrance_label(&view))
                .arg("time", local_time(view.entered_at))
                .arg("checked", local_time(now))
                .arg("code", view.check_code.clone())
                .arg("stale", if stale { "yes" } else { "no" })
                .num("minutes", age_min),
        )
        .with_keyboard(result_keyboard(&view)),
    ])
}

/// "Refresh", and "I left" while inside.
fn result_keyboard(view: &CheckinView) -> Keyboard {
    let mut buttons = vec![button("checkin-refresh", CheckInButton::Refresh(view.id))];
    if view.admitted == 1 && view.left_at.is_none() {
        buttons.push(button("checkin-left-button", CheckInButton::Left(view.id)));
    }
    Keyboard::Inline(vec![buttons])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{CauseKind, evaluate};

    fn status(colour: Colour) -> Status {
        Status {
            colour,
            since: None,
            until: None,
            cause_kind: CauseKind::None,
            cause_date: None,
        }
    }

    #[test]
    fn admission_follows_colour_and_category() {
        use Colour::*;
        use VenueCategory::*;
        for (colour, category, admit) in [
            (Red, Essential, false),
            (Yellow, Essential, true),
            (Yellow, Ordinary, false),
            (Blue, PcrRequired, false),
            (Blue, Ordinary, true),
            (Green, PcrRequired, true),
        ] {
            let d = decide(&status(colour), category);
            assert_eq!(d, Decision { colour, admit }, "{colour} at {category}");
        }
        let now = chrono::Utc::now();
        assert_eq!(decide(&evaluate(&[], &[], now), Ordinary).colour, Blue);
        assert!(alerts_sanitary_control(Red) && alerts_sanitary_control(Yellow));
        assert!(!alerts_sanitary_control(Green) && !alerts_sanitary_control(Blue));
    }

    /// Red and yellow attempts alert the region's sanitary-control chat through the outbox;
    /// every attempt reaches the staff feed; neither carries personal data. (The colours come
    /// from the seam `status::person_status`, blue until PCR records exist, so the decision
    /// is injected here.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn red_and_yellow_attempts_alert_sanitary_control() {
        use crate::clock::ManualClock;
        use crate::crypto::Vault;
        use crate::i18n::Texts;
        use crate::storage::{Store, outbox, people};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&url).await.unwrap();
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00+05:00")
            .unwrap()
            .to_utc();
        let core = Core::new(
            store,
            Vault::from_secret(&"ab".repeat(32)).unwrap(),
            Arc::new(ManualClock::new(start)),
            Arc::new(Texts::load()),
        );
        let added = admin::add_venue(
            &core,
            &admin::AddVenue {
                name: "Kino".into(),
                bin: admin::DEMO_BIN.into(),
                address: "Abai 1".into(),
                region: " Almaty ".into(),
                category: "ordinary".into(),
                entrances: 1,
                max_stay_ms: None,
            },
            "bot",
        )
        .await
        .unwrap();
        let sanitary = ChatRef::new("telegram", "-100500");
        admin::set_alert_chat(&core, "ALMATY", &sanitary)
            .await
            .unwrap();
        let staff = ChatRef::new("telegram", "77");
        let visitor = ChatRef::new("telegram", "88");
        let mut tx = core.store.begin().await.unwrap();
        venues::add_staff(&mut tx, added.venue_id, &staff, None, "staff", 0)
            .await
            .unwrap();
        let person = people::insert(&mut tx, b"phone-hash", b"sealed", 0, 0)
            .await
            .unwrap();
        let entrance = venues::entrances_of(&mut tx, added.venue_id).await.unwrap()[0].id;
        let door = venues::door(&mut tx, entrance, None)
            .await
            .unwrap()
            .unwrap();
        let mut codes = Vec::new();
        for (colour, admit) in [
            (Colour::Red, false),
            (Colour::Yellow, false),
            (Colour::Green, true),
            (Colour::Blue, true),
        ] {
            let view = record_entry(
                &core,
                &mut tx,
                &door_target(&door, core.now_ms()),
                Entrant {
                    person_id: Some(person),
                    iin_hash: None,
                    chat: Some(&visitor),
                    via: Via::Photo,
                    actor: &visitor,
                    open: None,
                },
                Decision { colour, admit },
            )
            .await
            .unwrap();
            assert_eq!(view.admitted == 1, admit);
            codes.push(view.check_code);
        }
        tx.commit().await.unwrap();
        let mut conn = core.store.pool().acquire().await.unwrap();
        let now = core.now_ms();
        let alerts = outbox::due_for_chat(&mut conn, &sanitary, now)
            .await
            .unwrap();
        assert_eq!(alerts.len(), 2, "red and yellow only");
        let texts: Vec<String> = alerts
            .iter()
            .map(|r| {
                let m: Outbound = serde_json::from_str(&r.payload).unwrap();
                assert_eq!(m.text.key(), "checkin-sanitary-alert");
                core.texts.render(Lang::Ru, &m.text)
            })
            .collect();
        assert!(
            texts[0].contains("КРАСНЫЙ") && texts[0].contains("Kino"),
            "{}",
            texts[0]
        );
        assert!(
            texts[1].contains("ЖЁЛТЫЙ") && texts[1].contains("A-"),
            "{}",
            texts[1]
        );
        let feed = outbox::due_for_chat(&mut conn, &staff, now).await.unwrap();
        assert_eq!(feed.len(), 4, "every attempt reaches the staff feed");
        for (row, code) in feed.iter().zip(&codes) {
            let m: Outbound = serde_json::from_str(&row.payload).unwrap();
            let text = core.texts.render(Lang::Ru, &m.text);
            assert!(text.contains(code.as_str()), "{text}");
        }
        // Check codes are distinct within the venue.
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
        // Only the last (admitted) visit is open: each admitted entry closed the one before.
        assert_eq!(
            venues::occupancy(&mut conn, added.venue_id).await.unwrap(),
            1
        );
    }

    #[test]
    fn local_time_is_almaty() {
        // 2026-11-21 05:00 UTC is 10:00 in Almaty.
        let ms = chrono::DateTime::parse_from_rfc3339("2026-11-21T05:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(local_time(ms), "10:00");
        assert_eq!(local_date(ms), "21.11.2026");
    }
}
