//! Guard-mode quotas per venue (issue 15 item 5, docs/SECURITY.md): besides 60 look-ups per
//! staff chat per hour (`checkin::GUARD_LIMIT_PER_HOUR`), a venue as a whole may look up at
//! most [`VENUE_PER_HOUR`] IINs an hour and [`VENUE_PER_DAY`] a day (however many staff chats
//! it has), has at most [`STAFF_SEATS`] staff seats, and when its look-ups in the last hour
//! reach [`SPIKE_PER_HOUR`] the owners and the region's sanitary-control chat are told once
//! that hour. Counts come from the audit lines (`checkin_audit`, action `guard_lookup`), so
//! they hold across replicas.

use crate::core::{Core, CoreError, Keyboard, Outbound, Recipient};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::{ChatRef, Conn, venues};

/// Look-ups per venue per hour.
pub const VENUE_PER_HOUR: i64 = 300;
/// Look-ups per venue per day (24 hours).
pub const VENUE_PER_DAY: i64 = 2_000;
/// Active staff chats (staff and owners) per venue.
pub const STAFF_SEATS: i64 = 25;
/// Look-ups in an hour that alert the owners and sanitary control.
pub const SPIKE_PER_HOUR: i64 = 150;

const HOUR_MS: i64 = 3_600_000;

/// The refusal when the venue used up its look-ups, or `None`.
pub async fn venue_refusal(
    conn: &mut Conn,
    venue_id: i64,
    now_ms: i64,
) -> Result<Option<Msg>, CoreError> {
    let hour = crate::storage::security::venue_audit_count(
        conn,
        venue_id,
        "guard_lookup",
        now_ms - HOUR_MS,
    )
    .await?;
    if hour >= VENUE_PER_HOUR {
        return Ok(Some(
            Msg::new("security-guard-venue-limit").num("limit", VENUE_PER_HOUR),
        ));
    }
    let day = crate::storage::security::venue_audit_count(
        conn,
        venue_id,
        "guard_lookup",
        now_ms - 24 * HOUR_MS,
    )
    .await?;
    if day >= VENUE_PER_DAY {
        return Ok(Some(
            Msg::new("security-guard-venue-day-limit").num("limit", VENUE_PER_DAY),
        ));
    }
    Ok(None)
}

/// Whether the venue has a free staff seat.
pub async fn seat_free(conn: &mut Conn, venue_id: i64) -> Result<bool, CoreError> {
    Ok(crate::storage::security::active_staff(conn, venue_id).await? < STAFF_SEATS)
}

/// After a look-up was recorded: when the venue's look-ups in the last hour reach the spike
/// threshold, tells its owners and the region's sanitary-control chat (once per venue and
/// hour, by dedupe key), in the look-up's transaction.
pub async fn after_lookup(
    core: &Core,
    conn: &mut Conn,
    venue_id: i64,
    venue_name: &str,
    region: &str,
    now_ms: i64,
) -> Result<(), CoreError> {
    let hour = crate::storage::security::venue_audit_count(
        conn,
        venue_id,
        "guard_lookup",
        now_ms - HOUR_MS,
    )
    .await?;
    if hour < SPIKE_PER_HOUR {
        return Ok(());
    }
    tracing::warn!(target: "ashyq::audit", venue_id, lookups = hour, "guard look-ups spike");
    let mut to: Vec<(ChatRef, Option<String>)> = venues::owner_chats(conn, venue_id).await?;
    if let Some(chat) = venues::alert_chat(conn, region).await? {
        to.push(chat);
    }
    let window = now_ms / HOUR_MS;
    for (chat, lang) in to {
        let lang = lang
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or(Lang::Ru);
        let msg = Outbound {
            to: Recipient::Chat(chat.clone()),
            lang,
            text: Msg::new("security-guard-spike")
                .arg("venue", venue_name.to_string())
                .arg("venue_id", venue_id.to_string())
                .num("count", hour),
            keyboard: Keyboard::Keep,
            relay: None,
            attachment: None,
        };
        let key = format!(
            "guard-spike:{venue_id}:{window}:{}:{}",
            chat.channel, chat.chat_id
        );
        core.enqueue(conn, &chat, &msg, Some(&key), None).await?;
    }
    Ok(())
}
