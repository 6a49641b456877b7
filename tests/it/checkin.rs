//! Venue check-in through the core on SQLite and PostgreSQL: deep link, photo and short code,
//! registration first, repeats, exits, automatic check-out, the staff feed, guard mode, every
//! refusal; and the terminal adapter with the demo venue.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::checkin::{self, admin};
use ashyq::core::{Event, MediaKind, Outbound};
use ashyq::storage::{ChatRef, Store, outbox};
use support::images::{blank_png, png_header, qr_png};
use support::{Chat, TestDb, arg, at, buttons, command, core, core_built, count, keys};

const BOT: &str = "ashyq_test_bot";
const PHONE: &str = "+77011234567";
const IIN: &str = "900101300017";
const IIN2: &str = "900517412346";

fn start(arg: &str) -> Event {
    Event::Command {
        name: "start".into(),
        arg: arg.into(),
    }
}

async fn add_venue(
    core: &ashyq::core::Core,
    name: &str,
    bin: &str,
    category: &str,
    entrances: u32,
    max_stay_ms: Option<i64>,
) -> admin::AddedVenue {
    admin::add_venue(
        core,
        &admin::AddVenue {
            name: name.into(),
            bin: bin.into(),
            address: "Almaty, Abai 10".into(),
            region: "Almaty".into(),
            category: category.into(),
            entrances,
            max_stay_ms,
        },
        BOT,
    )
    .await
    .expect("venue added")
}

async fn register(chat: &Chat, iin: &str) {
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    let out = chat
        .send(Event::Contact {
            phone: PHONE.into(),
            own: true,
        })
        .await;
    assert_eq!(keys(&out), ["phone-saved", "iin-prompt"]);
    crate::support::identity_pair(&chat.core, iin, PHONE).await;
    assert_eq!(chat.text(iin).await, ["registered"]);
}

async fn queued_for(store: &Store, chat: &ChatRef) -> Vec<Outbound> {
    let mut conn = store.pool().acquire().await.unwrap();
    outbox::due_for_chat(&mut conn, chat, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

async fn invite(core: &ashyq::core::Core, venue_id: i64) -> String {
    let link = admin::invite(core, venue_id, "staff", BOT).await.unwrap();
    assert!(link.starts_with(&format!("https://t.me/{BOT}?start=inv_")));
    let token = link.split("start=").nth(1).unwrap().to_string();
    assert!(token.len() <= 64);
    token
}

async fn the_whole_flow(db: &TestDb) {
    whole_flow_with(db, checkin::lane::DEFAULT_LANES).await;
}

/// The whole flow with check-ins written one by one: the reference the lanes must match.
async fn the_whole_flow_one_by_one(db: &TestDb) {
    whole_flow_with(db, 0).await;
}

async fn whole_flow_with(db: &TestDb, lanes: usize) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core_built(db, &clock, |c| c.with_checkin_lanes(lanes)).await;
    let cafe = add_venue(&core, "Cafe Alma", "210540012341", "ordinary", 2, None).await;
    let shop = add_venue(&core, "Magnum", "190940001116", "essential", 1, None).await;
    let sanitary = ChatRef::new("test", "sanitary");
    admin::set_alert_chat(&core, "almaty", &sanitary)
        .await
        .unwrap();
    for e in cafe.entrances.iter().chain(&shop.entrances) {
        for t in [&e.entry_token, &e.exit_token] {
            assert!(t.len() <= 64);
        }
        assert_eq!(e.entry_code.len(), 8);
        assert!(e.entry_link.ends_with(&e.entry_token));
    }

    // Staff join through a one-time invitation.
    let inv = invite(&core, cafe.venue_id).await;
    let staff = Chat::new(&core, "staff", Some("ru"));
    assert_eq!(keys(&staff.send(start(&inv)).await), ["invite-accepted"]);
    let other = Chat::new(&core, "other", Some("ru"));
    assert_eq!(keys(&other.send(start(&inv)).await), ["invite-invalid"]);

    // An unregistered visitor opens the entry link: registration first, then the check-in
    // completes by itself.
    let v = Chat::new(&core, "visitor", Some("ru"));
    let e0 = &cafe.entrances[0];
    let out = v.send(start(&e0.entry_token)).await;
    assert_eq!(keys(&out), ["checkin-register-first", "consent-text"]);
    assert_eq!(count(&core.store, "checkins").await, 0);
    assert_eq!(v.button("consent:yes").await, ["phone-prompt"]);
    v.send(Event::Contact {
        phone: PHONE.into(),
        own: true,
    })
    .await;
    crate::support::identity_pair(&core, IIN, PHONE).await;
    let out = v.send(Event::Text(IIN.into())).await;
    assert_eq!(keys(&out), ["registered", "checkin-result"]);
    let result = &out[1];
    assert_eq!(arg(result, "colour"), "blue");
    assert_eq!(arg(result, "verdict"), "admit");
    assert_eq!(arg(result, "venue"), "Cafe Alma");
    assert_eq!(arg(result, "entrance"), "1");
    assert_eq!(arg(result, "time"), "10:00");
    let code = arg(result, "code");
    assert_eq!(code.len(), 4);
    let rendered = core.texts.render(ashyq::domain::Lang::Ru, &result.text);
    assert!(
        rendered.contains("🟦") && rendered.contains("ВПУСКАТЬ"),
        "{rendered}"
    );
    let data = buttons(result);
    assert!(
        data[0].starts_with("ci:r:") && data[1].starts_with("ci:l:"),
        "{data:?}"
    );

    // The staff chat got the same check code, and no personal data.
    let feed = queued_for(&core.store, &staff.chat).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].text.key(), "checkin-staff-line");
    assert_eq!(arg(&feed[0], "code"), code);
    let payloads = serde_json::to_string(&feed).unwrap();
    assert!(!payloads.contains(IIN) && !payloads.contains("7011234567"));
    // Blue people do not alarm sanitary control.
    assert!(queued_for(&core.store, &sanitary).await.is_empty());

    // The same code again within a minute, by link or by photo: the same visit and reply.
    clock.advance(chrono::Duration::seconds(30));
    let again = v.send(start(&e0.entry_token)).await;
    assert_eq!(keys(&again), ["checkin-result"]);
    assert_eq!(arg(&again[0], "code"), code);
    let again = v.send(Event::Image(qr_png(&e0.entry_link))).await;
    assert_eq!(keys(&again), ["checkin-result"]);
    assert_eq!(arg(&again[0], "code"), code);
    assert_eq!(count(&core.store, "checkins").await, 1);
    assert_eq!(queued_for(&core.store, &staff.chat).await.len(), 1);

    // The exit code closes the visit; a second exit finds nothing open.
    clock.advance(chrono::Duration::minutes(10));
    let out = v.send(start(&e0.exit_token)).await;
    assert_eq!(keys(&out), ["checkin-left"]);
    assert_eq!(arg(&out[0], "minutes"), "10");
    let out = v.send(start(&e0.exit_token)).await;
    assert_eq!(keys(&out), ["checkin-exit-without-entry", "menu-prompt"]);

    // The short code, typed in lower case, at the second entrance.
    clock.advance(chrono::Duration::minutes(2));
    let e1 = &cafe.entrances[1];
    let out = v.text(&e1.entry_code.to_lowercase()).await;
    assert_eq!(out, ["checkin-result"]);
    let out = v.send(Event::Text(e1.entry_code.replace('-', " "))).await;
    assert_eq!(arg(&out[0], "entrance"), "2");
    let staff_occupancy = staff.send(command("occupancy", "")).await;
    assert_eq!(keys(&staff_occupancy), ["occupancy-line"]);
    assert_eq!(arg(&staff_occupancy[0], "count"), "1");

    // A photo of the shop's code moves the visitor there: the café visit closes.
    clock.advance(chrono::Duration::minutes(5));
    let out = v
        .send(Event::Image(qr_png(&shop.entrances[0].entry_link)))
        .await;
    assert_eq!(keys(&out), ["checkin-result"]);
    assert_eq!(arg(&out[0], "venue"), "Magnum");
    let shop_result = out[0].clone();
    let staff_occupancy = staff.send(command("occupancy", "")).await;
    assert_eq!(arg(&staff_occupancy[0], "count"), "0");

    // Refresh: current at once, stale after five minutes.
    let refresh = buttons(&shop_result)[0].clone();
    let out = v.button(&refresh).await;
    assert_eq!(out, ["checkin-refreshed"]);
    clock.advance(chrono::Duration::minutes(6));
    let out = v.send(Event::Button(refresh.clone())).await;
    assert_eq!(arg(&out[0], "stale"), "yes");
    assert_eq!(arg(&out[0], "minutes"), "6");
    // Someone else's button does nothing.
    assert_eq!(other.button(&refresh).await[0], "hint-register-first");

    // "I left" ends the visit, once.
    let left = buttons(&shop_result)[1].clone();
    assert_eq!(v.button(&left).await, ["checkin-left"]);
    assert_eq!(v.button(&left).await, ["checkin-not-inside"]);
    assert_eq!(
        keys(&v.send(command("left", "")).await),
        ["checkin-not-inside"]
    );

    // Refusals: a clear answer each, nothing recorded but the audit line.
    let checkins = count(&core.store, "checkins").await;
    let audits = count(&core.store, "checkin_audit").await;
    let token = &e0.entry_token;
    let mut forged = token.clone().into_bytes();
    forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let refusals: Vec<(Event, &str)> = vec![
        (start(&forged), "checkin-code-invalid"),
        (start(&token[..20]), "checkin-code-invalid"),
        (start(&format!("{token}x")), "checkin-code-invalid"),
        (
            Event::Image(qr_png(&format!("https://t.me/{BOT}?start={forged}"))),
            "checkin-code-invalid",
        ),
        (Event::Image(blank_png()), "checkin-no-qr"),
        (
            Event::Image(qr_png("WIFI:S:cafe;T:WPA;P:secret;;")),
            "checkin-not-ashyq",
        ),
        (
            Event::Image(vec![0xFF; 20 * 1024 * 1024]),
            "checkin-image-too-large",
        ),
        (
            Event::Image(png_header(30_000, 30_000)),
            "checkin-image-too-large",
        ),
        (
            Event::Unsupported(MediaKind::OversizedImage),
            "checkin-image-too-large",
        ),
        (
            Event::Image(b"%PDF-1.4 not an image".to_vec()),
            "checkin-image-unreadable",
        ),
        (
            Event::Unsupported(MediaKind::Document),
            "checkin-not-an-image",
        ),
        (Event::Text("ZZZ-ZZZZ".into()), "checkin-code-unknown"),
    ];
    for (event, key) in refusals {
        let out = v.send(event.clone()).await;
        assert_eq!(out[0].text.key(), key, "{event:?}");
        assert_eq!(out[1].text.key(), "menu-prompt", "{event:?}");
    }
    assert_eq!(count(&core.store, "checkins").await, checkins);
    assert!(count(&core.store, "checkin_audit").await >= audits + 4);

    // A revoked entrance, a suspended venue, a revoked key.
    admin::revoke(&core, cafe.venue_id, Some("2"))
        .await
        .unwrap();
    assert_eq!(v.text(&e1.entry_code).await[0], "checkin-code-revoked");
    assert_eq!(
        keys(&v.send(start(&e1.entry_token)).await)[0],
        "checkin-code-revoked"
    );
    admin::suspend(&core, shop.venue_id, 14).await.unwrap();
    let out = v.send(start(&shop.entrances[0].entry_token)).await;
    assert_eq!(out[0].text.key(), "checkin-venue-suspended");
    assert_eq!(arg(&out[0], "until"), "2026-12-05");
    assert_eq!(admin::rotate_key(&core).await.unwrap(), 2);
    // Old codes keep working until their key is revoked.
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(
        keys(&v.send(start(&e0.entry_token)).await),
        ["checkin-result"]
    );
    admin::revoke_key(&core, 1).await.unwrap();
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(
        keys(&v.send(start(&e0.entry_token)).await)[0],
        "checkin-code-revoked"
    );
    let (_, fresh) = admin::codes(&core, cafe.venue_id, BOT).await.unwrap();
    assert_eq!(fresh.len(), 1, "the revoked entrance has no poster");
    assert_ne!(fresh[0].entry_token, e0.entry_token);
    assert_eq!(
        keys(&v.send(start(&fresh[0].entry_token)).await),
        ["checkin-result"]
    );
    admin::revoke(&core, cafe.venue_id, None).await.unwrap();
    assert_eq!(
        keys(&v.send(start(&fresh[0].exit_token)).await)[0],
        "checkin-code-revoked"
    );
    core.store.close().await;
}

mod whole_flow {
    ashyq_on_both!(super::the_whole_flow);
}

mod whole_flow_one_by_one {
    ashyq_on_both!(super::the_whole_flow_one_by_one);
}

/// Check-ins arriving together, with the lane paused so they form one batch: new visits
/// (the previous visit closed), a repeat within a minute, one update delivered twice, an
/// unregistered visitor. With `lanes = 0` the same events go one by one and every
/// assertion holds alike.
async fn checkins_together(db: &TestDb, lanes: usize) {
    use ashyq::core::Inbound;
    use ashyq::domain::{Iin, Sex};
    let clock = ManualClock::new(at("2026-11-21T09:00:00+05:00"));
    let core = core_built(db, &clock, |c| c.with_checkin_lanes(lanes)).await;
    let cafe = add_venue(&core, "Cafe Alma", "210540012341", "ordinary", 1, None).await;
    let shop = add_venue(&core, "Magnum", "190940001116", "essential", 1, None).await;
    let staff = Chat::new(&core, "shop-staff", Some("kk"));
    assert_eq!(
        keys(&staff.send(start(&invite(&core, shop.venue_id).await)).await),
        ["invite-accepted"]
    );
    let mut visitors = Vec::new();
    for i in 0..8u16 {
        let v = Chat::new(&core, &format!("together-{i}"), Some("ru"));
        assert_eq!(v.command("start").await, ["consent-text"]);
        assert_eq!(v.button("consent:yes").await, ["phone-prompt"]);
        v.send(Event::Contact {
            phone: format!("+7701555{i:04}"),
            own: true,
        })
        .await;
        let birth = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        let iin = Iin::synthetic(birth, Sex::Male, i * 3);
        crate::support::identity_pair(&core, &iin.expose(), &format!("+7701555{i:04}")).await;
        assert_eq!(v.text(&iin.expose()).await, ["registered"]);
        let out = v.send(start(&cafe.entrances[0].entry_token)).await;
        assert_eq!(keys(&out), ["checkin-result"]);
        visitors.push((v, arg(&out[0], "code")));
    }
    let before = core.checkin_lanes.stats();
    clock.advance(chrono::Duration::seconds(20));

    // Visitors 0-5 move to the shop, 6 scans the café again, 7's update arrives twice; a
    // stranger opens the shop's link.
    let pause = core.checkin_lanes.pause().await;
    let mut tasks = Vec::new();
    let send = |chat: &ChatRef, event: Event, key: String| {
        let core = core.clone();
        let inbound = Inbound {
            chat: chat.clone(),
            update_key: Some(key),
            lang_hint: Some("ru".into()),
            event,
        };
        tokio::spawn(async move { core.handle(inbound).await.expect("handled") })
    };
    let shop_token = &shop.entrances[0].entry_token;
    for (i, (v, _)) in visitors.iter().enumerate() {
        let token = if i == 6 {
            &cafe.entrances[0].entry_token
        } else {
            shop_token
        };
        tasks.push(send(&v.chat, start(token), format!("together-{i}")));
    }
    tasks.push(send(
        &visitors[7].0.chat,
        start(shop_token),
        "together-7".into(),
    ));
    let stranger = ChatRef::new("test", "together-stranger");
    tasks.push(send(
        &stranger,
        start(shop_token),
        "together-stranger".into(),
    ));
    if core.checkin_lanes.enabled() {
        while core.checkin_lanes.queued() < tasks.len() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    drop(pause);
    let mut outs = Vec::new();
    for t in tasks {
        outs.push(t.await.unwrap());
    }

    let mut shop_codes = Vec::new();
    for (i, out) in outs[..6].iter().enumerate() {
        assert_eq!(keys(out), ["checkin-result"], "visitor {i}");
        assert_eq!(arg(&out[0], "venue"), "Magnum");
        assert_eq!(arg(&out[0], "verdict"), "admit");
        assert_eq!(arg(&out[0], "time"), "09:00");
        shop_codes.push(arg(&out[0], "code"));
    }
    // The repeat: the same visit and code as twenty seconds ago.
    assert_eq!(keys(&outs[6]), ["checkin-result"]);
    assert_eq!(arg(&outs[6][0], "code"), visitors[6].1);
    // The update delivered twice: checked in once, and both deliveries get that one reply
    // (the second finds the update processed and its reply not yet sent).
    assert_eq!(outs[7], outs[8], "{:?}", &outs[7..9]);
    assert_eq!(keys(&outs[7]), ["checkin-result"]);
    shop_codes.push(arg(&outs[7][0], "code"));
    assert_eq!(keys(&outs[9]), ["checkin-register-first", "consent-text"]);
    let unique: std::collections::HashSet<&String> = shop_codes.iter().collect();
    assert_eq!(
        unique.len(),
        7,
        "check codes differ at one venue: {shop_codes:?}"
    );

    // What was written: 8 + 7 check-ins, 7 café visits closed by the next entry.
    assert_eq!(count(&core.store, "checkins").await, 15);
    let (closed,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM checkins WHERE venue_id = $1 AND left_how = 'next_entry'",
    )
    .bind(cafe.venue_id)
    .fetch_one(core.store.pool())
    .await
    .unwrap();
    assert_eq!(closed, 7);
    // The check-in rows are the record: who (person and chat), where, how, the verdict.
    let (recorded,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM checkins WHERE venue_id = $1 AND admitted = 1 AND via = 'link'
         AND person_id IS NOT NULL AND chat_id LIKE 'together-%' AND left_at IS NULL",
    )
    .bind(shop.venue_id)
    .fetch_one(core.store.pool())
    .await
    .unwrap();
    assert_eq!(recorded, 7);
    // The shop's staff saw every entry with its code, in their language.
    let feed = queued_for(&core.store, &staff.chat).await;
    let mut fed: Vec<String> = feed.iter().map(|o| arg(o, "code")).collect();
    fed.sort();
    shop_codes.sort();
    assert_eq!(fed, shop_codes);
    assert!(feed.iter().all(|o| o.lang == ashyq::domain::Lang::Kk));

    // One batch wrote the seven new visits; the rest went one by one.
    let after = core.checkin_lanes.stats();
    if lanes > 0 {
        assert_eq!(after.checkins - before.checkins, 7, "{before:?} {after:?}");
        assert!(after.batches - before.batches <= lanes as u64);
    } else {
        assert_eq!(after, before);
    }
    core.store.close().await;
}

async fn together_batched(db: &TestDb) {
    checkins_together(db, 1).await;
}

async fn together_one_by_one(db: &TestDb) {
    checkins_together(db, 0).await;
}

mod together {
    mod batched {
        ashyq_on_both!(crate::checkin::together_batched);
    }
    mod one_by_one {
        ashyq_on_both!(crate::checkin::together_one_by_one);
    }
}

async fn automatic_check_out(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(db, &clock).await;
    let gym = add_venue(
        &core,
        "Fitness",
        "210540012341",
        "ordinary",
        1,
        Some(3_600_000),
    )
    .await;
    let v = Chat::new(&core, "visitor", Some("kk"));
    register(&v, IIN).await;
    assert_eq!(
        v.text(&gym.entrances[0].entry_code).await,
        ["checkin-result"]
    );

    clock.advance(chrono::Duration::minutes(44));
    assert_eq!(checkin::run_due(&core).await.unwrap(), 0);
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(checkin::run_due(&core).await.unwrap(), 1);
    assert_eq!(checkin::run_due(&core).await.unwrap(), 0, "reminded once");
    let notices = queued_for(&core.store, &v.chat).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].text.key(), "checkin-reminder");
    assert_eq!(arg(&notices[0], "minutes"), "14");
    assert_eq!(arg(&notices[0], "time"), "11:00");

    clock.advance(chrono::Duration::minutes(15));
    assert_eq!(checkin::run_due(&core).await.unwrap(), 1);
    assert_eq!(checkin::run_due(&core).await.unwrap(), 0);
    let notices = queued_for(&core.store, &v.chat).await;
    assert_eq!(notices.len(), 2);
    assert_eq!(notices[1].text.key(), "checkin-auto-closed");
    assert_eq!(
        keys(&v.send(command("left", "")).await),
        ["checkin-not-inside"]
    );
    let (how, left_at): (String, i64) = sqlx::query_as("SELECT left_how, left_at FROM checkins")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert_eq!(how, "auto");
    assert_eq!(left_at, at("2026-11-21T11:00:00+05:00").timestamp_millis());
    core.store.close().await;
}

mod auto_check_out {
    ashyq_on_both!(super::automatic_check_out);
}

async fn guard(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(db, &clock).await;
    let airport = add_venue(&core, "Airport", "210540012341", "pcr_required", 1, None).await;
    let visitor = Chat::new(&core, "visitor", Some("ru"));
    register(&visitor, IIN).await;

    // Not staff: refused and audited.
    let stranger = Chat::new(&core, "stranger", Some("ru"));
    assert_eq!(
        keys(&stranger.send(command("guard", "")).await),
        ["staff-only"]
    );
    assert_eq!(
        keys(&stranger.send(command("occupancy", "")).await),
        ["staff-only"]
    );
    assert_eq!(count(&core.store, "checkin_audit").await, 1);

    let staff = Chat::new(&core, "guard", Some("ru"));
    staff
        .send(start(&invite(&core, airport.venue_id).await))
        .await;
    // A second staff chat, in Kazakh, sees the guard's entries in its language.
    let colleague = Chat::new(&core, "colleague", Some("kk"));
    colleague
        .send(start(&invite(&core, airport.venue_id).await))
        .await;
    assert_eq!(staff.command("guard").await, ["guard-enter-iin"]);
    assert_eq!(staff.text("123").await, ["iin-wrong-length"]);
    assert_eq!(staff.text(IIN).await, ["guard-confirm-consent"]);
    let state = staff.stored_state().await.unwrap();
    assert!(
        state.contains("guard_confirm") && !state.contains(IIN),
        "{state}"
    );
    let out = staff.send(Event::Button("ci:gy".into())).await;
    assert_eq!(keys(&out), ["guard-result"]);
    // Blue at a venue that requires a PCR test: not admitted.
    assert_eq!(arg(&out[0], "colour"), "blue");
    assert_eq!(arg(&out[0], "verdict"), "deny");
    assert!(staff.stored_state().await.unwrap().contains("idle"));
    assert!(
        queued_for(&core.store, &staff.chat).await.is_empty(),
        "the guard is not sent a copy of its own entry"
    );
    let feed = queued_for(&core.store, &colleague.chat).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].text.key(), "checkin-staff-line");
    assert_eq!(feed[0].lang, ashyq::domain::Lang::Kk);
    assert_eq!(arg(&feed[0], "via"), "guard");
    let (via, person, admitted): (String, Option<i64>, i64) =
        sqlx::query_as("SELECT via, person_id, admitted FROM checkins")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (via.as_str(), person.is_some(), admitted),
        ("guard", true, 0)
    );
    // The audit knows who looked whom up, by hash only.
    let (chat_id, hash): (String, Vec<u8>) =
        sqlx::query_as("SELECT chat_id, iin_hash FROM checkin_audit WHERE action = 'guard_lookup'")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(chat_id, "guard");
    assert_eq!(hash, core.vault.lookup_hash(ashyq::crypto::Field::Iin, IIN));

    // Cancel, and a look-up of an IIN with no account.
    assert_eq!(
        keys(&staff.send(command("guard", IIN2)).await),
        ["guard-confirm-consent"]
    );
    assert_eq!(staff.button("ci:gc").await, ["guard-cancelled"]);
    assert_eq!(count(&core.store, "checkins").await, 1);
    staff.send(command("guard", IIN2)).await;
    assert_eq!(staff.button("ci:gy").await, ["guard-result"]);
    assert_eq!(count(&core.store, "checkins").await, 2);

    // At most 60 look-ups an hour.
    for _ in 2..60 {
        staff.send(command("guard", IIN)).await;
        assert_eq!(staff.button("ci:gy").await, ["guard-result"]);
    }
    assert_eq!(
        keys(&staff.send(command("guard", IIN)).await),
        ["guard-limit"]
    );
    assert_eq!(count(&core.store, "checkins").await, 60);
    clock.advance(chrono::Duration::minutes(61));
    staff.send(command("guard", IIN)).await;
    assert_eq!(staff.button("ci:gy").await, ["guard-result"]);
    // A stale confirmation button does nothing.
    assert_eq!(staff.button("ci:gy").await, ["hint-stale-button"]);
    core.store.close().await;
}

mod guard_mode {
    ashyq_on_both!(super::guard);
}

/// The terminal adapter: the demo venue seeded by `ashyq chat`, a typed code, a photo of the
/// code and the exit code.
async fn terminal(db: &TestDb) {
    use ashyq::adapters::terminal::{self, TerminalOptions};
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(db, &clock).await;
    crate::support::identity_pair(&core, IIN, PHONE).await;
    let (name, entry, exit) = admin::ensure_demo_venue(&core).await.unwrap();
    assert_eq!(
        admin::ensure_demo_venue(&core).await.unwrap(),
        (name.clone(), entry.clone(), exit.clone()),
        "seeded once"
    );
    assert_eq!(count(&core.store, "venues").await, 1);
    let venue_id = admin::list(&core).await.unwrap()[0].venue_id;
    let (_, codes) = admin::codes(&core, venue_id, BOT).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("poster.png");
    std::fs::write(&photo, qr_png(&codes[0].entry_link)).unwrap();
    let script = format!(
        "/start\n1\n1\n{IIN}\n{}\n/photo {}\n{exit}\n/quit\n",
        entry.to_lowercase(),
        photo.display()
    );
    let mut out = Vec::new();
    terminal::run(
        &core,
        script.as_bytes(),
        &mut out,
        &TerminalOptions {
            user: "local".into(),
            phone: PHONE.into(),
            lang_hint: Some("ru".into()),
            echo: true,
        },
    )
    .await
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("Регистрация завершена"), "{out}");
    assert_eq!(out.matches("СИНИЙ").count(), 2, "{out}");
    assert!(out.contains("ВПУСКАТЬ"), "{out}");
    assert!(
        out.contains(&format!("Выход с объекта «{name}» отмечен")),
        "{out}"
    );
    assert_eq!(count(&core.store, "checkins").await, 1);
    core.store.close().await;
}

mod terminal_adapter {
    ashyq_on_both!(super::terminal);
}

/// With real health records: a positive PCR makes the visitor red, the door says do not
/// admit, and the region's sanitary-control chat is alerted without a name or an IIN; a
/// contact makes a visitor yellow, admitted at an essential venue only.
async fn red_and_yellow_visitors(db: &TestDb) {
    use ashyq::crypto::Field;
    use ashyq::storage::health::{self, NewPcr};
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(db, &clock).await;
    let cafe = add_venue(&core, "Cafe Alma", "210540012341", "ordinary", 1, None).await;
    let shop = add_venue(&core, "Magnum", "190940001116", "essential", 1, None).await;
    let sanitary = ChatRef::new("test", "sanitary");
    admin::set_alert_chat(&core, "almaty", &sanitary)
        .await
        .unwrap();
    let v = Chat::new(&core, "red-visitor", Some("ru"));
    register(&v, IIN).await;

    // A positive sample taken on 18 November, known since the 19th: red until 2 December.
    let mut tx = core.store.begin().await.unwrap();
    let pcr = NewPcr {
        iin_hash: core.vault.lookup_hash(Field::Iin, IIN),
        taken_at: at("2026-11-18T09:00:00+05:00").timestamp_millis(),
        result_at: at("2026-11-19T09:00:00+05:00").timestamp_millis(),
        positive: true,
        lab: "Lab 1".into(),
        external_id: "lab1-0001".into(),
        content_hash: vec![1; 32],
        withdrawn: false,
    };
    assert!(
        health::insert_pcr(&mut tx, &pcr, None, core.now_ms())
            .await
            .unwrap()
            .is_some()
    );
    tx.commit().await.unwrap();

    for venue in [&cafe, &shop] {
        let out = v.send(start(&venue.entrances[0].entry_token)).await;
        assert_eq!(keys(&out), ["checkin-result"]);
        assert_eq!(arg(&out[0], "colour"), "red");
        assert_eq!(arg(&out[0], "verdict"), "deny");
    }
    let alerts = queued_for(&core.store, &sanitary).await;
    assert_eq!(alerts.len(), 2, "one alert per attempt");
    for alert in &alerts {
        let text = core.texts.render(alert.lang, &alert.text);
        assert!(
            !text.contains(IIN) && !text.contains("7011234567"),
            "{text}"
        );
    }

    // A close contact of 20 November: yellow; the grocery admits, the café does not.
    let y = Chat::new(&core, "yellow-visitor", Some("ru"));
    register(&y, IIN2).await;
    let mut tx = core.store.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO contacts (iin_hash, contact_date, case_id, external_id, content_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(core.vault.lookup_hash(Field::Iin, IIN2))
    .bind("2026-11-20")
    .bind("case-7")
    .bind("cc-0001")
    .bind(vec![2u8; 32])
    .bind(core.now_ms())
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let out = y.send(start(&shop.entrances[0].entry_token)).await;
    assert_eq!(
        (arg(&out[0], "colour"), arg(&out[0], "verdict")),
        ("yellow".into(), "admit".into())
    );
    let out = y.send(start(&cafe.entrances[0].entry_token)).await;
    assert_eq!(
        (arg(&out[0], "colour"), arg(&out[0], "verdict")),
        ("yellow".into(), "deny".into())
    );
    assert_eq!(queued_for(&core.store, &sanitary).await.len(), 4);
}

mod red_and_yellow {
    ashyq_on_both!(super::red_and_yellow_visitors);
}
