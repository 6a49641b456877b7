//! Monitoring groups record violations (the first suspends the venue for 14 days, a repeat
//! for 2 months); authorities see the occupancy of their region; the background duty tells
//! owners when the test week ends and when a suspension ends; a venue's history.

use super::{chat_lang, reply};
use crate::core::{Core, CoreError, Outbound};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::business::{self, ApplicationRow, Occupancy, SuspensionRow, ViolationRow};
use crate::storage::{ChatRef, StoreError, Tx, venues};
use chrono::Months;

/// First violation: 14 days.
pub const FIRST_SUSPENSION_DAYS: i64 = 14;
/// A repeat violation: 2 months.
pub const REPEAT_SUSPENSION_MONTHS: u32 = 2;
/// Venues listed at most in one authority reply.
pub const MAX_LISTED: usize = 50;

/// When a suspension for the venue's `nth` violation (1-based) that starts at `now_ms` ends.
pub fn suspension_end(now_ms: i64, nth: i64) -> i64 {
    if nth <= 1 {
        return now_ms + FIRST_SUSPENSION_DAYS * 24 * 3_600_000;
    }
    let local = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .with_timezone(&crate::clock::almaty());
    local
        .checked_add_months(Months::new(REPEAT_SUSPENSION_MONTHS))
        .map(|d| d.timestamp_millis())
        .unwrap_or(now_ms + 61 * 24 * 3_600_000)
}

/// `/violation VENUE_ID note` from a monitoring group's chat.
pub(super) async fn violation(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    arg: &str,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(region) = business::role_of(tx, "monitor", chat).await? else {
        tracing::info!(channel = %chat.channel, "violation refused: no monitoring role");
        return Ok(reply(lang, Msg::new("biz-monitor-only")));
    };
    let (id, note) = arg
        .trim()
        .split_once(char::is_whitespace)
        .unwrap_or((arg.trim(), ""));
    // A note may name a visitor by IIN: stored and shown to the owner only masked.
    let note = crate::core::shared::mask::mask_iins(note.trim());
    let Ok(venue_id) = id.trim_start_matches('#').parse::<i64>() else {
        return Ok(reply(lang, Msg::new("biz-violation-usage")));
    };
    if note.is_empty() || note.chars().count() > 1000 {
        return Ok(reply(lang, Msg::new("biz-violation-usage")));
    }
    let Some(venue) = venues::venue(tx, venue_id)
        .await?
        .filter(|v| v.revoked_at.is_none())
    else {
        return Ok(reply(
            lang,
            Msg::new("biz-venue-unknown").num("id", venue_id),
        ));
    };
    if let Some(region) = region
        && region != venue.region
    {
        return Ok(reply(
            lang,
            Msg::new("biz-monitor-region").arg("region", region_label(&region)),
        ));
    }
    let now = core.now_ms();
    let nth = business::violation_count(tx, venue_id).await? + 1;
    let violation = business::insert_violation(tx, venue_id, chat, &note, now).await?;
    let until = suspension_end(now, nth);
    business::insert_suspension(tx, venue_id, Some(violation), now, until).await?;
    crate::storage::venues::extend_suspension(tx, venue_id, until).await?;
    let repeat = if nth > 1 { "yes" } else { "no" };
    let mut out = reply(
        lang,
        Msg::new("biz-violation-recorded")
            .arg("venue", venue.name.clone())
            .num("id", venue_id)
            .date_of("until", until)
            .arg("repeat", repeat),
    );
    for (owner, owner_lang) in venues::owner_chats(tx, venue_id).await? {
        let owner_lang = owner_lang
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or(Lang::FALLBACK);
        out.push(Outbound::to_chat(
            owner,
            owner_lang,
            Msg::new("biz-suspended-owner")
                .arg("venue", venue.name.clone())
                .date_of("until", until)
                .arg("note", note.clone())
                .arg("repeat", repeat),
        ));
    }
    Ok(out)
}

/// A region as people read it: its stored key is lower case ("карагандинская область"), the
/// name starts with a capital ("Карагандинская область").
fn region_label(key: &str) -> String {
    let mut chars = key.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `/venues` in an authority's chat: how full each venue of its region is.
pub(super) async fn region_occupancy(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(region) = business::role_of(tx, "authority", chat).await? else {
        return Ok(reply(lang, Msg::new("biz-authority-only")));
    };
    let rows = business::occupancy_by_region(tx, region.as_deref()).await?;
    let now = core.now_ms();
    let total: i64 = rows.iter().map(|r| r.inside_now).sum();
    let mut out = reply(
        lang,
        Msg::new("biz-region-header")
            .arg(
                "region",
                region.map_or_else(|| "all".into(), |r| region_label(&r)),
            )
            .num("venues", rows.len() as i64)
            .num("inside", total),
    );
    for r in rows.iter().take(MAX_LISTED) {
        out.push(Outbound::reply(
            lang,
            Msg::new("biz-region-line")
                .num("id", r.venue_id)
                .arg("venue", r.name.clone())
                .arg("address", r.address.clone())
                .num("inside", r.inside_now)
                .arg("mode", mode(r, now)),
        ));
    }
    if rows.len() > MAX_LISTED {
        out.push(Outbound::reply(
            lang,
            Msg::new("biz-region-more").num("count", (rows.len() - MAX_LISTED) as i64),
        ));
    }
    Ok(out)
}

/// `live`, `test` or `suspended` at `now_ms`.
pub fn mode(r: &Occupancy, now_ms: i64) -> &'static str {
    if r.suspended_until.is_some_and(|u| u > now_ms) {
        "suspended"
    } else if r.test_until.is_some_and(|t| t > now_ms) {
        "test"
    } else {
        "live"
    }
}

/// Queues `text` to every owner chat of a venue in its language, once per `dedupe_key`.
async fn tell_owners(
    core: &Core,
    tx: &mut Tx,
    venue_id: i64,
    text: &Msg,
    dedupe_key: &str,
) -> Result<(), CoreError> {
    for (owner, _) in venues::owner_chats(tx, venue_id).await? {
        let lang = chat_lang(tx, &owner).await?;
        let msg = Outbound::to_chat(owner.clone(), lang, text.clone());
        core.enqueue(tx, &owner, &msg, Some(dedupe_key), None)
            .await?;
    }
    Ok(())
}

/// Tells owners that their venue went live after the test week, and that a suspension
/// ended. Each notice once (a column marks it in the same transaction).
pub async fn run_due(core: &Core) -> Result<usize, CoreError> {
    run_due_at(core, core.clock.now()).await
}

/// Owners' notices ("now live", "suspension ended"), every 30 seconds.
pub struct OwnerNotices;

impl crate::core::job::Job for OwnerNotices {
    fn name(&self) -> &'static str {
        "business-notices"
    }

    fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(30)
    }

    fn run_due<'a>(
        &'a self,
        core: &'a Core,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::core::job::JobFuture<'a, Result<usize, CoreError>> {
        Box::pin(run_due_at(core, now))
    }
}

/// [`run_due`] at `now`.
pub async fn run_due_at(
    core: &Core,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, CoreError> {
    let now = now.timestamp_millis();
    let mut tx = core.store.begin().await?;
    let mut done = 0;
    for (venue_id, name) in venues::due_live_notices(&mut tx, now).await? {
        if !venues::mark_live_notice(&mut tx, venue_id, now).await? {
            continue;
        }
        let msg = Msg::new("biz-live-now").arg("venue", name);
        tell_owners(
            core,
            &mut tx,
            venue_id,
            &msg,
            &format!("biz-live-{venue_id}"),
        )
        .await?;
        done += 1;
    }
    for (id, venue_id, name) in business::due_suspension_ends(&mut tx, now).await? {
        if !business::mark_suspension_notice(&mut tx, id, now).await? {
            continue;
        }
        let msg = Msg::new("biz-suspension-ended").arg("venue", name);
        tell_owners(core, &mut tx, venue_id, &msg, &format!("biz-susp-end-{id}")).await?;
        done += 1;
    }
    tx.commit().await?;
    if done > 0 {
        core.outbox_ready.notify_waiters();
    }
    Ok(done)
}

/// What `ashyq venue history ID` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct History {
    pub venue_id: i64,
    pub name: String,
    pub bin: String,
    pub test_until_ms: Option<i64>,
    pub suspended_until_ms: Option<i64>,
    pub applications: Vec<ApplicationRow>,
    pub violations: Vec<ViolationRow>,
    pub suspensions: Vec<SuspensionRow>,
}

pub async fn history(core: &Core, venue_id: i64) -> Result<Option<History>, StoreError> {
    let mut conn = core.store.pool().acquire().await?;
    let Some(v) = venues::venue(&mut conn, venue_id).await? else {
        return Ok(None);
    };
    let mut applications = business::applications_of_bin(&mut conn, &v.bin).await?;
    // Applications of this venue, and those of its BIN not tied to another venue.
    applications.retain(|a| a.venue_id.is_none_or(|id| id == venue_id));
    Ok(Some(History {
        venue_id,
        test_until_ms: venues::test_until(&mut conn, venue_id).await?,
        suspended_until_ms: v.suspended_until,
        name: v.name,
        bin: v.bin,
        applications,
        violations: business::violations_of(&mut conn, venue_id).await?,
        suspensions: business::suspensions_of(&mut conn, venue_id).await?,
    }))
}

/// Grants a role to a chat (`ashyq role grant`).
pub async fn grant(
    core: &Core,
    role: &str,
    chat: &ChatRef,
    region: Option<&str>,
) -> Result<(), CoreError> {
    let mut tx = core.store.begin().await?;
    let region = region.map(crate::core::venues::admin::region_key);
    business::grant_role(&mut tx, role, chat, region.as_deref(), core.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes a role (`ashyq role revoke`); `false` when the chat did not have it.
pub async fn revoke(core: &Core, role: &str, chat: &ChatRef) -> Result<bool, CoreError> {
    let mut tx = core.store.begin().await?;
    let done = business::revoke_role(&mut tx, role, chat, core.now_ms()).await?;
    tx.commit().await?;
    Ok(done)
}

/// Occupancy of a region for the HTTP endpoint (every region with `None`).
pub async fn occupancy(core: &Core, region: Option<&str>) -> Result<Vec<Occupancy>, StoreError> {
    let mut conn = core.store.pool().acquire().await?;
    let region = region.map(crate::core::venues::admin::region_key);
    business::occupancy_by_region(&mut conn, region.as_deref()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_shown_with_a_capital() {
        assert_eq!(
            region_label("карагандинская область"),
            "Карагандинская область"
        );
        assert_eq!(region_label("әлемдік"), "Әлемдік");
        assert_eq!(region_label(""), "");
    }

    #[test]
    fn suspensions_last_two_weeks_then_two_months() {
        let start = chrono::DateTime::parse_from_rfc3339("2026-01-31T12:00:00+05:00")
            .unwrap()
            .timestamp_millis();
        assert_eq!(suspension_end(start, 1) - start, 14 * 24 * 3_600_000);
        let end = chrono::DateTime::from_timestamp_millis(suspension_end(start, 2))
            .unwrap()
            .with_timezone(&crate::clock::almaty());
        assert_eq!(end.format("%Y-%m-%d %H:%M").to_string(), "2026-03-31 12:00");
    }
}
