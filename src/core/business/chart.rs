//! A PNG bar chart of visits by hour over the last 7 days, drawn by hand (no plotting crate):
//! 168 bars, one per hour, day separators and labels, the peak count. Only counts go in.

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 500;
const LEFT: u32 = 60;
const RIGHT: u32 = 20;
const TOP: u32 = 60;
const BOTTOM: u32 = 70;

/// Buckets entry times into the 168 hours ending at the hour of `now_ms` (Almaty time):
/// index 0 is the oldest hour.
pub fn hourly(times: &[i64], now_ms: i64) -> [u32; 168] {
    let mut out = [0u32; 168];
    let hour = 3_600_000;
    let end = (now_ms / hour + 1) * hour;
    let start = end - 168 * hour;
    for &t in times {
        if t >= start && t < end {
            out[((t - start) / hour) as usize] += 1;
        }
    }
    out
}

struct Canvas {
    rgb: Vec<u8>,
}

impl Canvas {
    fn fill(&mut self, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
        for y in y0..(y0 + h).min(HEIGHT) {
            for x in x0..(x0 + w).min(WIDTH) {
                let i = ((y * WIDTH + x) * 3) as usize;
                self.rgb[i..i + 3].copy_from_slice(&c);
            }
        }
    }

    fn text(&mut self, font: &FontVec, s: &str, x: f32, baseline: f32, px: f32, c: [u8; 3]) {
        let f = font.as_scaled(PxScale::from(px));
        let mut x = x;
        for ch in s.chars() {
            let id = f.glyph_id(ch);
            let glyph = id.with_scale_and_position(px, ab_glyph::point(x, baseline));
            x += f.h_advance(id);
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cov| {
                    let (px_, py) = (
                        b.min.x as i64 + i64::from(gx),
                        b.min.y as i64 + i64::from(gy),
                    );
                    if px_ < 0 || py < 0 || px_ >= i64::from(WIDTH) || py >= i64::from(HEIGHT) {
                        return;
                    }
                    let i = ((py as u32 * WIDTH + px_ as u32) * 3) as usize;
                    for (p, ink) in self.rgb[i..i + 3].iter_mut().zip(c) {
                        *p = (f32::from(*p) * (1.0 - cov) + f32::from(ink) * cov).round() as u8;
                    }
                });
            }
        }
    }
}

/// The chart as a PNG. `title` and `day_labels` (7, oldest first) are already localised;
/// without a font the chart is drawn without text.
pub fn render(
    counts: &[u32; 168],
    title: &str,
    day_labels: &[String],
    font: Option<&FontVec>,
) -> Vec<u8> {
    let mut c = Canvas {
        rgb: vec![255; (WIDTH * HEIGHT * 3) as usize],
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let peak = counts.iter().copied().max().unwrap_or(0).max(1);
    // Axes and day separators.
    c.fill(LEFT, TOP + plot_h, plot_w, 2, [60, 60, 60]);
    c.fill(LEFT - 2, TOP, 2, plot_h + 2, [60, 60, 60]);
    let bar = plot_w as f32 / 168.0;
    for d in 1..7 {
        let x = LEFT + (d as f32 * 24.0 * bar) as u32;
        c.fill(x, TOP, 1, plot_h, [210, 210, 210]);
    }
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let h = ((n as f32 / peak as f32) * plot_h as f32).round().max(1.0) as u32;
        let x = LEFT + (i as f32 * bar) as u32;
        let w = (bar.floor() as u32).saturating_sub(1).max(1);
        c.fill(x, TOP + plot_h - h, w, h, [0x1E, 0x7D, 0x4F]);
    }
    if let Some(font) = font {
        c.text(font, title, LEFT as f32, 38.0, 26.0, [17, 17, 17]);
        c.text(
            font,
            &peak.to_string(),
            8.0,
            TOP as f32 + 14.0,
            18.0,
            [80, 80, 80],
        );
        c.text(font, "0", 30.0, (TOP + plot_h) as f32, 18.0, [80, 80, 80]);
        for (d, label) in day_labels.iter().take(7).enumerate() {
            let x = LEFT as f32 + d as f32 * 24.0 * bar + 6.0;
            c.text(
                font,
                label,
                x,
                (HEIGHT - BOTTOM + 30) as f32,
                18.0,
                [80, 80, 80],
            );
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .expect("in-memory PNG header of a valid size");
        w.write_image_data(&c.rgb)
            .expect("in-memory PNG encoding of a valid buffer");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_bucketed_over_the_last_week() {
        let now = 1_000 * 3_600_000 + 1_800_000; // half past an hour
        let times = [now, now - 3_600_000, now - 3_600_000, now - 200 * 3_600_000];
        let h = hourly(&times, now);
        assert_eq!(h[167], 1);
        assert_eq!(h[166], 2);
        assert_eq!(h.iter().sum::<u32>(), 3, "older than a week is left out");
    }

    #[test]
    fn the_chart_is_a_png_with_bars() {
        let mut counts = [0u32; 168];
        counts[10] = 5;
        let png = render(&counts, "t", &[], None);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        // The bar of hour 10 is green at the bottom of the plot.
        let x = LEFT + (10.0 * (WIDTH - LEFT - RIGHT) as f32 / 168.0) as u32;
        let y = HEIGHT - BOTTOM - 5;
        let i = ((y * WIDTH + x) * 3) as usize;
        assert_eq!(&buf[i..i + 3], &[0x1E, 0x7D, 0x4F]);
    }
}
