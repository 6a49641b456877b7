//! A chat's neutral address: the channel's name and the channel's own id of the chat.
//! Shared by the core (which addresses chats), storage (which keeps them as two columns)
//! and the adapters; it names no messenger and no table.

/// A chat in one channel, as the core addresses it: the channel's name and the channel's
/// own id of the chat (`("telegram", "123456")`, `("terminal", "local")`). The core never
/// decides by the name: it asks the channel's profile (`core::shared::channel`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChatRef {
    pub channel: String,
    pub chat_id: String,
}

impl ChatRef {
    pub fn new(channel: &str, chat_id: impl Into<String>) -> Self {
        Self {
            channel: channel.to_string(),
            chat_id: chat_id.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChatRef;

    #[test]
    fn a_chat_is_its_channel_and_id() {
        let a = ChatRef::new("telegram", "42");
        assert_eq!((a.channel.as_str(), a.chat_id.as_str()), ("telegram", "42"));
        assert_ne!(a, ChatRef::new("aitu", "42"));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<ChatRef>(&json).unwrap(), a);
    }
}
