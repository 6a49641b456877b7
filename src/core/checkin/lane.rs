//! Batched check-ins: the lane.
//!
//! At a venue's door in the morning, thousands of people check in at once. Handled one by
//! one, each check-in costs a transaction of about ten statements; here the check-ins that
//! arrive while one batch is being written share the next batch: one transaction, one
//! statement per step for all of them (the conversations, the doors, the visits, the update
//! ids, closing previous visits, the check-ins, the staff feed). At low
//! load a batch holds one check-in and costs what the one-by-one path costs.
//!
//! Only the common case takes the lane: a registered person at the main menu checks in by
//! deep link or photo at an entry that is open, and is admitted or refused without an alert.
//! An adult with dependants (asked "who is with you?") leaves it too; the conversations'
//! statement tells, so the lane costs no extra round trip.
//! Everything else — registration first, exits, repeats within a minute, refused or revoked
//! codes, suspended venues and venues in their test week, red and yellow attempts (which
//! alert sanitary control), guard mode, any database error — falls back to the one-by-one
//! path ([`super::intercept`]), which is the reference: the lane only ever writes what that
//! path would have written. Tests run the check-in suites with the lane on and off.
//!
//! There is no background task: a caller that finds a lane free writes a batch (its own
//! check-in and every one queued with it) while later callers queue; a caller whose
//! check-in was written by another returns its reply when that batch committed. At most
//! [`Lanes`]' count of batches are written at once, so at low load a check-in goes at once
//! and at high load batches grow. Adapters hand a chat's updates over one at a time, so a
//! chat has one check-in in flight; an update delivered twice at once is told apart by its
//! id in the database, whichever batch holds it.

use super::token::{Kind, TokenKeys};
use super::{Decision, Target, Via, alerts_sanitary_control, decide, door_target};
use super::{REPEAT_WINDOW_MS, result, staff_payloads, usable_now};
use crate::core::shared::routes::QuickCheckIn;
use crate::core::{Core, CoreError, Inbound, Outbound, State};
use crate::domain::Lang;
use crate::status::VenueCategory;
use crate::storage::venues::{self, CheckinView, Door, NewCheckin};
use crate::storage::{self, ChatRef, StoreError, conversations, outbox};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::oneshot;

/// Most check-ins one batch writes (the rest wait for the next batch).
pub const MAX_BATCH: usize = 32;

/// A check-in the lane may take, read from the event alone (no database yet).
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    chat: ChatRef,
    update_key: Option<String>,
    entrance_id: i64,
    kid: u16,
    via: Via,
}

/// What the lane did with a check-in.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Written and committed: the replies to send.
    Done(Vec<Outbound>),
    /// The update was processed before: the one-by-one path answers it (with the replies
    /// kept for it, if they were never sent).
    Duplicate,
    /// Not the lane's case (or the batch failed): handle it one by one.
    Fallback,
}

/// Whether a quick route (`crate::core::route::quick_check_in`) is a check-in the lane
/// may take: a verified entry code, from a chat that is not a service chat.
pub(crate) fn candidate(
    core: &Core,
    inbound: &Inbound,
    quick: Option<QuickCheckIn>,
) -> Option<Candidate> {
    let quick = quick?;
    if !core.checkin_lanes.enabled()
        || core.support.chat.as_ref() == Some(&inbound.chat)
        || core.channels.replies_through_outbox(&inbound.chat.channel)
    {
        return None;
    }
    let keys = TokenKeys::unchecked(core.vault.signing_key());
    let (token, via) = match quick {
        QuickCheckIn::Link(raw) => (keys.verify(&raw).ok()?, Via::Link),
        // The first code of ours that verifies counts, as on the one-by-one path.
        QuickCheckIn::Photo(raws) => (
            raws.iter().find_map(|raw| keys.verify(raw).ok())?,
            Via::Photo,
        ),
    };
    (token.kind == Kind::Entry).then(|| Candidate {
        chat: inbound.chat.clone(),
        update_key: inbound.update_key.clone(),
        entrance_id: token.entrance_id,
        kid: token.kid,
        via,
    })
}

struct Job {
    candidate: Candidate,
    done: oneshot::Sender<Outcome>,
}

/// The check-in lanes of a process: at most this many batches are written at once
/// (`ASHYQ_CHECKIN_LANES`; 0 turns batching off).
pub struct Lanes {
    lanes: usize,
    queue: std::sync::Mutex<Vec<Job>>,
    /// One permit per lane, held by the caller writing a batch.
    slots: tokio::sync::Semaphore,
    batches: AtomicU64,
    written: AtomicU64,
}

/// Counters since start: batches committed and the check-ins they wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneStats {
    pub batches: u64,
    pub checkins: u64,
}

/// Holds every lane idle (check-ins queue meanwhile) until dropped.
pub struct Pause<'a> {
    _held: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Default for Lanes {
    fn default() -> Self {
        Self::new(DEFAULT_LANES)
    }
}

/// Lanes by default: batches written at once. More lanes shorten the wait at moderate load
/// (each batch is a chain of round trips); fewer make larger batches (less work per
/// check-in) at high load. docs/PERFORMANCE.md has the measurements.
pub const DEFAULT_LANES: usize = 4;

impl Lanes {
    pub fn new(lanes: usize) -> Self {
        Self {
            lanes,
            queue: std::sync::Mutex::new(Vec::new()),
            slots: tokio::sync::Semaphore::new(lanes),
            batches: AtomicU64::new(0),
            written: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.lanes > 0
    }

    pub fn stats(&self) -> LaneStats {
        LaneStats {
            batches: self.batches.load(Ordering::Relaxed),
            checkins: self.written.load(Ordering::Relaxed),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Check-ins waiting for a batch now.
    pub fn queued(&self) -> usize {
        self.queue().len()
    }

    /// Stops writing batches until the pause is dropped; check-ins arriving meanwhile wait
    /// and then go in one batch (tests use it to form a batch at will).
    pub async fn pause(&self) -> Pause<'_> {
        let held = match u32::try_from(self.lanes) {
            Ok(n) if n > 0 => self.slots.acquire_many(n).await.ok(),
            _ => None,
        };
        Pause { _held: held }
    }

    /// Queues a check-in and returns once a batch holding it committed (or failed).
    pub(crate) async fn submit(&self, core: &Core, candidate: Candidate) -> Outcome {
        let (done, mut rx) = oneshot::channel();
        self.queue().push(Job { candidate, done });
        loop {
            let slot = tokio::select! {
                biased;
                r = &mut rx => return r.unwrap_or(Outcome::Fallback),
                slot = self.slots.acquire() => match slot {
                    Ok(slot) => slot,
                    Err(_) => return rx.await.unwrap_or(Outcome::Fallback),
                },
            };
            // A free lane: write whatever waits, this check-in included unless another
            // lane took it already.
            let jobs: Vec<Job> = {
                let mut queue = self.queue();
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if jobs.is_empty() {
                drop(slot);
                return rx.await.unwrap_or(Outcome::Fallback);
            }
            let written = write_batch(core, jobs).await;
            drop(slot);
            if written > 0 {
                self.batches.fetch_add(1, Ordering::Relaxed);
                self.written.fetch_add(written, Ordering::Relaxed);
            }
            match rx.try_recv() {
                Ok(out) => return out,
                Err(oneshot::error::TryRecvError::Closed) => return Outcome::Fallback,
                // Still queued (more than a batch was waiting) or in another lane's batch.
                Err(oneshot::error::TryRecvError::Empty) => continue,
            }
        }
    }
}

/// Writes a batch and answers every job; returns how many check-ins were written.
async fn write_batch(core: &Core, jobs: Vec<Job>) -> u64 {
    let candidates: Vec<&Candidate> = jobs.iter().map(|j| &j.candidate).collect();
    let outcomes = match batch(core, &candidates).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            tracing::warn!(error = %e, checkins = jobs.len(), "batched check-ins failed; each is handled alone");
            jobs.iter().map(|_| Outcome::Fallback).collect()
        }
    };
    let mut written = 0;
    for (job, outcome) in jobs.into_iter().zip(outcomes) {
        written += u64::from(matches!(outcome, Outcome::Done(_)));
        // The caller may have gone away; its check-in stands.
        let _ = job.done.send(outcome);
    }
    written
}

/// One check-in of the batch, once its conversation and door are known.
struct Entry<'a> {
    index: usize,
    candidate: &'a Candidate,
    person: i64,
    iin_hash: Vec<u8>,
    lang: Lang,
    target: Target,
    decision: Decision,
    /// The person's open visits, closed when admitted.
    open: Vec<i64>,
    code: String,
    id: i64,
}

/// Writes a batch in one transaction; an outcome per candidate, in order.
async fn batch(core: &Core, candidates: &[&Candidate]) -> Result<Vec<Outcome>, CoreError> {
    let now = core.now_ms();
    let at = core.clock.now();
    let mut outcomes: Vec<Outcome> = candidates.iter().map(|_| Outcome::Fallback).collect();
    // One check-in per chat and per update: another one waits for the one-by-one path.
    let mut chats = HashSet::new();
    let firsts: Vec<usize> = (0..candidates.len())
        .filter(|&i| chats.insert(&candidates[i].chat))
        .collect();
    let mut tx = core.store.begin().await?;

    // The conversations: registered, at the main menu, with a language.
    let asked: Vec<ChatRef> = firsts.iter().map(|&i| candidates[i].chat.clone()).collect();
    // (An adult with dependants is asked "who is with you?": the one-by-one path.)
    let convs: HashMap<ChatRef, conversations::WithIin> =
        conversations::lock_many_for_lane(&mut tx, core.store.backend(), &asked)
            .await?
            .into_iter()
            .filter(|(_, _, dependants)| !dependants)
            .map(|(chat, row, _)| (chat, row))
            .collect();
    let mut ready = Vec::new();
    for &i in &firsts {
        let c = candidates[i];
        let Some((row, Some(hash))) = convs.get(&c.chat) else {
            continue;
        };
        let (Some(person), Some(lang)) = (row.person_id, row.lang.as_deref()) else {
            continue;
        };
        let Some(lang) = Lang::from_code(lang) else {
            continue;
        };
        if !matches!(serde_json::from_str::<State>(&row.state), Ok(State::Menu)) {
            continue;
        }
        ready.push((i, person, hash.clone(), lang));
    }

    // The doors, open now (the one-by-one path explains and audits a refusal).
    let pairs: Vec<(i64, Option<i64>)> = ready
        .iter()
        .map(|&(i, ..)| {
            let c = candidates[i];
            (c.entrance_id, Some(i64::from(c.kid)))
        })
        .collect();
    let doors: HashMap<(i64, Option<i64>), Door> = venues::doors(&mut tx, &pairs)
        .await?
        .into_iter()
        .map(|(kid, door)| ((door.entrance_id, kid), door))
        .collect();
    let mut persons = HashSet::new();
    let mut entries = Vec::new();
    for (i, person, iin_hash, lang) in ready {
        let c = candidates[i];
        let Some(door) = doors.get(&(c.entrance_id, Some(i64::from(c.kid)))) else {
            continue;
        };
        if !usable_now(door, now) || !persons.insert(person) {
            continue;
        }
        let target = door_target(door, now);
        if target.test {
            continue;
        }
        entries.push(Entry {
            index: i,
            candidate: c,
            person,
            iin_hash,
            lang,
            target,
            decision: Decision {
                colour: crate::status::Colour::Green,
                admit: false,
            },
            open: Vec::new(),
            code: String::new(),
            id: 0,
        });
    }

    // The visits: a repeat within a minute goes one by one; open visits are closed.
    let since = now - REPEAT_WINDOW_MS;
    let asked: Vec<(i64, i64)> = entries
        .iter()
        .map(|e| (e.person, e.candidate.entrance_id))
        .collect();
    let visits = venues::persons_visits(&mut tx, &asked, since).await?;
    let mut kept = Vec::with_capacity(entries.len());
    for mut e in entries {
        let mine: Vec<&CheckinView> = visits
            .iter()
            .filter(|v| v.person_id == Some(e.person))
            .collect();
        let repeat = mine
            .iter()
            .find(|v| v.entrance_id == Some(e.candidate.entrance_id) && v.entered_at >= since);
        if repeat.is_some_and(|v| v.left_at.is_none()) {
            continue;
        }
        let status = core.status_of(&mut tx, &e.iin_hash, at).await?;
        let category = VenueCategory::parse(&e.target.category).unwrap_or(VenueCategory::Ordinary);
        e.decision = decide(&status, category);
        if alerts_sanitary_control(e.decision.colour) {
            continue;
        }
        if e.decision.admit {
            e.open = mine.iter().filter(|v| v.is_open()).map(|v| v.id).collect();
        }
        kept.push(e);
    }
    let mut entries = kept;

    // The update ids: one processed before is a duplicate.
    let keyed: Vec<(&str, &str)> = entries
        .iter()
        .filter_map(|e| {
            let c = e.candidate;
            c.update_key
                .as_deref()
                .map(|k| (c.chat.channel.as_str(), k))
        })
        .collect();
    let fresh: HashSet<(String, String)> = storage::mark_updates(&mut tx, &keyed, now)
        .await?
        .into_iter()
        .collect();
    entries.retain(|e| {
        let c = e.candidate;
        let new = c
            .update_key
            .as_ref()
            .is_none_or(|k| fresh.contains(&(c.chat.channel.clone(), k.clone())));
        if !new {
            tracing::info!(chat = %c.chat.channel, update = ?c.update_key, "duplicate update ignored");
            outcomes[e.index] = Outcome::Duplicate;
        }
        new
    });
    if entries.is_empty() {
        tx.commit().await?;
        return Ok(outcomes);
    }

    // The writes: previous visits closed, check-ins with fresh codes, the staff feed (the
    // check-in row is the record of the entry, as on the one-by-one path).
    let closing: Vec<i64> = entries.iter().flat_map(|e| e.open.clone()).collect();
    venues::close_visits(&mut tx, &closing, now, "next_entry").await?;
    insert_with_codes(&mut tx, &mut entries, now).await?;
    let views: Vec<CheckinView> = entries.iter().map(|e| view(e, now)).collect();
    let payloads = views
        .iter()
        .zip(&entries)
        .map(|(v, e)| staff_payloads(v, e.decision, e.candidate.via))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let prefixes: Vec<String> = entries
        .iter()
        .map(|e| format!("ci-feed-{}-", e.id))
        .collect();
    let lines: Vec<outbox::StaffLine> = entries
        .iter()
        .zip(&payloads)
        .zip(&prefixes)
        .map(|((e, [kk, ru, en]), prefix)| outbox::StaffLine {
            venue_id: e.target.venue_id,
            payloads: [kk, ru, en],
            dedupe_prefix: prefix,
            skip: None,
        })
        .collect();
    outbox::enqueue_to_staff_many(&mut tx, &lines, now).await?;
    // The replies, kept (sealed) with the update ids until the adapter sent them, as on the
    // one-by-one path: a redelivery whose reply never left gets it again.
    let replies: Vec<Vec<Outbound>> = entries
        .iter()
        .zip(&views)
        .map(|(e, v)| vec![result(v, e.lang)])
        .collect();
    let mut kept = Vec::new();
    for (e, out) in entries.iter().zip(&replies) {
        if let Some(key) = e.candidate.update_key.as_deref() {
            kept.push((
                e.candidate.chat.channel.as_str(),
                key,
                core.seal_replies(out)?,
            ));
        }
    }
    storage::keep_replies(&mut tx, &kept).await?;
    tx.commit().await?;
    core.outbox_ready.notify_waiters();
    for (e, out) in entries.iter().zip(replies) {
        outcomes[e.index] = Outcome::Done(out);
    }
    Ok(outcomes)
}

/// Inserts the check-ins, each with a check code not used at its venue for a day; codes
/// taken meanwhile are drawn again.
async fn insert_with_codes(
    tx: &mut storage::Tx,
    entries: &mut [Entry<'_>],
    now: i64,
) -> Result<(), CoreError> {
    let mut pending: Vec<usize> = (0..entries.len()).collect();
    for _ in 0..20 {
        // Codes differ within the batch at each venue (the statement cannot see its own rows).
        let mut drawn: HashSet<(i64, String)> = entries
            .iter()
            .enumerate()
            .filter(|(k, _)| !pending.contains(k))
            .map(|(_, e)| (e.target.venue_id, e.code.clone()))
            .collect();
        for &k in &pending {
            let venue = entries[k].target.venue_id;
            entries[k].code = loop {
                let code = super::token::new_check_code();
                if drawn.insert((venue, code.clone())) {
                    break code;
                }
            };
        }
        let rows: Vec<NewCheckin> = pending
            .iter()
            .map(|&k| {
                let e = &entries[k];
                NewCheckin {
                    venue_id: e.target.venue_id,
                    entrance_id: e.target.entrance_id,
                    person_id: Some(e.person),
                    iin_hash: None,
                    chat: Some(&e.candidate.chat),
                    via: e.candidate.via.as_str(),
                    colour: e.decision.colour.as_str(),
                    admitted: e.decision.admit,
                    check_code: &e.code,
                    entered_at: now,
                    closes_at: now + e.target.max_stay_ms,
                }
            })
            .collect();
        let inserted = venues::insert_checkins(tx, &rows).await?;
        let by_code: HashMap<(i64, String), i64> = inserted
            .into_iter()
            .map(|(id, venue, code)| ((venue, code), id))
            .collect();
        pending.retain(|&k| {
            let e = &mut entries[k];
            match by_code.get(&(e.target.venue_id, e.code.clone())) {
                Some(&id) => {
                    e.id = id;
                    false
                }
                None => true,
            }
        });
        if pending.is_empty() {
            return Ok(());
        }
    }
    Err(CoreError::internal(
        "check code",
        "no free check code at the venue",
    ))
}

fn view(e: &Entry<'_>, now: i64) -> CheckinView {
    super::entry_view(
        &e.target,
        e.id,
        &e.code,
        Some(e.person),
        Some(&e.candidate.chat),
        e.candidate.via,
        e.decision,
        now,
    )
}
