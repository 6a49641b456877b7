//! Adapters translate between a messenger and the core at the edge, and render texts in
//! the recipient's language. They hold no rules.

pub mod aitu;
pub mod sms;
pub mod telegram;
pub mod terminal;
