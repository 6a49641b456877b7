//! The CSV row parsers: any bytes read as CSV, every record validated as a PCR result, a
//! contact and a pupil-list row (the functions the CSV imports and HTTP feeds share).
#![no_main]
use ashyq::core::feeds::{ContactItem, PcrItem, validate_contact, validate_pcr};
use ashyq::core::wallet::eligibility::{PupilItem, validate};
use ashyq::crypto::Vault;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn vault() -> &'static Vault {
    static V: OnceLock<Vault> = OnceLock::new();
    V.get_or_init(|| Vault::from_secret(&"ab".repeat(32)).expect("vault"))
}

fuzz_target!(|data: &[u8]| {
    let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("time");
    let today = now.date_naive();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    for record in reader.records().take(64) {
        let Ok(r) = record else { continue };
        let c = |i: usize| r.get(i).unwrap_or_default().to_string();
        let _ = validate_pcr(
            vault(),
            &PcrItem {
                iin: c(0),
                taken_at: c(1),
                result_at: c(2),
                result: c(3),
                lab: c(4),
                external_id: c(5),
                withdrawn: false,
            },
            now,
        );
        let _ = validate_contact(
            vault(),
            &ContactItem {
                iin: c(0),
                contact_date: c(1),
                case_id: c(2),
                external_id: c(3),
            },
            now,
        );
        let _ = validate(
            vault(),
            &PupilItem {
                pupil_iin: c(0),
                grade: c(1),
                school_bin: c(2),
                parent_iin: c(3),
                parent_phone: c(4),
                social_assistance: c(5),
            },
            today,
        );
    }
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = ashyq::core::feeds::parse_items::<PcrItem>(items.clone());
        let _ = ashyq::core::feeds::parse_items::<ContactItem>(items);
    }
});
