//! Bytes to an 8-bit grey image, with the size checks done on the header
//! before any pixel is decoded.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use super::{DecodeError, Limits};

/// An 8-bit grey image, row-major, `w * h` bytes.
#[derive(Clone)]
pub(crate) struct Gray {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

impl Gray {
    pub fn new(w: usize, h: usize, px: Vec<u8>) -> Self {
        debug_assert_eq!(px.len(), w * h);
        Self { w, h, px }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Jpeg,
    Png,
    Webp,
}

/// Identifies the format from the magic bytes (never from a file name or a
/// MIME type a client sent).
pub(crate) fn sniff(bytes: &[u8]) -> Result<Format, DecodeError> {
    let b = bytes;
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        return Ok(Format::Webp);
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        let brand = &b[8..12];
        return Err(DecodeError::UnsupportedFormat(match brand {
            b"avif" | b"avis" => "avif",
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => "heic",
            _ => "iso-bmff",
        }));
    }
    let other: &[(&[u8], &'static str)] = &[
        (b"GIF87a", "gif"),
        (b"GIF89a", "gif"),
        (b"BM", "bmp"),
        (b"II*\0", "tiff"),
        (b"MM\0*", "tiff"),
        (b"\0\0\x01\0", "ico"),
        (b"\xFF\x0A", "jpeg-xl"),
        (b"\0\0\0\x0CJXL ", "jpeg-xl"),
        (b"%PDF", "pdf"),
        (b"8BPS", "psd"),
        (b"qoif", "qoi"),
    ];
    for (magic, name) in other {
        if b.starts_with(magic) {
            return Err(DecodeError::UnsupportedFormat(name));
        }
    }
    Err(DecodeError::NotAnImage)
}

fn check_dims(w: u32, h: u32, limits: &Limits) -> Result<(), DecodeError> {
    if w == 0 || h == 0 {
        return Err(DecodeError::Corrupt("zero dimension".into()));
    }
    if w > limits.max_side || h > limits.max_side || u64::from(w) * u64::from(h) > limits.max_pixels
    {
        return Err(DecodeError::DimensionsTooLarge {
            width: w,
            height: h,
        });
    }
    Ok(())
}

/// Width and height from the PNG IHDR or the WebP VP8/VP8L/VP8X header,
/// read by hand so a bomb is refused before any decoder runs.
pub(crate) fn header_dims(format: Format, b: &[u8]) -> Option<(u32, u32)> {
    let be32 = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let le16 = |i: usize| {
        Some(u32::from(u16::from_le_bytes(
            b.get(i..i + 2)?.try_into().ok()?,
        )))
    };
    let le24 = |i: usize| {
        let s = b.get(i..i + 3)?;
        Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
    };
    match format {
        Format::Png if b.get(12..16) == Some(b"IHDR") => Some((be32(16)?, be32(20)?)),
        Format::Jpeg => jpeg_sof_dims(b),
        Format::Webp => match b.get(12..16)? {
            b"VP8 " => Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF)),
            b"VP8L" => {
                let v = be32(21)?.swap_bytes();
                Some(((v & 0x3FFF) + 1, ((v >> 14) & 0x3FFF) + 1))
            }
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            _ => None,
        },
        Format::Png => None,
    }
}

/// Walks the JPEG marker segments to the first SOFn and reads its size.
fn jpeg_sof_dims(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    // A few hundred segments at most before the frame header in practice.
    for _ in 0..1000 {
        while *b.get(i)? == 0xFF && *b.get(i + 1)? == 0xFF {
            i += 1; // fill bytes
        }
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        let len = usize::from(u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]));
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = u32::from(u16::from_be_bytes([*b.get(i + 5)?, *b.get(i + 6)?]));
            let w = u32::from(u16::from_be_bytes([*b.get(i + 7)?, *b.get(i + 8)?]));
            return Some((w, h));
        }
        if marker == 0xDA || len < 2 {
            return None; // scan data before any frame header
        }
        i += 2 + len;
    }
    None
}

fn corrupt(e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt(e.to_string())
}

/// Decodes `bytes` to grey after checking byte size and header dimensions.
pub(crate) fn load_gray(bytes: &[u8], limits: &Limits) -> Result<Gray, DecodeError> {
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    if let Some((w, h)) = header_dims(format, bytes) {
        check_dims(w, h, limits)?;
    }
    if format == Format::Jpeg {
        match jpeg_luma(bytes, limits) {
            Ok(g) => return Ok(g),
            Err(e @ DecodeError::DimensionsTooLarge { .. }) => return Err(e),
            // Colour spaces zune cannot give as luma (e.g. CMYK): fall back
            // to the general path below.
            Err(_) => {}
        }
    }
    let fmt = match format {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
        Format::Webp => ImageFormat::WebP,
    };
    // The header is read without limits so that the dimensions can be
    // checked (and reported) before any pixel buffer is allocated.
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (w, h) = decoder.dimensions();
    check_dims(w, h, limits)?;
    let mut il = image::Limits::default();
    il.max_image_width = Some(limits.max_side);
    il.max_image_height = Some(limits.max_side);
    // Enough for the largest accepted image as 16-bit RGBA, plus slack.
    il.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    decoder.set_limits(il).map_err(corrupt)?;
    let img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    Ok(to_gray(img))
}

/// JPEG straight to luma: the Y channel is decoded and no colour conversion
/// is done at all.
fn jpeg_luma(bytes: &[u8], limits: &Limits) -> Result<Gray, DecodeError> {
    let opts = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_strict_mode(false)
        .set_max_width(limits.max_side as usize)
        .set_max_height(limits.max_side as usize);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
    dec.decode_headers().map_err(|e| match e {
        // Normally caught from the SOF header before; kept as a backstop.
        zune_jpeg::errors::DecodeErrors::LargeDimensions(_) => DecodeError::DimensionsTooLarge {
            width: 0,
            height: 0,
        },
        e => corrupt(e),
    })?;
    let info = dec
        .info()
        .ok_or_else(|| DecodeError::Corrupt("no dimensions".into()))?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    check_dims(w as u32, h as u32, limits)?;
    match dec.input_colorspace() {
        Some(ColorSpace::YCbCr | ColorSpace::Luma | ColorSpace::RGB) => {}
        other => return Err(DecodeError::Corrupt(format!("colour space {other:?}"))),
    }
    let px = dec.decode().map_err(corrupt)?;
    if px.len() != w * h {
        return Err(DecodeError::Corrupt("unexpected luma size".into()));
    }
    Ok(Gray::new(w, h, px))
}

/// Integer BT.601 luma: (77 R + 150 G + 29 B) >> 8.
#[inline]
fn luma(r: u32, g: u32, b: u32) -> u8 {
    ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8
}

/// Transparent pixels are composited over white (codes drawn on a
/// transparent background are dark modules on nothing).
#[inline]
fn over_white(l: u32, a: u32) -> u8 {
    ((l * a + 255 * (255 - a) + 127) / 255) as u8
}

fn to_gray(img: DynamicImage) -> Gray {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px: Vec<u8> = match img {
        DynamicImage::ImageLuma8(b) => b.into_raw(),
        DynamicImage::ImageLumaA8(b) => b
            .as_raw()
            .chunks_exact(2)
            .map(|p| over_white(u32::from(p[0]), u32::from(p[1])))
            .collect(),
        DynamicImage::ImageRgb8(b) => b
            .as_raw()
            .chunks_exact(3)
            .map(|p| luma(u32::from(p[0]), u32::from(p[1]), u32::from(p[2])))
            .collect(),
        DynamicImage::ImageRgba8(b) => b
            .as_raw()
            .chunks_exact(4)
            .map(|p| {
                let l = luma(u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
                over_white(u32::from(l), u32::from(p[3]))
            })
            .collect(),
        DynamicImage::ImageLuma16(b) => b.as_raw().iter().map(|&v| (v >> 8) as u8).collect(),
        DynamicImage::ImageLumaA16(b) => b
            .as_raw()
            .chunks_exact(2)
            .map(|p| over_white(u32::from(p[0] >> 8), u32::from(p[1] >> 8)))
            .collect(),
        DynamicImage::ImageRgb16(b) => b
            .as_raw()
            .chunks_exact(3)
            .map(|p| {
                luma(
                    u32::from(p[0] >> 8),
                    u32::from(p[1] >> 8),
                    u32::from(p[2] >> 8),
                )
            })
            .collect(),
        DynamicImage::ImageRgba16(b) => b
            .as_raw()
            .chunks_exact(4)
            .map(|p| {
                let l = luma(
                    u32::from(p[0] >> 8),
                    u32::from(p[1] >> 8),
                    u32::from(p[2] >> 8),
                );
                over_white(u32::from(l), u32::from(p[3] >> 8))
            })
            .collect(),
        other => {
            let rgba = other.into_rgba8();
            rgba.as_raw()
                .chunks_exact(4)
                .map(|p| {
                    let l = luma(u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
                    over_white(u32::from(l), u32::from(p[3]))
                })
                .collect()
        }
    };
    Gray::new(w, h, px)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webp_and_png_header_dims() {
        let img = image::GrayImage::from_fn(37, 53, |x, y| image::Luma([(x * y) as u8]));
        let mut webp = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
            .encode(img.as_raw(), 37, 53, image::ExtendedColorType::L8)
            .expect("webp");
        assert_eq!(header_dims(Format::Webp, &webp), Some((37, 53)));
        let mut png = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut png),
            img.as_raw(),
            37,
            53,
            image::ExtendedColorType::L8,
        )
        .expect("png");
        assert_eq!(header_dims(Format::Png, &png), Some((37, 53)));
        assert_eq!(header_dims(Format::Webp, b"RIFF\0\0\0\0WEBPVP8 "), None);
        let jpeg = super::super::poster::jpeg(&[128; 37 * 53 * 3], 37, 53, 80);
        assert_eq!(header_dims(Format::Jpeg, &jpeg), Some((37, 53)));
        assert_eq!(header_dims(Format::Jpeg, &jpeg[..20]), None);
    }
}
