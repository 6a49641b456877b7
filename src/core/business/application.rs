//! The application dialogue (`/business` → Submit): each step parses its input and re-asks
//! on bad input; nothing is stored until Submit, which inserts the application and queues
//! the review card.

use super::{MAX_ENTRANCES, button, oked, reply, review};
use crate::core::shared::callback::BusinessButton;
use crate::core::shared::routes::{DialogueInput, leave_application};
use crate::core::{Button, Conversation, Core, CoreError, Keyboard, Label, Outbound, State};
use crate::domain::{Bin, BinError, Lang};
use crate::i18n::Msg;
use crate::storage::{ChatRef, Tx, business};
use serde::{Deserialize, Serialize};

/// The step of the application dialogue waiting for input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Bin,
    LegalName,
    Address,
    Location,
    Region,
    Oked,
    Category,
    Entrances,
    MaxStay,
    Confirm,
}

/// The answers so far.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Draft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat_e6: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon_e6: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oked: Option<String>,
    /// The categories the OKED code may apply for (the buttons of the category step).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrances: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stay_ms: Option<i64>,
}

fn button_with(msg: Msg, data: BusinessButton) -> Button {
    crate::core::shared::menu::button_with(Label::Text(msg), data)
}

/// Normalised address for duplicate detection: lower case, letters and digits, single spaces.
pub fn address_key(address: &str) -> String {
    address
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn registered(conv: &Conversation) -> bool {
    conv.person_id.is_some() && matches!(conv.state, State::Menu | State::ConfirmForget)
}

pub(super) fn menu_or_remove(conv: &Conversation) -> Keyboard {
    crate::core::shared::menu::menu_or_remove(conv.state == State::Menu)
}

/// Starts a new application (registered users only: the owner is a known person).
pub(super) fn start_application(
    conv: &mut Conversation,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let menu = match &conv.state {
        State::Business { menu, .. } => *menu,
        _ => registered(conv),
    };
    if !menu {
        return Ok(reply(lang, Msg::new("hint-register-first")));
    }
    conv.state = State::Business {
        at: Step::Bin,
        draft: Draft::default(),
        menu,
    };
    let mut out = reply(lang, Msg::new("biz-intro"));
    out.push(prompt(&conv.state, lang));
    Ok(out)
}

fn cancel_row() -> Vec<Button> {
    vec![button("biz-cancel-button", BusinessButton::Cancel)]
}

/// What the bot says to ask for the current step's input.
pub(crate) fn prompt(state: &State, lang: Lang) -> Outbound {
    match state {
        State::Business {
            at: step, draft, ..
        } => {
            let (msg, mut rows): (Msg, Vec<Vec<Button>>) = match step {
                Step::Bin => (Msg::new("biz-ask-bin"), vec![]),
                Step::LegalName => (Msg::new("biz-ask-name"), vec![]),
                Step::Address => (Msg::new("biz-ask-address"), vec![]),
                Step::Location => (
                    Msg::new("biz-ask-location"),
                    vec![vec![button("biz-skip-button", BusinessButton::Skip)]],
                ),
                Step::Region => (Msg::new("biz-ask-region"), vec![]),
                Step::Oked => (Msg::new("biz-ask-oked"), vec![]),
                Step::Category => {
                    let rows = draft
                        .choices
                        .iter()
                        .map(|key| {
                            vec![button_with(
                                Msg::new("biz-category").arg("category", key.clone()),
                                BusinessButton::Category(key.clone()),
                            )]
                        })
                        .collect();
                    (Msg::new("biz-ask-category"), rows)
                }
                Step::Entrances => (
                    Msg::new("biz-ask-entrances").num("max", MAX_ENTRANCES),
                    vec![],
                ),
                Step::MaxStay => (Msg::new("biz-ask-max-stay"), vec![]),
                Step::Confirm => (
                    summary(draft),
                    vec![vec![
                        button("biz-submit-button", BusinessButton::Submit),
                        button("biz-cancel-button", BusinessButton::Cancel),
                    ]],
                ),
            };
            if *step != Step::Confirm {
                rows.push(cancel_row());
            }
            Outbound::reply(lang, msg).with_keyboard(Keyboard::Inline(rows))
        }
        State::BizRejectReason { .. } => Outbound::reply(lang, Msg::new("biz-reject-ask-reason")),
        _ => Outbound::reply(lang, Msg::new("menu-prompt")),
    }
}

fn location_text(lat: Option<i64>, lon: Option<i64>) -> String {
    match (lat, lon) {
        (Some(lat), Some(lon)) => format!("{:.5}, {:.5}", lat as f64 / 1e6, lon as f64 / 1e6),
        _ => "—".into(),
    }
}

fn summary(d: &Draft) -> Msg {
    Msg::new("biz-summary")
        .arg("bin", d.bin.clone().unwrap_or_default())
        .arg("name", d.legal_name.clone().unwrap_or_default())
        .arg("address", d.address.clone().unwrap_or_default())
        .arg("location", location_text(d.lat_e6, d.lon_e6))
        .arg("region", d.region.clone().unwrap_or_default())
        .arg("oked", d.oked.clone().unwrap_or_default())
        .arg("category", d.category.clone().unwrap_or_default())
        .num("entrances", d.entrances.unwrap_or(1))
        .num("minutes", d.max_stay_ms.unwrap_or(0) / 60_000)
}

/// One step of the application dialogue: validate, store the answer, ask the next question;
/// on bad input a precise hint and the same question again.
pub(super) async fn dialogue(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    input: DialogueInput,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let State::Business {
        at: step,
        mut draft,
        menu,
    } = conv.state.clone()
    else {
        return Ok(Vec::new());
    };
    let again = |conv: &Conversation, msg: Msg| -> Vec<Outbound> {
        vec![Outbound::reply(lang, msg), prompt(&conv.state, lang)]
    };
    if input == DialogueInput::Button(BusinessButton::Cancel) {
        leave_application(conv);
        return Ok(vec![
            Outbound::reply(lang, Msg::new("biz-cancelled")).with_keyboard(menu_or_remove(conv)),
        ]);
    }
    let text = match &input {
        DialogueInput::Text(t) => Some(t.clone()),
        _ => None,
    };
    let next = match (step, &input) {
        (Step::Bin, DialogueInput::Text(_)) => {
            let t = text.unwrap_or_default();
            match Bin::parse(&t) {
                Ok(bin) => {
                    draft.bin = Some(bin.as_string());
                    Step::LegalName
                }
                Err(e) => {
                    let reason = match e {
                        BinError::WrongLength(_) => "length",
                        BinError::NotDigits => "digits",
                        BinError::BadChecksum => "checksum",
                        BinError::ImpossibleMonth => "month",
                    };
                    return Ok(again(
                        conv,
                        Msg::new("biz-bin-invalid").arg("reason", reason),
                    ));
                }
            }
        }
        (Step::LegalName, DialogueInput::Text(_)) => {
            let t = text.unwrap_or_default();
            let n = t.chars().count();
            if !(2..=200).contains(&n) || !t.chars().any(char::is_alphabetic) {
                return Ok(again(conv, Msg::new("biz-name-invalid")));
            }
            draft.legal_name = Some(t);
            Step::Address
        }
        (Step::Address, DialogueInput::Text(_)) => {
            let t = text.unwrap_or_default();
            let n = t.chars().count();
            if !(5..=300).contains(&n) || !t.chars().any(char::is_alphabetic) {
                return Ok(again(conv, Msg::new("biz-address-invalid")));
            }
            let bin = draft.bin.clone().unwrap_or_default();
            if business::live_application(tx, &bin, &address_key(&t))
                .await?
                .is_some()
            {
                leave_application(conv);
                return Ok(vec![
                    Outbound::reply(lang, Msg::new("biz-duplicate"))
                        .with_keyboard(menu_or_remove(conv)),
                ]);
            }
            draft.address = Some(t);
            Step::Location
        }
        (Step::Location, DialogueInput::Location { lat, lon }) => {
            // Kazakhstan lies within these bounds.
            if !(40.0..=56.0).contains(lat) || !(46.0..=88.0).contains(lon) {
                return Ok(again(conv, Msg::new("biz-location-outside")));
            }
            draft.lat_e6 = Some((lat * 1e6).round() as i64);
            draft.lon_e6 = Some((lon * 1e6).round() as i64);
            Step::Region
        }
        (Step::Location, DialogueInput::Button(BusinessButton::Skip)) => Step::Region,
        (Step::Location, _) => return Ok(again(conv, Msg::new("biz-location-hint"))),
        (Step::Region, DialogueInput::Text(_)) => {
            let t = text.unwrap_or_default();
            let n = t.chars().count();
            let ok = (2..=64).contains(&n)
                && t.chars().any(char::is_alphabetic)
                && t.chars()
                    .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '.' | '\''));
            if !ok {
                return Ok(again(conv, Msg::new("biz-region-invalid")));
            }
            draft.region = Some(crate::core::venues::admin::region_key(&t));
            Step::Oked
        }
        (Step::Oked, DialogueInput::Text(_)) => {
            let t = text.unwrap_or_default();
            match core.business.eligible.check(&t) {
                Ok((code, cats)) => {
                    draft.oked = Some(code);
                    draft.choices = cats.iter().map(|c| c.key.to_string()).collect();
                    draft.category = None;
                    Step::Category
                }
                Err(oked::OkedError::Format) => {
                    return Ok(again(conv, Msg::new("biz-oked-format")));
                }
                Err(oked::OkedError::Ineligible(code)) => {
                    return Ok(again(
                        conv,
                        Msg::new("biz-oked-ineligible").arg("code", code),
                    ));
                }
            }
        }
        (Step::Category, DialogueInput::Button(BusinessButton::Category(key))) => {
            let code = draft.oked.clone().unwrap_or_default();
            if !core.business.eligible.allows(&code, key) {
                return Ok(again(conv, Msg::new("hint-stale-button")));
            }
            draft.category = Some(key.clone());
            Step::Entrances
        }
        (Step::Entrances, DialogueInput::Text(_)) => {
            let t = text.unwrap_or_default();
            match t.parse::<i64>() {
                Ok(n) if (1..=MAX_ENTRANCES).contains(&n) => {
                    draft.entrances = Some(n);
                    Step::MaxStay
                }
                _ => {
                    return Ok(again(
                        conv,
                        Msg::new("biz-entrances-invalid").num("max", MAX_ENTRANCES),
                    ));
                }
            }
        }
        (Step::MaxStay, DialogueInput::Text(_)) => {
            let t = text.unwrap_or_default();
            match crate::core::shared::duration::parse_duration_ms(&t) {
                Some(ms) if (600_000..=24 * 3_600_000).contains(&ms) => {
                    draft.max_stay_ms = Some(ms);
                    Step::Confirm
                }
                _ => return Ok(again(conv, Msg::new("biz-max-stay-invalid"))),
            }
        }
        (Step::Confirm, DialogueInput::Button(BusinessButton::Submit)) => {
            return submit(core, tx, conv, chat, &draft, menu, lang).await;
        }
        (_, DialogueInput::Button(_) | DialogueInput::OtherButton) => {
            return Ok(again(conv, Msg::new("hint-stale-button")));
        }
        (Step::Category | Step::Confirm, _) => {
            return Ok(again(conv, Msg::new("biz-use-buttons")));
        }
        _ => return Ok(again(conv, Msg::new("biz-type-answer"))),
    };
    conv.state = State::Business {
        at: next,
        draft,
        menu,
    };
    Ok(vec![prompt(&conv.state, lang)])
}

async fn submit(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    d: &Draft,
    menu: bool,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let done_state = if menu { State::Menu } else { State::Idle };
    let (Some(bin), Some(name), Some(address), Some(region), Some(code), Some(cat)) = (
        &d.bin,
        &d.legal_name,
        &d.address,
        &d.region,
        &d.oked,
        &d.category,
    ) else {
        conv.state = done_state;
        return Ok(reply(lang, Msg::new("hint-stale-button")));
    };
    // The list may have changed since the code was typed.
    let Some(category) = oked::category(cat).filter(|_| core.business.eligible.allows(code, cat))
    else {
        conv.state = done_state;
        return Ok(reply(
            lang,
            Msg::new("biz-oked-ineligible").arg("code", code.clone()),
        ));
    };
    let status = if category.association.is_some() {
        "association"
    } else {
        "pending"
    };
    let id = business::insert_application(
        tx,
        &business::NewApplication {
            chat,
            person_id: conv.person_id,
            lang: lang.code(),
            bin,
            legal_name: name,
            address,
            address_key: &address_key(address),
            lat_e6: d.lat_e6,
            lon_e6: d.lon_e6,
            region,
            oked: code,
            category: cat,
            association: category.association,
            entrances: d.entrances.unwrap_or(1),
            max_stay_ms: d
                .max_stay_ms
                .unwrap_or(crate::core::venues::DEFAULT_MAX_STAY_MS),
            status,
        },
        core.now_ms(),
    )
    .await?;
    conv.state = done_state;
    let keyboard = menu_or_remove(conv);
    let Some(id) = id else {
        return Ok(vec![
            Outbound::reply(lang, Msg::new("biz-duplicate")).with_keyboard(keyboard),
        ]);
    };
    let app = business::application(tx, id).await?.ok_or_else(|| {
        CoreError::internal("application submit", "the inserted application is missing")
    })?;
    let mut out = vec![
        Outbound::reply(
            lang,
            Msg::new("biz-submitted").num("id", id).arg("stage", status),
        )
        .with_keyboard(keyboard),
    ];
    out.extend(review::card_for_reviewers(core, &app));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_without_case_and_punctuation() {
        assert_eq!(
            address_key("Алматы,  пр. Абая 10"),
            address_key("алматы пр Абая, 10")
        );
        assert_ne!(address_key("Abai 10"), address_key("Abai 11"));
    }

    #[test]
    fn draft_state_round_trips() {
        let s = State::Business {
            at: Step::Oked,
            draft: Draft {
                bin: Some("210540012341".into()),
                ..Draft::default()
            },
            menu: true,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), s);
    }
}
