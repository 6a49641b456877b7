//! Club vouchers (issue 17 item 5): the second kind on the voucher engine, proving it is
//! generic. A list (`ashyq import clubs FILE.csv`: pupil, club BIN, sessions a month,
//! parent's IIN and phone) gives a child N sessions a month at a club (a provider of kind
//! `club`). The parent accepts (a button in the offer or in `/wallet`), shows the child's
//! QR (the engine's short-lived code, 15 minutes), the club's operator scans it or types its
//! code, and the parent is told each session with what is left. Sessions are counted per
//! local month: unused ones do not carry over. Every change is a version-2 ledger entry of
//! kind `club`; the club's monthly act counts sessions from the ledger.

use super::*;
use crate::core::feeds::Rejection;
use crate::core::vouchers::ledger::{self as vledger, Action, EntryV2};
use crate::core::vouchers::qr::{self as vqr, QrKeys, Refusal, VoucherToken};
use crate::core::vouchers::{ProviderKind, VoucherKind};
use crate::domain::{Bin, Phone};
use crate::storage::clubs::{self as clubs, ClubVoucherRow, ClubWrite, NewClubVoucher};
use std::collections::HashMap;

/// The CSV header of a club list, in this order.
pub const CLUB_COLUMNS: [&str; 5] = [
    "pupil_iin",
    "club_bin",
    "sessions_per_month",
    "parent_iin",
    "parent_phone",
];

/// What a club list import did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ClubImportReport {
    pub accepted: u64,
    pub duplicates: u64,
    /// Offers queued: to a registered parent's chat, else by SMS to the list's phone.
    pub offered: u64,
    pub rejected: Vec<Rejection>,
}

/// One row of a club list, as text.
#[derive(Debug, Clone, Default)]
pub struct ClubItem {
    pub pupil_iin: String,
    pub club_bin: String,
    pub sessions_per_month: String,
    pub parent_iin: String,
    pub parent_phone: String,
}

/// Checks one row and prepares what is stored (hashes and sealed values only).
pub fn validate_club(
    vault: &crate::crypto::Vault,
    item: &ClubItem,
    today: NaiveDate,
) -> Result<NewClubVoucher, String> {
    let pupil = Iin::parse(&item.pupil_iin).map_err(|e| format!("pupil_iin: {e}"))?;
    if pupil.birth_date() > today {
        return Err("pupil_iin: the birth date is in the future".into());
    }
    let club = Bin::parse(&item.club_bin).map_err(|e| format!("club_bin: {e}"))?;
    let sessions: i64 = item
        .sessions_per_month
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=31).contains(n))
        .ok_or_else(|| {
            format!(
                "sessions_per_month must be 1..31, not {:?}",
                item.sessions_per_month.trim()
            )
        })?;
    let parent = Iin::parse(&item.parent_iin).map_err(|e| format!("parent_iin: {e}"))?;
    if parent.expose() == pupil.expose() {
        return Err("parent_iin is the pupil's own IIN".into());
    }
    let phone = Phone::parse(&item.parent_phone).map_err(|e| format!("parent_phone: {e}"))?;
    Ok(NewClubVoucher {
        club_bin: club.as_string(),
        pupil_hash: vault.lookup_hash(Field::Iin, &pupil.expose()),
        pupil_enc: vault.seal(Field::Iin, &pupil.expose()),
        parent_iin_hash: vault.lookup_hash(Field::Iin, &parent.expose()),
        parent_iin_enc: vault.seal(Field::Iin, &parent.expose()),
        parent_phone_hash: vault.lookup_hash(Field::Phone, phone.expose()),
        parent_phone_enc: vault.seal(Field::Phone, phone.expose()),
        sessions_per_month: sessions,
    })
}

fn read_club_csv<R: std::io::Read>(input: R) -> Result<Vec<(usize, ClubItem)>, WalletError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| WalletError::Import(e.to_string()))?
        .clone();
    let names: Vec<&str> = header.iter().collect();
    if names != CLUB_COLUMNS {
        return Err(WalletError::Import(format!(
            "the header must be `{}` (found `{}`)",
            CLUB_COLUMNS.join(","),
            names.join(",")
        )));
    }
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| WalletError::Import(e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let cell = |i: usize| record.get(i).unwrap_or_default().to_string();
        items.push((
            line,
            ClubItem {
                pupil_iin: cell(0),
                club_bin: cell(1),
                sessions_per_month: cell(2),
                parent_iin: cell(3),
                parent_phone: cell(4),
            },
        ));
    }
    Ok(items)
}

/// Imports a club list (CSV). Rejections carry the line number. A row is written on its own
/// (a bad one is reported, the others are written); the same child at the same club twice
/// in one list is refused the second time; a re-run is idempotent, a changed row for a child
/// already listed at the club is refused. A registered parent gets the offer at once.
pub async fn import_clubs<R: std::io::Read + Send + 'static>(
    core: &Core,
    input: R,
) -> Result<ClubImportReport, WalletError> {
    let items = tokio::task::spawn_blocking(move || read_club_csv(input))
        .await
        .map_err(|e| WalletError::Import(e.to_string()))??;
    Ok(import_club_items(core, items, Vec::new(), "csv").await?)
}

/// Imports club list items posted over HTTP (`POST /api/v1/clubs`, scope `clubs`; `index`
/// = position in `items`), through the same validation and write path as the CSV.
pub async fn import_club_json(
    core: &Core,
    items: Vec<serde_json::Value>,
    api_key: i64,
) -> Result<ClubImportReport, CoreError> {
    let text = |v: &serde_json::Value, name: &str| match v.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let mut rejected = Vec::new();
    let mut parsed = Vec::new();
    for (index, v) in items.into_iter().enumerate() {
        match v.as_object().map(|o| {
            o.keys()
                .find(|k| !CLUB_COLUMNS.contains(&k.as_str()))
                .cloned()
        }) {
            None => rejected.push(Rejection {
                index,
                external_id: None,
                reason: "an item must be a JSON object".into(),
            }),
            Some(Some(k)) => rejected.push(Rejection {
                index,
                external_id: None,
                reason: format!("unknown field {k:?}"),
            }),
            Some(None) => parsed.push((
                index,
                ClubItem {
                    pupil_iin: text(&v, "pupil_iin"),
                    club_bin: text(&v, "club_bin"),
                    sessions_per_month: text(&v, "sessions_per_month"),
                    parent_iin: text(&v, "parent_iin"),
                    parent_phone: text(&v, "parent_phone"),
                },
            )),
        }
    }
    import_club_items(core, parsed, rejected, &format!("api:{api_key}")).await
}

/// The one validation and write path of club lists.
async fn import_club_items(
    core: &Core,
    items: Vec<(usize, ClubItem)>,
    rejected: Vec<Rejection>,
    source: &str,
) -> Result<ClubImportReport, CoreError> {
    let vault = core.vault.clone();
    let today = today(core);
    let (good, rejected) = tokio::task::spawn_blocking(move || {
        let mut seen: HashMap<(String, Vec<u8>), usize> = HashMap::new();
        let mut good = Vec::new();
        let mut rejected = rejected;
        for (index, item) in items {
            match validate_club(&vault, &item, today) {
                Ok(v) => {
                    let key = (v.club_bin.clone(), v.pupil_hash.clone());
                    if let Some(first) = seen.get(&key) {
                        rejected.push(Rejection {
                            index,
                            external_id: None,
                            reason: format!(
                                "duplicate: the same pupil_iin and club_bin as at {first}"
                            ),
                        });
                    } else {
                        seen.insert(key, index);
                        good.push((index, v));
                    }
                }
                Err(reason) => rejected.push(Rejection {
                    index,
                    external_id: None,
                    reason,
                }),
            }
        }
        (good, rejected)
    })
    .await
    .map_err(|e| CoreError::internal("club list validation", e))?;
    let mut report = ClubImportReport {
        rejected,
        ..Default::default()
    };
    for chunk in good.chunks(500) {
        let now = core.now_ms();
        let mut tx = core.store.begin().await?;
        for (index, v) in chunk {
            let provider =
                crate::storage::vouchers::ensure_provider(&mut tx, "club", &v.club_bin, now)
                    .await?;
            match clubs::insert_voucher(&mut tx, provider, v, source, now).await? {
                ClubWrite::Inserted(id) => {
                    report.accepted += 1;
                    vledger::append_v2(
                        &mut tx,
                        VoucherKind::Club,
                        Action::Offer,
                        &EntryV2 {
                            voucher_id: Some(id),
                            provider_bin: Some(&v.club_bin),
                            quantity: Some(v.sessions_per_month),
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
                    if offer_club(core, &mut tx, id, &v.parent_phone_enc).await? {
                        report.offered += 1;
                    }
                }
                ClubWrite::Duplicate => report.duplicates += 1,
                ClubWrite::Conflict => report.rejected.push(Rejection {
                    index: *index,
                    external_id: None,
                    reason: "this pupil is already listed at the club with other data (parent or sessions); nothing changed".into(),
                }),
            }
        }
        tx.commit().await?;
    }
    core.outbox_ready.notify_waiters();
    report.rejected.sort_by_key(|r| r.index);
    Ok(report)
}

/// Queues the offer to the parent's registered chat (by the list's phone) with its buttons,
/// or, when the parent has no chat, by SMS to the list's phone with a number in the
/// recipient's one numbering of offers (meal offers' too), answered `N#1` / `N#2`
/// (`answer_by_number`). `false` when nothing was queued.
async fn offer_club(
    core: &Core,
    tx: &mut Tx,
    id: i64,
    phone_enc: &[u8],
) -> Result<bool, CoreError> {
    let Some(v) = clubs::voucher(tx, id).await? else {
        return Ok(false);
    };
    let dedupe = format!("club-offer:{id}");
    if let Some((to, lang)) = store::chat_of_phone(tx, &v.parent_phone_hash).await? {
        let lang = lang
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or(Lang::FALLBACK);
        let msg = Outbound::to_chat(to.clone(), lang, club_voucher_msg(core, &v, None)?)
            .with_keyboard(Keyboard::Inline(vec![answer_buttons(v.id)]));
        return core.enqueue(tx, &to, &msg, Some(&dedupe), None).await;
    }
    let to = ChatRef::new(
        &core.channels.phone_channel,
        hex::encode(&v.parent_phone_hash),
    );
    store::put_sms_number(tx, &to.chat_id, phone_enc, core.now_ms()).await?;
    let Some(number) = clubs::number_offer(tx, v.id, &to).await? else {
        return Ok(false);
    };
    let lang = crate::core::chat_lang(tx, &to).await?;
    let msg = Outbound::to_chat(
        to.clone(),
        lang,
        Msg::new("club-offer-sms")
            .num("number", number)
            .arg("child", child(core, &v.pupil_enc)?)
            .arg("club", v.club_name.clone())
            .num("sessions", v.sessions_per_month),
    );
    core.enqueue(tx, &to, &msg, Some(&dedupe), None).await
}

/// An `N#1` / `N#2` answer that is no meal offer's: the club offer numbered `N` for this
/// chat, if any. The offer went to this number only, so the sender is the list's parent.
/// `None` when this chat has no club offer `N`.
pub(super) async fn answer_by_number(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    lang: Lang,
    number: i64,
    accept: bool,
) -> Result<Option<Vec<Outbound>>, CoreError> {
    let Some(id) = clubs::offer_by_number(tx, chat, number).await? else {
        return Ok(None);
    };
    let v = clubs::voucher(tx, id)
        .await?
        .ok_or_else(|| CoreError::internal("club answer", "the numbered offer is missing"))?;
    let now = core.now_ms();
    if !clubs::answer(tx, v.id, accept, chat, now).await? {
        audit(
            core,
            tx,
            "club_answer",
            "already_answered",
            chat,
            (None, Some(v.id), None),
        )
        .await?;
        let answer = if v.answer.as_deref() == Some("yes") {
            "accepted"
        } else {
            "declined"
        };
        return Ok(Some(reply(
            lang,
            Msg::new("wallet-offer-answered")
                .num("number", number)
                .arg("answer", answer),
        )));
    }
    vledger::append_v2(
        tx,
        VoucherKind::Club,
        if accept {
            Action::Consent
        } else {
            Action::Refusal
        },
        &EntryV2 {
            voucher_id: Some(v.id),
            provider_bin: Some(&v.club_bin),
            ..Default::default()
        },
        now,
    )
    .await?;
    let key = if accept {
        "club-accepted-sms"
    } else {
        "club-declined-sms"
    };
    Ok(Some(reply(lang, Msg::new(key).num("number", number))))
}

fn answer_buttons(id: i64) -> Vec<Button> {
    vec![
        button(
            Label::Text(Msg::new("club-accept-button")),
            WalletButton::ClubAnswer {
                voucher: id,
                accept: true,
            },
        ),
        button(
            Label::Text(Msg::new("club-decline-button")),
            WalletButton::ClubAnswer {
                voucher: id,
                accept: false,
            },
        ),
    ]
}

fn month_of(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// How a club voucher reads to the parent: status and, once accepted, what is left.
fn club_voucher_msg(core: &Core, v: &ClubVoucherRow, left: Option<i64>) -> Result<Msg, CoreError> {
    let status = match v.answer.as_deref() {
        None => "offered",
        Some("yes") => "active",
        Some(_) => "declined",
    };
    Ok(Msg::new("club-voucher")
        .arg("child", child(core, &v.pupil_enc)?)
        .arg("club", v.club_name.clone())
        .num("sessions", v.sessions_per_month)
        .num("left", left.unwrap_or(v.sessions_per_month))
        .arg("status", status))
}

/// The parent's club vouchers in `/wallet`, with their buttons.
pub(super) async fn club_list(
    core: &Core,
    tx: &mut Tx,
    phone: &[u8],
    iin: &[u8],
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let month = month_of(today(core));
    let day = day_str(today(core));
    let mut out = Vec::new();
    for v in clubs::vouchers_of_parent(tx, phone, iin).await? {
        let (used, _) = clubs::sessions_in(tx, v.id, &month, &day).await?;
        let left = (v.sessions_per_month - used).max(0);
        let o = Outbound::reply(lang, club_voucher_msg(core, &v, Some(left))?);
        out.push(match v.answer.as_deref() {
            None => o.with_keyboard(Keyboard::Inline(vec![answer_buttons(v.id)])),
            Some("yes") => o.with_keyboard(Keyboard::Inline(vec![vec![button(
                Label::Text(Msg::new("club-qr-button")),
                WalletButton::ClubQr(v.id),
            )]])),
            Some(_) => o,
        });
    }
    Ok(out)
}

/// The parent's club voucher `id`, or `None` when this chat's person is not its parent.
async fn parents_club_voucher(
    tx: &mut Tx,
    conv: &Conversation,
    id: i64,
) -> Result<Option<ClubVoucherRow>, CoreError> {
    let Some((phone, iin)) = parent_of(tx, conv).await? else {
        return Ok(None);
    };
    Ok(clubs::vouchers_of_parent(tx, &phone, &iin)
        .await?
        .into_iter()
        .find(|v| v.id == id))
}

/// Accept or decline (`wl:cl:ID:1/0`).
pub(super) async fn club_answer(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
    id: i64,
    accept: bool,
) -> Result<Vec<Outbound>, CoreError> {
    let now = core.now_ms();
    let Some(v) = parents_club_voucher(tx, conv, id).await? else {
        audit(
            core,
            tx,
            "club_answer",
            "not_parent",
            chat,
            (None, Some(id), None),
        )
        .await?;
        return Ok(reply(lang, Msg::new("wallet-voucher-unavailable")));
    };
    if !clubs::answer(tx, v.id, accept, chat, now).await? {
        return Ok(reply(lang, Msg::new("club-already-answered")));
    }
    vledger::append_v2(
        tx,
        VoucherKind::Club,
        if accept {
            Action::Consent
        } else {
            Action::Refusal
        },
        &EntryV2 {
            voucher_id: Some(v.id),
            provider_bin: Some(&v.club_bin),
            ..Default::default()
        },
        now,
    )
    .await?;
    let key = if accept {
        "club-accepted"
    } else {
        "club-declined"
    };
    Ok(reply(
        lang,
        Msg::new(key)
            .arg("child", child(core, &v.pupil_enc)?)
            .arg("club", v.club_name)
            .num("sessions", v.sessions_per_month),
    ))
}

/// The child's club QR (`wl:cq:ID`): the engine's code, good for the kind's minutes.
pub(super) async fn club_qr(
    core: &Core,
    tx: &mut Tx,
    conv: &Conversation,
    chat: &ChatRef,
    lang: Lang,
    id: i64,
) -> Result<Vec<Outbound>, CoreError> {
    let Some(v) = parents_club_voucher(tx, conv, id)
        .await?
        .filter(|v| v.answer.as_deref() == Some("yes"))
    else {
        audit(
            core,
            tx,
            "club_qr",
            "unavailable",
            chat,
            (None, Some(id), None),
        )
        .await?;
        return Ok(reply(lang, Msg::new("wallet-voucher-unavailable")));
    };
    let keys = QrKeys::new(core.vault.signing_key());
    let t = VoucherToken::new(VoucherKind::Club, v.id, 1, core.now_ms());
    let png = qr_png(keys.sign(&t)).await?;
    Ok(vec![
        Outbound::reply(
            lang,
            Msg::new("club-qr")
                .arg("child", child(core, &v.pupil_enc)?)
                .arg("club", v.club_name.clone())
                .arg("time", local_time(t.expires_at_ms()))
                .arg("code", keys.short_code(&t)),
        )
        .with_attachment(AttachmentKind::Photo, "club-qr.png", png),
    ])
}

/// What a club's attendance scan came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attendance {
    Marked {
        child: String,
        n: i64,
        sessions: i64,
    },
    /// Not a club's operator.
    NotOperator,
    /// The code was refused by the engine (another kind, expired, invalid).
    Code(Refusal),
    /// The parent has not accepted (or declined).
    NotAccepted,
    AnotherClub {
        club: String,
    },
    AlreadyToday {
        at_ms: i64,
    },
    NoneLeft {
        sessions: i64,
    },
}

impl Attendance {
    pub fn outcome(&self) -> &'static str {
        match self {
            Attendance::Marked { .. } => "marked",
            Attendance::NotOperator => "not_operator",
            Attendance::Code(r) => r.outcome(),
            Attendance::NotAccepted => "not_accepted",
            Attendance::AnotherClub { .. } => "another_club",
            Attendance::AlreadyToday { .. } => "already_today",
            Attendance::NoneLeft { .. } => "none_left",
        }
    }

    /// The club operator's answer.
    pub fn msg(&self) -> Msg {
        match self {
            Attendance::Marked { child, n, sessions } => Msg::new("club-session-marked")
                .arg("child", child.clone())
                .num("number", *n)
                .num("sessions", *sessions)
                .num("left", sessions - n),
            Attendance::NotOperator => Msg::new("club-not-operator"),
            Attendance::Code(r) => r.msg(),
            Attendance::NotAccepted => Msg::new("club-not-accepted"),
            Attendance::AnotherClub { club } => {
                Msg::new("club-another-club").arg("club", club.clone())
            }
            Attendance::AlreadyToday { at_ms } => {
                Msg::new("club-already-today").arg("time", local_time(*at_ms))
            }
            Attendance::NoneLeft { sessions } => {
                Msg::new("club-none-left").num("sessions", *sessions)
            }
        }
    }
}

/// Marks one session for a club operator's chat from a presented code, in the caller's
/// transaction: operator → the engine's code check (kind, age, signature) → accepted → this
/// club → the month's count within the voucher (the UNIQUE constraints decide between
/// simultaneous scans) → ledger entry → the parent's notice. A refusal writes only its
/// audit line.
pub async fn club_attend(
    core: &Core,
    tx: &mut Tx,
    operator: &ChatRef,
    code: &str,
) -> Result<Attendance, CoreError> {
    let now = core.now_ms();
    let today = today(core);
    let result = 'decide: {
        let mine =
            crate::core::vouchers::providers::of_operator(tx, ProviderKind::Club, operator).await?;
        if mine.is_empty() {
            break 'decide (Attendance::NotOperator, None);
        }
        let keys = QrKeys::new(core.vault.signing_key());
        let t = match keys.check(code, VoucherKind::Club, now, |_, _| Some(1)) {
            Ok(t) => t,
            Err(r) => break 'decide (Attendance::Code(r), None),
        };
        let Some(v) = clubs::voucher(tx, t.voucher_id).await? else {
            break 'decide (Attendance::Code(Refusal::Invalid), None);
        };
        if v.answer.as_deref() != Some("yes") {
            break 'decide (Attendance::NotAccepted, Some(v.id));
        }
        if !mine.iter().any(|p| p.id == v.provider_id) {
            break 'decide (
                Attendance::AnotherClub {
                    club: v.club_name.clone(),
                },
                Some(v.id),
            );
        }
        let (month, day) = (month_of(today), day_str(today));
        let Some((session_id, n)) =
            clubs::insert_session(tx, v.id, &month, &day, v.sessions_per_month, operator, now)
                .await?
        else {
            let (_, at) = clubs::sessions_in(tx, v.id, &month, &day).await?;
            break 'decide (
                match at {
                    Some(at_ms) => Attendance::AlreadyToday { at_ms },
                    None => Attendance::NoneLeft {
                        sessions: v.sessions_per_month,
                    },
                },
                Some(v.id),
            );
        };
        let child_masked = child(core, &v.pupil_enc)?;
        notify_club_parent(core, tx, &v, session_id, n, &child_masked, now).await?;
        let detail = format!("session {n}/{}", v.sessions_per_month);
        vledger::append_v2(
            tx,
            VoucherKind::Club,
            Action::Redemption,
            &EntryV2 {
                voucher_id: Some(v.id),
                redemption_id: Some(session_id),
                provider_bin: Some(&v.club_bin),
                day: Some(&day),
                quantity: Some(1),
                detail: Some(&detail),
                ..Default::default()
            },
            now,
        )
        .await?;
        return Ok(Attendance::Marked {
            child: child_masked,
            n,
            sessions: v.sessions_per_month,
        });
    };
    let (r, voucher) = result;
    audit(
        core,
        tx,
        "club_attend",
        r.outcome(),
        operator,
        (None, voucher, None),
    )
    .await?;
    Ok(r)
}

/// The parent's notice of a session, queued in its transaction, while the accepting chat is
/// still the parent's.
async fn notify_club_parent(
    core: &Core,
    tx: &mut Tx,
    v: &ClubVoucherRow,
    session_id: i64,
    n: i64,
    child_masked: &str,
    now: i64,
) -> Result<(), CoreError> {
    let (Some(channel), Some(chat_id)) = (&v.channel, &v.chat_id) else {
        return Ok(());
    };
    let to = ChatRef::new(channel, chat_id.clone());
    let Some(conv) = crate::storage::conversations::load(tx, &to).await? else {
        return Ok(());
    };
    let still_parent = match conv.person_id {
        Some(id) => people::get(tx, id).await?.is_some_and(|p| {
            p.registered_at.is_some()
                && (p.phone_hash == v.parent_phone_hash
                    || (p.verified_at.is_some()
                        && p.iin_hash.as_deref() == Some(&v.parent_iin_hash[..])))
        }),
        None => false,
    };
    if !still_parent {
        return Ok(());
    }
    let lang = crate::core::chat_lang(tx, &to).await?;
    let notice = Outbound::to_chat(
        to.clone(),
        lang,
        Msg::new("club-session-notice")
            .arg("child", child_masked.to_string())
            .arg("club", v.club_name.clone())
            .arg("time", local_time(now))
            .num("number", n)
            .num("sessions", v.sessions_per_month)
            .num("left", v.sessions_per_month - n),
    );
    core.enqueue(
        tx,
        &to,
        &notice,
        Some(&format!("club-session:{session_id}")),
        None,
    )
    .await?;
    Ok(())
}

/// Marks a session in its own transaction (tests, benchmarks).
pub async fn club_attend_once(
    core: &Core,
    operator: &ChatRef,
    code: &str,
) -> Result<Attendance, CoreError> {
    let mut tx = core.store.begin().await?;
    let r = club_attend(core, &mut tx, operator, code).await?;
    tx.commit().await?;
    core.outbox_ready.notify_waiters();
    Ok(r)
}

/// A club's monthly act: sessions per child from the ledger (verified first), as CSV
/// `voucher_id,child,sessions` and a total line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClubAct {
    pub club_bin: String,
    pub month: String,
    pub sessions: i64,
    pub ledger_seq: i64,
    #[serde(skip)]
    pub csv: String,
}

pub async fn club_act(core: &Core, club_bin: &str, month: &str) -> Result<ClubAct, WalletError> {
    let first = ledger::parse_month(month).ok_or(WalletError::BadMonth)?;
    let month = month_of(first);
    let club_bin = admin::bin(club_bin)?;
    let mut tx = core.store.begin().await?;
    let check = vledger::verify(&mut tx).await?;
    if let Some(p) = check.first_problem {
        return Err(WalletError::LedgerBroken(p));
    }
    let rows = store::ledger_entries_of(
        &mut tx,
        VoucherKind::Club.as_str(),
        Action::Redemption.as_str(),
        &club_bin,
        (&format!("{month}-01"), &format!("{month}-31")),
        check.head_seq,
    )
    .await?;
    let mut per: std::collections::BTreeMap<i64, i64> = Default::default();
    for r in &rows {
        *per.entry(r.voucher_id.unwrap_or(0)).or_default() += r.quantity.unwrap_or(1);
    }
    let mut csv = String::from("voucher_id,child,sessions\n");
    let mut total = 0;
    for (id, n) in &per {
        let shown = match clubs::voucher(&mut tx, *id).await? {
            Some(v) => child(core, &v.pupil_enc)?,
            None => String::new(),
        };
        total += n;
        csv.push_str(&format!("{id},{shown},{n}\n"));
    }
    csv.push_str(&format!("TOTAL,,{total}\n"));
    tx.rollback().await?;
    Ok(ClubAct {
        club_bin,
        month,
        sessions: total,
        ledger_seq: check.head_seq,
        csv,
    })
}

/// Whether a text is shaped like an engine voucher code (QR text or typed).
pub fn looks_like_voucher_code(text: &str) -> bool {
    text.trim().starts_with(vqr::PREFIX) || vqr::parse_short_code(text).is_some()
}
