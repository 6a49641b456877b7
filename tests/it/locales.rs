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

// ---------------------------------------------------------------- the language checks (issue 14)

/// What a text's variable carries, for the checks below: every variable of every text must be
/// listed here (the render test fails on an unknown one), so a new text says what it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// A number (counts, ids, grades): plural-sensitive in Russian.
    Num,
    /// A calendar day (`Msg::date`, `Msg::date_of`).
    Date,
    /// An instant shown as date and time (`Msg::date_time`).
    At,
    /// A month (`Msg::month`).
    Month,
    /// A 24-hour time of day as text (`HH:MM`).
    Time,
    /// A value chosen among the text's own variants (colour, verdict, kind…).
    Sel,
    /// Free text (names, codes, addresses); may also select among variants.
    Str(&'static str),
}

const KINDS: &[(&str, Kind)] = &[
    ("ticket", Kind::Num),
    ("id", Kind::Num),
    ("count", Kind::Num),
    ("left", Kind::Num),
    ("digits", Kind::Num),
    ("minutes", Kind::Num),
    ("number", Kind::Num),
    ("limit", Kind::Num),
    ("max", Kind::Num),
    ("rating", Kind::Num),
    ("inside", Kind::Num),
    ("venues", Kind::Num),
    ("total", Kind::Num),
    ("posters", Kind::Num),
    ("grade", Kind::Num),
    ("days_left", Kind::Num),
    ("entrances", Kind::Num),
    ("tickets", Kind::Num),
    ("seq", Kind::Num),
    ("refused", Kind::Num),
    ("admitted", Kind::Num),
    ("age", Kind::Num),
    ("from_user", Kind::Num),
    ("from_operators", Kind::Num),
    ("venue_id", Kind::Num),
    ("entrance", Kind::Num),
    ("until", Kind::Date),
    ("since", Kind::Date),
    ("date", Kind::Date),
    ("cause_date", Kind::Date),
    ("day", Kind::Date),
    ("opened", Kind::At),
    ("at", Kind::At),
    ("start", Kind::At),
    ("end", Kind::At),
    ("month", Kind::Month),
    ("time", Kind::Time),
    ("checked", Kind::Time),
    ("colour", Kind::Sel),
    ("kind", Kind::Sel),
    ("verdict", Kind::Sel),
    ("status", Kind::Sel),
    ("stage", Kind::Sel),
    ("repeat", Kind::Sel),
    ("registered", Kind::Sel),
    ("has_until", Kind::Sel),
    ("via", Kind::Sel),
    ("stale", Kind::Sel),
    ("role", Kind::Sel),
    ("mode", Kind::Sel),
    ("cause", Kind::Sel),
    ("answer", Kind::Sel),
    ("shown", Kind::Sel),
    ("relation", Kind::Sel),
    ("reason", Kind::Str("кассада кезек")),
    ("category", Kind::Str("Кинотеатр")),
    ("region", Kind::Str("Алматы")),
    ("venue", Kind::Str("Алма")),
    ("school", Kind::Str("№5 мектеп-лицей")),
    ("child", Kind::Str("•••• 1234")),
    ("code", Kind::Str("K7P-2QX9")),
    ("entry", Kind::Str("K7P-2QX9")),
    ("exit", Kind::Str("M4R-8TZ1")),
    ("text", Kind::Str("Сәлеметсіз бе")),
    ("name", Kind::Str("1")),
    ("phone", Kind::Str("+7 ••• ••• 12 34")),
    ("iin", Kind::Str("•••• 0017")),
    ("language", Kind::Str("Қазақша")),
    ("menu", Kind::Str("палау, шай")),
    ("lines", Kind::Str("—")),
    ("bin", Kind::Str("210540012341")),
    ("address", Kind::Str("Алматы, Абай, 1")),
    ("oked", Kind::Str("56101")),
    ("location", Kind::Str("43.23800, 76.94500")),
    ("operator", Kind::Str("Айгүл")),
    ("link", Kind::Str("https://t.me/ashyq_bot?start=i")),
    ("hours", Kind::Str("09:00–18:00")),
    ("note", Kind::Str("маска жоқ")),
    ("reference", Kind::Str("A-17")),
    ("year", Kind::Str("2026")),
    ("messenger", Kind::Str("Telegram")),
    ("provider", Kind::Str("№1 дәріхана")),
    ("current", Kind::Str("Аптека №2")),
    ("rx", Kind::Str("RX-2026-000123")),
    ("share", Kind::Num),
    ("quantity", Kind::Num),
    ("remaining", Kind::Num),
    ("dispensings", Kind::Num),
    ("dispute", Kind::Num),
    ("unit", Kind::Sel),
    ("state", Kind::Sel),
    ("dispute_status", Kind::Sel),
    ("issued", Kind::Date),
    ("expires", Kind::Date),
    ("inn", Kind::Str("Метформин")),
    ("form", Kind::Str("таблеткалар 500 мг")),
    ("items", Kind::Str("—")),
    ("history", Kind::Str("—")),
    ("given", Kind::Str("—")),
    ("rest", Kind::Str("—")),
    ("prescriber", Kind::Str("Иванова А. Б.")),
    ("patient", Kind::Str("•••• 0017")),
    ("pharmacy", Kind::Str("Дәрі-дәрмек")),
    ("club", Kind::Str("Шахмат үйірмесі")),
    ("sessions", Kind::Num),
    // Variables of texts other branches add (identity, exposure, security), so their texts are
    // rendered by the same checks once merged.
    ("still", Kind::Num),
    ("from", Kind::Time),
    ("to", Kind::Time),
    ("period", Kind::Sel),
    ("case", Kind::Str("K-17")),
    ("dates", Kind::Str("—")),
    ("window", Kind::Str("—")),
    ("list", Kind::Str("—")),
    // Dependants and the group check-in (issue 18 item 4).
    ("who", Kind::Str("•••• 0017")),
    ("gone", Kind::Str("•••• 0017, •••• 1234")),
    ("selected", Kind::Num),
    ("removed", Kind::Num),
    ("on", Kind::Sel),
    ("self", Kind::Sel),
    ("side", Kind::Sel),
];

fn kind_of(var: &str) -> Option<Kind> {
    KINDS.iter().find(|(n, _)| *n == var).map(|(_, k)| *k)
}

/// The texts that format the typed dates themselves (tested in `src/i18n.rs`).
const DATE_FORMATTERS: [&str; 6] = [
    "date",
    "date-time",
    "date-month",
    "date-short",
    "status-date",
    "status-date-time",
];

/// Every message of one language with its AST.
fn message_asts(lang: Lang) -> Vec<(String, ast::Pattern<&'static str>)> {
    let (_, files) = SOURCES.iter().find(|(l, _)| *l == lang).unwrap();
    let mut out = Vec::new();
    for (name, src) in files.iter() {
        let res = fluent_syntax::parser::parse(*src)
            .unwrap_or_else(|(_, errs)| panic!("locales/{lang}/{name}: {errs:?}"));
        for entry in res.body {
            if let ast::Entry::Message(m) = entry
                && let Some(v) = m.value
            {
                out.push((m.id.name.to_string(), v));
            }
        }
    }
    out
}

/// A variable's selector keys in a pattern (`[red]`, `[one]`, `[0]`), collected per variable.
fn selectors(p: &ast::Pattern<&str>, out: &mut BTreeMap<String, BTreeSet<String>>) {
    for el in &p.elements {
        if let ast::PatternElement::Placeable { expression } = el {
            selectors_in(expression, out);
        }
    }
}

fn selectors_in(e: &ast::Expression<&str>, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match e {
        ast::Expression::Select { selector, variants } => {
            if let ast::InlineExpression::VariableReference { id } = selector {
                let keys = out.entry(id.name.to_string()).or_default();
                for v in variants {
                    keys.insert(match &v.key {
                        ast::VariantKey::Identifier { name } => name.to_string(),
                        ast::VariantKey::NumberLiteral { value } => value.to_string(),
                    });
                }
            }
            for v in variants {
                selectors(&v.value, out);
            }
        }
        ast::Expression::Inline(ast::InlineExpression::Placeable { expression }) => {
            selectors_in(expression, out)
        }
        ast::Expression::Inline(_) => {}
    }
}

/// What a pattern says, element by element, flattened: text, a variable, or the start/end of a
/// select on a variable. Adjacency checks walk this.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Var(String),
    /// A select on this variable starts (its variants follow, each ended by `EndVariant`).
    Select(String),
    EndVariant,
}

fn pieces(p: &ast::Pattern<&str>, out: &mut Vec<Vec<Piece>>, current: &mut Vec<Piece>) {
    for el in &p.elements {
        match el {
            ast::PatternElement::TextElement { value } => {
                current.push(Piece::Text(value.to_string()))
            }
            ast::PatternElement::Placeable { expression } => expr_pieces(expression, out, current),
        }
    }
}

fn expr_pieces(e: &ast::Expression<&str>, out: &mut Vec<Vec<Piece>>, current: &mut Vec<Piece>) {
    match e {
        ast::Expression::Inline(ast::InlineExpression::VariableReference { id }) => {
            current.push(Piece::Var(id.name.to_string()))
        }
        ast::Expression::Inline(ast::InlineExpression::StringLiteral { value }) => {
            current.push(Piece::Text(value.to_string()))
        }
        ast::Expression::Inline(ast::InlineExpression::Placeable { expression }) => {
            expr_pieces(expression, out, current)
        }
        ast::Expression::Inline(_) => current.push(Piece::Text("⟨term⟩".into())),
        ast::Expression::Select { selector, variants } => {
            let var = match selector {
                ast::InlineExpression::VariableReference { id } => id.name.to_string(),
                _ => String::new(),
            };
            // Each variant is read as its own sequence: what precedes the select, the variant,
            // and (approximately) nothing after it — adjacency inside a variant is what matters.
            for v in variants {
                let mut branch = current.clone();
                branch.push(Piece::Select(var.clone()));
                pieces(&v.value, out, &mut branch);
                branch.push(Piece::EndVariant);
                out.push(branch);
            }
            current.push(Piece::Select(var));
            current.push(Piece::EndVariant);
        }
    }
}

/// Every reading of a message as a flat sequence (one per variant path, plus the main line).
fn readings(p: &ast::Pattern<&str>) -> Vec<Vec<Piece>> {
    let mut out = Vec::new();
    let mut main = Vec::new();
    pieces(p, &mut out, &mut main);
    out.push(main);
    out
}

/// The text right after position `i` up to the next variable or select, joined.
fn text_after(seq: &[Piece], i: usize) -> (String, Option<&Piece>) {
    let mut text = String::new();
    for piece in &seq[i + 1..] {
        match piece {
            Piece::Text(t) => text.push_str(t),
            Piece::EndVariant => continue,
            other => return (text, Some(other)),
        }
    }
    (text, None)
}

/// Whether the variable at `i` is a number's label (`№{ $id }`): an identifier, not a count.
fn after_number_sign(seq: &[Piece], i: usize) -> bool {
    i > 0 && matches!(&seq[i - 1], Piece::Text(t) if t.trim_end().ends_with('№'))
}

/// The first word on the same line (a line break ends a text's phrase).
fn first_word(text: &str) -> String {
    text.trim_start_matches([' ', '\u{a0}'])
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase()
}

/// Kazakh words that need a case ending on the word before them, or that stand for a case the
/// number or date cannot carry.
const KK_POSTPOSITIONS: &[&str] = &[
    "дейін",
    "шейін",
    "бастап",
    "кейін",
    "соң",
    "бері",
    "қарай",
    "дейінгі",
    "сайын",
    "арқылы",
    "үшін",
    "туралы",
    "бойы",
    "бойынша",
    "аяқталды",
    "жарамды",
    "жарамсыз",
];
/// Nouns that may follow a calendar day, in the nominative the date is rendered in
/// ("2026 жылғы 22 қараша күні", "… күнгі мәзір"): the noun carries the case.
const KK_AFTER_A_DAY: &[&str] = &["күні", "күнгі"];
/// Nouns a number may precede with the ordinal hyphen (`3-сынып`): the hyphen there marks the
/// ordinal, not a case ending.
const KK_ORDINAL_NOUNS: &[&str] = &["сынып"];

/// The Kazakh adjacency problems of one message (empty when fine).
fn kazakh_problems(key: &str, p: &ast::Pattern<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    for seq in readings(p) {
        for (i, piece) in seq.iter().enumerate() {
            let Piece::Var(var) = piece else { continue };
            let Some(kind) = kind_of(var) else { continue };
            if !matches!(
                kind,
                Kind::Num | Kind::Date | Kind::At | Kind::Month | Kind::Time
            ) {
                continue;
            }
            let (after, _) = text_after(&seq, i);
            let mut chars = after.chars();
            match chars.next() {
                Some(c) if c.is_alphabetic() => {
                    problems.push(format!("{key}: an ending glued to {{ ${var} }}: «{after}»"))
                }
                Some('-') => {
                    let word = first_word(chars.as_str());
                    if !word.is_empty() && !KK_ORDINAL_NOUNS.contains(&word.as_str()) {
                        problems.push(format!("{key}: «-{word}» after {{ ${var} }}"));
                    }
                }
                _ => {}
            }
            let word = first_word(&after);
            if after.starts_with([' ', '\u{a0}']) && KK_POSTPOSITIONS.contains(&word.as_str()) {
                problems.push(format!("{key}: «{word}» right after {{ ${var} }}"));
            }
            // A date or time stands alone: a word after it would need a case it cannot carry.
            if matches!(kind, Kind::Date | Kind::At | Kind::Month | Kind::Time)
                && after.starts_with([' ', '\u{a0}'])
                && !word.is_empty()
                && !(kind == Kind::Date && KK_AFTER_A_DAY.contains(&word.as_str()))
            {
                problems.push(format!("{key}: «{word}» after the date {{ ${var} }}"));
            }
        }
    }
    problems
}

#[test]
fn no_kazakh_ending_or_postposition_attaches_to_a_number_or_a_date() {
    let mut problems = Vec::new();
    for (key, p) in message_asts(Lang::Kk) {
        problems.extend(kazakh_problems(&key, &p));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The check itself catches the patterns the review found.
    for bad in [
        "x = 1-ден { $max }-ге дейін",
        "x = { $until } дейін жарамды",
        "x = { $since } бастап",
        "x = { $date } аяқталды",
        "x = сағат { $time }-да",
        "x = { $count }ге",
        "x = { $opened } күні",
        "x = { $month } айында",
    ] {
        let res = fluent_syntax::parser::parse(bad).unwrap();
        let ast::Entry::Message(m) = &res.body[0] else {
            panic!()
        };
        assert!(
            !kazakh_problems("x", m.value.as_ref().unwrap()).is_empty(),
            "not caught: {bad}"
        );
    }
    for good in [
        "x = Мерзімі аяқталады: { $until }.",
        "x = { $grade }-сынып",
        "x = { $count } адам",
        "x = { $date } күні",
    ] {
        let res = fluent_syntax::parser::parse(good).unwrap();
        let ast::Entry::Message(m) = &res.body[0] else {
            panic!()
        };
        assert!(
            kazakh_problems("x", m.value.as_ref().unwrap()).is_empty(),
            "{good}"
        );
    }
}

/// Russian abbreviations that do not change with the number, and function words (a number
/// followed by a preposition or a conjunction, like "4 из 5", has no noun to agree with).
const RU_INVARIANT: &[&str] = &[
    "мин", "чел", "ч", "г", "тг", "из", "и", "или", "в", "на", "до", "от", "за", "с", "по",
];

/// Russian numbers followed by a word outside a plural select on that number.
fn russian_problems(key: &str, p: &ast::Pattern<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    for seq in readings(p) {
        for (i, piece) in seq.iter().enumerate() {
            let Piece::Var(var) = piece else { continue };
            if kind_of(var) != Some(Kind::Num) || after_number_sign(&seq, i) {
                continue;
            }
            // Inside a variant of a select on this very number the variant picks the form.
            let chosen = seq[..i]
                .iter()
                .rev()
                .any(|p| *p == Piece::Select(var.clone()));
            if chosen {
                continue;
            }
            let (after, next) = text_after(&seq, i);
            let word = first_word(&after);
            if !word.is_empty() && after.starts_with([' ', '\u{a0}']) {
                let cyrillic = word.chars().all(|c| ('\u{400}'..='\u{4ff}').contains(&c));
                if cyrillic && !RU_INVARIANT.contains(&word.as_str()) {
                    problems.push(format!("{key}: {{ ${var} }} {word}: no plural selector"));
                }
            } else if after.trim().is_empty()
                && let Some(Piece::Select(s)) = next
                && s != var
            {
                // A select on something else right after a number: fine, it is not a noun.
            }
        }
    }
    problems
}

#[test]
fn russian_numbers_before_nouns_go_through_a_plural_selector() {
    let mut problems = Vec::new();
    for (key, p) in message_asts(Lang::Ru) {
        problems.extend(russian_problems(&key, &p));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    for bad in [
        "x = { $total } посещений",
        "x = { $count } объектов",
        "x = { $id ->\n    [one] { $count } минуту\n   *[other] x\n}",
    ] {
        let res = fluent_syntax::parser::parse(bad).unwrap();
        let ast::Entry::Message(m) = &res.body[0] else {
            panic!()
        };
        assert!(
            !russian_problems("x", m.value.as_ref().unwrap()).is_empty(),
            "not caught: {bad}"
        );
    }
    for good in [
        "x = { $count } { $count ->\n    [one] цифру\n    [few] цифры\n   *[many] цифр\n}",
        "x = { $minutes ->\n    [one] { $minutes } минуту\n   *[other] { $minutes } минут\n}",
        "x = внутри { $count } чел.",
        "x = Сотрудников — { $count }.",
    ] {
        let res = fluent_syntax::parser::parse(good).unwrap();
        let ast::Entry::Message(m) = &res.body[0] else {
            panic!()
        };
        assert!(
            russian_problems("x", m.value.as_ref().unwrap()).is_empty(),
            "{good}"
        );
    }
}

/// A date value for each month in turn, so every month name is rendered.
fn when_of(kind: Kind, i: usize) -> ashyq::i18n::Arg {
    use ashyq::i18n::{Arg, When};
    let month = (i % 12) as u32 + 1;
    let day = chrono::NaiveDate::from_ymd_opt(2026, month, 22).unwrap();
    Arg::When(match kind {
        Kind::Date => When::Date(day),
        Kind::Month => When::Month(day),
        _ => When::At(
            day.and_hms_opt(5, 30, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis(),
        ),
    })
}

const EDGE_COUNTS: [i64; 7] = [0, 1, 2, 5, 21, 22, 25];

/// Raw values that must never reach a person: numeric dates (`22.11.2026`), numeric months
/// (`11.2026`), ISO dates and months (`2026-11-22`, `2026-11`).
fn raw_date_in(text: &str) -> Option<String> {
    let runs = text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'));
    for run in runs {
        let run = run.trim_matches(['.', '-']);
        let dotted: Vec<&str> = run.split('.').collect();
        let dashed: Vec<&str> = run.split('-').collect();
        let month = |m: &str| m.len() <= 2 && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
        let year = |y: &str| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit());
        let raw = match (dotted.as_slice(), dashed.as_slice()) {
            ([d, m, y], _) => d.len() <= 2 && month(m) && year(y),
            ([m, y], _) => month(m) && year(y),
            (_, [y, m, d]) => year(y) && month(m) && d.len() == 2,
            (_, [y, m]) => year(y) && month(m) && m.len() == 2,
            _ => false,
        };
        if raw {
            return Some(run.to_string());
        }
    }
    None
}

#[test]
fn every_text_renders_in_every_language_with_edge_arguments() {
    use ashyq::i18n::{Arg, Msg};
    let texts = Texts::load();
    let mut rendered = 0usize;
    for lang in Lang::ALL {
        for (key, pattern) in message_asts(lang) {
            if DATE_FORMATTERS.contains(&key.as_str()) {
                continue;
            }
            let mut vars = BTreeSet::new();
            variables_in_pattern(&pattern, &mut vars);
            let mut keys = BTreeMap::new();
            selectors(&pattern, &mut keys);
            // The values each variable takes in turn.
            let mut values: Vec<(String, Vec<Arg>, bool)> = Vec::new();
            for var in &vars {
                let kind = kind_of(var).unwrap_or_else(|| {
                    panic!("{lang} {key}: add ${var} to KINDS in tests/it/locales.rs")
                });
                let declared: Vec<Arg> = keys
                    .get(var)
                    .map(|k| k.iter().map(|k| Arg::Str(k.clone())).collect())
                    .unwrap_or_default();
                let (vals, is_selector) = match kind {
                    Kind::Num => (EDGE_COUNTS.iter().map(|n| Arg::Num(*n)).collect(), false),
                    Kind::Date | Kind::At | Kind::Month => {
                        ((0..12).map(|i| when_of(kind, i)).collect(), false)
                    }
                    Kind::Time => (
                        vec![Arg::Str("00:05".into()), Arg::Str("23:59".into())],
                        false,
                    ),
                    Kind::Sel => {
                        assert!(!declared.is_empty(), "{lang} {key}: ${var} selects nothing");
                        (declared, true)
                    }
                    Kind::Str(sample) => {
                        let mut v = declared;
                        v.push(Arg::Str(sample.into()));
                        (v, false)
                    }
                };
                values.push((var.clone(), vals, is_selector));
            }
            let rounds = values.iter().map(|(_, v, _)| v.len()).max().unwrap_or(1);
            for round in 0..rounds {
                let mut msg = Msg::new("placeholder");
                msg.key = key.clone().into();
                for (var, vals, _) in &values {
                    msg.args
                        .push((var.clone().into(), vals[round % vals.len()].clone()));
                }
                let text = texts
                    .try_render(lang, &msg)
                    .unwrap_or_else(|(t, e)| panic!("{lang} {key} round {round}: {e:?}\n{t}"));
                rendered += 1;
                assert!(
                    !text.contains('{') && !text.contains('}'),
                    "{lang} {key}: {text}"
                );
                assert!(!text.contains("$"), "{lang} {key}: {text}");
                assert!(
                    !text.contains(".."),
                    "{lang} {key}: a double period in {text}"
                );
                if let Some(raw) = raw_date_in(&text) {
                    panic!("{lang} {key}: a raw date «{raw}» in {text}");
                }
                if lang != Lang::En {
                    // A selector's value (an English identifier) never shows through.
                    for (var, vals, is_selector) in &values {
                        let Arg::Str(v) = &vals[round % vals.len()] else {
                            continue;
                        };
                        if *is_selector && v.len() > 2 {
                            let leaked = text
                                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                                .any(|w| w == v);
                            assert!(!leaked, "{lang} {key}: ${var} = {v} shows raw in {text}");
                        }
                    }
                }
            }
        }
    }
    assert!(rendered > 1000, "{rendered}");
}

// ---------------------------------------------------------------- the glossary

/// One row of the glossary's table: the concept and, per language, the chosen term and the
/// forms to avoid.
#[derive(Debug)]
struct Term {
    concept: String,
    avoid: [(Lang, Vec<String>); 3],
}

/// The table under "## Terms" in docs/GLOSSARY.md: `| concept | kk | ru | en | avoid kk |
/// avoid ru | avoid en |`. The glossary is the single source: this test reads it.
fn glossary() -> Vec<Term> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/GLOSSARY.md");
    let md = std::fs::read_to_string(&path).unwrap();
    let table = md
        .split("## Terms")
        .nth(1)
        .expect("a '## Terms' section in docs/GLOSSARY.md");
    let mut rows = Vec::new();
    for line in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells.len() != 7 || cells[0] == "concept" || cells[0].starts_with("---") {
            continue;
        }
        let forms = |cell: &str| -> Vec<String> {
            cell.split(';')
                .map(|f| f.trim().trim_matches('`').to_string())
                .filter(|f| !f.is_empty() && f != "—")
                .collect()
        };
        rows.push(Term {
            concept: cells[0].clone(),
            avoid: [
                (Lang::Kk, forms(&cells[4])),
                (Lang::Ru, forms(&cells[5])),
                (Lang::En, forms(&cells[6])),
            ],
        });
    }
    rows
}

/// Where `form` occurs in `text` as a word or phrase (case-insensitive); `form*` is a stem.
fn uses_form(text: &str, form: &str) -> bool {
    let (form, stem) = match form.strip_suffix('*') {
        Some(f) => (f, true),
        None => (form, false),
    };
    let text = text.to_lowercase();
    let form = form.to_lowercase();
    let mut start = 0;
    while let Some(pos) = text[start..].find(&form) {
        let at = start + pos;
        let end = at + form.len();
        let before_ok = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after_ok = stem
            || text[end..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return true;
        }
        start = at + form.chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// The words of a pattern that people read (texts of every variant), without the selectors'
/// keys or variable names.
fn words_of(p: &ast::Pattern<&str>, out: &mut String) {
    for el in &p.elements {
        match el {
            ast::PatternElement::TextElement { value } => out.push_str(value),
            ast::PatternElement::Placeable { expression } => words_in(expression, out),
        }
        out.push(' ');
    }
}

fn words_in(e: &ast::Expression<&str>, out: &mut String) {
    match e {
        ast::Expression::Select { variants, .. } => {
            for v in variants {
                words_of(&v.value, out);
                out.push('\n');
            }
        }
        ast::Expression::Inline(ast::InlineExpression::StringLiteral { value }) => {
            out.push_str(value)
        }
        ast::Expression::Inline(ast::InlineExpression::Placeable { expression }) => {
            words_in(expression, out)
        }
        ast::Expression::Inline(_) => {}
    }
}

#[test]
fn no_text_uses_a_form_the_glossary_forbids() {
    let terms = glossary();
    assert!(terms.len() >= 20, "{terms:#?}");
    let forbidden: usize = terms
        .iter()
        .map(|t| t.avoid.iter().map(|(_, f)| f.len()).sum::<usize>())
        .sum();
    assert!(forbidden >= 30, "{forbidden}");
    let mut problems = Vec::new();
    for lang in Lang::ALL {
        for (key, pattern) in message_asts(lang) {
            // Search keywords match what people type, misspellings included.
            if key.ends_with("-keywords") {
                continue;
            }
            let mut text = String::new();
            words_of(&pattern, &mut text);
            for term in &terms {
                let (_, forms) = term.avoid.iter().find(|(l, _)| *l == lang).unwrap();
                for form in forms {
                    if uses_form(&text, form) {
                        problems.push(format!("{lang} {key}: «{form}» ({})", term.concept));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The matcher finds words and stems, not parts of other words.
    assert!(uses_form("Байланыс: колл-орталық 1414", "колл-орталық"));
    assert!(uses_form("Жаңа хабар келді", "хабар"));
    assert!(!uses_form("Жаңа хабарлама келді", "хабар"));
    assert!(uses_form("Мекемеге кіру", "мекеме*"));
    assert!(uses_form("(Алматы уақыты)", "Алматы уақыты"));
    for (raw, caught) in [
        ("в 22.11.2026 10:30", true),
        ("за 11.2026", true),
        ("2026-11-22", true),
        ("2026-11", true),
        ("43.23800, 76.94500", false),
        ("№2026", false),
        ("12 345,67", false),
    ] {
        assert_eq!(raw_date_in(raw).is_some(), caught, "{raw}");
    }
}

// ---------------------------------------------------------------- the language of a new chat

/// A chat whose language is unknown is answered in Kazakh, the state language, and `/start`
/// offers all three languages.
#[tokio::test]
async fn an_unknown_language_gets_kazakh_first_and_the_choice_of_three() {
    use crate::support::{Chat, TestDb, at, core};
    use ashyq::core::{Event, Keyboard};
    let db = TestDb::sqlite().await;
    let clock = ashyq::clock::ManualClock::new(at("2026-11-21T10:00:00+05:00"));
    let core = core(&db, &clock).await;
    for (id, hint) in [("none", None), ("de", Some("de")), ("tr", Some("tr-TR"))] {
        let chat = Chat::new(&core, id, hint);
        let out = chat.send(Event::Text("сәлем".into())).await;
        assert_eq!(out[0].text.key(), "idle-prompt");
        assert_eq!(out[0].lang, Lang::Kk, "{id}");
        let out = chat
            .send(Event::Command {
                name: "start".into(),
                arg: String::new(),
            })
            .await;
        assert_eq!(out[0].text.key(), "choose-language");
        assert_eq!(out[0].lang, Lang::Kk);
        let Keyboard::Inline(rows) = &out[0].keyboard else {
            panic!("{:?}", out[0].keyboard)
        };
        let data: Vec<&str> = rows.iter().flatten().map(|b| b.data.as_str()).collect();
        assert_eq!(data, ["lang:kk", "lang:ru", "lang:en"]);
        let shown = Texts::load().render(out[0].lang, &out[0].text);
        assert!(shown.contains("Тілді таңдаңыз") && shown.contains("Выберите язык"));
    }
    assert_eq!(Lang::FALLBACK, Lang::Kk);
}

// ---------------------------------------------------------------- dates reach texts typed

/// Argument names that carry a date or a time of day into a text.
const DATE_ARGS: [&str; 8] = [
    "until",
    "since",
    "date",
    "opened",
    "month",
    "cause_date",
    "at",
    "day",
];

/// What is wrong with the dates of one source file (empty when fine).
fn date_problems(name: &str, src: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // Tests inside a source file may compare formatted dates.
    let code = src.split("#[cfg(test)]").next().unwrap_or_default();
    let flat: String = code
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(");
    for arg in DATE_ARGS {
        let pattern = format!(".arg(\"{arg}\", ");
        let mut rest = flat.as_str();
        while let Some(i) = rest.find(&pattern) {
            rest = &rest[i + pattern.len()..];
            // An empty text for a branch that does not show the date is fine.
            if !rest.starts_with("\"\")") {
                let snippet: String = rest.chars().take(50).collect();
                problems.push(format!(
                    "{name}: .arg(\"{arg}\", {snippet}…): use Msg::date/date_of/date_time/month"
                ));
            }
        }
    }
    if !name.ends_with("src/clock.rs") {
        for bad in ["clock::local_date(", "\"%d.%m"] {
            if code.contains(bad) {
                problems.push(format!("{name}: {bad} formats a date for people in code"));
            }
        }
    }
    problems
}

/// A date shown to a person goes as a typed argument (`Msg::date`, `date_of`, `date_time`,
/// `month`), never as text formatted in the code (`clock::local_date`, `%d.%m.%Y`): so every
/// language renders it with month names, and no `22.11.2026` reaches a chat.
#[test]
fn dates_reach_texts_as_typed_arguments() {
    let mut files = Vec::new();
    rust_files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut problems = Vec::new();
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        problems.extend(date_problems(&file.display().to_string(), &src));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The check catches what the code did before.
    for bad in [
        "Msg::new(\"x\").arg(\"until\", local_date(until))",
        "Msg::new(\"x\")\n    .arg(\n\"date\", d.to_string())",
        "let t = crate::clock::local_date(ms);",
        "x.format(\"%d.%m.%Y\")",
    ] {
        assert!(!date_problems("src/x.rs", bad).is_empty(), "{bad}");
    }
    assert!(date_problems("src/x.rs", "m.arg(\"until\", \"\")").is_empty());
}

/// For a fluent review: prints every text in one language with sample arguments
/// (`LANG_TO_PRINT=kk cargo test --test it locales::print_every_text -- --ignored --nocapture`).
#[test]
#[ignore = "a review aid: prints texts, checks nothing"]
fn print_every_text() {
    use ashyq::i18n::{Arg, Msg};
    let lang = std::env::var("LANG_TO_PRINT")
        .ok()
        .and_then(|l| Lang::from_code(&l))
        .unwrap_or(Lang::Kk);
    let texts = Texts::load();
    for (key, pattern) in message_asts(lang) {
        let mut vars = BTreeSet::new();
        variables_in_pattern(&pattern, &mut vars);
        let mut keys = BTreeMap::new();
        selectors(&pattern, &mut keys);
        let mut msg = Msg::new("placeholder");
        msg.key = key.clone().into();
        for var in &vars {
            let value = match kind_of(var) {
                Some(Kind::Num) => Arg::Num(21),
                Some(k @ (Kind::Date | Kind::At | Kind::Month)) => when_of(k, 10),
                Some(Kind::Time) => Arg::Str("10:30".into()),
                Some(Kind::Str(s)) => Arg::Str(s.into()),
                _ => Arg::Str(
                    keys.get(var)
                        .and_then(|k| k.first().cloned())
                        .unwrap_or_default(),
                ),
            };
            msg.args.push((var.clone().into(), value));
        }
        println!("{key}\n{}\n", texts.render(lang, &msg));
    }
}
