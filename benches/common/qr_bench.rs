//! The QR benchmark's helpers (benchmark-only, not in the library): decode a
//! folder of images with `.txt` expectations and report decoded/total,
//! misreads and latency percentiles. Used by `benches/qr.rs` and
//! `tests/it/qr_dev_set.rs` (included with `#[path]`).
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use ashyq::qr::{DecodeError, Limits, Strategy, decode_traced, decode_with, stages};

/// One image with the text a correct decode must produce.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub bytes: Vec<u8>,
    pub expected: String,
}

/// Outcome of one image.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub name: String,
    pub expected: String,
    pub result: Result<Vec<String>, DecodeError>,
    /// Wall-clock milliseconds, bytes to texts (grey conversion included):
    /// the fastest of the report's `repeats` runs.
    pub ms: f64,
    /// The pipeline stage that decoded it.
    pub stage: Option<&'static str>,
}

impl Outcome {
    /// The expected text is among the decoded texts.
    pub fn correct(&self) -> bool {
        let want = canonical(&self.expected);
        matches!(&self.result, Ok(t) if t.iter().any(|s| canonical(s) == want))
    }
    /// Something was decoded, but not the expected text.
    pub fn misread(&self) -> bool {
        matches!(&self.result, Ok(t) if !t.is_empty()) && !self.correct()
    }
}

/// All outcomes of one decoder over one set.
#[derive(Clone, Debug)]
pub struct Report {
    pub label: String,
    pub outcomes: Vec<Outcome>,
    /// How many times each image was decoded (the fastest run is kept).
    pub repeats: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Report {
    pub fn total(&self) -> usize {
        self.outcomes.len()
    }
    pub fn correct(&self) -> usize {
        self.outcomes.iter().filter(|o| o.correct()).count()
    }
    pub fn misread(&self) -> usize {
        self.outcomes.iter().filter(|o| o.misread()).count()
    }
    /// Latency percentile in milliseconds (nearest rank).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let mut v: Vec<f64> = self.outcomes.iter().map(|o| o.ms).collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, p)
    }
    /// One line: `label: decoded/total, misread, median, p95, p99, max`.
    pub fn summary(&self) -> String {
        format!(
            "{:<28} {:>3}/{:<3} decoded, {} misread, median {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (best of {})",
            self.label,
            self.correct(),
            self.total(),
            self.misread(),
            self.percentile_ms(50.0),
            self.percentile_ms(95.0),
            self.percentile_ms(99.0),
            self.percentile_ms(100.0),
            self.repeats,
        )
    }
    /// How many images each pipeline stage decoded, in pipeline order of
    /// first appearance: `first 52, down2 3, crop-mean 4`.
    pub fn stages(&self) -> String {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for o in self.outcomes.iter().filter(|o| o.correct()) {
            let name = o.stage.unwrap_or("?");
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => counts.push((name, 1)),
            }
        }
        counts
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Names of the images not decoded correctly.
    pub fn failures(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|o| !o.correct())
            .map(|o| o.name.as_str())
            .collect()
    }
}

fn strip_eol(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

/// Comparison form: trailing CR/LF stripped, escapes undone, then every
/// control character written the way zxing-cpp escapes it. A payload that
/// literally contains `<LF>` and one holding a line feed written as `<LF>`
/// in the expectation both compare equal.
fn canonical(s: &str) -> String {
    let mut out = String::new();
    for ch in normalize_expected(s).chars() {
        let c = ch as u32;
        if c < 0x20 || c == 0x7f {
            const NAMES: [&str; 32] = [
                "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT",
                "FF", "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB",
                "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
            ];
            let name = NAMES.get(c as usize).copied().unwrap_or("DEL");
            out.push('<');
            out.push_str(name);
            out.push('>');
        } else {
            out.push(ch);
        }
    }
    out
}

/// Expected text as the sample sets write it: trailing CR/LF stripped and
/// zxing-cpp's escapes of control characters (`<LF>`, `<GS>`, ...) undone.
pub fn normalize_expected(raw: &str) -> String {
    const ESC: &[(&str, &str)] = &[
        ("<NUL>", "\0"),
        ("<TAB>", "\t"),
        ("<SOH>", "\u{1}"),
        ("<STX>", "\u{2}"),
        ("<ETX>", "\u{3}"),
        ("<DLE>", "\u{10}"),
        ("<HT>", "\t"),
        ("<LF>", "\n"),
        ("<CR>", "\r"),
        ("<GS>", "\u{1d}"),
        ("<RS>", "\u{1e}"),
        ("<US>", "\u{1f}"),
        ("<FS>", "\u{1c}"),
        ("<EOT>", "\u{4}"),
        ("<ESC>", "\u{1b}"),
    ];
    let mut s = strip_eol(raw).to_owned();
    for (from, to) in ESC {
        s = s.replace(from, to);
    }
    s
}

fn is_image_name(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("jpg" | "jpeg" | "png" | "webp")
    )
}

/// Every image under `dir` (recursively) that has a `.txt` with the same
/// stem beside it. `*.result.txt` files are metadata and are not read.
pub fn load_dir(dir: &Path) -> std::io::Result<Vec<Case>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_image_name(&p) {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut cases = Vec::new();
    for p in files {
        let txt = p.with_extension("txt");
        let Ok(raw) = std::fs::read(&txt) else {
            continue;
        };
        let name = p
            .strip_prefix(dir)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        cases.push(Case {
            name,
            bytes: std::fs::read(&p)?,
            expected: normalize_expected(&String::from_utf8_lossy(&raw)),
        });
    }
    Ok(cases)
}

/// The same images re-encoded as JPEG at `quality` (as a messenger would).
/// Images that cannot be read are kept as they are.
pub fn reencode_jpeg(cases: &[Case], quality: u8) -> Vec<Case> {
    cases
        .iter()
        .map(|c| {
            let bytes = match stages::load_rgb(&c.bytes, &Limits::default()) {
                Ok((w, h, rgb)) => {
                    ashyq::core::venues::poster::jpeg(&rgb, w as u32, h as u32, quality)
                }
                Err(_) => c.bytes.clone(),
            };
            Case {
                name: c.name.clone(),
                bytes,
                expected: c.expected.clone(),
            }
        })
        .collect()
}

/// Decodes every case `repeats` times with `strategy` and keeps the fastest
/// run of each (bytes to texts, grey conversion included; the minimum
/// filters out time stolen by other processes on a shared machine), after
/// an untimed warm-up over the first few images.
pub fn run(label: &str, cases: &[Case], strategy: Strategy, repeats: usize) -> Report {
    let repeats = repeats.max(1);
    let limits = Limits::default();
    for c in cases.iter().take(3) {
        let _ = decode_with(&c.bytes, &limits, strategy);
    }
    let outcomes = cases
        .iter()
        .map(|c| {
            let mut ms = f64::INFINITY;
            let mut traced = (Err(DecodeError::Internal), None);
            for _ in 0..repeats {
                let t = Instant::now();
                traced = decode_traced(&c.bytes, &limits, strategy);
                ms = ms.min(t.elapsed().as_secs_f64() * 1e3);
            }
            Outcome {
                name: c.name.clone(),
                expected: c.expected.clone(),
                result: traced.0,
                ms,
                stage: traced.1,
            }
        })
        .collect();
    Report {
        label: label.to_owned(),
        outcomes,
        repeats,
    }
}

/// Our decoder and plain rqrr over the images in `dir` (`QR_BENCH_DIR`), as
/// given and re-encoded as JPEG q80. Returns the reports; print
/// [`Report::summary`] of each.
pub fn run_dir(dir: &Path) -> std::io::Result<Vec<Report>> {
    let cases = load_dir(dir)?;
    let q80 = reencode_jpeg(&cases, 80);
    Ok(vec![
        run("ashyq, as given", &cases, Strategy::Full, 3),
        run("rqrr plain, as given", &cases, Strategy::RqrrPlain, 3),
        run("ashyq, JPEG q80", &q80, Strategy::Full, 3),
        run("rqrr plain, JPEG q80", &q80, Strategy::RqrrPlain, 3),
    ])
}

/// Per-image detail lines for a report (failures only when `failures_only`).
pub fn details(report: &Report, failures_only: bool) -> String {
    let mut s = String::new();
    for o in &report.outcomes {
        if failures_only && o.correct() {
            continue;
        }
        let status = if o.correct() {
            "ok"
        } else if o.misread() {
            "MISREAD"
        } else {
            "miss"
        };
        let _ = writeln!(
            s,
            "  {:<7} {:>8.2} ms  {} {:?}",
            status,
            o.ms,
            o.name,
            o.result.as_ref().map(|t| t.len())
        );
    }
    s
}

/// Time of each pipeline component per image (fastest of `repeats`),
/// as medians over the set, and how many images the first pass decodes at
/// full and at half resolution. Printed by `cargo bench --bench qr`.
pub fn components(cases: &[Case], repeats: usize) -> String {
    let limits = Limits::default();
    let repeats = repeats.max(1);
    // Profiling aid: `QR_BENCH_LOOP=N` decodes every JPEG N times at half
    // scale before measuring (run under `perf record`).
    let loops: usize = std::env::var("QR_BENCH_LOOP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let t = Instant::now();
    for _ in 0..loops {
        for c in cases {
            let _ = stages::luma_half(&c.bytes);
        }
    }
    if loops > 0 {
        let bytes: usize = cases.iter().map(|c| c.bytes.len()).sum();
        eprintln!(
            "{loops} loops: {:.3} ms per image, mean {} bytes",
            t.elapsed().as_secs_f64() * 1e3 / (loops * cases.len()) as f64,
            bytes / cases.len()
        );
    }
    let best = |f: &mut dyn FnMut()| {
        let mut ms = f64::INFINITY;
        for _ in 0..repeats {
            let t = Instant::now();
            f();
            ms = ms.min(t.elapsed().as_secs_f64() * 1e3);
        }
        ms
    };
    let mut cols: Vec<(&str, Vec<f64>)> = [
        "load",
        "down2",
        "first-half",
        "first-full",
        "jpeg-half",
        "first-jpeg-half",
    ]
    .iter()
    .map(|n| (*n, Vec::new()))
    .collect();
    let (mut ok_half, mut ok_full, mut ok_jh, mut n) = (0, 0, 0, 0);
    let mut diff = 0f64;
    for c in cases {
        let Ok(g) = stages::load_gray(&c.bytes, &limits) else {
            continue;
        };
        n += 1;
        let want = canonical(&c.expected);
        let hit = |t: &[String]| t.iter().any(|s| canonical(s) == want);
        cols[0].1.push(best(&mut || {
            let _ = stages::load_gray(&c.bytes, &limits);
        }));
        let mut d = stages::downscale2(&g);
        cols[1].1.push(best(&mut || d = stages::downscale2(&g)));
        let mut found = Vec::new();
        cols[2].1.push(best(&mut || found = stages::first_pass(&d)));
        ok_half += usize::from(hit(&found));
        cols[3].1.push(best(&mut || found = stages::first_pass(&g)));
        ok_full += usize::from(hit(&found));
        if let Some(mut jh) = stages::luma_half(&c.bytes) {
            diff += jh.mean_abs_diff(&d).unwrap_or(0.0);
            cols[4].1.push(best(&mut || {
                jh = stages::luma_half(&c.bytes).expect("again")
            }));
            cols[5]
                .1
                .push(best(&mut || found = stages::first_pass(&jh)));
            ok_jh += usize::from(hit(&found));
        }
    }
    let mut s = format!("components over {n} images (median of per-image best of {repeats}):");
    let n_jh = cols[4].1.len();
    for (name, mut v) in cols {
        v.sort_by(f64::total_cmp);
        let _ = write!(s, " {name} {:.2} ms,", percentile(&v, 50.0));
    }
    let _ = write!(
        s,
        " first pass decodes {ok_full} at full, {ok_half} at half resolution, {ok_jh} on the half-scale JPEG decode ({} decoded, mean abs diff to down2 {:.2})",
        n_jh,
        diff / n_jh.max(1) as f64
    );
    s
}
