//! Venue staff: joining a venue by a one-time invitation, `/occupancy`.

use super::admin;
use crate::core::context::Ctx;
use crate::core::shared::menu::reply;
use crate::core::shared::routes::StaffRoute;
use crate::core::{Conversation, Core, CoreError, Outbound};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::{ChatRef, Tx, venues};

/// The staff's entry point.
pub async fn handle(ctx: &mut Ctx<'_>, route: StaffRoute) -> Result<Vec<Outbound>, CoreError> {
    match route {
        StaffRoute::JoinVenue(secret) => {
            accept_invite(ctx.core, ctx.tx, ctx.conv, ctx.chat, ctx.lang, &secret).await
        }
        StaffRoute::Occupancy => occupancy(ctx.tx, ctx.chat, ctx.lang).await,
    }
}

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
    use crate::security::guard_quota::{STAFF_SEATS, seat_free};
    if let Some(v) = crate::storage::security::invite_venue(tx, &hash, now).await?
        && !seat_free(tx, v).await?
    {
        return Ok(reply(
            lang,
            Msg::new("security-staff-seats").num("limit", STAFF_SEATS),
        ));
    }
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
