//! What one feature did that others may act on, in the same transaction. A feature returns
//! these; the dispatcher (`core::dispatch`) calls whoever listens, so features never call
//! each other.

/// Something that happened while handling an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// A person completed registration (their IIN's keyed hash is now theirs): the status
    /// watch starts, and a check-in that waited for the registration completes.
    Registered { person_id: i64, iin_hash: Vec<u8> },
    /// Something (a check-in) needs the chat registered first: the registration starts.
    RegistrationNeeded,
    /// A citizen filed a complaint that the support desk must see as a ticket (a disputed
    /// dispensing): `summary` is posted in the ticket's topic. It names no IIN.
    Complaint {
        user: crate::core::ChatRef,
        lang: crate::domain::Lang,
        summary: crate::i18n::Msg,
    },
}
