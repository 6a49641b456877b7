//! The dependency rules (docs/ARCHITECTURE.md): a feature uses shared modules and storage,
//! never another feature nor the composition root (the router, the dispatcher); storage
//! depends on no module of the core. These tests read every source file of every feature
//! (and of `src/storage`) and resolve every path in it (`use` lines and inline paths like
//! `crate::core::support::mask_iins(…)`, `super::…`, groups in braces).

use std::path::{Path, PathBuf};

/// The features: a file or a folder under `src/core`.
const FEATURES: &[&str] = &[
    "registration",
    "status",
    "checkin",
    "business",
    "wallet",
    "support",
    "family",
    "keywords",
    "prescriptions",
];

/// Modules of the core no feature may name: the router and the dispatcher.
const ROOT_ONLY: &[&str] = &["route", "dispatch"];

fn core_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core")
}

/// Every `.rs` file of a feature with its module path (`["checkin", "guard"]`).
fn files_of(feature: &str) -> Vec<(PathBuf, Vec<String>)> {
    let dir = core_dir();
    let mut out = Vec::new();
    let file = dir.join(format!("{feature}.rs"));
    if file.exists() {
        out.push((file, vec![feature.to_string()]));
    }
    let folder = dir.join(feature);
    if folder.is_dir() {
        let mut stack = vec![(folder, vec![feature.to_string()])];
        while let Some((d, module)) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let p = entry.unwrap().path();
                let name = p.file_stem().unwrap().to_string_lossy().to_string();
                if p.is_dir() {
                    let mut m = module.clone();
                    m.push(name);
                    stack.push((p, m));
                } else if p.extension().is_some_and(|e| e == "rs") {
                    let mut m = module.clone();
                    if name != "mod" {
                        m.push(name);
                    }
                    out.push((p, m));
                }
            }
        }
    }
    out
}

/// The paths written in `src` (code only: comments dropped), braces expanded one level
/// deep per group: `super::{a, b::c}` gives `super::a` and `super::b::c`.
fn paths_in(src: &str) -> Vec<String> {
    let code: String = src
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| bytes[i..].starts_with(p.as_bytes()))
            .filter(|_| i == 0 || !is_ident(bytes[i - 1]));
        let Some(_) = starts else {
            i += 1;
            continue;
        };
        let start = i;
        while i < bytes.len() && (is_ident(bytes[i]) || bytes[i..].starts_with(b"::")) {
            i += if bytes[i..].starts_with(b"::") { 2 } else { 1 };
        }
        let head = code[start..i].trim_end_matches("::").to_string();
        if bytes.get(i) == Some(&b'{') {
            // A group: split its top-level items.
            let mut depth = 0;
            let mut item = String::new();
            let mut j = i;
            let group: Vec<char> = code[i..].chars().collect();
            let mut k = 0;
            while k < group.len() {
                let c = group[k];
                match c {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            item.push(c);
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                        item.push(c);
                    }
                    ',' if depth == 1 => {
                        out.push(format!("{head}::{}", item.trim()));
                        item.clear();
                    }
                    _ => item.push(c),
                }
                j += c.len_utf8();
                k += 1;
            }
            if !item.trim().is_empty() {
                out.push(format!("{head}::{}", item.trim()));
            }
            i = j;
        } else {
            out.push(head);
        }
    }
    out
}

/// The absolute module path (`core::…`) a path names, from a file at `module` of the core.
fn resolve(path: &str, module: &[String]) -> Option<Vec<String>> {
    let at: Vec<String> = std::iter::once("core".to_string())
        .chain(module.iter().cloned())
        .collect();
    resolve_from(path, at)
}

/// The absolute module path a path names, from a file at the crate's module `at`
/// (`["storage", "venues"]`); `None` for paths of other crates.
fn resolve_from(path: &str, mut at: Vec<String>) -> Option<Vec<String>> {
    let mut parts = path.split("::").map(str::trim);
    match parts.next()? {
        "crate" => at = Vec::new(),
        "self" => {}
        "super" => {
            at.pop();
        }
        _ => return None,
    }
    for p in parts {
        if p == "super" {
            at.pop();
        } else if p == "self" {
        } else {
            at.push(p.split_whitespace().next().unwrap_or(p).to_string());
        }
    }
    Some(at)
}

fn violations() -> Vec<String> {
    let mut found = Vec::new();
    for feature in FEATURES {
        for (file, module) in files_of(feature) {
            let src = std::fs::read_to_string(&file).unwrap();
            for path in paths_in(&src) {
                let Some(abs) = resolve(&path, &module) else {
                    continue;
                };
                if abs.first().map(String::as_str) != Some("core") || abs.len() < 2 {
                    continue;
                }
                let target = abs[1].as_str();
                let other_feature = FEATURES.contains(&target) && target != *feature;
                if other_feature || ROOT_ONLY.contains(&target) {
                    found.push(format!(
                        "{}: `{path}` names core::{target}",
                        file.strip_prefix(core_dir()).unwrap().display()
                    ));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Every `.rs` file under `src/storage` with its module path (`["storage", "venues"]`).
fn storage_files() -> Vec<(PathBuf, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![root.join("storage")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(&root).unwrap().with_extension("");
                let mut m: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().to_string())
                    .collect();
                if m.last().is_some_and(|n| n == "mod") {
                    m.pop();
                }
                out.push((p, m));
            }
        }
    }
    out
}

/// The references to `core` in one storage file's source (its module path `module`).
fn core_references(src: &str, module: &[String]) -> Vec<String> {
    paths_in(src)
        .into_iter()
        .filter(|path| {
            resolve_from(path, module.to_vec())
                .is_some_and(|abs| abs.first().map(String::as_str) == Some("core"))
        })
        .collect()
}

#[test]
fn storage_names_no_core_module() {
    let files = storage_files();
    assert!(files.len() > 5, "storage files found: {}", files.len());
    let mut found = Vec::new();
    for (file, module) in files {
        let src = std::fs::read_to_string(&file).unwrap();
        for path in core_references(&src, &module) {
            found.push(format!("{}: `{path}`", file.display()));
        }
    }
    assert!(
        found.is_empty(),
        "storage depends on the core (docs/ARCHITECTURE.md, \"The dependency rule\"):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_storage_scan_sees_the_core_however_named() {
    let venues = ["storage".to_string(), "venues".to_string()];
    for src in [
        "pub use crate::core::ChatRef;",
        "use crate::{core::checkin::token, domain::Iin};",
        "let k = super::super::core::venues::token::keys();",
    ] {
        assert_eq!(core_references(src, &venues).len(), 1, "{src}");
    }
    for src in [
        "use crate::domain::ChatRef;",
        "use super::{Conn, StoreError};",
        "// crate::core::ChatRef in a comment",
    ] {
        assert!(core_references(src, &venues).is_empty(), "{src}");
    }
}

/// `qr::stages` exists for the benchmark's per-stage timings only: no module outside
/// `src/qr` names it.
#[test]
fn production_code_uses_no_benchmark_stage() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root.clone()];
    let mut found = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                if p != root.join("qr") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "rs") && !p.ends_with("layout_tests.rs") {
                let src = std::fs::read_to_string(&p).unwrap();
                if paths_in(&src)
                    .iter()
                    .any(|path| path.contains("qr::stages"))
                {
                    found.push(p.display().to_string());
                }
            }
        }
    }
    assert!(found.is_empty(), "benchmark stages used by: {found:?}");
}

#[test]
fn no_feature_names_another_feature() {
    let v = violations();
    assert!(
        v.is_empty(),
        "cross-feature references (docs/ARCHITECTURE.md, \"The dependency rule\"):\n{}",
        v.join("\n")
    );
}

#[test]
fn the_scanner_resolves_paths_and_groups() {
    let src = "use super::{Button, wallet::token};\nlet m = crate::core::support::mask_iins(t); // crate::core::wallet\nuse super::super::business;";
    let paths = paths_in(src);
    assert!(
        paths.contains(&"super::wallet::token".to_string()),
        "{paths:?}"
    );
    assert!(paths.contains(&"crate::core::support::mask_iins".to_string()));
    assert!(
        !paths.iter().any(|p| p == "crate::core::wallet"),
        "comments are skipped"
    );
    let checkin_guard = ["checkin".to_string(), "guard".to_string()];
    assert_eq!(
        resolve("super::super::business", &checkin_guard).unwrap(),
        ["core", "business"]
    );
    assert_eq!(
        resolve("super::wallet::token", &["checkin".to_string()]).unwrap(),
        ["core", "wallet", "token"]
    );
    // Every feature has files to scan.
    for f in FEATURES {
        assert!(!files_of(f).is_empty(), "{f}");
    }
}
