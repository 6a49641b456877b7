//! The decoder's stages one by one, for the benchmark's per-stage timings
//! (`benches/common/qr_bench.rs`, `cargo bench --bench qr`). Production code
//! calls [`super::decode`]; nothing in the library uses this module.

use super::load::Gray;
use super::{DecodeError, Limits};

/// A grey image between stages (opaque).
pub struct Image(Gray);

impl Image {
    pub fn width(&self) -> usize {
        self.0.w
    }
    pub fn height(&self) -> usize {
        self.0.h
    }
    /// Mean absolute difference of the two images' pixels, when they have the
    /// same size.
    pub fn mean_abs_diff(&self, other: &Image) -> Option<f64> {
        if self.0.w != other.0.w || self.0.h != other.0.h || self.0.px.is_empty() {
            return None;
        }
        let sum: f64 = self
            .0
            .px
            .iter()
            .zip(&other.0.px)
            .map(|(&a, &b)| f64::from(a.abs_diff(b)))
            .sum();
        Some(sum / self.0.px.len() as f64)
    }
}

/// Any supported image as grey, within `limits`.
pub fn load_gray(bytes: &[u8], limits: &Limits) -> Result<Image, DecodeError> {
    super::load::load_gray(bytes, limits).map(Image)
}

/// Any supported image as 8-bit RGB (width, height, pixels), alpha over white.
pub fn load_rgb(bytes: &[u8], limits: &Limits) -> Result<(usize, usize, Vec<u8>), DecodeError> {
    super::load::load_rgb(bytes, limits)
}

/// Half the width and height (2x2 mean).
pub fn downscale2(g: &Image) -> Image {
    Image(super::img::downscale2(&g.0))
}

/// A JPEG's luma decoded at half scale (`None` for other formats).
pub fn luma_half(bytes: &[u8]) -> Option<Image> {
    super::jpeg::luma_half(bytes).map(Image)
}

/// The pipeline's first pass over one image: the texts it decodes.
pub fn first_pass(g: &Image) -> Vec<String> {
    super::engine::first_pass(&g.0).0
}
