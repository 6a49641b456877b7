//! An in-process cache of evaluated statuses, keyed by the IIN's keyed hash.
//!
//! A status look-up (guard mode, check-in, `/status`) is a database round trip plus a pure
//! evaluation; the cache keeps the evaluated [`Status`] with the interval in which it
//! cannot change by itself (`status::valid_until`), so a repeated look-up is a hash-map
//! read. Correctness rests on three rules:
//!
//! 1. **Invalidation by the writer.** Every write of health records goes through
//!    `core::feeds`, which appends the changed hashes to the `health_changes` log in its
//!    transaction and, after commit, invalidates them in its own process at once.
//! 2. **Invalidation by tailing the log.** Writers in other processes (`ashyq import`, a
//!    second server) are seen by [`StatusCache::run`], which polls the log every
//!    `poll` interval. The cache answers only while its last successful poll is younger
//!    than `max_staleness`; otherwise every look-up goes to the database.
//! 3. **No stale insert.** A look-up that missed reads the shard's generation before it
//!    reads the database, and stores its result only if no invalidation touched the shard
//!    since; an invalidation bumps the generation under the shard's write lock.
//!
//! Time: an entry answers for instants in `[computed_at, valid_until)`, so the injected
//! clock (also a manual one in tests) decides expiry, never wall time.

use crate::status::{self, ContactRecord, PcrRecord, Status};
use crate::storage::health::{self, HASH_LEN};
use crate::storage::{Conn, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SHARDS: usize = 64;

/// How the cache is sized and how fresh it must stay.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// At most this many statuses are kept (a full shard is emptied before it grows).
    pub max_entries: usize,
    /// How often the change log is read.
    pub poll: Duration,
    /// The cache answers only while its last successful read of the change log is
    /// younger than this; it bounds how stale a status written by another process can be.
    pub max_staleness: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            max_entries: 2_000_000,
            poll: Duration::from_millis(250),
            max_staleness: Duration::from_secs(2),
        }
    }
}

#[derive(Clone, Copy)]
struct Entry {
    status: Status,
    from_ms: i64,
    until_ms: i64,
}

#[derive(Default)]
struct Shard {
    map: RwLock<HashMap<[u8; HASH_LEN], Entry>>,
    generation: AtomicU64,
}

/// Counters for the benchmark and the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
    pub invalidations: u64,
}

pub struct StatusCache {
    shards: Box<[Shard]>,
    settings: CacheSettings,
    started: Instant,
    /// Milliseconds since `started` of the last successful poll; -1 before the first.
    last_poll_ok: AtomicI64,
    /// The last change-log sequence number applied.
    seen_seq: AtomicI64,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
}

impl std::fmt::Debug for StatusCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StatusCache({:?})", self.stats())
    }
}

/// A token taken before reading the database on a miss: the result may be stored only
/// if the shard saw no invalidation since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    shard: usize,
    generation: u64,
}

/// The cache's key: the hash without its key version (`crypto::Vault::hash_body`), so the
/// change log and the cache agree whatever the version.
fn key(hash: &[u8]) -> Option<[u8; HASH_LEN]> {
    crate::crypto::Vault::hash_body(hash).try_into().ok()
}

fn shard_of(key: &[u8; HASH_LEN]) -> usize {
    // Keyed hashes are uniformly distributed: the first byte spreads them evenly.
    key[0] as usize % SHARDS
}

impl StatusCache {
    /// A cache that answers nothing until [`StatusCache::start`] has read the change log.
    pub fn new(settings: CacheSettings) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            settings,
            started: Instant::now(),
            last_poll_ok: AtomicI64::new(-1),
            seen_seq: AtomicI64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
        }
    }

    fn elapsed_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    /// Whether the change log was read recently enough for cached entries to be trusted.
    pub fn serving(&self) -> bool {
        let ok = self.last_poll_ok.load(Ordering::Acquire);
        ok >= 0 && self.elapsed_ms() - ok <= self.settings.max_staleness.as_millis() as i64
    }

    /// The cached status of `hash` at `at`, if one is known and still valid.
    pub fn get(&self, hash: &[u8], at: DateTime<Utc>) -> Option<Status> {
        let k = key(hash)?;
        if !self.serving() {
            return None;
        }
        let at_ms = at.timestamp_millis();
        let shard = &self.shards[shard_of(&k)];
        let found = shard
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&k)
            .copied()
            .filter(|e| e.from_ms <= at_ms && at_ms < e.until_ms);
        match found {
            Some(e) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(e.status)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Taken before reading the records of `hash` from the database.
    pub fn ticket(&self, hash: &[u8]) -> Option<Ticket> {
        let k = key(hash)?;
        let shard = shard_of(&k);
        Some(Ticket {
            shard,
            generation: self.shards[shard].generation.load(Ordering::Acquire),
        })
    }

    /// Stores the status evaluated at `at` from these records, unless the shard was
    /// invalidated after `ticket` was taken.
    pub fn put(
        &self,
        ticket: Ticket,
        hash: &[u8],
        at: DateTime<Utc>,
        pcr: &[PcrRecord],
        contacts: &[ContactRecord],
        status: Status,
    ) {
        let Some(k) = key(hash) else { return };
        if !self.serving() {
            // Not following the change log: nothing stored now could be trusted later.
            return;
        }
        let shard = &self.shards[ticket.shard];
        let entry = Entry {
            status,
            from_ms: at.timestamp_millis(),
            until_ms: status::valid_until(pcr, contacts, at)
                .map_or(i64::MAX, |t| t.timestamp_millis()),
        };
        let mut map = shard.map.write().unwrap_or_else(|e| e.into_inner());
        if shard.generation.load(Ordering::Acquire) != ticket.generation {
            return;
        }
        if map.len() >= self.settings.max_entries / SHARDS && !map.contains_key(&k) {
            // Bounded memory: a full shard starts over (1/64 of the cache).
            map.clear();
        }
        map.insert(k, entry);
    }

    /// Forgets these hashes (their records changed).
    pub fn invalidate<'a>(&self, hashes: impl IntoIterator<Item = &'a [u8]>) {
        for hash in hashes {
            let Some(k) = key(hash) else { continue };
            let shard = &self.shards[shard_of(&k)];
            let mut map = shard.map.write().unwrap_or_else(|e| e.into_inner());
            shard.generation.fetch_add(1, Ordering::AcqRel);
            map.remove(&k);
            self.invalidations.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets everything (the change log could not be followed).
    fn clear(&self) {
        for shard in self.shards.iter() {
            let mut map = shard.map.write().unwrap_or_else(|e| e.into_inner());
            shard.generation.fetch_add(1, Ordering::AcqRel);
            map.clear();
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self
                .shards
                .iter()
                .map(|s| s.map.read().unwrap_or_else(|e| e.into_inner()).len())
                .sum(),
            invalidations: self.invalidations.load(Ordering::Relaxed),
        }
    }

    /// Starts following the change log from its current end; the cache serves from now on.
    pub async fn start(&self, conn: &mut Conn) -> Result<(), StoreError> {
        let head = health::change_head(conn).await?;
        self.clear();
        self.seen_seq.store(head, Ordering::Release);
        self.last_poll_ok
            .store(self.elapsed_ms(), Ordering::Release);
        Ok(())
    }

    /// Reads the change log once and applies what is new. Returns how many entries.
    pub async fn poll(&self, conn: &mut Conn) -> Result<usize, StoreError> {
        let polled_at = self.elapsed_ms();
        let mut applied = 0;
        loop {
            let seen = self.seen_seq.load(Ordering::Acquire);
            let page = health::changes_since(conn, seen, 500).await?;
            let Some(&(last, _)) = page.last() else { break };
            if page[0].0 != seen + 1 {
                // Sequence numbers have no gaps (a rolled-back writer rolls back its
                // number too), so a gap means entries were pruned before we read them.
                tracing::warn!(
                    seen,
                    next = page[0].0,
                    "status cache: change log gap; starting over"
                );
                self.clear();
            }
            for (_, hashes) in &page {
                self.invalidate(hashes.iter().map(|h| h.as_slice()));
            }
            applied += page.len();
            self.seen_seq.store(last, Ordering::Release);
            if page.len() < 500 {
                break;
            }
        }
        // Everything committed before `polled_at` has been applied.
        self.last_poll_ok.fetch_max(polled_at, Ordering::AcqRel);
        Ok(applied)
    }

    /// Fills the cache with the status at `at` of everyone with records, page by page,
    /// before look-ups need them. Returns how many statuses were stored.
    pub async fn warm(&self, store: &Store, at: DateTime<Utc>) -> Result<usize, StoreError> {
        self.warm_with_page(store, at, 20_000).await
    }

    /// [`StatusCache::warm`] with pages of `page` rows (small pages in tests).
    pub async fn warm_with_page(
        &self,
        store: &Store,
        at: DateTime<Utc>,
        page: i64,
    ) -> Result<usize, StoreError> {
        #[allow(non_snake_case)]
        let PAGE = page.max(1);
        let mut conn = store.pool().acquire().await?;
        // Contacts first, grouped by hash (there are far fewer than PCR results).
        let mut contacts: HashMap<Vec<u8>, Vec<ContactRecord>> = HashMap::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = health::contact_page(&mut conn, after.as_deref(), PAGE).await?;
            let full = page.len() as i64 == PAGE;
            let Some(last) = page.last().map(|(h, _)| h.clone()) else {
                break;
            };
            for (h, row) in page {
                if let Some(c) = crate::core::status::contact_record(&row) {
                    contacts.entry(h).or_default().push(c);
                }
            }
            after = Some(last);
            if !full {
                break;
            }
        }
        let mut stored = 0;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = health::pcr_page(&mut conn, after.as_deref(), PAGE).await?;
            let full = page.len() as i64 == PAGE;
            if page.is_empty() {
                break;
            }
            // A full page may end in the middle of a hash's records: that hash is read
            // again with the next page (or whole, when it fills a page by itself).
            let last = page.last().map(|(h, _)| h.clone()).expect("not empty");
            let complete_end = if full {
                page.iter().position(|(h, _)| *h == last).unwrap_or(0)
            } else {
                page.len()
            };
            let mut groups: Vec<(Vec<u8>, Vec<PcrRecord>)> = Vec::new();
            if complete_end == 0 {
                let (pcr, _) = health::records_for(&mut conn, &last).await?;
                groups.push((
                    last.clone(),
                    pcr.iter().map(crate::core::status::pcr_record).collect(),
                ));
                after = Some(last);
            } else {
                for (h, row) in &page[..complete_end] {
                    let record = crate::core::status::pcr_record(row);
                    match groups.last_mut() {
                        Some((g, records)) if g == h => records.push(record),
                        _ => groups.push((h.clone(), vec![record])),
                    }
                }
                after = Some(page[complete_end - 1].0.clone());
            }
            for (h, pcr) in groups {
                let c = contacts.remove(&h).unwrap_or_default();
                stored += self.put_evaluated(&h, at, &pcr, &c);
            }
            if !full {
                break;
            }
        }
        for (h, c) in contacts {
            stored += self.put_evaluated(&h, at, &[], &c);
        }
        Ok(stored)
    }

    fn put_evaluated(
        &self,
        hash: &[u8],
        at: DateTime<Utc>,
        pcr: &[PcrRecord],
        contacts: &[ContactRecord],
    ) -> usize {
        let Some(ticket) = self.ticket(hash) else {
            return 0;
        };
        let st = status::evaluate(pcr, contacts, at);
        self.put(ticket, hash, at, pcr, contacts, st);
        1
    }

    /// Follows the change log until `stop` (the status notifier prunes it).
    pub async fn run(
        self: std::sync::Arc<Self>,
        store: Store,
        stop: tokio_util::sync::CancellationToken,
    ) {
        loop {
            let result = match store.pool().acquire().await {
                Ok(mut conn) => self.poll(&mut conn).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "status cache: change log unreadable; look-ups go to the database");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.settings.poll) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn serving_cache() -> StatusCache {
        let cache = StatusCache::new(CacheSettings::default());
        cache
            .last_poll_ok
            .store(cache.elapsed_ms(), Ordering::Release);
        cache
    }

    #[test]
    fn a_miss_does_not_store_what_an_invalidation_overtook() {
        let cache = serving_cache();
        let at = Utc.with_ymd_and_hms(2026, 11, 5, 5, 0, 0).unwrap();
        let hash = [7u8; HASH_LEN];
        let blue = status::evaluate(&[], &[], at);
        // A look-up takes its ticket and reads the (old) records; meanwhile a feed commits
        // and invalidates the hash; the look-up's result must not be kept.
        let ticket = cache.ticket(&hash).unwrap();
        cache.invalidate([hash.as_slice()]);
        cache.put(ticket, &hash, at, &[], &[], blue);
        assert_eq!(cache.get(&hash, at), None);
        // A ticket taken after the invalidation stores.
        let ticket = cache.ticket(&hash).unwrap();
        cache.put(ticket, &hash, at, &[], &[], blue);
        assert_eq!(cache.get(&hash, at), Some(blue));
        // Another shard's invalidation does not block this one.
        let ticket = cache.ticket(&hash).unwrap();
        let mut elsewhere = [7u8; HASH_LEN];
        elsewhere[0] = 8;
        cache.invalidate([elsewhere.as_slice()]);
        cache.put(ticket, &hash, at, &[], &[], blue);
        assert_eq!(cache.get(&hash, at), Some(blue));
    }

    #[test]
    fn memory_is_bounded_and_odd_keys_are_not_cached() {
        let cache = StatusCache::new(CacheSettings {
            max_entries: SHARDS * 4,
            ..CacheSettings::default()
        });
        cache
            .last_poll_ok
            .store(cache.elapsed_ms(), Ordering::Release);
        let at = Utc.with_ymd_and_hms(2026, 11, 5, 5, 0, 0).unwrap();
        let blue = status::evaluate(&[], &[], at);
        for i in 0..10_000u32 {
            let mut hash = [0u8; HASH_LEN];
            hash[..4].copy_from_slice(&i.to_le_bytes());
            let ticket = cache.ticket(&hash).unwrap();
            cache.put(ticket, &hash, at, &[], &[], blue);
        }
        assert!(cache.stats().entries <= SHARDS * 4);
        assert!(cache.ticket(b"short").is_none());
        assert_eq!(cache.get(b"short", at), None);
    }

    #[test]
    fn nothing_is_served_before_the_change_log_was_read() {
        let cache = StatusCache::new(CacheSettings::default());
        let at = Utc.with_ymd_and_hms(2026, 11, 5, 5, 0, 0).unwrap();
        let hash = [1u8; HASH_LEN];
        let ticket = cache.ticket(&hash).unwrap();
        cache.put(ticket, &hash, at, &[], &[], status::evaluate(&[], &[], at));
        assert!(!cache.serving());
        assert_eq!(cache.get(&hash, at), None);
        assert_eq!(cache.stats().entries, 0);
    }
}
