//! The voucher engine on SQLite and PostgreSQL: providers of every kind with operators
//! joining by one-time invite (`/start prv_…`), the one ledger with version-1 (meal) and
//! version-2 (other kinds) lines verified together, and the short-lived voucher QR.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::Core;
use ashyq::core::vouchers::ledger::{self, Action, Entry, EntryV2, Problem};
use ashyq::core::vouchers::qr::{QrKeys, Refusal, VoucherToken};
use ashyq::core::vouchers::{ProviderKind, VoucherError, VoucherKind, providers};
use ashyq::core::wallet::token::{MealKeys, MealToken};
use ashyq::storage::ChatRef;
use std::sync::Arc;
use support::{Chat, TestDb, at, command, keys};

const PHARMACY: &str = "210540012341";
const PHARMACY2: &str = "190940001116";
const CLUB: &str = "051040001237";
const NOW: &str = "2026-11-23T10:00:00+05:00";

async fn engine_core(db: &TestDb, clock: &ManualClock) -> Arc<Core> {
    support::core(db, clock).await
}

fn secret_of(link: &str) -> String {
    link.split("start=")
        .nth(1)
        .expect("a deep link")
        .to_string()
}

async fn join(core: &Arc<Core>, id: &str, payload: &str) -> Vec<String> {
    let chat = Chat::new(core, id, Some("ru"));
    keys(&chat.send(command("start", payload)).await)
}

async fn operator_of(core: &Core, kind: ProviderKind, id: &str) -> Vec<String> {
    let mut conn = core.store.pool().acquire().await.unwrap();
    providers::of_operator(&mut conn, kind, &ChatRef::new("test", id))
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.bin)
        .collect()
}

async fn providers_and_invites(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = engine_core(db, &clock).await;
    providers::set(&core, ProviderKind::Pharmacy, PHARMACY, "Дәріхана №1")
        .await
        .unwrap();
    providers::set(&core, ProviderKind::Pharmacy, PHARMACY2, "Аптека №2")
        .await
        .unwrap();
    providers::set(&core, ProviderKind::Club, CLUB, "Шахмат үйірмесі")
        .await
        .unwrap();
    // Renaming keeps the one provider.
    let id = providers::set(
        &core,
        ProviderKind::Pharmacy,
        PHARMACY,
        "Дәріхана №1 (Алматы)",
    )
    .await
    .unwrap();
    assert!(matches!(
        providers::set(&core, ProviderKind::Pharmacy, "123", "x").await,
        Err(VoucherError::BadBin(_))
    ));
    assert!(matches!(
        providers::set(&core, ProviderKind::Pharmacy, PHARMACY, " ").await,
        Err(VoucherError::EmptyName)
    ));
    // No invite for a provider that is not set up (a club's BIN is not a pharmacy).
    assert!(matches!(
        providers::invite(&core, ProviderKind::Pharmacy, CLUB, "ashyq_bot").await,
        Err(VoucherError::NoProvider { .. })
    ));

    let link = providers::invite(&core, ProviderKind::Pharmacy, PHARMACY, "ashyq_bot")
        .await
        .unwrap();
    let payload = secret_of(&link);
    assert!(payload.starts_with("prv_"), "{link}");
    assert_eq!(
        join(&core, "ph-1", &payload).await,
        ["voucher-provider-joined"]
    );
    assert_eq!(
        operator_of(&core, ProviderKind::Pharmacy, "ph-1").await,
        [PHARMACY]
    );
    // A meal QR photographed by a pharmacist is not the canteen's to answer (the pharmacy's
    // route says it is a meal code); by a chat that operates nowhere, it still is.
    let meal = MealKeys::new(core.vault.signing_key()).sign(&MealToken {
        voucher_id: 1,
        generation: 1,
        day: at(NOW).date_naive(),
    });
    let photo = || ashyq::core::Event::Image(support::images::qr_png(&meal));
    let out = keys(&Chat::new(&core, "ph-1", Some("ru")).send(photo()).await);
    assert!(!out.iter().any(|k| k.starts_with("wallet-")), "{out:?}");
    let out = keys(&Chat::new(&core, "nobody", Some("ru")).send(photo()).await);
    assert_eq!(out, ["wallet-redeem-not-operator"]);

    // The invite works once: a second chat (or an operator of another pharmacy) gets a
    // clear answer and no seat.
    let link2 = providers::invite(&core, ProviderKind::Pharmacy, PHARMACY2, "ashyq_bot")
        .await
        .unwrap();
    assert_eq!(
        join(&core, "ph-2", &secret_of(&link2)).await,
        ["voucher-provider-joined"]
    );
    assert_eq!(
        join(&core, "ph-2", &payload).await,
        ["voucher-provider-invite-invalid"]
    );
    assert_eq!(
        join(&core, "ph-3", &payload).await,
        ["voucher-provider-invite-invalid"]
    );
    assert_eq!(
        operator_of(&core, ProviderKind::Pharmacy, "ph-2").await,
        [PHARMACY2]
    );
    assert!(
        operator_of(&core, ProviderKind::Pharmacy, "ph-3")
            .await
            .is_empty()
    );
    // A pharmacist is not a club's operator.
    assert!(
        operator_of(&core, ProviderKind::Club, "ph-1")
            .await
            .is_empty()
    );
    // An expired invite (a week) is refused.
    let club_link = providers::invite(&core, ProviderKind::Club, CLUB, "ashyq_bot")
        .await
        .unwrap();
    clock.advance(chrono::Duration::days(8));
    assert_eq!(
        join(&core, "club-1", &secret_of(&club_link)).await,
        ["voucher-provider-invite-invalid"]
    );
    assert!(
        operator_of(&core, ProviderKind::Club, "club-1")
            .await
            .is_empty()
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    let p = providers::by_bin(&mut conn, ProviderKind::Pharmacy, PHARMACY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.id, p.name.as_str()), (id, "Дәріхана №1 (Алматы)"));
    drop(conn);
    // The refused joins are audited, with no personal data.
    let (refused,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM wallet_audit WHERE action = 'provider_join'
         AND outcome = 'invalid_invite'",
    )
    .fetch_one(core.store.pool())
    .await
    .unwrap();
    assert_eq!(refused, 3);
    core.store.close().await;
}

mod provider_invites {
    ashyq_on_both!(super::providers_and_invites);
}

async fn unused_invites(core: &Core) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM provider_invites WHERE used_at IS NULL")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    n
}

/// Issue 17, bad input: a pharmacist of one pharmacy using another's invite is refused with
/// a clear answer and nothing written (the invite stays unused for the right person); the
/// same pharmacy's invite again says they are already its operator. Clubs keep allowing
/// several providers per operator.
async fn a_pharmacist_of_one_pharmacy_cannot_use_anothers_invite(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = engine_core(db, &clock).await;
    for (kind, bin, name) in [
        (ProviderKind::Pharmacy, PHARMACY, "Дәріхана №1"),
        (ProviderKind::Pharmacy, PHARMACY2, "Аптека №2"),
        (ProviderKind::Club, CLUB, "Шахмат үйірмесі"),
    ] {
        providers::set(&core, kind, bin, name).await.unwrap();
    }
    let invite = |kind, bin| {
        let core = core.clone();
        async move {
            secret_of(
                &providers::invite(&core, kind, bin, "ashyq_bot")
                    .await
                    .unwrap(),
            )
        }
    };
    let first = invite(ProviderKind::Pharmacy, PHARMACY).await;
    assert_eq!(
        join(&core, "ph-a", &first).await,
        ["voucher-provider-joined"]
    );
    assert_eq!(unused_invites(&core).await, 0);

    // Pharmacy 2's invite, used by pharmacy 1's pharmacist: refused, named, nothing written.
    let other = invite(ProviderKind::Pharmacy, PHARMACY2).await;
    let chat = Chat::new(&core, "ph-a", Some("ru"));
    let out = chat.send(command("start", &other)).await;
    assert_eq!(keys(&out), ["voucher-provider-operates-elsewhere"]);
    assert_eq!(support::arg(&out[0], "current"), "Дәріхана №1");
    assert_eq!(support::arg(&out[0], "provider"), "Аптека №2");
    assert_eq!(
        operator_of(&core, ProviderKind::Pharmacy, "ph-a").await,
        [PHARMACY]
    );
    assert_eq!(unused_invites(&core).await, 1);
    // Sending it twice (an update arriving again) changes nothing either.
    assert_eq!(
        join(&core, "ph-a", &other).await,
        ["voucher-provider-operates-elsewhere"]
    );
    assert_eq!(unused_invites(&core).await, 1);

    // A fresh invite of their own pharmacy: already an operator, the invite stays unused.
    let again = invite(ProviderKind::Pharmacy, PHARMACY).await;
    let out = chat.send(command("start", &again)).await;
    assert_eq!(keys(&out), ["voucher-provider-already-operator"]);
    assert_eq!(support::arg(&out[0], "provider"), "Дәріхана №1");
    assert_eq!(unused_invites(&core).await, 2);
    assert_eq!(
        operator_of(&core, ProviderKind::Pharmacy, "ph-a").await,
        [PHARMACY]
    );

    // Both invites still work for the people they were meant for.
    assert_eq!(
        join(&core, "ph-b", &other).await,
        ["voucher-provider-joined"]
    );
    assert_eq!(
        join(&core, "ph-c", &again).await,
        ["voucher-provider-joined"]
    );
    assert_eq!(
        operator_of(&core, ProviderKind::Pharmacy, "ph-b").await,
        [PHARMACY2]
    );
    assert_eq!(
        operator_of(&core, ProviderKind::Pharmacy, "ph-c").await,
        [PHARMACY]
    );
    assert_eq!(unused_invites(&core).await, 0);

    // Another kind is not "another pharmacy": the pharmacist may also run a club.
    let club = invite(ProviderKind::Club, CLUB).await;
    assert_eq!(
        join(&core, "ph-a", &club).await,
        ["voucher-provider-joined"]
    );
    assert_eq!(operator_of(&core, ProviderKind::Club, "ph-a").await, [CLUB]);
    core.store.close().await;
}

mod pharmacist_of_another_pharmacy {
    ashyq_on_both!(super::a_pharmacist_of_one_pharmacy_cannot_use_anothers_invite);
}

async fn append_v1(core: &Core, action: Action, voucher: i64) {
    let mut tx = core.store.begin().await.unwrap();
    ledger::append(
        &mut tx,
        action,
        &Entry {
            voucher_id: Some(voucher),
            school_bin: Some(PHARMACY2),
            day: Some("2026-11-23"),
            ..Default::default()
        },
        core.now_ms(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn append_v2(core: &Core, kind: VoucherKind, quantity: i64) -> i64 {
    let mut tx = core.store.begin().await.unwrap();
    let seq = ledger::append_v2(
        &mut tx,
        kind,
        Action::Redemption,
        &EntryV2 {
            voucher_id: Some(5),
            subject_id: Some(11),
            redemption_id: Some(quantity),
            provider_bin: Some(PHARMACY),
            day: Some("2026-11-23"),
            item: Some("Amoxicillin | 500 mg | capsules"),
            quantity: Some(quantity),
            ..Default::default()
        },
        core.now_ms(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    seq
}

async fn verify(core: &Core) -> ledger::Verification {
    let mut conn = core.store.pool().acquire().await.unwrap();
    ledger::verify(&mut conn).await.unwrap()
}

async fn one_ledger_for_every_kind(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = engine_core(db, &clock).await;
    append_v1(&core, Action::Offer, 1).await;
    let med = append_v2(&core, VoucherKind::Medicine, 2).await;
    append_v1(&core, Action::Redemption, 1).await;
    let club = append_v2(&core, VoucherKind::Club, 1).await;
    assert_eq!((med, club), (2, 4));
    let v = verify(&core).await;
    assert_eq!(v.first_problem, None, "{v:?}");
    assert_eq!(v.entries, 4);
    assert_eq!(v.by_kind.get("meal"), Some(&2));
    assert_eq!(v.by_kind.get("medicine"), Some(&1));
    assert_eq!(v.by_kind.get("club"), Some(&1));
    // The rows as stored: version 1 without a kind, version 2 naming it.
    let rows: Vec<(i64, i64, Option<String>)> =
        sqlx::query_as("SELECT seq, version, voucher_kind FROM wallet_ledger ORDER BY seq")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (1, 1, None),
            (2, 2, Some("medicine".into())),
            (3, 1, None),
            (4, 2, Some("club".into())),
        ]
    );
    // An edit of a version-2 column is caught: the quantity, the kind, or the version.
    for (edit, undo) in [
        (
            "UPDATE wallet_ledger SET quantity = 20 WHERE seq = 2",
            "UPDATE wallet_ledger SET quantity = 2 WHERE seq = 2",
        ),
        (
            "UPDATE wallet_ledger SET voucher_kind = 'club' WHERE seq = 2",
            "UPDATE wallet_ledger SET voucher_kind = 'medicine' WHERE seq = 2",
        ),
        (
            "UPDATE wallet_ledger SET version = 1 WHERE seq = 2",
            "UPDATE wallet_ledger SET version = 2 WHERE seq = 2",
        ),
        (
            "UPDATE wallet_ledger SET item = 'Amoxicillin' WHERE seq = 2",
            "UPDATE wallet_ledger SET item = 'Amoxicillin | 500 mg | capsules' WHERE seq = 2",
        ),
    ] {
        sqlx::query(edit).execute(core.store.pool()).await.unwrap();
        assert_eq!(
            verify(&core).await.first_problem,
            Some(Problem::Edited(2)),
            "{edit}"
        );
        sqlx::query(undo).execute(core.store.pool()).await.unwrap();
        assert_eq!(verify(&core).await.first_problem, None, "{undo}");
    }
    // A deleted version-2 tail is caught too.
    sqlx::query("DELETE FROM wallet_ledger WHERE seq = 4")
        .execute(core.store.pool())
        .await
        .unwrap();
    assert_eq!(verify(&core).await.first_problem, Some(Problem::Deleted(4)));
    core.store.close().await;
}

mod ledger_kinds {
    ashyq_on_both!(super::one_ledger_for_every_kind);
}

#[test]
fn voucher_qr_is_bound_to_its_kind_and_expires_in_minutes() {
    let keys = QrKeys::new(&[7u8; 32]);
    let now = at(NOW).timestamp_millis();
    let t = VoucherToken::new(VoucherKind::Medicine, 42, 1, now);
    let qr = keys.sign(&t);
    let gen1 = |_: VoucherKind, _: i64| Some(1);
    assert_eq!(
        keys.check(&qr, VoucherKind::Medicine, now + 60_000, gen1),
        Ok(t)
    );
    // Yesterday's screenshot.
    assert_eq!(
        keys.check(&qr, VoucherKind::Medicine, now + 86_400_000, gen1),
        Err(Refusal::Expired)
    );
    // The prescription's QR at a club, and the child's club QR at a pharmacy.
    assert_eq!(
        keys.check(&qr, VoucherKind::Club, now, gen1),
        Err(Refusal::WrongKind(VoucherKind::Medicine))
    );
    let club = keys.sign(&VoucherToken::new(VoucherKind::Club, 42, 1, now));
    assert_eq!(
        keys.check(&club, VoucherKind::Medicine, now, gen1),
        Err(Refusal::WrongKind(VoucherKind::Club))
    );
    assert_eq!(
        Refusal::WrongKind(VoucherKind::Meal).msg().key(),
        "voucher-qr-wrong-kind"
    );
    // Today's meal QR (the wallet's daily code) shown at a pharmacy, QR and typed.
    let meal_keys = MealKeys::new(&[7u8; 32]);
    let meal = MealToken {
        voucher_id: 42,
        generation: 1,
        day: at(NOW).date_naive(),
    };
    for code in [meal_keys.sign(&meal), meal_keys.short_code(&meal)] {
        assert_eq!(
            keys.check(&code, VoucherKind::Medicine, now, gen1),
            Err(Refusal::WrongKind(VoucherKind::Meal)),
            "{code}"
        );
    }
}
