//! The image loader and QR decoder: any bytes as a photo, no panic, within the limits.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ashyq::qr::Limits {
        time_budget: std::time::Duration::from_millis(500),
        ..ashyq::qr::Limits::default()
    };
    let _ = ashyq::qr::decode(data, &limits);
});
