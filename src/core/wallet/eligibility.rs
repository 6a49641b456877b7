//! Eligibility from the state lists: `ashyq import pupils FILE.csv` and `POST /api/v1/pupils`.
//!
//! Rule (shared/domain.md): every pupil in grades 1-4; pupils in grades 5-11 whose family
//! receives targeted social assistance. The decision and the rule that fired are stored
//! with the pupil. A row is validated on its own (a bad one is reported with its line or
//! index, the good ones are written); the same pupil twice in one list is refused the second
//! time; a re-run writes nothing twice (same content = duplicate, different content for a
//! pupil already stored this school year = rejected, so a list cannot silently rewrite a
//! decision).

use super::WalletError;
use super::token::school_year_of;
use crate::core::feeds::Rejection;
use crate::core::{Core, CoreError};
use crate::crypto::{Field, Vault};
use crate::domain::{Bin, Iin, Phone};
use crate::storage::wallet::{self as store, NewPupil, PupilWrite};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::io::Read;

/// The CSV header, in this order.
pub const COLUMNS: [&str; 6] = [
    "pupil_iin",
    "grade",
    "school_bin",
    "parent_iin",
    "parent_phone",
    "social_assistance",
];

/// Rows per transaction.
pub const BATCH_ROWS: usize = 1000;

/// The rule that decided a pupil's eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Grades 1-4: always eligible.
    PrimaryGrades,
    /// Grades 5-11 with targeted social assistance: eligible.
    SocialAssistance,
    /// Grades 5-11 without targeted social assistance: not eligible.
    NoAssistance,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::PrimaryGrades => "grades_1_4",
            Rule::SocialAssistance => "grades_5_11_social_assistance",
            Rule::NoAssistance => "grades_5_11_no_assistance",
        }
    }

    pub fn eligible(self) -> bool {
        !matches!(self, Rule::NoAssistance)
    }
}

/// The eligibility decision for a grade (1..=11) and the family's assistance.
pub fn decide(grade: u8, social_assistance: bool) -> Rule {
    match (grade, social_assistance) {
        (1..=4, _) => Rule::PrimaryGrades,
        (_, true) => Rule::SocialAssistance,
        (_, false) => Rule::NoAssistance,
    }
}

/// One row of a list, as text.
#[derive(Debug, Clone, Default)]
pub struct PupilItem {
    pub pupil_iin: String,
    pub grade: String,
    pub school_bin: String,
    pub parent_iin: String,
    pub parent_phone: String,
    pub social_assistance: String,
}

fn flag(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "да" | "иә" => Ok(true),
        "0" | "false" | "no" | "n" | "нет" | "жоқ" | "" => Ok(false),
        other => Err(format!(
            "social_assistance must be 1 or 0 (true/false), not {other:?}"
        )),
    }
}

/// Checks one row and prepares what is stored (hashes and sealed values only).
pub fn validate(vault: &Vault, item: &PupilItem, today: NaiveDate) -> Result<NewPupil, String> {
    let pupil = Iin::parse(&item.pupil_iin).map_err(|e| format!("pupil_iin: {e}"))?;
    if pupil.birth_date() > today {
        return Err("pupil_iin: the birth date is in the future".into());
    }
    let grade: u8 = item
        .grade
        .trim()
        .parse()
        .ok()
        .filter(|g| (1..=11).contains(g))
        .ok_or_else(|| format!("grade must be 1..11, not {:?}", item.grade.trim()))?;
    let school = Bin::parse(&item.school_bin).map_err(|e| format!("school_bin: {e}"))?;
    let parent = Iin::parse(&item.parent_iin).map_err(|e| format!("parent_iin: {e}"))?;
    if parent.expose() == pupil.expose() {
        return Err("parent_iin is the pupil's own IIN".into());
    }
    let phone = Phone::parse(&item.parent_phone).map_err(|e| format!("parent_phone: {e}"))?;
    let assistance = flag(&item.social_assistance)?;
    let rule = decide(grade, assistance);
    Ok(NewPupil {
        school_year: school_year_of(today),
        pupil_hash: vault.lookup_hash(Field::Iin, &pupil.expose()),
        pupil_enc: vault.seal(Field::Iin, &pupil.expose()),
        school_bin: school.as_string(),
        grade: i64::from(grade),
        parent_iin_hash: vault.lookup_hash(Field::Iin, &parent.expose()),
        parent_iin_enc: vault.seal(Field::Iin, &parent.expose()),
        parent_phone_hash: vault.lookup_hash(Field::Phone, phone.expose()),
        parent_phone_enc: vault.seal(Field::Phone, phone.expose()),
        social_assistance: assistance,
        eligible: rule.eligible(),
        rule: rule.as_str(),
    })
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// New pupils stored (eligible or not).
    pub accepted: u64,
    /// Of those, eligible.
    pub eligible: u64,
    /// Already stored with the same content.
    pub duplicates: u64,
    pub rejected: Vec<Rejection>,
}

/// Validates rows (`(line or index, item)`), refusing a pupil seen earlier in the same list.
fn validate_all(
    vault: &Vault,
    items: Vec<(usize, PupilItem)>,
    today: NaiveDate,
    rejected: &mut Vec<Rejection>,
) -> Vec<(usize, NewPupil)> {
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut good = Vec::with_capacity(items.len());
    for (index, item) in items {
        match validate(vault, &item, today) {
            Ok(p) => {
                if let Some(first) = seen.get(&p.pupil_hash) {
                    rejected.push(Rejection {
                        index,
                        external_id: None,
                        reason: format!("duplicate pupil: the same pupil_iin as at {first}"),
                    });
                } else {
                    seen.insert(p.pupil_hash.clone(), index);
                    good.push((index, p));
                }
            }
            Err(reason) => rejected.push(Rejection {
                index,
                external_id: None,
                reason,
            }),
        }
    }
    good
}

/// Writes validated pupils in transactions of [`BATCH_ROWS`].
async fn write(
    core: &Core,
    rows: Vec<(usize, NewPupil)>,
    source: &str,
    report: &mut ImportReport,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), CoreError> {
    let mut done = 0u64;
    for chunk in rows.chunks(BATCH_ROWS) {
        let now = core.now_ms();
        let mut tx = core.store.begin().await?;
        for (index, p) in chunk {
            if core.vault.state().previous.is_some() {
                // A key rotation runs: this pupil's and parent's rows move to the current
                // version first, so the pupil already listed is found (security::keys).
                use crate::security::keys::settle;
                let pupil = core.vault.open(Field::Iin, &p.pupil_enc)?;
                let parent = core.vault.open(Field::Iin, &p.parent_iin_enc)?;
                let phone = core.vault.open(Field::Phone, &p.parent_phone_enc)?;
                settle(&mut tx, &core.vault, Field::Iin, &pupil).await?;
                settle(&mut tx, &core.vault, Field::Iin, &parent).await?;
                settle(&mut tx, &core.vault, Field::Phone, &phone).await?;
            }
            match store::insert_pupil(&mut tx, p, source, now).await? {
                PupilWrite::Inserted => {
                    report.accepted += 1;
                    report.eligible += u64::from(p.eligible);
                }
                PupilWrite::Duplicate => report.duplicates += 1,
                PupilWrite::Conflict => report.rejected.push(Rejection {
                    index: *index,
                    external_id: None,
                    reason: "this pupil is already listed for the school year with other data (school, grade, parent or assistance); nothing changed".into(),
                }),
            }
        }
        tx.commit().await?;
        done += chunk.len() as u64;
        progress(done);
    }
    report.rejected.sort_by_key(|r| r.index);
    Ok(())
}

/// Imports a CSV list. Rejections carry the line number in `index`. Reading and validating
/// (keyed hashes, encryption) run on the blocking pool.
pub async fn import_csv<R: Read + Send + 'static>(
    core: &Core,
    input: R,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, WalletError> {
    let vault = core.vault.clone();
    let today = super::today(core);
    let (good, rejected) = tokio::task::spawn_blocking(move || read_csv(input, &vault, today))
        .await
        .map_err(|e| WalletError::Import(e.to_string()))??;
    let mut report = ImportReport {
        rejected,
        ..Default::default()
    };
    write(core, good, "csv", &mut report, progress).await?;
    Ok(report)
}

type Validated = (Vec<(usize, NewPupil)>, Vec<Rejection>);

fn read_csv<R: Read>(input: R, vault: &Vault, today: NaiveDate) -> Result<Validated, WalletError> {
    let (mut reader, positions) =
        crate::core::import::csv_with_columns(input, &COLUMNS).map_err(|e| match e {
            // The csv error as it reads, without `ImportError`'s "CSV:" prefix.
            crate::core::import::ImportError::Csv(e) => WalletError::Import(e.to_string()),
            e => WalletError::Import(e.to_string()),
        })?;
    let mut items = Vec::new();
    let mut rejected = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                if record.len() != COLUMNS.len() {
                    rejected.push(Rejection {
                        index: line,
                        external_id: None,
                        reason: format!("{} columns instead of {}", record.len(), COLUMNS.len()),
                    });
                    continue;
                }
                let c = |i: usize| record.get(positions[i]).unwrap_or_default().to_string();
                items.push((
                    line,
                    PupilItem {
                        pupil_iin: c(0),
                        grade: c(1),
                        school_bin: c(2),
                        parent_iin: c(3),
                        parent_phone: c(4),
                        social_assistance: c(5),
                    },
                ));
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(WalletError::Import(e.to_string()));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                rejected.push(Rejection {
                    index: line,
                    external_id: None,
                    reason: format!("unreadable row: {e}"),
                });
            }
        }
    }
    let good = validate_all(vault, items, today, &mut rejected);
    Ok((good, rejected))
}

fn json_text(v: &serde_json::Value, name: &str) -> String {
    match v.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => if *b { "1" } else { "0" }.to_string(),
        _ => String::new(),
    }
}

/// Imports items posted over HTTP (`index` = position in `items`).
pub async fn import_items(
    core: &Core,
    items: Vec<serde_json::Value>,
    api_key: i64,
) -> Result<ImportReport, CoreError> {
    let mut rejected = Vec::new();
    let mut parsed = Vec::with_capacity(items.len());
    for (index, v) in items.into_iter().enumerate() {
        let unknown = v
            .as_object()
            .map(|o| o.keys().find(|k| !COLUMNS.contains(&k.as_str())).cloned());
        match unknown {
            None => rejected.push(Rejection {
                index,
                external_id: None,
                reason: "an item must be a JSON object".into(),
            }),
            Some(Some(k)) => rejected.push(Rejection {
                index,
                external_id: None,
                reason: format!("unknown field {k:?}"),
            }),
            Some(None) => parsed.push((
                index,
                PupilItem {
                    pupil_iin: json_text(&v, "pupil_iin"),
                    grade: json_text(&v, "grade"),
                    school_bin: json_text(&v, "school_bin"),
                    parent_iin: json_text(&v, "parent_iin"),
                    parent_phone: json_text(&v, "parent_phone"),
                    social_assistance: json_text(&v, "social_assistance"),
                },
            )),
        }
    }
    let vault = core.vault.clone();
    let today = super::today(core);
    let (good, rejected) = tokio::task::spawn_blocking(move || {
        let mut rejected = rejected;
        let good = validate_all(&vault, parsed, today, &mut rejected);
        (good, rejected)
    })
    .await
    .map_err(|e| CoreError::internal("pupil list validation", e))?;
    let mut report = ImportReport {
        rejected,
        ..Default::default()
    };
    write(core, good, &format!("api:{api_key}"), &mut report, &|_| {}).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_of_domain_md() {
        for g in 1..=4 {
            assert_eq!(decide(g, false), Rule::PrimaryGrades);
            assert_eq!(decide(g, true), Rule::PrimaryGrades);
        }
        for g in 5..=11 {
            assert_eq!(decide(g, true), Rule::SocialAssistance);
            assert_eq!(decide(g, false), Rule::NoAssistance);
            assert!(!decide(g, false).eligible());
        }
    }

    #[test]
    fn flags_and_rows_are_checked() {
        assert!(flag("1").unwrap() && flag("TRUE").unwrap() && !flag("0").unwrap());
        assert!(flag("maybe").is_err());
        let vault = Vault::from_secret(&"ab".repeat(32)).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let good = PupilItem {
            pupil_iin: crate::domain::Iin::synthetic(
                NaiveDate::from_ymd_opt(2018, 3, 1).unwrap(),
                crate::domain::Sex::Female,
                1,
            )
            .expose(),
            grade: "2".into(),
            school_bin: "210540012341".into(),
            parent_iin: "900101300017".into(),
            parent_phone: "+77011234567".into(),
            social_assistance: "0".into(),
        };
        let p = validate(&vault, &good, today).unwrap();
        assert_eq!(
            (p.eligible, p.rule, p.school_year),
            (true, "grades_1_4", 2026)
        );
        let bad_grade = PupilItem {
            grade: "12".into(),
            ..good.clone()
        };
        assert!(
            validate(&vault, &bad_grade, today)
                .unwrap_err()
                .contains("grade")
        );
        let same = PupilItem {
            parent_iin: good.pupil_iin.clone(),
            ..good.clone()
        };
        let err = validate(&vault, &same, today).unwrap_err();
        assert!(err.contains("pupil") || err.contains("parent"), "{err}");
    }
}
