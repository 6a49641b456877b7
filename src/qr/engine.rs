//! The decoding pipeline on a grey image.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use rxing::multi::MultipleBarcodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8Source};

use super::DecodeError;
use super::binarize::Prebinarized;
use super::load::Gray;
use super::text::bytes_to_text;

/// Which decoder(s) to run. `Full` is what production uses; the others are
/// baselines for the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The tuned pipeline.
    Full,
    /// rxing's QR reader once on the whole image, TryHarder + AlsoInverted.
    RxingPlain,
    /// rqrr once on the whole image.
    RqrrPlain,
}

/// Runs `f`, turning a panic into `None`.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

pub(crate) fn hints() -> DecodeHints {
    DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some([BarcodeFormat::QR_CODE].into_iter().collect()),
        ..DecodeHints::default()
    }
}

/// rxing (port of zxing-cpp's QR reader) on `px`, optionally inverted.
pub(crate) fn rxing_multi(g: &Gray, invert: bool) -> Vec<String> {
    guarded(|| {
        let Some(bin) = Prebinarized::hybrid(g) else {
            return Vec::new();
        };
        let mut bitmap = BinaryBitmap::new(bin);
        if invert {
            bitmap.invert();
        }
        match QrReader.decode_multiple_with_hints(&mut bitmap, &hints()) {
            Ok(results) => results
                .into_iter()
                .map(|r| r.getText().to_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    })
    .unwrap_or_default()
}

/// rqrr on `px`. Payloads are taken as bytes, so non-UTF-8 text survives.
pub(crate) fn rqrr_all(px: &[u8], w: usize, h: usize) -> Vec<String> {
    guarded(|| {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
        let mut out = Vec::new();
        for grid in img.detect_grids() {
            let mut buf = Vec::new();
            if grid.decode_to(&mut buf).is_ok() {
                out.push(bytes_to_text(&buf));
            }
        }
        out
    })
    .unwrap_or_default()
}

fn push_unique(out: &mut Vec<String>, found: Vec<String>) {
    for t in found {
        if !out.contains(&t) {
            out.push(t);
        }
    }
}

/// Decoded texts and the name of the stage that found them.
pub(crate) type Traced = (Result<Vec<String>, DecodeError>, Option<&'static str>);

/// Smallest side of a JPEG whose first attempt is made on the half-scale
/// luma (phone photos; smaller images go straight to full resolution).
pub(crate) const HALF_MIN_SIDE: usize = 720;

/// The first attempt on a phone-size JPEG: luma decoded at half scale
/// ([`super::jpeg::luma_half`]; a quarter of the pixels, no full IDCT), the
/// first pass on it (downscaled further when still above `LARGE_SIDE`).
/// `None` when the file is not for this path; `Some(texts)` when the
/// attempt ran (empty when nothing was decoded).
pub(crate) fn first_half(bytes: &[u8], w: usize, h: usize) -> Option<Vec<String>> {
    use super::img;
    if w.min(h) < HALF_MIN_SIDE {
        return None;
    }
    let mut g = guarded(|| super::jpeg::luma_half(bytes)).flatten()?;
    while g.w.max(g.h) > LARGE_SIDE {
        g = img::downscale2(&g);
    }
    let mut out = Vec::new();
    push_unique(&mut out, first_pass(&g).0);
    Some(out)
}

/// Decodes a grey image with `strategy`; `tried_half` tells that
/// [`first_half`] already ran on this image, so the downscaled first pass of
/// large photos is not repeated.
pub(crate) fn decode_gray_after(
    g: &Gray,
    strategy: Strategy,
    deadline: Instant,
    tried_half: bool,
) -> Traced {
    let mut out = Vec::new();
    match strategy {
        Strategy::RqrrPlain => push_unique(&mut out, rqrr_all(&g.px, g.w, g.h)),
        Strategy::RxingPlain => {
            push_unique(&mut out, rxing_multi(g, false));
            if out.is_empty() {
                push_unique(&mut out, rxing_multi(g, true));
            }
        }
        Strategy::Full => return full(g, deadline, tried_half),
    }
    let stage = (!out.is_empty()).then_some("plain");
    (Ok(out), stage)
}

/// rxing on the hybrid-binarised image, then on its inverse (same bitmap,
/// binarised once). When neither decodes, the finder-pattern triples of the
/// binarised image are returned as candidate regions for the retries.
pub(crate) fn first_pass(g: &Gray) -> (Vec<String>, Vec<Region>) {
    use rxing::qrcode::cpp_port::detector::{FindFinderPatterns, GenerateFinderPatternSets};
    guarded(|| {
        let Some(bin) = Prebinarized::hybrid(g) else {
            return (Vec::new(), Vec::new());
        };
        let mut bitmap = BinaryBitmap::new(bin);
        let h = hints();
        let texts = |r: Vec<rxing::RXingResult>| -> Vec<String> {
            r.into_iter().map(|r| r.getText().to_owned()).collect()
        };
        // Without TryHarder rxing scans every 7th row of a 960-row photo
        // instead of every 3rd: 0.3 ms less. The binarised bitmap is cached,
        // so the TryHarder retry costs only the finder scan.
        let fast = DecodeHints {
            TryHarder: Some(false),
            ..hints()
        };
        for pass in [&fast, &h] {
            let found = texts(
                QrReader
                    .decode_multiple_with_hints(&mut bitmap, pass)
                    .unwrap_or_default(),
            );
            if !found.is_empty() {
                return (found, Vec::new());
            }
        }
        let mut fps = FindFinderPatterns(bitmap.get_black_matrix(), true, 0);
        let sets = GenerateFinderPatternSets(&mut fps);
        let regions = sets
            .iter()
            .take(MAX_REGIONS)
            .map(|s| region_of(g, s))
            .collect();
        bitmap.invert();
        let found = texts(
            QrReader
                .decode_multiple_with_hints(&mut bitmap, &h)
                .unwrap_or_default(),
        );
        (found, regions)
    })
    .unwrap_or_default()
}

const MAX_REGIONS: usize = 3;

pub(crate) fn region_of(
    g: &Gray,
    s: &rxing::qrcode::cpp_port::detector::FinderPatternSet,
) -> Region {
    let (tl, tr, bl) = (s.tl.p, s.tr.p, s.bl.p);
    let br = (tr.x + bl.x - tl.x, tr.y + bl.y - tl.y);
    let module = (s.tl.size + s.tr.size + s.bl.size) as f32 / 21.0;
    let margin = 6.0 * module.max(1.0);
    let xs = [tl.x, tr.x, bl.x, br.0];
    let ys = [tl.y, tr.y, bl.y, br.1];
    let lo = |v: &[f32; 4]| v.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = |v: &[f32; 4]| v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let cx = |v: f32| v.clamp(0.0, g.w as f32) as usize;
    let cy = |v: f32| v.clamp(0.0, g.h as f32) as usize;
    Region {
        x0: cx(lo(&xs) - margin),
        y0: cy(lo(&ys) - margin),
        x1: cx(hi(&xs) + margin),
        y1: cy(hi(&ys) + margin),
        module,
    }
}

/// Crop each candidate region, upscale it `k` times (bilinear) so small
/// modules get several pixels, binarise with `bin`, decode.
fn crops(g: &Gray, regions: &[Region], k: f32, bin: Bin) -> Vec<String> {
    use super::img;
    let mut out = Vec::new();
    for r in regions {
        // Upscaling only pays for small modules; cap the crop's size.
        let area = ((r.x1 - r.x0) * (r.y1 - r.y0)) as f32 * k * k;
        if r.x1 <= r.x0 + 8 || r.y1 <= r.y0 + 8 || area > 2.5e6 {
            continue;
        }
        let c = img::crop(g, r.x0, r.y0, r.x1, r.y1);
        let u = img::resize_bilinear(&c, (c.w as f32 * k) as usize, (c.h as f32 * k) as usize);
        let m = ((r.module * k) as usize).max(2);
        let b = match bin {
            Bin::Hybrid => u,
            Bin::LocalMean => img::mean_threshold(&u, m, 0),
            Bin::Unsharp => img::unsharp(&u, m, 1.5),
        };
        push_unique(&mut out, rxing_multi(&b, false));
    }
    out
}

#[derive(Clone, Copy)]
enum Bin {
    Hybrid,
    LocalMean,
    Unsharp,
}

/// Above this side, the first pass runs on a downscaled copy first.
const LARGE_SIDE: usize = 1600;
/// Up to this many pixels, the upscaled and rqrr retries run.
const SMALL_PIXELS: usize = 640 * 640;

/// One retry stage of the cascade.
type Stage<'a> = Box<dyn Fn() -> Vec<String> + 'a>;

/// The production cascade. Cheap full-image passes first, then retries on
/// finder-pattern-guided crops, then rqrr. Stops at the first stage that
/// decodes anything; checks the deadline before every stage.
fn full(g: &Gray, deadline: Instant, tried_half: bool) -> Traced {
    use super::img;
    // Large photos (documents straight from a camera): try a downscaled
    // copy first; codes in such photos usually have large modules.
    if g.w.max(g.h) > LARGE_SIDE && !tried_half {
        let mut d = img::downscale2(g);
        while d.w.max(d.h) > LARGE_SIDE {
            d = img::downscale2(&d);
        }
        let (found, _) = first_pass(&d);
        if !found.is_empty() {
            let mut out = Vec::new();
            push_unique(&mut out, found);
            return (Ok(out), Some("first-downscaled"));
        }
        if Instant::now() > deadline {
            return (Err(DecodeError::Timeout), None);
        }
    }
    let (found, regions) = first_pass(g);
    if !found.is_empty() {
        let mut out = Vec::new();
        push_unique(&mut out, found);
        return (Ok(out), Some("first"));
    }
    // rqrr never decoded a large image that rxing missed (PERFORMANCE.md)
    // and costs ~25 ms per megapixel: only small images get it.
    let small = g.w * g.h <= SMALL_PIXELS;
    let inv = || Gray::new(g.w, g.h, g.px.iter().map(|v| 255 - v).collect());
    let has_regions = !regions.is_empty();
    let stages: Vec<(&'static str, bool, Stage)> = vec![
        (
            "down2",
            g.w.min(g.h) >= 120,
            Box::new(|| {
                let d = img::downscale2(g);
                rxing_multi(&d, false)
            }),
        ),
        ("global", true, Box::new(|| rxing_global(&g.px, g.w, g.h))),
        (
            "crop-mean",
            has_regions,
            Box::new(|| crops(g, &regions, 3.0, Bin::LocalMean)),
        ),
        (
            "crop-unsharp",
            has_regions,
            Box::new(|| crops(g, &regions, 3.0, Bin::Unsharp)),
        ),
        (
            "crop-x2",
            has_regions,
            Box::new(|| crops(g, &regions, 2.0, Bin::Hybrid)),
        ),
        (
            "up2",
            small,
            Box::new(|| {
                let u = img::resize_bilinear(g, g.w * 2, g.h * 2);
                rxing_multi(&u, false)
            }),
        ),
        ("rqrr", small, Box::new(|| rqrr_all(&g.px, g.w, g.h))),
        (
            "rqrr-sauvola",
            small,
            Box::new(|| {
                let b = img::sauvola(g, (g.w.min(g.h) / 16).max(4), 0.2);
                rqrr_all(&b.px, b.w, b.h)
            }),
        ),
        (
            "rqrr-inv",
            small,
            Box::new(|| {
                let i = inv();
                rqrr_all(&i.px, i.w, i.h)
            }),
        ),
    ];
    for (name, enabled, stage) in stages {
        if !enabled {
            continue;
        }
        if Instant::now() > deadline {
            return (Err(DecodeError::Timeout), None);
        }
        let mut out = Vec::new();
        push_unique(&mut out, stage());
        if !out.is_empty() {
            return (Ok(out), Some(name));
        }
    }
    (Ok(Vec::new()), None)
}

/// rxing with the global-histogram binariser.
pub(crate) fn rxing_global(px: &[u8], w: usize, h: usize) -> Vec<String> {
    guarded(|| {
        let Ok(src) = Luma8Source::new_with_slice(px, w as u32, h as u32) else {
            return Vec::new();
        };
        let mut bitmap = BinaryBitmap::new(rxing::common::GlobalHistogramBinarizer::new(src));
        match QrReader.decode_multiple_with_hints(&mut bitmap, &hints()) {
            Ok(results) => results
                .into_iter()
                .map(|r| r.getText().to_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    })
    .unwrap_or_default()
}

/// A candidate code region found from finder patterns: crop box in pixels
/// and the estimated module size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
    pub module: f32,
}
