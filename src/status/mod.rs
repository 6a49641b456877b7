//! Epidemiological colour status: a pure rules engine over a person's records.

pub mod admission;
pub mod engine;
pub mod person;

pub use admission::{VenueCategory, admits};
pub use engine::{
    ALMATY, ALMATY_OFFSET_SECS, CauseKind, Colour, ContactRecord, GREEN_HOURS, PERIOD_DAYS,
    PcrRecord, Status, almaty, evaluate, local_date, local_midnight, next_change, valid_until,
};
pub use person::{iin_status, person_status};
