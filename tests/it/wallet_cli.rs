//! The Social Wallet CLI as the real binary on a fresh SQLite database: import pupils (bad
//! lines reported, re-run idempotent), supplier and school, the offer campaign, the ledger
//! verification (also after an edit in SQL), the act files and the canteen invite.

use ashyq::domain::{Iin, Sex};
use chrono::NaiveDate;
use std::path::Path;
use std::process::Command;

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn ashyq(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ashyq"))
        .args(args)
        .current_dir(dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .env("ASHYQ_SECRET_KEY", SECRET)
        .env("ASHYQ_BOT_USERNAME", "ashyq_bot")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ashyq");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn iin(y: i32, serial: u16) -> String {
    Iin::synthetic(
        NaiveDate::from_ymd_opt(y, 1, 15).unwrap(),
        Sex::Male,
        serial,
    )
    .expose()
}

#[test]
fn wallet_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = format!(
        "pupil_iin,grade,school_bin,parent_iin,parent_phone,social_assistance\n\
         {},1,210540012341,{},+77015550001,0\n\
         {},10,210540012341,{},+77015550002,0\n\
         {},10,210540012341,{},+77015550003,1\n\
         123,1,210540012341,{},+77015550001,0\n",
        iin(2019, 1),
        iin(1980, 2),
        iin(2010, 3),
        iin(1980, 4),
        iin(2010, 5),
        iin(1980, 6),
        iin(1980, 2),
    );
    std::fs::write(d.join("pupils.csv"), csv).unwrap();
    let (ok, out, err) = ashyq(d, &["import", "pupils", "pupils.csv"]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["accepted"], 3);
    assert_eq!(report["eligible"], 2);
    assert_eq!(report["rejected"], 1);
    assert!(err.contains("line 5: pupil_iin"), "{err}");
    let (ok, out, _) = ashyq(d, &["import", "pupils", "pupils.csv"]);
    assert!(ok);
    let again: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (again["accepted"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(3))
    );

    let (ok, _, err) = ashyq(
        d,
        &[
            "supplier",
            "set",
            "--bin",
            "051040001237",
            "--name",
            "Taza",
            "--price",
            "850.5",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = ashyq(
        d,
        &[
            "school",
            "set",
            "--bin",
            "210540012341",
            "--name",
            "School 5",
            "--supplier",
            "051040001237",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = ashyq(
        d,
        &[
            "supplier",
            "set",
            "--bin",
            "051040001237",
            "--name",
            "T",
            "--price",
            "-1",
        ],
    );
    assert!(!ok && err.contains("price"), "{err}");

    let (ok, out, err) = ashyq(d, &["vouchers", "offer", "--all"]);
    assert!(ok, "{err}");
    let offer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (offer["offered"].as_i64(), offer["sms"].as_i64()),
        (Some(2), Some(2))
    );
    let (ok, out, _) = ashyq(d, &["vouchers", "offer", "--school", "210540012341"]);
    assert!(ok);
    assert!(out.contains("\"offered\":0"), "{out}");

    let (ok, out, err) = ashyq(d, &["ledger", "verify"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["entries"], 2);
    assert!(v.get("first_problem").is_none());

    let (ok, out, err) = ashyq(
        d,
        &[
            "act",
            "--supplier",
            "051040001237",
            "--month",
            "2025-10",
            "--out",
            "acts",
        ],
    );
    assert!(ok, "{err}");
    let act: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(act["meals"], 0);
    assert_eq!(act["closed"], true);
    let stored_csv = std::fs::read_to_string(d.join("acts/act-051040001237-2025-10.csv")).unwrap();
    assert!(stored_csv.starts_with("school_bin,school,day,meals,unit_price,amount"));
    assert!(d.join("acts/act-051040001237-2025-10.html").exists());

    // The audit export of every action: offers written by the CLI today, masked.
    let today = chrono::Utc::now()
        .with_timezone(&ashyq::clock::almaty())
        .date_naive()
        .to_string();
    let (ok, out, err) = ashyq(
        d,
        &["audit", "export", "--from", "2020-01-01", "--to", &today],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("at,source,ref,voucher_kind,action"),
        "{out}"
    );
    assert!(
        out.contains(",ledger,") && out.contains(",meal,offer,"),
        "{out}"
    );
    assert!(
        !out.contains("+7701555") && !out.contains("7701555000"),
        "{out}"
    );
    assert!(err.contains("\"ledger_rows\""), "{err}");
    let (ok, _, err) = ashyq(
        d,
        &["audit", "export", "--from", "2026-13-01", "--to", &today],
    );
    assert!(!ok && err.contains("YYYY-MM-DD"), "{err}");

    let (ok, out, err) = ashyq(d, &["school", "invite", "210540012341"]);
    assert!(ok, "{err}");
    assert!(
        out.trim().starts_with("https://t.me/ashyq_bot?start=cnt_"),
        "{out}"
    );

    // An edit in SQL is named by the verification, which then fails.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}", d.join("cli.db").display());
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query("UPDATE wallet_ledger SET school_bin = '190940001116' WHERE seq = 2")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let (ok, out, err) = ashyq(d, &["ledger", "verify"]);
    assert!(!ok);
    assert!(out.contains("\"problem\":\"edited\",\"seq\":2"), "{out}");
    assert!(err.contains("row 2 was edited"), "{err}");
}
