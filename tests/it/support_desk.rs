//! The support desk through the core (SQLite and PostgreSQL): FAQ before a ticket, the
//! ticket's life cycle, operators' commands, limits, working hours, statistics; and the user
//! side through the terminal adapter.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::support::{SupportSettings, SupportStats, WorkingHours};
use ashyq::core::{Core, Event, Inbound, Keyboard, MediaKind, Outbound, Recipient, Relayed};
use ashyq::storage::{ChatRef, outbox};
use std::sync::Arc;
use support::{Chat, TestDb, at, count, keys};

const STAFF: &str = "-1001";

fn settings() -> SupportSettings {
    SupportSettings {
        chat: Some(ChatRef::new("telegram", STAFF)),
        flood_per_minute: 5,
        ..SupportSettings::default()
    }
}

/// The messages queued in the outbox, oldest first: `(chat, message)`.
async fn queued(core: &Core) -> Vec<(String, Outbound)> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT chat_id, payload FROM outbox ORDER BY id")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
    rows.into_iter()
        .map(|(c, p)| (c, serde_json::from_str(&p).unwrap()))
        .collect()
}

async fn queued_keys(core: &Core, chat: &str) -> Vec<String> {
    queued(core)
        .await
        .into_iter()
        .filter(|(c, _)| c == chat)
        .map(|(_, m)| m.text.key().to_string())
        .collect()
}

/// An operator's message in the operators' chat, in the topic `topic` (if any).
async fn operator(core: &Arc<Core>, topic: Option<&str>, text: &str) -> Vec<Outbound> {
    operator_event(
        core,
        Relayed {
            source: None,
            text: Some(text.into()),
            kind: None,
            forwarded: false,
            topic: topic.map(Into::into),
            author: Some("77".into()),
            plain: None,
        },
    )
    .await
}

async fn operator_event(core: &Arc<Core>, relayed: Relayed) -> Vec<Outbound> {
    core.handle(Inbound {
        chat: ChatRef::new("telegram", STAFF),
        update_key: None,
        lang_hint: None,
        event: Event::Relay(relayed),
    })
    .await
    .unwrap()
}

/// Opens a ticket for `chat` through the FAQ ("that didn't help").
async fn open_ticket(chat: &Chat) {
    assert_eq!(
        chat.command("support").await,
        ["support-intro", "support-choose-category"]
    );
    assert_eq!(
        chat.button("support:cat:citizen").await,
        ["support-ask-question"]
    );
    let faq = chat.text("Я переболел, почему я красный?").await;
    assert_eq!(faq[0], "faq-ill-red", "{faq:?}");
    assert_eq!(faq.last().unwrap(), "support-faq-did-it-help");
    assert_eq!(
        chat.button("support:faq:no").await,
        ["support-ticket-opened"]
    );
}

async fn life_cycle(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-23T10:00:00+05:00"));
    let core = support::core_with_support(db, &clock, settings()).await;
    // Not registered: support works anyway.
    let user = Chat::new(&core, "501", Some("ru"));
    open_ticket(&user).await;
    let staff = queued(&core).await;
    assert_eq!(staff.len(), 2, "{staff:?}");
    let (chat, first) = &staff[0];
    assert_eq!(chat, STAFF);
    assert_eq!(first.text.key(), "support-op-new-ticket");
    let topic = first.relay().topic.expect("in the ticket's topic");
    assert_eq!(topic.key, "support:1");
    let title = core.texts.render(first.lang, &topic.title);
    assert_eq!(title, "№1 · граждане (1414)");
    let question = core.texts.render(staff[1].1.lang, &staff[1].1.text);
    assert!(
        question.contains("Я переболел, почему я красный?"),
        "{question}"
    );
    assert_eq!(staff[1].1.relay().topic.unwrap().key, "support:1");

    // The user adds a detail; an operator answers, writes an internal note.
    user.text("Тест сдавал 1 ноября").await;
    assert!(
        operator(&core, Some("support:1"), "Здравствуйте! Проверяем.")
            .await
            .is_empty()
    );
    assert!(
        operator(&core, Some("support:1"), "#note проверить лабораторию")
            .await
            .is_empty()
    );
    let to_user = queued(&core)
        .await
        .into_iter()
        .filter(|(c, _)| c == "501")
        .map(|(_, m)| m)
        .collect::<Vec<_>>();
    assert_eq!(to_user.len(), 1, "the #note is not relayed");
    assert_eq!(to_user[0].to, Recipient::Chat(ChatRef::new("test", "501")));
    let shown = core.texts.render(to_user[0].lang, &to_user[0].text);
    assert_eq!(shown, "💬 Поддержка:\nЗдравствуйте! Проверяем.");
    let failure = to_user[0].relay().on_failure.expect("a failure notice");
    assert_eq!(failure.text.key(), "support-op-delivery-failed");

    // /info: no IIN, the state of registration.
    let info = operator(&core, Some("support:1"), "/info").await;
    assert_eq!(keys(&info), ["support-op-info"]);
    let text = core.texts.render(info[0].lang, &info[0].text);
    assert!(text.contains("Регистрация: нет"), "{text}");
    assert!(
        text.contains("от пользователя 2, от операторов 1"),
        "{text}"
    );

    // /assign, /close: the user is asked for a rating and rates once.
    assert_eq!(
        keys(&operator(&core, Some("support:1"), "/assign").await),
        ["support-op-assigned"]
    );
    clock.advance(chrono::Duration::minutes(30));
    assert_eq!(
        keys(&operator(&core, Some("support:1"), "/close").await),
        ["support-op-closed"]
    );
    assert_eq!(
        keys(&operator(&core, Some("support:1"), "/close").await),
        ["support-op-already-closed"]
    );
    let closed = queued(&core).await.pop().unwrap().1;
    assert_eq!(closed.text.key(), "support-closed");
    let Keyboard::Inline(rows) = &closed.keyboard else {
        panic!("rating buttons");
    };
    assert_eq!(rows[0].len(), 5);
    assert_eq!(rows[0][4].data, "support:rate:1:5");
    assert_eq!(user.button("support:rate:1:5").await, ["support-rated"]);
    assert_eq!(
        user.button("support:rate:1:1").await,
        ["hint-stale-button", "support-prompt"]
    );
    let other = Chat::new(&core, "502", Some("ru"));
    assert_eq!(
        other.button("support:rate:1:2").await[0],
        "hint-stale-button"
    );

    // Within 48 hours a new message reopens the ticket…
    clock.advance(chrono::Duration::hours(47));
    assert_eq!(user.text("Всё ещё красный").await, ["support-reopened"]);
    assert_eq!(
        queued_keys(&core, STAFF).await[3..],
        [
            "support-op-rated",
            "support-op-reopened-by-user",
            "support-op-user-text"
        ]
    );
    operator(&core, Some("support:1"), "/close").await;
    // …later it opens a new one, in a new topic.
    clock.advance(chrono::Duration::hours(49));
    assert_eq!(user.text("Снова вопрос").await, ["support-ticket-opened"]);
    let last = queued(&core).await;
    let (_, new_ticket) = &last[last.len() - 2];
    assert_eq!(new_ticket.text.key(), "support-op-new-ticket");
    assert_eq!(new_ticket.relay().topic.unwrap().key, "support:2");
    assert_eq!(
        user.stored_state().await.unwrap(),
        r#"{"step":"support","ticket":2}"#
    );

    // Operators' commands mean nothing in a user's chat.
    let before = queued(&core).await.len();
    assert_eq!(
        user.command("close").await,
        ["hint-unknown-command", "support-prompt"]
    );
    assert_eq!(queued(&core).await.len(), before);

    // Leaving support keeps the ticket; /support resumes it.
    assert_eq!(
        user.text("⬅️ В меню").await,
        ["support-left", "idle-prompt"]
    );
    assert_eq!(user.command("support").await, ["support-resumed"]);
    user.text("⬅️ В меню").await;
    // A relayable message that arrives outside support is the plain event it would be.
    let late = user
        .send(Event::Relay(Relayed {
            source: None,
            text: None,
            kind: Some(MediaKind::Voice),
            forwarded: false,
            topic: None,
            author: None,
            plain: None,
        }))
        .await;
    assert_eq!(keys(&late), ["idle-prompt"], "as any input when idle");

    let stats = SupportStats::load(&core.store).await.unwrap();
    assert_eq!((stats.open, stats.closed), (1, 1));
    assert_eq!(stats.ratings, [0, 0, 0, 0, 1]);
    assert_eq!(stats.median_first_response_ms, Some(0));
    // Ticket 1: opened 10:00, closed last 10:00 + 30 min + 47 h.
    assert_eq!(stats.median_resolution_ms, Some((47 * 60 + 30) * 60 * 1000));
    core.store.close().await;
}

mod ticket_life_cycle {
    ashyq_on_both!(super::life_cycle);
}

async fn operators_and_limits(db: &TestDb) {
    // Saturday: outside working hours.
    let clock = ManualClock::new(at("2026-11-21T12:00:00+05:00"));
    let mut s = settings();
    s.hours = WorkingHours::parse("09:00-18:00");
    let core = support::core_with_support(db, &clock, s).await;

    // Operators' commands outside a ticket topic, unknown commands, chatter.
    assert_eq!(
        keys(&operator(&core, None, "/close").await),
        ["support-op-not-in-ticket"]
    );
    assert_eq!(
        keys(&operator(&core, Some("support:99"), "/close").await),
        ["support-op-not-in-ticket"]
    );
    assert!(operator(&core, None, "/start").await.is_empty());
    assert!(operator(&core, None, "hello colleagues").await.is_empty());

    // A registered user: the menu has the support button; /info shows a masked phone only.
    let user = Chat::new(&core, "601", Some("kk"));
    user.command("start").await;
    user.button("consent:yes").await;
    user.send(Event::Contact {
        phone: "+77011234567".into(),
        own: true,
    })
    .await;
    crate::support::identity_pair(&core, "900101300017", "+77011234567").await;
    assert_eq!(user.text("900101300017").await, ["registered"]);
    assert_eq!(
        user.text("💬 Қолдау").await,
        ["support-intro", "support-choose-category"]
    );
    user.button("support:cat:business").await;
    // No FAQ matches: the ticket opens at once, with the off-hours reply.
    assert_eq!(
        user.text("Сәлеметсіз бе").await,
        ["support-ticket-opened", "support-off-hours"]
    );
    let info = operator(&core, Some("support:1"), "/info").await;
    let text = core.texts.render(info[0].lang, &info[0].text);
    assert!(text.contains("Регистрация: есть"), "{text}");
    assert!(text.contains("•••"), "{text}");
    assert!(
        !text.contains("900101300017") && !text.contains("0017") && !text.contains("1234567"),
        "{text}"
    );
    // An IIN typed into support never reaches the operators or the database.
    assert!(user.text("Менің ЖСН 900101300017").await.is_empty());
    let (_, last) = queued(&core).await.pop().unwrap();
    let shown = core.texts.render(last.lang, &last.text);
    assert!(shown.ends_with("Менің ЖСН •••• •••• ••••"), "{shown}");
    let (leaks,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%900101300017%'")
            .fetch_one(core.store.pool())
            .await
            .unwrap();
    assert_eq!(leaks, 0);
    // A sticker is described to the operators; the user is told.
    assert_eq!(
        keys(&user.send(Event::Unsupported(MediaKind::Sticker)).await),
        ["support-not-relayed"]
    );
    assert_eq!(
        queued_keys(&core, STAFF).await.last().unwrap(),
        "support-op-user-uncopyable"
    );
    // An operator's sticker cannot go to the user.
    let sticker = operator_event(
        &core,
        Relayed {
            source: None,
            text: None,
            kind: Some(MediaKind::Sticker),
            forwarded: false,
            topic: Some("support:1".into()),
            author: Some("77".into()),
            plain: None,
        },
    )
    .await;
    assert_eq!(keys(&sticker), ["support-op-cannot-relay"]);

    // A long message is split, not lost.
    let long = "Сөз ".repeat(2000);
    let before = queued(&core).await.len();
    assert!(user.text(&long).await.is_empty());
    let parts: Vec<String> = queued(&core).await[before..]
        .iter()
        .map(|(_, m)| match &m.text.args[1].1 {
            ashyq::i18n::Arg::Str(s) => s.clone(),
            _ => panic!("text"),
        })
        .collect();
    assert!(parts.len() >= 3);
    assert_eq!(parts.concat(), long);

    // Flood: 5 a minute; the 6th gets a notice, the 7th nothing; a minute later it passes.
    clock.advance(chrono::Duration::minutes(1));
    for i in 0..5 {
        assert!(user.text(&format!("хабар {i}")).await.is_empty(), "{i}");
    }
    assert_eq!(user.text("тағы").await, ["support-flood"]);
    assert!(user.text("тағы да").await.is_empty());
    clock.advance(chrono::Duration::minutes(1));
    let before = queued(&core).await.len();
    assert!(user.text("енді").await.is_empty());
    assert_eq!(queued(&core).await.len(), before + 1);

    // /ban: the user is told until when, and nothing more is relayed.
    assert_eq!(
        keys(&operator(&core, Some("support:1"), "/ban").await),
        ["support-op-ban-usage"]
    );
    assert_eq!(
        keys(&operator(&core, Some("support:1"), "/ban 2h").await),
        ["support-op-banned"]
    );
    let before = queued(&core).await.len();
    let banned = user.send(Event::Text("неге?".into())).await;
    assert_eq!(keys(&banned), ["support-banned"]);
    let shown = core.texts.render(banned[0].lang, &banned[0].text);
    assert!(
        shown.contains(
            "Шектеу мерзімі аяқталады: 2026 жылғы 21 қараша, сағат 14:02 (Астана уақыты)"
        ),
        "{shown}"
    );
    assert_eq!(queued(&core).await.len(), before);
    assert_eq!(user.command("support").await, ["support-banned"]);
    clock.advance(chrono::Duration::hours(2));
    assert!(user.text("рахмет").await.is_empty());
    assert_eq!(
        queued_keys(&core, STAFF).await.last().unwrap(),
        "support-op-user-text"
    );

    // FAQ "that helped" returns to the menu.
    let other = Chat::new(&core, "602", Some("en"));
    other.command("support").await;
    other.button("support:cat:voucher").await;
    let faq = other
        .text("what does the 2#1 reply to a voucher mean")
        .await;
    assert_eq!(faq[0], "faq-vouchers");
    assert_eq!(
        other.button("support:faq:yes").await,
        ["support-faq-glad", "idle-prompt"]
    );
    assert_eq!(count(&core.store, "support_tickets").await, 1);
    core.store.close().await;
}

mod operators_limits_and_hours {
    ashyq_on_both!(super::operators_and_limits);
}

/// Without `SUPPORT_CHAT_ID` support points to the call centres.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_operators_chat_the_call_centres_are_named() {
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-23T10:00:00+05:00"));
    let core = support::core(&db, &clock).await;
    let user = Chat::new(&core, "701", Some("ru"));
    let out = user
        .send(Event::Command {
            name: "support".into(),
            arg: String::new(),
        })
        .await;
    assert_eq!(keys(&out), ["support-unavailable"]);
    let text = core.texts.render(out[0].lang, &out[0].text);
    assert!(text.contains("1414") && text.contains("1432"), "{text}");
}

/// The user side through the terminal adapter: `/support`, a category by number, a question,
/// "that didn't help"; the operator's answer appears after the next input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_user_reaches_support() {
    use ashyq::adapters::terminal::{self, TerminalOptions};
    let db = TestDb::sqlite().await;
    let clock = ManualClock::new(at("2026-11-23T10:00:00+05:00"));
    let core = support::core_with_support(&db, &clock, settings()).await;
    let options = TerminalOptions {
        user: "local".into(),
        phone: "+77011234567".into(),
        lang_hint: Some("en".into()),
        echo: true,
    };
    let script = "/support\n1\nI was ill, why am I red?\n2\nThe test was on 1 November\n";
    let mut out = Vec::new();
    terminal::run(&core, script.as_bytes(), &mut out, &options)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("[1] 👤 Citizens (1414)"), "{out}");
    assert!(out.contains("Why am I red after being ill?"), "{out}");
    assert!(out.contains("[2] 👎 That didn’t help"), "{out}");
    assert!(out.contains("Ticket #1 is open"), "{out}");
    let relayed: Vec<String> = queued(&core)
        .await
        .into_iter()
        .filter(|(c, _)| c == STAFF)
        .map(|(_, m)| core.texts.render(m.lang, &m.text))
        .collect();
    assert_eq!(relayed.len(), 3, "{relayed:?}");
    assert!(relayed[2].contains("The test was on 1 November"));

    operator(&core, Some("support:1"), "We are checking the lab record.").await;
    let mut out = Vec::new();
    terminal::run(&core, "Thanks\n".as_bytes(), &mut out, &options)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("💬 Support:\nWe are checking the lab record."),
        "{out}"
    );
    let mut conn = core.store.pool().acquire().await.unwrap();
    let (pending, sent, _) = outbox::counts(&mut conn).await.unwrap();
    assert_eq!(sent, 1, "the terminal took its own message");
    assert!(pending >= 4);
    drop(conn);

    // `ashyq support stats` reads the same database.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(["support", "stats"])
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run ashyq");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("tickets open:              1"), "{stdout}");
    assert!(
        stdout.contains("median first response:     0h 00m"),
        "{stdout}"
    );
}

/// Issue 15: another chat's ticket id in crafted rating buttons changes nothing and gets the
/// same neutral answer as a ticket that does not exist; the owner still rates.
async fn forged_ticket_buttons(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-23T10:00:00+05:00"));
    let core = support::core_with_support(db, &clock, settings()).await;
    let user = Chat::new(&core, "601", Some("ru"));
    open_ticket(&user).await;
    operator(&core, Some("support:1"), "/close").await;
    let other = Chat::new(&core, "602", Some("ru"));
    let rating = || async {
        let r: Vec<(Option<i64>,)> = sqlx::query_as("SELECT rating FROM support_tickets")
            .fetch_all(core.store.pool())
            .await
            .unwrap();
        r
    };
    let outbox = count(&core.store, "outbox").await;
    let mut answers = Vec::new();
    for ticket in [1, 1000] {
        for n in [1, 5] {
            answers.push(other.button(&format!("support:rate:{ticket}:{n}")).await);
        }
    }
    assert!(
        answers
            .iter()
            .all(|a| a == &answers[0] && a[0] == "hint-stale-button"),
        "{answers:?}"
    );
    assert_eq!(rating().await, [(None,)]);
    assert_eq!(
        count(&core.store, "outbox").await,
        outbox,
        "no notice to the operators"
    );
    assert_eq!(user.button("support:rate:1:4").await, ["support-rated"]);
    assert_eq!(rating().await, [(Some(4),)]);
    core.store.close().await;
}

mod forged_buttons {
    ashyq_on_both!(super::forged_ticket_buttons);
}
