//! An [`Outbound`] → Aitu commands, rendered in the recipient's language: text with inline
//! commands for `Keyboard::Inline`, the reply keyboard through `uiState` **[legacy]**,
//! images and documents by file id after an upload, Aitu's limits honoured by splitting
//! (4096 characters a message, 8 buttons a row, 8 rows a message, 32-character captions).
//! [`SendResult`] is what one delivery came to, for an outbox worker.

use super::api::{
    ApiError, Caption, InlineCommand, InputMedia, Peer, QuickButton, SendMessage, UiState,
};
use crate::core::{AttachmentKind, Keyboard, Label, Outbound};
use crate::domain::Lang;
use crate::i18n::Texts;
use std::time::Duration;

/// Characters in one message's `content`.
pub const MAX_CONTENT_CHARS: usize = 4096;
/// Characters in a button's caption (20 recommended).
pub const MAX_CAPTION_CHARS: usize = 32;
/// Characters in a button's metadata.
pub const MAX_METADATA_CHARS: usize = 255;
/// Inline buttons in a row, and rows in a message (the validator's 8 × 8).
pub const MAX_PER_ROW: usize = 8;
pub const MAX_ROWS: usize = 8;
/// Quick buttons in a `uiState`.
pub const MAX_QUICK_BUTTONS: usize = 25;

/// What one delivery came to, for the outbox worker's `Deliver` trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendResult {
    /// Aitu accepted every command.
    Delivered,
    /// Try again, after this long when Aitu said so.
    Retry(Option<Duration>),
    /// It will never be delivered (blocked, no such dialog, refused as invalid).
    Gone,
}

/// The result of a failed call: network, 429 and 5xx are retried; a token problem (401)
/// too, later (the message is not at fault); any other 4xx is given up (Aitu's business
/// refusals — blocked bot, unknown dialog, peer type mismatch — and invalid requests).
pub fn result_of(e: &ApiError) -> SendResult {
    match e {
        ApiError::Network(_) => SendResult::Retry(None),
        ApiError::Status {
            status,
            retry_after,
            ..
        } => match status {
            429 => SendResult::Retry(*retry_after),
            401 => SendResult::Retry(Some(Duration::from_secs(60))),
            s if *s >= 500 => SendResult::Retry(*retry_after),
            _ => SendResult::Gone,
        },
        // The server answered 2xx: the command was taken.
        ApiError::Decode(_) => SendResult::Delivered,
        ApiError::TooLarge => SendResult::Gone,
    }
}

fn label(texts: &Texts, lang: Lang, label: &Label) -> String {
    match label {
        Label::Text(msg) => texts.render(lang, msg),
        Label::Literal(s) => s.clone(),
    }
}

/// A caption cut to Aitu's limit (with an ellipsis).
pub fn caption(text: &str) -> String {
    if text.chars().count() <= MAX_CAPTION_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_CAPTION_CHARS - 1).collect();
    out.push('…');
    out
}

/// Splits a text into pieces of at most `max` characters, at a line break when there is
/// one in the second half of a piece, else at a space, else anywhere.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.chars().count() > max {
        let cut_byte = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..cut_byte];
        let half = window.char_indices().nth(max / 2).map_or(0, |(i, _)| i);
        let at = window[half..]
            .rfind('\n')
            .or_else(|| window[half..].rfind(' '))
            .map(|i| half + i + 1)
            .unwrap_or(cut_byte);
        out.push(rest[..at].trim_end().to_string());
        rest = &rest[at..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// Inline buttons as Aitu's grids: long rows wrapped at 8, then at most 8 rows a grid.
pub fn grids(texts: &Texts, lang: Lang, keyboard: &Keyboard) -> Vec<Vec<Vec<InlineCommand>>> {
    let Keyboard::Inline(rows) = keyboard else {
        return Vec::new();
    };
    let mut wrapped: Vec<Vec<InlineCommand>> = Vec::new();
    for row in rows {
        let buttons: Vec<InlineCommand> = row
            .iter()
            .filter(|b| {
                let fits = b.data.chars().count() <= MAX_METADATA_CHARS;
                if !fits {
                    tracing::warn!(
                        len = b.data.len(),
                        "button data over Aitu's 255: button left out"
                    );
                }
                fits
            })
            .map(|b| InlineCommand {
                caption: caption(&label(texts, lang, &b.label)),
                metadata: b.data.clone(),
            })
            .collect();
        for chunk in buttons.chunks(MAX_PER_ROW) {
            wrapped.push(chunk.to_vec());
        }
    }
    wrapped.chunks(MAX_ROWS).map(<[_]>::to_vec).collect()
}

fn ui(can_share_contact: bool, keyboard: Vec<Caption>, quick: Vec<QuickButton>) -> UiState {
    UiState {
        can_write_text: true,
        show_camera_button: true,
        show_gallery_button: true,
        show_record_audio_button: false,
        show_share_contact_button: can_share_contact,
        show_speech_to_text_button: false,
        reply_keyboard: keyboard,
        quick_button_commands: quick,
    }
}

/// The input area for a reply keyboard: its captions as `replyKeyboard`, a contact button as
/// the share-contact button plus a `send_private_data` quick button (both legacy; when
/// neither works the SMS code is the fallback, `super::otp`). `Remove` is an empty keyboard.
pub fn ui_state(texts: &Texts, lang: Lang, keyboard: &Keyboard) -> Option<UiState> {
    match keyboard {
        Keyboard::Keep | Keyboard::Inline(_) => None,
        Keyboard::Remove => Some(ui(true, Vec::new(), Vec::new())),
        Keyboard::Reply(rows) => {
            let mut captions = Vec::new();
            let mut quick = Vec::new();
            let mut contact = false;
            for b in rows.iter().flatten() {
                let text = caption(&label(texts, lang, &b.label));
                if b.request_contact {
                    contact = true;
                    quick.push(QuickButton {
                        caption: text,
                        action: "QUICK_FORM_ACTION".into(),
                        metadata: serde_json::json!({
                            "action": "send_private_data",
                            "data_template": "phone ashyq",
                        })
                        .to_string(),
                    });
                } else {
                    captions.push(Caption { caption: text });
                }
            }
            quick.truncate(MAX_QUICK_BUTTONS);
            Some(ui(contact, captions, quick))
        }
    }
}

/// The upload an outbound needs first: `(file name, media type)`.
pub fn media_type(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Photo => "IMAGE",
        AttachmentKind::Document => "DOCUMENT",
    }
}

/// The messages one outbound becomes, in order. `file` is the uploaded attachment (the
/// caller uploads `message.attachment` first). Buttons never ride on a media message (Aitu
/// hides them there): a file with inline buttons, or with a text too long for one message,
/// goes alone and the text follows.
pub fn render(
    texts: &Texts,
    to: &Peer,
    message: &Outbound,
    file: Option<InputMedia>,
) -> Vec<SendMessage> {
    let lang = message.lang;
    let text = texts.render(lang, &message.text);
    let mut grids = grids(texts, lang, &message.keyboard);
    let ui = ui_state(texts, lang, &message.keyboard);
    let base = SendMessage {
        recipient: Some(to.clone()),
        ..SendMessage::default()
    };
    let mut out = Vec::new();
    let chunks = split_text(&text, MAX_CONTENT_CHARS);
    if let Some(file) = file {
        let alone = !grids.is_empty() || chunks.len() > 1;
        out.push(SendMessage {
            content: if alone { String::new() } else { text.clone() },
            media_list: vec![file],
            ui_state: if alone { None } else { ui.clone() },
            ..base.clone()
        });
        if !alone {
            return out;
        }
    }
    let last = chunks.len() - 1;
    let first_grid = if grids.is_empty() {
        Vec::new()
    } else {
        grids.remove(0)
    };
    for (i, chunk) in chunks.into_iter().enumerate() {
        let is_last = i == last;
        out.push(SendMessage {
            content: chunk,
            inline_command_rows: if is_last {
                first_grid.clone()
            } else {
                Vec::new()
            },
            ui_state: if is_last { ui.clone() } else { None },
            ..base.clone()
        });
    }
    for grid in grids {
        out.push(SendMessage {
            content: texts.get(lang, "aitu-more-buttons"),
            inline_command_rows: grid,
            ..base.clone()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Button, ReplyButton};
    use crate::i18n::Msg;

    fn texts() -> Texts {
        Texts::load()
    }

    fn buttons(n: usize) -> Vec<Button> {
        (0..n)
            .map(|i| Button {
                label: Label::Literal(format!("b{i}")),
                data: format!("d:{i}"),
            })
            .collect()
    }

    #[test]
    fn long_texts_are_split_at_line_breaks_within_the_limit() {
        let line = "x".repeat(99);
        let text = vec![line.as_str(); 100].join("\n"); // 9999 characters
        let parts = split_text(&text, MAX_CONTENT_CHARS);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_CONTENT_CHARS));
        assert_eq!(
            parts.concat().len(),
            text.len() - 2,
            "only the two cut line breaks go"
        );
        // No break at all: a hard cut; multi-byte characters are never split.
        let cyr = "ы".repeat(5000);
        let parts = split_text(&cyr, MAX_CONTENT_CHARS);
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            [4096, 904]
        );
        assert_eq!(split_text("", 10), [""]);
    }

    #[test]
    fn captions_are_cut_to_32_characters() {
        assert_eq!(caption("short"), "short");
        let long = "Ә".repeat(40);
        let cut = caption(&long);
        assert_eq!(cut.chars().count(), 32);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn rows_wider_than_8_wrap_and_more_than_8_rows_go_to_another_message() {
        let t = texts();
        let to = Peer::user("u");
        // One row of 20 buttons → rows of 8, 8, 4; then 7 more rows of one → 10 rows.
        let mut rows = vec![buttons(20)];
        rows.extend((0..7).map(|_| buttons(1)));
        let out = Outbound::reply(Lang::En, Msg::new("help")).with_keyboard(Keyboard::Inline(rows));
        let msgs = render(&t, &to, &out, None);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].inline_command_rows.len(), 8);
        assert_eq!(msgs[0].inline_command_rows[0].len(), 8);
        assert_eq!(msgs[0].inline_command_rows[2].len(), 4);
        assert_eq!(msgs[1].inline_command_rows.len(), 2);
        assert_eq!(msgs[1].content, t.get(Lang::En, "aitu-more-buttons"));
        let all: usize = msgs
            .iter()
            .flat_map(|m| &m.inline_command_rows)
            .map(Vec::len)
            .sum();
        assert_eq!(all, 27, "no button lost");
        assert!(msgs.iter().all(|m| m.recipient.as_ref() == Some(&to)));
    }

    #[test]
    fn a_reply_keyboard_becomes_ui_state_with_a_contact_button() {
        let t = texts();
        let kb = Keyboard::Reply(vec![
            vec![ReplyButton {
                label: Label::Text(Msg::new("phone-share-button")),
                request_contact: true,
            }],
            vec![ReplyButton {
                label: Label::Literal("Menu".into()),
                request_contact: false,
            }],
        ]);
        let ui = ui_state(&t, Lang::Ru, &kb).unwrap();
        assert!(ui.show_share_contact_button);
        assert_eq!(
            ui.reply_keyboard,
            [Caption {
                caption: "Menu".into()
            }]
        );
        assert_eq!(ui.quick_button_commands.len(), 1);
        assert_eq!(ui.quick_button_commands[0].action, "QUICK_FORM_ACTION");
        assert!(
            ui.quick_button_commands[0]
                .metadata
                .contains("send_private_data")
        );
        let removed = ui_state(&t, Lang::Ru, &Keyboard::Remove).unwrap();
        assert!(removed.reply_keyboard.is_empty() && removed.quick_button_commands.is_empty());
        assert_eq!(ui_state(&t, Lang::Ru, &Keyboard::Keep), None);
    }

    #[test]
    fn a_file_with_buttons_goes_alone_and_the_text_carries_the_buttons() {
        let t = texts();
        let to = Peer::user("u");
        let file = InputMedia {
            file_id: "f".into(),
            name: "qr.png".into(),
            media_type: "IMAGE".into(),
        };
        let plain = Outbound::reply(Lang::Kk, Msg::new("help"));
        let msgs = render(&t, &to, &plain, Some(file.clone()));
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].media_list, std::slice::from_ref(&file));
        assert_eq!(msgs[0].content, t.render(Lang::Kk, &Msg::new("help")));

        let with_buttons = plain.with_keyboard(Keyboard::Inline(vec![buttons(2)]));
        let msgs = render(&t, &to, &with_buttons, Some(file));
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].content.is_empty() && msgs[0].inline_command_rows.is_empty());
        assert!(msgs[1].media_list.is_empty());
        assert_eq!(msgs[1].inline_command_rows.len(), 1);
    }

    #[test]
    fn failures_are_retried_or_given_up() {
        let status = |status, retry_after| ApiError::Status {
            status,
            message: String::new(),
            retry_after,
        };
        assert_eq!(
            result_of(&ApiError::Network("x".into())),
            SendResult::Retry(None)
        );
        assert_eq!(
            result_of(&status(429, Some(Duration::from_secs(3)))),
            SendResult::Retry(Some(Duration::from_secs(3)))
        );
        assert_eq!(result_of(&status(504, None)), SendResult::Retry(None));
        assert_eq!(result_of(&status(400, None)), SendResult::Gone);
        assert_eq!(result_of(&status(404, None)), SendResult::Gone);
        assert!(matches!(
            result_of(&status(401, None)),
            SendResult::Retry(Some(_))
        ));
    }
}
