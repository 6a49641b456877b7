//! Posters that belong to no messenger (issue 16 item 1): with `ASHYQ_PUBLIC_URL` a venue's
//! QR encodes `<public>/v/<token>`, a page of ours in the reader's language with a button per
//! messenger; photos of old (Telegram link) and new (page link) posters both check in; bad
//! and revoked codes get a 404 page; and the page as headless Chromium renders it.

use crate::support;

use ashyq::clock::ManualClock;
use ashyq::core::checkin::{admin, poster};
use ashyq::core::shared::channel::PublicUrl;
use ashyq::core::{Core, Event};
use ashyq::storage::venues;
use std::sync::Arc;
use support::app::{TestApp, TestOptions};
use support::fake_telegram::FakeTelegram;
use support::{Chat, TestDb, arg, at, core_built, keys};

const BOT: &str = "ashyq_test_bot";
const PUBLIC: &str = "https://qr.ashyq.test";
const AITU_LINK: &str = "https://aitu.test/ashyq?start={payload}";
const PHONE: &str = "+77011234567";
const IIN: &str = "900101300017";

/// A core whose posters encode the public page and whose Aitu has a deep link.
async fn public_core(db: &TestDb, clock: &ManualClock) -> Arc<Core> {
    core_built(db, clock, |c| {
        let channels = c
            .channels
            .clone()
            .with_public_url(Some(PublicUrl::parse(PUBLIC).unwrap()))
            .with_bot_username(BOT)
            .with(
                ashyq::adapters::aitu::CHANNEL,
                ashyq::adapters::aitu::profile(Some(AITU_LINK)),
            );
        c.with_channels(channels)
    })
    .await
}

async fn add_venue(core: &Core, entrances: u32) -> admin::AddedVenue {
    admin::add_venue(
        core,
        &admin::AddVenue {
            name: "Cafe <Alma>".into(),
            bin: "210540012341".into(),
            address: "Almaty, Abai 10".into(),
            region: "Almaty".into(),
            category: "ordinary".into(),
            entrances,
            max_stay_ms: None,
        },
        BOT,
    )
    .await
    .expect("venue added")
}

async fn register(chat: &Chat) {
    assert_eq!(chat.command("start").await, ["consent-text"]);
    assert_eq!(chat.button("consent:yes").await, ["phone-prompt"]);
    let out = chat
        .send(Event::Contact {
            phone: PHONE.into(),
            own: true,
        })
        .await;
    assert_eq!(keys(&out), ["phone-saved", "iin-prompt"]);
    support::identity_pair(&chat.core, IIN, PHONE).await;
    assert_eq!(chat.text(IIN).await, ["registered"]);
}

/// A photo of a printed poster of one entrance's entry: the poster as it is drawn (150 dpi
/// A4), JPEG-compressed as a phone camera would.
fn poster_photo(core: &Core, venue: &venues::VenueRow, codes: &admin::EntranceCodes) -> Vec<u8> {
    let font = poster::find_font(None).expect("a poster font (DejaVu or Liberation)");
    let text = poster::poster_text(&core.texts, venue, codes, false);
    let rgb = poster::raster(&text, &font).expect("poster drawn");
    poster::jpeg(&rgb, poster::PNG_WIDTH, poster::PNG_HEIGHT, 80)
}

async fn old_and_new_posters_both_check_in(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let new = public_core(db, &clock).await;
    let old = support::core(db, &clock).await;
    let added = add_venue(&new, 2).await;
    for e in &added.entrances {
        assert_eq!(e.entry_link, format!("{PUBLIC}/v/{}", e.entry_token));
        assert_eq!(e.exit_link, format!("{PUBLIC}/v/{}", e.exit_token));
    }
    // Invitations stay bot links: they are opened in a chat, not printed.
    let invite = admin::invite(&new, added.venue_id, "staff", BOT)
        .await
        .unwrap();
    assert!(invite.starts_with(&format!("https://t.me/{BOT}?start=inv_")));

    // The same venue's posters as a core without ASHYQ_PUBLIC_URL prints them (today's).
    let (venue, old_codes) = admin::codes(&old, added.venue_id, BOT).await.unwrap();
    assert_eq!(
        old_codes[0].entry_link,
        format!(
            "https://t.me/{BOT}?start={}",
            added.entrances[0].entry_token
        )
    );
    let (_, new_codes) = admin::codes(&new, added.venue_id, BOT).await.unwrap();
    let old_poster = poster_photo(&old, &venue, &old_codes[0]);
    let new_poster = poster_photo(&new, &venue, &new_codes[1]);
    // What the posters' QR codes carry, as the decoder reads them.
    assert_eq!(
        ashyq::qr::decode(&old_poster, &ashyq::qr::Limits::default()).unwrap(),
        [old_codes[0].entry_link.clone()]
    );
    assert_eq!(
        ashyq::qr::decode(&new_poster, &ashyq::qr::Limits::default()).unwrap(),
        [new_codes[1].entry_link.clone()]
    );

    let visitor = Chat::new(&new, "visitor", Some("ru"));
    register(&visitor).await;
    let out = visitor.send(Event::Image(old_poster)).await;
    assert_eq!(keys(&out), ["checkin-result"], "{out:?}");
    assert_eq!(arg(&out[0], "entrance"), "1");
    clock.advance(chrono::Duration::minutes(3));
    let out = visitor.send(Event::Image(new_poster)).await;
    assert_eq!(keys(&out), ["checkin-result"], "{out:?}");
    assert_eq!(arg(&out[0], "entrance"), "2");
    assert_eq!(support::count(&new.store, "checkins").await, 2);

    // The page link typed or forwarded as text works like the deep link.
    clock.advance(chrono::Duration::minutes(3));
    let out = visitor
        .send(Event::Command {
            name: "start".into(),
            arg: added.entrances[0].entry_token.clone(),
        })
        .await;
    assert_eq!(keys(&out), ["checkin-result"]);
}

mod posters_both_check_in {
    ashyq_on_both!(super::old_and_new_posters_both_check_in);
}

async fn get(
    app: &TestApp,
    path: &str,
    lang: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().get(app.url(path));
    if let Some(l) = lang {
        req = req.header("Accept-Language", l);
    }
    let res = req.send().await.expect("the page answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

async fn spawn_public_app(db: &TestDb, clock: &ManualClock) -> (TestApp, FakeTelegram) {
    let (fake, url) = FakeTelegram::start().await;
    let core = public_core(db, clock).await;
    let app = TestApp::start(core, &url, TestOptions::default()).await;
    (app, fake)
}

async fn the_page_answers_in_the_readers_language(db: &TestDb) {
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let (app, _fake) = spawn_public_app(db, &clock).await;
    let added = add_venue(&app.core, 2).await;
    let e = &added.entrances[0];
    let path = format!("/v/{}", e.entry_token);
    let texts = &app.core.texts;
    let render = |lang, key: &'static str| texts.render(lang, &ashyq::i18n::Msg::new(key));
    use ashyq::domain::Lang;

    let (status, headers, html) = get(&app, &path, Some("ru-RU,ru;q=0.9,en;q=0.5")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
    assert!(html.contains(&render(Lang::Ru, "poster-page-lead")));
    assert!(html.contains(&format!(
        "href=\"https://t.me/{BOT}?start={}\"",
        e.entry_token
    )));
    assert!(html.contains(&format!(
        "href=\"https://aitu.test/ashyq?start={}\"",
        e.entry_token
    )));
    assert!(html.contains(&e.entry_code), "the short code for typing");
    assert!(html.contains("Cafe &lt;Alma&gt;"), "names are escaped");
    assert!(!html.contains("<script"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"));
    assert_eq!(headers["content-language"], "ru");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers.get("set-cookie").is_none());
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let (_, _, html) = get(&app, &path, Some("en-GB,en;q=0.9")).await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains(&render(Lang::En, "poster-page-lead")));
    let (_, _, html) = get(&app, &path, None).await;
    assert!(html.contains("<html lang=\"kk\">"), "Kazakh by default");
    assert!(html.contains(&render(Lang::Kk, "poster-page-lead")));
    let (_, _, html) = get(&app, &path, Some("de-DE,fr;q=0.9")).await;
    assert!(html.contains("<html lang=\"kk\">"));
    let (_, _, html) = get(&app, &format!("{path}?lang=en"), Some("ru")).await;
    assert!(
        html.contains("<html lang=\"en\">"),
        "the language links win"
    );

    // An exit code says so.
    let (status, _, html) = get(&app, &format!("/v/{}", e.exit_token), Some("en")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&texts.render(
        Lang::En,
        &ashyq::i18n::Msg::new("poster-page-title").arg("kind", "exit")
    )));
    assert!(html.contains(&e.exit_code));

    // Bad codes: a clear page, 404, in the reader's language; nothing panics.
    let invalid_ru = render(Lang::Ru, "poster-page-invalid");
    let mut forged = e.entry_token.clone();
    let last = if forged.ends_with('A') { "B" } else { "A" };
    forged.replace_range(forged.len() - 1.., last);
    for bad in [
        "nonsense".to_string(),
        "x".repeat(5000),
        forged,
        "%3Cscript%3E".to_string(),
        "..%2F..%2Fetc%2Fpasswd".to_string(),
    ] {
        let (status, headers, html) = get(&app, &format!("/v/{bad}"), Some("ru")).await;
        assert_eq!(status, 404, "{bad}");
        assert!(html.contains(&invalid_ru), "{bad}: {html}");
        assert!(headers.contains_key("content-security-policy"));
        assert!(!html.contains("<script"));
    }
    // A revoked entrance's codes stop opening the page; the other entrance's still do.
    admin::revoke(&app.core, added.venue_id, Some("1"))
        .await
        .unwrap();
    assert_eq!(get(&app, &path, Some("ru")).await.0, 404);
    let second = format!("/v/{}", added.entrances[1].entry_token);
    assert_eq!(get(&app, &second, Some("ru")).await.0, 200);
    // A revoked signing key: the posters signed with it stop too.
    let kid = admin::rotate_key(&app.core).await.unwrap();
    admin::revoke_key(&app.core, kid - 1).await.unwrap();
    let (status, _, html) = get(&app, &second, None).await;
    assert_eq!(status, 404);
    assert!(html.contains(&render(Lang::Kk, "poster-page-invalid")));
    // A revoked venue: its fresh codes do not open the page either.
    let (_, codes) = admin::codes(&app.core, added.venue_id, BOT).await.unwrap();
    let fresh = format!("/v/{}", codes[0].entry_token);
    assert_eq!(get(&app, &fresh, None).await.0, 200);
    admin::revoke(&app.core, added.venue_id, None)
        .await
        .unwrap();
    assert_eq!(get(&app, &fresh, None).await.0, 404);
    app.stop().await;
}

mod page_over_http {
    ashyq_on_both!(super::the_page_answers_in_the_readers_language);
}

/// The Chromium binary: `ASHYQ_TEST_CHROMIUM`, else `chromium`, `chromium-browser`,
/// `google-chrome` on the PATH.
fn chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("ASHYQ_TEST_CHROMIUM") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The DOM headless Chromium renders for `url` with `accept_lang`, and its log (CSP
/// violations are reported there).
async fn dump_dom(browser: &std::path::Path, url: &str, accept_lang: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(browser);
    cmd.arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--disable-dev-shm-usage")
        .arg("--no-first-run")
        .arg("--disable-extensions")
        .arg("--enable-logging=stderr")
        .arg("--v=0")
        .arg(format!("--accept-lang={accept_lang}"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("Chromium finished within 2 minutes")
        .expect("Chromium started");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn the_page_in_headless_chromium(db: &TestDb) {
    let Some(browser) = chromium() else {
        eprintln!(
            "NOTICE: poster_page::chromium skipped: no Chromium (apt-get install chromium, or set ASHYQ_TEST_CHROMIUM)"
        );
        return;
    };
    let clock = ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let (app, _fake) = spawn_public_app(db, &clock).await;
    let added = add_venue(&app.core, 1).await;
    let e = &added.entrances[0];
    let url = app.url(&format!("/v/{}", e.entry_token));
    use ashyq::domain::Lang;
    let texts = &app.core.texts;
    let open = |lang, messenger: &str| {
        texts.render(
            lang,
            &ashyq::i18n::Msg::new("poster-page-open").arg("messenger", messenger.to_string()),
        )
    };

    let (dom, log) = dump_dom(&browser, &url, "ru-RU,ru").await;
    assert!(dom.contains("<html lang=\"ru\">"), "{dom}\n{log}");
    let telegram = format!("https://t.me/{BOT}?start={}", e.entry_token);
    let aitu = format!("https://aitu.test/ashyq?start={}", e.entry_token);
    assert!(
        dom.contains(&format!("href=\"{telegram}\""))
            && dom.contains("data-messenger=\"Telegram\""),
        "{dom}"
    );
    assert!(
        dom.contains(&format!("href=\"{aitu}\"")) && dom.contains("data-messenger=\"Aitu\""),
        "{dom}"
    );
    assert!(dom.contains(&open(Lang::Ru, "Telegram")), "{dom}");
    assert!(dom.contains(&open(Lang::Ru, "Aitu")), "{dom}");
    assert!(
        !log.contains("Content Security Policy"),
        "the page breaks its own CSP:\n{log}"
    );

    let (dom, _) = dump_dom(&browser, &url, "kk-KZ,kk").await;
    assert!(dom.contains("<html lang=\"kk\">"), "{dom}");
    assert!(dom.contains(&open(Lang::Kk, "Telegram")), "{dom}");
    let (dom, _) = dump_dom(&browser, &url, "en-US,en").await;
    assert!(dom.contains("<html lang=\"en\">"), "{dom}");
    assert!(dom.contains(&open(Lang::En, "Aitu")), "{dom}");

    let (dom, _) = dump_dom(&browser, &app.url("/v/not-a-code"), "ru").await;
    assert!(
        dom.contains(&texts.render(Lang::Ru, &ashyq::i18n::Msg::new("poster-page-invalid"))),
        "{dom}"
    );
    assert!(!dom.contains("t.me"));
    app.stop().await;
}

mod chromium {
    ashyq_on_both!(super::the_page_in_headless_chromium);
}
