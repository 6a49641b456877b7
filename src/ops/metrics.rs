//! Prometheus metrics (`GET /metrics`, text format 0.0.4), with the `prometheus` crate (TiKV's
//! client; without default features it has no protobuf and builds in seconds: docs/OPERATIONS.md).
//!
//! Counters and histograms live in one process-wide registry and are updated where things
//! happen; the database-backed figures (outbox backlog and age, sends by result, pool) are read
//! at scrape time into a registry of their own, so every replica reports the same shared queue.

use crate::storage::Store;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::OnceLock;

pub struct Metrics {
    registry: Registry,
    /// Inbound updates by channel and result (`ok`, `error`, `panic`).
    pub updates: IntCounterVec,
    /// Time to handle one update, by channel.
    pub handling: HistogramVec,
    /// QR decoding time of one image.
    pub qr_decode: HistogramVec,
    /// Identity registry look-ups by implementation (`table`, `http`) and result (`match`,
    /// `mismatch`, `unknown`, `error`), fed by `core::shared::identity` where the registry is
    /// asked.
    pub registry_lookups: IntCounterVec,
    /// 1 while this process leads a background job, 0 otherwise.
    pub leader: IntGaugeVec,
}

fn build() -> Metrics {
    let registry = Registry::new_custom(Some("ashyq".into()), None).expect("a valid prefix");
    let counter = |name: &str, help: &str, labels: &[&str]| {
        let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
        registry
            .register(Box::new(c.clone()))
            .expect("registered once");
        c
    };
    let gauge = |name: &str, help: &str, labels: &[&str]| {
        let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
        registry
            .register(Box::new(g.clone()))
            .expect("registered once");
        g
    };
    let histogram = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
        let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
            .expect("valid metric");
        registry
            .register(Box::new(h.clone()))
            .expect("registered once");
        h
    };
    let latency = vec![
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    Metrics {
        updates: counter(
            "updates_total",
            "Inbound updates handled, by channel and result",
            &["channel", "result"],
        ),
        handling: histogram(
            "update_handling_seconds",
            "Time to handle one inbound update",
            &["channel"],
            latency.clone(),
        ),
        qr_decode: histogram(
            "qr_decode_seconds",
            "Time to decode the QR codes of one image",
            &["result"],
            latency,
        ),
        registry_lookups: counter(
            "identity_registry_lookups_total",
            "Identity registry look-ups by implementation and result",
            &["registry", "result"],
        ),
        leader: gauge(
            "leader",
            "1 while this process leads the background job",
            &["job"],
        ),
        registry,
    }
}

/// The process-wide metrics.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(build)
}

/// Records one handled update.
pub fn update_handled(channel: &str, result: &str, seconds: f64) {
    let m = get();
    m.updates.with_label_values(&[channel, result]).inc();
    m.handling.with_label_values(&[channel]).observe(seconds);
}

/// Records one QR decoding.
pub fn qr_decoded(ok: bool, seconds: f64) {
    get()
        .qr_decode
        .with_label_values(&[if ok { "ok" } else { "error" }])
        .observe(seconds);
}

/// Records one identity registry look-up: the implementation (`table`, `http`) and its result
/// (`match`, `mismatch`, `unknown`, or `error` when it did not answer).
pub fn registry_lookup(registry: &str, result: &str) {
    get()
        .registry_lookups
        .with_label_values(&[registry, result])
        .inc();
}

/// Sets whether this process leads `job` (fed by `leader::run_as_leader`).
pub fn set_leader(job: &str, leading: bool) {
    get()
        .leader
        .with_label_values(&[job])
        .set(i64::from(leading));
}

/// The figures read from the database at scrape time, in a registry of their own (so two
/// stores rendered at once, as in tests, never mix).
struct Scrape {
    registry: Registry,
    outbox_backlog: IntGaugeVec,
    outbox_age: IntGaugeVec,
    sends: IntGaugeVec,
    pool: IntGaugeVec,
}

fn scrape_registry() -> Scrape {
    let registry = Registry::new_custom(Some("ashyq".into()), None).expect("a valid prefix");
    let gauge = |name: &str, help: &str, labels: &[&str]| {
        let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
        registry
            .register(Box::new(g.clone()))
            .expect("registered once");
        g
    };
    Scrape {
        outbox_backlog: gauge(
            "outbox_backlog",
            "Outbox messages waiting to be sent",
            &["channel"],
        ),
        outbox_age: gauge(
            "outbox_oldest_age_seconds",
            "Age of the oldest outbox message waiting",
            &["channel"],
        ),
        sends: gauge(
            "outbox_messages",
            "Outbox messages kept, by channel and result (sent, failed)",
            &["channel", "result"],
        ),
        pool: gauge(
            "db_pool_connections",
            "Database pool connections by state",
            &["state"],
        ),
        registry,
    }
}

/// The exposition text: the live counters and the figures read from the database now.
pub async fn render(store: &Store, now_ms: i64) -> String {
    let m = get();
    let d = scrape_registry();
    match crate::storage::security::outbox_by_channel(store.pool()).await {
        Ok(rows) => {
            for r in rows {
                let ch = r.channel.as_str();
                d.outbox_backlog.with_label_values(&[ch]).set(r.waiting);
                let age = r.oldest_waiting.map_or(0, |t| (now_ms - t).max(0) / 1000);
                d.outbox_age.with_label_values(&[ch]).set(age);
                d.sends.with_label_values(&[ch, "sent"]).set(r.sent);
                d.sends.with_label_values(&[ch, "failed"]).set(r.failed);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the outbox"),
    }
    let pool = store.pool();
    d.pool
        .with_label_values(&["open"])
        .set(i64::from(pool.size()));
    d.pool
        .with_label_values(&["idle"])
        .set(i64::try_from(pool.num_idle()).unwrap_or(i64::MAX));
    let mut families = m.registry.gather();
    families.extend(d.registry.gather());
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
        tracing::warn!(error = %e, "metrics: encoding failed");
    }
    String::from_utf8(out).unwrap_or_default()
}
