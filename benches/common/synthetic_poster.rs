//! Reproducible synthetic "phone photos" of check-in posters for the
//! benchmark: 1280x960, perspective, any rotation, Gaussian blur up to
//! sigma 2, a lighting gradient, sensor noise, a busy background, JPEG q80.
//! Fixed seed: the same images on every machine and every run.

#![allow(dead_code)] // each benchmark uses part of the generator

use super::qr_bench::Case;

/// SplitMix64: tiny, deterministic, no dependency on `rand`'s versioned
/// algorithms.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f().max(1e-12);
        let u2 = self.f();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

pub const WIDTH: usize = 1280;
pub const HEIGHT: usize = 960;
/// The seed of the benchmark set.
pub const SEED: u64 = 0x4153_4859_515F_5152; // "ASHYQ_QR"

/// Parameters drawn for one poster photo (kept for the report).
#[derive(Debug, Clone)]
pub struct PosterParams {
    pub module_px: f64,
    pub rotation_deg: f64,
    pub blur_sigma: f64,
    pub noise_sigma: f64,
    pub light_min: f64,
}

/// 3x3 homography, row-major.
type H = [f64; 9];

fn apply(h: &H, x: f64, y: f64) -> (f64, f64) {
    let w = h[6] * x + h[7] * y + h[8];
    (
        (h[0] * x + h[1] * y + h[2]) / w,
        (h[3] * x + h[4] * y + h[5]) / w,
    )
}

/// Homography mapping the four `src` points onto the four `dst` points.
fn homography(src: &[(f64, f64); 4], dst: &[(f64, f64); 4]) -> Option<H> {
    let mut a = [[0.0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = src[i];
        let (u, v) = dst[i];
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    // Gauss-Jordan with partial pivoting on the 8x9 augmented matrix.
    for c in 0..8 {
        let p = (c..8).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        let d = a[c][c];
        a[c].iter_mut().skip(c).for_each(|v| *v /= d);
        let pivot = a[c];
        for (r, row) in a.iter_mut().enumerate() {
            let f = row[c];
            if r != c && f != 0.0 {
                for (v, p) in row.iter_mut().zip(pivot).skip(c) {
                    *v -= f * p;
                }
            }
        }
    }
    let mut h = [1.0; 9];
    for i in 0..8 {
        h[i] = a[i][8];
    }
    Some(h)
}

fn gaussian_blur(buf: &mut [f32], w: usize, h: usize, sigma: f64) {
    if sigma < 0.2 {
        return;
    }
    let r = (sigma * 3.0).ceil() as usize;
    let mut k: Vec<f32> = (0..=2 * r)
        .map(|i| {
            let d = i as f64 - r as f64;
            (-(d * d) / (2.0 * sigma * sigma)).exp() as f32
        })
        .collect();
    let s: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        let row = &buf[y * w..(y + 1) * w];
        for x in 0..w {
            let mut acc = 0f32;
            for (i, kv) in k.iter().enumerate() {
                let xx = (x + i).saturating_sub(r).min(w - 1);
                acc += kv * row[xx];
            }
            tmp[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0f32;
            for (i, kv) in k.iter().enumerate() {
                let yy = (y + i).saturating_sub(r).min(h - 1);
                acc += kv * tmp[yy * w + x];
            }
            buf[y * w + x] = acc;
        }
    }
}

fn payload(rng: &mut Rng, i: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let venue: String = (0..8)
        .map(|_| char::from(ALNUM[rng.below(ALNUM.len())]))
        .collect();
    let sig_len = 8 + rng.below(40);
    let sig: String = (0..sig_len)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16)]))
        .collect();
    format!("https://ashyq.kz/c/{venue}?n={i}&s={sig}")
}

/// Renders poster `index` of the set drawn from `seed`: returns RGB bytes,
/// the payload and the drawn parameters.
pub fn render(seed: u64, index: usize) -> (Vec<u8>, String, PosterParams) {
    render_text(seed, index, None)
}

/// [`render`] with the code holding `text` instead of the drawn payload (same pose, light
/// and background as poster `index` of `seed`).
pub fn render_text(seed: u64, index: usize, text: Option<&str>) -> (Vec<u8>, String, PosterParams) {
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let drawn = payload(&mut rng, index);
    let text = text.map(str::to_owned).unwrap_or(drawn);
    let ec = [qrcode::EcLevel::L, qrcode::EcLevel::M, qrcode::EcLevel::Q][rng.below(3)];
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), ec)
        .or_else(|_| qrcode::QrCode::new(text.as_bytes()))
        .expect("payload fits a QR code");
    let n = code.width();
    let modules = code.to_colors();
    let dark = |mx: i64, my: i64| -> bool {
        mx >= 0
            && my >= 0
            && (mx as usize) < n
            && (my as usize) < n
            && modules[my as usize * n + mx as usize] == qrcode::Color::Dark
    };

    // Poster in its own units: 1 unit = 1 module; the code sits in the
    // middle with a 4-module quiet zone, paper around it.
    let q = n as f64 + 8.0;
    let pw = q * 1.6;
    let ph = q * 2.2;
    let qx0 = (pw - q) / 2.0 + 4.0;
    let qy0 = ph * 0.36;
    let header = ph * 0.2;
    let band: [f64; 3] = [
        rng.range(0.1, 0.9),
        rng.range(0.1, 0.9),
        rng.range(0.1, 0.9),
    ];

    // Pose: module size in pixels, rotation, perspective jitter.
    let module_px = rng.range(2.6, 8.0);
    let rotation = rng.range(0.0, std::f64::consts::TAU);
    let jitter = rng.range(0.0, 0.14);
    let blur_sigma = rng.range(0.0, 2.0);
    let noise_sigma = rng.range(2.0, 7.0);
    let light_min = rng.range(0.35, 0.8);
    let light_angle = rng.range(0.0, std::f64::consts::TAU);

    let mut to_img = None;
    let mut bbox = (0usize, 0usize, WIDTH, HEIGHT);
    for _attempt in 0..200 {
        let (sn, cs) = rotation.sin_cos();
        let cx = rng.range(0.3, 0.7) * WIDTH as f64;
        let cy = rng.range(0.3, 0.7) * HEIGHT as f64;
        let corners_p = [(0.0, 0.0), (pw, 0.0), (pw, ph), (0.0, ph)];
        let mut corners_i = [(0.0, 0.0); 4];
        for (k, &(x, y)) in corners_p.iter().enumerate() {
            let (dx, dy) = ((x - pw / 2.0) * module_px, (y - ph / 2.0) * module_px);
            let jx = rng.range(-jitter, jitter) * pw * module_px;
            let jy = rng.range(-jitter, jitter) * ph * module_px;
            corners_i[k] = (cx + dx * cs - dy * sn + jx, cy + dx * sn + dy * cs + jy);
        }
        let Some(h) = homography(&corners_p, &corners_i) else {
            continue;
        };
        // The code (with a little margin) must be inside the frame.
        let inside = [
            (qx0 - 2.0, qy0 - 2.0),
            (qx0 + n as f64 + 2.0, qy0 - 2.0),
            (qx0 + n as f64 + 2.0, qy0 + n as f64 + 2.0),
            (qx0 - 2.0, qy0 + n as f64 + 2.0),
        ]
        .iter()
        .all(|&(x, y)| {
            let (u, v) = apply(&h, x, y);
            u > 8.0 && v > 8.0 && u < WIDTH as f64 - 8.0 && v < HEIGHT as f64 - 8.0
        });
        if inside {
            to_img = homography(&corners_i, &corners_p);
            if to_img.is_some() {
                let xs = corners_i.map(|c| c.0);
                let ys = corners_i.map(|c| c.1);
                let lo = |v: [f64; 4]| v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = |v: [f64; 4]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                bbox = (
                    lo(xs).floor().clamp(0.0, WIDTH as f64) as usize,
                    lo(ys).floor().clamp(0.0, HEIGHT as f64) as usize,
                    (hi(xs).ceil() + 1.0).clamp(0.0, WIDTH as f64) as usize,
                    (hi(ys).ceil() + 1.0).clamp(0.0, HEIGHT as f64) as usize,
                );
                break;
            }
        }
    }
    let inv = to_img.unwrap_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);

    // Busy background: random rectangles, discs and stripes in colour.
    let (w, h) = (WIDTH, HEIGHT);
    let mut rgb = vec![[0f32; 3]; w * h];
    let base = [
        rng.range(0.2, 0.8),
        rng.range(0.2, 0.8),
        rng.range(0.2, 0.8),
    ];
    for p in rgb.iter_mut() {
        *p = [base[0] as f32, base[1] as f32, base[2] as f32];
    }
    for _ in 0..70 {
        let col = [rng.f() as f32, rng.f() as f32, rng.f() as f32];
        let x0 = rng.range(-100.0, w as f64);
        let y0 = rng.range(-100.0, h as f64);
        let sw = rng.range(10.0, 300.0);
        let sh = rng.range(10.0, 300.0);
        let kind = rng.below(3);
        let (xa, xb) = (x0.max(0.0) as usize, ((x0 + sw) as usize).min(w));
        let (ya, yb) = (y0.max(0.0) as usize, ((y0 + sh) as usize).min(h));
        let period = rng.range(3.0, 14.0);
        for y in ya..yb {
            for x in xa..xb {
                let keep = match kind {
                    0 => true,
                    1 => {
                        let dx = (x as f64 - x0 - sw / 2.0) / (sw / 2.0);
                        let dy = (y as f64 - y0 - sh / 2.0) / (sh / 2.0);
                        dx * dx + dy * dy <= 1.0
                    }
                    _ => ((x + y) as f64 / period) as i64 % 2 == 0,
                };
                if keep {
                    rgb[y * w + x] = col;
                }
            }
        }
    }

    // The poster, 2x2 supersampled, within its bounding box.
    let paper = [0.95f32, 0.94, 0.9];
    for y in bbox.1..bbox.3 {
        for x in bbox.0..bbox.2 {
            let mut acc = [0f32; 3];
            let mut hits = 0;
            for (sx, sy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                let (u, v) = apply(&inv, x as f64 + sx, y as f64 + sy);
                if !(0.0..pw).contains(&u) || !(0.0..ph).contains(&v) {
                    continue;
                }
                hits += 1;
                let c: [f32; 3] = if v < header {
                    // Coloured header with pale "title" bars.
                    let bar = v > header * 0.35
                        && v < header * 0.6
                        && u > pw * 0.12
                        && u < pw * 0.88
                        && ((u * 0.7) as i64 % 5) != 0;
                    if bar {
                        [0.97, 0.97, 0.97]
                    } else {
                        [band[0] as f32, band[1] as f32, band[2] as f32]
                    }
                } else if dark((u - qx0).floor() as i64, (v - qy0).floor() as i64) {
                    [0.08, 0.08, 0.1]
                } else if v > qy0 + n as f64 + 6.0
                    && u > pw * 0.1
                    && u < pw * 0.9
                    && ((v - qy0 - n as f64) / 2.5) as i64 % 2 == 0
                    && ((u * 1.3) as i64 % 7) != 0
                {
                    // Lines of small print under the code.
                    [0.3, 0.3, 0.35]
                } else {
                    paper
                };
                for k in 0..3 {
                    acc[k] += c[k];
                }
            }
            if hits > 0 {
                let old = rgb[y * w + x];
                let f = hits as f32 / 4.0;
                for k in 0..3 {
                    rgb[y * w + x][k] = acc[k] / hits as f32 * f + old[k] * (1.0 - f);
                }
            }
        }
    }

    // Optics: blur each channel, then light gradient and noise.
    let mut planes: Vec<Vec<f32>> = (0..3).map(|k| rgb.iter().map(|p| p[k]).collect()).collect();
    for p in planes.iter_mut() {
        gaussian_blur(p, w, h, blur_sigma);
    }
    let (ls, lc) = light_angle.sin_cos();
    let diag = ((w * w + h * h) as f64).sqrt();
    let mut out = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let t =
                ((x as f64 - w as f64 / 2.0) * lc + (y as f64 - h as f64 / 2.0) * ls) / diag + 0.5;
            let light = (light_min + (1.1 - light_min) * t.clamp(0.0, 1.0)) as f32;
            for k in 0..3 {
                let v = planes[k][y * w + x] * light * 255.0 + (rng.normal() * noise_sigma) as f32;
                out[(y * w + x) * 3 + k] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    let params = PosterParams {
        module_px,
        rotation_deg: rotation.to_degrees(),
        blur_sigma,
        noise_sigma,
        light_min,
    };
    (out, text, params)
}

/// The JPEG writer of the production posters.
pub use ashyq::core::venues::poster::jpeg;

/// The benchmark set: `count` posters from `seed`, as JPEG q80 files.
pub fn poster_set(seed: u64, count: usize) -> Vec<Case> {
    (0..count)
        .map(|i| {
            let (rgb, text, _) = render(seed, i);
            Case {
                name: format!("poster-{i:02}.jpg"),
                bytes: jpeg(&rgb, WIDTH as u32, HEIGHT as u32, 80),
                expected: text,
            }
        })
        .collect()
}
