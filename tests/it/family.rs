//! Dependants (issue 18 item 4, data side): the civil registry's family feed and `/family`,
//! on both backends.

use crate::support::{self, Chat, TestDb, at, command, keys};
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

/// A registered adult with a chat at the main menu, verified by the identity registry.
async fn register(core: &Core, who: &Iin, chat: &str) -> ChatRef {
    register_as(core, who, chat, true).await
}

/// A registered adult; `verified`: the registry confirmed the binding (else the table
/// registry, which does not hold the pair, is asked at the gate).
async fn register_as(core: &Core, who: &Iin, chat: &str, verified: bool) -> ChatRef {
    let mut tx = core.store.begin().await.unwrap();
    let phone = format!(
        "+7701{:07}",
        who.expose()[5..].parse::<u64>().unwrap() % 10_000_000
    );
    let id = people::insert(
        &mut tx,
        &core.vault.lookup_hash(Field::Phone, &phone),
        &core.vault.seal(Field::Phone, &phone),
        0,
        0,
    )
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
    if verified {
        ashyq::storage::identity::set_verified(&mut tx, id, 0)
            .await
            .unwrap();
    }
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

// ------------------------------------------------------------------ helpers of the new tests

fn start(arg: &str) -> ashyq::core::Event {
    ashyq::core::Event::Command {
        name: "start".into(),
        arg: arg.into(),
    }
}

fn cmd(name: &str, arg: &str) -> ashyq::core::Event {
    ashyq::core::Event::Command {
        name: name.into(),
        arg: arg.into(),
    }
}

fn press(data: &str) -> ashyq::core::Event {
    ashyq::core::Event::Button(data.into())
}

fn chat_of(core: &std::sync::Arc<Core>, chat: ChatRef) -> Chat {
    Chat {
        core: core.clone(),
        chat,
        hint: None,
    }
}

/// Every queued message to a chat.
async fn queued(core: &Core, chat: &ChatRef) -> Vec<ashyq::core::Outbound> {
    let mut conn = core.store.pool().acquire().await.unwrap();
    ashyq::storage::outbox::due_for_chat(&mut conn, chat, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

async fn positive(core: &Core, who: &Iin, id: &str) {
    let r = feeds::ingest_pcr(
        core,
        vec![json!({
            "iin": who.expose(),
            "taken_at": "2026-11-11T09:00:00+05:00",
            "result_at": "2026-11-11T18:00:00+05:00",
            "result": "positive",
            "lab": "KDL",
            "external_id": id,
        })],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.accepted, 1, "{r:?}");
}

/// A visit as the group test reads it: admitted, person, colour, check code, group.
type Visit = (i64, Option<i64>, String, String, Option<i64>);

/// Open (admitted, not left) visits.
async fn open_visits(core: &Core) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM checkins WHERE admitted = 1 AND left_at IS NULL")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    n
}

// ------------------------------------------------------------------ item 1: verified only

async fn family_needs_a_verified_binding(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let mother = iin(1985, 3, 14, 3);
    let child = iin(2015, 9, 1, 9);
    family::ingest(&core, vec![link(&mother, &child, "R-1")], None)
        .await
        .unwrap();
    // Registered, but the registry never confirmed the binding: no dependants shown, no
    // invitation made; the registry is asked again instead.
    let mum = chat_of(&core, register_as(&core, &mother, "mum", false).await);
    let out = keys(&mum.send(cmd("family", "")).await);
    assert!(out[0].starts_with("identity-"), "{out:?}");
    // The binding is now waiting for the registry: still nothing about dependants.
    for arg in ["", "invite"] {
        let out = keys(&mum.send(cmd("family", arg)).await);
        assert!(
            !out.iter().any(|k| k.starts_with("family-")),
            "/family {arg}: {out:?}"
        );
    }
    assert_eq!(support::count(&core.store, "family_invites").await, 0);
}

mod verified_only {
    ashyq_on_both!(super::family_needs_a_verified_binding);
}

// ------------------------------------------------------------------ item 2: adult relatives

async fn adult_relatives_confirm_themselves(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let mother = iin(1985, 3, 14, 3);
    let grandma = iin(1950, 6, 2, 21);
    let uncle = iin(1980, 1, 9, 24);
    let child = iin(2015, 9, 1, 9);
    let mum = chat_of(&core, register(&core, &mother, "mum").await);
    let gran = chat_of(&core, register(&core, &grandma, "gran").await);
    let unc = chat_of(&core, register(&core, &uncle, "uncle").await);

    // A typed IIN adds nobody, and the answer says why.
    for (who, kind) in [(&grandma, "adult"), (&child, "child")] {
        let out = mum.send(cmd("family", &who.expose())).await;
        assert_eq!(keys(&out), ["family-typed-refused"]);
        assert_eq!(support::arg(&out[0], "kind"), kind);
    }
    assert_eq!(support::count(&core.store, "family_links").await, 0);

    // The invitation: a code (and a link where the chat's channel has deep links; the
    // test channel has none); only the code's hash is stored.
    let out = mum.send(cmd("family", "invite")).await;
    assert_eq!(keys(&out), ["family-invite-code"]);
    let code = support::arg(&out[0], "code");
    assert!(out[0].text.args.iter().all(|(n, _)| n != "link"), "{out:?}");
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM family_invites")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1);

    // The inviting adult cannot use it; a wrong code is refused (and counted).
    assert_eq!(
        keys(&mum.send(start(&format!("fam_{code}"))).await),
        ["family-invite-own"]
    );
    assert_eq!(
        keys(&gran.send(cmd("family", "ABCDEFGH23")).await),
        ["family-invite-invalid"]
    );

    // Opening it asks; declining writes nothing.
    let out = gran.send(start(&format!("fam_{code}"))).await;
    assert_eq!(keys(&out), ["family-invite-confirm"]);
    assert_eq!(support::arg(&out[0], "who"), mother.masked());
    assert_eq!(
        support::buttons(&out[0]),
        [format!("fam:yes:{code}"), "fam:no".to_string()]
    );
    assert_eq!(gran.button("fam:no").await, ["family-invite-declined"]);
    assert_eq!(support::count(&core.store, "family_links").await, 0);

    // Confirming (typed code in lower case works too) links her; the mother is told.
    let out = gran.send(press(&format!("fam:yes:{code}"))).await;
    assert_eq!(keys(&out), ["family-invite-accepted"]);
    let told = queued(&core, &mum.chat).await;
    assert_eq!(
        told.iter().map(|o| o.text.key()).collect::<Vec<_>>(),
        ["family-relative-joined"]
    );
    assert_eq!(support::arg(&told[0], "who"), grandma.masked());
    // Used once: nobody else can take it.
    assert_eq!(
        keys(&unc.send(cmd("family", &code.to_lowercase())).await),
        ["family-invite-invalid"]
    );
    assert_eq!(
        gran.button(&format!("fam:yes:{code}")).await,
        ["family-invite-invalid"]
    );

    // The mother lists her with a remove button; the grandmother sees who sees her.
    let out = mum.send(cmd("family", "")).await;
    assert_eq!(keys(&out), ["family-list"]);
    assert!(support::arg(&out[0], "list").contains(&grandma.masked()));
    let rm = support::buttons(&out[0]);
    assert_eq!(rm.len(), 1);
    assert!(rm[0].starts_with("fam:rm:"));
    let out = gran.send(cmd("family", "")).await;
    assert_eq!(keys(&out), ["family-empty", "family-guardians"]);
    assert_eq!(support::buttons(&out[1]), rm);

    // The uncle invites her too: one record for the grandmother, two links.
    let out = unc.send(cmd("family", "invite")).await;
    let code2 = support::arg(&out[0], "code");
    assert_eq!(
        gran.button(&format!("fam:yes:{code2}")).await,
        ["family-invite-accepted"]
    );
    assert_eq!(support::count(&core.store, "family_members").await, 1);
    assert_eq!(support::count(&core.store, "family_links").await, 2);
    // Linked already: a third invitation from the mother says so.
    let out = mum.send(cmd("family", "invite")).await;
    let code3 = support::arg(&out[0], "code");
    assert_eq!(
        keys(&gran.send(start(&format!("fam_{code3}"))).await),
        ["family-invite-already"]
    );

    // A stranger cannot remove someone else's link; the grandmother withdraws at once.
    let stranger = chat_of(&core, register(&core, &iin(1970, 2, 2, 18), "x").await);
    assert_eq!(stranger.button(&rm[0]).await, ["hint-stale-button"]);
    let out = gran.send(press(&rm[0])).await;
    assert_eq!(keys(&out), ["family-removed"]);
    assert_eq!(support::arg(&out[0], "side"), "dependant");
    assert_eq!(mum.command("family").await, ["family-empty"]);
    assert_eq!(gran.button(&rm[0]).await, ["family-remove-gone"]);
    // The uncle's link stands; he removes it himself.
    let out = unc.send(cmd("family", "")).await;
    let rm2 = support::buttons(&out[0]);
    let out = unc.send(press(&rm2[0])).await;
    assert_eq!(support::arg(&out[0], "side"), "adult");
    assert_eq!(unc.command("family").await, ["family-empty"]);
    // Deleting the account ends the consent: the uncle invites her again, she agrees, then
    // she uses /forget.
    let out = unc.send(cmd("family", "invite")).await;
    let code4 = support::arg(&out[0], "code");
    assert_eq!(
        gran.button(&format!("fam:yes:{code4}")).await,
        ["family-invite-accepted"]
    );
    assert_eq!(unc.command("family").await, ["family-list"]);
    gran.command("forget").await;
    gran.button("forget:yes").await;
    assert_eq!(unc.command("family").await, ["family-empty"]);
    // Official links are not removed by button.
    family::ingest(&core, vec![link(&mother, &child, "R-1")], None)
        .await
        .unwrap();
    let (official,): (i64,) =
        sqlx::query_as("SELECT id FROM family_links WHERE external_id = 'R-1'")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(
        mum.button(&format!("fam:rm:{official}")).await,
        ["family-remove-official"]
    );
    assert_eq!(mum.command("family").await, ["family-list"]);
}

mod relatives {
    ashyq_on_both!(super::adult_relatives_confirm_themselves);
}

// ------------------------------------------------------------------ item 3: group check-in

async fn group_check_in(db: &TestDb) {
    use ashyq::core::checkin::admin;
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let venue = admin::add_venue(
        &core,
        &admin::AddVenue {
            name: "Kino".into(),
            bin: admin::DEMO_BIN.into(),
            address: "Abai 1".into(),
            region: "Almaty".into(),
            category: "ordinary".into(),
            entrances: 1,
            max_stay_ms: None,
        },
        "bot",
    )
    .await
    .unwrap();
    let sanitary = ChatRef::new("test", "sanitary");
    admin::set_alert_chat(&core, "almaty", &sanitary)
        .await
        .unwrap();
    let staff = ChatRef::new("test", "staff");
    let mut tx = core.store.begin().await.unwrap();
    ashyq::storage::venues::add_staff(&mut tx, venue.venue_id, &staff, None, "staff", 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let token = venue.entrances[0].entry_token.clone();

    let mother = iin(1985, 3, 14, 3);
    let son = iin(2015, 9, 1, 9);
    let daughter = iin(2017, 4, 4, 27);
    family::ingest(
        &core,
        vec![link(&mother, &son, "R-1"), link(&mother, &daughter, "R-2")],
        None,
    )
    .await
    .unwrap();
    positive(&core, &daughter, "P-1").await;
    let mum = chat_of(&core, register(&core, &mother, "mum").await);

    // Without dependants the check-in is unchanged (the lane takes it).
    let loner = chat_of(&core, register(&core, &iin(1970, 2, 2, 18), "loner").await);
    assert_eq!(keys(&loner.send(start(&token)).await), ["checkin-result"]);
    assert_eq!(support::count(&core.store, "checkins").await, 1);
    assert_eq!(
        core.checkin_lanes.stats().checkins,
        1,
        "the loner went by the lane"
    );

    // The adult with dependants is asked first (not by the lane); nothing is recorded yet,
    // and the question's state holds no IIN.
    let out = mum.send(start(&token)).await;
    assert_eq!(keys(&out), ["checkin-group-ask"]);
    assert_eq!(core.checkin_lanes.stats().checkins, 1);
    let state = mum.stored_state().await.unwrap();
    assert!(state.contains("group_check_in"), "{state}");
    assert!(!state.contains(&son.expose()) && !state.contains(&daughter.expose()));
    assert_eq!(
        support::buttons(&out[0]),
        ["ci:gt:0", "ci:gt:1", "ci:g1", "ci:gd"]
    );
    assert_eq!(support::count(&core.store, "checkins").await, 1);
    let out = mum.send(press("ci:gt:0")).await;
    assert_eq!(support::arg(&out[0], "selected"), "1");
    let out = mum.send(press("ci:gt:1")).await;
    assert_eq!(support::arg(&out[0], "selected"), "2");
    assert_eq!(
        keys(&mum.send(press("ci:gt:7")).await),
        ["hint-stale-button"]
    );

    // Done: three visits, one reply; the red daughter is refused, the others admitted.
    let out = mum.send(press("ci:gd")).await;
    assert_eq!(keys(&out), ["checkin-group-result"]);
    assert_eq!(support::arg(&out[0], "count"), "3");
    assert_eq!(support::arg(&out[0], "admitted"), "2");
    assert_eq!(support::arg(&out[0], "removed"), "0");
    let lines = support::arg(&out[0], "lines");
    let rows: Vec<&str> = lines.lines().collect();
    assert_eq!(rows.len(), 3, "{lines}");
    assert!(
        rows[0].starts_with("You:") && rows[0].contains("MAY ENTER"),
        "{lines}"
    );
    let son_row = rows.iter().find(|r| r.contains(&son.masked())).unwrap();
    let daughter_row = rows
        .iter()
        .find(|r| r.contains(&daughter.masked()))
        .unwrap();
    assert!(son_row.contains("✅ MAY ENTER"), "{lines}");
    assert!(
        daughter_row.contains("RED") && daughter_row.contains("MAY NOT ENTER"),
        "{lines}"
    );
    assert!(!lines.contains(&son.expose()) && !lines.contains(&daughter.expose()));
    let visits: Vec<Visit> = sqlx::query_as(
        "SELECT admitted, person_id, colour, check_code, group_of FROM checkins
         WHERE venue_id = $1 ORDER BY id",
    )
    .bind(venue.venue_id)
    .fetch_all(core.store.pool())
    .await
    .unwrap();
    assert_eq!(visits.len(), 4);
    let group = &visits[1..];
    let (adult_id,): (i64,) = sqlx::query_as(
        "SELECT id FROM checkins WHERE person_id IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(core.store.pool())
    .await
    .unwrap();
    assert_eq!(group[0].4, None);
    assert!(
        group[1..]
            .iter()
            .all(|v| v.4 == Some(adult_id) && v.1.is_none())
    );
    let colours: Vec<(&str, i64)> = group.iter().map(|v| (v.2.as_str(), v.0)).collect();
    assert_eq!(
        colours.iter().filter(|c| c.0 == "red" && c.1 == 0).count(),
        1
    );
    assert_eq!(colours.iter().filter(|c| c.1 == 1).count(), 2);
    let mut codes: Vec<&str> = group.iter().map(|v| v.3.as_str()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 3, "each with its own check code");
    // Staff see one feed line per person; sanitary control is alerted about the red one.
    let feed = queued(&core, &staff).await;
    assert_eq!(feed.len(), 4, "the loner and the three of the group");
    for v in group {
        assert!(
            feed.iter().any(|f| support::arg(f, "code") == v.3),
            "no feed line for {}",
            v.3
        );
    }
    let alerts = queued(&core, &sanitary).await;
    assert_eq!(alerts.len(), 1);
    // Pressed again: nothing more.
    assert_eq!(mum.button("ci:gd").await, ["hint-stale-button"]);
    assert_eq!(support::count(&core.store, "checkins").await, 4);

    // The adult leaves: the dependants who came in with her leave too.
    assert_eq!(open_visits(&core).await, 3);
    assert_eq!(mum.command("left").await, ["checkin-left"]);
    assert_eq!(open_visits(&core).await, 1, "only the loner is inside");

    // Any other input ends the question without a visit.
    clock.advance(chrono::Duration::minutes(5));
    assert_eq!(keys(&mum.send(start(&token)).await), ["checkin-group-ask"]);
    mum.command("help").await;
    assert_eq!(mum.button("ci:gd").await, ["hint-stale-button"]);
    assert_eq!(support::count(&core.store, "checkins").await, 4);

    // "Only me"; and a dependant removed between the question and "done" is not checked in.
    assert_eq!(keys(&mum.send(start(&token)).await), ["checkin-group-ask"]);
    let out = mum.send(press("ci:g1")).await;
    assert_eq!(support::arg(&out[0], "count"), "1");
    assert_eq!(support::count(&core.store, "checkins").await, 5);
    clock.advance(chrono::Duration::minutes(5));
    assert_eq!(keys(&mum.send(start(&token)).await), ["checkin-group-ask"]);
    mum.send(press("ci:gt:0")).await;
    mum.send(press("ci:gt:1")).await;
    let mut removal = link(&mother, &son, "R-1");
    removal["removed"] = json!(true);
    family::ingest(&core, vec![removal], None).await.unwrap();
    let out = mum.send(press("ci:gd")).await;
    assert_eq!(support::arg(&out[0], "count"), "2");
    assert_eq!(support::arg(&out[0], "removed"), "1");
    assert_eq!(support::arg(&out[0], "gone"), son.masked());
    // Expired question.
    clock.advance(chrono::Duration::minutes(5));
    assert_eq!(keys(&mum.send(start(&token)).await), ["checkin-group-ask"]);
    clock.advance(chrono::Duration::minutes(11));
    assert_eq!(mum.button("ci:gd").await, ["checkin-group-expired"]);
    // A typed short code and a photo of the poster ask the same question.
    let entrance = &venue.entrances[0];
    assert_eq!(mum.text(&entrance.entry_code).await, ["checkin-group-ask"]);
    mum.command("help").await;
    let photo = ashyq::core::Event::Image(support::images::qr_png(&entrance.entry_link));
    assert_eq!(keys(&mum.send(photo).await), ["checkin-group-ask"]);
    assert_eq!(
        keys(&mum.send(press("ci:g1")).await),
        ["checkin-group-result"]
    );
}

mod group {
    ashyq_on_both!(super::group_check_in);
}

// ------------------------------------------------------------------ item 4: status notices

async fn dependants_status_reaches_verified_adults(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-12T12:00:00+05:00"));
    let core = support::core(db, &clock).await;
    let mother = iin(1985, 3, 14, 3);
    let father = iin(1984, 7, 1, 6);
    let child = iin(2015, 9, 1, 9);
    let mum = register(&core, &mother, "mum").await;
    // The father's binding was never confirmed: no health data of the child for him.
    let dad = register_as(&core, &father, "dad", false).await;
    family::ingest(
        &core,
        vec![link(&mother, &child, "R-1"), link(&father, &child, "R-2")],
        None,
    )
    .await
    .unwrap();
    positive(&core, &child, "P-1").await;
    let told = queued(&core, &mum).await;
    assert_eq!(
        told.iter().map(|o| o.text.key()).collect::<Vec<_>>(),
        ["family-status-changed"]
    );
    assert_eq!(support::arg(&told[0], "who"), child.masked());
    assert_eq!(support::arg(&told[0], "colour"), "red");
    assert!(queued(&core, &dad).await.is_empty());
    // The same result fed again: no second notice.
    let again = feeds::ingest_pcr(
        &core,
        vec![json!({
            "iin": child.expose(),
            "taken_at": "2026-11-11T09:00:00+05:00",
            "result_at": "2026-11-11T18:00:00+05:00",
            "result": "positive",
            "lab": "KDL",
            "external_id": "P-1",
        })],
        None,
    )
    .await
    .unwrap();
    assert_eq!(again.duplicates, 1);
    assert_eq!(queued(&core, &mum).await.len(), 1);
    // The red period ends by itself: the notifier tells the mother.
    let later = at("2026-12-20T12:00:00+05:00");
    ashyq::core::status::run_due_at(&core, later).await.unwrap();
    let told = queued(&core, &mum).await;
    assert_eq!(
        told.len(),
        2,
        "{:?}",
        told.iter().map(|o| o.text.key()).collect::<Vec<_>>()
    );
    assert_eq!(told[1].text.key(), "family-status-changed");
    assert_ne!(support::arg(&told[1], "colour"), "red");
    // Once more: nothing new.
    ashyq::core::status::run_due_at(&core, later).await.unwrap();
    assert_eq!(queued(&core, &mum).await.len(), 2);
    // A child already red when linked: the end of the red period reaches the mother too.
    let second = iin(2016, 2, 2, 30);
    positive(&core, &second, "P-2").await;
    family::ingest(&core, vec![link(&mother, &second, "R-3")], None)
        .await
        .unwrap();
    assert_eq!(queued(&core, &mum).await.len(), 2, "linking tells nothing");
    ashyq::core::status::run_due_at(&core, later).await.unwrap();
    let told = queued(&core, &mum).await;
    assert_eq!(told.len(), 3);
    assert_eq!(support::arg(&told[2], "who"), second.masked());
    assert_ne!(support::arg(&told[2], "colour"), "red");
    assert!(queued(&core, &dad).await.is_empty());
}

mod notices {
    ashyq_on_both!(super::dependants_status_reaches_verified_adults);
}
