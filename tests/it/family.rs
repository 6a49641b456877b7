//! Dependants (issue 18 item 4, data side): the civil registry's family feed and `/family`,
//! on both backends.

use crate::support::{self, Chat, TestDb, at, command};
use ashyq::clock::ManualClock;
use ashyq::core::{Core, family, feeds};
use ashyq::crypto::Field;
use ashyq::domain::{Iin, Sex};
use ashyq::http::{HttpState, app};
use ashyq::storage::{ChatRef, ConversationRow, conversations, people};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

fn iin(y: i32, m: u32, d: u32, serial: u16) -> Iin {
    Iin::synthetic(
        chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        Sex::Female,
        serial,
    )
}

/// A registered adult with a chat at the main menu.
async fn register(core: &Core, who: &Iin, chat: &str) -> ChatRef {
    let mut tx = core.store.begin().await.unwrap();
    let id = people::insert(&mut tx, b"phone", b"sealed", 0, 0)
        .await
        .unwrap();
    people::set_iin(
        &mut tx,
        id,
        &core.vault.lookup_hash(Field::Iin, &who.expose()),
        &core.vault.seal(Field::Iin, &who.expose()),
        0,
    )
    .await
    .unwrap()
    .unwrap();
    let chat = ChatRef::new("test", chat);
    conversations::save(
        &mut tx,
        &chat,
        &ConversationRow {
            lang: Some("en".into()),
            state: r#"{"step":"menu"}"#.into(),
            person_id: Some(id),
        },
        0,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    chat
}

fn link(parent: &Iin, child: &Iin, id: &str) -> serde_json::Value {
    json!({"parent_iin": parent.expose(), "child_iin": child.expose(), "external_id": id})
}

async fn feed_and_list(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let mother = iin(1985, 3, 14, 3);
    let father = iin(1984, 7, 1, 6);
    let child = iin(2015, 9, 1, 9);
    let adult_son = iin(2000, 1, 1, 12);
    let minor = iin(2010, 5, 5, 15);
    let report = family::ingest(
        &core,
        vec![
            link(&mother, &child, "R-1"),
            link(&father, &child, "R-2"),
            link(&mother, &adult_son, "R-3"),
            link(&mother, &mother, "R-4"),
            link(&minor, &child, "R-5"),
            json!({"parent_iin": "123", "child_iin": child.expose(), "external_id": "R-6"}),
            json!({"parent_iin": mother.expose(), "external_id": "R-7"}),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.accepted, 2, "{report:?}");
    let reasons: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(
        reasons[0].1.starts_with("child_iin is an adult"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1].1, "parent_iin and child_iin are the same person");
    assert_eq!(reasons[2].1, "parent_iin is not an adult");
    assert!(reasons[3].1.starts_with("parent_iin is not a valid IIN"));
    assert!(reasons[4].1.contains("child_iin"), "{reasons:?}");
    // The same child linked by two adults: one record, two links.
    assert_eq!(support::count(&core.store, "family_members").await, 1);
    assert_eq!(support::count(&core.store, "family_links").await, 2);
    // No IIN in plain text.
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM family_links WHERE external_id LIKE $1")
            .bind(format!("%{}%", child.expose()))
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(n, 0);

    // Sent again: duplicates; another id for a live link: a duplicate too.
    let again = family::ingest(
        &core,
        vec![link(&mother, &child, "R-1"), link(&mother, &child, "R-8")],
        None,
    )
    .await
    .unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 2));

    // `/family` lists the mother's child, masked; a stranger who is not registered gets
    // the registration hint; someone registered with no links gets the empty answer.
    let mum = Chat {
        core: core.clone(),
        chat: register(&core, &mother, "mum").await,
        hint: None,
    };
    let out = mum.send(command("family", "")).await;
    assert_eq!(support::keys(&out), ["family-list"]);
    assert_eq!(support::arg(&out[0], "count"), "1");
    let list = support::arg(&out[0], "list");
    assert!(list.contains(&child.masked()) && !list.contains(&child.expose()));
    let stranger = Chat::new(&core, "stranger", Some("en"));
    assert_eq!(stranger.command("family").await, ["hint-register-first"]);
    let other = Chat {
        core: core.clone(),
        chat: register(&core, &iin(1970, 2, 2, 18), "other").await,
        hint: None,
    };
    assert_eq!(other.command("family").await, ["family-empty"]);

    // Removal is immediate; removing twice is a duplicate; unknown ids are refused.
    let mut removal = link(&mother, &child, "R-1");
    removal["removed"] = json!(true);
    let mut unknown = link(&mother, &child, "R-404");
    unknown["removed"] = json!(true);
    let r = family::ingest(&core, vec![removal.clone(), removal, unknown], None)
        .await
        .unwrap();
    assert_eq!(
        (r.withdrawn, r.duplicates, r.rejected.len()),
        (1, 1, 1),
        "{r:?}"
    );
    assert_eq!(mum.command("family").await, ["family-empty"]);
    // The father's link stands.
    let dad = Chat {
        core: core.clone(),
        chat: register(&core, &father, "dad").await,
        hint: None,
    };
    assert_eq!(dad.command("family").await, ["family-list"]);
    // A removed link cannot come back under its old id.
    let r = family::ingest(&core, vec![link(&mother, &child, "R-1")], None)
        .await
        .unwrap();
    assert_eq!(r.rejected.len(), 1);

    // Over HTTP: scope `family` required; a batch with a rejected item answers 422.
    let state = HttpState {
        store: core.store.clone(),
        telegram: false,
        core: Some(core.clone()),
    };
    let pcr_key = feeds::create_api_key(&core, "lab", &["pcr".into()])
        .await
        .unwrap();
    let family_key = feeds::create_api_key(&core, "registry", &["family".into()])
        .await
        .unwrap();
    let post = |key: &str, body: serde_json::Value| {
        Request::post("/api/v1/family")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let body = json!({"items": [link(&mother, &child, "R-9"), link(&mother, &adult_son, "R-10")]});
    let res = app(state.clone())
        .oneshot(post(&pcr_key.secret, body.clone()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app(state)
        .oneshot(post(&family_key.secret, body))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["accepted"], 1);
    assert_eq!(v["items"][0]["index"], 1);
    assert_eq!(mum.command("family").await, ["family-list"]);
}

mod feed {
    ashyq_on_both!(super::feed_and_list);
}
