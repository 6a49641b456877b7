//! Bytes to an 8-bit grey image, with the size checks done on the header
//! before any pixel is decoded.

use std::io::Cursor;

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

/// For a JPEG: its dimensions from the frame header, after the same
/// byte-size and dimension checks as [`load_gray`]. `Ok(None)` for other
/// formats or a JPEG without a readable frame header (left to
/// [`load_gray`]).
pub(crate) fn jpeg_dims_checked(
    bytes: &[u8],
    limits: &Limits,
) -> Result<Option<(usize, usize)>, DecodeError> {
    if bytes.len() > limits.max_bytes || sniff(bytes)? != Format::Jpeg {
        return Ok(None);
    }
    match jpeg_sof_dims(bytes) {
        Some((w, h)) => {
            check_dims(w, h, limits)?;
            Ok(Some((w as usize, h as usize)))
        }
        None => Ok(None),
    }
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
    match format {
        Format::Jpeg => match jpeg_luma(bytes, limits) {
            Ok(g) => Ok(g),
            Err(e @ DecodeError::DimensionsTooLarge { .. }) => Err(e),
            // Colour spaces zune cannot give as luma (CMYK, YCCK): decode to
            // RGB (zune converts) and take the luma of that.
            Err(_) => {
                let (w, h, rgb) = jpeg_rgb(bytes, limits)?;
                Ok(Gray::new(w, h, rgb.chunks_exact(3).map(luma3).collect()))
            }
        },
        Format::Png => png_gray(bytes, limits),
        Format::Webp => webp_gray(bytes, limits),
    }
}

/// Memory a decoder may allocate: the largest accepted image as 16-bit RGBA
/// plus slack.
fn max_alloc(limits: &Limits) -> usize {
    usize::try_from(limits.max_pixels.saturating_mul(8))
        .unwrap_or(usize::MAX)
        .saturating_add(64 << 20)
}

fn png_reader<'a>(
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<png::Reader<Cursor<&'a [u8]>>, DecodeError> {
    let mut dec = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: max_alloc(limits),
        },
    );
    // Palette and low bit depths to 8 bits, tRNS to alpha, 16 bits to 8.
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let reader = dec.read_info().map_err(corrupt)?;
    let (w, h) = (reader.info().width, reader.info().height);
    check_dims(w, h, limits)?;
    Ok(reader)
}

/// PNG to grey (any colour type and bit depth).
fn png_gray(bytes: &[u8], limits: &Limits) -> Result<Gray, DecodeError> {
    let mut reader = png_reader(bytes, limits)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| DecodeError::Corrupt("PNG too large".into()))?;
    let mut buf = vec![0u8; size];
    let frame = reader.next_frame(&mut buf).map_err(corrupt)?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let stride = frame.line_size;
    let (color, _) = reader.output_color_type();
    let channels = color.samples();
    let mut px = Vec::with_capacity(w * h);
    for row in buf.chunks(stride).take(h) {
        let row = row
            .get(..w * channels)
            .ok_or_else(|| DecodeError::Corrupt("short PNG row".into()))?;
        match color {
            png::ColorType::Grayscale => px.extend_from_slice(row),
            png::ColorType::GrayscaleAlpha => px.extend(
                row.chunks_exact(2)
                    .map(|p| over_white(u32::from(p[0]), u32::from(p[1]))),
            ),
            png::ColorType::Rgb => px.extend(row.chunks_exact(3).map(luma3)),
            png::ColorType::Rgba => px.extend(row.chunks_exact(4).map(luma4)),
            // EXPAND turns indexed colour into RGB(A).
            png::ColorType::Indexed => {
                return Err(DecodeError::Corrupt("unexpanded palette".into()));
            }
        }
    }
    if px.len() != w * h {
        return Err(DecodeError::Corrupt("truncated PNG".into()));
    }
    Ok(Gray::new(w, h, px))
}

fn webp_decoder<'a>(
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<image_webp::WebPDecoder<Cursor<&'a [u8]>>, DecodeError> {
    let mut dec = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    let (w, h) = dec.dimensions();
    check_dims(w, h, limits)?;
    dec.set_memory_limit(max_alloc(limits));
    Ok(dec)
}

/// WebP (lossy or lossless, first frame of an animation) to grey.
fn webp_gray(bytes: &[u8], limits: &Limits) -> Result<Gray, DecodeError> {
    let mut dec = webp_decoder(bytes, limits)?;
    let (w, h) = dec.dimensions();
    let size = dec
        .output_buffer_size()
        .ok_or_else(|| DecodeError::Corrupt("WebP too large".into()))?;
    let mut buf = vec![0u8; size];
    dec.read_image(&mut buf).map_err(corrupt)?;
    let px: Vec<u8> = if dec.has_alpha() {
        buf.chunks_exact(4).map(luma4).collect()
    } else {
        buf.chunks_exact(3).map(luma3).collect()
    };
    if px.len() != w as usize * h as usize {
        return Err(DecodeError::Corrupt("unexpected WebP size".into()));
    }
    Ok(Gray::new(w as usize, h as usize, px))
}

/// Any supported image as 8-bit RGB, alpha composited over white (the
/// benchmark re-encodes the sample set with it).
pub(crate) fn load_rgb(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(usize, usize, Vec<u8>), DecodeError> {
    let flatten = |p: &[u8]| {
        let a = u32::from(p[3]);
        [0, 1, 2].map(|k| over_white(u32::from(p[k]), a))
    };
    match sniff(bytes)? {
        Format::Jpeg => jpeg_rgb(bytes, limits),
        Format::Png => {
            let mut reader = png_reader(bytes, limits)?;
            let size = reader
                .output_buffer_size()
                .ok_or_else(|| DecodeError::Corrupt("PNG too large".into()))?;
            let mut buf = vec![0u8; size];
            let frame = reader.next_frame(&mut buf).map_err(corrupt)?;
            let (w, h) = (frame.width as usize, frame.height as usize);
            let (color, _) = reader.output_color_type();
            let n = color.samples();
            let mut rgb = Vec::with_capacity(w * h * 3);
            for row in buf.chunks(frame.line_size).take(h) {
                let row = row
                    .get(..w * n)
                    .ok_or_else(|| DecodeError::Corrupt("short PNG row".into()))?;
                for p in row.chunks_exact(n) {
                    rgb.extend_from_slice(&match color {
                        png::ColorType::Grayscale => [p[0]; 3],
                        png::ColorType::GrayscaleAlpha => {
                            [over_white(u32::from(p[0]), u32::from(p[1])); 3]
                        }
                        png::ColorType::Rgb => [p[0], p[1], p[2]],
                        _ => flatten(p),
                    });
                }
            }
            Ok((w, h, rgb))
        }
        Format::Webp => {
            let mut dec = webp_decoder(bytes, limits)?;
            let (w, h) = dec.dimensions();
            let size = dec
                .output_buffer_size()
                .ok_or_else(|| DecodeError::Corrupt("WebP too large".into()))?;
            let mut buf = vec![0u8; size];
            dec.read_image(&mut buf).map_err(corrupt)?;
            let rgb = if dec.has_alpha() {
                buf.chunks_exact(4).flat_map(flatten).collect()
            } else {
                buf
            };
            Ok((w as usize, h as usize, rgb))
        }
    }
}

/// JPEG to RGB with zune-jpeg (CMYK and YCCK converted by zune).
fn jpeg_rgb(bytes: &[u8], limits: &Limits) -> Result<(usize, usize, Vec<u8>), DecodeError> {
    let opts = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_strict_mode(false)
        .set_max_width(limits.max_side as usize)
        .set_max_height(limits.max_side as usize);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
    dec.decode_headers().map_err(corrupt)?;
    let info = dec
        .info()
        .ok_or_else(|| DecodeError::Corrupt("no dimensions".into()))?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    check_dims(w as u32, h as u32, limits)?;
    let rgb = dec.decode().map_err(corrupt)?;
    if rgb.len() != w * h * 3 {
        return Err(DecodeError::Corrupt("unexpected RGB size".into()));
    }
    Ok((w, h, rgb))
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

#[inline]
fn luma3(p: &[u8]) -> u8 {
    luma(u32::from(p[0]), u32::from(p[1]), u32::from(p[2]))
}

/// Luma of an RGBA pixel composited over white.
#[inline]
fn luma4(p: &[u8]) -> u8 {
    over_white(u32::from(luma3(p)), u32::from(p[3]))
}

/// Transparent pixels are composited over white (codes drawn on a
/// transparent background are dark modules on nothing).
#[inline]
fn over_white(l: u32, a: u32) -> u8 {
    ((l * a + 255 * (255 - a) + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webp_and_png_header_dims() {
        let px: Vec<u8> = (0..37 * 53).map(|i| (i * 7) as u8).collect();
        let mut webp = Vec::new();
        image_webp::WebPEncoder::new(&mut webp)
            .encode(&px, 37, 53, image_webp::ColorType::L8)
            .expect("webp");
        assert_eq!(header_dims(Format::Webp, &webp), Some((37, 53)));
        let g = load_gray(&webp, &Limits::default()).expect("lossless webp");
        assert_eq!((g.w, g.h, &g.px[..5]), (37, 53, &px[..5]));
        let mut png = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png, 37, 53);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().expect("png header");
            w.write_image_data(&px).expect("png data");
        }
        assert_eq!(header_dims(Format::Png, &png), Some((37, 53)));
        assert_eq!(header_dims(Format::Webp, b"RIFF\0\0\0\0WEBPVP8 "), None);
        let jpeg = crate::core::venues::poster::jpeg(&[128; 37 * 53 * 3], 37, 53, 80);
        assert_eq!(header_dims(Format::Jpeg, &jpeg), Some((37, 53)));
        assert_eq!(header_dims(Format::Jpeg, &jpeg[..20]), None);
    }
}
