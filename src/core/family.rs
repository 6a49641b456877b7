//! Dependants (issue 18 item 4): the civil registry's family feed (`POST /api/v1/family`,
//! scope `family`), `/family`, and adult relatives by consent.
//!
//! A child comes only from authoritative data — this feed, or a school list's `parent_iin`
//! — never from an IIN an adult typed (a valid checksum would let anyone read any child's
//! colour): `/family IIN` is refused and says why. The feed links minors only. An adult
//! relative becomes a dependant only by confirming from their own verified chat:
//! `/family invite` gives the adult a one-time code (a deep link `fam_CODE`, valid a day,
//! only its hash stored); the relative opens it and confirms with a button. The same
//! dependant linked by two adults has one record (`family_members`) and two links. A link
//! removed (by the feed with `"removed": true`, or a consent link by either person's
//! button) is removed at once. Everything here needs a registry-verified identity binding
//! (`shared::identity::gate`). The group check-in is `checkin::group`; a dependant's
//! status changes reach the adults through `status` (verified adults only).

use super::context::Ctx;
use super::feeds::{Rejection, Report, parse_items};
use super::shared::callback::FamilyButton;
use super::shared::channel::StartLink;
use super::shared::command::StartPayload;
use super::shared::menu::{button_with, reply};
use super::shared::routes::FamilyRoute;
use super::{Core, CoreError, Keyboard, Label, Outbound, Recipient};
use crate::crypto::Field;
use crate::domain::{Iin, Lang};
use crate::i18n::Msg;
use crate::security::throttle::{self, Scope};
use crate::storage::{ChatRef, Tx, family, health, people};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Age of majority: only adults may register, only minors are linked by the feed.
pub const ADULT_AGE: u32 = 18;

/// One link as the civil registry posts it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyItem {
    pub parent_iin: String,
    pub child_iin: String,
    pub external_id: String,
    #[serde(default)]
    pub removed: bool,
}

/// A validated link.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    pub adult_hash: Vec<u8>,
    pub child_hash: Vec<u8>,
    pub child_enc: Vec<u8>,
    pub external_id: String,
    pub content_hash: Vec<u8>,
    pub removed: bool,
}

fn iin(name: &str, value: &str) -> Result<Iin, String> {
    Iin::parse(value).map_err(|e| format!("{name} is not a valid IIN: {e}"))
}

/// Checks one item.
pub fn validate(core: &Core, item: &FamilyItem, now: DateTime<Utc>) -> Result<NewLink, String> {
    let external_id = item.external_id.trim();
    if external_id.is_empty() || external_id.chars().count() > super::feeds::MAX_ID_CHARS {
        return Err("external_id must be 1..=128 characters".into());
    }
    if external_id.chars().any(char::is_control) {
        return Err("external_id contains control characters".into());
    }
    let parent = iin("parent_iin", &item.parent_iin)?;
    let child = iin("child_iin", &item.child_iin)?;
    if parent.expose() == child.expose() {
        return Err("parent_iin and child_iin are the same person".into());
    }
    let today = crate::status::local_date(now);
    if child.birth_date() > today {
        return Err("child_iin has a birth date in the future".into());
    }
    if parent.age_on(today) < ADULT_AGE {
        return Err("parent_iin is not an adult".into());
    }
    if child.age_on(today) >= ADULT_AGE {
        return Err("child_iin is an adult: an adult relative is added only when they confirm it from their own verified chat".into());
    }
    let adult_hash = core.vault.lookup_hash(Field::Iin, &parent.expose());
    let child_hash = core.vault.lookup_hash(Field::Iin, &child.expose());
    let mut h = Sha256::new();
    // Pinned hashes: a resent link stays the same link across key rotations.
    h.update(core.vault.pinned_hash(Field::Iin, &parent.expose()));
    h.update(core.vault.pinned_hash(Field::Iin, &child.expose()));
    Ok(NewLink {
        child_enc: core.vault.seal(Field::Iin, &child.expose()),
        adult_hash,
        child_hash,
        external_id: external_id.to_string(),
        content_hash: h.finalize().to_vec(),
        removed: item.removed,
    })
}

/// Validates and writes a JSON batch (the HTTP feed): the good items in one transaction,
/// the bad ones reported by index. `withdrawn` counts removals.
pub async fn ingest(
    core: &Core,
    raw: Vec<serde_json::Value>,
    api_key_id: Option<i64>,
) -> Result<Report, CoreError> {
    let now = core.clock.now();
    let now_ms = core.now_ms();
    let mut report = Report::default();
    let mut good = Vec::new();
    let mut iins = Vec::new();
    for (index, parsed) in parse_items::<FamilyItem>(raw) {
        match parsed.and_then(|item| {
            iins.push(item.parent_iin.clone());
            iins.push(item.child_iin.clone());
            validate(core, &item, now).map_err(|reason| Rejection {
                index,
                external_id: Some(item.external_id.clone()),
                reason,
            })
        }) {
            Ok(link) => good.push((index, link)),
            Err(r) => report.rejected.push(r),
        }
    }
    crate::core::feeds::settle_iins(core, &iins).await?;
    if good.is_empty() {
        return Ok(report);
    }
    let mut tx = core.store.begin().await?;
    for (index, link) in good {
        let reject = |reason: &str| Rejection {
            index,
            external_id: Some(link.external_id.clone()),
            reason: reason.into(),
        };
        let existing = family::link_by_external_id(&mut tx, &link.external_id).await?;
        match (existing, link.removed) {
            (Some((_, hash, _)), _) if hash != link.content_hash => report.rejected.push(reject(
                "external_id is already stored with different content",
            )),
            (Some((id, _, None)), true) => {
                family::remove_link(&mut tx, id, now_ms).await?;
                report.withdrawn += 1;
            }
            (Some((_, _, Some(_))), false) => report.rejected.push(reject(
                "this link was removed; send it again under a new external_id",
            )),
            (Some(_), _) => report.duplicates += 1,
            (None, true) => report
                .rejected
                .push(reject("no link with this external_id to remove")),
            (None, false) => {
                let member =
                    family::upsert_member(&mut tx, &link.child_hash, &link.child_enc, now_ms)
                        .await?;
                match family::insert_link(
                    &mut tx,
                    &link.adult_hash,
                    member,
                    "child",
                    "registry",
                    &link.external_id,
                    &link.content_hash,
                    api_key_id,
                    now_ms,
                )
                .await?
                {
                    Some(_) => {
                        watch_from_now(core, &mut tx, &link.child_hash).await?;
                        report.accepted += 1
                    }
                    // Already linked live under another external id (or the same id sent
                    // twice in this batch).
                    None => report.duplicates += 1,
                }
            }
        }
    }
    tx.commit().await?;
    report.rejected.sort_by_key(|r| r.index);
    Ok(report)
}

/// A newly linked dependant's colour now, kept so that its next change (a red period
/// ending) reaches the adults through the status notifier; nothing when it is watched
/// already.
async fn watch_from_now(core: &Core, tx: &mut Tx, member: &[u8]) -> Result<(), CoreError> {
    if family::watch_get(tx, member).await?.is_some() {
        return Ok(());
    }
    let st = core.status_of(tx, member, core.clock.now()).await?;
    let row = family::WatchRow {
        iin_hash: member.to_vec(),
        colour: st.colour.as_str().to_string(),
        since_at: st.since.map(|t| t.timestamp_millis()),
        // The period's end; the notifier then computes the exact next change.
        next_change_at: st.until.map(|t| t.timestamp_millis()),
    };
    family::watch_put(tx, &row, core.now_ms()).await?;
    Ok(())
}

/// How long an adult relative's invitation stays usable.
pub const INVITE_TTL_MS: i64 = 24 * 3_600_000;
/// Invitations an adult may have open at once.
pub const MAX_OPEN_INVITES: i64 = 5;
/// The invitation code's alphabet (no 0/O, 1/I: read aloud or typed).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// The invitation code's length (50 bits).
pub const CODE_LEN: usize = 10;

/// A fresh invitation code.
fn new_code() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// The code as typed: upper case, no spaces or dashes; `None` when it cannot be one.
pub fn normalise_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

fn code_hash(core: &Core, code: &str) -> Vec<u8> {
    core.vault
        .lookup_hash(Field::Iin, &format!("family-invite:{code}"))
}

/// The entry point: `/family`, its buttons and invitations.
pub async fn handle(ctx: &mut Ctx<'_>, route: FamilyRoute) -> Result<Vec<Outbound>, CoreError> {
    let lang = ctx.lang;
    match route {
        FamilyRoute::StaleButton => return Ok(reply(lang, Msg::new("hint-stale-button"))),
        FamilyRoute::Decline => return Ok(reply(lang, Msg::new("family-invite-declined"))),
        _ => {}
    }
    // Registered, and the registry confirmed the binding (health data and family links
    // over a verified identity only).
    let registered = ctx.conv.person_id.is_some() && !ctx.conv.state.is_registering();
    let Some(person) = ctx.conv.person_id.filter(|_| registered) else {
        return Ok(reply(lang, Msg::new("hint-register-first")));
    };
    if let Some(instead) =
        super::shared::identity::gate(ctx.core, ctx.tx, ctx.conv, ctx.chat, lang, ctx.prompt)
            .await?
    {
        return Ok(instead);
    }
    let Some(me) = people::get(ctx.tx, person).await? else {
        return Ok(reply(lang, Msg::new("hint-register-first")));
    };
    let (Some(hash), Some(iin_enc), Some(_)) = (me.iin_hash, me.iin_enc, me.verified_at) else {
        return Ok(reply(lang, Msg::new("identity-pending-wait")));
    };
    let me = Me { hash, iin_enc };
    let (core, chat) = (ctx.core, ctx.chat);
    let tx = &mut *ctx.tx;
    match route {
        FamilyRoute::List => list(core, tx, &me, lang).await,
        FamilyRoute::Invite => invite(core, tx, chat, &me, lang).await,
        FamilyRoute::Join(code) => join(core, tx, chat, &me, lang, &code, false).await,
        FamilyRoute::Accept(code) => join(core, tx, chat, &me, lang, &code, true).await,
        FamilyRoute::Remove(id) => remove(core, tx, &me, lang, id).await,
        FamilyRoute::Typed(text) => Ok(typed(core, lang, &text)),
        FamilyRoute::StaleButton | FamilyRoute::Decline => unreachable!("answered above"),
    }
}

/// The verified person using `/family`.
struct Me {
    hash: Vec<u8>,
    iin_enc: Vec<u8>,
}

fn masked(core: &Core, sealed: &[u8]) -> Result<String, CoreError> {
    let iin = core.vault.open(Field::Iin, sealed)?;
    Ok(Iin::parse(iin.as_str())
        .map(|i| i.masked())
        .unwrap_or_else(|_| "—".into()))
}

/// `/family IIN`: nobody is added by a typed IIN. A child: official records only; an adult:
/// only by their own confirmation (`/family invite`).
fn typed(core: &Core, lang: Lang, text: &str) -> Vec<Outbound> {
    let today = crate::status::local_date(core.clock.now());
    let kind = match Iin::parse(text) {
        Ok(iin) if iin.age_on(today) >= ADULT_AGE => "adult",
        Ok(_) => "child",
        Err(_) => "invalid",
    };
    reply(lang, Msg::new("family-typed-refused").arg("kind", kind))
}

/// `/family`: the dependants (consent links with a remove button) and the adults who see
/// this person by consent (with a withdraw button).
async fn list(core: &Core, tx: &mut Tx, me: &Me, lang: Lang) -> Result<Vec<Outbound>, CoreError> {
    let dependants =
        family::dependants_of(tx, &me.hash, &core.vault.current_form(&me.hash)).await?;
    let guardians = family::guardians_of(tx, &me.hash).await?;
    let mut out = Vec::new();
    if dependants.is_empty() {
        out.push(Outbound::reply(lang, Msg::new("family-empty")));
    } else {
        let mut list = Vec::with_capacity(dependants.len());
        let mut rows = Vec::new();
        for d in &dependants {
            let who = masked(core, &d.iin_enc)?;
            list.push(format!("• {who}"));
            if d.source == "consent"
                && let Some(id) = d.link_id
            {
                rows.push(vec![button_with(
                    Label::Text(Msg::new("family-remove-button").arg("who", who)),
                    FamilyButton::Remove(id),
                )]);
            }
        }
        let mut msg = Outbound::reply(
            lang,
            Msg::new("family-list")
                .num("count", dependants.len() as i64)
                .arg("list", list.join("\n")),
        );
        if !rows.is_empty() {
            msg = msg.with_keyboard(Keyboard::Inline(rows));
        }
        out.push(msg);
    }
    if !guardians.is_empty() {
        let mut list = Vec::new();
        let mut rows = Vec::new();
        for (id, sealed) in &guardians {
            let who = match sealed {
                Some(s) => masked(core, s)?,
                None => "—".into(),
            };
            list.push(format!("• {who}"));
            rows.push(vec![button_with(
                Label::Text(Msg::new("family-withdraw-button").arg("who", who)),
                FamilyButton::Remove(*id),
            )]);
        }
        out.push(
            Outbound::reply(
                lang,
                Msg::new("family-guardians")
                    .num("count", guardians.len() as i64)
                    .arg("list", list.join("\n")),
            )
            .with_keyboard(Keyboard::Inline(rows)),
        );
    }
    Ok(out)
}

/// `/family invite`: a one-time code for an adult relative to confirm from their own chat,
/// with a link built by the channel of the inviting chat when it has deep links.
async fn invite(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    me: &Me,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    if family::open_invites(tx, &me.hash, now).await? >= MAX_OPEN_INVITES {
        return Ok(reply(
            lang,
            Msg::new("family-invite-limit").num("max", MAX_OPEN_INVITES),
        ));
    }
    let code = new_code();
    let expires = now + INVITE_TTL_MS;
    family::create_invite(tx, &code_hash(core, &code), &me.hash, now, expires).await?;
    let shown = core.channels.start_link(
        &chat.channel,
        &core.business.bot_username,
        &StartPayload::FamilyInvite(code.clone()).encode(),
    );
    // Without a deep link in this chat's channel, only the code to type is shown.
    let msg = match shown {
        StartLink::Link(link) => Msg::new("family-invite").arg("link", link),
        StartLink::Command(_) => Msg::new("family-invite-code"),
    };
    Ok(reply(
        lang,
        msg.arg("code", code).date_time("until", expires),
    ))
}

/// A relative opens an invitation (`accept: false`: the question with its buttons) or
/// confirms it (`accept: true`: the link is written, the adult told).
async fn join(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    me: &Me,
    lang: Lang,
    raw: &str,
    accept: bool,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    if throttle::exceeded(tx, Scope::FamilyCode, chat, now)
        .await?
        .is_some()
    {
        return Ok(reply(lang, Msg::new("security-code-attempts")));
    }
    let found = match normalise_code(raw) {
        Some(code) => family::invite_by_code(tx, &code_hash(core, &code))
            .await?
            .map(|i| (code, i)),
        None => None,
    };
    let Some((code, inv)) = found.filter(|(_, i)| i.used_at.is_none() && i.expires_at > now) else {
        throttle::record(tx, Scope::FamilyCode, chat, now).await?;
        return Ok(reply(lang, Msg::new("family-invite-invalid")));
    };
    if inv.adult_iin_hash == me.hash {
        return Ok(reply(lang, Msg::new("family-invite-own")));
    }
    let today = crate::status::local_date(core.clock.now());
    let my_iin = Iin::parse(core.vault.open(Field::Iin, &me.iin_enc)?.as_str())
        .map_err(|e| CoreError::internal("family invite", e))?;
    if my_iin.age_on(today) < ADULT_AGE {
        return Ok(reply(lang, Msg::new("family-invite-minor")));
    }
    let adult_person = people::find_by_iin_hash(tx, &inv.adult_iin_hash).await?;
    let adult_label = match adult_person {
        Some(id) => match people::get(tx, id).await?.and_then(|p| p.iin_enc) {
            Some(sealed) => masked(core, &sealed)?,
            None => "—".into(),
        },
        None => "—".into(),
    };
    let linked = family::dependants_of(
        tx,
        &inv.adult_iin_hash,
        &core.vault.current_form(&inv.adult_iin_hash),
    )
    .await?
    .iter()
    .any(|d| d.iin_hash == me.hash);
    if linked {
        return Ok(reply(
            lang,
            Msg::new("family-invite-already").arg("who", adult_label),
        ));
    }
    if !accept {
        return Ok(vec![
            Outbound::reply(
                lang,
                Msg::new("family-invite-confirm").arg("who", adult_label),
            )
            .with_keyboard(Keyboard::Inline(vec![vec![
                super::shared::menu::button("family-invite-yes", FamilyButton::Accept(code)),
                super::shared::menu::button("family-invite-no", FamilyButton::Decline),
            ]])),
        ]);
    }
    let member = family::upsert_member(tx, &me.hash, &me.iin_enc, now).await?;
    let mut h = Sha256::new();
    h.update(&inv.adult_iin_hash);
    h.update(&me.hash);
    let link = family::insert_link(
        tx,
        &inv.adult_iin_hash,
        member,
        "relative",
        "consent",
        &format!("consent-{}", inv.id),
        &h.finalize(),
        None,
        now,
    )
    .await?;
    if !family::use_invite(tx, inv.id, link, now).await? || link.is_none() {
        // Used by another chat at the same moment, or linked meanwhile: nothing written.
        return Err(CoreError::Refused(Msg::new("family-invite-invalid")));
    }
    watch_from_now(core, tx, &me.hash).await?;
    // The adult learns it in each of their chats (after this transaction commits).
    let mut out = vec![Outbound::reply(
        lang,
        Msg::new("family-invite-accepted").arg("who", adult_label),
    )];
    if let Some(adult) = adult_person {
        let who = masked(core, &me.iin_enc)?;
        for (to, to_lang) in health::chats_of_person(tx, adult).await? {
            let to_lang = to_lang
                .as_deref()
                .and_then(Lang::from_code)
                .unwrap_or(Lang::FALLBACK);
            out.push(Outbound {
                to: Recipient::Chat(to),
                lang: to_lang,
                text: Msg::new("family-relative-joined").arg("who", who.clone()),
                keyboard: Keyboard::Keep,
                relay: None,
                attachment: None,
            });
        }
    }
    Ok(out)
}

/// A consent link removed by its adult, or withdrawn by its dependant: at once.
async fn remove(
    core: &Core,
    tx: &mut Tx,
    me: &Me,
    lang: Lang,
    id: i64,
) -> Result<Vec<Outbound>, CoreError> {
    let Some((adult, member, source)) = family::live_link(tx, id).await? else {
        return Ok(reply(lang, Msg::new("family-remove-gone")));
    };
    if adult != me.hash && member != me.hash {
        return Ok(reply(lang, Msg::new("hint-stale-button")));
    }
    if source != "consent" {
        // Official links are corrected by the registry office or the school.
        return Ok(reply(lang, Msg::new("family-remove-official")));
    }
    family::remove_link(tx, id, core.now_ms()).await?;
    Ok(reply(
        lang,
        Msg::new("family-removed").arg(
            "side",
            if adult == me.hash {
                "adult"
            } else {
                "dependant"
            },
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirm_button_keeps_its_code_out_of_logs() {
        let e = crate::core::Event::Button("fam:yes:K7Q2M9XABC".into());
        assert_eq!(format!("{e:?}"), "Button(fam:yes:…)");
        let e = crate::core::Event::Button("fam:rm:12".into());
        assert_eq!(format!("{e:?}"), "Button(fam:rm:12)");
    }

    #[test]
    fn invitation_codes_parse_as_typed() {
        for _ in 0..50 {
            let code = new_code();
            assert_eq!(code.len(), CODE_LEN);
            assert_eq!(normalise_code(&code).as_deref(), Some(code.as_str()));
            assert_eq!(
                normalise_code(&format!(" {}-{} ", &code[..5], code[5..].to_lowercase()))
                    .as_deref(),
                Some(code.as_str())
            );
        }
        // Wrong length, letters outside the alphabet (0, O, 1, I), other characters.
        for bad in [
            "",
            "ABCDEFGH2",
            "ABCDEFGH234",
            "ABCDEFGH0O",
            "ABCDEFGH1I",
            "ABCDE_GH23",
        ] {
            assert_eq!(normalise_code(bad), None, "{bad}");
        }
    }
}
