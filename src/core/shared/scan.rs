//! Pictures: what the QR decoder found in an image event, decoded before the transaction
//! on the blocking pool.

use crate::qr;

/// Largest image accepted (a photo or an image document), checked before downloading.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// The decoder's limits for photos of codes.
pub fn limits() -> qr::Limits {
    qr::Limits {
        max_bytes: MAX_IMAGE_BYTES,
        ..qr::Limits::default()
    }
}

/// What the decoder found in an image.
pub type Scan = Result<Vec<String>, qr::DecodeError>;

/// Decodes an image on the blocking pool (never on the async workers).
pub async fn scan(bytes: Vec<u8>) -> Scan {
    qr::decode_off_runtime(bytes, limits()).await
}
