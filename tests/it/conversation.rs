//! Conversation tests through the core: registration, every failure message, unexpected
//! input at every step, idempotency, restarts, /me, /lang, /forget.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::{Event, Keyboard, MediaKind};
use ashyq::domain::{Iin, Sex};
use chrono::NaiveDate;
use support::{Chat, TestDb, at, core, count, keys};

const PHONE: &str = "+77011234567";
const ADULT_IIN: &str = "900101300017";

fn contact(own: bool) -> Event {
    Event::Contact {
        phone: PHONE.into(),
        own,
    }
}

/// Registers a chat through to the main menu and checks every step's reply.
async fn register(chat: &Chat, iin: &str) {
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    assert_eq!(
        keys(&chat.send(contact(true)).await),
        ["phone-saved", "iin-prompt"]
    );
    support::identity_pair(&chat.core, iin, PHONE).await;
    assert_eq!(chat.text(iin).await, ["registered"]);
}

async fn full_flow(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(db, &clock).await;
    // No language known: the bot asks with buttons.
    let chat = Chat::new(&core, "1", Some("en"));
    let out = chat
        .send(Event::Command {
            name: "start".into(),
            arg: String::new(),
        })
        .await;
    assert_eq!(keys(&out), ["choose-language"]);
    assert!(matches!(&out[0].keyboard, Keyboard::Inline(rows) if rows[0].len() == 3));
    assert_eq!(
        chat.button("lang:ru").await,
        ["language-set", "consent-text"]
    );
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    let out = chat.send(contact(true)).await;
    assert_eq!(keys(&out), ["phone-saved", "iin-prompt"]);
    assert_eq!(out[0].lang, ashyq::domain::Lang::Ru);
    support::identity_pair(&core, ADULT_IIN, PHONE).await;
    assert_eq!(chat.text("9001 0130 0017").await, ["registered"]);
    assert_eq!(count(&core.store, "people").await, 1);

    let me = chat
        .send(Event::Command {
            name: "me".into(),
            arg: String::new(),
        })
        .await;
    assert_eq!(keys(&me), ["me-info"]);
    let rendered = core.texts.render(me[0].lang, &me[0].text);
    assert!(rendered.contains("•••• •••• 0017"), "{rendered}");
    assert!(rendered.contains("+7 ••• ••• •• 67"), "{rendered}");
    assert!(rendered.contains("Русский"), "{rendered}");

    // /start again: back to the menu, nothing re-asked.
    assert_eq!(chat.command("start").await, ["welcome-back"]);
    core.store.close().await;
}

mod full_registration {
    ashyq_on_both!(super::full_flow);
}

async fn forget_flow(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(db, &clock).await;
    let chat = Chat::new(&core, "2", Some("kk"));
    register(&chat, ADULT_IIN).await;
    assert_eq!(chat.command("forget").await, ["forget-confirm"]);
    assert_eq!(chat.button("forget:no").await, ["forget-cancelled"]);
    assert_eq!(count(&core.store, "people").await, 1);
    assert_eq!(chat.command("forget").await, ["forget-confirm"]);
    assert_eq!(chat.button("forget:yes").await, ["forget-done"]);
    assert_eq!(count(&core.store, "people").await, 0);
    assert_eq!(
        chat.command("me").await,
        ["hint-register-first", "idle-prompt"]
    );
    // The same IIN can register again afterwards.
    register(&chat, ADULT_IIN).await;
    core.store.close().await;
}

mod forget {
    ashyq_on_both!(super::forget_flow);
}

#[tokio::test]
async fn messenger_language_is_taken_for_kazakh_and_russian_only() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    let kk = Chat::new(&core, "kk", Some("kk"));
    let out = kk
        .send(Event::Command {
            name: "start".into(),
            arg: String::new(),
        })
        .await;
    assert_eq!(keys(&out), ["consent-text"]);
    assert_eq!(out[0].lang, ashyq::domain::Lang::Kk);
    let ru = Chat::new(&core, "ru", Some("ru-RU"));
    assert_eq!(ru.command("start").await, ["consent-text"]);
    let de = Chat::new(&core, "de", Some("de"));
    assert_eq!(de.command("start").await, ["choose-language"]);
    let none = Chat::new(&core, "none", None);
    assert_eq!(none.command("start").await, ["choose-language"]);
    // A typed language name works too.
    assert_eq!(none.text("English").await, ["language-set", "consent-text"]);
}

#[tokio::test]
async fn declining_consent_stores_nothing() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    let chat = Chat::new(&core, "3", Some("ru"));
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:no").await, ["consent-declined"]);
    assert_eq!(count(&core.store, "people").await, 0);
    assert_eq!(
        chat.stored_state().await.as_deref(),
        Some(r#"{"step":"idle"}"#)
    );
    // A contact now is not taken either.
    chat.send(contact(true)).await;
    assert_eq!(count(&core.store, "people").await, 0);
}

#[tokio::test]
async fn only_the_senders_own_contact_is_accepted() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    let chat = Chat::new(&core, "4", Some("ru"));
    chat.command("start").await;
    chat.button("consent:yes").await;
    let state = chat.stored_state().await;
    assert_eq!(
        keys(&chat.send(contact(false)).await),
        ["phone-not-yours", "phone-prompt"]
    );
    assert_eq!(
        chat.text("+7 701 123 45 67").await,
        ["phone-use-button", "phone-prompt"]
    );
    assert_eq!(count(&core.store, "people").await, 0);
    assert_eq!(chat.stored_state().await, state);
    let bad = Event::Contact {
        phone: "12".into(),
        own: true,
    };
    assert_eq!(
        keys(&chat.send(bad).await),
        ["phone-invalid", "phone-prompt"]
    );
    assert_eq!(count(&core.store, "people").await, 0);
}

#[tokio::test]
async fn each_iin_failure_has_its_own_message() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    let chat = Chat::new(&core, "5", Some("ru"));
    chat.command("start").await;
    chat.button("consent:yes").await;
    chat.send(contact(true)).await;
    let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let minor = Iin::synthetic(NaiveDate::from_ymd_opt(2008, 11, 22).unwrap(), Sex::Male, 5);
    let just_adult = Iin::synthetic(
        NaiveDate::from_ymd_opt(2008, 11, 21).unwrap(),
        Sex::Female,
        9,
    );
    assert_eq!(minor.age_on(today), 17);
    let cases: [(&str, &str); 5] = [
        ("12345", "iin-wrong-length"),
        ("90010130001x", "iin-not-digits"),
        ("900101300018", "iin-bad-checksum"),
        ("900231300017", "iin-impossible-date"),
        (&minor.expose(), "iin-under-age"),
    ];
    for (input, key) in cases {
        let out = chat.send(Event::Text(input.into())).await;
        assert_eq!(keys(&out), [key], "{key}");
        assert_eq!(
            chat.stored_state().await.as_deref(),
            Some(r#"{"step":"iin"}"#)
        );
    }
    // The plural and the count in the wrong-length message.
    let out = chat.send(Event::Text("1234567890123".into())).await;
    assert!(
        core.texts
            .render(out[0].lang, &out[0].text)
            .contains("13 цифр")
    );
    // A birth date in the future is impossible, not "under age".
    let future = Iin::synthetic(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), Sex::Male, 1);
    assert_eq!(chat.text(&future.expose()).await, ["iin-impossible-date"]);
    // Eighteen today is old enough.
    support::identity_pair(&core, &just_adult.expose(), PHONE).await;
    assert_eq!(chat.text(&just_adult.expose()).await, ["registered"]);
}

/// No "IIN already registered" any more (issue 15): a chat whose phone the registry pairs
/// with the IIN takes the binding; the earlier chat is told and goes back to the IIN step.
#[tokio::test]
async fn an_iin_confirmed_for_another_chat_moves_there() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    let first = Chat::new(&core, "6a", Some("ru"));
    register(&first, ADULT_IIN).await;
    let other = Chat::new(&core, "6b", Some("ru"));
    other.command("start").await;
    other.button("consent:yes").await;
    other.send(contact(true)).await;
    assert_eq!(other.text(ADULT_IIN).await, ["registered"]);
    assert_eq!(
        first.stored_state().await.as_deref(),
        Some(r#"{"step":"iin"}"#)
    );
    assert_eq!(
        first.command("status").await,
        ["hint-register-first", "iin-prompt"]
    );
}

#[tokio::test]
async fn unexpected_input_at_every_step_gets_a_hint_and_changes_nothing() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    support::identity_pair(&core, ADULT_IIN, PHONE).await;
    let chat = Chat::new(&core, "7", None);
    let unexpected = || {
        vec![
            (Event::Unsupported(MediaKind::Sticker), "hint-unsupported"),
            (Event::Image(vec![1, 2, 3]), "checkin-image-unreadable"),
            (Event::Unsupported(MediaKind::Voice), "hint-unsupported"),
            (Event::Unsupported(MediaKind::Location), "hint-unsupported"),
            (Event::Text("x".repeat(5000)), "hint-too-long"),
            (Event::Forwarded, "hint-forwarded"),
            (Event::Edited, "hint-edited"),
            (
                Event::Command {
                    name: "frobnicate".into(),
                    arg: String::new(),
                },
                "hint-unknown-command",
            ),
            (Event::Button("consent:maybe".into()), "hint-stale-button"),
        ]
    };
    // Walk the steps: language, consent, phone, IIN, menu, confirm-forget.
    let steps: Vec<(&str, Event)> = vec![
        (
            "choosing_language",
            Event::Command {
                name: "start".into(),
                arg: String::new(),
            },
        ),
        ("consent", Event::Button("lang:en".into())),
        ("phone", Event::Button("consent:yes".into())),
        ("iin", contact(true)),
        ("menu", Event::Text(ADULT_IIN.into())),
        (
            "confirm_forget",
            Event::Command {
                name: "forget".into(),
                arg: String::new(),
            },
        ),
    ];
    for (step, advance) in steps {
        chat.send(advance).await;
        let state = chat.stored_state().await.unwrap();
        assert!(state.contains(step), "{state} should be {step}");
        let people = count(&core.store, "people").await;
        for (event, key) in unexpected() {
            let out = chat.send(event.clone()).await;
            assert!(!out.is_empty(), "silence for {event:?} at {step}");
            assert_eq!(out[0].text.key(), key, "{event:?} at {step}");
            assert!(
                out.len() >= 2,
                "the step's prompt follows the hint at {step}"
            );
            assert_eq!(
                chat.stored_state().await.unwrap(),
                state,
                "{event:?} changed {step}"
            );
            assert_eq!(count(&core.store, "people").await, people);
        }
        // A contact where none is wanted.
        if step != "phone" {
            let out = chat.send(contact(false)).await;
            assert!(!out.is_empty());
            assert_eq!(chat.stored_state().await.unwrap(), state);
        }
    }
    // Commands that need registration, in the middle of registration.
    let fresh = Chat::new(&core, "7b", Some("ru"));
    fresh.command("start").await;
    assert_eq!(
        fresh.command("me").await,
        ["hint-register-first", "consent-text"]
    );
    assert_eq!(
        fresh.command("start").await,
        ["hint-registration-in-progress", "consent-text"]
    );
    assert_eq!(fresh.command("help").await, ["help", "consent-text"]);
}

#[tokio::test]
async fn a_redelivered_update_is_processed_once() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    let chat = Chat::new(&core, "8", Some("ru"));
    chat.command("start").await;
    chat.button("consent:yes").await;
    let first = chat.send_keyed(contact(true), Some("u-1".into())).await;
    assert_eq!(keys(&first), ["phone-saved", "iin-prompt"]);
    // The adapter never said the replies left (a crash after the commit): the redelivery
    // gets them again, and nothing is done twice.
    let again = chat.send_keyed(contact(true), Some("u-1".into())).await;
    assert_eq!(again, first);
    assert_eq!(count(&core.store, "people").await, 1);
    // Once sent, a redelivery answers nothing.
    core.replies_sent(&chat.chat, "u-1").await.unwrap();
    let third = chat.send_keyed(contact(true), Some("u-1".into())).await;
    assert!(third.is_empty());
    assert_eq!(count(&core.store, "people").await, 1);
}

#[tokio::test]
async fn a_restart_mid_conversation_resumes_at_the_same_step() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let first = core(&db, &clock).await;
    let chat = Chat::new(&first, "9", Some("kk"));
    chat.command("start").await;
    chat.button("consent:yes").await;
    chat.send(contact(true)).await;
    first.store.close().await;
    drop(chat);
    drop(first);

    let second = core(&db, &clock).await;
    support::identity_pair(&second, ADULT_IIN, PHONE).await;
    let chat = Chat::new(&second, "9", Some("kk"));
    let out = chat.send(Event::Text(ADULT_IIN.into())).await;
    assert_eq!(keys(&out), ["registered"]);
    assert_eq!(out[0].lang, ashyq::domain::Lang::Kk);
}

#[tokio::test]
async fn menu_buttons_work_in_the_users_language_and_after_a_switch() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    let chat = Chat::new(&core, "10", Some("ru"));
    register(&chat, ADULT_IIN).await;
    assert_eq!(chat.text("👤 Мои данные").await, ["me-info"]);
    assert_eq!(chat.text("🌐 Язык").await, ["choose-language"]);
    assert_eq!(
        chat.button("lang:kk").await,
        ["language-set", "menu-prompt"]
    );
    assert_eq!(chat.text("👤 Менің деректерім").await, ["me-info"]);
    // A keyboard still showing the old language keeps working.
    assert_eq!(chat.text("❓ Помощь").await, ["help"]);
    assert_eq!(
        chat.text("something else").await,
        ["hint-use-menu", "menu-prompt"]
    );
}
