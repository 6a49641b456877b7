//! FAQ matching, long texts split for relaying, topic keys.

use super::*;

// FAQ matching

pub(super) fn normalise(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('ё', "е")
        .split(|c: char| !(c.is_alphanumeric() || c == '#'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Scores each FAQ entry by how many of its keyword stems (in any language: people mix
/// Kazakh and Russian) begin one of the question's words; returns the best (at most 3)
/// entries' indices, best first.
pub fn match_faq(texts: &Texts, question: &str) -> Vec<usize> {
    let words = normalise(question);
    let mut scored: Vec<(usize, usize)> = FAQ
        .iter()
        .enumerate()
        .map(|(i, (_, keywords, _))| {
            let score = Lang::ALL
                .iter()
                .map(|l| {
                    normalise(&texts.get(*l, keywords))
                        .iter()
                        .filter(|k| {
                            words.iter().any(|w| {
                                if k.chars().count() >= 3 {
                                    w.starts_with(k.as_str())
                                } else {
                                    w == *k
                                }
                            })
                        })
                        .count()
                })
                .max()
                .unwrap_or(0);
            (i, score)
        })
        .filter(|(_, s)| *s > 0)
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.into_iter().take(3).map(|(i, _)| i).collect()
}

/// Splits a long text into parts of at most `max` characters, at a line break or a space
/// when there is one in the second half of a part. Nothing is lost.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    while chars.len() - start > max {
        let window = &chars[start..start + max];
        let cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .or_else(|| window.iter().rposition(|c| c.is_whitespace()))
            .filter(|p| *p >= max / 2)
            .map_or(max, |p| p + 1);
        parts.push(chars[start..start + cut].iter().collect());
        start += cut;
    }
    if start < chars.len() || parts.is_empty() {
        parts.push(chars[start..].iter().collect());
    }
    parts
}

pub(super) fn topic_key(ticket: i64) -> String {
    format!("support:{ticket}")
}

pub(super) fn ticket_of_topic(key: &str) -> Option<i64> {
    key.strip_prefix("support:")?.parse().ok()
}
