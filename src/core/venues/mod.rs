//! The venue registry: a shared service (not a feature) every venue-related feature uses.
//! Venues, entrances and their signed codes ([`token`]), the posters ([`poster`]), the
//! administration ([`admin`]: add, entrances, revoke, invitations, keys, alert chats), and
//! what the public venue page shows for a token ([`page`]).
//! Its tables are written only through `storage::venues`.

pub mod admin;
pub mod page;
pub mod poster;
pub mod token;

use crate::core::Core;
use crate::storage::{Conn, StoreError, venues};
use token::TokenKeys;

/// Default maximum stay of a venue.
pub const DEFAULT_MAX_STAY_MS: i64 = 3 * 3_600_000;

/// The signing keys in force, from the key table.
pub async fn token_keys(core: &Core, conn: &mut Conn) -> Result<Option<TokenKeys>, StoreError> {
    let live = venues::live_key_ids(conn).await?;
    Ok(TokenKeys::new(core.vault.signing_key(), &live))
}
