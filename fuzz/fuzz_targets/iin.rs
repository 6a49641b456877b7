//! IIN/BIN parsing, the free-text masking built on it, typed durations and codes: any text,
//! no panic; what parses is canonical and masks away.
#![no_main]
use ashyq::domain::{Bin, Iin, fold_typed_code, mask_personal, parse_duration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(iin) = Iin::parse(text) {
        let canonical = iin.expose();
        assert_eq!(canonical.len(), 12);
        assert_eq!(Iin::parse(&canonical).as_ref(), Ok(&iin));
        let masked = mask_personal(&canonical);
        assert!(!masked.contains(&canonical), "{masked}");
    }
    if let Ok(bin) = Bin::parse(text) {
        let _ = format!("{bin:?}");
    }
    let _ = mask_personal(text);
    let _ = fold_typed_code(text);
    if let Ok(d) = parse_duration(text, chrono::Duration::days(366)) {
        assert!(d > chrono::Duration::zero() && d <= chrono::Duration::days(366));
    }
});
