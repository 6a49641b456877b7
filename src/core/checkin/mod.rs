//! Venue check-in: signed codes by deep link, photo or short code; exits and automatic
//! check-out; the live staff feed; guard mode; sanitary alerts.
//!
//! The conversation calls [`intercept`] before its own dispatch; everything about venues is
//! decided here. The admission decision is the pure [`decide`]; a person's colour comes from
//! the seam [`crate::status::person_status`].

pub mod admin;
pub mod due;
pub mod lane;
pub mod poster;
pub mod token;

pub use due::run_due;

use super::{Button, Conversation, Core, CoreError, Event, Keyboard, Label, MediaKind, Outbound};
use super::{Recipient, State, conversation};
use crate::clock::{local_date, local_time};
use crate::crypto::Field;
use crate::domain::{Iin, IinError, Lang};
use crate::i18n::Msg;
use crate::qr;
use crate::status::{Colour, Status, VenueCategory};
use crate::storage::venues::{self, AuditLine, CheckinView, Door, NewCheckin};
use crate::storage::{ChatRef, Conn, StoreError, Tx, outbox};
use token::{Kind, Payload, TokenError, TokenKeys};

/// Largest image accepted (a photo or an image document), checked before downloading.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// The same code scanned again within this window is the same visit and the same reply.
pub const REPEAT_WINDOW_MS: i64 = 60_000;
/// A result older than this says it is stale when refreshed.
pub const STALE_AFTER_MS: i64 = 5 * 60_000;
/// The visitor is reminded this long before the automatic check-out.
pub const REMIND_BEFORE_MS: i64 = 15 * 60_000;
/// Default maximum stay of a venue.
pub const DEFAULT_MAX_STAY_MS: i64 = 3 * 3_600_000;
/// Guard-mode look-ups allowed per staff chat per hour.
pub const GUARD_LIMIT_PER_HOUR: i64 = 60;
/// Check codes are unique per venue within this window.
const CHECK_CODE_WINDOW_MS: i64 = 24 * 3_600_000;

/// The decoder's limits for check-in photos.
pub fn limits() -> qr::Limits {
    qr::Limits {
        max_bytes: MAX_IMAGE_BYTES,
        ..qr::Limits::default()
    }
}

/// What the decoder found in an image.
pub type Scan = Result<Vec<String>, qr::DecodeError>;

/// Decodes an image on the blocking pool (never on the async workers).
pub async fn scan(bytes: Vec<u8>) -> Scan {
    qr::decode_off_runtime(bytes, limits()).await
}

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

/// The signing keys in force, from the key table.
pub async fn token_keys(core: &Core, conn: &mut Conn) -> Result<Option<TokenKeys>, StoreError> {
    let live = venues::live_key_ids(conn).await?;
    Ok(TokenKeys::new(core.vault.signing_key(), &live))
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

fn reply(lang: Lang, msg: Msg) -> Vec<Outbound> {
    vec![Outbound::reply(lang, msg)]
}

/// A refusal, then the current step's prompt again (the conversation goes on where it was).
fn refuse(conv: &Conversation, lang: Lang, msg: Msg) -> Vec<Outbound> {
    vec![
        Outbound::reply(lang, msg),
        conversation::prompt(&conv.state, lang),
    ]
}

fn button(key: &'static str, data: String) -> Button {
    Button {
        label: Label::Text(Msg::new(key)),
        data,
    }
}

/// The check-in entry point of the conversation: `Some(replies)` when the event was about
/// venues, `None` to let the conversation handle it.
pub(super) async fn intercept(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    event: &Event,
    scan: Option<&Scan>,
    lang: Lang,
) -> Result<Option<Vec<Outbound>>, CoreError> {
    // Guard mode keeps its own steps; anything else leaves it first.
    if let State::GuardIin { menu, .. } | State::GuardConfirm { menu, .. } = conv.state {
        let ours = matches!(
            (&conv.state, event),
            (State::GuardIin { .. }, Event::Text(_))
                | (_, Event::Button(_))
                | (_, Event::Command { .. })
        );
        if !ours {
            conv.state = resume(menu);
        }
    }
    match event {
        Event::Command { name, arg } if name == "start" && !arg.is_empty() => {
            if let Some(invite) = arg.strip_prefix(admin::INVITE_PREFIX) {
                return Ok(Some(
                    accept_invite(core, tx, conv, chat, lang, invite).await?,
                ));
            }
            leave_guard(conv);
            Ok(Some(
                by_token(core, tx, conv, chat, lang, arg, Via::Link).await?,
            ))
        }
        Event::Command { name, arg } if name == "guard" => {
            Ok(Some(guard_start(core, tx, conv, chat, lang, arg).await?))
        }
        Event::Command { name, .. } if name == "occupancy" => {
            leave_guard(conv);
            Ok(Some(occupancy(tx, chat, lang).await?))
        }
        Event::Command { name, .. } if name == "left" => {
            leave_guard(conv);
            let Some(person) = registered_person(conv) else {
                return Ok(Some(reply(lang, Msg::new("hint-register-first"))));
            };
            let open = venues::open_visits(tx, person).await?;
            match open.last() {
                Some(v) => Ok(Some(leave(core, tx, lang, v, "button").await?)),
                None => Ok(Some(reply(lang, Msg::new("checkin-not-inside")))),
            }
        }
        Event::Command { .. } => {
            leave_guard(conv);
            Ok(None)
        }
        Event::Image(_) => {
            let Some(scan) = scan else {
                return Ok(None);
            };
            Ok(Some(by_scan(core, tx, conv, chat, lang, scan).await?))
        }
        Event::Unsupported(MediaKind::OversizedImage) => Ok(Some(refuse(
            conv,
            lang,
            Msg::new("checkin-image-too-large"),
        ))),
        Event::Unsupported(MediaKind::Document)
            if matches!(conv.state, State::Menu | State::Idle) =>
        {
            Ok(Some(refuse(conv, lang, Msg::new("checkin-not-an-image"))))
        }
        Event::Button(data) if data.starts_with("ci:") => Ok(Some(
            on_button(core, tx, conv, chat, lang, &data[3..]).await?,
        )),
        Event::Text(text) if matches!(conv.state, State::GuardIin { .. }) => {
            Ok(Some(guard_iin(core, tx, conv, chat, lang, text).await?))
        }
        Event::Text(text) if matches!(conv.state, State::Menu | State::Idle) => {
            let Some(code) = token::parse_short_code(text) else {
                return Ok(None);
            };
            match venues::entrance_by_code(tx, &code).await? {
                Some((entrance_id, exit)) => {
                    let code = Code {
                        entrance_id,
                        kind: if exit { Kind::Exit } else { Kind::Entry },
                        kid: None,
                    };
                    Ok(Some(
                        check_in(core, tx, conv, chat, lang, code, Via::Code).await?,
                    ))
                }
                None => Ok(Some(refuse(conv, lang, Msg::new("checkin-code-unknown")))),
            }
        }
        _ => Ok(None),
    }
}

/// The "check in" menu entry: how to check in.
pub(super) fn instructions(lang: Lang) -> Outbound {
    Outbound::reply(lang, Msg::new("checkin-how"))
}

/// After registration completed: the check-in that was waiting for it.
pub(super) async fn after_registration(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
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
    check_in(core, tx, conv, chat, lang, code, Via::parse(&via)).await
}

fn resume(menu: bool) -> State {
    if menu { State::Menu } else { State::Idle }
}

fn leave_guard(conv: &mut Conversation) {
    if let State::GuardIin { menu, .. } | State::GuardConfirm { menu, .. } = conv.state {
        conv.state = resume(menu);
    }
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
            check_in(core, tx, conv, chat, lang, code, via).await
        }
        Err(e) => {
            let (outcome, key) = match e {
                TokenError::UnknownKey => ("revoked_key", "checkin-code-revoked"),
                TokenError::Malformed | TokenError::BadMac => ("bad_token", "checkin-code-invalid"),
            };
            tracing::info!(error = %e, via = via.as_str(), "check-in token refused");
            audit_refusal(core, tx, chat, conv.person_id, outcome, None).await?;
            Ok(refuse(conv, lang, Msg::new(key)))
        }
    }
}

async fn by_scan(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    scan: &Scan,
) -> Result<Vec<Outbound>, CoreError> {
    use qr::DecodeError as E;
    let texts = match scan {
        Ok(texts) => texts,
        Err(E::TooLarge { .. } | E::DimensionsTooLarge { .. }) => {
            return Ok(refuse(conv, lang, Msg::new("checkin-image-too-large")));
        }
        Err(E::NotAnImage | E::UnsupportedFormat(_) | E::Corrupt(_)) => {
            return Ok(refuse(conv, lang, Msg::new("checkin-image-unreadable")));
        }
        Err(E::Timeout | E::Internal) => {
            return Ok(refuse(conv, lang, Msg::new("checkin-no-qr")));
        }
    };
    if texts.is_empty() {
        return Ok(refuse(conv, lang, Msg::new("checkin-no-qr")));
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
                    return check_in(core, tx, conv, chat, lang, code, Via::Photo).await;
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
            Ok(refuse(conv, lang, Msg::new(key)))
        }
        None => Ok(refuse(conv, lang, Msg::new("checkin-not-ashyq"))),
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
    code: Code,
    via: Via,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    let Code {
        entrance_id, kind, ..
    } = code;
    let door = match usable_door(core, tx, chat, conv.person_id, code).await? {
        Ok(door) => door,
        Err(msg) => return Ok(refuse(conv, lang, msg)),
    };
    let Some(person) = registered_person(conv) else {
        // Registration first; the check-in completes by itself afterwards.
        venues::set_pending(tx, chat, entrance_id, kind.as_str(), via.as_str(), now).await?;
        let mut out = reply(
            lang,
            Msg::new("checkin-register-first").arg("venue", door.venue_name.clone()),
        );
        out.extend(conversation::start(conv, lang));
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
    let (id, code) = inserted.ok_or_else(|| {
        StoreError::Db(sqlx::Error::Protocol(
            "no free check code at the venue".into(),
        ))
    })?;
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
    let mut buttons = vec![button("checkin-refresh", format!("ci:r:{}", view.id))];
    if admit && view.left_at.is_none() {
        buttons.push(button("checkin-left-button", format!("ci:l:{}", view.id)));
    }
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
    .with_keyboard(Keyboard::Inline(vec![buttons]))
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

async fn on_button(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    data: &str,
) -> Result<Vec<Outbound>, CoreError> {
    let stale = || reply(lang, Msg::new("hint-stale-button"));
    match data {
        "gy" => return guard_confirm(core, tx, conv, chat, lang).await,
        "gc" => {
            leave_guard(conv);
            return Ok(reply(lang, Msg::new("guard-cancelled")));
        }
        _ => {}
    }
    leave_guard(conv);
    let (action, id) = match data.split_once(':') {
        Some((a, id)) => match id.parse::<i64>() {
            Ok(id) => (a, id),
            Err(_) => return Ok(stale()),
        },
        None => return Ok(stale()),
    };
    let Some(person) = registered_person(conv) else {
        return Ok(reply(lang, Msg::new("hint-register-first")));
    };
    let Some(view) = venues::checkin(tx, id).await? else {
        return Ok(stale());
    };
    if view.person_id != Some(person) {
        return Ok(stale());
    }
    match action {
        "l" => leave(core, tx, lang, &view, "button").await,
        "r" => {
            let now = core.now_ms();
            let status = status_of_conv(core, tx, conv, person).await?;
            let category = VenueCategory::parse(&view.category).unwrap_or(VenueCategory::Ordinary);
            let decision = decide(&status, category);
            let age_min = (now - view.entered_at) / 60_000;
            let stale = now - view.entered_at > STALE_AFTER_MS;
            let mut buttons = vec![button("checkin-refresh", format!("ci:r:{}", view.id))];
            if view.admitted == 1 && view.left_at.is_none() {
                buttons.push(button("checkin-left-button", format!("ci:l:{}", view.id)));
            }
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
                .with_keyboard(Keyboard::Inline(vec![buttons])),
            ])
        }
        _ => Ok(stale()),
    }
}

// ---------------------------------------------------------------- staff

async fn accept_invite(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    invite: &str,
) -> Result<Vec<Outbound>, CoreError> {
    let hash = admin::invite_hash(invite);
    let now = core.now_ms();
    let Some((venue_id, role)) = venues::take_invite(tx, &hash, chat, now).await? else {
        return Ok(reply(lang, Msg::new("invite-invalid")));
    };
    venues::add_staff(tx, venue_id, chat, conv.person_id, &role, now).await?;
    let name = venues::venue(tx, venue_id)
        .await?
        .map(|v| v.name)
        .unwrap_or_default();
    Ok(reply(
        lang,
        Msg::new("invite-accepted")
            .arg("venue", name)
            .arg("role", role),
    ))
}

async fn occupancy(tx: &mut Tx, chat: &ChatRef, lang: Lang) -> Result<Vec<Outbound>, CoreError> {
    let places = venues::staff_venues(tx, chat).await?;
    if places.is_empty() {
        return Ok(reply(lang, Msg::new("staff-only")));
    }
    let mut out = Vec::new();
    for (venue_id, name, _) in places {
        let n = venues::occupancy(tx, venue_id).await?;
        out.push(Outbound::reply(
            lang,
            Msg::new("occupancy-line")
                .arg("venue", name)
                .num("count", n),
        ));
    }
    Ok(out)
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
    Ok(Ok(*venue_id))
}

fn cancel_keyboard() -> Keyboard {
    Keyboard::Inline(vec![vec![button("guard-cancel", "ci:gc".into())]])
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
    _tx: &mut Tx,
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
    let hash = core.vault.lookup_hash(Field::Iin, &iin.expose());
    conv.state = State::GuardConfirm {
        venue_id,
        iin_hash: hex::encode(hash),
        menu,
    };
    Ok(vec![
        Outbound::reply(lang, Msg::new("guard-confirm-consent")).with_keyboard(Keyboard::Inline(
            vec![vec![
                button("guard-consent-yes", "ci:gy".into()),
                button("guard-cancel", "ci:gc".into()),
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
                .arg("until", local_date(venue.suspended_until.unwrap_or(now))),
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
