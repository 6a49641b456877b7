//! Domain types that parse, not validate: once a value exists it is valid.
//!
//! None of these types knows a messenger, a database or a language: errors are
//! plain enums that the conversation layer maps to text keys.

mod chat;
mod code;
mod duration;
mod iin;
mod lang;
mod mask;
mod phone;
mod prescription;

pub use chat::ChatRef;
pub use code::fold_typed_code;
pub use duration::{DurationError, parse_duration};
pub use iin::{Bin, BinError, Iin, IinError, Sex};
pub use lang::Lang;
pub use mask::{IIN_MASK, PHONE_MASK, mask_personal};
pub use phone::{Phone, PhoneError};
pub use prescription::{ItemError, MAX_NAME_CHARS, MAX_QUANTITY, RxItem, RxKind, Unit};
