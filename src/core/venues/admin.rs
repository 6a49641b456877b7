//! Operator actions on venues (the CLI calls these; business self-service will too).

use super::token::{self, Kind, TokenKeys};
use super::{DEFAULT_MAX_STAY_MS, token_keys};
use crate::core::shared::channel::{Channels, StartLink};
use crate::core::{Core, CoreError};
use crate::domain::{Bin, BinError};
use crate::status::VenueCategory;
use crate::storage::venues::{self, EntranceRow, NewVenue, VenueRow};
use crate::storage::{ChatRef, StoreError};

pub use crate::core::shared::command::VENUE_INVITE_PREFIX as INVITE_PREFIX;
pub use crate::core::shared::invite::{INVITE_TTL_MS, invite_hash};
use crate::core::shared::invite::{InviteKind, new_invite};
/// Roles a venue chat can have.
pub const ROLES: [&str; 2] = ["staff", "owner"];

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid BIN: {0:?}")]
    Bin(BinError),
    #[error("unknown category {0:?} (use ordinary, pcr_required or essential)")]
    Category(String),
    #[error("a venue needs between 1 and 50 entrances")]
    Entrances,
    #[error("the name, the address and the region must not be empty")]
    Empty,
    #[error("the maximum stay must be between 10 minutes and 24 hours")]
    MaxStay,
    #[error("no venue {0}")]
    NoVenue(i64),
    #[error("venue {0} has no active entrance named {1:?}")]
    NoEntrance(i64, String),
    #[error("unknown role {0:?} (use staff or owner)")]
    Role(String),
    #[error("no QR signing key is live: add one with `ashyq venue rotate-key`")]
    NoKey,
    #[error("no live key {0}")]
    NoSuchKey(i64),
    #[error("ASHYQ_BOT_USERNAME is not set: the deep links need the bot's username")]
    NoBotUsername,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Core(e.into())
    }
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::Core(e.into())
    }
}

pub use crate::core::shared::duration::parse_duration_ms;

#[derive(Debug, Clone)]
pub struct AddVenue {
    pub name: String,
    pub bin: String,
    pub address: String,
    pub region: String,
    pub category: String,
    pub entrances: u32,
    pub max_stay_ms: Option<i64>,
}

/// One entrance's codes, as `venue add` prints them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntranceCodes {
    pub name: String,
    pub entry_token: String,
    pub exit_token: String,
    pub entry_link: String,
    pub exit_link: String,
    pub entry_code: String,
    pub exit_code: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AddedVenue {
    pub venue_id: i64,
    pub entrances: Vec<EntranceCodes>,
}

/// Normalises a region name: trimmed, lower case.
pub fn region_key(region: &str) -> String {
    region.trim().to_lowercase()
}

/// One entrance's codes under the current key; the links are what posters encode
/// ([`Channels::poster_link`]: the venue page with `ASHYQ_PUBLIC_URL`, else the links
/// channel's deep link for `bot`).
pub(crate) fn codes_of(
    channels: &Channels,
    keys: &TokenKeys,
    bot: &str,
    e: &EntranceRow,
) -> EntranceCodes {
    let entry = keys.sign(Kind::Entry, e.id);
    let exit = keys.sign(Kind::Exit, e.id);
    EntranceCodes {
        name: e.name.clone(),
        entry_link: channels.poster_link(bot, &entry),
        exit_link: channels.poster_link(bot, &exit),
        entry_token: entry,
        exit_token: exit,
        entry_code: e.entry_code.clone(),
        exit_code: e.exit_code.clone(),
    }
}

/// Registers a venue with `entrances` entrances named 1..K, each with an entry and an exit
/// code, in one transaction.
pub async fn add_venue(core: &Core, v: &AddVenue, bot: &str) -> Result<AddedVenue, AdminError> {
    let bin = Bin::parse(&v.bin).map_err(AdminError::Bin)?;
    let category =
        VenueCategory::parse(v.category.trim()).ok_or(AdminError::Category(v.category.clone()))?;
    if !(1..=50).contains(&v.entrances) {
        return Err(AdminError::Entrances);
    }
    if v.name.trim().is_empty() || v.address.trim().is_empty() || v.region.trim().is_empty() {
        return Err(AdminError::Empty);
    }
    let max_stay_ms = v.max_stay_ms.unwrap_or(DEFAULT_MAX_STAY_MS);
    if !(600_000..=24 * 3_600_000).contains(&max_stay_ms) {
        return Err(AdminError::MaxStay);
    }
    let now = core.now_ms();
    let mut tx = core.store.begin().await?;
    let keys = token_keys(core, &mut tx).await?.ok_or(AdminError::NoKey)?;
    let venue_id = venues::insert_venue(
        &mut tx,
        &NewVenue {
            name: v.name.trim(),
            bin: &bin.as_string(),
            address: v.address.trim(),
            region: &region_key(&v.region),
            category: category.as_str(),
            max_stay_ms,
        },
        now,
    )
    .await?;
    for i in 1..=v.entrances {
        add_entrance(&mut tx, venue_id, &i.to_string(), now).await?;
    }
    let entrances = venues::entrances_of(&mut tx, venue_id)
        .await?
        .iter()
        .map(|e| codes_of(&core.channels, &keys, bot, e))
        .collect();
    tx.commit().await?;
    Ok(AddedVenue {
        venue_id,
        entrances,
    })
}

pub(crate) async fn add_entrance(
    tx: &mut crate::storage::Tx,
    venue_id: i64,
    name: &str,
    now: i64,
) -> Result<i64, AdminError> {
    loop {
        let (entry, exit) = (token::new_short_code(), token::new_short_code());
        if entry == exit {
            continue;
        }
        // A collision of random codes is retried; PostgreSQL needs a savepoint for that.
        let mut sp = sqlx::Connection::begin(&mut **tx).await?;
        match venues::insert_entrance(&mut sp, venue_id, name, &entry, &exit, now).await? {
            Some(id) => {
                sp.commit().await?;
                return Ok(id);
            }
            None => sp.rollback().await?,
        }
    }
}

/// The codes of a venue's active entrances under the current key.
pub async fn codes(
    core: &Core,
    venue_id: i64,
    bot: &str,
) -> Result<(VenueRow, Vec<EntranceCodes>), AdminError> {
    let mut conn = core.store.pool().acquire().await?;
    let venue = venues::venue(&mut conn, venue_id)
        .await?
        .ok_or(AdminError::NoVenue(venue_id))?;
    let keys = token_keys(core, &mut conn)
        .await?
        .ok_or(AdminError::NoKey)?;
    let codes = venues::entrances_of(&mut conn, venue_id)
        .await?
        .iter()
        .filter(|e| e.revoked_at.is_none())
        .map(|e| codes_of(&core.channels, &keys, bot, e))
        .collect();
    Ok((venue, codes))
}

/// One line of `venue list`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VenueSummary {
    pub venue_id: i64,
    pub name: String,
    pub bin: String,
    pub address: String,
    pub region: String,
    pub category: String,
    pub max_stay_minutes: i64,
    pub entrances: Vec<String>,
    pub revoked: bool,
    pub suspended_until_ms: Option<i64>,
    pub inside_now: i64,
}

pub async fn list(core: &Core) -> Result<Vec<VenueSummary>, AdminError> {
    let mut conn = core.store.pool().acquire().await?;
    let mut out = Vec::new();
    for v in venues::venues(&mut conn).await? {
        let entrances = venues::entrances_of(&mut conn, v.id)
            .await?
            .into_iter()
            .filter(|e| e.revoked_at.is_none())
            .map(|e| e.name)
            .collect();
        let inside_now = venues::occupancy(&mut conn, v.id).await?;
        out.push(VenueSummary {
            venue_id: v.id,
            name: v.name,
            bin: v.bin,
            address: v.address,
            region: v.region,
            category: v.category,
            max_stay_minutes: v.max_stay_ms / 60_000,
            entrances,
            revoked: v.revoked_at.is_some(),
            suspended_until_ms: v.suspended_until,
            inside_now,
        });
    }
    Ok(out)
}

/// Revokes a venue, or one of its entrances: their codes stop working at once.
pub async fn revoke(core: &Core, venue_id: i64, entrance: Option<&str>) -> Result<(), AdminError> {
    let now = core.now_ms();
    let mut tx = core.store.begin().await?;
    venues::venue(&mut tx, venue_id)
        .await?
        .ok_or(AdminError::NoVenue(venue_id))?;
    match entrance {
        Some(name) => {
            // The same revocation as the owner's button: codes stop, history stays, the
            // name is free again.
            let id = venues::entrances_of(&mut tx, venue_id)
                .await?
                .into_iter()
                .find(|e| e.name == name && e.revoked_at.is_none())
                .map(|e| e.id)
                .ok_or_else(|| AdminError::NoEntrance(venue_id, name.into()))?;
            if venues::revoke_entrance(&mut tx, venue_id, id, now)
                .await?
                .is_none()
            {
                return Err(AdminError::NoEntrance(venue_id, name.into()));
            }
        }
        None => {
            venues::revoke_venue(&mut tx, venue_id, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Suspends a venue for `days` days (0 lifts the suspension).
pub async fn suspend(core: &Core, venue_id: i64, days: i64) -> Result<Option<i64>, AdminError> {
    let until = (days > 0).then(|| core.now_ms() + days * 24 * 3_600_000);
    let mut tx = core.store.begin().await?;
    if !venues::suspend_venue(&mut tx, venue_id, until).await? {
        return Err(AdminError::NoVenue(venue_id));
    }
    tx.commit().await?;
    Ok(until)
}

/// Creates a one-time invite and returns its deep link in the links channel.
pub async fn invite(
    core: &Core,
    venue_id: i64,
    role: &str,
    bot: &str,
) -> Result<String, AdminError> {
    let channel = core.channels.links_channel.clone();
    Ok(invite_in(core, venue_id, role, bot, &channel)
        .await?
        .to_string())
}

/// Creates a one-time invite and returns what a chat of `channel` shows for it: that
/// channel's deep link, or the start command to type where it has none.
pub async fn invite_in(
    core: &Core,
    venue_id: i64,
    role: &str,
    bot: &str,
    channel: &str,
) -> Result<StartLink, AdminError> {
    if !ROLES.contains(&role) {
        return Err(AdminError::Role(role.into()));
    }
    let now = core.now_ms();
    let mut tx = core.store.begin().await?;
    venues::venue(&mut tx, venue_id)
        .await?
        .filter(|v| v.revoked_at.is_none())
        .ok_or(AdminError::NoVenue(venue_id))?;
    let link = insert_invite(&mut tx, &core.channels, channel, venue_id, role, bot, now).await?;
    tx.commit().await?;
    Ok(link)
}

/// A one-time invitation to venue `venue_id` as `role`, in the caller's transaction;
/// returns what a chat of `channel` shows for it ([`Channels::start_link`]).
pub async fn insert_invite(
    tx: &mut crate::storage::Tx,
    channels: &Channels,
    channel: &str,
    venue_id: i64,
    role: &str,
    bot: &str,
    now: i64,
) -> Result<StartLink, StoreError> {
    let invite = new_invite(InviteKind::Venue, now);
    venues::insert_invite(tx, venue_id, role, &invite.hash, now, invite.expires_at_ms).await?;
    Ok(channels.start_link(channel, bot, &invite.payload.encode()))
}

/// Sets the sanitary-control chat of a region.
pub async fn set_alert_chat(core: &Core, region: &str, chat: &ChatRef) -> Result<(), AdminError> {
    if region.trim().is_empty() {
        return Err(AdminError::Empty);
    }
    let mut tx = core.store.begin().await?;
    venues::set_alert_chat(&mut tx, &region_key(region), chat, core.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a new signing key; new posters use it, old codes keep working until revoked.
pub async fn rotate_key(core: &Core) -> Result<i64, AdminError> {
    let mut tx = core.store.begin().await?;
    let kid = venues::rotate_key(&mut tx, core.now_ms()).await?;
    if kid > i64::from(u16::MAX) {
        return Err(AdminError::NoKey);
    }
    tx.commit().await?;
    Ok(kid)
}

/// Revokes a signing key: every code signed with it stops working.
pub async fn revoke_key(core: &Core, kid: i64) -> Result<(), AdminError> {
    let mut tx = core.store.begin().await?;
    if !venues::revoke_key(&mut tx, kid, core.now_ms()).await? {
        return Err(AdminError::NoSuchKey(kid));
    }
    tx.commit().await?;
    Ok(())
}

/// The BIN of the demo venue `ashyq chat` creates.
pub const DEMO_BIN: &str = "210540012341";

/// Makes sure the demo venue exists (idempotent); returns its name and the entry and exit
/// short codes of its entrance.
pub async fn ensure_demo_venue(core: &Core) -> Result<(String, String, String), AdminError> {
    let mut conn = core.store.pool().acquire().await?;
    let existing = venues::venue_by_bin(&mut conn, DEMO_BIN).await?;
    drop(conn);
    let venue_id = match existing {
        Some(v) => v.id,
        None => {
            add_venue(
                core,
                &AddVenue {
                    // A proper name reads the same in a Kazakh, Russian or English chat
                    // (the texts around it say "venue"/"мекеме"/"заведение").
                    name: "Алма".into(),
                    bin: DEMO_BIN.into(),
                    address: "Алматы, Абай, 1".into(),
                    region: "almaty".into(),
                    category: "ordinary".into(),
                    entrances: 1,
                    max_stay_ms: None,
                },
                "ashyq_demo_bot",
            )
            .await?
            .venue_id
        }
    };
    let mut conn = core.store.pool().acquire().await?;
    let venue = venues::venue(&mut conn, venue_id)
        .await?
        .ok_or(AdminError::NoVenue(venue_id))?;
    let entrance = venues::entrances_of(&mut conn, venue_id)
        .await?
        .into_iter()
        .find(|e| e.revoked_at.is_none())
        .ok_or(AdminError::NoEntrance(venue_id, "1".into()))?;
    Ok((venue.name, entrance.entry_code, entrance.exit_code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_bin_is_valid() {
        assert!(Bin::parse(DEMO_BIN).is_ok());
    }
}
