//! The operator CLI: `ashyq venue add | list | poster | invite | revoke` and
//! `ashyq region set-alert-chat`, run as the real binary on a fresh SQLite database.

use std::path::Path;
use std::process::Command;

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn ashyq(dir: &Path, args: &[&str], bot: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ashyq"));
    cmd.args(args)
        .current_dir(dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .env("ASHYQ_SECRET_KEY", SECRET)
        .env_remove("ASHYQ_BOT_USERNAME")
        .env("RUST_LOG", "warn");
    if let Some(bot) = bot {
        cmd.env("ASHYQ_BOT_USERNAME", bot);
    }
    let out = cmd.output().expect("run ashyq");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn venue_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let add = [
        "venue",
        "add",
        "--name",
        "Кинотеатр Арман",
        "--bin",
        "210540012341",
        "--address",
        "Almaty, Abai 1",
        "--region",
        "Almaty",
        "--category",
        "ordinary",
        "--entrances",
        "2",
        "--max-stay",
        "2h30m",
    ];
    let (ok, _, err) = ashyq(d, &add, None);
    assert!(!ok && err.contains("ASHYQ_BOT_USERNAME"), "{err}");
    let (ok, out, err) = ashyq(d, &add, Some("@ashyq_bot"));
    assert!(ok, "{err}");
    let added: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let venue_id = added["venue_id"].as_i64().unwrap();
    let entrances = added["entrances"].as_array().unwrap();
    assert_eq!(entrances.len(), 2);
    for e in entrances {
        for key in ["entry_token", "exit_token"] {
            let t = e[key].as_str().unwrap();
            assert!(
                t.len() <= 64
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
        let link = e["entry_link"].as_str().unwrap();
        assert_eq!(
            link,
            format!(
                "https://t.me/ashyq_bot?start={}",
                e["entry_token"].as_str().unwrap()
            )
        );
        assert_eq!(e["entry_code"].as_str().unwrap().len(), 8);
    }

    let bad = [
        "venue",
        "add",
        "--name",
        "X",
        "--bin",
        "210540012342",
        "--address",
        "A",
        "--region",
        "R",
        "--category",
        "ordinary",
    ];
    let (ok, _, err) = ashyq(d, &bad, Some("ashyq_bot"));
    assert!(!ok && err.contains("BIN"), "{err}");
    let bad_category = [
        "venue",
        "add",
        "--name",
        "X",
        "--bin",
        "210540012341",
        "--address",
        "A",
        "--region",
        "R",
        "--category",
        "casino",
    ];
    let (ok, _, err) = ashyq(d, &bad_category, Some("ashyq_bot"));
    assert!(!ok && err.contains("category"), "{err}");

    let (ok, out, _) = ashyq(d, &["venue", "list"], None);
    assert!(ok);
    let listed: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(listed["max_stay_minutes"], 150);
    assert_eq!(listed["region"], "almaty");

    let (ok, out, err) = ashyq(
        d,
        &["venue", "invite", &venue_id.to_string(), "--role", "staff"],
        Some("ashyq_bot"),
    );
    assert!(ok, "{err}");
    assert!(
        out.trim().starts_with("https://t.me/ashyq_bot?start=inv_"),
        "{out}"
    );
    // For someone on Aitu (no AITU_DEEP_LINK here): the message to send the bot there.
    let (ok, out, err) = ashyq(
        d,
        &[
            "venue",
            "invite",
            &venue_id.to_string(),
            "--channel",
            "aitu",
        ],
        Some("ashyq_bot"),
    );
    assert!(ok, "{err}");
    assert!(out.trim().starts_with("/start inv_"), "{out}");
    assert!(err.contains("Aitu has no deep link"), "{err}");
    let (ok, _, err) = ashyq(
        d,
        &["venue", "invite", &venue_id.to_string(), "--channel", "icq"],
        Some("ashyq_bot"),
    );
    assert!(!ok && err.contains("unknown channel"), "{err}");

    let (ok, _, err) = ashyq(d, &["region", "set-alert-chat", "Almaty", "-100123"], None);
    assert!(ok, "{err}");

    let posters = d.join("posters");
    let (ok, out, err) = ashyq(
        d,
        &[
            "venue",
            "poster",
            &venue_id.to_string(),
            "--out",
            posters.to_str().unwrap(),
        ],
        Some("ashyq_bot"),
    );
    assert!(ok, "{err}");
    let svg = posters.join(format!("venue-{venue_id}-1-entry.svg"));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("Кинотеатр Арман") && text.contains("ВХОД"),
        "{text}"
    );
    assert!(text.contains(entrances[0]["entry_code"].as_str().unwrap()));
    let png = posters.join(format!("venue-{venue_id}-1-entry.png"));
    if png.exists() {
        // The printed code decodes back to the deep link.
        let bytes = std::fs::read(&png).unwrap();
        let decoded = ashyq::qr::decode(&bytes, &ashyq::qr::Limits::default()).unwrap();
        assert_eq!(decoded, [entrances[0]["entry_link"].as_str().unwrap()]);
        assert!(
            posters
                .join(format!("venue-{venue_id}-2-exit.pdf"))
                .exists()
        );
        assert_eq!(out.lines().count(), 12, "{out}");
    } else {
        eprintln!("notice: no poster font on this machine; PNG/PDF posters not checked ({err})");
    }

    let (ok, _, err) = ashyq(
        d,
        &["venue", "revoke", &venue_id.to_string(), "--entrance", "9"],
        None,
    );
    assert!(!ok && err.contains("no active entrance"), "{err}");
    let (ok, _, _) = ashyq(d, &["venue", "revoke", &venue_id.to_string()], None);
    assert!(ok);
    let (_, out, _) = ashyq(d, &["venue", "list"], None);
    assert!(out.contains("\"revoked\":true"), "{out}");
}
