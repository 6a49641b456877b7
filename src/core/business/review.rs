//! Review of applications: the sector association's pre-approval (catering, cinemas), the
//! administrators' approve / reject, and what approval creates: the venue in test mode, its
//! entrances and codes, the owner's staff seat and the posters sent as documents.

use super::{TEST_WEEK_MS, button, chat_lang, reply};
use crate::core::shared::callback::{BusinessButton, ReviewAction};
use crate::core::venues::admin::{self, AdminError};
use crate::core::venues::poster::{self, PosterError};
use crate::core::venues::token_keys;
use crate::core::{AttachmentKind, Conversation, Core, CoreError, Keyboard, Outbound, State};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::business::{self, ApplicationRow};
use crate::storage::venues::{self, NewVenue};
use crate::storage::{ChatRef, StoreError, Tx};

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no application {0}")]
    NotFound(i64),
    #[error("application {id} was already decided: {status}")]
    AlreadyDecided { id: i64, status: String },
    #[error("application {0} waits for its sector association's pre-approval")]
    AwaitingAssociation(i64),
    #[error("application {0} does not wait for a sector association")]
    NotAtAssociation(i64),
    #[error("a rejection needs a reason")]
    NoReason,
    #[error("no QR signing key is live: add one with `ashyq venue rotate-key`")]
    NoKey,
    #[error("posters: {0}")]
    Poster(#[from] PosterError),
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        ReviewError::Core(e.into())
    }
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        ReviewError::Core(e.into())
    }
}

impl From<AdminError> for ReviewError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Core(c) => ReviewError::Core(c),
            _ => ReviewError::NoKey,
        }
    }
}

impl ReviewError {
    /// The reviewer-facing text of a refusal; `None` for internal errors.
    fn msg(&self) -> Option<Msg> {
        let (reason, id) = match self {
            ReviewError::NotFound(id) => ("not_found", *id),
            ReviewError::AlreadyDecided { id, status } => {
                return Some(
                    Msg::new("biz-review-already")
                        .num("id", *id)
                        .arg("status", status.clone()),
                );
            }
            ReviewError::AwaitingAssociation(id) => ("association", *id),
            ReviewError::NotAtAssociation(id) => ("not_association", *id),
            ReviewError::NoReason => ("no_reason", 0),
            ReviewError::NoKey => ("no_key", 0),
            _ => return None,
        };
        Some(
            Msg::new("biz-review-refused")
                .arg("reason", reason)
                .num("id", id),
        )
    }
}

/// What an approval created.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Approved {
    pub application_id: i64,
    pub venue_id: i64,
    pub test_until_ms: i64,
    pub posters: usize,
}

fn card(app: &ApplicationRow, stage: &str) -> Msg {
    Msg::new("biz-review-card")
        .num("id", app.id)
        .arg("stage", stage.to_string())
        .arg("name", app.legal_name.clone())
        .arg("bin", app.bin.clone())
        .arg("address", app.address.clone())
        .arg(
            "location",
            match (app.lat_e6, app.lon_e6) {
                (Some(a), Some(o)) => format!("{:.5}, {:.5}", a as f64 / 1e6, o as f64 / 1e6),
                _ => "—".into(),
            },
        )
        .arg("region", app.region.clone())
        .arg("oked", app.oked.clone())
        .arg("category", app.category.clone())
        .num("entrances", app.entrances)
        .num("minutes", app.max_stay_ms / 60_000)
}

/// The review card of an application for whoever decides next: its association's chat
/// while it waits for pre-approval, else the administrators' chat. Empty when that chat is
/// not configured (the CLI still sees the application).
pub fn card_for_reviewers(core: &Core, app: &ApplicationRow) -> Vec<Outbound> {
    let s = &core.business;
    let lang = s.staff_lang;
    match app.status.as_str() {
        "association" => {
            let Some(to) = app
                .association
                .as_deref()
                .and_then(|a| s.associations.get(a))
            else {
                tracing::warn!(application = app.id, "no association chat configured");
                return Vec::new();
            };
            vec![
                Outbound::to_chat(to.clone(), lang, card(app, "association")).with_keyboard(
                    Keyboard::Inline(vec![vec![
                        button(
                            "biz-preapprove-button",
                            BusinessButton::Review(ReviewAction::Preapprove, app.id),
                        ),
                        button(
                            "biz-reject-button",
                            BusinessButton::Review(ReviewAction::PreReject, app.id),
                        ),
                    ]]),
                ),
            ]
        }
        "pending" => {
            let Some(to) = &s.admin_chat else {
                tracing::warn!(application = app.id, "BUSINESS_CHAT_ID is not set");
                return Vec::new();
            };
            vec![
                Outbound::to_chat(to.clone(), lang, card(app, "pending")).with_keyboard(
                    Keyboard::Inline(vec![vec![
                        button(
                            "biz-approve-button",
                            BusinessButton::Review(ReviewAction::Approve, app.id),
                        ),
                        button(
                            "biz-reject-button",
                            BusinessButton::Review(ReviewAction::Reject, app.id),
                        ),
                    ]]),
                ),
            ]
        }
        _ => Vec::new(),
    }
}

/// Reviewers' buttons: approve / reject (administrators), pre-approve / reject
/// (association).
pub(super) async fn on_button(
    core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    action: ReviewAction,
    id: i64,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let admin = core.business.admin_chat.as_ref() == Some(chat);
    let association = core.business.association_of(chat).map(str::to_string);
    let allowed = match action {
        ReviewAction::Approve | ReviewAction::Reject => admin,
        _ => match &association {
            Some(a) => business::application(tx, id)
                .await?
                .is_some_and(|app| app.association.as_deref() == Some(a.as_str())),
            None => false,
        },
    };
    if !allowed {
        return Ok(reply(lang, Msg::new("biz-not-reviewer")));
    }
    let by = format!("{}:{}", chat.channel, chat.chat_id);
    let result = match action {
        ReviewAction::Approve => approve_in(core, tx, id, &by).await.map(|a| {
            reply(
                lang,
                Msg::new("biz-review-approved")
                    .num("id", id)
                    .num("venue", a.venue_id)
                    .date_of("until", a.test_until_ms),
            )
        }),
        ReviewAction::Preapprove => preapprove_in(core, tx, id, &by)
            .await
            .map(|()| reply(lang, Msg::new("biz-review-preapproved").num("id", id))),
        _ => {
            // Ask for the reason first; the decision is taken when it is typed.
            let expected = if action == ReviewAction::PreReject {
                "association"
            } else {
                "pending"
            };
            match business::application(tx, id).await? {
                Some(app) if app.status == expected => {
                    conv.state = State::BizRejectReason { application_id: id };
                    return Ok(reply(lang, Msg::new("biz-reject-ask-reason").num("id", id)));
                }
                Some(app) => Err(ReviewError::AlreadyDecided {
                    id,
                    status: app.status,
                }),
                None => Err(ReviewError::NotFound(id)),
            }
        }
    };
    finish(result)
}

fn finish(result: Result<Vec<Outbound>, ReviewError>) -> Result<Vec<Outbound>, CoreError> {
    // A refusal or an internal error both roll back whatever the decision wrote (the
    // status moved before the key check and the posters): the application stays as it was.
    match result {
        Ok(out) => Ok(out),
        Err(e) => match e.msg() {
            Some(msg) => Err(CoreError::Refused(msg)),
            None => match e {
                ReviewError::Core(c) => Err(c),
                other => Err(CoreError::internal("business review", other)),
            },
        },
    }
}

/// The reason a reviewer typed after pressing "reject".
pub(super) async fn reject_from_chat(
    core: &Core,
    tx: &mut Tx,
    chat: &ChatRef,
    id: i64,
    reason: &str,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let admin = core.business.admin_chat.as_ref() == Some(chat);
    let association = core.business.association_of(chat).is_some();
    if !admin && !association {
        return Ok(reply(lang, Msg::new("biz-not-reviewer")));
    }
    let by = format!("{}:{}", chat.channel, chat.chat_id);
    let result = reject_in(core, tx, id, reason, &by)
        .await
        .map(|()| reply(lang, Msg::new("biz-review-rejected").num("id", id)));
    finish(result)
}

async fn tell_applicant(
    core: &Core,
    tx: &mut Tx,
    app: &ApplicationRow,
    msg: Msg,
    key: &str,
) -> Result<(), CoreError> {
    let to = app.chat();
    let lang = chat_lang(tx, &to).await?;
    core.enqueue(
        tx,
        &to,
        &Outbound::to_chat(to.clone(), lang, msg),
        Some(key),
        None,
    )
    .await?;
    Ok(())
}

/// The association pre-approved: the application goes to the administrators.
pub async fn preapprove_in(core: &Core, tx: &mut Tx, id: i64, by: &str) -> Result<(), ReviewError> {
    let app = business::application(tx, id)
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    if !business::transition(tx, id, "association", "pending", by, None, core.now_ms()).await? {
        return Err(match app.status.as_str() {
            "pending" => ReviewError::NotAtAssociation(id),
            _ => ReviewError::AlreadyDecided {
                id,
                status: app.status,
            },
        });
    }
    let app = business::application(tx, id)
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    tell_applicant(
        core,
        tx,
        &app,
        Msg::new("biz-preapproved").num("id", id),
        &format!("biz-pre-{id}"),
    )
    .await?;
    for card in card_for_reviewers(core, &app) {
        if let crate::core::Recipient::Chat(to) = &card.to {
            core.enqueue(tx, to, &card, Some(&format!("biz-card-{id}")), None)
                .await?;
        }
    }
    Ok(())
}

/// Rejects an application at whichever stage it waits, with a reason the applicant sees.
pub async fn reject_in(
    core: &Core,
    tx: &mut Tx,
    id: i64,
    reason: &str,
    by: &str,
) -> Result<(), ReviewError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ReviewError::NoReason);
    }
    let reason: String = crate::domain::mask_personal(reason)
        .chars()
        .take(500)
        .collect();
    let app = business::application(tx, id)
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    let now = core.now_ms();
    let from = app.status.as_str();
    if !matches!(from, "association" | "pending")
        || !business::transition(tx, id, from, "rejected", by, Some(&reason), now).await?
    {
        return Err(ReviewError::AlreadyDecided {
            id,
            status: app.status,
        });
    }
    tell_applicant(
        core,
        tx,
        &app,
        Msg::new("biz-rejected")
            .num("id", id)
            .arg("reason", reason)
            .arg("stage", from.to_string()),
        &format!("biz-rejected-{id}"),
    )
    .await?;
    Ok(())
}

/// Approves an application once: creates the venue (test mode for a week), its entrances and
/// codes, makes the applicant its owner, and queues the approval and the posters for them.
pub async fn approve_in(
    core: &Core,
    tx: &mut Tx,
    id: i64,
    by: &str,
) -> Result<Approved, ReviewError> {
    let app = business::application(tx, id)
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    let now = core.now_ms();
    match app.status.as_str() {
        "pending" => {}
        "association" => return Err(ReviewError::AwaitingAssociation(id)),
        _ => {
            return Err(ReviewError::AlreadyDecided {
                id,
                status: app.status,
            });
        }
    }
    if !business::transition(tx, id, "pending", "approved", by, None, now).await? {
        return Err(ReviewError::AlreadyDecided {
            id,
            status: app.status,
        });
    }
    let keys = token_keys(core, tx).await?.ok_or(ReviewError::NoKey)?;
    let admission = super::oked::category(&app.category)
        .map(|c| c.admission)
        .unwrap_or(crate::status::VenueCategory::Ordinary);
    let venue_id = venues::insert_venue(
        tx,
        &NewVenue {
            name: &app.legal_name,
            bin: &app.bin,
            address: &app.address,
            region: &app.region,
            category: admission.as_str(),
            max_stay_ms: app.max_stay_ms,
        },
        now,
    )
    .await?;
    for i in 1..=app.entrances.clamp(1, super::MAX_ENTRANCES) {
        admin::add_entrance(tx, venue_id, &i.to_string(), now).await?;
    }
    let test_until = now + TEST_WEEK_MS;
    venues::start_test_mode(tx, venue_id, app.person_id, test_until).await?;
    let owner = app.chat();
    venues::add_staff(tx, venue_id, &owner, app.person_id, "owner", now).await?;
    business::set_application_venue(tx, id, venue_id).await?;
    let venue = venues::venue(tx, venue_id)
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    let bot = core.business.bot_username.clone();
    let codes: Vec<_> = venues::entrances_of(tx, venue_id)
        .await?
        .iter()
        .map(|e| admin::codes_of(&core.channels, &keys, &bot, e))
        .collect();
    let files = render(core, venue, codes).await?;
    tell_applicant(
        core,
        tx,
        &app,
        Msg::new("biz-approved")
            .num("id", id)
            .arg("venue", app.legal_name.clone())
            .date_of("until", test_until)
            .num("posters", files.len() as i64),
        &format!("biz-approved-{id}"),
    )
    .await?;
    send_posters(
        core,
        tx,
        &owner,
        &app.legal_name,
        &files,
        &format!("biz-poster-{id}"),
    )
    .await?;
    Ok(Approved {
        application_id: id,
        venue_id,
        test_until_ms: test_until,
        posters: files.len(),
    })
}

/// Renders the posters of `codes` on the blocking pool.
pub(super) async fn render(
    core: &Core,
    venue: venues::VenueRow,
    codes: Vec<admin::EntranceCodes>,
) -> Result<Vec<poster::PosterFile>, ReviewError> {
    let texts = core.texts.clone();
    let font_path = core.business.poster_font.clone();
    let files = tokio::task::spawn_blocking(move || {
        let font = poster::find_font(font_path.as_deref()).ok();
        poster::documents(&texts, &venue, &codes, font.as_ref())
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "poster rendering panicked");
        ReviewError::Poster(PosterError::Qr("rendering failed".into()))
    })??;
    Ok(files)
}

/// Queues one document message per poster for `to`.
pub(super) async fn send_posters(
    core: &Core,
    tx: &mut Tx,
    to: &ChatRef,
    venue: &str,
    files: &[poster::PosterFile],
    key: &str,
) -> Result<(), CoreError> {
    let lang = chat_lang(tx, to).await?;
    for f in files {
        let msg = Outbound::to_chat(
            to.clone(),
            lang,
            Msg::new("biz-poster-caption")
                .arg("venue", venue.to_string())
                .arg("entrance", f.entrance.clone())
                .arg("kind", if f.exit { "exit" } else { "entry" }),
        )
        .with_attachment(AttachmentKind::Document, &f.file_name, f.bytes.clone());
        core.enqueue(tx, to, &msg, Some(&format!("{key}-{}", f.file_name)), None)
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- for the CLI

/// `ashyq applications approve ID`.
pub async fn approve(core: &Core, id: i64) -> Result<Approved, ReviewError> {
    let mut tx = core.store.begin().await?;
    let done = approve_in(core, &mut tx, id, "cli").await?;
    tx.commit().await?;
    core.outbox_ready.notify_waiters();
    Ok(done)
}

/// `ashyq applications reject ID --reason R`.
pub async fn reject(core: &Core, id: i64, reason: &str) -> Result<(), ReviewError> {
    let mut tx = core.store.begin().await?;
    reject_in(core, &mut tx, id, reason, "cli").await?;
    tx.commit().await?;
    core.outbox_ready.notify_waiters();
    Ok(())
}

/// `ashyq applications preapprove ID` (on behalf of a sector association).
pub async fn preapprove(core: &Core, id: i64) -> Result<(), ReviewError> {
    let mut tx = core.store.begin().await?;
    preapprove_in(core, &mut tx, id, "cli").await?;
    tx.commit().await?;
    core.outbox_ready.notify_waiters();
    Ok(())
}

/// `ashyq applications list [--status S]`.
pub async fn list(core: &Core, status: Option<&str>) -> Result<Vec<ApplicationRow>, ReviewError> {
    let mut conn = core.store.pool().acquire().await?;
    Ok(business::applications(&mut conn, status).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_failures_are_refusals_or_internal_never_a_committed_reply() {
        // A refusal carries the reviewer's text and rolls back (Core::handle answers it).
        let refused = finish(Err(ReviewError::NoKey)).unwrap_err();
        assert!(refused.is_refusal(), "{refused}");
        // A poster that cannot be drawn is internal: logged, rolled back, error-generic;
        // so the applicant is never left with an approval nobody told them about.
        let poster = finish(Err(ReviewError::Poster(PosterError::Qr("boom".into())))).unwrap_err();
        assert!(!poster.is_refusal(), "{poster}");
        assert!(matches!(poster, CoreError::Internal { .. }));
    }
}
