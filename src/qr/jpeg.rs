//! A small baseline-JPEG decoder that produces only the luma plane at half
//! resolution, for the decoder's fast first attempt on phone photos.
//!
//! Entropy decoding is the irreducible cost of a JPEG; everything after it
//! is cut down here: chroma blocks are parsed and dropped, and each luma
//! block goes through a reduced 4x4 IDCT of its 16 lowest frequencies (the
//! 8-point basis sampled at the centres of pixel pairs, as libjpeg's scaled
//! decoding does), which gives the image filtered and downscaled by 2 in one
//! step. Anything this decoder does not handle (progressive, arithmetic
//! coding, 12-bit, CMYK, RGB-coded JPEGs) or finds malformed returns `None`,
//! and the caller decodes the file with zune-jpeg at full resolution.

use super::load::Gray;

const FAST_BITS: u32 = 10;
const FAST_SIZE: usize = 1 << FAST_BITS;

/// Natural (row-major) index of each zig-zag position.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A Huffman table: a 9-bit look-up for short codes, canonical limits for
/// the rest, and (for AC tables) run, length and value of short
/// code + magnitude pairs in one look-up.
struct Huffman {
    /// `len << 8 | symbol`, 0 when the code is longer than `FAST_BITS`.
    fast: [u16; FAST_SIZE],
    /// One past the largest code of each length, left-aligned to 16 bits
    /// (`u32` so length 16 can hold 0x10000).
    maxcode: [u32; 18],
    /// Symbol index minus first code, per length.
    delta: [i32; 17],
    values: [u8; 256],
    /// AC: `value << 8 | run << 4 | total length`, 0 when not resolvable;
    /// end of block is value 0, run 0.
    fast_ac: [i16; FAST_SIZE],
    /// AC, for blocks that are parsed and dropped: `advance << 8 | total
    /// length` (advance 64 for end of block), 0 when not resolvable.
    fast_skip: [u16; FAST_SIZE],
}

impl Huffman {
    fn new(counts: &[u8; 16], symbols: &[u8]) -> Option<Box<Self>> {
        let mut t = Box::new(Self {
            fast: [0; FAST_SIZE],
            maxcode: [0; 18],
            delta: [0; 17],
            values: [0; 256],
            fast_ac: [0; FAST_SIZE],
            fast_skip: [0; FAST_SIZE],
        });
        if symbols.len() > 256 {
            return None;
        }
        t.values[..symbols.len()].copy_from_slice(symbols);
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            t.delta[len as usize] = k as i32 - code as i32;
            for _ in 0..n {
                if k >= symbols.len() || code >= (1 << len) {
                    return None;
                }
                if len <= FAST_BITS {
                    let first = (code << (FAST_BITS - len)) as usize;
                    let entry = (len as u16) << 8 | u16::from(symbols[k]);
                    t.fast[first..first + (1 << (FAST_BITS - len))].fill(entry);
                }
                code += 1;
                k += 1;
            }
            t.maxcode[len as usize] = code << (16 - len);
            code <<= 1;
        }
        t.maxcode[17] = u32::MAX;
        // Combined AC look-up (run/size symbol and magnitude bits within
        // FAST_BITS).
        for i in 0..FAST_SIZE {
            let e = t.fast[i];
            if e == 0 {
                continue;
            }
            let len = u32::from(e >> 8);
            let rs = e & 0xFF;
            let (run, size) = (u32::from(rs >> 4), u32::from(rs & 15));
            if len + size <= FAST_BITS {
                let advance = match (run, size) {
                    (0, 0) => 64,
                    (15, 0) => 16,
                    (_, 0) => 0,
                    _ => run + 1,
                };
                if advance > 0 {
                    t.fast_skip[i] = (advance << 8 | (len + size)) as u16;
                }
            }
            if rs == 0 {
                t.fast_ac[i] = len as i16; // end of block
            }
            if size != 0 && len + size <= FAST_BITS {
                let bits = ((i << len) & (FAST_SIZE - 1)) >> (FAST_BITS - size);
                let v = extend(bits as i32, size);
                if (-128..=127).contains(&v) {
                    t.fast_ac[i] = ((v << 8) | (run << 4) as i32 | (len + size) as i32) as i16;
                }
            }
        }
        Some(t)
    }
}

#[inline]
fn extend(v: i32, size: u32) -> i32 {
    if v < (1 << (size - 1)) {
        v - (1 << size) + 1
    } else {
        v
    }
}

/// MSB-first bit reader over entropy-coded data (0xFF00 stuffing removed;
/// a marker ends the data and zeros are fed from there on).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    /// Bytes of zeros fed past the end of the data (a corrupt stream).
    overrun: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            acc: 0,
            n: 0,
            overrun: 0,
        }
    }

    #[inline]
    fn refill(&mut self) {
        if self.n > 56 {
            return;
        }
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let w = u64::from_be_bytes(chunk.try_into().expect("8 bytes"));
            // No 0xFF byte among them: take whole bytes at once.
            let x = !w;
            if (x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080) == 0 {
                let take = (64 - self.n) >> 3;
                self.acc |= (w >> (64 - 8 * take)) << (64 - self.n - 8 * take);
                self.pos += take as usize;
                self.n += 8 * take;
                return;
            }
        }
        while self.n <= 56 {
            let b = match self.data.get(self.pos) {
                Some(&0xFF) => {
                    if self.data.get(self.pos + 1) == Some(&0) {
                        self.pos += 2;
                        0xFF
                    } else {
                        // A marker: stay on it, feed zeros.
                        self.overrun += 1;
                        0
                    }
                }
                Some(&b) => {
                    self.pos += 1;
                    b
                }
                None => {
                    self.overrun += 1;
                    0
                }
            };
            self.acc |= u64::from(b) << (56 - self.n);
            self.n += 8;
        }
    }

    #[inline]
    fn peek(&self, bits: u32) -> u32 {
        (self.acc >> (64 - bits)) as u32
    }

    #[inline]
    fn consume(&mut self, bits: u32) {
        self.acc <<= bits;
        self.n -= bits;
    }

    /// Makes sure at least 32 bits are buffered: enough for one Huffman
    /// code (up to 16 bits) and its magnitude bits (up to 15).
    #[inline(always)]
    fn ensure32(&mut self) {
        if self.n < 32 {
            self.refill();
        }
    }

    /// The next Huffman symbol; `None` for a code not in the table. Needs
    /// 16 buffered bits ([`Self::ensure32`]).
    #[inline]
    fn symbol(&mut self, t: &Huffman) -> Option<u8> {
        let e = t.fast[self.peek(FAST_BITS) as usize];
        if e != 0 {
            self.consume(u32::from(e >> 8));
            return Some(e as u8);
        }
        let p = self.peek(16);
        let mut len = FAST_BITS as usize + 1;
        while p >= t.maxcode[len] {
            len += 1;
        }
        if len > 16 {
            return None;
        }
        self.consume(len as u32);
        let idx = (p >> (16 - len)) as i32 + t.delta[len];
        t.values.get(usize::try_from(idx).ok()?).copied()
    }

    /// `size` magnitude bits, sign-extended (JPEG's RECEIVE/EXTEND). Needs
    /// `size` buffered bits.
    #[inline]
    fn receive(&mut self, size: u32) -> i32 {
        if size == 0 {
            return 0;
        }
        let v = self.peek(size) as i32;
        self.consume(size);
        extend(v, size)
    }

    /// Discards the partial byte and expects a restart marker.
    fn restart(&mut self) -> Option<()> {
        self.acc = 0;
        self.n = 0;
        self.overrun = 0;
        // Fill bytes before the marker are allowed.
        while self.data.get(self.pos) == Some(&0xFF) && self.data.get(self.pos + 1) == Some(&0xFF) {
            self.pos += 1;
        }
        match self.data.get(self.pos..self.pos + 2) {
            Some(&[0xFF, m]) if (0xD0..=0xD7).contains(&m) => {
                self.pos += 2;
                Some(())
            }
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
}

/// Reduced IDCT basis: `T[i][u] = C(u) / 2 * cos((2i + 1) u pi / 8)`,
/// `C(0) = 1 / sqrt 2`, so that `T F T'` gives the average of each 2x2
/// pixel group of the 8x8 block (DC alone: F00 / 8).
fn basis() -> [[f32; 4]; 4] {
    let mut t = [[0f32; 4]; 4];
    for (i, row) in t.iter_mut().enumerate() {
        for (u, x) in row.iter_mut().enumerate() {
            let c = if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            *x = (c / 2.0 * ((2 * i + 1) as f64 * u as f64 * std::f64::consts::PI / 8.0).cos())
                as f32;
        }
    }
    t
}

/// 4x4 output pixels of one block from its 4x4 lowest dequantised
/// coefficients (`coef` in natural order, only [0..4][0..4] read).
#[inline]
fn idct_half(coef: &[i32; 64], t: &[[f32; 4]; 4], out: &mut [u8], stride: usize) {
    // Rows: tmp[u][j] = sum_v F[u][v] T[j][v].
    let mut tmp = [[0f32; 4]; 4];
    for u in 0..4 {
        let f = [
            coef[u * 8] as f32,
            coef[u * 8 + 1] as f32,
            coef[u * 8 + 2] as f32,
            coef[u * 8 + 3] as f32,
        ];
        for j in 0..4 {
            tmp[u][j] = f[0] * t[j][0] + f[1] * t[j][1] + f[2] * t[j][2] + f[3] * t[j][3];
        }
    }
    for i in 0..4 {
        let row = &mut out[i * stride..i * stride + 4];
        for (j, o) in row.iter_mut().enumerate() {
            let v = t[i][0] * tmp[0][j]
                + t[i][1] * tmp[1][j]
                + t[i][2] * tmp[2][j]
                + t[i][3] * tmp[3][j]
                + 128.5;
            *o = v.clamp(0.0, 255.0) as u8;
        }
    }
}

/// Decodes the luma plane of a baseline JPEG at half resolution
/// (`ceil(w/2) x ceil(h/2)`). `None` when the file is not a plain baseline
/// YCbCr/grey JPEG or is malformed: the caller then uses the full decoder.
pub(crate) fn luma_half(data: &[u8]) -> Option<Gray> {
    let mut pos = 2;
    let mut qt = [[0u16; 64]; 4];
    let mut dc: [Option<Box<Huffman>>; 4] = [None, None, None, None];
    let mut ac: [Option<Box<Huffman>>; 4] = [None, None, None, None];
    let mut comps: Vec<Component> = Vec::new();
    let (mut w, mut h) = (0usize, 0usize);
    let mut restart = 0usize;
    let mut adobe_rgb = false;
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    loop {
        // Next marker (fill bytes allowed).
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if *data.get(pos)? != 0xFF {
            return None;
        }
        let marker = *data.get(pos + 1)?;
        pos += 2;
        if matches!(marker, 0xD8 | 0x01 | 0xD0..=0xD7) {
            continue;
        }
        if marker == 0xD9 {
            return None; // EOI before the luma scan
        }
        let len = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
        let seg = data.get(pos + 2..pos + len)?;
        pos += len;
        match marker {
            // Baseline and extended sequential Huffman, 8-bit.
            0xC0 | 0xC1 => {
                if *seg.first()? != 8 || !comps.is_empty() {
                    return None;
                }
                h = usize::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
                w = usize::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
                let n = usize::from(*seg.get(5)?);
                if w == 0 || h == 0 || !(n == 1 || n == 3) {
                    return None;
                }
                for i in 0..n {
                    let c = seg.get(6 + 3 * i..9 + 3 * i)?;
                    let (hs, vs) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                    if !(1..=4).contains(&hs) || !(1..=4).contains(&vs) || c[2] > 3 {
                        return None;
                    }
                    comps.push(Component {
                        id: c[0],
                        h: hs,
                        v: vs,
                        tq: usize::from(c[2]),
                    });
                }
                // RGB-coded JPEGs: the first component is red, not luma.
                if n == 3 && comps[0].id == b'R' && comps[1].id == b'G' {
                    return None;
                }
            }
            // Progressive, lossless, arithmetic, hierarchical.
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xC4 => {
                let mut s = seg;
                while !s.is_empty() {
                    let tc = s[0] >> 4;
                    let th = usize::from(s[0] & 15);
                    let counts: [u8; 16] = s.get(1..17)?.try_into().ok()?;
                    let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let symbols = s.get(17..17 + total)?;
                    if th > 3 || tc > 1 {
                        return None;
                    }
                    let t = Huffman::new(&counts, symbols)?;
                    if tc == 0 {
                        dc[th] = Some(t);
                    } else {
                        ac[th] = Some(t);
                    }
                    s = &s[17 + total..];
                }
            }
            0xDB => {
                let mut s = seg;
                while !s.is_empty() {
                    let (pq, tq) = (s[0] >> 4, usize::from(s[0] & 15));
                    if tq > 3 || pq > 1 {
                        return None;
                    }
                    if pq == 0 {
                        let v = s.get(1..65)?;
                        for k in 0..64 {
                            qt[tq][k] = u16::from(v[k]);
                        }
                        s = &s[65..];
                    } else {
                        let v = s.get(1..129)?;
                        for k in 0..64 {
                            qt[tq][k] = u16::from_be_bytes([v[2 * k], v[2 * k + 1]]);
                        }
                        s = &s[129..];
                    }
                }
            }
            0xDD => restart = usize::from(u16::from_be_bytes([*seg.first()?, *seg.get(1)?])),
            // Adobe APP14 with transform 0: RGB or CMYK, not YCbCr.
            0xEE if seg.starts_with(b"Adobe") && seg.get(11) == Some(&0) => adobe_rgb = true,
            0xDA => {
                if comps.is_empty() || (adobe_rgb && comps.len() == 3) {
                    return None;
                }
                let ns = usize::from(*seg.first()?);
                let mut scan: Vec<(usize, usize, usize)> = Vec::with_capacity(ns);
                for i in 0..ns {
                    let c = seg.get(1 + 2 * i..3 + 2 * i)?;
                    let ci = comps.iter().position(|k| k.id == c[0])?;
                    scan.push((ci, usize::from(c[1] >> 4), usize::from(c[1] & 15)));
                }
                let (ss, se) = (*seg.get(1 + 2 * ns)?, *seg.get(2 + 2 * ns)?);
                if ns == 0 || ns > 4 || ss != 0 || se != 63 {
                    return None;
                }
                if !scan.iter().any(|s| s.0 == 0) {
                    // A scan without luma (non-interleaved chroma first):
                    // skip its entropy-coded data to the next marker.
                    pos = skip_entropy(data, pos)?;
                    continue;
                }
                return decode_scan(data, pos, w, h, &comps, &scan, &qt, &dc, &ac, restart);
            }
            _ => {}
        }
    }
}

/// Position of the first marker (other than RSTn) after entropy-coded data.
fn skip_entropy(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let i = data.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        pos += i;
        match *data.get(pos + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => pos += 1,
            _ => return Some(pos),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn decode_scan(
    data: &[u8],
    pos: usize,
    w: usize,
    h: usize,
    comps: &[Component],
    scan: &[(usize, usize, usize)],
    qt: &[[u16; 64]; 4],
    dc: &[Option<Box<Huffman>>; 4],
    ac: &[Option<Box<Huffman>>; 4],
    restart: usize,
) -> Option<Gray> {
    let hmax = comps.iter().map(|c| c.h).max()?;
    let vmax = comps.iter().map(|c| c.v).max()?;
    let y = comps[0];
    // Luma block grid of the scan.
    let interleaved = scan.len() > 1;
    let (mcux, mcuy) = if interleaved {
        (w.div_ceil(8 * hmax), h.div_ceil(8 * vmax))
    } else {
        let cw = (w * y.h).div_ceil(hmax);
        let ch = (h * y.v).div_ceil(vmax);
        (cw.div_ceil(8), ch.div_ceil(8))
    };
    let (bw, bh) = if interleaved {
        (mcux * y.h, mcuy * y.v)
    } else {
        (mcux, mcuy)
    };
    // Half-resolution luma is only the image halved when luma is not
    // subsampled itself.
    if y.h != hmax || y.v != vmax {
        return None;
    }
    let stride = bw * 4;
    let mut plane = vec![0u8; stride * bh * 4];
    // Tables per scan component: (dc, ac, quant in zig-zag order, is luma).
    struct Sc<'t> {
        dc: &'t Huffman,
        ac: &'t Huffman,
        q: [i32; 64],
        luma: bool,
        h: usize,
        v: usize,
        pred: i32,
    }
    let mut sc: Vec<Sc> = Vec::with_capacity(scan.len());
    for &(ci, td, ta) in scan {
        let c = comps[ci];
        let mut q = [0i32; 64];
        for (k, x) in q.iter_mut().enumerate() {
            *x = i32::from(qt[c.tq][k]);
        }
        sc.push(Sc {
            dc: dc.get(td)?.as_deref()?,
            ac: ac.get(ta)?.as_deref()?,
            q,
            luma: ci == 0,
            h: if interleaved { c.h } else { 1 },
            v: if interleaved { c.v } else { 1 },
            pred: 0,
        });
    }
    let t = basis();
    let mut bits = Bits::new(data, pos);
    let mut coef = [0i32; 64];
    let mut todo = restart;
    for my in 0..mcuy {
        for mx in 0..mcux {
            if restart > 0 {
                if todo == 0 {
                    bits.restart()?;
                    for s in sc.iter_mut() {
                        s.pred = 0;
                    }
                    todo = restart;
                }
                todo -= 1;
            }
            for s in sc.iter_mut() {
                for v in 0..s.v {
                    for hh in 0..s.h {
                        if !s.luma {
                            skip_block(&mut bits, s.dc, s.ac, &mut s.pred)?;
                            continue;
                        }
                        let last =
                            decode_block(&mut bits, s.dc, s.ac, &s.q, &mut s.pred, &mut coef)?;
                        let (bx, by) = (mx * s.h + hh, my * s.v + v);
                        let o = &mut plane[by * 4 * stride + bx * 4..];
                        if last == 0 {
                            let dcv = ((coef[0] as f32 / 8.0) + 128.5).clamp(0.0, 255.0) as u8;
                            for i in 0..4 {
                                o[i * stride..i * stride + 4].fill(dcv);
                            }
                        } else {
                            idct_half(&coef, &t, o, stride);
                        }
                        // Reset the entries the IDCT reads.
                        for r in 0..4 {
                            coef[r * 8..r * 8 + 4].fill(0);
                        }
                    }
                }
            }
        }
        // A stream cut short: keep what was decoded if at least something
        // was; a file of zeros decodes to nothing useful anyway.
        if bits.overrun > 64 {
            if my < 2 {
                return None;
            }
            break;
        }
    }
    let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
    if ow > stride || oh > bh * 4 {
        return None;
    }
    if ow == stride {
        plane.truncate(ow * oh);
        return Some(Gray::new(ow, oh, plane));
    }
    let mut px = Vec::with_capacity(ow * oh);
    for row in plane.chunks_exact(stride).take(oh) {
        px.extend_from_slice(&row[..ow]);
    }
    Some(Gray::new(ow, oh, px))
}

/// Decodes one block's coefficients (dequantised, natural order) into
/// `coef`; returns the zig-zag index of the last non-zero AC coefficient
/// (0 when the block is DC only).
#[inline]
fn decode_block(
    bits: &mut Bits,
    dc: &Huffman,
    ac: &Huffman,
    q: &[i32; 64],
    pred: &mut i32,
    coef: &mut [i32; 64],
) -> Option<usize> {
    bits.ensure32();
    let s = bits.symbol(dc)?;
    if s > 11 {
        return None;
    }
    *pred = pred.wrapping_add(bits.receive(u32::from(s)));
    coef[0] = pred.wrapping_mul(q[0]);
    let mut k = 1usize;
    let mut last = 0usize;
    while k < 64 {
        bits.ensure32();
        let fa = ac.fast_ac[bits.peek(FAST_BITS) as usize];
        if fa != 0 {
            bits.consume((fa & 15) as u32);
            if fa >> 8 == 0 {
                break; // end of block
            }
            k += ((fa >> 4) & 15) as usize;
            if k > 63 {
                return None;
            }
            coef[usize::from(ZIGZAG[k])] = i32::from(fa >> 8).wrapping_mul(q[k]);
            last = k;
            k += 1;
            continue;
        }
        let rs = bits.symbol(ac)?;
        let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
        if size == 0 {
            if run != 15 {
                break; // end of block
            }
            k += 16;
            continue;
        }
        k += run;
        if k > 63 {
            return None;
        }
        coef[usize::from(ZIGZAG[k])] = bits.receive(size).wrapping_mul(q[k]);
        last = k;
        k += 1;
    }
    Some(last)
}

/// Parses one block and drops it (chroma).
#[inline]
fn skip_block(bits: &mut Bits, dc: &Huffman, ac: &Huffman, pred: &mut i32) -> Option<()> {
    bits.ensure32();
    let s = bits.symbol(dc)?;
    if s > 11 {
        return None;
    }
    // The DC prediction is not needed, but the bits are.
    let _ = pred;
    bits.consume(u32::from(s));
    let mut k = 1usize;
    while k < 64 {
        bits.ensure32();
        let fs = ac.fast_skip[bits.peek(FAST_BITS) as usize];
        if fs != 0 {
            k += usize::from(fs >> 8);
            bits.consume(u32::from(fs & 0xFF));
            continue;
        }
        let rs = bits.symbol(ac)?;
        let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
        if size == 0 {
            if run != 15 {
                break;
            }
            k += 16;
            continue;
        }
        bits.consume(size);
        k += run + 1;
    }
    // Nothing is stored, so a run past the block's end (corrupt data) needs
    // no check here.
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::{Limits, img, load};
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// A smooth test picture with edges: gradients, a dark square, stripes.
    fn picture(w: usize, h: usize) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let v = if (w / 4..w / 2).contains(&x) && (h / 4..h / 2).contains(&y) {
                    30
                } else if (x / 12) % 2 == 0 && y > h * 2 / 3 {
                    220
                } else {
                    (60 + (x * 120) / w + (y * 60) / h) as u8
                };
                rgb.extend_from_slice(&[v, v.saturating_add(20), v / 2 + 40]);
            }
        }
        rgb
    }

    fn encode(rgb: &[u8], w: usize, h: usize, sampling: SamplingFactor, restart: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out, 85);
        enc.set_sampling_factor(sampling);
        if restart > 0 {
            enc.set_restart_interval(restart);
        }
        enc.encode(rgb, w as u16, h as u16, ColorType::Rgb)
            .expect("encode");
        out
    }

    /// Mean absolute difference against zune-jpeg's full decode halved.
    fn mean_diff(bytes: &[u8]) -> f64 {
        let half = luma_half(bytes).expect("baseline JPEG");
        let full = load::load_gray(bytes, &Limits::default()).expect("zune");
        let want = img::downscale2(&full);
        assert_eq!((half.w, half.h), (full.w.div_ceil(2), full.h.div_ceil(2)));
        let mut sum = 0u64;
        for y in 0..want.h {
            for x in 0..want.w {
                sum += u64::from(half.px[y * half.w + x].abs_diff(want.px[y * want.w + x]));
            }
        }
        sum as f64 / (want.w * want.h) as f64
    }

    #[test]
    fn matches_the_full_decoder_halved() {
        for (w, h) in [(160, 120), (203, 97), (8, 8), (17, 33)] {
            let rgb = picture(w, h);
            for sampling in [
                SamplingFactor::R_4_2_0,
                SamplingFactor::R_4_4_4,
                SamplingFactor::R_4_2_2,
            ] {
                for restart in [0, 3] {
                    let bytes = encode(&rgb, w, h, sampling, restart);
                    // DRI segment present exactly when restarts are asked for.
                    let dri = bytes.windows(2).any(|m| m == [0xFF, 0xDD]);
                    assert_eq!(dri, restart > 0);
                    let d = mean_diff(&bytes);
                    // Only a tiny all-edges image differs by more than 2:
                    // the reduced IDCT low-passes where the box averages.
                    assert!(d < 4.0, "{w}x{h} {sampling:?} restart {restart}: {d}");
                }
            }
        }
        // Greyscale JPEG (one component).
        let (w, h) = (90, 70);
        let grey: Vec<u8> = picture(w, h).chunks(3).map(|p| p[0]).collect();
        let mut out = Vec::new();
        Encoder::new(&mut out, 90)
            .encode(&grey, w as u16, h as u16, ColorType::Luma)
            .expect("encode");
        assert!(mean_diff(&out) < 3.0);
    }

    #[test]
    fn declines_what_it_does_not_handle() {
        let (w, h) = (64, 48);
        let rgb = picture(w, h);
        let mut prog = Vec::new();
        let mut enc = Encoder::new(&mut prog, 80);
        enc.set_progressive(true);
        enc.encode(&rgb, w as u16, h as u16, ColorType::Rgb)
            .expect("encode");
        assert!(luma_half(&prog).is_none());
        let cmyk: Vec<u8> = rgb.chunks(3).flat_map(|p| [p[0], p[1], p[2], 0]).collect();
        let mut out = Vec::new();
        Encoder::new(&mut out, 80)
            .encode(&cmyk, w as u16, h as u16, ColorType::Cmyk)
            .expect("encode");
        assert!(luma_half(&out).is_none());
        assert!(luma_half(b"\xFF\xD8\xFF").is_none());
        assert!(luma_half(b"not a jpeg").is_none());
    }

    #[test]
    fn truncated_and_corrupt_input_never_panics() {
        let (w, h) = (120, 90);
        let good = encode(&picture(w, h), w, h, SamplingFactor::R_4_2_0, 0);
        for cut in (0..good.len()).step_by(7) {
            let _ = luma_half(&good[..cut]);
        }
        let mut s = 7u32;
        for round in 0..200 {
            let mut bad = good.clone();
            for _ in 0..(1 + round % 5) {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let i = s as usize % bad.len();
                bad[i] = (s >> 8) as u8;
            }
            let _ = luma_half(&bad);
        }
    }
}
