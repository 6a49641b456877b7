//! Providers: organisations with a BIN that redeem vouchers of one kind (a school's canteen,
//! a pharmacy, a club), and their operators, who join by a one-time invite. The secret
//! travels in the deep link (`/start prv_…`; a canteen's link stays `cnt_…`), only its
//! SHA-256 is stored, it works once and for a week (`shared::invite`).

use super::{ProviderKind, VoucherError};
use crate::core::Core;
use crate::core::shared::invite::{InviteKind, invite_hash, new_invite};
use crate::storage::vouchers::{self as store, ProviderRow};
use crate::storage::{ChatRef, Conn, StoreError};

fn bin(text: &str) -> Result<String, VoucherError> {
    crate::domain::Bin::parse(text)
        .map(|b| b.as_string())
        .map_err(|e| VoucherError::BadBin(e.to_string()))
}

/// Creates or renames a provider (`ashyq pharmacy set --bin --name`, …); its id.
pub async fn set(
    core: &Core,
    kind: ProviderKind,
    provider_bin: &str,
    name: &str,
) -> Result<i64, VoucherError> {
    let provider_bin = bin(provider_bin)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(VoucherError::EmptyName);
    }
    let mut tx = core.store.begin().await?;
    let id =
        store::set_provider(&mut tx, kind.as_str(), &provider_bin, name, core.now_ms()).await?;
    tx.commit().await?;
    Ok(id)
}

/// A one-time invitation link that makes a chat an operator of the provider
/// (`ashyq pharmacy invite BIN`, …). Canteens get a `cnt_…` link, other kinds `prv_…`.
pub async fn invite(
    core: &Core,
    kind: ProviderKind,
    provider_bin: &str,
    bot: &str,
) -> Result<String, VoucherError> {
    let provider_bin = bin(provider_bin)?;
    let now = core.now_ms();
    let invite = new_invite(
        match kind {
            ProviderKind::Canteen => InviteKind::Canteen,
            _ => InviteKind::Provider,
        },
        now,
    );
    let mut tx = core.store.begin().await?;
    let provider = store::provider_by_bin(&mut tx, kind.as_str(), &provider_bin)
        .await?
        .ok_or_else(|| VoucherError::NoProvider {
            kind: kind.as_str(),
            bin: provider_bin.clone(),
        })?;
    store::insert_invite(
        &mut tx,
        provider.id,
        &invite.hash,
        now,
        invite.expires_at_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(core.channels.deep_link_for(bot, &invite.payload.encode()))
}

/// What using an invitation came to.
#[derive(Debug, Clone)]
pub enum Joined {
    /// The chat now operates for this provider.
    Joined(ProviderRow),
    /// The chat already operates for this very provider (pharmacies): nothing to do.
    Already(ProviderRow),
    /// The chat operates for `current`, another provider of the invite's kind, and the kind
    /// allows one provider per operator (pharmacies): refused.
    OperatesElsewhere {
        invited: ProviderRow,
        current: ProviderRow,
    },
}

/// Uses an invitation's secret in the caller's transaction: `None` when the invite is
/// unknown, used (by anyone) or expired, and nothing is written then. For a kind whose
/// operators work for one provider only ([`ProviderKind::one_provider_per_operator`]), a
/// chat that already operates for a provider of that kind is not joined
/// ([`Joined::Already`], [`Joined::OperatesElsewhere`]); the invite has been marked used in
/// `conn` then, so the caller must refuse (`CoreError::Refused` rolls it back and the
/// invite stays unused).
pub async fn join(
    conn: &mut Conn,
    chat: &ChatRef,
    secret: &str,
    now_ms: i64,
) -> Result<Option<Joined>, StoreError> {
    let Some(provider) = store::take_invite(conn, &invite_hash(secret), chat, now_ms).await? else {
        return Ok(None);
    };
    if let Some(kind) = kind_of(&provider).filter(|k| k.one_provider_per_operator()) {
        let current = of_operator(conn, kind, chat).await?;
        if current.iter().any(|p| p.id == provider.id) {
            return Ok(Some(Joined::Already(provider)));
        }
        if let Some(current) = current.into_iter().next() {
            return Ok(Some(Joined::OperatesElsewhere {
                invited: provider,
                current,
            }));
        }
    }
    store::add_staff(conn, provider.id, chat, now_ms).await?;
    Ok(Some(Joined::Joined(provider)))
}

/// The providers of `kind` a chat operates for, most recently joined first (empty: not an
/// operator, the first refusal of every redemption).
pub async fn of_operator(
    conn: &mut Conn,
    kind: ProviderKind,
    chat: &ChatRef,
) -> Result<Vec<ProviderRow>, StoreError> {
    store::providers_of_chat(conn, kind.as_str(), chat).await
}

/// The provider of `kind` with this BIN.
pub async fn by_bin(
    conn: &mut Conn,
    kind: ProviderKind,
    provider_bin: &str,
) -> Result<Option<ProviderRow>, StoreError> {
    store::provider_by_bin(conn, kind.as_str(), provider_bin).await
}

/// The kind of a stored provider row.
pub fn kind_of(row: &ProviderRow) -> Option<ProviderKind> {
    ProviderKind::parse(&row.kind)
}
