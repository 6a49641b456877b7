//! A visitor's check-in: by link, photo or typed code; exit codes and "I left"; the
//! result's refresh; the entry record with its staff feed and sanitary alert.

use super::*;

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
            use crate::security::throttle::{self, Scope};
            if throttle::exceeded(tx, Scope::VenueCode, chat, core.now_ms())
                .await?
                .is_some()
            {
                return Ok(refuse(p, conv, lang, Msg::new("security-code-attempts")));
            }
            match venues::entrance_by_code(tx, &code).await? {
                Some((entrance_id, exit)) => {
                    let code = Code {
                        entrance_id,
                        kind: if exit { Kind::Exit } else { Kind::Entry },
                        kid: None,
                    };
                    check_in(core, tx, conv, chat, lang, p, happened, code, Via::Code).await
                }
                None => {
                    throttle::record(tx, Scope::VenueCode, chat, core.now_ms()).await?;
                    Ok(refuse(p, conv, lang, Msg::new("checkin-code-unknown")))
                }
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
        CheckInRoute::GroupToggle(n) => Ok(super::group::toggle(core, conv, lang, n)),
        CheckInRoute::GroupDone(others) => {
            super::group::done(core, tx, conv, chat, lang, p, others).await
        }
    }
}

/// The "check in" menu entry: how to check in.
pub(super) fn instructions(lang: Lang) -> Outbound {
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

pub(super) async fn audit_refusal(
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

// The event's parts as separate borrows (the transaction and the conversation are used
// together; a `Ctx` would borrow them as one).
#[allow(clippy::too_many_arguments)]
pub(super) async fn by_token(
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

// The event's parts as separate borrows (the transaction and the conversation are used
// together; a `Ctx` would borrow them as one).
#[allow(clippy::too_many_arguments)]
pub(super) async fn by_scan(
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
pub(super) async fn usable_door(
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
pub(super) fn door_refusal(door: &Door, now_ms: i64) -> Option<(&'static str, Msg)> {
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
            .date_of("until", until),
    ))
}

/// Whether a door may be used now.
pub(super) fn usable_now(door: &Door, now_ms: i64) -> bool {
    door_refusal(door, now_ms).is_none()
}

/// The status of the conversation's person now: by the IIN hash loaded with the
/// conversation, or through the person's row when this very event registered them.
pub(super) async fn status_of_conv(
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
pub(super) struct Code {
    pub(super) entrance_id: i64,
    pub(super) kind: Kind,
    pub(super) kid: Option<u16>,
}

// The event's parts as separate borrows (the transaction and the conversation are used
// together; a `Ctx` would borrow them as one).
#[allow(clippy::too_many_arguments)]
pub(super) async fn check_in(
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
            // A colour only over a binding the identity registry confirmed.
            if let Some(instead) =
                crate::core::shared::identity::gate(core, tx, conv, chat, lang, p).await?
            {
                return Ok(instead);
            }
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
            // An adult with dependants: "who is with you?" first (super::group).
            if let Some(out) =
                super::group::ask(core, tx, conv, lang, person, &door, code, via).await?
            {
                return Ok(out);
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
pub(super) struct Target {
    pub(super) venue_id: i64,
    pub(super) venue_name: String,
    pub(super) region: String,
    pub(super) category: String,
    pub(super) entrance_id: Option<i64>,
    pub(super) entrance_name: Option<String>,
    pub(super) max_stay_ms: i64,
    /// The venue is in its test week: the check-in is marked test and alerts nobody.
    pub(super) test: bool,
}

pub(super) fn door_target(door: &Door, now_ms: i64) -> Target {
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
pub(super) struct Entrant<'a> {
    pub(super) person_id: Option<i64>,
    pub(super) iin_hash: Option<&'a [u8]>,
    /// The visitor's own chat (none in guard mode).
    pub(super) chat: Option<&'a ChatRef>,
    pub(super) via: Via,
    /// The chat that caused the entry (the visitor, or the guard).
    pub(super) actor: &'a ChatRef,
    /// The person's open visits when the caller already read them.
    pub(super) open: Option<Vec<i64>>,
}

/// Records an entry attempt: closes the person's other open visits when admitted, writes the
/// check-in with a fresh check code, the audit line, the staff feed and the sanitary alert.
pub(super) async fn record_entry(
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
        if let Some(id) = venues::insert_checkin(tx, &row).await? {
            inserted = Some((id, code));
            break;
        }
    }
    let (id, code) = inserted
        .ok_or_else(|| CoreError::internal("check code", "no free check code at the venue"))?;
    if target.test {
        crate::storage::venues::mark_checkin_test(tx, id).await?;
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
                    .unwrap_or(Lang::FALLBACK);
                let alert = Outbound {
                    to: Recipient::Chat(to.clone()),
                    lang,
                    text: Msg::new("checkin-sanitary-alert")
                        .arg("venue", view.venue_name.clone())
                        .arg("venue_id", view.venue_id.to_string())
                        .arg("entrance", entrance_label(&view))
                        .date_time("time", now)
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
pub(super) fn entry_view(
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
pub(super) fn staff_payloads(
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

pub(super) fn entrance_label(view: &CheckinView) -> String {
    view.entrance_name.clone().unwrap_or_else(|| "—".into())
}

/// The reply to a check-in: colour block, admit or not, venue, entrance, time, check code.
pub(super) fn result(view: &CheckinView, lang: Lang) -> Outbound {
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

pub(super) async fn leave(
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
    // The dependants who came in with this adult leave with them.
    let group = venues::open_group_visits(tx, visit.id).await?;
    venues::close_visits(tx, &group, now, how).await?;
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
pub(super) async fn own_visit(
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
pub(super) async fn refresh(
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
pub(super) fn result_keyboard(view: &CheckinView) -> Keyboard {
    let mut buttons = vec![button("checkin-refresh", CheckInButton::Refresh(view.id))];
    if view.admitted == 1 && view.left_at.is_none() {
        buttons.push(button("checkin-left-button", CheckInButton::Left(view.id)));
    }
    Keyboard::Inline(vec![buttons])
}
