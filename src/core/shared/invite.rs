//! One-time invitations, one implementation for every kind (venue staff, canteen
//! operators, operators of other voucher providers): a random secret carried by a deep link's start payload, of which only the
//! SHA-256 is stored (in the inviting feature's table), valid for a week.

use super::command::StartPayload;
use base64::Engine;
use sha2::{Digest, Sha256};

/// How long an invitation stays usable.
pub const INVITE_TTL_MS: i64 = 7 * 24 * 3_600_000;

/// A fresh invitation: what the link carries and what is stored.
#[derive(Debug, Clone)]
pub struct Invite {
    /// The start payload (`inv_…`, `cnt_…`) with the secret in it.
    pub payload: StartPayload,
    /// SHA-256 of the secret (stored; the secret is not).
    pub hash: Vec<u8>,
    pub expires_at_ms: i64,
}

/// Which invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteKind {
    Venue,
    Canteen,
    /// An operator of a voucher provider other than a canteen (pharmacy, club):
    /// `core::vouchers::providers`.
    Provider,
}

/// A new invitation of `kind` made at `now_ms`.
pub fn new_invite(kind: InviteKind, now_ms: i64) -> Invite {
    let mut raw = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let hash = invite_hash(&secret);
    let payload = match kind {
        InviteKind::Venue => StartPayload::VenueInvite(secret),
        InviteKind::Canteen => StartPayload::CanteenInvite(secret),
        InviteKind::Provider => StartPayload::ProviderInvite(secret),
    };
    Invite {
        payload,
        hash,
        expires_at_ms: now_ms + INVITE_TTL_MS,
    }
}

/// SHA-256 of an invitation's secret (what is stored and looked up).
pub fn invite_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations_carry_their_secret_and_store_only_its_hash() {
        let a = new_invite(InviteKind::Venue, 1_000);
        let b = new_invite(InviteKind::Canteen, 1_000);
        let (StartPayload::VenueInvite(sa), StartPayload::CanteenInvite(sb)) =
            (&a.payload, &b.payload)
        else {
            panic!("kinds: {:?} {:?}", a.payload, b.payload);
        };
        assert_ne!(sa, sb);
        assert_eq!(a.hash, invite_hash(sa));
        assert_eq!(a.expires_at_ms, 1_000 + INVITE_TTL_MS);
        // The payload parses back to the same invitation.
        assert_eq!(StartPayload::parse(&a.payload.encode()), a.payload);
        assert!(a.payload.encode().starts_with("inv_"));
        assert!(b.payload.encode().starts_with("cnt_"));
        let c = new_invite(InviteKind::Provider, 1_000);
        assert!(c.payload.encode().starts_with("prv_"));
        assert_eq!(StartPayload::parse(&c.payload.encode()), c.payload);
    }
}
