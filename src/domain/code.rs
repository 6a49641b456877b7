//! Codes typed by people (a venue's short code `K7P-2QX9`, a meal code `K7P2Q-X9M4CZ`): the
//! separators people type are dropped, letters are upper-cased, and Cyrillic letters that look
//! like Latin ones (a phone's keyboard left on Russian or Kazakh) read as their look-alikes.

/// The Latin capital a Cyrillic look-alike stands for (either case).
fn latin_of(c: char) -> Option<char> {
    Some(match c {
        'А' | 'а' => 'A',
        'В' | 'в' => 'B',
        'Е' | 'е' => 'E',
        'К' | 'к' => 'K',
        'М' | 'м' => 'M',
        'Н' | 'н' => 'H',
        'Р' | 'р' => 'P',
        'С' | 'с' => 'C',
        'Т' | 'т' => 'T',
        'Х' | 'х' => 'X',
        _ => return None,
    })
}

/// The characters of a typed code as the alphabet spells them: spaces and dashes dropped,
/// capitals, Cyrillic look-alikes read as Latin. Other characters are kept (the caller's
/// alphabet check refuses them).
pub fn fold_typed_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '–' | '—' | '\u{a0}' | '\u{2011}'))
        .map(|c| latin_of(c).unwrap_or(c.to_ascii_uppercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_look_alikes_read_as_latin() {
        assert_eq!(fold_typed_code("К7Р-2ХА9"), "K7P2XA9");
        assert_eq!(fold_typed_code("к7р 2ха9"), "K7P2XA9");
        assert_eq!(fold_typed_code("ВЕМНСТ"), "BEMHCT");
        assert_eq!(fold_typed_code("k7p-2qx9"), "K7P2QX9");
        // Letters with no Latin twin stay as they are (and are refused by the alphabet).
        assert_eq!(fold_typed_code("Д7Ж"), "Д7Ж");
        assert_eq!(fold_typed_code("ә"), "ә");
    }
}
