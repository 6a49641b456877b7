//! Payload bytes to text.

/// UTF-8 when valid, else Shift-JIS when it decodes cleanly, else Latin-1
/// (which always succeeds): a payload is never refused for its encoding.
pub(crate) fn bytes_to_text(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let (sjis, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    if !had_errors {
        return sjis.into_owned();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(bytes_to_text("Ashyq қазақ".as_bytes()), "Ashyq қазақ");
        // "日本" in Shift-JIS
        assert_eq!(bytes_to_text(&[0x93, 0xFA, 0x96, 0x7B]), "日本");
        // not valid UTF-8 nor Shift-JIS: Latin-1
        assert_eq!(bytes_to_text(&[b'a', 0xE9, 0xFF]), "a\u{e9}\u{ff}");
    }
}
