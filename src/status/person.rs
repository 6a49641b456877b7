//! The seam between stored records and the pure engine: a person's status now.
//!
//! PCR results and contact records are stored by another part of the service (issue 3). Until
//! that lands, nobody has a record, so everybody is blue: `evaluate(&[], &[], now)`. When the
//! record tables exist, these two functions are replaced by the real queries (records of the
//! person, or of the IIN's keyed hash, fed into [`super::evaluate`]); their callers
//! (check-in, guard mode) do not change.

use super::{Status, evaluate};
use crate::crypto::Vault;
use crate::storage::{Conn, StoreError};
use chrono::{DateTime, Utc};

/// The status of a registered person at `now`.
pub async fn person_status(
    _conn: &mut Conn,
    _vault: &Vault,
    _person_id: i64,
    now: DateTime<Utc>,
) -> Result<Status, StoreError> {
    Ok(evaluate(&[], &[], now))
}

/// The status of whoever holds the IIN with this keyed hash (guard mode: the visitor may
/// have no account), at `now`.
pub async fn iin_status(
    conn: &mut Conn,
    vault: &Vault,
    iin_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Status, StoreError> {
    match crate::storage::people::find_by_iin_hash(conn, iin_hash).await? {
        Some(id) => person_status(conn, vault, id, now).await,
        None => Ok(evaluate(&[], &[], now)),
    }
}
