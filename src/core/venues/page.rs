//! What the venue page (`<ASHYQ_PUBLIC_URL>/v/<token>`, served by `http::venue_page`) shows
//! for a token: the venue's name, the entrance, entry or exit, the short code for typing
//! and a deep link per messenger that has them (`Channels::open_links`). Nothing about any
//! person. A token that is malformed, forged, under a revoked key, or of a revoked entrance
//! or venue shows nothing.

use super::token::{Kind, TokenKeys};
use crate::core::{Core, CoreError};
use crate::storage::venues;

/// One venue code as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenuePage {
    pub venue: String,
    /// The entrance's name (`1`, `2`…).
    pub entrance: String,
    pub kind: Kind,
    /// The short code of this entrance's entry or exit (`K7P-2QX9`), for typing.
    pub short_code: String,
    /// `(messenger, deep link carrying the token)`, the links channel first.
    pub links: Vec<(String, String)>,
}

/// The page of `token`; `None` when it opens nothing (see the module's documentation).
pub async fn lookup(core: &Core, token: &str) -> Result<Option<VenuePage>, CoreError> {
    // The MAC is checked before any database work: a guessed token costs one HMAC.
    let Ok(verified) = TokenKeys::unchecked(core.vault.signing_key()).verify(token) else {
        return Ok(None);
    };
    let mut conn = core.store.pool().acquire().await?;
    let Some(door) = venues::door(
        &mut conn,
        verified.entrance_id,
        Some(i64::from(verified.kid)),
    )
    .await?
    else {
        return Ok(None);
    };
    if door.key_live != 1 || door.entrance_revoked_at.is_some() || door.venue_revoked_at.is_some() {
        return Ok(None);
    }
    let Some(entrance) = venues::entrances_of(&mut conn, door.venue_id)
        .await?
        .into_iter()
        .find(|e| e.id == door.entrance_id)
    else {
        return Ok(None);
    };
    Ok(Some(VenuePage {
        venue: door.venue_name,
        entrance: door.entrance_name,
        kind: verified.kind,
        short_code: match verified.kind {
            Kind::Entry => entrance.entry_code,
            Kind::Exit => entrance.exit_code,
        },
        links: core.channels.open_links(token),
    }))
}
