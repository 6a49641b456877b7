//! The parent's `N#M` SMS answer: any text, no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(Ok((number, _accept))) = ashyq::core::wallet::parse_answer(text) {
        assert!(number >= 0, "{number}");
    }
});
