//! Every text exists in kk, ru and en with the same placeables, and every key the code
//! uses exists.

use ashyq::domain::Lang;
use ashyq::i18n::{SOURCES, Texts};
use fluent_syntax::ast;
use std::collections::{BTreeMap, BTreeSet};

fn variables_in_pattern(p: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for el in &p.elements {
        if let ast::PatternElement::Placeable { expression } = el {
            variables_in_expression(expression, out);
        }
    }
}

fn variables_in_inline(e: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match e {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_string());
        }
        ast::InlineExpression::Placeable { expression } => variables_in_expression(expression, out),
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                variables_in_inline(a, out);
            }
        }
        _ => {}
    }
}

fn variables_in_expression(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match e {
        ast::Expression::Inline(i) => variables_in_inline(i, out),
        ast::Expression::Select { selector, variants } => {
            variables_in_inline(selector, out);
            for v in variants {
                variables_in_pattern(&v.value, out);
            }
        }
    }
}

/// key -> placeables, for one language.
fn messages(lang: Lang) -> BTreeMap<String, BTreeSet<String>> {
    let (_, files) = SOURCES.iter().find(|(l, _)| *l == lang).unwrap();
    let mut all = BTreeMap::new();
    for (name, src) in files.iter() {
        let res = fluent_syntax::parser::parse(*src)
            .unwrap_or_else(|(_, errs)| panic!("locales/{lang}/{name}: {errs:?}"));
        for entry in res.body {
            if let ast::Entry::Message(m) = entry {
                let mut vars = BTreeSet::new();
                if let Some(v) = &m.value {
                    variables_in_pattern(v, &mut vars);
                }
                let key = m.id.name.to_string();
                assert!(
                    all.insert(key.clone(), vars).is_none(),
                    "{lang}: {key} twice"
                );
            }
        }
    }
    all
}

#[test]
fn every_key_exists_in_every_language_with_the_same_placeables() {
    let reference = messages(Lang::En);
    assert!(reference.len() > 40);
    for lang in [Lang::Kk, Lang::Ru] {
        let other = messages(lang);
        for (key, vars) in &reference {
            let theirs = other
                .get(key)
                .unwrap_or_else(|| panic!("{lang}: missing {key}"));
            assert_eq!(theirs, vars, "{lang}: placeables of {key}");
        }
        for key in other.keys() {
            assert!(reference.contains_key(key), "{lang}: {key} is not in en");
        }
    }
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Keys named in the code as `Msg::new("…")` or in a key table (`"menu-me"`-style strings in
/// the arrays the code renders) exist in every language.
#[test]
fn every_key_used_in_the_code_exists() {
    let texts = Texts::load();
    let mut files = Vec::new();
    rust_files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let pattern = "Msg::new(\"";
    let mut used = BTreeSet::new();
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find(pattern) {
            rest = &rest[i + pattern.len()..];
            let end = rest.find('"').unwrap();
            used.insert(rest[..end].to_string());
        }
    }
    assert!(used.len() > 30, "{used:?}");
    for lang in Lang::ALL {
        for key in &used {
            assert!(
                texts.has(lang, key),
                "{lang}: {key} is used in src/ but missing"
            );
        }
    }
    for (_, key) in ashyq::core::Core::commands() {
        for lang in Lang::ALL {
            assert!(texts.has(lang, key), "{lang}: {key}");
        }
    }
}
