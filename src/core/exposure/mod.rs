//! Co-visitor exposure warnings (issue 18; shared/domain.md, "decision, exposure").
//!
//! When a positive PCR result is committed by any feed, the feed's transaction only queues a
//! job ([`queue`]); [`run_jobs`] does the work later, each job in its own transaction:
//!
//! 1. The infectious window: from 00:00 (Astana time) `days_before` days before the sample's
//!    date until the result (`result_at`).
//! 2. The positive person's admitted visits (by account, or by IIN hash for guard-mode
//!    entries) at venues whose warnings are on, clipped to the window. A visit without an
//!    exit counts until its automatic check-out (`closes_at`); a visit that ends before it
//!    starts counts for nothing.
//! 3. At each such venue, the other admitted visits that overlap one of them by at least
//!    `min_overlap` (one indexed range query per visit).
//! 4. One warning per co-visitor, venue and local day of the visit (`exposure_warnings`,
//!    unique), linked to every case that justifies it (`exposure_links`). A warning is sent
//!    once (outbox, dedupe key with the warning's id and generation), whatever the number of
//!    cases or deliveries of the job; it says where and when (the co-visitor's own visit
//!    that day) and what to do, never who or their colour.
//! 5. The region's sanitary chat gets a summary per venue (window, number of co-visitors,
//!    the case's external id for `ashyq exposure export`); the venue's owners get the
//!    number of warned visitors only when it is at least [`OWNER_MIN_COUNT`].
//!
//! 6. A dependant's visit (checked in with an adult: no account, no chat, only the IIN
//!    hash and `checkins.group_of`) is warned to the adult who checked them in, or, when no
//!    such adult is still linked and verified, to the dependant's verified adults
//!    ([`dependant_recipients`]); the dependant is named by the masked IIN only. A dependant
//!    who is the positive case is found by the IIN hash of their visits like a guard-mode
//!    visitor.
//!
//! A withdrawn result queues a `withdrawn` job: its links are removed, and every warning no
//! other live case justifies gets a short correction. Nothing here changes anyone's colour:
//! only epidemiologists designate contacts, through the contacts feed.

pub mod export;
pub mod retention;

use super::{Core, CoreError, Outbound};
use crate::clock::local_time;
use crate::crypto::Field;
use crate::domain::{Iin, Lang};
use crate::i18n::Msg;
use crate::storage::exposure::{self as store, CaseRow, CoVisit, NewWarning};
use crate::storage::venues::alert_chat;
use crate::storage::venues::owner_chats;
use crate::storage::{ChatRef, Conn, Tx, family, people};
use chrono::{NaiveDate, NaiveTime};
use std::collections::{BTreeMap, BTreeSet, HashSet};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Astana time is UTC+5 all year.
const LOCAL_OFFSET_MS: i64 = 5 * 3_600_000;
/// The venue's owners learn the number of warned visitors only from this many on.
pub const OWNER_MIN_COUNT: usize = 3;
/// How far back the positive person's visits are looked for before the window starts (a
/// visit that began before the window may still overlap it). Longer than any maximum stay.
const CASE_LOOKBACK_MS: i64 = 7 * DAY_MS;
/// A visit may end a little after its venue's maximum stay (an exit pressed late while the
/// automatic check-out was down); the co-visit range allows for it.
const STAY_MARGIN_MS: i64 = 3_600_000;
/// Jobs one [`run_jobs`] call takes.
const JOBS_PER_RUN: i64 = 200;
/// A job that failed this often waits for an operator.
const MAX_ATTEMPTS: i64 = 10;

/// `EXPOSURE_DAYS_BEFORE`, `EXPOSURE_MIN_OVERLAP_MINUTES`, `VISIT_RETENTION_DAYS`,
/// `AUDIT_RETENTION_DAYS`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureSettings {
    /// The infectious window starts this many days before the sample's date (default 2).
    pub days_before: i64,
    /// The least overlap that makes a co-visitor, in minutes (default 15).
    pub min_overlap_minutes: i64,
    /// Visits (and the warnings about them) are deleted after this many days (default 28).
    pub visit_retention_days: i64,
    /// Check-in audit lines, which sanitary alerts cite, and export audit lines are kept this
    /// many days (default 365).
    pub audit_retention_days: i64,
}

impl Default for ExposureSettings {
    fn default() -> Self {
        Self {
            days_before: 2,
            min_overlap_minutes: 15,
            visit_retention_days: 28,
            audit_retention_days: 365,
        }
    }
}

impl ExposureSettings {
    /// From the environment (`var` reads one variable); anything unreadable keeps its default.
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let num = |k: &str, default: i64, min: i64| {
            var(k)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v >= min)
                .unwrap_or(default)
        };
        Self {
            days_before: num("EXPOSURE_DAYS_BEFORE", d.days_before, 0),
            min_overlap_minutes: num("EXPOSURE_MIN_OVERLAP_MINUTES", d.min_overlap_minutes, 1),
            visit_retention_days: num("VISIT_RETENTION_DAYS", d.visit_retention_days, 1),
            audit_retention_days: num("AUDIT_RETENTION_DAYS", d.audit_retention_days, 1),
        }
    }

    pub fn min_overlap_ms(&self) -> i64 {
        self.min_overlap_minutes * MINUTE_MS
    }

    /// The infectious window of a sample taken at `taken_ms` with its result at `result_ms`.
    pub fn window(&self, taken_ms: i64, result_ms: i64) -> (i64, i64) {
        let day = local_day(taken_ms) - chrono::Days::new(self.days_before.max(0) as u64);
        (local_midnight_ms(day), result_ms)
    }
}

/// The local (Astana) date of an instant.
pub fn local_day(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms + LOCAL_OFFSET_MS)
        .unwrap_or_default()
        .date_naive()
}

/// 00:00 Astana time of `day`, in UTC milliseconds.
pub fn local_midnight_ms(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp_millis() - LOCAL_OFFSET_MS
}

/// Queues the exposure jobs of a feed's changes, in the feed's transaction: `positive` for
/// every new positive result, `withdrawn` for every withdrawn one (negative results queue
/// nothing).
pub async fn queue(
    conn: &mut Conn,
    new_pcr: &HashSet<i64>,
    withdrawn_pcr: &HashSet<i64>,
    now_ms: i64,
) -> Result<(), CoreError> {
    let mut ids: Vec<i64> = new_pcr.iter().copied().collect();
    ids.sort_unstable();
    store::queue_jobs(conn, &ids, "positive", now_ms).await?;
    let mut ids: Vec<i64> = withdrawn_pcr.iter().copied().collect();
    ids.sort_unstable();
    store::queue_jobs(conn, &ids, "withdrawn", now_ms).await?;
    Ok(())
}

/// What one run of the jobs did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobReport {
    pub jobs: usize,
    pub failed: usize,
    /// Co-visitor groups found (co-visitor, venue, day), new or already warned.
    pub co_visitors: usize,
    /// Warnings queued (first or renewed).
    pub warned: usize,
    /// Corrections queued.
    pub corrected: usize,
}

/// Processes the queued jobs, oldest first, each in its own transaction, until none is left.
pub async fn run_jobs(core: &Core) -> Result<JobReport, CoreError> {
    let mut report = JobReport::default();
    loop {
        let jobs = {
            let mut conn = core.store.pool().acquire().await?;
            store::due_jobs(&mut conn, JOBS_PER_RUN, MAX_ATTEMPTS).await?
        };
        if jobs.is_empty() {
            break;
        }
        let mut progressed = false;
        for job in &jobs {
            match run_job(core, job).await {
                Ok(Some(r)) => {
                    progressed = true;
                    report.jobs += 1;
                    report.co_visitors += r.co_visitors;
                    report.warned += r.warned;
                    report.corrected += r.corrected;
                }
                Ok(None) => progressed = true,
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(job = job.id, pcr = job.pcr_id, error = %e, "exposure job failed");
                    let mut conn = core.store.pool().acquire().await?;
                    store::fail_job(&mut conn, job.id, &e.to_string()).await?;
                }
            }
        }
        if !progressed || (jobs.len() as i64) < JOBS_PER_RUN {
            break;
        }
    }
    if report.warned + report.corrected > 0 {
        core.outbox_ready.notify_waiters();
    }
    Ok(report)
}

/// One job in its own transaction; `None` when another worker already did it.
async fn run_job(core: &Core, job: &store::JobRow) -> Result<Option<JobReport>, CoreError> {
    let now = core.now_ms();
    let mut tx = core.store.begin().await?;
    if !store::claim_job(&mut tx, job.id, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let report = match store::case(&mut tx, job.pcr_id).await? {
        None => JobReport::default(),
        Some(case) if job.kind == "withdrawn" => on_withdrawn(core, &mut tx, &case).await?,
        // A result withdrawn before its job ran warns nobody (its `withdrawn` job then finds
        // nothing to correct).
        Some(case) if case.positive == 1 && case.withdrawn_at.is_none() => {
            on_positive(core, &mut tx, &case).await?
        }
        Some(_) => JobReport::default(),
    };
    tx.commit().await?;
    Ok(Some(JobReport { jobs: 1, ..report }))
}

/// One co-visitor at one venue on one day, as found for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct CoVisitor {
    pub person_key: String,
    pub person_id: Option<i64>,
    pub iin_hash: Option<Vec<u8>>,
    pub venue_id: i64,
    /// Local date of the visit, `YYYY-MM-DD`.
    pub day: String,
    /// The co-visitor's own visit(s) that day: first entry, last end.
    pub visit_from: i64,
    pub visit_to: i64,
    /// The overlap with the positive person's visits: first start, last end.
    pub overlap_from: i64,
    pub overlap_to: i64,
}

/// The positive person's stay at one venue within the window.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseStay {
    pub venue_id: i64,
    pub venue_name: String,
    pub region: String,
    pub from: i64,
    pub to: i64,
}

/// The co-visitors of a case: the pure part of the job, over the database's visits. Also
/// the positive person's stays per venue (clipped to the window), for the summaries.
pub async fn find_co_visitors(
    conn: &mut Conn,
    settings: &ExposureSettings,
    case: &CaseRow,
) -> Result<(Vec<CaseStay>, Vec<CoVisitor>), CoreError> {
    let (from, to) = settings.window(case.taken_at, case.result_at);
    let min = settings.min_overlap_ms();
    let person = crate::storage::people::find_by_iin_hash(conn, &case.iin_hash).await?;
    // Exposure jobs wait while a key rotation runs (`run_loop`), so every hash is current.
    let current = case.iin_hash.clone();
    let visits = store::case_visits(
        conn,
        person,
        &case.iin_hash,
        from,
        to,
        CASE_LOOKBACK_MS,
        &current,
    )
    .await?;
    let mut stays: BTreeMap<i64, CaseStay> = BTreeMap::new();
    let mut groups: BTreeMap<(String, i64, String), CoVisitor> = BTreeMap::new();
    for v in visits {
        let s = v.entered_at.max(from);
        let e = v.end_at.min(to);
        if e - s < min {
            continue; // outside the window, too short, or ends before it starts
        }
        let stay = stays.entry(v.venue_id).or_insert_with(|| CaseStay {
            venue_id: v.venue_id,
            venue_name: v.venue_name.clone(),
            region: v.region.clone(),
            from: s,
            to: e,
        });
        stay.from = stay.from.min(s);
        stay.to = stay.to.max(e);
        let longest = v.max_stay_ms + STAY_MARGIN_MS;
        let co =
            store::co_visits(conn, v.venue_id, s, e, min, longest, person, &case.iin_hash).await?;
        for c in co {
            add_co_visit(&mut groups, v.venue_id, s, e, &c);
        }
    }
    Ok((
        stays.into_values().collect(),
        groups.into_values().collect(),
    ))
}

fn add_co_visit(
    groups: &mut BTreeMap<(String, i64, String), CoVisitor>,
    venue_id: i64,
    s: i64,
    e: i64,
    c: &CoVisit,
) {
    let person_key = match (c.person_id, &c.iin_hash) {
        (Some(p), _) => format!("p:{p}"),
        (None, Some(h)) => format!("h:{}", hex::encode(h)),
        // A visitor who deleted their account left no identity behind.
        (None, None) => return,
    };
    let day = local_day(c.entered_at).format("%Y-%m-%d").to_string();
    let (of, ot) = (c.entered_at.max(s), c.end_at.min(e));
    let g = groups
        .entry((person_key.clone(), venue_id, day.clone()))
        .or_insert_with(|| CoVisitor {
            person_key,
            person_id: c.person_id,
            iin_hash: c.iin_hash.clone(),
            venue_id,
            day,
            visit_from: c.entered_at,
            visit_to: c.end_at,
            overlap_from: of,
            overlap_to: ot,
        });
    g.visit_from = g.visit_from.min(c.entered_at);
    g.visit_to = g.visit_to.max(c.end_at);
    g.overlap_from = g.overlap_from.min(of);
    g.overlap_to = g.overlap_to.max(ot);
    if g.person_id.is_none() {
        g.person_id = c.person_id;
    }
}

fn lang_of(code: Option<&str>) -> Lang {
    code.and_then(Lang::from_code).unwrap_or(Lang::FALLBACK)
}

async fn on_positive(core: &Core, tx: &mut Tx, case: &CaseRow) -> Result<JobReport, CoreError> {
    let now = core.now_ms();
    let (stays, found) = find_co_visitors(tx, &core.exposure, case).await?;
    let mut report = JobReport {
        co_visitors: found.len(),
        ..JobReport::default()
    };
    if found.is_empty() && stays.is_empty() {
        return Ok(report);
    }
    let new: Vec<NewWarning> = found
        .iter()
        .map(|c| NewWarning {
            person_key: c.person_key.clone(),
            person_id: c.person_id,
            iin_hash: c.iin_hash.clone(),
            venue_id: c.venue_id,
            day: c.day.clone(),
            visit_from: c.visit_from,
            visit_to: c.visit_to,
        })
        .collect();
    let rows = store::upsert_warnings(tx, &new, now).await?;
    let by_key: BTreeMap<(&str, i64, &str), &store::WarningRow> = rows
        .iter()
        .map(|w| ((w.person_key.as_str(), w.venue_id, w.day.as_str()), w))
        .collect();
    let mut links = Vec::with_capacity(found.len());
    for c in &found {
        if let Some(w) = by_key.get(&(c.person_key.as_str(), c.venue_id, c.day.as_str())) {
            links.push((w.id, case.id, c.venue_id, c.overlap_from, c.overlap_to));
        }
    }
    store::insert_links(tx, &links).await?;
    let ids: Vec<i64> = rows.iter().map(|w| w.id).collect();
    let to_send: BTreeMap<i64, i64> = store::activate(tx, &ids, now).await?.into_iter().collect();
    let sending: Vec<&store::WarningRow> = rows
        .iter()
        .filter(|w| to_send.contains_key(&w.id))
        .collect();
    let names: BTreeMap<i64, String> = stays
        .iter()
        .map(|s| (s.venue_id, s.venue_name.clone()))
        .collect();
    // Chats of every co-visitor with an account: the new warnings go to them, and those
    // with a chat are the "warned" the owners may count.
    let mut persons: Vec<i64> = found.iter().filter_map(|c| c.person_id).collect();
    // Dependants' visits (no account): the adults to tell, per co-visitor, venue and day.
    let case_person = people::find_by_iin_hash(tx, &case.iin_hash).await?;
    let mut dependants: BTreeMap<(String, i64, String), Vec<(i64, String)>> = BTreeMap::new();
    // A visitor by hash only with a verified account of their own (an adult relative checked
    // in with an adult) gets the ordinary warning too.
    let mut own: BTreeMap<(String, i64, String), i64> = BTreeMap::new();
    for c in found.iter().filter(|c| c.person_id.is_none()) {
        let Some(hash) = &c.iin_hash else { continue };
        if let Some(p) = store::verified_person_by_hash(tx, hash).await?
            && Some(p) != case_person
        {
            persons.push(p);
            own.insert((c.person_key.clone(), c.venue_id, c.day.clone()), p);
        }
        let adults =
            dependant_recipients(tx, hash, c.venue_id, c.visit_from, c.visit_to, case_person)
                .await?;
        if !adults.is_empty() {
            persons.extend(adults.iter().map(|a| a.0));
            dependants.insert((c.person_key.clone(), c.venue_id, c.day.clone()), adults);
        }
    }
    persons.sort_unstable();
    persons.dedup();
    let chats = chats_by_person(tx, &persons).await?;
    for w in &sending {
        let generation = to_send[&w.id];
        let key = (w.person_key.clone(), w.venue_id, w.day.clone());
        if let (None, Some(adults), Some(hash)) = (w.person_id, dependants.get(&key), &w.iin_hash) {
            let who = masked_dependant(core, tx, hash).await?;
            let venue = names.get(&w.venue_id).cloned().unwrap_or_default();
            for (adult, relation) in adults {
                for (chat, lang) in chats.get(adult).into_iter().flatten() {
                    let msg = Outbound::to_chat(
                        chat.clone(),
                        *lang,
                        Msg::new("exposure-warning-dependant")
                            .arg("relation", relation.clone())
                            .arg("who", who.clone())
                            .arg("venue", venue.clone())
                            .date_of("date", w.visit_from)
                            .arg("from", local_time(w.visit_from))
                            .arg("to", local_time(w.visit_to)),
                    );
                    let key = format!(
                        "exp-warn:{}:{generation}:{}:{}",
                        w.id, chat.channel, chat.chat_id
                    );
                    if core.enqueue(tx, chat, &msg, Some(&key), None).await? {
                        report.warned += 1;
                    }
                }
            }
        }
        let Some(person) = w.person_id.or_else(|| own.get(&key).copied()) else {
            continue;
        };
        let venue = names.get(&w.venue_id).cloned().unwrap_or_default();
        for (chat, lang) in chats.get(&person).into_iter().flatten() {
            let msg = Outbound::to_chat(
                chat.clone(),
                *lang,
                Msg::new("exposure-warning")
                    .arg("venue", venue.clone())
                    .date_of("date", w.visit_from)
                    .arg("from", local_time(w.visit_from))
                    .arg("to", local_time(w.visit_to)),
            );
            let key = format!(
                "exp-warn:{}:{generation}:{}:{}",
                w.id, chat.channel, chat.chat_id
            );
            if core.enqueue(tx, chat, &msg, Some(&key), None).await? {
                report.warned += 1;
            }
        }
    }
    // Per venue: the sanitary summary and, from OWNER_MIN_COUNT on, the owners' count.
    for stay in &stays {
        let at_venue: BTreeSet<&str> = found
            .iter()
            .filter(|c| c.venue_id == stay.venue_id)
            .map(|c| c.person_key.as_str())
            .collect();
        let count = at_venue.len();
        if count == 0 {
            continue;
        }
        match alert_chat(tx, &stay.region).await? {
            Some((to, lang)) => {
                let lang = lang_of(lang.as_deref());
                let msg = Outbound::to_chat(
                    to.clone(),
                    lang,
                    Msg::new("exposure-sanitary-summary")
                        .arg("venue", stay.venue_name.clone())
                        .arg("venue_id", stay.venue_id.to_string())
                        .date_time("start", stay.from)
                        .date_time("end", stay.to)
                        .num("count", count as i64)
                        .num("minutes", core.exposure.min_overlap_minutes)
                        .arg("case", case.external_id.clone()),
                );
                let key = format!("exp-san:{}:{}", case.id, stay.venue_id);
                core.enqueue(tx, &to, &msg, Some(&key), None).await?;
            }
            None => {
                tracing::warn!(region = %stay.region, venue = stay.venue_id, "no sanitary-control chat configured for the region");
            }
        }
        // The owners learn how many visitors were advised (had a chat to receive it).
        let advised: BTreeSet<&str> = found
            .iter()
            .filter(|c| c.venue_id == stay.venue_id)
            .filter(|c| {
                let key = (c.person_key.clone(), c.venue_id, c.day.clone());
                match c.person_id.or_else(|| own.get(&key).copied()) {
                    Some(p) if chats.contains_key(&p) => true,
                    _ => dependants
                        .get(&key)
                        .is_some_and(|a| a.iter().any(|(p, _)| chats.contains_key(p))),
                }
            })
            .map(|c| c.person_key.as_str())
            .collect();
        if advised.len() >= OWNER_MIN_COUNT {
            for (to, lang) in owner_chats(tx, stay.venue_id).await? {
                let msg = Outbound::to_chat(
                    to.clone(),
                    lang_of(lang.as_deref()),
                    Msg::new("exposure-owner-count")
                        .arg("venue", stay.venue_name.clone())
                        .date_of("date", stay.from)
                        .num("count", advised.len() as i64),
                );
                let key = format!(
                    "exp-owner:{}:{}:{}:{}",
                    case.id, stay.venue_id, to.channel, to.chat_id
                );
                core.enqueue(tx, &to, &msg, Some(&key), None).await?;
            }
        }
    }
    Ok(report)
}

/// Who is told about the visit of a visitor without an account (a dependant checked in with
/// an adult, or a guard-mode entry) at `venue_id` that started between `from` and `to`:
/// `(person id, relation)`. The adult who checked them in for that visit, when that adult is
/// still linked to them and registry-verified; otherwise every verified adult linked to them
/// (registry, school list or consent). Never the positive person (`case_person`). Empty for
/// a visitor who is nobody's dependant; a removed link tells nothing from then on.
async fn dependant_recipients(
    conn: &mut Conn,
    hash: &[u8],
    venue_id: i64,
    from: i64,
    to: i64,
    case_person: Option<i64>,
) -> Result<Vec<(i64, String)>, CoreError> {
    let mut adults = store::dependant_adults(conn, hash, venue_id, from, to).await?;
    adults.retain(|a| Some(a.person_id) != case_person);
    let mut seen = BTreeSet::new();
    // Ordered by person and relation: `child` is kept before `relative`.
    adults.retain(|a| seen.insert(a.person_id));
    if adults.iter().any(|a| a.checked_in > 0) {
        adults.retain(|a| a.checked_in > 0);
    }
    Ok(adults
        .into_iter()
        .map(|a| (a.person_id, a.relation))
        .collect())
}

/// A dependant as the adult may see them: the masked IIN (`•••• •••• 1234`).
async fn masked_dependant(core: &Core, conn: &mut Conn, hash: &[u8]) -> Result<String, CoreError> {
    Ok(match family::sealed_iin(conn, hash).await? {
        Some(sealed) => {
            let iin = core.vault.open(Field::Iin, &sealed)?;
            Iin::parse(iin.as_str())
                .map(|i| i.masked())
                .unwrap_or_else(|_| "—".into())
        }
        None => "—".into(),
    })
}

async fn chats_by_person(
    conn: &mut Conn,
    people: &[i64],
) -> Result<BTreeMap<i64, Vec<(ChatRef, Lang)>>, CoreError> {
    let mut out: BTreeMap<i64, Vec<(ChatRef, Lang)>> = BTreeMap::new();
    for (person, channel, chat_id, lang) in store::chats_of_people(conn, people).await? {
        out.entry(person)
            .or_default()
            .push((ChatRef::new(&channel, chat_id), lang_of(lang.as_deref())));
    }
    Ok(out)
}

async fn on_withdrawn(core: &Core, tx: &mut Tx, case: &CaseRow) -> Result<JobReport, CoreError> {
    let now = core.now_ms();
    let warned = store::warnings_of_case(tx, case.id).await?;
    store::unlink_case(tx, case.id).await?;
    let mut report = JobReport::default();
    if warned.is_empty() {
        return Ok(report);
    }
    let ids: Vec<i64> = warned.iter().map(|w| w.id).collect();
    let orphaned: BTreeMap<i64, i64> = store::orphan(tx, &ids, now).await?.into_iter().collect();
    let mut persons: Vec<i64> = warned
        .iter()
        .filter(|w| orphaned.contains_key(&w.id))
        .filter_map(|w| w.person_id)
        .collect();
    // Dependants' warnings: the same adults as the warning went to (as they are linked now).
    let case_person = people::find_by_iin_hash(tx, &case.iin_hash).await?;
    let mut dependants: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    let mut own: BTreeMap<i64, i64> = BTreeMap::new();
    for w in warned.iter().filter(|w| orphaned.contains_key(&w.id)) {
        let (None, Some(hash)) = (w.person_id, &w.iin_hash) else {
            continue;
        };
        if let Some(p) = store::verified_person_by_hash(tx, hash).await?
            && Some(p) != case_person
        {
            persons.push(p);
            own.insert(w.id, p);
        }
        let adults =
            dependant_recipients(tx, hash, w.venue_id, w.visit_from, w.visit_to, case_person)
                .await?;
        persons.extend(adults.iter().map(|a| a.0));
        dependants.insert(w.id, adults);
    }
    persons.sort_unstable();
    persons.dedup();
    let chats = chats_by_person(tx, &persons).await?;
    let mut venues: BTreeMap<i64, (String, String)> = BTreeMap::new();
    for w in &warned {
        if !venues.contains_key(&w.venue_id)
            && let Some(v) = store::venue_name_region(tx, w.venue_id).await?
        {
            venues.insert(w.venue_id, v);
        }
    }
    for w in &warned {
        let Some(generation) = orphaned.get(&w.id) else {
            continue; // another live case still justifies it
        };
        let venue = venues
            .get(&w.venue_id)
            .map(|v| v.0.clone())
            .unwrap_or_default();
        if let (None, Some(adults), Some(hash)) = (w.person_id, dependants.get(&w.id), &w.iin_hash)
            && !adults.is_empty()
        {
            let who = masked_dependant(core, tx, hash).await?;
            for (adult, relation) in adults {
                for (chat, lang) in chats.get(adult).into_iter().flatten() {
                    let msg = Outbound::to_chat(
                        chat.clone(),
                        *lang,
                        Msg::new("exposure-correction-dependant")
                            .arg("relation", relation.clone())
                            .arg("who", who.clone())
                            .arg("venue", venue.clone())
                            .date_of("date", w.visit_from),
                    );
                    let key = format!(
                        "exp-corr:{}:{generation}:{}:{}",
                        w.id, chat.channel, chat.chat_id
                    );
                    if core.enqueue(tx, chat, &msg, Some(&key), None).await? {
                        report.corrected += 1;
                    }
                }
            }
        }
        let Some(person) = w.person_id.or_else(|| own.get(&w.id).copied()) else {
            continue;
        };
        for (chat, lang) in chats.get(&person).into_iter().flatten() {
            let msg = Outbound::to_chat(
                chat.clone(),
                *lang,
                Msg::new("exposure-correction")
                    .arg("venue", venue.clone())
                    .date_of("date", w.visit_from),
            );
            let key = format!(
                "exp-corr:{}:{generation}:{}:{}",
                w.id, chat.channel, chat.chat_id
            );
            if core.enqueue(tx, chat, &msg, Some(&key), None).await? {
                report.corrected += 1;
            }
        }
    }
    // The sanitary chats that got a summary learn that the case is void.
    for (venue_id, (name, region)) in &venues {
        let warnings = warned.iter().filter(|w| w.venue_id == *venue_id).count();
        let still = warnings
            - warned
                .iter()
                .filter(|w| w.venue_id == *venue_id && orphaned.contains_key(&w.id))
                .count();
        if let Some((to, lang)) = alert_chat(tx, region).await? {
            let lang = lang_of(lang.as_deref());
            let msg = Outbound::to_chat(
                to.clone(),
                lang,
                Msg::new("exposure-sanitary-withdrawn")
                    .arg("venue", name.clone())
                    .arg("venue_id", venue_id.to_string())
                    .arg("case", case.external_id.clone())
                    .num("count", warnings as i64)
                    .num("still", still as i64),
            );
            let key = format!("exp-san-w:{}:{venue_id}", case.id);
            core.enqueue(tx, &to, &msg, Some(&key), None).await?;
        }
    }
    Ok(report)
}

/// Runs the jobs every `every` and the retention job once an hour, until `stop`.
pub async fn run_loop(
    core: std::sync::Arc<Core>,
    every: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut last_retention: Option<std::time::Instant> = None;
    loop {
        // While a key rotation runs, a case's hash and the rows it finds may be under
        // different key versions (docs/SECURITY.md, "Key rotation"): the jobs wait for its end.
        if core.vault.state().previous.is_some() {
            tracing::info!("exposure jobs wait for the key rotation to end");
        } else if let Err(e) = run_jobs(&core).await {
            tracing::error!(error = %e, "exposure jobs failed");
        }
        if last_retention.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(3600)) {
            match retention::run_due(&core, core.clock.now()).await {
                Ok(p) => {
                    last_retention = Some(std::time::Instant::now());
                    if p.total() > 0 {
                        tracing::info!(?p, "retention: old visits and audit lines deleted");
                    }
                }
                Err(e) => tracing::error!(error = %e, "retention failed"),
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn the_window_starts_at_local_midnight_two_days_before_the_sample() {
        let s = ExposureSettings::default();
        // Sample 10 Nov 01:00 Astana time (9 Nov 20:00 UTC): the local date is 10 Nov.
        let (from, to) = s.window(ms("2026-11-09T20:00:00Z"), ms("2026-11-11T09:00:00Z"));
        assert_eq!(from, ms("2026-11-08T00:00:00+05:00"));
        assert_eq!(to, ms("2026-11-11T09:00:00Z"));
        let s = ExposureSettings {
            days_before: 0,
            ..s
        };
        let (from, _) = s.window(ms("2026-11-09T20:00:00Z"), ms("2026-11-11T09:00:00Z"));
        assert_eq!(from, ms("2026-11-10T00:00:00+05:00"));
    }

    #[test]
    fn the_local_day_is_astana_time() {
        assert_eq!(
            local_day(ms("2026-11-09T19:30:00Z")).to_string(),
            "2026-11-10"
        );
        assert_eq!(
            local_day(ms("2026-11-09T18:59:59Z")).to_string(),
            "2026-11-09"
        );
    }

    #[test]
    fn settings_read_the_environment_and_keep_defaults_for_nonsense() {
        let vars = |k: &str| match k {
            "EXPOSURE_DAYS_BEFORE" => Some("3".to_string()),
            "EXPOSURE_MIN_OVERLAP_MINUTES" => Some("0".to_string()),
            "VISIT_RETENTION_DAYS" => Some("abc".to_string()),
            "AUDIT_RETENTION_DAYS" => Some("400".to_string()),
            _ => None,
        };
        let s = ExposureSettings::from_vars(&vars);
        assert_eq!(s.days_before, 3);
        assert_eq!(s.min_overlap_minutes, 15);
        assert_eq!(s.visit_retention_days, 28);
        assert_eq!(s.audit_retention_days, 400);
    }

    #[test]
    fn co_visits_group_by_person_venue_and_day() {
        let mut groups = BTreeMap::new();
        let base = ms("2026-11-10T10:00:00+05:00");
        let visit = |id, person, from: i64, to: i64| CoVisit {
            id,
            person_id: person,
            iin_hash: None,
            entered_at: from,
            end_at: to,
        };
        let h = 3_600_000;
        add_co_visit(
            &mut groups,
            1,
            base,
            base + 2 * h,
            &visit(1, Some(7), base - h, base + h / 2),
        );
        add_co_visit(
            &mut groups,
            1,
            base,
            base + 2 * h,
            &visit(2, Some(7), base + h, base + 3 * h),
        );
        add_co_visit(
            &mut groups,
            2,
            base,
            base + 2 * h,
            &visit(3, Some(7), base, base + h),
        );
        add_co_visit(
            &mut groups,
            1,
            base,
            base + 2 * h,
            &visit(4, None, base, base + h),
        );
        assert_eq!(
            groups.len(),
            2,
            "one group per person and venue; no identity, no group"
        );
        let g = &groups[&("p:7".to_string(), 1, "2026-11-10".to_string())];
        assert_eq!((g.visit_from, g.visit_to), (base - h, base + 3 * h));
        assert_eq!((g.overlap_from, g.overlap_to), (base, base + 2 * h));
    }
}
