//! Venue tokens, venue short codes, meal QR tokens and meal short codes: any text, no panic;
//! nothing but a signed token verifies.
#![no_main]
use ashyq::core::checkin::token::{self, TokenKeys};
use ashyq::core::wallet::token::{self as meal, MealKeys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let keys = TokenKeys::new(&[7u8; 32], &[1, 2]).expect("keys");
    if let token::Payload::Token(t) = token::payload_of(text) {
        let _ = keys.verify(t);
    }
    let _ = keys.verify(text);
    if let Some(code) = token::parse_short_code(text) {
        assert_eq!(token::parse_short_code(&code), Some(code.clone()));
    }
    let meals = MealKeys::new(&[9u8; 32]);
    let _ = meals.verify(text);
    if let Some((canonical, id)) = meal::parse_short_code(text) {
        assert!(id >= 0);
        assert_eq!(
            meal::parse_short_code(&canonical),
            Some((canonical.clone(), id))
        );
    }
});
