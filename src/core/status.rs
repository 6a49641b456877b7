//! The citizen's colour status over stored records: look-up by IIN, the `/status` reply,
//! change notices after a feed, and the notifier for colours that run out by themselves.
//!
//! The rules are the pure engine in [`crate::status`]; this module only loads records,
//! renders and queues.
//!
//! Notices: a registered person's last known colour is kept in `status_watch` with the
//! instant it next changes by itself. A feed that changes the colour queues one notice per
//! chat of the person in that chat's language, in the feed's transaction; [`run_due`] wakes
//! at `next_change_at`, recomputes and queues "now blue". Every notice has the dedupe key
//! `status:{person}:{from}>{to}:{since_ms}:{channel}:{chat}`, so a batch posted twice, a
//! notifier run twice, or a restart between queueing and sending never notifies twice.

use super::job::{Job, JobFuture};
use super::{Core, CoreError, Outbound, Recipient};
use crate::crypto::Field;
use crate::domain::{Iin, Lang};
use crate::i18n::Msg;
use crate::status::{self, CauseKind, Colour, ContactRecord, PcrRecord, Status};
use crate::storage::health::{self, ContactRow, PcrRow, WatchRow};
use crate::storage::{Conn, StoreError, family, people};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashSet;

fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(crate) fn pcr_record(row: &PcrRow) -> PcrRecord {
    PcrRecord {
        taken_at: ms_to_time(row.taken_at),
        result_at: ms_to_time(row.result_at),
        positive: row.positive != 0,
        withdrawn: row.withdrawn_at.is_some(),
    }
}

pub(crate) fn contact_record(row: &ContactRow) -> Option<ContactRecord> {
    NaiveDate::parse_from_str(&row.contact_date, "%Y-%m-%d")
        .ok()
        .map(|contact_date| ContactRecord { contact_date })
}

/// The stored records of one IIN hash, as the engine takes them: under the hash as given and
/// in the current key version (while a rotation runs, records of a person whose binding is
/// still under the previous version may already be rewritten: `security::keys`).
pub async fn records_of(
    vault: &crate::crypto::Vault,
    conn: &mut Conn,
    iin_hash: &[u8],
) -> Result<(Vec<PcrRow>, Vec<ContactRow>), CoreError> {
    let current = vault.current_form(iin_hash);
    Ok(health::records_for_either(conn, iin_hash, &current).await?)
}

pub(crate) fn engine_records(
    pcr: &[PcrRow],
    contacts: &[ContactRow],
) -> (Vec<PcrRecord>, Vec<ContactRecord>) {
    (
        pcr.iter().map(pcr_record).collect(),
        contacts.iter().filter_map(contact_record).collect(),
    )
}

/// The status of whoever has this IIN hash (registered or not) at `at`.
pub async fn status_of_hash(
    conn: &mut Conn,
    iin_hash: &[u8],
    at: DateTime<Utc>,
) -> Result<Status, CoreError> {
    let (pcr, contacts) = health::records_for(conn, iin_hash).await?;
    let (pcr, contacts) = engine_records(&pcr, &contacts);
    Ok(status::evaluate(&pcr, &contacts, at))
}

/// The status for an IIN at `at` (operators and auditors: `ashyq status --iin`).
pub async fn status_of_iin(core: &Core, iin: &Iin, at: DateTime<Utc>) -> Result<Status, CoreError> {
    let hash = core.vault.lookup_hash(Field::Iin, &iin.expose());
    {
        let mut conn = core.store.pool().acquire().await?;
        crate::security::keys::settle(&mut conn, &core.vault, Field::Iin, &iin.expose()).await?;
    }
    core.lookup_status(&hash, at).await
}

/// The JSON object `ashyq status` prints, fields in this order:
/// `{"colour","since","until","cause":{"kind","date"}}`. `since` is `null` only for someone
/// who has never been anything but blue.
pub fn status_json(status: &Status) -> serde_json::Value {
    serde_json::to_value(StatusJson::from(status)).unwrap_or_default()
}

/// [`status_json`] as one line of text, fields in the documented order.
pub fn status_json_line(status: &Status) -> String {
    serde_json::to_string(&StatusJson::from(status)).unwrap_or_default()
}

#[derive(serde::Serialize)]
struct StatusJson {
    colour: &'static str,
    since: Option<String>,
    until: Option<String>,
    cause: CauseJson,
}

#[derive(serde::Serialize)]
struct CauseJson {
    kind: &'static str,
    date: Option<String>,
}

impl From<&Status> for StatusJson {
    fn from(st: &Status) -> Self {
        let time = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        Self {
            colour: st.colour.as_str(),
            since: time(st.since),
            until: time(st.until),
            cause: CauseJson {
                kind: st.cause_kind.as_str(),
                date: st.cause_date.map(|d| d.format("%Y-%m-%d").to_string()),
            },
        }
    }
}

/// Fills a status text (`status-reply` or `status-changed`) with the colour, what it
/// allows, until when (with the days left, for plurals) and why. Never the laboratory.
fn status_args(msg: Msg, st: &Status, now: DateTime<Utc>) -> Msg {
    let msg = match st.until {
        Some(until) => {
            let secs = (until - now).num_seconds().max(0);
            let days = (secs + 86_399) / 86_400;
            msg.arg("has_until", "yes")
                .date_time("until", until.timestamp_millis())
                .num("days_left", days)
        }
        None => msg
            .arg("has_until", "no")
            .arg("until", "")
            .num("days_left", 0),
    };
    let msg = match st.cause_date {
        Some(d) => msg.date("cause_date", d),
        None => msg.arg("cause_date", ""),
    };
    let cause = match st.cause_kind {
        CauseKind::None => "none",
        k => k.as_str(),
    };
    msg.arg("colour", st.colour.as_str()).arg("cause", cause)
}

/// The status feature's entry point: `/status` or the menu's button.
pub async fn handle(ctx: &mut crate::core::context::Ctx<'_>) -> Result<Vec<Outbound>, CoreError> {
    // Health data only over a binding the identity registry confirmed.
    if let Some(instead) = crate::core::shared::identity::gate(
        ctx.core, ctx.tx, ctx.conv, ctx.chat, ctx.lang, ctx.prompt,
    )
    .await?
    {
        return Ok(instead);
    }
    let out = match ctx.conv.person_id {
        Some(id) => reply(ctx.core, ctx.tx, id, ctx.lang)
            .await?
            .with_keyboard(crate::core::shared::menu::menu_keyboard()),
        None => Outbound::reply(ctx.lang, Msg::new("hint-register-first")),
    };
    Ok(vec![out])
}

/// The `/status` reply for a registered person. Also starts watching the person, so a
/// colour that runs out later is announced.
pub(super) async fn reply(
    core: &Core,
    conn: &mut Conn,
    person_id: i64,
    lang: Lang,
) -> Result<Outbound, CoreError> {
    let now = core.clock.now();
    let Some(person) = people::get(conn, person_id).await? else {
        return Ok(Outbound::reply(lang, Msg::new("hint-register-first")));
    };
    let Some(hash) = person.iin_hash else {
        return Ok(Outbound::reply(lang, Msg::new("hint-register-first")));
    };
    let st = if health::watch_get(conn, person_id).await?.is_none() {
        let (pcr, contacts) = records_of(&core.vault, conn, &hash).await?;
        let (pcr, contacts) = engine_records(&pcr, &contacts);
        let st = status::evaluate(&pcr, &contacts, now);
        put_watch(core, conn, person_id, &st, &pcr, &contacts).await?;
        st
    } else {
        core.status_of(conn, &hash, now).await?
    };
    Ok(Outbound::reply(
        lang,
        status_args(Msg::new("status-reply"), &st, now),
    ))
}

async fn put_watch(
    core: &Core,
    conn: &mut Conn,
    person_id: i64,
    st: &Status,
    pcr: &[PcrRecord],
    contacts: &[ContactRecord],
) -> Result<(), CoreError> {
    let now = core.clock.now();
    let row = WatchRow {
        person_id,
        colour: st.colour.as_str().to_string(),
        since_at: st.since.map(|t| t.timestamp_millis()),
        next_change_at: status::next_change(pcr, contacts, now).map(|t| t.timestamp_millis()),
    };
    health::watch_put(conn, &row, core.now_ms()).await?;
    Ok(())
}

/// Starts watching a person who just registered (records may have arrived before); no notice.
pub(crate) async fn on_registered(
    core: &Core,
    conn: &mut Conn,
    person_id: i64,
    iin_hash: &[u8],
) -> Result<(), CoreError> {
    let (pcr, contacts) = records_of(&core.vault, conn, iin_hash).await?;
    let (pcr, contacts) = engine_records(&pcr, &contacts);
    let st = status::evaluate(&pcr, &contacts, core.clock.now());
    put_watch(core, conn, person_id, &st, &pcr, &contacts).await
}

/// Queues the "your status changed" notice to every chat of the person, in each chat's
/// language. Returns how many were queued (0 when already queued before).
async fn notify(
    core: &Core,
    conn: &mut Conn,
    person_id: i64,
    from: Option<Colour>,
    st: &Status,
) -> Result<usize, CoreError> {
    // Only to a person whose IIN the identity registry confirmed (core::identity).
    if crate::storage::identity::verified_at(conn, person_id)
        .await?
        .is_none()
    {
        return Ok(0);
    }
    let from = from.map_or("none", Colour::as_str);
    let now = core.clock.now();
    let since_ms = st.since.map_or(0, |t| t.timestamp_millis());
    let mut queued = 0;
    for (chat, lang) in health::chats_of_person(conn, person_id).await? {
        let lang = lang
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or(Lang::FALLBACK);
        let out = Outbound {
            to: Recipient::Chat(chat.clone()),
            lang,
            text: status_args(Msg::new("status-changed"), st, now),
            keyboard: super::Keyboard::Keep,
            relay: None,
            attachment: None,
        };
        let key = format!(
            "status:{person_id}:{from}>{}:{since_ms}:{}:{}",
            st.colour, chat.channel, chat.chat_id
        );
        if core.enqueue(conn, &chat, &out, Some(&key), None).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Records just written or withdrawn by a feed, to tell the colour before from after.
#[derive(Debug, Default)]
pub struct Changes {
    pub iin_hashes: Vec<Vec<u8>>,
    pub new_pcr: HashSet<i64>,
    pub new_contacts: HashSet<i64>,
    pub withdrawn_pcr: HashSet<i64>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.iin_hashes.is_empty()
    }
}

/// After a feed wrote records (in the same transaction): for every registered person
/// among them, compares the colour now with the colour on the records known before, queues
/// a notice when it changed and updates the watch. Returns the notices queued.
pub async fn on_records_changed(
    core: &Core,
    conn: &mut Conn,
    changes: &Changes,
) -> Result<usize, CoreError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let mut hashes = changes.iin_hashes.clone();
    hashes.sort();
    hashes.dedup();
    let now = core.clock.now();
    let mut queued = 0;
    for (person_id, hash) in health::people_by_iin_hashes(conn, &hashes).await? {
        let (pcr_rows, contact_rows) = records_of(&core.vault, conn, &hash).await?;
        let (old_pcr, old_contacts) = records_before(changes, &pcr_rows, &contact_rows);
        let (pcr, contacts) = engine_records(&pcr_rows, &contact_rows);
        let before = status::evaluate(&old_pcr, &old_contacts, now);
        let after = status::evaluate(&pcr, &contacts, now);
        if before.colour != after.colour {
            queued += notify(core, conn, person_id, Some(before.colour), &after).await?;
        }
        put_watch(core, conn, person_id, &after, &pcr, &contacts).await?;
    }
    queued += dependants_changed(core, conn, changes, &hashes).await?;
    Ok(queued)
}

/// The records as they were before `changes`: new ones left out, withdrawn ones still in.
fn records_before(
    changes: &Changes,
    pcr_rows: &[PcrRow],
    contact_rows: &[ContactRow],
) -> (Vec<PcrRecord>, Vec<ContactRecord>) {
    let pcr = pcr_rows
        .iter()
        .filter(|r| !changes.new_pcr.contains(&r.id))
        .map(|r| {
            let mut rec = pcr_record(r);
            if changes.withdrawn_pcr.contains(&r.id) {
                rec.withdrawn = false;
            }
            rec
        })
        .collect();
    let contacts = contact_rows
        .iter()
        .filter(|r| !changes.new_contacts.contains(&r.id))
        .filter_map(contact_record)
        .collect();
    (pcr, contacts)
}

/// A dependant's records changed: each verified adult linked to them is told a changed
/// colour (a child's health data to its verified parent only), and the dependant's watch
/// moves on so changes by time are told too ([`run_due_at`]).
async fn dependants_changed(
    core: &Core,
    conn: &mut Conn,
    changes: &Changes,
    hashes: &[Vec<u8>],
) -> Result<usize, CoreError> {
    let now = core.clock.now();
    let mut adults: std::collections::BTreeMap<Vec<u8>, Vec<i64>> = Default::default();
    for (member, adult) in family::verified_adults_of_many(conn, hashes).await? {
        adults.entry(member).or_default().push(adult);
    }
    let mut queued = 0;
    for (member, adults) in adults {
        let (pcr_rows, contact_rows) = records_of(&core.vault, conn, &member).await?;
        let (old_pcr, old_contacts) = records_before(changes, &pcr_rows, &contact_rows);
        let (pcr, contacts) = engine_records(&pcr_rows, &contact_rows);
        let before = family::watch_get(conn, &member)
            .await?
            .and_then(|w| Colour::parse(&w.colour))
            .unwrap_or(status::evaluate(&old_pcr, &old_contacts, now).colour);
        let after = status::evaluate(&pcr, &contacts, now);
        if before != after.colour {
            queued += notify_adults(core, conn, &member, &adults, before, &after).await?;
        }
        put_dependant_watch(core, conn, &member, &after, &pcr, &contacts).await?;
    }
    Ok(queued)
}

async fn put_dependant_watch(
    core: &Core,
    conn: &mut Conn,
    member: &[u8],
    st: &Status,
    pcr: &[PcrRecord],
    contacts: &[ContactRecord],
) -> Result<(), CoreError> {
    let now = core.clock.now();
    let row = family::WatchRow {
        iin_hash: member.to_vec(),
        colour: st.colour.as_str().to_string(),
        since_at: st.since.map(|t| t.timestamp_millis()),
        next_change_at: status::next_change(pcr, contacts, now).map(|t| t.timestamp_millis()),
    };
    family::watch_put(conn, &row, core.now_ms()).await?;
    Ok(())
}

/// A dependant's new colour to each chat of each verified adult linked to them: the
/// dependant named by the masked IIN, deduplicated per change and chat.
async fn notify_adults(
    core: &Core,
    conn: &mut Conn,
    member: &[u8],
    adults: &[i64],
    from: Colour,
    st: &Status,
) -> Result<usize, CoreError> {
    let who = match family::sealed_iin(conn, member).await? {
        Some(sealed) => {
            let iin = core.vault.open(Field::Iin, &sealed)?;
            Iin::parse(iin.as_str())
                .map(|i| i.masked())
                .unwrap_or_else(|_| "—".into())
        }
        None => "—".into(),
    };
    let now = core.clock.now();
    let since_ms = st.since.map_or(0, |t| t.timestamp_millis());
    let tag = hex::encode(&member[..member.len().min(8)]);
    let mut queued = 0;
    for &adult in adults {
        for (chat, lang) in health::chats_of_person(conn, adult).await? {
            let lang = lang
                .as_deref()
                .and_then(Lang::from_code)
                .unwrap_or(Lang::FALLBACK);
            let out = Outbound {
                to: Recipient::Chat(chat.clone()),
                lang,
                text: status_args(
                    Msg::new("family-status-changed").arg("who", who.clone()),
                    st,
                    now,
                ),
                keyboard: super::Keyboard::Keep,
                relay: None,
                attachment: None,
            };
            let key = format!(
                "family-status:{adult}:{tag}:{from}>{}:{since_ms}:{}:{}",
                st.colour, chat.channel, chat.chat_id
            );
            if core.enqueue(conn, &chat, &out, Some(&key), None).await? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// Dependants' colours that change by themselves (a red period ending): one pass.
async fn dependants_due(core: &Core, now: DateTime<Utc>) -> Result<usize, CoreError> {
    let mut queued = 0;
    loop {
        let mut tx = core.store.begin().await?;
        let due = family::watch_due(&mut tx, now.timestamp_millis(), 200).await?;
        if due.is_empty() {
            tx.rollback().await?;
            break;
        }
        let mut adults: std::collections::BTreeMap<Vec<u8>, Vec<i64>> = Default::default();
        for (member, adult) in family::verified_adults_of_many(&mut tx, &due).await? {
            adults.entry(member).or_default().push(adult);
        }
        for member in due {
            let watch = family::watch_get(&mut tx, &member).await?;
            let (p, c) = records_of(&core.vault, &mut tx, &member).await?;
            let (pcr, contacts) = engine_records(&p, &c);
            let st = status::evaluate(&pcr, &contacts, now);
            let before = watch.as_ref().and_then(|w| Colour::parse(&w.colour));
            if let (Some(before), Some(adults)) = (before, adults.get(&member))
                && before != st.colour
            {
                queued += notify_adults(core, &mut tx, &member, adults, before, &st).await?;
            }
            let row = family::WatchRow {
                iin_hash: member.clone(),
                colour: st.colour.as_str().to_string(),
                since_at: st.since.map(|t| t.timestamp_millis()),
                next_change_at: status::next_change(&pcr, &contacts, now)
                    .map(|t| t.timestamp_millis()),
            };
            family::watch_put(&mut tx, &row, now.timestamp_millis()).await?;
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// The notifier's one pass: every watched person whose colour was due to change by
/// `now` is re-evaluated; a changed colour is announced and the watch moves on. Safe to
/// run twice and after a restart (the watch and the dedupe keys are in the database).
/// Returns the notices queued.
pub async fn run_due(core: &Core) -> Result<usize, CoreError> {
    run_due_at(core, core.clock.now()).await
}

/// [`run_due`] at `now`.
pub async fn run_due_at(
    core: &Core,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, CoreError> {
    let mut queued = 0;
    loop {
        let mut tx = core.store.begin().await?;
        let due = health::watch_due(&mut tx, now.timestamp_millis(), 200).await?;
        if due.is_empty() {
            tx.rollback().await?;
            break;
        }
        for person_id in due {
            let watch = health::watch_get(&mut tx, person_id).await?;
            let hash = people::get(&mut tx, person_id)
                .await?
                .and_then(|p| p.iin_hash);
            let (pcr, contacts) = match &hash {
                Some(h) => {
                    let (p, c) = records_of(&core.vault, &mut tx, h).await?;
                    engine_records(&p, &c)
                }
                None => (Vec::new(), Vec::new()),
            };
            let st = status::evaluate(&pcr, &contacts, now);
            let before = watch.as_ref().and_then(|w| Colour::parse(&w.colour));
            if before != Some(st.colour) {
                queued += notify(core, &mut tx, person_id, before, &st).await?;
            }
            put_watch(core, &mut tx, person_id, &st, &pcr, &contacts).await?;
        }
        tx.commit().await?;
    }
    queued += dependants_due(core, now).await?;
    if queued > 0 {
        core.outbox_ready.notify_waiters();
    }
    Ok(queued)
}

/// The status notifier (a [`Job`]): runs [`run_due`] whenever a change is due, looking at
/// least every minute so new watches are seen.
pub struct Notifier;

impl Job for Notifier {
    fn name(&self) -> &'static str {
        "status-notifier"
    }

    fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(60)
    }

    fn run_due<'a>(
        &'a self,
        core: &'a Core,
        now: chrono::DateTime<chrono::Utc>,
    ) -> JobFuture<'a, Result<usize, CoreError>> {
        Box::pin(run_due_at(core, now))
    }

    fn next_wait<'a>(&'a self, core: &'a Core) -> JobFuture<'a, std::time::Duration> {
        Box::pin(async move {
            let wait_ms = match core.store.pool().acquire().await {
                Ok(mut conn) => {
                    let people = health::watch_next(&mut conn).await.ok().flatten();
                    let dependants = family::watch_next(&mut conn).await.ok().flatten();
                    match people.into_iter().chain(dependants).min() {
                        Some(next) => (next - core.now_ms()).clamp(0, 60_000),
                        None => 60_000,
                    }
                }
                Err(_) => 60_000,
            };
            std::time::Duration::from_millis(wait_ms as u64 + 10)
        })
    }
}

/// Prunes the status caches' change log (a [`Job`], every 10 minutes): every cache has
/// read an entry within seconds, so a day is ample. A job of its own so the log is pruned
/// whether or not this process has a cache.
pub struct PruneChanges;

impl Job for PruneChanges {
    fn name(&self) -> &'static str {
        "health-changes-prune"
    }

    fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(600)
    }

    fn run_due<'a>(
        &'a self,
        core: &'a Core,
        now: chrono::DateTime<chrono::Utc>,
    ) -> JobFuture<'a, Result<usize, CoreError>> {
        Box::pin(async move {
            let day_ago = now.timestamp_millis() - 86_400_000;
            let mut conn = core
                .store
                .pool()
                .acquire()
                .await
                .map_err(StoreError::from)?;
            Ok(health::prune_changes(&mut conn, day_ago).await? as usize)
        })
    }
}
