//! Venue check-in: signed codes by deep link, photo or short code; exits and automatic
//! check-out; the live staff feed; guard mode; sanitary alerts.
//!
//! The conversation calls [`intercept`] before its own dispatch; everything about venues is
//! decided here. The admission decision is the pure [`decide`]; a person's colour comes from
//! the seam [`crate::status::person_status`].

pub mod due;
pub mod group;
pub mod guard;
pub mod lane;
pub mod staff;
mod visit;

pub use visit::*;

pub use crate::core::shared::scan::{MAX_IMAGE_BYTES, Scan, limits, scan};
pub use due::run_due;
// The venue registry (codes, posters, administration) is a shared service; these names
// stay for the CLI, benches and tests.
pub use crate::core::venues::{DEFAULT_MAX_STAY_MS, admin, poster, token, token_keys};

use super::context::{Ctx, Prompt};
use super::shared::callback::CheckInButton;
use super::shared::events::Happened;
use super::shared::menu::{button, reply};
use super::shared::routes::{CheckInRoute, leave_guard};
use super::{Conversation, Core, CoreError, Keyboard, Outbound, Recipient, State};
use crate::clock::local_time;
use crate::domain::Lang;
use crate::i18n::Msg;
use crate::qr;
use crate::status::{Colour, Status, VenueCategory};
use crate::storage::venues::{self, AuditLine, CheckinView, Door, NewCheckin};
use crate::storage::{ChatRef, StoreError, Tx, outbox};
use token::{Kind, Payload, TokenError, TokenKeys};

/// The same code scanned again within this window is the same visit and the same reply.
pub const REPEAT_WINDOW_MS: i64 = 60_000;
/// A result older than this says it is stale when refreshed.
pub const STALE_AFTER_MS: i64 = 5 * 60_000;
/// The visitor is reminded this long before the automatic check-out.
pub const REMIND_BEFORE_MS: i64 = 15 * 60_000;
/// Guard-mode look-ups allowed per staff chat per hour.
pub const GUARD_LIMIT_PER_HOUR: i64 = 60;

/// Colour and admission at one venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub colour: Colour,
    pub admit: bool,
}

/// The admission decision: a pure function of the status and the venue's category.
pub fn decide(status: &Status, category: VenueCategory) -> Decision {
    Decision {
        colour: status.colour,
        admit: category.admits(status.colour),
    }
}

/// Whether an attempt in this colour is reported to sanitary control.
pub fn alerts_sanitary_control(colour: Colour) -> bool {
    matches!(colour, Colour::Red | Colour::Yellow)
}

/// How a check-in arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Link,
    Photo,
    Code,
    Guard,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Link => "link",
            Via::Photo => "photo",
            Via::Code => "code",
            Via::Guard => "guard",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "photo" => Via::Photo,
            "code" => Via::Code,
            "guard" => Via::Guard,
            _ => Via::Link,
        }
    }
}

fn verdict(admit: bool) -> &'static str {
    if admit { "admit" } else { "deny" }
}

/// The registered person of this conversation, if the registration is complete.
fn registered_person(conv: &Conversation) -> Option<i64> {
    let done = match &conv.state {
        State::Menu | State::ConfirmForget => true,
        State::GuardIin { menu, .. } | State::GuardConfirm { menu, .. } => *menu,
        _ => false,
    };
    conv.person_id.filter(|_| done)
}

/// A refusal, then the current step's prompt again (the conversation goes on where it was).
fn refuse(p: Prompt, conv: &Conversation, lang: Lang, msg: Msg) -> Vec<Outbound> {
    vec![Outbound::reply(lang, msg), p(&conv.state, lang)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{CauseKind, evaluate};

    fn status(colour: Colour) -> Status {
        Status {
            colour,
            since: None,
            until: None,
            cause_kind: CauseKind::None,
            cause_date: None,
        }
    }

    #[test]
    fn admission_follows_colour_and_category() {
        use Colour::*;
        use VenueCategory::*;
        for (colour, category, admit) in [
            (Red, Essential, false),
            (Yellow, Essential, true),
            (Yellow, Ordinary, false),
            (Blue, PcrRequired, false),
            (Blue, Ordinary, true),
            (Green, PcrRequired, true),
        ] {
            let d = decide(&status(colour), category);
            assert_eq!(d, Decision { colour, admit }, "{colour} at {category}");
        }
        let now = chrono::Utc::now();
        assert_eq!(decide(&evaluate(&[], &[], now), Ordinary).colour, Blue);
        assert!(alerts_sanitary_control(Red) && alerts_sanitary_control(Yellow));
        assert!(!alerts_sanitary_control(Green) && !alerts_sanitary_control(Blue));
    }

    /// Red and yellow attempts alert the region's sanitary-control chat through the outbox;
    /// every attempt reaches the staff feed; neither carries personal data. (The colours come
    /// from the seam `status::person_status`, blue until PCR records exist, so the decision
    /// is injected here.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn red_and_yellow_attempts_alert_sanitary_control() {
        use crate::clock::ManualClock;
        use crate::crypto::Vault;
        use crate::i18n::Texts;
        use crate::storage::{Store, outbox, people};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&url).await.unwrap();
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00+05:00")
            .unwrap()
            .to_utc();
        let core = Core::new(
            store,
            Vault::from_secret(&"ab".repeat(32)).unwrap(),
            Arc::new(ManualClock::new(start)),
            Arc::new(Texts::load()),
        );
        let added = admin::add_venue(
            &core,
            &admin::AddVenue {
                name: "Kino".into(),
                bin: admin::DEMO_BIN.into(),
                address: "Abai 1".into(),
                region: " Almaty ".into(),
                category: "ordinary".into(),
                entrances: 1,
                max_stay_ms: None,
            },
            "bot",
        )
        .await
        .unwrap();
        let sanitary = ChatRef::new("telegram", "-100500");
        admin::set_alert_chat(&core, "ALMATY", &sanitary)
            .await
            .unwrap();
        let staff = ChatRef::new("telegram", "77");
        let visitor = ChatRef::new("telegram", "88");
        let mut tx = core.store.begin().await.unwrap();
        venues::add_staff(&mut tx, added.venue_id, &staff, None, "staff", 0)
            .await
            .unwrap();
        let person = people::insert(&mut tx, b"phone-hash", b"sealed", 0, 0)
            .await
            .unwrap();
        let entrance = venues::entrances_of(&mut tx, added.venue_id).await.unwrap()[0].id;
        let door = venues::door(&mut tx, entrance, None)
            .await
            .unwrap()
            .unwrap();
        let mut codes = Vec::new();
        for (colour, admit) in [
            (Colour::Red, false),
            (Colour::Yellow, false),
            (Colour::Green, true),
            (Colour::Blue, true),
        ] {
            let view = record_entry(
                &core,
                &mut tx,
                &door_target(&door, core.now_ms()),
                Entrant {
                    person_id: Some(person),
                    iin_hash: None,
                    chat: Some(&visitor),
                    via: Via::Photo,
                    actor: &visitor,
                    open: None,
                },
                Decision { colour, admit },
            )
            .await
            .unwrap();
            assert_eq!(view.admitted == 1, admit);
            codes.push(view.check_code);
        }
        tx.commit().await.unwrap();
        let mut conn = core.store.pool().acquire().await.unwrap();
        let now = core.now_ms();
        let alerts = outbox::due_for_chat(&mut conn, &sanitary, now)
            .await
            .unwrap();
        assert_eq!(alerts.len(), 2, "red and yellow only");
        let texts: Vec<String> = alerts
            .iter()
            .map(|r| {
                let m: Outbound = serde_json::from_str(&r.payload).unwrap();
                assert_eq!(m.text.key(), "checkin-sanitary-alert");
                core.texts.render(Lang::Ru, &m.text)
            })
            .collect();
        assert!(
            texts[0].contains("КРАСНЫЙ") && texts[0].contains("Kino"),
            "{}",
            texts[0]
        );
        assert!(
            texts[1].contains("ЖЁЛТЫЙ") && texts[1].contains("A-"),
            "{}",
            texts[1]
        );
        let feed = outbox::due_for_chat(&mut conn, &staff, now).await.unwrap();
        assert_eq!(feed.len(), 4, "every attempt reaches the staff feed");
        for (row, code) in feed.iter().zip(&codes) {
            let m: Outbound = serde_json::from_str(&row.payload).unwrap();
            let text = core.texts.render(Lang::Ru, &m.text);
            assert!(text.contains(code.as_str()), "{text}");
        }
        // Check codes are distinct within the venue.
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
        // Only the last (admitted) visit is open: each admitted entry closed the one before.
        assert_eq!(
            venues::occupancy(&mut conn, added.venue_id).await.unwrap(),
            1
        );
    }

    #[test]
    fn local_time_is_almaty() {
        // 2026-11-21 05:00 UTC is 10:00 in Almaty.
        let ms = chrono::DateTime::parse_from_rfc3339("2026-11-21T05:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(local_time(ms), "10:00");
        assert_eq!(crate::clock::local_date(ms), "21.11.2026");
    }
}
