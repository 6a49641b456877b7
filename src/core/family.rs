//! Dependants (issue 18 item 4, data side only): the civil registry's family feed
//! (`POST /api/v1/family`, scope `family`) and the `/family` list.
//!
//! A dependant comes only from authoritative data — this feed, or a school list's
//! `parent_iin` — never from an IIN an adult typed (a valid checksum would let anyone read
//! any child's colour). The feed links minors only: an adult relative is added when they
//! confirm from their own verified chat (not built yet). The same child linked by two
//! adults has one record (`family_members`) and two links. A link sent again with
//! `"removed": true` is removed at once. The group check-in ("who is with you?") is not
//! here: it needs the new check-in shape of the core redesign.

use super::context::Ctx;
use super::feeds::{Rejection, Report, parse_items};
use super::{Conversation, Core, CoreError, Outbound};
use crate::crypto::Field;
use crate::domain::{Iin, Lang};
use crate::i18n::Msg;
use crate::storage::{Tx, family, people};
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
                    Some(_) => report.accepted += 1,
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

/// `/family`: the registered person's dependants from authoritative data, IINs masked.
/// Returns `None` for every other event.
pub async fn handle(ctx: &mut Ctx<'_>) -> Result<Vec<Outbound>, CoreError> {
    Ok(list(ctx.core, ctx.tx, ctx.conv, ctx.lang)
        .await?
        .unwrap_or_default())
}

async fn list(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    lang: Lang,
) -> Result<Option<Vec<Outbound>>, CoreError> {
    let hash = match (&conv.iin_hash, conv.person_id) {
        (Some(h), _) => Some(h.clone()),
        (None, Some(p)) => people::get(tx, p).await?.and_then(|r| r.iin_hash),
        (None, None) => None,
    };
    let Some(hash) = hash else {
        return Ok(Some(vec![Outbound::reply(
            lang,
            Msg::new("hint-register-first"),
        )]));
    };
    let current = core.vault.current_form(&hash);
    let dependants = family::dependants_of(tx, &hash, &current).await?;
    if dependants.is_empty() {
        return Ok(Some(vec![Outbound::reply(lang, Msg::new("family-empty"))]));
    }
    let mut list = Vec::with_capacity(dependants.len());
    for d in &dependants {
        let iin = core.vault.open(Field::Iin, &d.iin_enc)?;
        let masked = Iin::parse(iin.as_str())
            .map(|i| i.masked())
            .unwrap_or_default();
        list.push(format!("• {masked}"));
    }
    Ok(Some(vec![Outbound::reply(
        lang,
        Msg::new("family-list")
            .num("count", dependants.len() as i64)
            .arg("list", list.join("\n")),
    )]))
}
