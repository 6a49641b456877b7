//! Images for check-in tests: a QR code as PNG, a blank PNG, a PNG header that claims a huge
//! size.

/// An 8-bit grey picture.
struct GrayImage {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl GrayImage {
    fn from_pixel(width: u32, height: u32, value: u8) -> Self {
        Self {
            width,
            height,
            pixels: vec![value; (width * height) as usize],
        }
    }

    fn put_pixel(&mut self, x: u32, y: u32, value: u8) {
        self.pixels[(y * self.width + x) as usize] = value;
    }
}

fn encode_png(img: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, img.width, img.height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("PNG header");
        writer.write_image_data(&img.pixels).expect("PNG");
    }
    out
}

/// `text` as a QR code, 6 pixels per module with the quiet zone, on a larger white page.
pub fn qr_png(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("fits a QR code");
    let n = code.width() as u32;
    let colors = code.to_colors();
    let px = 6;
    let side = (n + 8) * px + 200;
    let mut img = GrayImage::from_pixel(side, side, 250);
    for y in 0..n {
        for x in 0..n {
            if colors[(y * n + x) as usize] == qrcode::Color::Dark {
                for dy in 0..px {
                    for dx in 0..px {
                        img.put_pixel(100 + (x + 4) * px + dx, 100 + (y + 4) * px + dy, 20);
                    }
                }
            }
        }
    }
    encode_png(&img)
}

/// A white picture without any code.
pub fn blank_png() -> Vec<u8> {
    encode_png(&GrayImage::from_pixel(400, 300, 255))
}

/// A PNG whose header claims `w` x `h` pixels (and holds nothing else).
pub fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32fast::hash(&ihdr).to_be_bytes());
    out
}
