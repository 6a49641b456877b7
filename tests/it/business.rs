//! Businesses through the core on SQLite and PostgreSQL: the application dialogue with every
//! bad input, association pre-approval and admin review, approval into a venue in test mode
//! with posters, owner tools, monitoring suspensions, authorities' occupancy.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::business::{BusinessSettings, review};
use ashyq::core::{AttachmentKind, Core, Event, Outbound};
use ashyq::i18n::Texts;
use ashyq::storage::{ChatRef, Store, outbox};
use std::sync::Arc;
use support::{Chat, TestDb, arg, at, buttons, command as cmd, count, keys};

const PHONE: &str = "+77011234567";
const BIN: &str = "210540012341";
const BIN2: &str = "190940001116";
const IIN: &str = "900101300017";
const IIN2: &str = "900517412346";

async fn business_core(db: &TestDb, clock: &ManualClock) -> Arc<Core> {
    let store = Store::open(&db.url).await.expect("open store");
    let mut settings = BusinessSettings {
        admin_chat: Some(ChatRef::new("test", "admins")),
        bot_username: "ashyq_test_bot".into(),
        ..BusinessSettings::default()
    };
    settings
        .associations
        .insert("catering".into(), ChatRef::new("test", "catering-assoc"));
    Arc::new(
        Core::new(
            store,
            ashyq::crypto::Vault::from_secret(support::SECRET).unwrap(),
            Arc::new(clock.clone()),
            Arc::new(Texts::load()),
        )
        .with_channels(ashyq::adapters::channels())
        .with_business(settings),
    )
}

async fn register(chat: &Chat, iin: &str) {
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    chat.send(Event::Contact {
        phone: PHONE.into(),
        own: true,
    })
    .await;
    crate::support::identity_pair(&chat.core, iin, PHONE).await;
    assert_eq!(chat.text(iin).await, ["registered"]);
}

async fn queued(store: &Store, chat: &ChatRef) -> Vec<Outbound> {
    let mut conn = store.pool().acquire().await.unwrap();
    outbox::due_for_chat(&mut conn, chat, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect()
}

/// Walks the dialogue to the summary with `oked` and `category`; returns the last replies.
async fn apply(
    owner: &Chat,
    bin: &str,
    address: &str,
    oked: &str,
    category: &str,
) -> Vec<Outbound> {
    assert_eq!(
        owner.command("business").await,
        ["biz-intro", "biz-ask-bin"]
    );
    assert_eq!(owner.text(bin).await, ["biz-ask-name"]);
    assert_eq!(owner.text("ТОО Алма Кафе").await, ["biz-ask-address"]);
    assert_eq!(owner.text(address).await, ["biz-ask-location"]);
    assert_eq!(owner.button("biz:skip").await, ["biz-ask-region"]);
    assert_eq!(owner.text("Almaty").await, ["biz-ask-oked"]);
    let out = owner.send(Event::Text(oked.into())).await;
    assert_eq!(keys(&out), ["biz-ask-category"]);
    assert!(
        buttons(&out[0]).contains(&format!("biz:cat:{category}")),
        "{:?}",
        buttons(&out[0])
    );
    assert_eq!(
        owner.button(&format!("biz:cat:{category}")).await,
        ["biz-ask-entrances"]
    );
    assert_eq!(owner.text("2").await, ["biz-ask-max-stay"]);
    let out = owner.send(Event::Text("2h".into())).await;
    assert_eq!(keys(&out), ["biz-summary"]);
    out
}

async fn application_and_bad_input(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = business_core(db, &clock).await;
    let owner = Chat::new(&core, "owner", Some("ru"));

    // Not registered: no application.
    assert_eq!(owner.command("business").await, ["hint-register-first"]);
    register(&owner, IIN).await;

    assert_eq!(
        owner.command("business").await,
        ["biz-intro", "biz-ask-bin"]
    );
    // Invalid BINs, each with its reason, and the question again.
    for (bad, reason) in [
        ("1234", "length"),
        ("21054001234x", "digits"),
        ("210540012342", "checksum"),
    ] {
        let out = owner.send(Event::Text(bad.into())).await;
        assert_eq!(keys(&out), ["biz-bin-invalid", "biz-ask-bin"], "{bad}");
        assert_eq!(arg(&out[0], "reason"), reason);
    }
    assert_eq!(owner.text(BIN).await, ["biz-ask-name"]);
    assert_eq!(owner.text("1").await, ["biz-name-invalid", "biz-ask-name"]);
    assert_eq!(owner.text("ТОО Алма Кафе").await, ["biz-ask-address"]);
    assert_eq!(
        owner.text("Ab").await,
        ["biz-address-invalid", "biz-ask-address"]
    );
    assert_eq!(
        owner.text("Алматы, пр. Абая 10").await,
        ["biz-ask-location"]
    );
    // A pin outside Kazakhstan, text instead of a pin, then a real pin.
    let out = owner
        .send(Event::Location {
            lat: 48.85,
            lon: 2.35,
        })
        .await;
    assert_eq!(keys(&out), ["biz-location-outside", "biz-ask-location"]);
    assert_eq!(
        owner.text("here").await,
        ["biz-location-hint", "biz-ask-location"]
    );
    let out = owner
        .send(Event::Location {
            lat: 43.2383,
            lon: 76.9457,
        })
        .await;
    assert_eq!(keys(&out), ["biz-ask-region"]);
    assert_eq!(
        owner.text("12345").await,
        ["biz-region-invalid", "biz-ask-region"]
    );
    assert_eq!(owner.text("Almaty").await, ["biz-ask-oked"]);
    assert_eq!(owner.text("561").await, ["biz-oked-format", "biz-ask-oked"]);
    // Retail is not an eligible activity: refused with the code.
    let out = owner.send(Event::Text("47111".into())).await;
    assert_eq!(keys(&out), ["biz-oked-ineligible", "biz-ask-oked"]);
    assert_eq!(arg(&out[0], "code"), "47111");
    assert_eq!(owner.text("56.10.1").await, ["biz-ask-category"]);
    assert_eq!(
        owner.text("catering").await,
        ["biz-use-buttons", "biz-ask-category"]
    );
    // A category the code does not allow.
    assert_eq!(
        owner.button("biz:cat:cinemas").await,
        ["hint-stale-button", "biz-ask-category"]
    );
    assert_eq!(
        owner.button("biz:cat:catering").await,
        ["biz-ask-entrances"]
    );
    assert_eq!(
        owner.text("0").await,
        ["biz-entrances-invalid", "biz-ask-entrances"]
    );
    assert_eq!(
        owner.text("99").await,
        ["biz-entrances-invalid", "biz-ask-entrances"]
    );
    assert_eq!(owner.text("2").await, ["biz-ask-max-stay"]);
    assert_eq!(
        owner.text("5m").await,
        ["biz-max-stay-invalid", "biz-ask-max-stay"]
    );
    let out = owner.send(Event::Text("2h".into())).await;
    assert_eq!(keys(&out), ["biz-summary"]);
    assert_eq!(arg(&out[0], "location"), "43.23830, 76.94570");
    assert_eq!(
        count(&core.store, "business_applications").await,
        0,
        "nothing before submit"
    );
    let out = owner.send(Event::Button("biz:submit".into())).await;
    assert_eq!(keys(&out), ["biz-submitted"]);
    assert_eq!(arg(&out[0], "stage"), "association");
    let id: i64 = arg(&out[0], "id").parse().unwrap();

    // Catering goes to its association first, not to the administrators.
    let assoc = ChatRef::new("test", "catering-assoc");
    let cards = queued(&core.store, &assoc).await;
    assert_eq!(keys(&cards), ["biz-review-card"]);
    assert_eq!(
        buttons(&cards[0]),
        [format!("biz:pre:{id}"), format!("biz:prn:{id}")]
    );
    assert!(
        queued(&core.store, &ChatRef::new("test", "admins"))
            .await
            .is_empty()
    );
    // The administrators cannot approve before the association.
    let err = review::approve(&core, id).await.unwrap_err();
    assert!(
        matches!(err, review::ReviewError::AwaitingAssociation(_)),
        "{err}"
    );

    // A second application for the same BIN and address is refused (at the address step).
    assert_eq!(
        owner.command("business").await,
        ["biz-intro", "biz-ask-bin"]
    );
    assert_eq!(owner.text(BIN).await, ["biz-ask-name"]);
    assert_eq!(owner.text("ТОО Алма Кафе").await, ["biz-ask-address"]);
    assert_eq!(owner.text("алматы пр Абая, 10").await, ["biz-duplicate"]);
    assert_eq!(count(&core.store, "business_applications").await, 1);
    // /cancel in the middle leaves nothing.
    assert_eq!(
        owner.command("business").await,
        ["biz-intro", "biz-ask-bin"]
    );
    assert_eq!(owner.command("cancel").await, ["biz-cancelled"]);
    assert_eq!(owner.command("status").await.len(), 1, "back in the menu");

    // Someone else's chat cannot press the association's buttons.
    let stranger = Chat::new(&core, "stranger", None);
    assert_eq!(
        stranger.button(&format!("biz:pre:{id}")).await,
        ["biz-not-reviewer"]
    );
    // The association pre-approves: the card goes to the administrators, the owner is told.
    let assoc_chat = Chat::new(&core, "catering-assoc", None);
    assert_eq!(
        assoc_chat.button(&format!("biz:pre:{id}")).await,
        ["biz-review-preapproved"]
    );
    assert_eq!(
        assoc_chat.button(&format!("biz:pre:{id}")).await,
        ["biz-review-refused"]
    );
    let admin_cards = queued(&core.store, &ChatRef::new("test", "admins")).await;
    assert_eq!(keys(&admin_cards), ["biz-review-card"]);
    assert_eq!(
        buttons(&admin_cards[0]),
        [format!("biz:ok:{id}"), format!("biz:no:{id}")]
    );
    let told = queued(&core.store, &owner.chat).await;
    assert_eq!(keys(&told), ["biz-preapproved"]);

    // The admins reject with a reason typed after the button; a second decision is refused.
    let admins = Chat::new(&core, "admins", None);
    assert_eq!(
        admins.button(&format!("biz:no:{id}")).await,
        ["biz-reject-ask-reason"]
    );
    assert_eq!(
        admins.text("Адрес не совпадает с регистрацией").await,
        ["biz-review-rejected"]
    );
    assert_eq!(
        admins.button(&format!("biz:ok:{id}")).await,
        ["biz-review-already"]
    );
    let told = queued(&core.store, &owner.chat).await;
    let rejected = told
        .iter()
        .find(|o| o.text.key() == "biz-rejected")
        .unwrap();
    assert_eq!(arg(rejected, "reason"), "Адрес не совпадает с регистрацией");
    assert!(review::reject(&core, id, "again").await.is_err());
    assert_eq!(count(&core.store, "venues").await, 0);
    // After a rejection the same BIN and address may apply again.
    apply(&owner, BIN, "Алматы, пр. Абая 10", "56101", "catering").await;
    assert_eq!(owner.button("biz:submit").await, ["biz-submitted"]);
    assert_eq!(count(&core.store, "business_applications").await, 2);
    core.store.close().await;
}

async fn approval_test_mode_and_owner_tools(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = business_core(db, &clock).await;
    let owner = Chat::new(&core, "owner", Some("ru"));
    register(&owner, IIN).await;
    apply(&owner, BIN2, "Алматы, ул. Сатпаева 5", "93130", "fitness").await;
    let out = owner.send(Event::Button("biz:submit".into())).await;
    assert_eq!(
        arg(&out[0], "stage"),
        "pending",
        "fitness needs no association"
    );
    let id: i64 = arg(&out[0], "id").parse().unwrap();
    let sanitary = ChatRef::new("test", "sanitary");
    ashyq::core::checkin::admin::set_alert_chat(&core, "almaty", &sanitary)
        .await
        .unwrap();

    // Approval by the admin chat: venue, entrances, owner, posters as documents.
    let admins = Chat::new(&core, "admins", None);
    let out = admins.send(Event::Button(format!("biz:ok:{id}"))).await;
    assert_eq!(keys(&out), ["biz-review-approved"]);
    assert_eq!(arg(&out[0], "until"), "2026-11-28");
    assert_eq!(
        admins.button(&format!("biz:ok:{id}")).await,
        ["biz-review-already"]
    );
    let err = review::approve(&core, id).await.unwrap_err();
    assert!(
        matches!(err, review::ReviewError::AlreadyDecided { .. }),
        "{err}"
    );
    assert_eq!(count(&core.store, "venues").await, 1);
    assert_eq!(count(&core.store, "entrances").await, 2);
    let told = queued(&core.store, &owner.chat).await;
    assert_eq!(told[0].text.key(), "biz-approved");
    let posters: Vec<_> = told
        .iter()
        .filter_map(|o| o.attachment.as_deref())
        .collect();
    assert_eq!(posters.len(), 4, "entry and exit of two entrances");
    for p in &posters {
        assert_eq!(p.kind, AttachmentKind::Document);
        assert!(
            p.bytes.starts_with(b"%PDF") || p.bytes.starts_with(b"<?xml"),
            "{}",
            p.file_name
        );
    }
    let venue_id: i64 = {
        let apps = review::list(&core, Some("approved")).await.unwrap();
        apps[0].venue_id.unwrap()
    };

    // Test mode: a check-in works, is marked test, alerts nobody even for a red visitor.
    let visitor = Chat::new(&core, "visitor", Some("ru"));
    register(&visitor, IIN2).await;
    let code = {
        let mut conn = core.store.pool().acquire().await.unwrap();
        ashyq::storage::venues::entrances_of(&mut conn, venue_id)
            .await
            .unwrap()[0]
            .entry_code
            .clone()
    };
    let out = visitor.send(Event::Text(code.clone())).await;
    assert_eq!(keys(&out), ["checkin-result", "checkin-test-mode"]);
    let (test,): (i64,) = sqlx::query_as("SELECT test FROM checkins")
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    assert_eq!(test, 1);
    assert!(queued(&core.store, &sanitary).await.is_empty());

    // Owner tools: /business shows them; counts, occupancy, chart.
    let out = owner.send(cmd("business", "")).await;
    assert_eq!(keys(&out), ["biz-owner-tools"]);
    assert!(buttons(&out[0]).contains(&format!("biz:occ:{venue_id}")));
    let out = owner
        .send(Event::Button(format!("biz:occ:{venue_id}")))
        .await;
    assert_eq!(
        (out[0].text.key(), arg(&out[0], "count")),
        ("biz-occupancy", "1".into())
    );
    let out = owner
        .send(Event::Button(format!("biz:today:{venue_id}")))
        .await;
    assert_eq!(arg(&out[0], "admitted"), "1");
    assert_eq!(arg(&out[0], "refused"), "0");
    let out = owner
        .send(Event::Button(format!("biz:chart:{venue_id}")))
        .await;
    let chart = out[0].attachment.as_deref().unwrap();
    assert_eq!(chart.kind, AttachmentKind::Photo);
    assert!(chart.bytes.starts_with(b"\x89PNG"));
    assert_eq!(arg(&out[0], "total"), "1");
    for o in &out {
        let text = core.texts.render(ashyq::domain::Lang::Ru, &o.text);
        assert!(
            !text.contains(IIN2) && !text.contains("7011234567"),
            "{text}"
        );
    }
    // Someone who is not the owner gets nothing.
    assert_eq!(
        visitor.button(&format!("biz:occ:{venue_id}")).await,
        ["biz-owner-only"]
    );

    // Staff: a one-time invite; reused is refused; expired is refused.
    // The test chats' channel has no deep links: the owner gets the message to pass on.
    let out = owner
        .send(Event::Button(format!("biz:inv:{venue_id}")))
        .await;
    assert_eq!(keys(&out), ["biz-invite-command"]);
    let typed = arg(&out[0], "code");
    let token = typed.strip_prefix("/start ").unwrap().to_string();
    assert!(token.starts_with("inv_"), "{typed}");
    let staff = Chat::new(&core, "staff", Some("ru"));
    assert_eq!(
        keys(&staff.send(cmd("start", &token)).await),
        ["invite-accepted"]
    );
    let other = Chat::new(&core, "other", Some("ru"));
    assert_eq!(
        keys(&other.send(cmd("start", &token)).await),
        ["invite-invalid"]
    );
    let out = owner
        .send(Event::Button(format!("biz:inv:{venue_id}")))
        .await;
    let late = arg(&out[0], "code")
        .strip_prefix("/start ")
        .unwrap()
        .to_string();
    clock.advance(chrono::Duration::days(8));
    assert_eq!(
        keys(&other.send(cmd("start", &late)).await),
        ["invite-invalid"]
    );
    assert_eq!(staff.command("occupancy").await, ["occupancy-line"]);
    // Remove the staff member: their staff commands are refused from then on.
    let out = owner
        .send(Event::Button(format!("biz:staff:{venue_id}")))
        .await;
    let remove = buttons(&out[0])
        .into_iter()
        .find(|b| b.starts_with("biz:rm:"))
        .unwrap();
    assert_eq!(owner.button(&remove).await, ["biz-staff-removed"]);
    assert_eq!(owner.button(&remove).await, ["hint-stale-button"]);
    assert_eq!(staff.command("occupancy").await, ["staff-only"]);
    assert_eq!(
        staff.button(&format!("biz:occ:{venue_id}")).await,
        ["biz-owner-only"]
    );
    assert_eq!(
        keys(&queued(&core.store, &staff.chat).await)
            .last()
            .unwrap(),
        "biz-staff-removed-notice"
    );

    // Add an entrance: posters come back as documents.
    let out = owner
        .send(Event::Button(format!("biz:ent:{venue_id}")))
        .await;
    assert_eq!(out[0].text.key(), "biz-entrance-added");
    assert_eq!(arg(&out[0], "entrance"), "3");
    assert_eq!(out.iter().filter(|o| o.attachment.is_some()).count(), 2);
    // Rotate entrance 1: the old short code stops working, new posters are sent.
    let out = owner
        .send(Event::Button(format!("biz:codes:{venue_id}")))
        .await;
    let rot = buttons(&out[0])
        .into_iter()
        .find(|b| b.starts_with("biz:rot:"))
        .unwrap();
    let out = owner.send(Event::Button(rot)).await;
    assert_eq!(out[0].text.key(), "biz-code-rotated");
    assert_eq!(out.iter().filter(|o| o.attachment.is_some()).count(), 2);
    let out = visitor.send(Event::Text(code)).await;
    assert_eq!(keys(&out)[0], "checkin-code-revoked");

    // The test week is over: the venue is live (owner told once) and alerts work again.
    assert!(ashyq::core::business::run_due(&core).await.unwrap() >= 1);
    assert_eq!(ashyq::core::business::run_due(&core).await.unwrap(), 0);
    let live: Vec<_> = queued(&core.store, &owner.chat).await;
    assert_eq!(
        live.iter()
            .filter(|o| o.text.key() == "biz-live-now")
            .count(),
        1
    );
    core.store.close().await;
}

async fn monitoring_and_authorities(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = business_core(db, &clock).await;
    let owner = Chat::new(&core, "owner", Some("ru"));
    register(&owner, IIN).await;
    apply(
        &owner,
        BIN2,
        "Алматы, ул. Сатпаева 5",
        "96020",
        "beauty_salons",
    )
    .await;
    let out = owner.send(Event::Button("biz:submit".into())).await;
    let id: i64 = arg(&out[0], "id").parse().unwrap();
    let approved = review::approve(&core, id).await.unwrap();
    let venue_id = approved.venue_id;

    // Without the role: refused, nothing written.
    let someone = Chat::new(&core, "someone", None);
    let note = format!("{venue_id} нет проверки на входе");
    assert_eq!(
        keys(&someone.send(cmd("violation", &note)).await),
        ["biz-monitor-only"]
    );
    assert_eq!(count(&core.store, "venue_violations").await, 0);

    let monitor = ChatRef::new("test", "monitor");
    ashyq::core::business::monitor::grant(&core, "monitor", &monitor, Some("Almaty"))
        .await
        .unwrap();
    let mon = Chat::new(&core, "monitor", None);
    assert_eq!(
        keys(&mon.send(cmd("violation", "abc")).await),
        ["biz-violation-usage"]
    );
    assert_eq!(
        keys(&mon.send(cmd("violation", &venue_id.to_string())).await),
        ["biz-violation-usage"]
    );
    let out = mon.send(cmd("violation", &note)).await;
    assert_eq!(keys(&out), ["biz-violation-recorded"]);
    assert_eq!(arg(&out[0], "until"), "2026-12-05", "14 days");
    assert_eq!(arg(&out[0], "repeat"), "no");
    let told = queued(&core.store, &owner.chat).await;
    assert!(told.iter().any(|o| o.text.key() == "biz-suspended-owner"));

    // Check-ins are refused while suspended, with the date.
    let visitor = Chat::new(&core, "visitor", Some("ru"));
    register(&visitor, IIN2).await;
    let code = {
        let mut conn = core.store.pool().acquire().await.unwrap();
        ashyq::storage::venues::entrances_of(&mut conn, venue_id)
            .await
            .unwrap()[0]
            .entry_code
            .clone()
    };
    let out = visitor.send(Event::Text(code.clone())).await;
    assert_eq!(keys(&out)[0], "checkin-venue-suspended");
    assert_eq!(arg(&out[0], "until"), "2026-12-05");

    // Over: the owner is told once; check-in works.
    clock.advance(chrono::Duration::days(15));
    ashyq::core::business::run_due(&core).await.unwrap();
    ashyq::core::business::run_due(&core).await.unwrap();
    let told = queued(&core.store, &owner.chat).await;
    assert_eq!(
        told.iter()
            .filter(|o| o.text.key() == "biz-suspension-ended")
            .count(),
        1
    );
    assert_eq!(
        keys(&visitor.send(Event::Text(code)).await)[0],
        "checkin-result"
    );

    // A repeat: 2 months.
    let out = mon.send(cmd("violation", &note)).await;
    assert_eq!(arg(&out[0], "repeat"), "yes");
    assert_eq!(arg(&out[0], "until"), "2027-02-06");
    // A monitor of another region is refused.
    let far = ChatRef::new("test", "far-monitor");
    ashyq::core::business::monitor::grant(&core, "monitor", &far, Some("Karaganda"))
        .await
        .unwrap();
    let far_chat = Chat::new(&core, "far-monitor", None);
    assert_eq!(
        keys(&far_chat.send(cmd("violation", &note)).await),
        ["biz-monitor-region"]
    );
    // A revoked monitor is refused.
    assert!(
        ashyq::core::business::monitor::revoke(&core, "monitor", &monitor)
            .await
            .unwrap()
    );
    assert_eq!(
        keys(&mon.send(cmd("violation", &note)).await),
        ["biz-monitor-only"]
    );

    let history = ashyq::core::business::monitor::history(&core, venue_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(history.applications.len(), 1);
    assert_eq!(history.violations.len(), 2);
    assert_eq!(history.suspensions.len(), 2);

    // Authorities: read-only occupancy of their region; others refused.
    assert_eq!(someone.command("venues").await, ["biz-authority-only"]);
    let akimat = ChatRef::new("test", "akimat");
    ashyq::core::business::monitor::grant(&core, "authority", &akimat, Some("almaty"))
        .await
        .unwrap();
    let ak = Chat::new(&core, "akimat", None);
    let out = ak.send(cmd("venues", "")).await;
    assert_eq!(keys(&out), ["biz-region-header", "biz-region-line"]);
    assert_eq!(arg(&out[1], "mode"), "suspended");
    assert_eq!(arg(&out[0], "inside"), "1");
    core.store.close().await;
}

/// Approving by button with no live signing key is refused and rolls back: the application
/// stays pending, no venue, entrance or seat is created, the applicant is told nothing. With
/// a live key again, the same button approves.
async fn approval_without_key_rolls_back(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = business_core(db, &clock).await;
    let owner = Chat::new(&core, "owner", Some("ru"));
    register(&owner, IIN).await;
    apply(&owner, BIN2, "Алматы, ул. Сатпаева 5", "93130", "fitness").await;
    let out = owner.send(Event::Button("biz:submit".into())).await;
    let id: i64 = arg(&out[0], "id").parse().unwrap();
    ashyq::core::venues::admin::revoke_key(&core, 1)
        .await
        .unwrap();

    let admins = Chat::new(&core, "admins", None);
    let out = admins.send(Event::Button(format!("biz:ok:{id}"))).await;
    assert_eq!(keys(&out), ["biz-review-refused"]);
    assert_eq!(arg(&out[0], "reason"), "no_key");
    let status: String =
        sqlx::query_scalar("SELECT status FROM business_applications WHERE id = $1")
            .bind(id)
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(status, "pending", "the refusal rolled the status back");
    assert_eq!(count(&core.store, "venues").await, 0);
    assert_eq!(count(&core.store, "entrances").await, 0);
    assert_eq!(count(&core.store, "venue_staff").await, 0);
    let told = queued(&core.store, &owner.chat).await;
    assert!(
        told.iter().all(|o| o.text.key() != "biz-approved"),
        "{:?}",
        keys(&told)
    );

    // A live key again: the same button approves.
    ashyq::core::venues::admin::rotate_key(&core).await.unwrap();
    let out = admins.send(Event::Button(format!("biz:ok:{id}"))).await;
    assert_eq!(keys(&out), ["biz-review-approved"]);
    assert_eq!(count(&core.store, "venues").await, 1);
    let told = queued(&core.store, &owner.chat).await;
    assert!(told.iter().any(|o| o.text.key() == "biz-approved"));
    core.store.close().await;
}

mod application {
    ashyq_on_both!(super::application_and_bad_input);
}
mod approval {
    ashyq_on_both!(super::approval_test_mode_and_owner_tools);
}
mod approval_without_key {
    ashyq_on_both!(super::approval_without_key_rolls_back);
}
mod monitoring {
    ashyq_on_both!(super::monitoring_and_authorities);
}

/// What forged button data could change: applications, venues, entrances, invites, staff,
/// and the messages queued for others.
async fn business_snapshot(store: &Store) -> String {
    let apps: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM business_applications ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let entrances: Vec<(i64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, name, revoked_at FROM entrances ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let staff: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, removed_at FROM venue_staff ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    format!(
        "{apps:?} {entrances:?} {staff:?} invites={} venues={} outbox={}",
        count(store, "venue_invites").await,
        count(store, "venues").await,
        count(store, "outbox").await
    )
}

/// Issue 15: a chat pressing buttons crafted with another chat's application id or venue id
/// changes nothing and gets the same neutral answer as for an id that does not exist.
async fn forged_business_buttons(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = business_core(db, &clock).await;
    let owner = Chat::new(&core, "owner", Some("ru"));
    register(&owner, IIN).await;
    apply(&owner, BIN2, "Алматы, ул. Сатпаева 5", "93130", "fitness").await;
    let out = owner.send(Event::Button("biz:submit".into())).await;
    let app: i64 = arg(&out[0], "id").parse().unwrap();
    let intruder = Chat::new(&core, "intruder", Some("ru"));
    register(&intruder, IIN2).await;

    // Another chat's application: no review by a chat that is not a reviewer.
    let before = business_snapshot(&core.store).await;
    for action in ["ok", "no", "pre", "prn"] {
        for id in [app, app + 1000] {
            assert_eq!(
                intruder.button(&format!("biz:{action}:{id}")).await,
                ["biz-not-reviewer"],
                "{action}:{id}"
            );
        }
    }
    assert_eq!(business_snapshot(&core.store).await, before);
    // The reason step was not entered either: a text now is no rejection reason.
    let out = intruder.text("forged reason").await;
    assert!(!out.contains(&"biz-review-rejected".to_string()), "{out:?}");

    // Another owner's venue: every owner tool, with real and made-up item ids.
    let admins = Chat::new(&core, "admins", None);
    let out = admins.send(Event::Button(format!("biz:ok:{app}"))).await;
    let venue: i64 = arg(&out[0], "venue").parse().unwrap();
    owner.button(&format!("biz:inv:{venue}")).await;
    let (entrance,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM entrances WHERE venue_id = $1")
        .bind(venue)
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    let (staff,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM venue_staff WHERE venue_id = $1")
        .bind(venue)
        .fetch_one(core.store.pool())
        .await
        .unwrap();
    let before = business_snapshot(&core.store).await;
    for v in [venue, venue + 1000] {
        for tool in ["v", "inv", "staff", "ent", "codes", "occ", "today", "chart"] {
            assert_eq!(
                intruder.button(&format!("biz:{tool}:{v}")).await,
                ["biz-owner-only"],
                "{tool}:{v}"
            );
        }
        for (tool, item) in [("rm", staff), ("rot", entrance), ("rev", entrance)] {
            assert_eq!(
                intruder.button(&format!("biz:{tool}:{v}:{item}")).await,
                ["biz-owner-only"],
                "{tool}:{v}:{item}"
            );
        }
    }
    assert_eq!(business_snapshot(&core.store).await, before);
    // The owner's own buttons still work.
    assert_eq!(
        owner.button(&format!("biz:occ:{venue}")).await,
        ["biz-occupancy"]
    );
    core.store.close().await;
}

mod forged_buttons {
    ashyq_on_both!(super::forged_business_buttons);
}
