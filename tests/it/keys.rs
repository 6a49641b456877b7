//! Key rotation (issue 15 item 4; docs/SECURITY.md, "Key rotation") on SQLite and PostgreSQL:
//! a rotation started in the middle of use, look-ups and registrations while it runs, a
//! rotation stopped half-way and resumed by another process, nothing left under the old
//! version at the end, and the old version retired.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::{Core, Event, feeds};
use ashyq::crypto::{Field, KeyState, Vault};
use ashyq::domain::{Iin, Sex};
use ashyq::i18n::Texts;
use ashyq::security::keys::{self, Started, Step};
use ashyq::storage::Store;
use chrono::NaiveDate;
use serde_json::json;
use std::sync::Arc;
use support::{Chat, TestDb, arg, at};

/// The second key version's secret.
const SECRET2: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const NOW: &str = "2026-11-05T10:00:00+05:00";

fn iin(serial: u16) -> String {
    Iin::synthetic(
        NaiveDate::from_ymd_opt(1984, 6, 2).unwrap(),
        Sex::Male,
        serial * 7,
    )
    .expose()
}

fn phone(n: u32) -> String {
    format!("+7702{n:07}")
}

/// A core whose key material has versions 1 and 2, with the key state loaded from the
/// database (as `build_core` does).
async fn keyed_core(db: &TestDb, clock: &ManualClock) -> Arc<Core> {
    let store = Store::open(&db.url).await.expect("open store");
    let vault = Vault::from_secret(&format!("{}\n2:{SECRET2}", support::SECRET)).unwrap();
    keys::refresh(&store, &vault).await.unwrap();
    Arc::new(Core::new(
        store,
        vault,
        Arc::new(clock.clone()),
        Arc::new(Texts::load()),
    ))
}

async fn register(core: &Arc<Core>, id: &str, iin: &str, phone: &str) -> Chat {
    let chat = Chat::new(core, id, Some("ru"));
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    chat.send(Event::Contact {
        phone: phone.into(),
        own: true,
    })
    .await;
    assert_eq!(chat.text(iin).await, ["registered"], "{id}");
    chat
}

async fn colour(chat: &Chat) -> String {
    let out = chat.send(support::command("status", "")).await;
    assert_eq!(out[0].text.key(), "status-reply");
    arg(&out[0], "colour")
}

async fn pcr(core: &Core, iin: &str, positive: bool, ext: &str) {
    let report = feeds::ingest_pcr(
        core,
        vec![json!({"iin": iin, "taken_at": "2026-11-03T09:00:00+05:00",
                    "result_at": "2026-11-04T09:00:00+05:00",
                    "result": if positive { "positive" } else { "negative" },
                    "lab": "Central Lab No. 7", "external_id": ext})],
        None,
    )
    .await
    .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

async fn blobs(store: &Store, sql: &str) -> Vec<Vec<u8>> {
    let rows: Vec<(Option<Vec<u8>>,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(store.pool())
        .await
        .unwrap();
    rows.into_iter().filter_map(|r| r.0).collect()
}

async fn rotation(db: &TestDb) {
    let clock = ManualClock::new(at(NOW));
    let core = keyed_core(db, &clock).await;
    assert_eq!(core.vault.state(), KeyState::default());
    for n in 1..=3 {
        support::identity_pair(&core, &iin(n), &phone(u32::from(n))).await;
    }
    let a = register(&core, "a", &iin(1), &phone(1)).await;
    pcr(&core, &iin(1), true, "a-1").await;
    // Enough other records for several batches.
    for n in 10..40 {
        pcr(&core, &iin(n), false, &format!("f-{n}")).await;
    }
    assert_eq!(colour(&a).await, "red");

    // The rotation starts; nothing is rewritten before the grace period.
    let started = keys::start(&core.store, &core.vault, core.now_ms())
        .await
        .unwrap();
    assert_eq!(started, Started::New { from: 1, to: 2 });
    assert_eq!(
        keys::step(&core.store, &core.vault, 7, core.now_ms())
            .await
            .unwrap(),
        Step::Waiting
    );
    clock.advance(chrono::Duration::seconds(31));
    // Batches until the PCR results are half done.
    let mut batches = 0;
    loop {
        let s = keys::step(&core.store, &core.vault, 7, core.now_ms())
            .await
            .unwrap();
        batches += 1;
        assert!(batches < 100, "the PCR results are never reached: {s:?}");
        if matches!(
            s,
            Step::Batch {
                table: "pcr_results",
                finished: false,
                changed,
            } if changed > 0
        ) {
            break;
        }
    }
    let versions = blobs(&core.store, "SELECT iin_hash FROM pcr_results").await;
    assert!(versions.iter().any(|h| h.len() == 33) && versions.iter().any(|h| h.len() == 32));

    // In the middle: the registered person's status, a new registration (the identity
    // table not yet rewritten), a new record and its status.
    assert_eq!(colour(&a).await, "red");
    let b = register(&core, "b", &iin(2), &phone(2)).await;
    assert_eq!(colour(&b).await, "blue");
    pcr(&core, &iin(2), true, "b-1").await;
    assert_eq!(colour(&b).await, "red");
    // A row written under version 1 after its table was passed (a replica that had not yet
    // seen the switch): the rotation passes again for it.
    let late = core.vault.lookup_hash_at(Field::Iin, &iin(1), 1).unwrap();
    sqlx::query(
        "INSERT INTO contacts (iin_hash, contact_date, case_id, external_id, content_hash,
                               created_at)
         VALUES ($1, '2026-11-04', 'case-late', 'late-1', $2, $3)",
    )
    .bind(&late)
    .bind(vec![0u8; 32])
    .bind(core.now_ms())
    .execute(core.store.pool())
    .await
    .unwrap();

    // The process stops; another one resumes where the rotation was.
    let (_, changed_before, _) = {
        let mut conn = core.store.pool().acquire().await.unwrap();
        ashyq::storage::keys::progress(&mut conn, 2, "pcr_results")
            .await
            .unwrap()
    };
    assert!(changed_before > 0);
    core.store.close().await;
    let core = keyed_core(db, &clock).await;
    assert_eq!(
        core.vault.state(),
        KeyState {
            current: 2,
            previous: Some(1)
        }
    );
    assert_eq!(
        keys::start(&core.store, &core.vault, core.now_ms())
            .await
            .unwrap(),
        Started::Resumed { from: 1, to: 2 }
    );
    let mut again = 0;
    let end = keys::run(
        &core.store,
        &core.vault,
        7,
        || core.now_ms(),
        None,
        |s| {
            if let Step::Again { left } = s {
                again += left;
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(end, Step::Retired { version: 1 });
    assert_eq!(again, 1, "the late row");

    // Nothing is left under version 1.
    for (table, n) in keys::remaining(&core.store, &core.vault).await.unwrap() {
        assert_eq!(n, 0, "{table}");
    }
    for sql in [
        "SELECT iin_hash FROM people",
        "SELECT phone_hash FROM people",
        "SELECT iin_hash FROM pcr_results",
        "SELECT iin_hash FROM contacts",
        "SELECT iin_hash FROM identity_pairs",
        "SELECT phone_hash FROM identity_pairs",
    ] {
        let all = blobs(&core.store, sql).await;
        assert!(!all.is_empty(), "{sql}");
        assert!(
            all.iter().all(|h| h.len() == 33 && h[0] == 2),
            "{sql}: {all:?}"
        );
    }
    for sql in ["SELECT phone_enc FROM people", "SELECT iin_enc FROM people"] {
        let all = blobs(&core.store, sql).await;
        assert!(all.iter().all(|s| s[0] == 2), "{sql}");
    }
    let state: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, state FROM key_versions ORDER BY version")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    assert_eq!(
        state,
        [(1, "retired".to_string()), (2, "current".to_string())]
    );
    assert_eq!(core.vault.state().previous, None);
    // Version 1 alone opens nothing any more.
    let old = Vault::from_secret(support::SECRET).unwrap();
    let sealed = blobs(&core.store, "SELECT phone_enc FROM people").await;
    assert!(old.open(Field::Phone, &sealed[0]).is_err());

    // Everything still works under version 2.
    let a = Chat::new(&core, "a", Some("ru"));
    let b = Chat::new(&core, "b", Some("ru"));
    assert_eq!(colour(&a).await, "red");
    assert_eq!(colour(&b).await, "red");
    let c = register(&core, "c", &iin(3), &phone(3)).await;
    assert_eq!(colour(&c).await, "blue");
    // A resent record is the same record (its content hash does not depend on the version).
    let report = feeds::ingest_pcr(
        &core,
        vec![
            json!({"iin": iin(1), "taken_at": "2026-11-03T09:00:00+05:00",
                    "result_at": "2026-11-04T09:00:00+05:00", "result": "positive",
                    "lab": "Central Lab No. 7", "external_id": "a-1"}),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!((report.duplicates, report.rejected.len()), (1, 0));
    // No newer version configured: nothing to rotate to.
    assert!(matches!(
        keys::start(&core.store, &core.vault, core.now_ms()).await,
        Err(keys::KeyError::NoNewVersion { current: 2 })
    ));
    core.store.close().await;
}

mod rotate_in_use_and_resume {
    ashyq_on_both!(super::rotation);
}

/// Every `*_hash` / `*_enc` column of the schema that holds a keyed hash or a sealed value is
/// in the rotation's list (a new one must be added there).
#[tokio::test]
async fn every_keyed_column_is_rotated() {
    let db = TestDb::sqlite().await;
    let store = Store::open(&db.url).await.unwrap();
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(store.pool())
            .await
            .unwrap();
    // Hashes that are not keyed hashes of an IIN or phone.
    let other = [
        "content_hash",
        "token_hash",
        "key_hash",
        "prev_hash",
        "hash",
        "hashes",
    ];
    let mut found = Vec::new();
    for (t,) in tables {
        let cols: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{t}')"
        )))
        .fetch_all(store.pool())
        .await
        .unwrap();
        for (c,) in cols {
            if (c.ends_with("_hash") || c.ends_with("_enc")) && !other.contains(&c.as_str()) {
                found.push(format!("{t}.{c}"));
            }
        }
    }
    let mut listed: Vec<String> = ashyq::storage::keys::SPECS
        .iter()
        .flat_map(|s| {
            s.hashes
                .iter()
                .chain(s.sealed)
                .map(move |(c, _)| format!("{}.{c}", s.table))
        })
        .collect();
    found.sort();
    listed.sort();
    assert_eq!(found, listed);
    store.close().await;
    db.cleanup().await;
}

/// `ashyq keys rotate` adds the next version to the key file, whose permissions are checked.
#[cfg(unix)]
#[test]
fn a_version_is_added_to_the_key_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ashyq.key");
    std::fs::write(&path, format!("{}\n", support::SECRET)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(ashyq::config::add_key_version(&path).unwrap(), 2);
    assert_eq!(ashyq::config::add_key_version(&path).unwrap(), 3);
    let text = std::fs::read_to_string(&path).unwrap();
    let vault = Vault::from_secret(&text).unwrap();
    assert_eq!(vault.versions(), [1, 2, 3]);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(ashyq::config::add_key_version(&path).is_err());
}
