//! QR code decoding for every photo path (check-in, canteen, pharmacy).
//!
//! Image bytes in, every decoded payload out. The decoder refuses oversized
//! inputs before decoding, never panics (third-party code runs behind
//! `catch_unwind`) and bounds its time. See docs/PERFORMANCE.md, section
//! "QR decoder", for how each stage was chosen.

pub mod bench;
pub(crate) mod binarize;
pub(crate) mod engine;
pub(crate) mod img;
pub(crate) mod load;
pub mod poster;
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
    let job = tokio::task::spawn_blocking(move || decode(&bytes, &limits));
    // Stages are checked against the budget; this outer bound only guards
    // against a single stage running away.
    match tokio::time::timeout(budget * 4 + Duration::from_secs(1), job).await {
        Ok(Ok(result)) => result,
        Ok(Err(_join_error)) => Err(DecodeError::Internal),
        Err(_elapsed) => Err(DecodeError::Timeout),
    }
}

/// [`decode`] with an explicit strategy (used by the benchmark to measure
/// plain rqrr and plain rxing side by side).
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
    match catch_unwind(AssertUnwindSafe(|| match load::load_gray(bytes, limits) {
        Ok(gray) => engine::decode_gray(&gray, strategy, deadline),
        Err(e) => (Err(e), None),
    })) {
        Ok(traced) => traced,
        Err(_) => (Err(DecodeError::Internal), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, ImageEncoder, Luma, LumaA, Rgba};

    const TEXT: &str = "https://ashyq.kz/c/TEST1234?s=0123456789abcdef";

    /// The code for `text` as a grey image: `px` pixels per module, 4-module
    /// quiet zone.
    fn draw(text: &str, px: u32) -> image::GrayImage {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("fits");
        let n = code.width() as u32;
        let colors = code.to_colors();
        let side = (n + 8) * px;
        ImageBuffer::from_fn(side, side, |x, y| {
            let (mx, my) = ((x / px) as i64 - 4, (y / px) as i64 - 4);
            let dark = mx >= 0
                && my >= 0
                && (mx as u32) < n
                && (my as u32) < n
                && colors[(my as u32 * n + mx as u32) as usize] == qrcode::Color::Dark;
            Luma([if dark { 20 } else { 235 }])
        })
    }

    fn png<P: image::PixelWithColorType>(img: &ImageBuffer<P, Vec<P::Subpixel>>) -> Vec<u8>
    where
        [P::Subpixel]: image::EncodableLayout,
    {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                image::EncodableLayout::as_bytes(img.as_raw().as_slice()),
                img.width(),
                img.height(),
                P::COLOR_TYPE,
            )
            .expect("png");
        out
    }

    fn jpeg_gray(img: &image::GrayImage, q: u8) -> Vec<u8> {
        let rgb: Vec<u8> = img.as_raw().iter().flat_map(|&v| [v, v, v]).collect();
        poster::jpeg(&rgb, img.width(), img.height(), q)
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
        assert!(matches!(
            decode(&jpeg, &Limits::default()),
            Err(DecodeError::DimensionsTooLarge { .. })
        ));
    }

    #[test]
    fn decompression_bomb_refused() {
        // 7000x7000 grey (49 Mpx, above max_pixels) compresses to a few kB.
        let limits = Limits::default();
        let bomb = png(&image::GrayImage::new(7000, 7000));
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
        let one = png(&image::GrayImage::from_pixel(1, 1, Luma([255])));
        assert_eq!(decode(&one, &Limits::default()), Ok(vec![]));
    }

    #[test]
    fn grey_alpha_and_16_bit_pngs() {
        let g = draw(TEXT, 3);
        let want = Ok(vec![TEXT.to_owned()]);
        assert_eq!(decode(&png(&g), &Limits::default()), want);
        // 16-bit grey.
        let g16: ImageBuffer<Luma<u16>, Vec<u16>> =
            ImageBuffer::from_fn(g.width(), g.height(), |x, y| {
                Luma([u16::from(g.get_pixel(x, y)[0]) * 257])
            });
        assert_eq!(decode(&png(&g16), &Limits::default()), want);
        // Dark modules on a transparent background.
        let la: ImageBuffer<LumaA<u8>, Vec<u8>> =
            ImageBuffer::from_fn(g.width(), g.height(), |x, y| {
                let dark = g.get_pixel(x, y)[0] < 128;
                LumaA([0, if dark { 255 } else { 0 }])
            });
        assert_eq!(decode(&png(&la), &Limits::default()), want);
        // RGBA, 16-bit.
        let rgba16: ImageBuffer<Rgba<u16>, Vec<u16>> =
            ImageBuffer::from_fn(g.width(), g.height(), |x, y| {
                let v = u16::from(g.get_pixel(x, y)[0]) * 257;
                Rgba([v, v, v, 65535])
            });
        assert_eq!(decode(&png(&rgba16), &Limits::default()), want);
    }

    #[test]
    fn cmyk_jpeg() {
        let g = draw(TEXT, 4);
        let mut cmyk = Vec::with_capacity(g.as_raw().len() * 4);
        for &v in g.as_raw() {
            // Black ink only: 255 - grey.
            cmyk.extend_from_slice(&[0, 0, 0, 255 - v]);
        }
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(
                &cmyk,
                g.width() as u16,
                g.height() as u16,
                jpeg_encoder::ColorType::Cmyk,
            )
            .expect("cmyk jpeg");
        let r = decode(&out, &Limits::default());
        assert_eq!(r, Ok(vec![TEXT.to_owned()]));
    }

    #[test]
    fn time_budget_is_reported() {
        // Noise: no code, every stage runs unless the budget stops it.
        let mut s = 1u32;
        let noise = image::GrayImage::from_fn(300, 300, |_, _| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            Luma([s as u8])
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
