//! Printable A4 posters of a venue's codes: PNG (150 dpi), SVG and PDF.
//!
//! Each poster shows the QR of the code's link (`Channels::poster_link`: the venue page with
//! `ASHYQ_PUBLIC_URL`, else the bot's deep link), the venue's name, entry or exit and the
//! entrance, the short code for typing, and two lines of instructions in Kazakh and Russian,
//! plus a line telling staff to compare check codes. The PNG needs a TrueType font with
//! Cyrillic (`ASHYQ_POSTER_FONT`, or DejaVu/Liberation/Noto found in the usual places); the
//! SVG leaves fonts to the viewer.

use super::admin::EntranceCodes;
use crate::domain::Lang;
use crate::i18n::{Msg, Texts};
use crate::storage::venues::VenueRow;
use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use std::path::{Path, PathBuf};

/// A4 at 150 dpi.
pub const PNG_WIDTH: u32 = 1240;
pub const PNG_HEIGHT: u32 = 1754;

const FONT_CANDIDATES: [&str; 7] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
];

#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error("no TrueType font with Cyrillic found: set ASHYQ_POSTER_FONT to a .ttf file")]
    NoFont,
    #[error("font {0}: unreadable")]
    BadFont(PathBuf),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("QR code: {0}")]
    Qr(String),
}

/// Loads the poster font: `explicit`, `ASHYQ_POSTER_FONT`, or a well-known system font.
pub fn find_font(explicit: Option<&Path>) -> Result<FontVec, PosterError> {
    let env = std::env::var_os("ASHYQ_POSTER_FONT").map(PathBuf::from);
    let candidates = explicit
        .map(Path::to_path_buf)
        .into_iter()
        .chain(env)
        .chain(FONT_CANDIDATES.iter().map(PathBuf::from));
    for path in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            let font = FontVec::try_from_vec(bytes).map_err(|_| PosterError::BadFont(path))?;
            return Ok(font);
        }
    }
    Err(PosterError::NoFont)
}

/// The texts of one poster, already rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct PosterText {
    pub venue: String,
    /// `КІРУ · ВХОД` or `ШЫҒУ · ВЫХОД`.
    pub kind: String,
    /// `Кіреберіс 1 · Вход 1`.
    pub entrance: String,
    pub code: String,
    pub code_label: String,
    pub instructions: [String; 2],
    pub staff: [String; 2],
    pub link: String,
    pub exit: bool,
}

/// The poster texts of one code (entry or exit) of an entrance, in Kazakh and Russian.
pub fn poster_text(texts: &Texts, venue: &VenueRow, e: &EntranceCodes, exit: bool) -> PosterText {
    let kind = if exit { "exit" } else { "entry" };
    let both = |msg: Msg| {
        format!(
            "{} · {}",
            texts.render(Lang::Kk, &msg),
            texts.render(Lang::Ru, &msg)
        )
    };
    let code = if exit { &e.exit_code } else { &e.entry_code };
    let line = |lang: Lang, key: &'static str| {
        texts.render(lang, &Msg::new(key).arg("code", code.clone()))
    };
    PosterText {
        venue: venue.name.clone(),
        kind: both(Msg::new("poster-kind").arg("kind", kind)),
        entrance: both(Msg::new("poster-entrance").arg("name", e.name.clone())),
        code: code.clone(),
        code_label: both(Msg::new("poster-code-label")),
        instructions: [
            line(Lang::Kk, "poster-instructions"),
            line(Lang::Ru, "poster-instructions"),
        ],
        staff: [
            line(Lang::Kk, "poster-staff"),
            line(Lang::Ru, "poster-staff"),
        ],
        link: if exit {
            e.exit_link.clone()
        } else {
            e.entry_link.clone()
        },
        exit,
    }
}

fn qr_modules(link: &str) -> Result<(usize, Vec<bool>), PosterError> {
    let code = qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| PosterError::Qr(e.to_string()))?;
    let n = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok((n, dark))
}

fn accent(exit: bool) -> [u8; 3] {
    if exit {
        [0xB0, 0x3A, 0x2E]
    } else {
        [0x1E, 0x7D, 0x4F]
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The poster as SVG, A4 in millimetres.
pub fn svg(p: &PosterText) -> Result<String, PosterError> {
    let (n, dark) = qr_modules(&p.link)?;
    let [r, g, b] = accent(p.exit);
    let colour = format!("#{r:02x}{g:02x}{b:02x}");
    let size = 130.0;
    let m = size / (n as f64 + 8.0);
    let x0 = (210.0 - size) / 2.0 + 4.0 * m;
    let y0 = 78.0 + 4.0 * m;
    let mut path = String::new();
    for y in 0..n {
        for x in 0..n {
            if dark[y * n + x] {
                path.push_str(&format!(
                    "M{:.3} {:.3}h{m:.3}v{m:.3}h-{m:.3}z",
                    x0 + x as f64 * m,
                    y0 + y as f64 * m
                ));
            }
        }
    }
    let text = |y: f64, size: f64, weight: &str, fill: &str, s: &str| {
        format!(
            r#"<text x="105" y="{y}" font-size="{size}" font-weight="{weight}" fill="{fill}" text-anchor="middle" font-family="DejaVu Sans, Arial, sans-serif">{}</text>"#,
            xml_escape(s)
        )
    };
    let mut out = String::new();
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push('\n');
    out.push_str(r#"<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297">"#);
    out.push_str(r##"<rect width="210" height="297" fill="#ffffff"/>"##);
    out.push_str(&format!(
        r#"<rect width="210" height="28" fill="{colour}"/>"#
    ));
    out.push_str(&text(19.0, 14.0, "bold", "#ffffff", "ASHYQ"));
    out.push_str(&text(44.0, 11.0, "bold", "#111111", &p.venue));
    out.push_str(&text(60.0, 10.0, "bold", &colour, &p.kind));
    out.push_str(&text(71.0, 7.0, "normal", "#333333", &p.entrance));
    out.push_str(&format!(r##"<path d="{path}" fill="#000000"/>"##));
    out.push_str(&text(222.0, 6.0, "normal", "#333333", &p.code_label));
    out.push_str(&text(238.0, 16.0, "bold", "#111111", &p.code));
    out.push_str(&text(254.0, 5.2, "normal", "#111111", &p.instructions[0]));
    out.push_str(&text(262.0, 5.2, "normal", "#111111", &p.instructions[1]));
    out.push_str(&text(276.0, 4.2, "normal", "#555555", &p.staff[0]));
    out.push_str(&text(283.0, 4.2, "normal", "#555555", &p.staff[1]));
    out.push_str("</svg>\n");
    Ok(out)
}

struct Canvas {
    w: u32,
    h: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Self {
        Self {
            w,
            h,
            rgb: vec![255; (w * h * 3) as usize],
        }
    }

    fn fill(&mut self, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
        for y in y0..(y0 + h).min(self.h) {
            for x in x0..(x0 + w).min(self.w) {
                let i = ((y * self.w + x) * 3) as usize;
                self.rgb[i..i + 3].copy_from_slice(&c);
            }
        }
    }

    fn blend(&mut self, x: i64, y: i64, c: [u8; 3], a: f32) {
        if x < 0 || y < 0 || x >= i64::from(self.w) || y >= i64::from(self.h) {
            return;
        }
        let i = ((y as u32 * self.w + x as u32) * 3) as usize;
        let a = a.clamp(0.0, 1.0);
        for (px, ink) in self.rgb[i..i + 3].iter_mut().zip(c) {
            *px = (f32::from(*px) * (1.0 - a) + f32::from(ink) * a).round() as u8;
        }
    }

    /// Draws one line centred at `cy` (baseline-centred), shrinking it to fit `max_w`.
    fn text(&mut self, font: &FontVec, s: &str, cy: f32, px: f32, c: [u8; 3], max_w: f32) {
        let width = |px: f32| {
            let f = font.as_scaled(PxScale::from(px));
            let mut w = 0.0;
            let mut prev = None;
            for ch in s.chars() {
                let id = f.glyph_id(ch);
                if let Some(p) = prev {
                    w += f.kern(p, id);
                }
                w += f.h_advance(id);
                prev = Some(id);
            }
            w
        };
        let mut px = px;
        while width(px) > max_w && px > 8.0 {
            px *= 0.92;
        }
        let f = font.as_scaled(PxScale::from(px));
        let mut x = (self.w as f32 - width(px)) / 2.0;
        let baseline = cy + (f.ascent() + f.descent()) / 2.0;
        let mut prev = None;
        for ch in s.chars() {
            let id = f.glyph_id(ch);
            if let Some(p) = prev {
                x += f.kern(p, id);
            }
            let glyph = id.with_scale_and_position(px, ab_glyph::point(x, baseline));
            x += f.h_advance(id);
            prev = Some(id);
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cov| {
                    self.blend(
                        b.min.x as i64 + i64::from(gx),
                        b.min.y as i64 + i64::from(gy),
                        c,
                        cov,
                    );
                });
            }
        }
    }
}

/// The poster as RGB pixels, `PNG_WIDTH` x `PNG_HEIGHT`.
pub fn raster(p: &PosterText, font: &FontVec) -> Result<Vec<u8>, PosterError> {
    let (n, dark) = qr_modules(&p.link)?;
    let colour = accent(p.exit);
    let mut c = Canvas::new(PNG_WIDTH, PNG_HEIGHT);
    let wmax = PNG_WIDTH as f32 - 120.0;
    c.fill(0, 0, PNG_WIDTH, 165, colour);
    c.text(font, "ASHYQ", 82.0, 84.0, [255, 255, 255], wmax);
    c.text(font, &p.venue, 260.0, 68.0, [17, 17, 17], wmax);
    c.text(font, &p.kind, 355.0, 60.0, colour, wmax);
    c.text(font, &p.entrance, 420.0, 40.0, [51, 51, 51], wmax);
    // The code: whole pixels per module, centred, with its quiet zone left white.
    let module = (760 / (n as u32 + 8)).max(1);
    let side = module * n as u32;
    let x0 = (PNG_WIDTH - side) / 2;
    let y0 = 470 + 4 * module;
    for y in 0..n {
        for x in 0..n {
            if dark[y * n + x] {
                c.fill(
                    x0 + x as u32 * module,
                    y0 + y as u32 * module,
                    module,
                    module,
                    [0, 0, 0],
                );
            }
        }
    }
    let below = y0 + side + 4 * module;
    let y = below as f32;
    c.text(font, &p.code_label, y + 30.0, 34.0, [51, 51, 51], wmax);
    c.text(font, &p.code, y + 110.0, 110.0, [17, 17, 17], wmax);
    c.text(
        font,
        &p.instructions[0],
        y + 200.0,
        32.0,
        [17, 17, 17],
        wmax,
    );
    c.text(
        font,
        &p.instructions[1],
        y + 245.0,
        32.0,
        [17, 17, 17],
        wmax,
    );
    c.text(font, &p.staff[0], y + 310.0, 25.0, [85, 85, 85], wmax);
    c.text(font, &p.staff[1], y + 345.0, 25.0, [85, 85, 85], wmax);
    Ok(c.rgb)
}

fn png(rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = ::png::Encoder::new(&mut out, PNG_WIDTH, PNG_HEIGHT);
        enc.set_color(::png::ColorType::Rgb);
        enc.set_depth(::png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .expect("in-memory PNG header of a valid size");
        writer
            .write_image_data(rgb)
            .expect("in-memory PNG encoding of a valid buffer");
    }
    out
}

/// A one-page A4 PDF showing a JPEG edge to edge.
fn pdf(jpeg: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut offsets = Vec::new();
    out.extend_from_slice(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
    let content = b"q 595.28 0 0 841.89 0 0 cm /Im0 Do Q\n";
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        {
            let mut o = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            o.extend_from_slice(content);
            o.extend_from_slice(b"\nendstream");
            o
        },
        {
            let mut o = format!(
                "<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
                jpeg.len()
            )
            .into_bytes();
            o.extend_from_slice(jpeg);
            o.extend_from_slice(b"\nendstream");
            o
        },
    ];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Writes `venue-<id>-<entrance>-<entry|exit>.{svg,png,pdf}` for every code into `dir`.
/// Without a font only the SVGs are written (and `Err(NoFont)` is returned after them).
pub fn write_all(
    texts: &Texts,
    venue: &VenueRow,
    codes: &[EntranceCodes],
    dir: &Path,
    font: Option<&Path>,
) -> Result<Vec<PathBuf>, PosterError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PosterError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let font = find_font(font);
    let mut written = Vec::new();
    for e in codes {
        for exit in [false, true] {
            let p = poster_text(texts, venue, e, exit);
            let safe: String = e
                .name
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '_' })
                .collect();
            let stem = format!(
                "venue-{}-{safe}-{}",
                venue.id,
                if exit { "exit" } else { "entry" }
            );
            let path = dir.join(format!("{stem}.svg"));
            std::fs::write(&path, svg(&p)?).map_err(io(&path))?;
            written.push(path);
            if let Ok(font) = &font {
                let rgb = raster(&p, font)?;
                let path = dir.join(format!("{stem}.png"));
                std::fs::write(&path, png(&rgb)).map_err(io(&path))?;
                written.push(path);
                let jpeg = jpeg(&rgb, PNG_WIDTH, PNG_HEIGHT, 92);
                let path = dir.join(format!("{stem}.pdf"));
                std::fs::write(&path, pdf(&jpeg, PNG_WIDTH, PNG_HEIGHT)).map_err(io(&path))?;
                written.push(path);
            }
        }
    }
    font.map(|_| written)
}

/// One printable poster, ready to send as a document.
#[derive(Debug, Clone, PartialEq)]
pub struct PosterFile {
    pub file_name: String,
    pub entrance: String,
    pub exit: bool,
    pub bytes: Vec<u8>,
}

/// Every code of `codes` as a document: a one-page PDF with a font, else an SVG. CPU-heavy:
/// call it on the blocking pool.
pub fn documents(
    texts: &Texts,
    venue: &VenueRow,
    codes: &[EntranceCodes],
    font: Option<&FontVec>,
) -> Result<Vec<PosterFile>, PosterError> {
    let mut out = Vec::new();
    for e in codes {
        for exit in [false, true] {
            let p = poster_text(texts, venue, e, exit);
            let safe: String = e
                .name
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '_' })
                .collect();
            let stem = format!(
                "ashyq-{}-{safe}-{}",
                venue.id,
                if exit { "exit" } else { "entry" }
            );
            let (file_name, bytes) = match font {
                Some(font) => {
                    let rgb = raster(&p, font)?;
                    let jpeg = jpeg(&rgb, PNG_WIDTH, PNG_HEIGHT, 85);
                    (format!("{stem}.pdf"), pdf(&jpeg, PNG_WIDTH, PNG_HEIGHT))
                }
                None => (format!("{stem}.svg"), svg(&p)?.into_bytes()),
            };
            out.push(PosterFile {
                file_name,
                entrance: e.name.clone(),
                exit,
                bytes,
            });
        }
    }
    Ok(out)
}

/// Encodes RGB pixels as a baseline JPEG at `quality` with 4:2:0 chroma
/// subsampling, as phone cameras and messengers write them.
pub fn jpeg(rgb: &[u8], w: u32, h: u32, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    let (w16, h16) = (w.min(65535) as u16, h.min(65535) as u16);
    if enc
        .encode(rgb, w16, h16, jpeg_encoder::ColorType::Rgb)
        .is_err()
    {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_escapes_and_pdf_is_well_formed() {
        let p = PosterText {
            venue: "Café <Ala & Tau>".into(),
            kind: "КІРУ · ВХОД".into(),
            entrance: "1".into(),
            code: "K7P-2QX9".into(),
            code_label: "code".into(),
            instructions: ["a".into(), "b".into()],
            staff: ["c".into(), "d".into()],
            link: "https://t.me/x?start=AAAA".into(),
            exit: false,
        };
        let s = svg(&p).unwrap();
        assert!(s.contains("Café &lt;Ala &amp; Tau&gt;"));
        assert!(s.contains("K7P-2QX9"));
        let doc = pdf(&[0xFF, 0xD8, 0xFF, 0xD9], 10, 10);
        assert!(doc.starts_with(b"%PDF-1.4"));
        assert!(doc.ends_with(b"%%EOF\n"));
    }
}
