//! Businesses (issue 8): the `/business` application dialogue, review by the sector
//! association and the administrators, approval into a venue in test mode with its posters,
//! owner tools, monitoring violations and suspensions, and the authorities' occupancy view.
//!
//! One entry point, [`handle`], takes every `Route::Business`; the submodules hold the
//! concerns: `settings` (review chats, eligibility, from the configuration), `application`
//! (the dialogue up to Submit), `review` (decisions, approval into a venue, posters),
//! `owner` and `chart` (owner tools), `monitor` (violations, suspensions, occupancy, the
//! owners' notices job), `oked` (the eligible activity codes). Review chats
//! (`BUSINESS_CHAT_ID`, the associations' chats) are ordinary chats whose buttons and typed
//! reasons are routed here too.

pub mod application;
pub mod chart;
pub mod monitor;
pub mod oked;
pub mod owner;
pub mod review;
pub mod settings;

use super::context::Ctx;
use super::shared::callback::BusinessButton;
use super::shared::routes::{BusinessRoute, leave_application};
use super::{Conversation, Core, CoreError, Outbound};
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::storage::{ChatRef, Tx};
use application::{dialogue, menu_or_remove, start_application};

pub(crate) use application::prompt;
pub use application::{Draft, Step, address_key};
pub use monitor::run_due;
pub use settings::BusinessSettings;

/// How long a new venue runs in test mode.
pub const TEST_WEEK_MS: i64 = 7 * 24 * 3_600_000;
/// Entrances one application may ask for.
pub const MAX_ENTRANCES: i64 = 20;

pub(crate) use crate::core::shared::menu::{button, reply};

pub(crate) use super::chat_lang;

/// The businesses' entry point.
pub async fn handle(ctx: &mut Ctx<'_>, route: BusinessRoute) -> Result<Vec<Outbound>, CoreError> {
    let (core, lang, chat) = (ctx.core, ctx.lang, ctx.chat);
    let Ctx { tx, conv, .. } = ctx;
    match route {
        BusinessRoute::RejectReason {
            application_id,
            reason,
        } => review::reject_from_chat(core, tx, chat, application_id, &reason, lang).await,
        BusinessRoute::RejectCancelled => Ok(reply(lang, Msg::new("biz-cancelled"))),
        BusinessRoute::Button(BusinessButton::Review(action, id)) => {
            review::on_button(core, tx, conv, chat, action, id, lang).await
        }
        BusinessRoute::Button(BusinessButton::New) => start_application(conv, lang),
        BusinessRoute::Button(b) => owner::on_button(core, tx, chat, b, lang).await,
        BusinessRoute::StaleButton => Ok(reply(lang, Msg::new("hint-stale-button"))),
        BusinessRoute::Open => business_command(core, tx, conv, chat, lang).await,
        BusinessRoute::Cancel => {
            leave_application(conv);
            Ok(vec![
                Outbound::reply(lang, Msg::new("biz-cancelled"))
                    .with_keyboard(menu_or_remove(conv)),
            ])
        }
        BusinessRoute::Violation(arg) => monitor::violation(core, tx, chat, &arg, lang).await,
        BusinessRoute::Venues => monitor::region_occupancy(core, tx, chat, lang).await,
        BusinessRoute::Dialogue(input) => dialogue(core, tx, conv, chat, input, lang).await,
    }
}

/// `/business`: the owner's panel for an owner, else a new application.
async fn business_command(
    _core: &Core,
    tx: &mut Tx,
    conv: &mut Conversation,
    chat: &ChatRef,
    lang: Lang,
) -> Result<Vec<Outbound>, CoreError> {
    let owned = crate::storage::venues::owned_venues(tx, chat).await?;
    if !owned.is_empty() {
        leave_application(conv);
        return Ok(vec![owner::panel(&owned, lang)]);
    }
    start_application(conv, lang)
}
