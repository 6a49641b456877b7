//! The seam between stored records and the pure engine: a person's status now, used by
//! check-in and guard mode. Records are stored under the IIN's keyed hash
//! (`storage::health`), so an IIN without an account has a status too.

use super::Status;
use crate::core::{Core, CoreError};
use crate::storage::{Conn, people};
use chrono::{DateTime, Utc};

/// The status of a registered person at `now` (blue for a person without an IIN yet).
pub async fn person_status(
    conn: &mut Conn,
    core: &Core,
    person_id: i64,
    now: DateTime<Utc>,
) -> Result<Status, CoreError> {
    match people::get(conn, person_id).await?.and_then(|p| p.iin_hash) {
        Some(hash) => iin_status(conn, core, &hash, now).await,
        None => Ok(super::evaluate(&[], &[], now)),
    }
}

/// The status of whoever holds the IIN with this keyed hash (guard mode: the visitor may
/// have no account), at `now`.
pub async fn iin_status(
    conn: &mut Conn,
    core: &Core,
    iin_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Status, CoreError> {
    core.status_of(conn, iin_hash, now).await
}
