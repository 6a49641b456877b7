//! The main menu, the language choice and button helpers: what several features show.

use crate::core::{Button, Keyboard, Label, Outbound, ReplyButton};
use crate::domain::Lang;
use crate::i18n::Msg;

/// The main menu's buttons (a reply keyboard): text keys per row.
pub const MENU: &[&[&str]] = &[
    &["menu-status", "menu-checkin"],
    &["menu-me", "menu-lang", "menu-support"],
    &["menu-wallet", "menu-help", "menu-forget"],
];

/// The main menu as a reply keyboard.
pub fn menu_keyboard() -> Keyboard {
    Keyboard::Reply(
        MENU.iter()
            .map(|row| {
                row.iter()
                    .map(|key| ReplyButton {
                        label: Label::Text(Msg::new(key)),
                        request_contact: false,
                    })
                    .collect()
            })
            .collect(),
    )
}

/// "Choose a language" with one button per language.
pub fn language_prompt(lang: Lang) -> Outbound {
    use crate::core::shared::callback::Callback;
    Outbound::reply(lang, Msg::new("choose-language")).with_keyboard(Keyboard::Inline(vec![
        Lang::ALL
            .iter()
            .map(|l| Button {
                label: Label::Literal(l.native_name().to_string()),
                data: Callback::Lang(*l).to_string(),
            })
            .collect(),
    ]))
}

/// A button with a text key and typed data.
pub fn button(
    key: &'static str,
    data: impl Into<crate::core::shared::callback::Callback>,
) -> Button {
    Button {
        label: Label::Text(Msg::new(key)),
        data: data.into().to_string(),
    }
}

/// A button with a text and typed data.
pub fn button_with(
    label: Label,
    data: impl Into<crate::core::shared::callback::Callback>,
) -> Button {
    Button {
        label,
        data: data.into().to_string(),
    }
}

/// One row of inline buttons.
pub fn inline_row(buttons: Vec<Button>) -> Keyboard {
    Keyboard::Inline(vec![buttons])
}

/// A single reply.
pub fn reply(lang: Lang, msg: Msg) -> Vec<Outbound> {
    vec![Outbound::reply(lang, msg)]
}

/// The menu keyboard when the conversation is at the main menu, else none.
pub fn menu_or_remove(at_menu: bool) -> Keyboard {
    if at_menu {
        menu_keyboard()
    } else {
        Keyboard::Remove
    }
}
