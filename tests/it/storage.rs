//! The storage conformance suite: the same tests on SQLite and, when `TEST_POSTGRES_URL` is
//! set, on PostgreSQL; a fresh database per test.

use crate::support;

use ashyq::storage::{self, ChatRef, ConversationRow, Store, people};
use support::TestDb;

async fn migrations_are_idempotent(db: &TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    store.close().await;
    let again = Store::open(&db.url).await.unwrap();
    again.close().await;
}

mod migrations {
    ashyq_on_both!(super::migrations_are_idempotent);
}

async fn conversations_round_trip(db: &TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    let chat = ChatRef::new("telegram", "42");
    assert_eq!(store.conversation(&chat).await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    let row = ConversationRow {
        lang: Some("kk".into()),
        state: r#"{"step":"iin"}"#.into(),
        person_id: None,
    };
    storage::conversations::save(&mut tx, &chat, &row, 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.conversation(&chat).await.unwrap(), Some(row.clone()));

    // Upsert replaces; another channel with the same id is another conversation.
    let mut tx = store.begin().await.unwrap();
    let updated = ConversationRow {
        lang: None,
        ..row.clone()
    };
    storage::conversations::save(&mut tx, &chat, &updated, 2)
        .await
        .unwrap();
    storage::conversations::save(&mut tx, &ChatRef::new("aitu", "42"), &row, 2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.conversation(&chat).await.unwrap(), Some(updated));
    assert_eq!(support::count(&store, "conversations").await, 2);

    // A rolled-back transaction leaves nothing.
    let mut tx = store.begin().await.unwrap();
    storage::conversations::delete(&mut tx, &chat)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.conversation(&chat).await.unwrap().is_some());
    store.close().await;
}

mod conversations {
    ashyq_on_both!(super::conversations_round_trip);
}

async fn people_hashes_and_uniqueness(db: &TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let a = people::insert(&mut tx, &[1; 32], &[9; 41], 10, 11)
        .await
        .unwrap();
    let b = people::insert(&mut tx, &[1; 32], &[8; 41], 10, 11)
        .await
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(
        people::find_by_phone_hash(&mut tx, &[1; 32]).await.unwrap(),
        vec![a, b]
    );
    assert_eq!(
        people::set_iin(&mut tx, a, &[2; 32], &[3; 41], 12)
            .await
            .unwrap(),
        Ok(())
    );
    // Setting the same IIN again on the same person is fine; on another it is a conflict.
    assert_eq!(
        people::set_iin(&mut tx, a, &[2; 32], &[3; 41], 12)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        people::set_iin(&mut tx, b, &[2; 32], &[4; 41], 12)
            .await
            .unwrap(),
        Err(people::IinConflict)
    );
    assert_eq!(
        people::find_by_iin_hash(&mut tx, &[2; 32]).await.unwrap(),
        Some(a)
    );
    let row = people::get(&mut tx, a).await.unwrap().unwrap();
    assert_eq!(row.iin_enc.as_deref(), Some(&[3u8; 41][..]));
    assert_eq!(row.registered_at, Some(12));
    tx.commit().await.unwrap();

    // Deleting a person unlinks their conversations.
    let chat = ChatRef::new("telegram", "7");
    let mut tx = store.begin().await.unwrap();
    let row = ConversationRow {
        lang: Some("ru".into()),
        state: "{}".into(),
        person_id: Some(a),
    };
    storage::conversations::save(&mut tx, &chat, &row, 1)
        .await
        .unwrap();
    people::delete(&mut tx, a).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.conversation(&chat).await.unwrap().unwrap().person_id,
        None
    );
    let mut conn = store.pool().acquire().await.unwrap();
    assert_eq!(people::get(&mut conn, a).await.unwrap(), None);
    drop(conn);
    store.close().await;
}

mod people_table {
    ashyq_on_both!(super::people_hashes_and_uniqueness);
}

async fn updates_are_marked_once(db: &TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(
        storage::mark_update(&mut tx, "telegram", "1", 100)
            .await
            .unwrap()
    );
    assert!(
        !storage::mark_update(&mut tx, "telegram", "1", 101)
            .await
            .unwrap()
    );
    assert!(
        storage::mark_update(&mut tx, "aitu", "1", 101)
            .await
            .unwrap()
    );
    assert_eq!(storage::prune_updates(&mut tx, 101).await.unwrap(), 1);
    assert!(
        storage::mark_update(&mut tx, "telegram", "1", 102)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    store.close().await;
}

mod processed_updates {
    ashyq_on_both!(super::updates_are_marked_once);
}

async fn concurrent_writers_do_not_fail(db: &TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let chat = ChatRef::new("telegram", i.to_string());
            let row = ConversationRow {
                lang: None,
                state: "{}".into(),
                person_id: None,
            };
            storage::conversations::save(&mut tx, &chat, &row, i)
                .await
                .unwrap();
            storage::mark_update(&mut tx, "telegram", &i.to_string(), i)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(support::count(&store, "conversations").await, 16);
    store.close().await;
}

mod concurrency {
    ashyq_on_both!(super::concurrent_writers_do_not_fail);
}

#[tokio::test]
async fn an_unsupported_url_is_refused() {
    assert!(matches!(
        Store::connect("mysql://localhost/x").await,
        Err(storage::StoreError::UnsupportedUrl)
    ));
}

async fn outbox_queue_dedupe_and_retries(db: &TestDb) {
    use ashyq::storage::outbox;
    let store = Store::open(&db.url).await.unwrap();
    let a = ChatRef::new("telegram", "1");
    let mut tx = store.begin().await.unwrap();
    assert!(
        outbox::enqueue(&mut tx, &a, "{}", Some("n-1"), 100, 100)
            .await
            .unwrap()
    );
    assert!(
        !outbox::enqueue(&mut tx, &a, "{}", Some("n-1"), 100, 100)
            .await
            .unwrap()
    );
    assert!(
        outbox::enqueue(&mut tx, &a, "{}", None, 50, 100)
            .await
            .unwrap()
    );
    assert!(
        outbox::enqueue(&mut tx, &a, "{}", None, 500, 100)
            .await
            .unwrap()
    );
    assert!(
        outbox::enqueue(&mut tx, &ChatRef::new("terminal", "x"), "{}", None, 0, 0)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let mut conn = store.pool().acquire().await.unwrap();
    let due = outbox::due(&mut conn, "telegram", 200, 10).await.unwrap();
    assert_eq!(due.len(), 2, "the one for later is not due");
    assert!(
        due[0].id > due[1].id,
        "ordered by not_before: the earlier-due one first"
    );
    outbox::mark_sent(&mut conn, due[0].id, 201).await.unwrap();
    // A network failure retries later; a refusal gives up.
    outbox::mark_failed(&mut conn, due[1].id, 201, "timeout", Some(1_000))
        .await
        .unwrap();
    assert!(
        outbox::due(&mut conn, "telegram", 202, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = outbox::due(&mut conn, "telegram", 1_000, 10).await.unwrap();
    assert_eq!(later.len(), 2);
    assert_eq!(
        later.iter().find(|r| r.id == due[1].id).unwrap().attempts,
        1
    );
    outbox::mark_failed(&mut conn, due[1].id, 1_001, "blocked", None)
        .await
        .unwrap();
    assert_eq!(outbox::counts(&mut conn).await.unwrap(), (2, 1, 1));
    drop(conn);
    store.close().await;
}

mod outbox_table {
    ashyq_on_both!(super::outbox_queue_dedupe_and_retries);
}
