//! The health authority's decisions on disputes: open → under review → upheld or rejected
//! (open may also be decided at once). Each step is told to the patient. Buttons in the
//! authority's configured chat, or `ashyq dispute decide`.

use super::{PrescriptionError, reply};
use crate::core::shared::callback::{DisputeDecision, RxButton};
use crate::core::shared::menu::button_with;
use crate::core::{Core, CoreError, Keyboard, Label, Outbound};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::prescriptions as store;
use crate::storage::{ChatRef, Conn};

impl DisputeDecision {
    /// The stored status this decision moves to.
    pub fn status(self) -> &'static str {
        match self {
            DisputeDecision::Review => "review",
            DisputeDecision::Upheld => "upheld",
            DisputeDecision::Rejected => "rejected",
        }
    }

    /// The statuses a dispute may come from.
    fn moves_from(self) -> &'static [&'static str] {
        match self {
            DisputeDecision::Review => &["open"],
            DisputeDecision::Upheld | DisputeDecision::Rejected => &["open", "review"],
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "review" => Some(DisputeDecision::Review),
            "upheld" => Some(DisputeDecision::Upheld),
            "rejected" => Some(DisputeDecision::Rejected),
            _ => None,
        }
    }
}

/// The authority's buttons for a dispute in `status`.
pub fn decision_keyboard(id: i64, status: &str) -> Keyboard {
    let b = |key: &'static str, d: DisputeDecision| {
        button_with(Label::Text(Msg::new(key)), RxButton::Decide(id, d))
    };
    let mut row = Vec::new();
    if status == "open" {
        row.push(b("rx-decide-review", DisputeDecision::Review));
    }
    if status == "open" || status == "review" {
        row.push(b("rx-decide-upheld", DisputeDecision::Upheld));
        row.push(b("rx-decide-rejected", DisputeDecision::Rejected));
    }
    Keyboard::Inline(if row.is_empty() {
        Vec::new()
    } else {
        vec![row]
    })
}

/// Moves a dispute in the caller's transaction: the patient's notice, or `None` when the
/// dispute is not in a status this decision may follow.
async fn decide_in(
    core: &Core,
    conn: &mut Conn,
    id: i64,
    d: DisputeDecision,
) -> Result<Option<Result<(), String>>, CoreError> {
    let Some(x) = store::dispute(conn, id).await? else {
        return Ok(None);
    };
    if !store::move_dispute(conn, id, d.moves_from(), d.status(), core.now_ms()).await? {
        return Ok(Some(Err(x.status)));
    }
    let d_row = store::dispensing(conn, x.dispensing_id).await?;
    let detail = format!("dispute {id}: {}", d.status());
    crate::core::vouchers::ledger::append_v2(
        conn,
        crate::core::vouchers::VoucherKind::Medicine,
        crate::core::vouchers::ledger::Action::Decision,
        &crate::core::vouchers::ledger::EntryV2 {
            voucher_id: d_row.as_ref().map(|r| r.prescription_id),
            redemption_id: Some(x.dispensing_id),
            provider_bin: d_row.as_ref().map(|r| r.pharmacy_bin.as_str()),
            detail: Some(&detail),
            ..Default::default()
        },
        core.now_ms(),
    )
    .await?;
    let to = ChatRef::new(&x.channel, x.chat_id.clone());
    let lang = Lang::from_code(&x.lang).unwrap_or(Lang::FALLBACK);
    let notice = Outbound::to_chat(
        to.clone(),
        lang,
        Msg::new("rx-dispute-status")
            .num("dispute", id)
            .arg("status", d.status()),
    );
    core.enqueue(
        conn,
        &to,
        &notice,
        Some(&format!("rx-dispute:{id}:{}", d.status())),
        None,
    )
    .await?;
    Ok(Some(Ok(())))
}

/// A button pressed in the authority's chat (anyone else's press is refused).
pub(super) async fn decide_from_chat(
    core: &Core,
    tx: &mut crate::storage::Tx,
    chat: &ChatRef,
    lang: Lang,
    id: i64,
    d: DisputeDecision,
) -> Result<Vec<Outbound>, CoreError> {
    if core.prescriptions.authority_chat.as_ref() != Some(chat) {
        return Ok(reply(lang, Msg::new("rx-not-authority")));
    }
    match decide_in(core, tx, id, d).await? {
        None => Ok(reply(lang, Msg::new("hint-stale-button"))),
        Some(Err(status)) => Ok(reply(
            lang,
            Msg::new("rx-dispute-already")
                .num("dispute", id)
                .arg("status", status),
        )),
        Some(Ok(())) => Ok(vec![
            Outbound::reply(
                lang,
                Msg::new("rx-dispute-decided")
                    .num("dispute", id)
                    .arg("status", d.status()),
            )
            .with_keyboard(decision_keyboard(id, d.status())),
        ]),
    }
}

/// `ashyq dispute decide ID --status review|upheld|rejected`.
pub async fn decide(core: &Core, id: i64, status: &str) -> Result<(), PrescriptionError> {
    let d = DisputeDecision::parse(status).ok_or(PrescriptionError::BadStatus)?;
    let mut tx = core.store.begin().await?;
    match decide_in(core, &mut tx, id, d).await? {
        None => return Err(PrescriptionError::NoDispute(id)),
        Some(Err(from)) => {
            return Err(PrescriptionError::BadMove(id, from, d.status().to_string()));
        }
        Some(Ok(())) => {}
    }
    tx.commit().await?;
    core.outbox_ready.notify_one();
    Ok(())
}
