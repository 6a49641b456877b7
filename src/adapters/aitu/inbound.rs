//! An Aitu update → the core's [`Inbound`]: the only place that knows Aitu's update shapes.
//!
//! Pure functions: [`classify`] says what an update is (an event, an image to download
//! first, or nothing for the core), and the caller ([`super::Aitu::handle_update`]) does the
//! download and calls `Core::handle`.

use super::api::{Envelope, FileMedia, Media, MessageUpdate, Peer, Update};
use super::{chat_ref, peer_of};
use crate::core::{Event, MediaKind, Relayed};
use crate::storage::ChatRef;

/// What an update asks of the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Ready as it is.
    Event(Event),
    /// A photo or image file to download (within the check-in limit) into `Event::Image`.
    Image { file_id: String },
}

/// An update the core should see.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub update_id: Option<String>,
    pub chat: ChatRef,
    /// The dialog peer as it arrived (its `type` is echoed back in replies).
    pub dialog: Peer,
    pub kind: Kind,
    /// The message as the support relay would see it: set for a plain user message (not a
    /// command, not a contact), used only when the conversation relays
    /// ([`crate::core::State::relays`]).
    pub relay: Option<Relayed>,
}

/// Why an update was not for the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    /// A type the adapter does not know (logged at debug).
    Unknown(String),
    /// A known type with nothing for the core (`MessageIdAssigned`, membership changes, an
    /// empty message, a form without a phone).
    NotForCore(String),
    /// A known type whose fields did not parse.
    Malformed(String),
}

/// `/name arg` → a command (lower-cased name, any `@bot` suffix removed).
pub fn command_of(text: &str) -> Option<Event> {
    let rest = text.trim_start().strip_prefix('/')?;
    let (head, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let name = head.split('@').next().unwrap_or(head).to_lowercase();
    if name.is_empty() {
        return None;
    }
    Some(Event::Command {
        name,
        arg: arg.trim().to_string(),
    })
}

fn is_image_file(f: &FileMedia) -> bool {
    if f.kind == "Image" {
        return true;
    }
    if f.kind != "Document" {
        return false;
    }
    let label = f.mime_type.as_deref().unwrap_or("").to_ascii_lowercase();
    let by_label = ["jpeg", "jpg", "png", "webp", "image/"]
        .iter()
        .any(|l| label.contains(l));
    let by_name = f.name.as_deref().is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        [".jpg", ".jpeg", ".png", ".webp"]
            .iter()
            .any(|e| n.ends_with(e))
    });
    by_label || by_name
}

fn media_kind(f: &FileMedia) -> MediaKind {
    match f.kind.as_str() {
        "Image" => MediaKind::Photo,
        "Video" | "Gif" => MediaKind::Video,
        // Voice notes arrive as Audio in M4A.
        "Audio"
            if f.mime_type
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("M4A")) =>
        {
            MediaKind::Voice
        }
        "Audio" | "Music" => MediaKind::Audio,
        "Document" => MediaKind::Document,
        _ => MediaKind::Other,
    }
}

/// The kind of a message's first media item, for the relay (`None`: a text message).
fn relay_kind(m: &MessageUpdate) -> Option<MediaKind> {
    m.media.first().map(|item| match item {
        Media::File(f) => media_kind(f),
        _ => MediaKind::Other,
    })
}

fn message(update_id: Option<String>, m: MessageUpdate) -> Result<Incoming, Skip> {
    let chat = chat_ref(&m.dialog);
    let text = m.content.clone().unwrap_or_default();
    let forwarded = m.forward_metadata.as_ref().is_some_and(|f| !f.is_null());
    let sender = m.author.as_ref().map(|a| a.id.as_str());
    let incoming = |kind: Kind, relay: Option<Relayed>| Incoming {
        update_id: update_id.clone(),
        chat: chat.clone(),
        dialog: m.dialog.clone(),
        kind,
        relay,
    };
    // A contact decides by itself; only a registered contact whose user is the sender is
    // the sender's own number.
    for item in &m.media {
        match item {
            Media::RegisteredContact { user_id, phone } => {
                let own = !forwarded && user_id.is_some() && user_id.as_deref() == sender;
                return Ok(incoming(
                    Kind::Event(Event::Contact {
                        phone: phone.clone().unwrap_or_default(),
                        own,
                    }),
                    None,
                ));
            }
            Media::UnregisteredContact { phone } => {
                return Ok(incoming(
                    Kind::Event(Event::Contact {
                        phone: phone.clone().unwrap_or_default(),
                        own: false,
                    }),
                    None,
                ));
            }
            _ => {}
        }
    }
    if !text.trim().is_empty()
        && m.media.is_empty()
        && !forwarded
        && let Some(cmd) = command_of(&text)
    {
        return Ok(incoming(Kind::Event(cmd), None));
    }
    let relay = Relayed {
        // No copy: the operators' chat is on Telegram, which cannot copy an Aitu message, so
        // the support desk describes a picture to the operators and asks the user for words
        // instead of pretending it was passed on.
        source: None,
        text: Some(text.clone()).filter(|t| !t.is_empty()),
        kind: relay_kind(&m),
        forwarded,
        topic: None,
        author: None,
        plain: None,
    };
    if relay.text.is_none() && relay.kind.is_none() {
        return Err(Skip::NotForCore("empty message".into()));
    }
    if forwarded {
        return Ok(incoming(Kind::Event(Event::Forwarded), Some(relay)));
    }
    let kind = match m.media.first() {
        None => Kind::Event(Event::Text(text)),
        Some(Media::File(f)) if is_image_file(f) && !f.file_id.is_empty() => {
            if f.size
                .is_some_and(|s| s > crate::core::checkin::MAX_IMAGE_BYTES as u64)
            {
                Kind::Event(Event::Unsupported(MediaKind::OversizedImage))
            } else {
                Kind::Image {
                    file_id: f.file_id.clone(),
                }
            }
        }
        Some(Media::File(f)) => Kind::Event(Event::Unsupported(media_kind(f))),
        Some(_) => Kind::Event(Event::Unsupported(MediaKind::Other)),
    };
    Ok(incoming(kind, Some(relay)))
}

/// What an update is for the core.
pub fn classify(envelope: Envelope) -> Result<Incoming, Skip> {
    let update_id = envelope.update_id;
    match envelope.update {
        Update::Message(m) => message(update_id, m),
        Update::MessageEdited(m) => Ok(Incoming {
            update_id,
            chat: chat_ref(&m.dialog),
            dialog: m.dialog,
            kind: Kind::Event(Event::Edited),
            relay: None,
        }),
        Update::Button(b) => match b.metadata.filter(|d| !d.is_empty()) {
            Some(data) => Ok(Incoming {
                update_id,
                chat: chat_ref(&b.dialog),
                dialog: b.dialog,
                kind: Kind::Event(Event::Button(data)),
                relay: None,
            }),
            None => Err(Skip::NotForCore("button without metadata".into())),
        },
        Update::Form(f) => {
            let Some(phone) = f.private_phone() else {
                return Err(Skip::NotForCore("form without a phone".into()));
            };
            // The account's number, posted by the client after the user confirmed
            // (`send_private_data`, legacy). Only a `RegisteredContact` of the sender proves
            // a number here; this one is taken as if typed, so a code by SMS proves it
            // (`ChannelProfile::typed_phone_by_code`).
            Ok(Incoming {
                update_id,
                chat: chat_ref(&f.dialog),
                dialog: f.dialog,
                kind: Kind::Event(Event::Text(phone)),
                relay: None,
            })
        }
        Update::Ignored(kind) => Err(Skip::NotForCore(kind)),
        Update::Unknown(kind) => Err(Skip::Unknown(kind)),
        Update::Malformed(why) => Err(Skip::Malformed(why)),
    }
}

/// The dialog peer of a chat of this channel (see [`super::chat_id_of`]).
pub fn dialog_of(chat: &ChatRef) -> Peer {
    peer_of(&chat.chat_id)
}

#[cfg(test)]
mod tests {
    use super::super::api::parse_update;
    use super::*;
    use serde_json::{Value, json};

    const ME: &str = "0d6c3a52-7b1e-4f8a-9c2d-1e2f3a4b5c6d";
    const OTHER: &str = "11111111-7b1e-4f8a-9c2d-1e2f3a4b5c6d";

    fn msg(extra: Value) -> Envelope {
        let mut v = json!({
            "type": "Message", "updateId": "u1", "messageId": "m1",
            "author": {"type": "USER", "id": ME}, "dialog": {"type": "USER", "id": ME},
            "content": "", "media": []
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        parse_update(&v)
    }

    fn event(e: Envelope) -> Event {
        match classify(e).unwrap().kind {
            Kind::Event(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn texts_and_commands() {
        assert_eq!(
            event(msg(json!({"content": "hello"}))),
            Event::Text("hello".into())
        );
        assert_eq!(
            event(msg(json!({"content": "/start abc_1"}))),
            Event::Command {
                name: "start".into(),
                arg: "abc_1".into()
            }
        );
        let inc = classify(msg(json!({"content": "hello"}))).unwrap();
        assert_eq!(inc.chat, ChatRef::new("aitu", ME));
        assert_eq!(inc.update_id.as_deref(), Some("u1"));
        let relay = inc.relay.unwrap();
        assert_eq!(relay.text.as_deref(), Some("hello"));
        assert_eq!(
            relay.source, None,
            "an Aitu message cannot be copied to Telegram"
        );
        assert!(
            classify(msg(json!({"content": "/me"})))
                .unwrap()
                .relay
                .is_none()
        );
        assert_eq!(
            classify(msg(json!({"content": ""}))),
            Err(Skip::NotForCore("empty message".into()))
        );
    }

    #[test]
    fn only_the_senders_registered_contact_is_own() {
        let contact = |user: &str| {
            json!({"media": [{"type": "RegisteredContact",
                "user": {"id": user, "phoneNumber": "+77011234567", "userName": "x"}}]})
        };
        assert_eq!(
            event(msg(contact(ME))),
            Event::Contact {
                phone: "+77011234567".into(),
                own: true
            }
        );
        assert_eq!(
            event(msg(contact(OTHER))),
            Event::Contact {
                phone: "+77011234567".into(),
                own: false
            }
        );
        let unregistered =
            json!({"media": [{"type": "UnregisteredContact", "phoneNumber": "+77017654321"}]});
        assert_eq!(
            event(msg(unregistered)),
            Event::Contact {
                phone: "+77017654321".into(),
                own: false
            }
        );
        // A forwarded contact of the sender is not proof either.
        let mut fwd = contact(ME);
        fwd["forwardMetadata"] = json!({"sender": {"type": "USER", "id": OTHER}});
        assert!(matches!(event(msg(fwd)), Event::Contact { own: false, .. }));
    }

    #[test]
    fn photos_and_image_files_are_downloaded_other_media_are_not() {
        let image =
            json!({"media": [{"type": "Image", "fileId": "f1", "mimeType": "JPEG", "size": 5000}]});
        assert_eq!(
            classify(msg(image)).unwrap().kind,
            Kind::Image {
                file_id: "f1".into()
            }
        );
        let doc = json!({"media": [{"type": "Document", "fileId": "f2", "mimeType": "UNKNOWN", "name": "qr.PNG"}]});
        assert_eq!(
            classify(msg(doc)).unwrap().kind,
            Kind::Image {
                file_id: "f2".into()
            }
        );
        let big = json!({"media": [{"type": "Image", "fileId": "f3", "size": 20_000_000}]});
        assert_eq!(
            event(msg(big)),
            Event::Unsupported(MediaKind::OversizedImage)
        );
        let pdf = json!({"media": [{"type": "Document", "fileId": "f4", "mimeType": "PDF", "name": "menu.pdf"}]});
        assert_eq!(event(msg(pdf)), Event::Unsupported(MediaKind::Document));
        let voice = json!({"media": [{"type": "Audio", "fileId": "f5", "mimeType": "M4A"}]});
        assert_eq!(event(msg(voice)), Event::Unsupported(MediaKind::Voice));
        let odd = json!({"media": [{"type": "Sticker3D", "fileId": "f6"}]});
        assert_eq!(event(msg(odd)), Event::Unsupported(MediaKind::Other));
    }

    #[test]
    fn buttons_forms_edits_and_the_rest() {
        let inline = parse_update(&json!({"type": "InlineCommandSelected", "updateId": "u2",
            "messageId": "m", "dialog": {"type": "USER", "id": ME}, "sender": {"type": "USER", "id": ME},
            "metadata": "consent:yes", "content": "Yes"}));
        assert_eq!(event(inline), Event::Button("consent:yes".into()));
        let quick = parse_update(&json!({"type": "QuickButtonSelected", "updateId": "u3",
            "dialog": {"type": "USER", "id": ME}, "metadata": "menu:status"}));
        assert_eq!(event(quick), Event::Button("menu:status".into()));
        let meta =
            r#"{"private_data":{"type":"phone_number","value":{"phone_number":"+77011234567"}}}"#;
        let form = |sender: &str| {
            parse_update(
                &json!({"type": "FormMessageSent", "updateId": "u4", "formId": "",
                "dialog": {"type": "USER", "id": ME}, "sender": {"type": "USER", "id": sender},
                "additionalMetadata": meta}),
            )
        };
        // Never proof of its own: the number as typed (a code by SMS follows).
        assert_eq!(event(form(ME)), Event::Text("+77011234567".into()));
        assert_eq!(event(form(OTHER)), Event::Text("+77011234567".into()));
        let edited = parse_update(&json!({"type": "MessageEdited", "updateId": "u5",
            "messageId": "m", "dialog": {"type": "USER", "id": ME}, "content": "x"}));
        assert_eq!(event(edited), Event::Edited);
        assert_eq!(
            classify(parse_update(
                &json!({"type": "Hyperdrive", "updateId": "u6"})
            )),
            Err(Skip::Unknown("Hyperdrive".into()))
        );
        assert!(matches!(
            classify(parse_update(
                &json!({"type": "MessageIdAssigned", "updateId": "u7"})
            )),
            Err(Skip::NotForCore(_))
        ));
    }

    #[test]
    fn a_group_dialog_keeps_its_type() {
        let group = "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d";
        let inc = classify(msg(
            json!({"content": "hi", "dialog": {"type": "GROUP", "id": group}}),
        ))
        .unwrap();
        assert_eq!(inc.chat.chat_id, format!("GROUP:{group}"));
        assert_eq!(dialog_of(&inc.chat), inc.dialog);
        assert_eq!(dialog_of(&ChatRef::new("aitu", ME)), Peer::user(ME));
    }
}
