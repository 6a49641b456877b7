//! Group check-in (issue 18 item 4): an adult with dependants scans an entry code and is
//! asked "who is with you?" — the dependants as toggle buttons, "only me" and "done". Each
//! person then gets a visit of their own (colour, verdict, check code, a staff feed line,
//! a sanitary alert when red or yellow), all told in ONE reply; a red member is refused
//! while the others are admitted (nothing rolls back).
//!
//! Dependants come from authoritative links only (`storage::family`), are asked about only
//! after the adult's identity binding passed the registry's gate, and are read again when
//! the adult answers: a dependant removed meanwhile is not checked in. A dependant's visit
//! carries no chat (the adult's chat is the actor of its audit line) and is closed when the
//! adult leaves (`checkins.group_of`).

use super::*;
use crate::core::shared::menu::button_with;
use crate::core::{GroupCheckIn, GroupMember, Label};
use crate::crypto::Field;
use crate::domain::Iin;
use crate::storage::family;

/// Most dependants offered on the buttons (the rest check in another time).
pub const MAX_GROUP: usize = 8;
/// The question expires after this long (the adult is no longer at the door).
pub const GROUP_TTL_MS: i64 = 10 * 60_000;

/// The adult's IIN hash (verified: the gate ran before).
async fn adult_hash(
    tx: &mut Tx,
    conv: &Conversation,
    person: i64,
) -> Result<Option<Vec<u8>>, CoreError> {
    Ok(match &conv.iin_hash {
        Some(h) => Some(h.clone()),
        None => crate::storage::people::get(tx, person)
            .await?
            .and_then(|p| p.iin_hash),
    })
}

/// At an entry: when the adult has dependants, the question instead of a visit
/// (`Some(reply)`, the state set); `None` for everyone else (the check-in goes on alone).
#[allow(clippy::too_many_arguments)]
pub(super) async fn ask(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    lang: Lang,
    person: i64,
    door: &Door,
    code: Code,
    via: Via,
) -> Result<Option<Vec<Outbound>>, CoreError> {
    let Some(hash) = adult_hash(tx, conv, person).await? else {
        return Ok(None);
    };
    let dependants = family::dependants_of(tx, &hash, &core.vault.current_form(&hash)).await?;
    if dependants.is_empty() {
        return Ok(None);
    }
    let mut members = Vec::new();
    for d in dependants.iter().take(MAX_GROUP) {
        let iin = core.vault.open(Field::Iin, &d.iin_enc)?;
        let label = Iin::parse(iin.as_str())
            .map(|i| i.masked())
            .unwrap_or_else(|_| "—".into());
        members.push(GroupMember {
            iin_hash: hex::encode(&d.iin_hash),
            label,
        });
    }
    let n = members.len();
    conv.state = State::GroupCheckIn(Box::new(GroupCheckIn {
        entrance_id: code.entrance_id,
        kid: code.kid,
        via: via.as_str().to_string(),
        venue: door.venue_name.clone(),
        asked_at_ms: core.now_ms(),
        members,
        with: vec![false; n],
    }));
    Ok(Some(vec![prompt(&conv.state, lang)]))
}

/// "Who is with you?" with the dependants as toggles (✅ chosen, ⬜ not), "only me" and
/// "done".
pub fn prompt(state: &State, lang: Lang) -> Outbound {
    let State::GroupCheckIn(g) = state else {
        return Outbound::reply(lang, Msg::new("hint-stale-button"));
    };
    let mut rows: Vec<Vec<crate::core::Button>> = g
        .members
        .iter()
        .zip(&g.with)
        .enumerate()
        .map(|(i, (m, on))| {
            vec![button_with(
                Label::Text(
                    Msg::new("checkin-group-member")
                        .arg("who", m.label.clone())
                        .arg("on", if *on { "yes" } else { "no" }),
                ),
                CheckInButton::GroupToggle(i as u8),
            )]
        })
        .collect();
    rows.push(vec![
        button("checkin-group-only-me", CheckInButton::GroupOnlyMe),
        button("checkin-group-done", CheckInButton::GroupDone),
    ]);
    let chosen = g.with.iter().filter(|w| **w).count();
    Outbound::reply(
        lang,
        Msg::new("checkin-group-ask")
            .arg("venue", g.venue.clone())
            .num("count", g.members.len() as i64)
            .num("selected", chosen as i64),
    )
    .with_keyboard(Keyboard::Inline(rows))
}

/// The question this conversation is at, unless it expired (then back to the menu).
fn current(core: &Core, conv: &mut Conversation) -> Result<GroupCheckIn, Msg> {
    let State::GroupCheckIn(g) = &conv.state else {
        return Err(Msg::new("hint-stale-button"));
    };
    let g = (**g).clone();
    if core.now_ms() - g.asked_at_ms > GROUP_TTL_MS {
        conv.state = State::Menu;
        return Err(Msg::new("checkin-group-expired").arg("venue", g.venue));
    }
    Ok(g)
}

/// A dependant toggled: the question again with the new marks.
pub(super) fn toggle(core: &Core, conv: &mut Conversation, lang: Lang, n: u8) -> Vec<Outbound> {
    let mut g = match current(core, conv) {
        Ok(g) => g,
        Err(msg) => return reply(lang, msg),
    };
    let Some(on) = g.with.get_mut(usize::from(n)) else {
        return reply(lang, Msg::new("hint-stale-button"));
    };
    *on = !*on;
    conv.state = State::GroupCheckIn(Box::new(g));
    vec![prompt(&conv.state, lang)]
}

/// One person of the group as the reply lists them.
struct Entered {
    /// The masked IIN of a dependant; `None` for the adult.
    who: Option<String>,
    view: CheckinView,
}

/// "Done" (`others`: with the dependants chosen) or "only me": a visit each, one reply.
#[allow(clippy::too_many_arguments)]
pub(super) async fn done(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
    p: Prompt,
    others: bool,
) -> Result<Vec<Outbound>, CoreError> {
    let g = match current(core, conv) {
        Ok(g) => g,
        Err(msg) => return Ok(reply(lang, msg)),
    };
    conv.state = State::Menu;
    let Some(person) = conv.person_id else {
        return Ok(reply(lang, Msg::new("hint-register-first")));
    };
    // The binding may have been withdrawn since the question.
    if let Some(instead) =
        crate::core::shared::identity::gate(core, tx, conv, chat, lang, p).await?
    {
        return Ok(instead);
    }
    let code = Code {
        entrance_id: g.entrance_id,
        kind: Kind::Entry,
        kid: g.kid,
    };
    let door = match usable_door(core, tx, chat, Some(person), code).await? {
        Ok(door) => door,
        Err(msg) => return Ok(refuse(p, conv, lang, msg)),
    };
    let via = Via::parse(&g.via);
    let now = core.now_ms();
    let target = door_target(&door, now);
    let category = VenueCategory::parse(&door.category).unwrap_or(VenueCategory::Ordinary);

    // The adult.
    let status = status_of_conv(core, tx, conv, person).await?;
    let adult = record_entry(
        core,
        tx,
        &target,
        Entrant {
            person_id: Some(person),
            iin_hash: None,
            chat: Some(chat),
            via,
            actor: chat,
            open: None,
        },
        decide(&status, category),
    )
    .await?;
    let mut entered = vec![Entered {
        who: None,
        view: adult.clone(),
    }];

    // The dependants chosen, if still linked now (a removal is immediate).
    let mut gone = Vec::new();
    if others && g.with.iter().any(|w| *w) {
        let hash = adult_hash(tx, conv, person).await?.unwrap_or_default();
        let live: std::collections::HashSet<Vec<u8>> =
            family::dependants_of(tx, &hash, &core.vault.current_form(&hash))
                .await?
                .into_iter()
                .map(|d| d.iin_hash)
                .collect();
        for (m, on) in g.members.iter().zip(&g.with) {
            if !on {
                continue;
            }
            let Some(member) = hex::decode(&m.iin_hash).ok().filter(|h| live.contains(h)) else {
                gone.push(m.label.clone());
                continue;
            };
            let status = core.status_of(tx, &member, core.clock.now()).await?;
            let decision = decide(&status, category);
            if decision.admit {
                let open = venues::open_group_visits_of(tx, &member).await?;
                venues::close_visits(tx, &open, now, "next_entry").await?;
            }
            let view = record_entry(
                core,
                tx,
                &target,
                Entrant {
                    person_id: None,
                    iin_hash: Some(&member),
                    chat: None,
                    via,
                    actor: chat,
                    open: Some(Vec::new()),
                },
                decision,
            )
            .await?;
            venues::set_group_of(tx, view.id, adult.id).await?;
            entered.push(Entered {
                who: Some(m.label.clone()),
                view,
            });
        }
    }

    let mut out = vec![group_result(core, lang, &entered, &gone)];
    if target.test {
        out.push(Outbound::reply(
            lang,
            Msg::new("checkin-test-mode").arg("venue", adult.venue_name.clone()),
        ));
    }
    Ok(out)
}

/// The one reply of a group check-in: a line per person (colour, may enter or not, check
/// code), how many may enter, and who was no longer linked.
fn group_result(core: &Core, lang: Lang, entered: &[Entered], gone: &[String]) -> Outbound {
    let adult = &entered[0].view;
    let lines: Vec<String> = entered
        .iter()
        .map(|e| {
            let line = Msg::new("checkin-group-line")
                .arg("who", e.who.clone().unwrap_or_default())
                .arg("self", if e.who.is_none() { "yes" } else { "no" })
                .arg("colour", e.view.colour.clone())
                .arg("verdict", verdict(e.view.admitted == 1))
                .arg("code", e.view.check_code.clone());
            core.texts.render(lang, &line)
        })
        .collect();
    let admitted = entered.iter().filter(|e| e.view.admitted == 1).count();
    Outbound::reply(
        lang,
        Msg::new("checkin-group-result")
            .arg("venue", adult.venue_name.clone())
            .arg("entrance", entrance_label(adult))
            .arg("time", local_time(adult.entered_at))
            .num("count", entered.len() as i64)
            .num("admitted", admitted as i64)
            .arg("lines", lines.join("\n"))
            .num("removed", gone.len() as i64)
            .arg("gone", gone.join(", ")),
    )
    .with_keyboard(result_keyboard(adult))
}
