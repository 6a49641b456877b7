//! A conversation as the core sees it: the chat, its language, its step, its person.

use super::State;
use crate::domain::Lang;
use crate::storage::{self, ChatRef, ConversationRow, StoreError};

/// The language a chat talks in (Kazakh when it never chose), for messages the core
/// sends it on its own: notices, staff lines, reminders.
pub(crate) async fn chat_lang(
    conn: &mut storage::Conn,
    chat: &ChatRef,
) -> Result<Lang, StoreError> {
    Ok(storage::conversations::load(conn, chat)
        .await?
        .and_then(|r| r.lang)
        .and_then(|l| Lang::from_code(&l))
        .unwrap_or(Lang::FALLBACK))
}

/// A conversation as the core sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The chat this conversation is in.
    pub chat: ChatRef,
    pub lang: Option<Lang>,
    pub state: State,
    pub person_id: Option<i64>,
    /// The keyed hash of the person's IIN as loaded with the conversation (`None` before
    /// registration completed, and not updated by a registration in this event).
    pub(crate) iin_hash: Option<Vec<u8>>,
    pub(super) is_new: bool,
}

impl Conversation {
    pub(super) fn from_row(
        row: Option<(ConversationRow, Option<Vec<u8>>)>,
        chat: &ChatRef,
    ) -> Result<Self, StoreError> {
        Ok(match row {
            None => Self {
                chat: chat.clone(),
                lang: None,
                state: State::default(),
                person_id: None,
                iin_hash: None,
                is_new: true,
            },
            Some((r, iin_hash)) => Self {
                chat: chat.clone(),
                lang: r.lang.as_deref().and_then(Lang::from_code),
                state: serde_json::from_str(&r.state)?,
                person_id: r.person_id,
                iin_hash: iin_hash.filter(|_| r.person_id.is_some()),
                is_new: false,
            },
        })
    }

    pub(super) fn to_row(&self) -> Result<ConversationRow, StoreError> {
        Ok(ConversationRow {
            lang: self.lang.map(|l| l.code().to_string()),
            state: serde_json::to_string(&self.state)?,
            person_id: self.person_id,
        })
    }
}
