//! Administration (CLI): schools, suppliers, canteen invitations, revoking a voucher.

use super::*;

pub(super) fn bin(text: &str) -> Result<String, WalletError> {
    crate::domain::Bin::parse(text)
        .map(|b| b.as_string())
        .map_err(|e| WalletError::BadBin(e.to_string()))
}

/// Parses a price in tenge (`850`, `850.5`, `850.50`) into tiyn.
pub fn parse_price(text: &str) -> Result<i64, WalletError> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(WalletError::BadPrice);
    }
    let whole: i64 = whole.parse().map_err(|_| WalletError::BadPrice)?;
    let frac: i64 = format!("{frac:0<2}")
        .parse()
        .map_err(|_| WalletError::BadPrice)?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .filter(|p| *p > 0)
        .ok_or(WalletError::BadPrice)
}

/// Sets a school's name and supplier.
pub async fn set_school(
    core: &Core,
    school_bin: &str,
    name: &str,
    supplier_bin: Option<&str>,
) -> Result<i64, WalletError> {
    let school_bin = bin(school_bin)?;
    let supplier = supplier_bin.map(bin).transpose()?;
    let mut tx = core.store.begin().await?;
    let id = store::set_school(
        &mut tx,
        &school_bin,
        name.trim(),
        supplier.as_deref(),
        core.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets a supplier's name and unit price (tenge text, e.g. `850.00`).
pub async fn set_supplier(
    core: &Core,
    supplier_bin: &str,
    name: &str,
    price: &str,
) -> Result<i64, WalletError> {
    let supplier_bin = bin(supplier_bin)?;
    let tiyn = parse_price(price)?;
    let mut tx = core.store.begin().await?;
    store::set_supplier(&mut tx, &supplier_bin, name.trim(), tiyn, core.now_ms()).await?;
    tx.commit().await?;
    Ok(tiyn)
}

/// A one-time invitation link that makes a chat a canteen operator of the school.
pub async fn canteen_invite(
    core: &Core,
    school_bin: &str,
    bot: &str,
) -> Result<String, WalletError> {
    use crate::core::shared::invite::{InviteKind, new_invite};
    let school_bin = bin(school_bin)?;
    let now = core.now_ms();
    let invite = new_invite(InviteKind::Canteen, now);
    let mut tx = core.store.begin().await?;
    let school = store::school_by_bin(&mut tx, &school_bin)
        .await?
        .ok_or_else(|| WalletError::NoSchool(school_bin.clone()))?;
    // The school's canteen is a provider of the voucher engine; its invites are the engine's.
    let provider = store::canteen_provider(&mut tx, &school, now).await?;
    crate::storage::vouchers::insert_invite(
        &mut tx,
        provider,
        &invite.hash,
        now,
        invite.expires_at_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(core.channels.deep_link_for(bot, &invite.payload.encode()))
}

/// Revokes a voucher for good (a ledger entry); `false` when it already was.
pub async fn revoke_voucher(core: &Core, voucher_id: i64) -> Result<bool, WalletError> {
    let now = core.now_ms();
    let mut tx = core.store.begin().await?;
    let v = store::voucher(&mut tx, voucher_id)
        .await?
        .ok_or(WalletError::NoVoucher(voucher_id))?;
    if !store::revoke_voucher(&mut tx, voucher_id, now).await? {
        return Ok(false);
    }
    ledger::append(
        &mut tx,
        Kind::Revocation,
        &Entry {
            voucher_id: Some(v.id),
            pupil_id: Some(v.pupil_id),
            school_bin: Some(&v.school_bin),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
