//! A fast port of ZXing's hybrid binariser (8x8 blocks, black point per
//! block, threshold = mean of the 5x5 neighbouring blocks), writing bits
//! straight into 64-bit words, plus the glue that hands a ready bit matrix
//! to rxing. rxing's own `HybridBinarizer` sets one bit at a time and was
//! 35 % of the decode time of a 1280x960 photo (perf, see PERFORMANCE.md).

use std::borrow::Cow;

use rxing::common::{BitArray, BitMatrix, LineOrientation, Result as RxResult};
use rxing::{Binarizer, Luma8Source, LuminanceSource};

use super::load::Gray;

const BLOCK_POWER: usize = 3;
const BLOCK: usize = 1 << BLOCK_POWER;
const MIN_DYNAMIC_RANGE: u32 = 24;
const WORD: usize = usize::BITS as usize;

/// Bits of a binarised image: row-major, `row_words` words per row, bit
/// `x % 64` of word `x / 64` set when pixel x is black.
pub(crate) struct Bits {
    pub w: usize,
    pub h: usize,
    pub row_words: usize,
    pub words: Vec<usize>,
}

impl Bits {
    fn new(w: usize, h: usize) -> Self {
        let row_words = w.div_ceil(WORD);
        Self {
            w,
            h,
            row_words,
            words: vec![0; row_words * h],
        }
    }

    /// Into rxing's `BitMatrix` (one row copy each).
    pub fn to_matrix(&self) -> Option<BitMatrix> {
        let mut m = BitMatrix::new(self.w as u32, self.h as u32).ok()?;
        let mut row = BitArray::with_size(self.w);
        for y in 0..self.h {
            let src = &self.words[y * self.row_words..(y + 1) * self.row_words];
            for (i, &word) in src.iter().enumerate() {
                row.setBulk(i * WORD, word);
            }
            m.setRow(y as u32, &row);
        }
        Some(m)
    }
}

/// Bit i of the result is set when byte i of `p` (little-endian) is `<= t`.
/// SWAR: each byte is widened into a 16-bit lane, `(t | 0x100) - p` keeps
/// bit 8 exactly when `p <= t`, and a multiply gathers the four lane bits.
#[inline]
fn le_mask8(p: u64, t: u8) -> u8 {
    const LO: u64 = 0x00FF_00FF_00FF_00FF;
    const NINE: u64 = 0x0100_0100_0100_0100;
    // Moves bit 16k (k = 0..3) to bit 56 + 2k; no two products overlap.
    const GATHER: u64 = (1 << 56) | (1 << 42) | (1 << 28) | (1 << 14);
    let tt = u64::from(t) * 0x0001_0001_0001_0001;
    let even = (((tt | NINE) - (p & LO)) & NINE) >> 8;
    let odd = (((tt | NINE) - ((p >> 8) & LO)) & NINE) >> 8;
    let e = (even.wrapping_mul(GATHER) >> 56) as u8;
    let o = (odd.wrapping_mul(GATHER) >> 56) as u8;
    e | (o << 1)
}

/// Threshold every pixel against the threshold of its 8x8 block
/// (`thresholds` is `sub_w` x `sub_h`; a partial last block uses the last
/// threshold).
fn threshold_blocks(g: &Gray, sub_w: usize, sub_h: usize, thresholds: &[u8]) -> Bits {
    let mut bits = Bits::new(g.w, g.h);
    let full_blocks = g.w / BLOCK;
    for y in 0..g.h {
        let by = (y >> BLOCK_POWER).min(sub_h - 1);
        let trow = &thresholds[by * sub_w..(by + 1) * sub_w];
        let row = &g.px[y * g.w..(y + 1) * g.w];
        let out = &mut bits.words[y * bits.row_words..(y + 1) * bits.row_words];
        for (bx, (chunk, &t)) in row.chunks_exact(BLOCK).zip(trow).enumerate() {
            let p = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let byte = le_mask8(p, t) as usize;
            let bit = bx * BLOCK;
            out[bit / WORD] |= byte << (bit % WORD);
        }
        let t = trow[full_blocks.min(sub_w - 1)];
        for x in full_blocks * BLOCK..g.w {
            if row[x] <= t {
                out[x / WORD] |= 1 << (x % WORD);
            }
        }
    }
    bits
}

/// ZXing's hybrid binarisation. Images smaller than 40 px on a side fall
/// back to one global threshold (the image mean), as ZXing does with its
/// histogram binariser.
pub(crate) fn hybrid(g: &Gray) -> Bits {
    let (w, h) = (g.w, g.h);
    if w < BLOCK * 5 || h < BLOCK * 5 {
        let mean = (g.px.iter().map(|&v| u64::from(v)).sum::<u64>() / (w * h).max(1) as u64) as u8;
        return threshold_blocks(g, 1, 1, &[mean]);
    }
    let sub_w = w.div_ceil(BLOCK);
    let sub_h = h.div_ceil(BLOCK);
    let max_x = w - BLOCK;
    let max_y = h - BLOCK;
    // Sum, min and max per block, one block row at a time, walking whole
    // pixel rows (cache- and vectoriser-friendly).
    let mut sum = vec![0u32; sub_w];
    let mut mn = vec![0u8; sub_w];
    let mut mx = vec![0u8; sub_w];
    let mut black = vec![0u32; sub_w * sub_h];
    for by in 0..sub_h {
        let yo = (by << BLOCK_POWER).min(max_y);
        sum.fill(0);
        mn.fill(255);
        mx.fill(0);
        for yy in 0..BLOCK {
            let row = &g.px[(yo + yy) * w..(yo + yy + 1) * w];
            let full = w / BLOCK;
            let it = row
                .chunks_exact(BLOCK)
                .zip(sum.iter_mut().zip(mn.iter_mut().zip(mx.iter_mut())));
            for (c, (s, (lo, hi))) in it {
                let mut acc = 0u32;
                let (mut l, mut m) = (255u8, 0u8);
                for &p in c {
                    acc += u32::from(p);
                    l = l.min(p);
                    m = m.max(p);
                }
                *s += acc;
                *lo = (*lo).min(l);
                *hi = (*hi).max(m);
            }
            if full < sub_w {
                // Partial last block: like ZXing, the block ending at the edge.
                for &p in &row[max_x..max_x + BLOCK] {
                    sum[full] += u32::from(p);
                    mn[full] = mn[full].min(p);
                    mx[full] = mx[full].max(p);
                }
            }
        }
        for bx in 0..sub_w {
            let (min, max) = (mn[bx], mx[bx]);
            let mut avg = sum[bx] >> (2 * BLOCK_POWER);
            if u32::from(max - min) <= MIN_DYNAMIC_RANGE {
                // Flat block: assume background, unless the neighbours say
                // it is inside a dark area.
                avg = u32::from(min) / 2;
                if by > 0 && bx > 0 {
                    let nb = (black[(by - 1) * sub_w + bx]
                        + 2 * black[by * sub_w + bx - 1]
                        + black[(by - 1) * sub_w + bx - 1])
                        / 4;
                    if u32::from(min) < nb {
                        avg = nb;
                    }
                }
            }
            black[by * sub_w + bx] = avg;
        }
    }
    // Threshold per block: mean black point of the 5x5 blocks around it
    // (column sums first, then a sliding window along the row).
    let mut thr = vec![0u8; sub_w * sub_h];
    let mut col = vec![0u32; sub_w];
    for by in 0..sub_h {
        let top = by.clamp(2, sub_h - 3);
        col.fill(0);
        for yy in top - 2..=top + 2 {
            for (c, &b) in col.iter_mut().zip(&black[yy * sub_w..(yy + 1) * sub_w]) {
                *c += b;
            }
        }
        for bx in 0..sub_w {
            let left = bx.clamp(2, sub_w - 3);
            let s: u32 = col[left - 2..left + 3].iter().sum();
            thr[by * sub_w + bx] = (s / 25).min(255) as u8;
        }
    }
    threshold_blocks(g, sub_w, sub_h, &thr)
}

/// A binariser whose matrix is computed up front.
pub(crate) struct Prebinarized<'a> {
    source: Luma8Source<'a>,
    matrix: BitMatrix,
}

impl<'a> Prebinarized<'a> {
    /// Hybrid-binarises `g`. `None` for an empty image.
    pub fn hybrid(g: &'a Gray) -> Option<Self> {
        let source = Luma8Source::new_with_slice(&g.px, g.w as u32, g.h as u32).ok()?;
        let matrix = hybrid(g).to_matrix()?;
        Some(Self { source, matrix })
    }
}

impl<'a> Binarizer for Prebinarized<'a> {
    type Source = Luma8Source<'a>;

    fn get_luminance_source(&self) -> &Self::Source {
        &self.source
    }

    fn get_black_row(&self, y: usize) -> RxResult<Cow<'_, BitArray>> {
        Ok(Cow::Owned(self.matrix.getRow(y as u32)))
    }

    fn get_black_row_from_matrix(&self, y: usize) -> RxResult<Cow<'_, BitArray>> {
        self.get_black_row(y)
    }

    fn get_black_matrix(&self) -> RxResult<&BitMatrix> {
        Ok(&self.matrix)
    }

    fn get_black_line(&self, l: usize, lt: LineOrientation) -> RxResult<Cow<'_, BitArray>> {
        Ok(Cow::Owned(match lt {
            LineOrientation::Row => self.matrix.getRow(l as u32),
            LineOrientation::Column => self.matrix.getCol(l as u32),
        }))
    }

    fn create_binarizer(&self, source: Self::Source) -> Self {
        // Used by rxing only for crops/rotations, which the QR reader does
        // not request; binarise the new source the same way.
        let (w, h) = (source.get_width(), source.get_height());
        let g = Gray::new(w, h, source.get_matrix().into_owned());
        let matrix = hybrid(&g)
            .to_matrix()
            .unwrap_or_else(|| self.matrix.clone());
        Self { source, matrix }
    }

    fn get_width(&self) -> usize {
        self.source.get_width()
    }

    fn get_height(&self) -> usize {
        self.source.get_height()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swar_mask_matches_scalar() {
        let mut x = 0x1234_5678_9ABC_DEF0u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = (x >> 3) as u8;
            let p = x.rotate_left(11);
            let want = p
                .to_le_bytes()
                .iter()
                .enumerate()
                .fold(0u8, |m, (i, &b)| m | (u8::from(b <= t) << i));
            assert_eq!(le_mask8(p, t), want, "{p:016x} {t}");
        }
        for t in [0u8, 1, 127, 128, 254, 255] {
            for v in [0u8, 1, 127, 128, 254, 255] {
                let p = u64::from_le_bytes([v; 8]);
                assert_eq!(le_mask8(p, t), if v <= t { 0xFF } else { 0 });
            }
        }
    }
}
