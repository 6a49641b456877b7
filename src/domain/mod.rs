//! Domain types that parse, not validate: once a value exists it is valid.
//!
//! None of these types knows a messenger, a database or a language: errors are
//! plain enums that the conversation layer maps to text keys.

mod iin;
mod lang;
mod phone;

pub use iin::{Bin, BinError, Iin, IinError, Sex};
pub use lang::Lang;
pub use phone::{Phone, PhoneError};
