//! A QR code drawn as a PNG (the wallet's codes: meals, prescriptions). CPU work: call it
//! on the blocking pool.

use crate::core::CoreError;

/// The PNG of a QR code holding `text` (error correction M, 8 pixels a module, a quiet
/// zone of 4 modules).
pub fn render_png(text: &str) -> Result<Vec<u8>, CoreError> {
    let fail = |e: String| CoreError::internal("QR rendering", e);
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| fail(e.to_string()))?;
    let n = code.width();
    let colors = code.to_colors();
    let (px, quiet) = (8usize, 4usize);
    let side = (n + 2 * quiet) * px;
    let mut pixels = vec![255u8; side * side];
    for y in 0..n {
        for x in 0..n {
            if colors[y * n + x] == qrcode::Color::Dark {
                for dy in 0..px {
                    let row = ((y + quiet) * px + dy) * side;
                    let start = row + (x + quiet) * px;
                    pixels[start..start + px].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| fail(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| fail(e.to_string()))?;
    }
    Ok(out)
}
