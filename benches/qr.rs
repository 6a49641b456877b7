//! QR decoder benchmark (`cargo bench --bench qr`).
//!
//! 1. 60 synthetic 1280x960 "phone photos" of check-in posters, generated
//!    from a fixed seed (perspective, any rotation, blur up to sigma 2,
//!    lighting gradient, noise, busy background, JPEG q80).
//! 2. The zxing-cpp sample photos in `../shared/qr-samples/dev` (when
//!    present), as given and re-encoded as JPEG q80.
//!
//! Each set is decoded by our decoder, plain rxing and plain rqrr, and
//! zxing-cpp when the `zxingcpp` Python module is installed (its time
//! includes PIL's JPEG/PNG/WebP decoding, as ours includes ours). Under
//! `cargo test --all-targets` (no `--bench` argument) it only runs a smoke
//! check on one poster.

mod common;
use common::{cores, cpu_model, load_average};

use std::path::{Path, PathBuf};
use std::time::Instant;

use ashyq::qr::Strategy;
use qr_bench::{self as bench, Case};

/// Decode-rate and latency helpers (benchmark-only, not in the library).
#[path = "common/qr_bench.rs"]
mod qr_bench;

/// The synthetic poster photos (benchmark-only, not in the library).
#[path = "common/synthetic_poster.rs"]
mod poster;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        smoke();
        return;
    }
    let repeats = std::env::var("QR_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!("machine: {} cores, {}", cores(), cpu_model());
    println!("load average before: {}", load_average());
    // `QR_BENCH_DIR=DIR`: only the images of DIR with `.txt` expectations, our
    // decoder and plain rqrr, as given and as JPEG q80, with every image not
    // decoded correctly listed.
    if let Some(dir) = std::env::var_os("QR_BENCH_DIR") {
        let reports = bench::run_dir(Path::new(&dir)).expect("QR_BENCH_DIR readable");
        for report in &reports {
            println!("{}", report.summary());
            print!("{}", bench::details(report, true));
        }
        println!("load average after: {}", load_average());
        return;
    }

    let t = Instant::now();
    let posters = poster::poster_set(poster::SEED, 60);
    println!(
        "generated 60 posters (seed {:#x}) in {:.1} s",
        poster::SEED,
        t.elapsed().as_secs_f64()
    );
    // `QR_BENCH_DUMP=DIR` writes the posters (and their .txt) for other tools
    // (`ashyq qr decode`, callgrind, zxing-cpp).
    if let Some(dir) = std::env::var_os("QR_BENCH_DUMP") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("dump dir");
        for c in &posters {
            std::fs::write(dir.join(&c.name), &c.bytes).expect("write poster");
            let txt = dir.join(&c.name).with_extension("txt");
            std::fs::write(txt, &c.expected).expect("write txt");
        }
    }
    println!("{}", bench::components(&posters, repeats));
    if std::env::var_os("QR_BENCH_COMPONENTS_ONLY").is_some() {
        return;
    }
    report_set("posters", &posters, repeats);

    let dev = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/qr-samples/dev");
    match bench::load_dir(&dev) {
        Ok(cases) if !cases.is_empty() => {
            report_set("dev as given", &cases, repeats);
            let q80 = bench::reencode_jpeg(&cases, 80);
            report_set("dev JPEG q80", &q80, repeats);
        }
        _ => println!("dev set not found at {}: skipped", dev.display()),
    }
    println!("load average after: {}", load_average());
}

fn report_set(name: &str, cases: &[Case], repeats: usize) {
    println!("\n== {name}: {} images ==", cases.len());
    for (label, strategy) in [
        ("ashyq", Strategy::Full),
        ("rxing plain", Strategy::RxingPlain),
        ("rqrr plain", Strategy::RqrrPlain),
    ] {
        let r = bench::run(label, cases, strategy, repeats);
        println!("{}", r.summary());
        if strategy == Strategy::Full {
            println!("  decoded by stage: {}", r.stages());
            if r.correct() < r.total() {
                println!("  not decoded: {}", r.failures().join(" "));
            }
        }
    }
    if let Some(line) = zxing_cpp(cases, repeats) {
        println!("{line}");
    }
}

/// zxing-cpp through its Python module, on the same bytes, when installed.
fn zxing_cpp(cases: &[Case], repeats: usize) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("ashyq-qr-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let ext = c.name.rsplit('.').next().unwrap_or("img");
        let p = dir.join(format!("{i:04}.{ext}"));
        std::fs::write(&p, &c.bytes).ok()?;
        std::fs::write(p.with_extension("txt"), &c.expected).ok()?;
        files.push((p, c.expected.clone()));
    }
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(ZXING_PY)
        .arg(&dir)
        .arg(repeats.to_string())
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.ok()?;
    if out.status.code() == Some(3) {
        return Some("zxing-cpp: not installed (pip install zxing-cpp pillow numpy)".into());
    }
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Some(format!(
            "zxing-cpp: failed: {}",
            err.lines().last().unwrap_or("")
        ));
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Decodes every image in a folder with zxing-cpp (text mode Plain, QR
/// only), compares with the .txt the same way as the Rust side (escapes of
/// control characters), prints one summary line.
const ZXING_PY: &str = r#"
import sys, os, time, io
try:
    import zxingcpp
    from PIL import Image
    from importlib.metadata import version
except ImportError:
    sys.exit(3)
NAMES = ["NUL","SOH","STX","ETX","EOT","ENQ","ACK","BEL","BS","HT","LF","VT","FF","CR","SO","SI",
         "DLE","DC1","DC2","DC3","DC4","NAK","SYN","ETB","CAN","EM","SUB","ESC","FS","GS","RS","US"]
ESC = {"<TAB>": "\t", "<HT>": "\t", "<LF>": "\n", "<CR>": "\r", "<GS>": "\x1d", "<RS>": "\x1e",
       "<US>": "\x1f", "<FS>": "\x1c", "<EOT>": "\x04", "<ESC>": "\x1b", "<NUL>": "\x00",
       "<SOH>": "\x01", "<STX>": "\x02", "<ETX>": "\x03", "<DLE>": "\x10"}
def canon(s):
    s = s.rstrip("\r\n")
    for k, v in ESC.items():
        s = s.replace(k, v)
    return "".join("<%s>" % (NAMES[ord(c)] if ord(c) < 32 else "DEL") if ord(c) < 32 or ord(c) == 127 else c for c in s)
d = sys.argv[1]
repeats = int(sys.argv[2])
ok = mis = tot = 0
ts = []
for f in sorted(os.listdir(d)):
    if f.endswith(".txt"):
        continue
    p = os.path.join(d, f)
    exp = canon(open(os.path.splitext(p)[0] + ".txt", encoding="utf-8", newline="").read())
    data = open(p, "rb").read()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        img = Image.open(io.BytesIO(data))
        img.load()
        res = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode, text_mode=zxingcpp.TextMode.Plain)
        best = min(best, (time.perf_counter() - t) * 1e3)
    ts.append(best)
    tot += 1
    texts = [canon(r.text) for r in res]
    if exp in texts:
        ok += 1
    elif texts:
        mis += 1
ts.sort()
pc = lambda q: ts[max(0, -(-q * len(ts) // 100) - 1)]
print("%-28s %3d/%-3d decoded, %d misread, median %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms (best of %d, PIL decode included)" % ("zxing-cpp " + version("zxing-cpp"), ok, tot, mis, pc(50), pc(95), pc(99), ts[-1], repeats))
"#;

fn smoke() {
    let cases: Vec<Case> = (0..1)
        .map(|i| {
            let (rgb, text, _) = poster::render(poster::SEED, i);
            Case {
                name: format!("poster-{i}"),
                bytes: poster::jpeg(&rgb, poster::WIDTH as u32, poster::HEIGHT as u32, 80),
                expected: text,
            }
        })
        .collect();
    let r = bench::run("smoke", &cases, Strategy::Full, 1);
    println!("{}", r.summary());
    assert_eq!(r.correct(), 1, "the first benchmark poster must decode");
    println!("(run `cargo bench --bench qr` for the full benchmark)");
}
