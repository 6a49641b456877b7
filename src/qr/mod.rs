//! QR code decoding for every photo path (check-in, canteen, pharmacy).
//!
//! Image bytes in, every decoded payload out. The decoder refuses oversized
//! inputs before decoding, never panics (third-party code runs behind
//! `catch_unwind`) and bounds its time. See docs/PERFORMANCE.md, section
//! "QR decoder", for how each stage was chosen.

pub(crate) mod binarize;
pub(crate) mod engine;
pub(crate) mod img;
pub(crate) mod jpeg;
pub(crate) mod load;
pub mod stages;
mod text;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

pub use engine::Strategy;

/// Input limits and time budget of one decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Largest accepted width x height, read from the image header.
    pub max_pixels: u64,
    /// Largest accepted width or height, read from the image header.
    pub max_side: u32,
    /// Time after which no further decoding stage is started.
    pub time_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_side: 8192,
            time_budget: Duration::from_millis(1500),
        }
    }
}

/// Why an image could not be decoded. Carries no user-facing text: the
/// caller localises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The file is larger than `Limits::max_bytes`.
    #[error("image file too large: {size} bytes, limit {limit}")]
    TooLarge { size: usize, limit: usize },
    /// The header declares dimensions above `Limits::max_side` / `max_pixels`.
    #[error("image dimensions too large: {width}x{height}")]
    DimensionsTooLarge { width: u32, height: u32 },
    /// A known image format that is not supported (HEIC, AVIF, GIF, ...).
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(&'static str),
    /// Not an image at all.
    #[error("not an image")]
    NotAnImage,
    /// A supported format whose data could not be decoded (truncated, corrupt).
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// The time budget ran out before any code was found.
    #[error("decoding timed out")]
    Timeout,
    /// The decoder failed internally (a caught panic).
    #[error("internal decoder failure")]
    Internal,
}

/// Decodes every QR code in an image file (JPEG, PNG or WebP, sent as a photo
/// or as a document). Blocking; never panics. `Ok(vec![])` means the image is
/// fine but holds no readable code.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Vec<String>, DecodeError> {
    decode_with(bytes, limits, Strategy::Full)
}

/// [`decode`] on tokio's blocking pool, so the async runtime is never stalled.
pub async fn decode_off_runtime(
    bytes: Vec<u8>,
    limits: Limits,
) -> Result<Vec<String>, DecodeError> {
    let budget = limits.time_budget;
    let job = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let out = decode(&bytes, &limits);
        crate::ops::metrics::qr_decoded(out.is_ok(), started.elapsed().as_secs_f64());
        out
    });
    // Stages are checked against the budget; this outer bound only guards
    // against a single stage running away.
    match tokio::time::timeout(budget * 4 + Duration::from_secs(1), job).await {
        Ok(Ok(result)) => result,
        Ok(Err(_join_error)) => Err(DecodeError::Internal),
        Err(_elapsed) => Err(DecodeError::Timeout),
    }
}

/// [`decode`] with an explicit strategy (`ashyq qr decode` uses the full one;
/// the benchmark measures plain rqrr and plain rxing side by side).
pub fn decode_with(
    bytes: &[u8],
    limits: &Limits,
    strategy: Strategy,
) -> Result<Vec<String>, DecodeError> {
    decode_traced(bytes, limits, strategy).0
}

/// [`decode_with`], also naming the pipeline stage that found the code
/// (`"first"`, `"down2"`, `"crop-mean"`, ...; `None` when nothing was found).
pub fn decode_traced(
    bytes: &[u8],
    limits: &Limits,
    strategy: Strategy,
) -> (Result<Vec<String>, DecodeError>, Option<&'static str>) {
    let deadline = Instant::now() + limits.time_budget;
    match catch_unwind(AssertUnwindSafe(|| {
        // Phone photos (JPEG): a first attempt on the luma decoded at half
        // scale, which costs about half of a full decode; full resolution
        // only when it finds nothing.
        let mut tried_half = false;
        if strategy == Strategy::Full
            && let Some((w, h)) = load::jpeg_dims_checked(bytes, limits)?
            && let Some(found) = engine::first_half(bytes, w, h)
        {
            if !found.is_empty() {
                return Ok((Ok(found), Some("first-half")));
            }
            tried_half = true;
            if Instant::now() > deadline {
                return Ok((Err(DecodeError::Timeout), None));
            }
        }
        Ok(match load::load_gray(bytes, limits) {
            Ok(gray) => engine::decode_gray_after(&gray, strategy, deadline, tried_half),
            Err(e) => (Err(e), None),
        })
    })) {
        Ok(Ok(traced)) => traced,
        Ok(Err(e)) => (Err(e), None),
        Err(_) => (Err(DecodeError::Internal), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "https://ashyq.kz/c/TEST1234?s=0123456789abcdef";

    /// A grey test image.
    struct Img {
        w: u32,
        h: u32,
        px: Vec<u8>,
    }

    impl Img {
        fn from_fn(w: u32, h: u32, mut f: impl FnMut(u32, u32) -> u8) -> Self {
            let px = (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .map(|(x, y)| f(x, y))
                .collect();
            Self { w, h, px }
        }
        fn at(&self, x: u32, y: u32) -> u8 {
            self.px[(y * self.w + x) as usize]
        }
    }

    /// The code for `text`: `px` pixels per module, 4-module quiet zone.
    fn draw(text: &str, px: u32) -> Img {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("fits");
        let n = code.width() as u32;
        let colors = code.to_colors();
        let side = (n + 8) * px;
        Img::from_fn(side, side, |x, y| {
            let (mx, my) = ((x / px) as i64 - 4, (y / px) as i64 - 4);
            let dark = mx >= 0
                && my >= 0
                && (mx as u32) < n
                && (my as u32) < n
                && colors[(my as u32 * n + mx as u32) as usize] == qrcode::Color::Dark;
            if dark { 20 } else { 235 }
        })
    }

    /// PNG of raw samples (16-bit samples big-endian, as PNG stores them).
    fn png_raw(
        w: u32,
        h: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(color);
            enc.set_depth(depth);
            let mut wr = enc.write_header().expect("png header");
            wr.write_image_data(data).expect("png data");
        }
        out
    }

    fn png(img: &Img) -> Vec<u8> {
        png_raw(
            img.w,
            img.h,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &img.px,
        )
    }

    fn jpeg_gray(img: &Img, q: u8) -> Vec<u8> {
        let rgb: Vec<u8> = img.px.iter().flat_map(|&v| [v, v, v]).collect();
        crate::core::venues::poster::jpeg(&rgb, img.w, img.h, q)
    }

    /// A PNG consisting of a signature and an IHDR chunk only.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grey
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend_from_slice(&13u32.to_be_bytes());
        out.extend_from_slice(&ihdr);
        out.extend_from_slice(&crc32fast::hash(&ihdr).to_be_bytes());
        out
    }

    #[test]
    fn round_trip_png_and_jpeg() {
        let img = draw(TEXT, 4);
        assert_eq!(
            decode(&png(&img), &Limits::default()),
            Ok(vec![TEXT.to_owned()])
        );
        assert_eq!(
            decode(&jpeg_gray(&img, 80), &Limits::default()),
            Ok(vec![TEXT.to_owned()])
        );
    }

    #[test]
    fn not_an_image() {
        assert_eq!(
            decode(b"hello, world", &Limits::default()),
            Err(DecodeError::NotAnImage)
        );
        assert_eq!(
            decode(b"", &Limits::default()),
            Err(DecodeError::NotAnImage)
        );
    }

    #[test]
    fn heic_and_other_formats_are_unsupported() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0";
        assert_eq!(
            decode(heic, &Limits::default()),
            Err(DecodeError::UnsupportedFormat("heic"))
        );
        assert_eq!(
            decode(b"GIF89a\x01\0\x01\0", &Limits::default()),
            Err(DecodeError::UnsupportedFormat("gif"))
        );
    }

    #[test]
    fn too_many_bytes_refused_before_decoding() {
        let limits = Limits {
            max_bytes: 100,
            ..Limits::default()
        };
        let bytes = png(&draw(TEXT, 4));
        assert!(matches!(
            decode(&bytes, &limits),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn huge_dimensions_refused_from_the_header() {
        for (w, h) in [(30_000, 30_000), (8_000, 8_000), (100_000, 1)] {
            assert_eq!(
                decode(&png_header(w, h), &Limits::default()),
                Err(DecodeError::DimensionsTooLarge {
                    width: w,
                    height: h
                }),
                "{w}x{h}"
            );
        }
        // A JPEG whose frame header claims 30000x30000.
        let mut jpeg = jpeg_gray(&draw(TEXT, 2), 80);
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline SOF0");
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0x75, 0x30, 0x75, 0x30]);
        assert_eq!(
            decode(&jpeg, &Limits::default()),
            Err(DecodeError::DimensionsTooLarge {
                width: 30_000,
                height: 30_000
            })
        );
    }

    #[test]
    fn decompression_bomb_refused() {
        // 7000x7000 grey (49 Mpx, above max_pixels) compresses to a few kB.
        let limits = Limits::default();
        let bomb = png(&Img::from_fn(7000, 7000, |_, _| 0));
        assert!(bomb.len() < 1_000_000, "{}", bomb.len());
        assert!(matches!(
            decode(&bomb, &limits),
            Err(DecodeError::DimensionsTooLarge { .. })
        ));
    }

    #[test]
    fn truncated_and_corrupt_files_do_not_panic() {
        let jpeg = jpeg_gray(&draw(TEXT, 4), 80);
        for cut in [3, 20, jpeg.len() / 3, jpeg.len() / 2, jpeg.len() - 10] {
            let r = decode(&jpeg[..cut], &Limits::default());
            assert!(
                matches!(r, Ok(_) | Err(DecodeError::Corrupt(_))),
                "cut {cut}: {r:?}"
            );
        }
        let png_bytes = png(&draw(TEXT, 4));
        for cut in [8, 30, png_bytes.len() / 2] {
            let r = decode(&png_bytes[..cut], &Limits::default());
            assert!(matches!(r, Ok(_) | Err(DecodeError::Corrupt(_))), "{r:?}");
        }
        let mut garbage = jpeg.clone();
        for (i, b) in garbage.iter_mut().enumerate().skip(200) {
            *b = (i as u8).wrapping_mul(31);
        }
        let r = decode(&garbage, &Limits::default());
        assert!(matches!(r, Ok(_) | Err(DecodeError::Corrupt(_))), "{r:?}");
    }

    #[test]
    fn one_pixel_image_has_no_code() {
        let one = png(&Img::from_fn(1, 1, |_, _| 255));
        assert_eq!(decode(&one, &Limits::default()), Ok(vec![]));
    }

    #[test]
    fn grey_alpha_16_bit_and_palette_pngs() {
        use png::{BitDepth, ColorType};
        let g = draw(TEXT, 3);
        let (w, h) = (g.w, g.h);
        let want = Ok(vec![TEXT.to_owned()]);
        let l = Limits::default();
        assert_eq!(decode(&png(&g), &l), want);
        // 16-bit grey.
        let g16: Vec<u8> =
            g.px.iter()
                .flat_map(|&v| (u16::from(v) * 257).to_be_bytes())
                .collect();
        assert_eq!(
            decode(
                &png_raw(w, h, ColorType::Grayscale, BitDepth::Sixteen, &g16),
                &l
            ),
            want
        );
        // Dark modules on a transparent background.
        let la: Vec<u8> =
            g.px.iter()
                .flat_map(|&v| [0, if v < 128 { 255 } else { 0 }])
                .collect();
        assert_eq!(
            decode(
                &png_raw(w, h, ColorType::GrayscaleAlpha, BitDepth::Eight, &la),
                &l
            ),
            want
        );
        // RGBA, 16-bit.
        let rgba16: Vec<u8> =
            g.px.iter()
                .flat_map(|&v| {
                    let s = (u16::from(v) * 257).to_be_bytes();
                    [s[0], s[1], s[0], s[1], s[0], s[1], 255, 255]
                })
                .collect();
        assert_eq!(
            decode(
                &png_raw(w, h, ColorType::Rgba, BitDepth::Sixteen, &rgba16),
                &l
            ),
            want
        );
        // RGB, 8-bit, coloured: dark blue modules on yellow paper.
        let rgb: Vec<u8> =
            g.px.iter()
                .flat_map(|&v| {
                    if v < 128 {
                        [20, 30, 120]
                    } else {
                        [250, 230, 120]
                    }
                })
                .collect();
        assert_eq!(
            decode(&png_raw(w, h, ColorType::Rgb, BitDepth::Eight, &rgb), &l),
            want
        );
        // 1-bit grey (palette-like low bit depth, expanded to 8 bits).
        let mut bits = Vec::new();
        for y in 0..h {
            let row: Vec<u8> = (0..w).map(|x| u8::from(g.at(x, y) >= 128)).collect();
            bits.extend(row.chunks(8).map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &v)| b | (v << (7 - i)))
            }));
        }
        assert_eq!(
            decode(
                &png_raw(w, h, ColorType::Grayscale, BitDepth::One, &bits),
                &l
            ),
            want
        );
    }

    #[test]
    fn cmyk_jpeg() {
        let g = draw(TEXT, 4);
        let mut cmyk = Vec::with_capacity(g.px.len() * 4);
        for &v in &g.px {
            // Black ink only: 255 - grey.
            cmyk.extend_from_slice(&[0, 0, 0, 255 - v]);
        }
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&cmyk, g.w as u16, g.h as u16, jpeg_encoder::ColorType::Cmyk)
            .expect("cmyk jpeg");
        let r = decode(&out, &Limits::default());
        assert_eq!(r, Ok(vec![TEXT.to_owned()]));
    }

    #[test]
    fn time_budget_is_reported() {
        // Noise: no code, every stage runs unless the budget stops it.
        let mut s = 1u32;
        let noise = Img::from_fn(300, 300, |_, _| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        });
        let limits = Limits {
            time_budget: Duration::ZERO,
            ..Limits::default()
        };
        assert_eq!(decode(&png(&noise), &limits), Err(DecodeError::Timeout));
        assert_eq!(decode(&png(&noise), &Limits::default()), Ok(vec![]));
    }

    #[tokio::test]
    async fn off_runtime() {
        let bytes = png(&draw(TEXT, 4));
        assert_eq!(
            decode_off_runtime(bytes, Limits::default()).await,
            Ok(vec![TEXT.to_owned()])
        );
    }
}
