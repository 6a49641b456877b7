//! Small grey-image operations for the retry stages: scaling, cropping and
//! local adaptive binarisation. All integer or f32, no allocation beyond the
//! output.

use super::load::Gray;

/// Bilinear resize to `nw` x `nh` (used for upscaling small modules).
pub(crate) fn resize_bilinear(g: &Gray, nw: usize, nh: usize) -> Gray {
    let mut out = vec![0u8; nw * nh];
    if g.w == 0 || g.h == 0 || nw == 0 || nh == 0 {
        return Gray::new(nw, nh, out);
    }
    let sx = g.w as f32 / nw as f32;
    let sy = g.h as f32 / nh as f32;
    // Precompute the horizontal taps once.
    let xs: Vec<(usize, usize, u32)> = (0..nw)
        .map(|x| {
            let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
            let x0 = (fx as usize).min(g.w - 1);
            let x1 = (x0 + 1).min(g.w - 1);
            (x0, x1, ((fx - x0 as f32) * 256.0) as u32)
        })
        .collect();
    for y in 0..nh {
        let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
        let y0 = (fy as usize).min(g.h - 1);
        let y1 = (y0 + 1).min(g.h - 1);
        let wy = ((fy - y0 as f32) * 256.0) as u32;
        let r0 = &g.px[y0 * g.w..(y0 + 1) * g.w];
        let r1 = &g.px[y1 * g.w..(y1 + 1) * g.w];
        let row = &mut out[y * nw..(y + 1) * nw];
        for (o, &(x0, x1, wx)) in row.iter_mut().zip(&xs) {
            let top = u32::from(r0[x0]) * (256 - wx) + u32::from(r0[x1]) * wx;
            let bot = u32::from(r1[x0]) * (256 - wx) + u32::from(r1[x1]) * wx;
            *o = ((top * (256 - wy) + bot * wy + (1 << 15)) >> 16) as u8;
        }
    }
    Gray::new(nw, nh, out)
}

/// Box-filter downscale by 2.
pub(crate) fn downscale2(g: &Gray) -> Gray {
    let (nw, nh) = (g.w / 2, g.h / 2);
    let mut out = vec![0u8; nw * nh];
    for y in 0..nh {
        let r0 = &g.px[2 * y * g.w..2 * y * g.w + 2 * nw];
        let r1 = &g.px[(2 * y + 1) * g.w..(2 * y + 1) * g.w + 2 * nw];
        let o = &mut out[y * nw..(y + 1) * nw];
        for ((d, a), b) in o.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
            let s = u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]);
            *d = ((s + 2) >> 2) as u8;
        }
    }
    Gray::new(nw, nh, out)
}

/// Crop `[x0, x1) x [y0, y1)`, clamped to the image.
pub(crate) fn crop(g: &Gray, x0: usize, y0: usize, x1: usize, y1: usize) -> Gray {
    let (x1, y1) = (x1.min(g.w), y1.min(g.h));
    let (x0, y0) = (x0.min(x1), y0.min(y1));
    let (w, h) = (x1 - x0, y1 - y0);
    let mut out = Vec::with_capacity(w * h);
    for y in y0..y1 {
        out.extend_from_slice(&g.px[y * g.w + x0..y * g.w + x1]);
    }
    Gray::new(w, h, out)
}

/// Local adaptive binarisation (Sauvola): a pixel is dark when it is below
/// `mean * (1 + k * (std / 128 - 1))` over a `(2r+1)^2` window. Integral
/// images make it O(pixels) whatever the window. Output is 0 / 255.
pub(crate) fn sauvola(g: &Gray, r: usize, k: f32) -> Gray {
    let (w, h) = (g.w, g.h);
    let iw = w + 1;
    let mut s1 = vec![0u64; iw * (h + 1)];
    let mut s2 = vec![0u64; iw * (h + 1)];
    for y in 0..h {
        let mut a1 = 0u64;
        let mut a2 = 0u64;
        for x in 0..w {
            let v = u64::from(g.px[y * w + x]);
            a1 += v;
            a2 += v * v;
            s1[(y + 1) * iw + x + 1] = s1[y * iw + x + 1] + a1;
            s2[(y + 1) * iw + x + 1] = s2[y * iw + x + 1] + a2;
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let ya = y.saturating_sub(r);
        let yb = (y + r + 1).min(h);
        for x in 0..w {
            let xa = x.saturating_sub(r);
            let xb = (x + r + 1).min(w);
            let n = ((yb - ya) * (xb - xa)) as f32;
            let sum =
                (s1[yb * iw + xb] + s1[ya * iw + xa] - s1[ya * iw + xb] - s1[yb * iw + xa]) as f32;
            let sq =
                (s2[yb * iw + xb] + s2[ya * iw + xa] - s2[ya * iw + xb] - s2[yb * iw + xa]) as f32;
            let mean = sum / n;
            let var = (sq / n - mean * mean).max(0.0);
            let t = mean * (1.0 + k * (var.sqrt() / 128.0 - 1.0));
            out[y * w + x] = if f32::from(g.px[y * w + x]) <= t {
                0
            } else {
                255
            };
        }
    }
    Gray::new(w, h, out)
}

/// Mean over a `(2r+1)^2` box (integral image).
pub(crate) fn box_mean(g: &Gray, r: usize) -> Vec<u32> {
    let (w, h) = (g.w, g.h);
    let iw = w + 1;
    let mut s = vec![0u32; iw * (h + 1)];
    for y in 0..h {
        let mut acc = 0u32;
        for x in 0..w {
            acc += u32::from(g.px[y * w + x]);
            s[(y + 1) * iw + x + 1] = s[y * iw + x + 1] + acc;
        }
    }
    let mut out = vec![0u32; w * h];
    for y in 0..h {
        let ya = y.saturating_sub(r);
        let yb = (y + r + 1).min(h);
        for x in 0..w {
            let xa = x.saturating_sub(r);
            let xb = (x + r + 1).min(w);
            let n = ((yb - ya) * (xb - xa)) as u32;
            let sum = s[yb * iw + xb] + s[ya * iw + xa] - s[ya * iw + xb] - s[yb * iw + xa];
            out[y * w + x] = sum / n;
        }
    }
    out
}

/// Unsharp mask: `g + amount * (g - box_mean(g, r))`, clamped.
pub(crate) fn unsharp(g: &Gray, r: usize, amount: f32) -> Gray {
    let m = box_mean(g, r);
    let px =
        g.px.iter()
            .zip(&m)
            .map(|(&v, &mu)| {
                let v = f32::from(v);
                (v + amount * (v - mu as f32)).round().clamp(0.0, 255.0) as u8
            })
            .collect();
    Gray::new(g.w, g.h, px)
}

/// Threshold at the local mean over a `(2r+1)^2` window minus `bias`.
pub(crate) fn mean_threshold(g: &Gray, r: usize, bias: i32) -> Gray {
    let m = box_mean(g, r);
    let px =
        g.px.iter()
            .zip(&m)
            .map(|(&v, &mu)| {
                if i32::from(v) <= mu as i32 - bias {
                    0
                } else {
                    255
                }
            })
            .collect();
    Gray::new(g.w, g.h, px)
}
