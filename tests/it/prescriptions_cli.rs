//! The prescriptions CLI as the real binary on a fresh SQLite database: the import (bad
//! prescriptions reported by line, re-run idempotent, withdrawal), pharmacy set-up and
//! invitation, the act, a dispute decision for an unknown dispute.

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
fn prescription_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Issued in the past of the real clock, valid for long.
    let csv = format!(
        "external_id,patient_iin,representative_iin,prescriber,issued_on,expires_on,kind,patient_share,inn,form,quantity,unit,withdrawn\n\
         C-1,{a},,Dr A,2026-01-10,2099-01-10,discounted,30,Metformin,tablets 500 mg,60,pieces,0\n\
         C-1,{a},,Dr A,2026-01-10,2099-01-10,discounted,30,Insulin,vial,2,packs,0\n\
         C-2,{c},,Dr B,2026-01-10,2099-01-10,free,,Ibuprofen,syrup,100,ml,0\n\
         C-3,{a},,Dr A,2026-01-10,2099-01-10,free,,Aspirin,tablets,0,pieces,\n",
        a = iin(1980, 2),
        c = iin(2019, 3),
    );
    std::fs::write(d.join("rx.csv"), csv).unwrap();
    let (ok, out, err) = ashyq(d, &["import", "prescriptions", "rx.csv"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["accepted"], 1, "{out}");
    assert_eq!(v["rejected"], 2, "{out}");
    assert!(
        err.contains("line 4:") && err.contains("representative_iin"),
        "{err}"
    );
    assert!(err.contains("line 5:") && err.contains("quantity"), "{err}");
    assert!(!err.contains(&iin(2019, 3)), "{err}");
    // A re-run writes nothing twice.
    let (ok, out, _) = ashyq(d, &["import", "prescriptions", "rx.csv"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["accepted"].clone(), v["duplicates"].clone()),
        (0.into(), 1.into())
    );

    let (ok, out, err) = ashyq(
        d,
        &[
            "pharmacy",
            "set",
            "--bin",
            "210540012341",
            "--name",
            "Дәрі-дәрмек",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("pharmacy_id"), "{out}");
    let (ok, out, err) = ashyq(d, &["pharmacy", "invite", "210540012341"]);
    assert!(ok, "{err}");
    assert!(out.trim().contains("start=prv_"), "{out}");
    let (ok, _, err) = ashyq(d, &["pharmacy", "invite", "190940001116"]);
    assert!(!ok && err.contains("190940001116"), "{err}");

    let (ok, out, err) = ashyq(
        d,
        &[
            "act",
            "--pharmacy",
            "210540012341",
            "--month",
            "2026-11",
            "--out",
            "acts",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("\"lines\":0"), "{out}");
    let act =
        std::fs::read_to_string(d.join("acts/act-pharmacy-210540012341-2026-11.csv")).unwrap();
    assert!(
        act.starts_with("pharmacy_bin,pharmacy,ledger_seq,"),
        "{act}"
    );

    let (ok, _, err) = ashyq(d, &["dispute", "decide", "7", "--status", "upheld"]);
    assert!(!ok && err.contains("no dispute 7"), "{err}");

    // A withdrawal row.
    std::fs::write(
        d.join("w.csv"),
        "external_id,patient_iin,representative_iin,prescriber,issued_on,expires_on,kind,patient_share,inn,form,quantity,unit,withdrawn\nC-1,,,,,,,,,,,,1\n",
    )
    .unwrap();
    let (ok, out, err) = ashyq(d, &["import", "prescriptions", "w.csv"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"withdrawn\":1"), "{out}");
}
