//! Time-driven check-in work: the reminder before a venue's maximum stay and the
//! automatic check-out after it ([`CheckOut`], a [`Job`]).

use super::REMIND_BEFORE_MS;
use crate::clock::local_time;
use crate::core::job::{Job, JobFuture};
use crate::core::shared::callback::CheckInButton;
use crate::core::shared::menu::button;
use crate::core::{Core, CoreError, Keyboard, Outbound, Recipient, chat_lang};
use crate::i18n::Msg;
use crate::storage::ChatRef;
use crate::storage::venues::{self, AuditLine, CheckinView};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Automatic check-out and its reminders, every 30 seconds.
pub struct CheckOut;

impl Job for CheckOut {
    fn name(&self) -> &'static str {
        "checkout"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn run_due<'a>(
        &'a self,
        core: &'a Core,
        now: DateTime<Utc>,
    ) -> JobFuture<'a, Result<usize, CoreError>> {
        Box::pin(run_due_at(core, now))
    }
}

/// Sends due reminders and closes visits past their venue's maximum stay. Returns how many
/// visits it reminded or closed. `app::serve` runs it every 30 seconds.
pub async fn run_due(core: &Core) -> Result<usize, CoreError> {
    run_due_at(core, core.clock.now()).await
}

/// [`run_due`] at `now`.
pub async fn run_due_at(core: &Core, now: DateTime<Utc>) -> Result<usize, CoreError> {
    let now = now.timestamp_millis();
    let mut tx = core.store.begin().await?;
    let mut done = 0;
    for v in venues::due_reminders(&mut tx, now + REMIND_BEFORE_MS, 500).await? {
        venues::mark_reminded(&mut tx, v.id, now).await?;
        if v.closes_at <= now {
            continue; // closed below instead
        }
        if let Some(to) = visitor_chat(&v) {
            let lang = chat_lang(&mut tx, &to).await?;
            let msg = Outbound {
                to: Recipient::Chat(to.clone()),
                lang,
                text: Msg::new("checkin-reminder")
                    .arg("venue", v.venue_name.clone())
                    .arg("time", local_time(v.closes_at))
                    .num("minutes", ((v.closes_at - now) / 60_000).max(1)),
                keyboard: Keyboard::Inline(vec![vec![button(
                    "checkin-left-button",
                    CheckInButton::Left(v.id),
                )]]),
                relay: None,
                attachment: None,
            };
            core.enqueue(
                &mut tx,
                &to,
                &msg,
                Some(&format!("ci-remind-{}", v.id)),
                None,
            )
            .await?;
        }
        done += 1;
    }
    for v in venues::due_closes(&mut tx, now, 500).await? {
        if !venues::close_visit(&mut tx, v.id, v.closes_at, "auto").await? {
            continue;
        }
        venues::audit(
            &mut tx,
            &AuditLine {
                action: "exit",
                outcome: "auto",
                venue_id: Some(v.venue_id),
                entrance_id: v.entrance_id,
                checkin_id: Some(v.id),
                person_id: v.person_id,
                ..Default::default()
            },
            now,
        )
        .await?;
        if let Some(to) = visitor_chat(&v) {
            let lang = chat_lang(&mut tx, &to).await?;
            let msg = Outbound {
                to: Recipient::Chat(to.clone()),
                lang,
                text: Msg::new("checkin-auto-closed")
                    .arg("venue", v.venue_name.clone())
                    .arg("time", local_time(v.closes_at)),
                keyboard: Keyboard::Keep,
                relay: None,
                attachment: None,
            };
            core.enqueue(&mut tx, &to, &msg, Some(&format!("ci-auto-{}", v.id)), None)
                .await?;
        }
        done += 1;
    }
    tx.commit().await?;
    if done > 0 {
        core.outbox_ready.notify_waiters();
    }
    Ok(done)
}

fn visitor_chat(v: &CheckinView) -> Option<ChatRef> {
    match (&v.channel, &v.chat_id) {
        (Some(ch), Some(id)) => Some(ChatRef::new(ch, id.clone())),
        _ => None,
    }
}
