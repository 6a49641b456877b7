//! The route → handler table in docs/ARCHITECTURE.md stays complete: every variant of every
//! route enum in `core::shared::routes` has its row.

const SOURCE: &str = include_str!("../shared/routes.rs");
const ARCHITECTURE: &str = include_str!("../../../docs/ARCHITECTURE.md");

/// `(enum name without "Route", variants)` of every `pub enum …Route` in the source.
fn route_enums() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut lines = SOURCE.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("pub enum ")
            .and_then(|l| l.strip_suffix(" {"))
            .filter(|n| n.ends_with("Route"))
        else {
            continue;
        };
        let mut variants = Vec::new();
        for l in lines.by_ref() {
            if l == "}" {
                break;
            }
            let Some(rest) = l.strip_prefix("    ") else {
                continue;
            };
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if ident.starts_with(|c: char| c.is_ascii_uppercase()) {
                variants.push(ident);
            }
        }
        out.push((name.trim_end_matches("Route").to_string(), variants));
    }
    out
}

/// The rows of the table: the first cell of every line under "## Routes".
fn table_rows() -> Vec<String> {
    let section = ARCHITECTURE
        .split("\n## ")
        .find(|s| s.starts_with("Routes"))
        .expect("docs/ARCHITECTURE.md has a \"## Routes\" section");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(cell, _)| cell.to_string()))
        .collect()
}

#[test]
fn every_route_is_in_the_architecture_table() {
    let enums = route_enums();
    let top = enums
        .iter()
        .find(|(n, _)| n.is_empty())
        .expect("the Route enum");
    assert!(top.1.len() >= 9, "parsed {:?}", top.1);
    let rows = table_rows();
    let mut missing = Vec::new();
    for outer in &top.1 {
        match enums.iter().find(|(n, _)| n == outer) {
            // A feature's route: one row per variant.
            Some((_, variants)) => {
                assert!(!variants.is_empty(), "{outer}Route has no variants parsed");
                for v in variants {
                    let name = format!("{outer}::{v}");
                    if !rows.contains(&name) {
                        missing.push(name);
                    }
                }
            }
            None => {
                if !rows
                    .iter()
                    .any(|r| r == outer || r.starts_with(&format!("{outer}(")))
                {
                    missing.push(outer.clone());
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from docs/ARCHITECTURE.md \"## Routes\": {missing:?}"
    );
}

#[test]
fn the_parser_sees_every_feature_enum() {
    let names: Vec<String> = route_enums().into_iter().map(|(n, _)| n).collect();
    for f in [
        "",
        "Registration",
        "CheckIn",
        "Guard",
        "Staff",
        "Business",
        "Wallet",
        "Support",
    ] {
        assert!(
            names.iter().any(|n| n == f),
            "{f}Route not parsed: {names:?}"
        );
    }
}
