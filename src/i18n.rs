//! Every user-facing text lives in `locales/{kk,ru,en}/*.ftl` (Fluent) and is rendered at the
//! edge, in the user's language. The files are compiled into the binary so it runs anywhere.

use crate::domain::Lang;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::borrow::Cow;

/// The locale sources, per language, as `(file name, text)`.
pub const SOURCES: [(Lang, &[(&str, &str)]); 3] = [
    (
        Lang::Kk,
        &[
            ("main.ftl", include_str!("../locales/kk/main.ftl")),
            ("support.ftl", include_str!("../locales/kk/support.ftl")),
            ("checkin.ftl", include_str!("../locales/kk/checkin.ftl")),
            ("status.ftl", include_str!("../locales/kk/status.ftl")),
            ("business.ftl", include_str!("../locales/kk/business.ftl")),
            ("wallet.ftl", include_str!("../locales/kk/wallet.ftl")),
            ("vouchers.ftl", include_str!("../locales/kk/vouchers.ftl")),
            (
                "prescriptions.ftl",
                include_str!("../locales/kk/prescriptions.ftl"),
            ),
            ("dates.ftl", include_str!("../locales/kk/dates.ftl")),
            ("act.ftl", include_str!("../locales/kk/act.ftl")),
            ("aitu.ftl", include_str!("../locales/kk/aitu.ftl")),
            ("identity.ftl", include_str!("../locales/kk/identity.ftl")),
            ("exposure.ftl", include_str!("../locales/kk/exposure.ftl")),
            ("family.ftl", include_str!("../locales/kk/family.ftl")),
            ("security.ftl", include_str!("../locales/kk/security.ftl")),
            ("sms.ftl", include_str!("../locales/kk/sms.ftl")),
            (
                "poster_page.ftl",
                include_str!("../locales/kk/poster_page.ftl"),
            ),
        ],
    ),
    (
        Lang::Ru,
        &[
            ("main.ftl", include_str!("../locales/ru/main.ftl")),
            ("support.ftl", include_str!("../locales/ru/support.ftl")),
            ("checkin.ftl", include_str!("../locales/ru/checkin.ftl")),
            ("status.ftl", include_str!("../locales/ru/status.ftl")),
            ("business.ftl", include_str!("../locales/ru/business.ftl")),
            ("wallet.ftl", include_str!("../locales/ru/wallet.ftl")),
            ("vouchers.ftl", include_str!("../locales/ru/vouchers.ftl")),
            (
                "prescriptions.ftl",
                include_str!("../locales/ru/prescriptions.ftl"),
            ),
            ("dates.ftl", include_str!("../locales/ru/dates.ftl")),
            ("act.ftl", include_str!("../locales/ru/act.ftl")),
            ("aitu.ftl", include_str!("../locales/ru/aitu.ftl")),
            ("identity.ftl", include_str!("../locales/ru/identity.ftl")),
            ("exposure.ftl", include_str!("../locales/ru/exposure.ftl")),
            ("family.ftl", include_str!("../locales/ru/family.ftl")),
            ("security.ftl", include_str!("../locales/ru/security.ftl")),
            ("sms.ftl", include_str!("../locales/ru/sms.ftl")),
            (
                "poster_page.ftl",
                include_str!("../locales/ru/poster_page.ftl"),
            ),
        ],
    ),
    (
        Lang::En,
        &[
            ("main.ftl", include_str!("../locales/en/main.ftl")),
            ("support.ftl", include_str!("../locales/en/support.ftl")),
            ("checkin.ftl", include_str!("../locales/en/checkin.ftl")),
            ("status.ftl", include_str!("../locales/en/status.ftl")),
            ("business.ftl", include_str!("../locales/en/business.ftl")),
            ("wallet.ftl", include_str!("../locales/en/wallet.ftl")),
            ("vouchers.ftl", include_str!("../locales/en/vouchers.ftl")),
            (
                "prescriptions.ftl",
                include_str!("../locales/en/prescriptions.ftl"),
            ),
            ("dates.ftl", include_str!("../locales/en/dates.ftl")),
            ("act.ftl", include_str!("../locales/en/act.ftl")),
            ("aitu.ftl", include_str!("../locales/en/aitu.ftl")),
            ("identity.ftl", include_str!("../locales/en/identity.ftl")),
            ("exposure.ftl", include_str!("../locales/en/exposure.ftl")),
            ("family.ftl", include_str!("../locales/en/family.ftl")),
            ("security.ftl", include_str!("../locales/en/security.ftl")),
            ("sms.ftl", include_str!("../locales/en/sms.ftl")),
            (
                "poster_page.ftl",
                include_str!("../locales/en/poster_page.ftl"),
            ),
        ],
    ),
];

/// An argument of a text.
///
/// Serialised untagged, so payloads queued before [`Arg::When`] existed (plain strings and
/// numbers) still read back; a `When` is a one-key object (`{"date":"2026-11-22"}`,
/// `{"at":1795000000000}`, `{"month":"2026-11-01"}`).
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Arg {
    Str(String),
    Num(i64),
    /// A date or an instant, rendered with month names in the reader's language.
    When(When),
}

/// A date or a moment shown to a person: rendered in the reader's language by the `date`,
/// `date-time` and `date-month` texts (`locales/*/dates.ftl`), in Astana time (UTC+5).
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// A calendar day: "2026 жылғы 22 қараша", "22 ноября 2026 г.", "22 November 2026".
    Date(chrono::NaiveDate),
    /// A UTC instant in milliseconds, shown as date and 24-hour time in Astana.
    At(i64),
    /// A month (any day of it): "2026 жылғы қараша", "ноябрь 2026 г.", "November 2026".
    Month(chrono::NaiveDate),
}

impl When {
    /// The Astana calendar day of a UTC instant in milliseconds.
    pub fn date_of_ms(ms: i64) -> Self {
        When::Date(crate::clock::local_day(ms))
    }
}

/// A language-neutral form for logs and tests: `2026-11-22`, `2026-11-22 10:30` (Astana),
/// `2026-11`.
impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            When::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            When::At(ms) => f.write_str(&crate::clock::local_text(*ms, "%Y-%m-%d %H:%M")),
            When::Month(d) => write!(f, "{}", d.format("%Y-%m")),
        }
    }
}

impl std::fmt::Debug for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "When({self})")
    }
}

impl std::fmt::Debug for Arg {
    // Arguments may carry masked personal data; keep them out of debug output entirely.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Str(_) => f.write_str("Str(…)"),
            Arg::Num(n) => write!(f, "Num({n})"),
            Arg::When(w) => write!(f, "{w:?}"),
        }
    }
}

/// A text to render: a Fluent message id and its arguments. Serializable, so messages can
/// wait in the durable outbox and be rendered when they are sent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Msg {
    pub key: Cow<'static, str>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(Cow<'static, str>, Arg)>,
}

impl Msg {
    pub fn new(key: &'static str) -> Self {
        Self {
            key: Cow::Borrowed(key),
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args
            .push((Cow::Borrowed(name), Arg::Str(value.into())));
        self
    }

    pub fn num(mut self, name: &'static str, value: i64) -> Self {
        self.args.push((Cow::Borrowed(name), Arg::Num(value)));
        self
    }

    /// A calendar day, shown with its month name in the reader's language.
    pub fn date(mut self, name: &'static str, day: chrono::NaiveDate) -> Self {
        self.args
            .push((Cow::Borrowed(name), Arg::When(When::Date(day))));
        self
    }

    /// The Astana calendar day of a UTC instant (milliseconds).
    pub fn date_of(mut self, name: &'static str, ms: i64) -> Self {
        self.args
            .push((Cow::Borrowed(name), Arg::When(When::date_of_ms(ms))));
        self
    }

    /// A UTC instant (milliseconds), shown as Astana date and 24-hour time.
    pub fn date_time(mut self, name: &'static str, ms: i64) -> Self {
        self.args
            .push((Cow::Borrowed(name), Arg::When(When::At(ms))));
        self
    }

    /// The month of `day`, with its name in the reader's language.
    pub fn month(mut self, name: &'static str, day: chrono::NaiveDate) -> Self {
        self.args
            .push((Cow::Borrowed(name), Arg::When(When::Month(day))));
        self
    }

    /// The key, for comparisons in tests and logs.
    pub fn key(&self) -> &str {
        &self.key
    }
}

pub struct Texts {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Texts")
    }
}

impl Texts {
    /// Builds the bundles. Panics only on a syntax error in an embedded file, which the
    /// locale tests catch before a release.
    pub fn load() -> Self {
        let bundles = SOURCES
            .iter()
            .map(|(lang, files)| {
                let langid: unic_langid::LanguageIdentifier =
                    lang.code().parse().expect("valid language id");
                let mut bundle = FluentBundle::new_concurrent(vec![langid]);
                bundle.set_use_isolating(false);
                for (name, src) in files.iter() {
                    let res =
                        FluentResource::try_new((*src).to_string()).unwrap_or_else(|(_, errs)| {
                            panic!("locales/{}/{name}: {errs:?}", lang.code())
                        });
                    bundle
                        .add_resource(res)
                        .unwrap_or_else(|errs| panic!("locales/{}/{name}: {errs:?}", lang.code()));
                }
                (*lang, bundle)
            })
            .collect();
        Self { bundles }
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        &self
            .bundles
            .iter()
            .find(|(l, _)| *l == lang)
            .expect("every language is loaded")
            .1
    }

    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundle(lang).has_message(key)
    }

    /// Renders a text. A missing key is a bug: it is logged and the key itself is shown.
    pub fn render(&self, lang: Lang, msg: &Msg) -> String {
        match self.try_render(lang, msg) {
            Ok(text) => text,
            Err((text, errors)) => {
                tracing::error!(
                    key = %msg.key,
                    lang = lang.code(),
                    ?errors,
                    "text rendered with errors"
                );
                text
            }
        }
    }

    /// Renders a text, or returns what it could render with the errors (a missing key, a
    /// missing argument): what the locale tests check for every key.
    pub fn try_render(&self, lang: Lang, msg: &Msg) -> Result<String, (String, Vec<String>)> {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(&msg.key).and_then(|m| m.value()) else {
            return Err((
                msg.key.to_string(),
                vec![format!("missing text {}", msg.key)],
            ));
        };
        let mut args = FluentArgs::new();
        let mut errors = Vec::new();
        // Dates that end with an abbreviation's period ("2026 г."), to drop the sentence's own
        // period right after them ("до 22 ноября 2026 г.." reads as a typo).
        let mut dotted = Vec::new();
        for (name, value) in &msg.args {
            match value {
                Arg::Str(s) => args.set(name.as_ref(), FluentValue::from(s.as_str())),
                Arg::Num(n) => args.set(name.as_ref(), FluentValue::from(*n)),
                Arg::When(w) => {
                    let text = match self.try_render(lang, &when_msg(*w)) {
                        Ok(t) => t,
                        Err((t, e)) => {
                            errors.extend(e);
                            t
                        }
                    };
                    if text.ends_with('.') {
                        dotted.push(text.clone());
                    }
                    args.set(name.as_ref(), FluentValue::from(text))
                }
            }
        }
        let mut fluent_errors = Vec::new();
        let mut text = bundle
            .format_pattern(pattern, Some(&args), &mut fluent_errors)
            .into_owned();
        for date in &dotted {
            text = text.replace(&format!("{date}."), date);
        }
        errors.extend(fluent_errors.iter().map(|e| format!("{e:?}")));
        if errors.is_empty() {
            Ok(text)
        } else {
            Err((text, errors))
        }
    }

    /// Shorthand for a text without arguments.
    pub fn get(&self, lang: Lang, key: &'static str) -> String {
        self.render(lang, &Msg::new(key))
    }
}

/// An amount in tiyn as Kazakh and Russian write money: `12 345,67 ₸` (no-break spaces
/// between thousands and before the sign).
pub fn tenge(tiyn: i64) -> String {
    let sign = if tiyn < 0 { "-" } else { "" };
    let (whole, cents) = (tiyn.unsigned_abs() / 100, tiyn.unsigned_abs() % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{cents:02}\u{a0}₸")
}

/// The text that renders a [`When`]: `date`, `date-time` or `date-month` with its parts as
/// numbers (month 1-12) and the time as `HH:MM` (24-hour, Astana).
fn when_msg(w: When) -> Msg {
    use chrono::Datelike;
    let day = |key: &'static str, d: chrono::NaiveDate| {
        Msg::new(key)
            .num("day", i64::from(d.day()))
            .num("month", i64::from(d.month()))
            .arg("year", d.year().to_string())
    };
    match w {
        When::Date(d) => day("date", d),
        When::At(ms) => {
            day("date-time", crate::clock::local_day(ms)).arg("time", crate::clock::local_time(ms))
        }
        When::Month(d) => Msg::new("date-month")
            .num("month", i64::from(d.month()))
            .arg("year", d.year().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_each_language() {
        let t = Texts::load();
        let m = |n| Msg::new("iin-wrong-length").num("count", n);
        let ru1 = t.render(Lang::Ru, &m(1));
        let ru3 = t.render(Lang::Ru, &m(3));
        let ru5 = t.render(Lang::Ru, &m(5));
        let ru11 = t.render(Lang::Ru, &m(11));
        assert!(ru1.contains("1 цифру"), "{ru1}");
        assert!(ru3.contains("3 цифры"), "{ru3}");
        assert!(ru5.contains("5 цифр"), "{ru5}");
        assert!(ru11.contains("11 цифр"), "{ru11}");
        let en1 = t.render(Lang::En, &m(1));
        let en11 = t.render(Lang::En, &m(11));
        assert!(
            en1.contains("1 digit") && !en1.contains("1 digits"),
            "{en1}"
        );
        assert!(en11.contains("11 digits"), "{en11}");
        let kk = t.render(Lang::Kk, &m(11));
        assert!(kk.contains("цифрлар саны: 11"), "{kk}");
    }

    fn ms(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    /// A date argument as the `date` texts render it.
    fn shown(t: &Texts, lang: Lang, arg: Arg) -> String {
        let Arg::When(w) = arg else {
            panic!("not a date")
        };
        t.try_render(lang, &when_msg(w)).unwrap()
    }

    #[test]
    fn dates_have_month_names_in_each_language() {
        let t = Texts::load();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let date = Arg::When(When::Date(day));
        assert_eq!(shown(&t, Lang::Kk, date.clone()), "2026 жылғы 22 қараша");
        assert_eq!(shown(&t, Lang::Ru, date.clone()), "22 ноября 2026 г.");
        assert_eq!(shown(&t, Lang::En, date), "22 November 2026");
        // 05:30 UTC is 10:30 in Astana; 19:30 UTC is already the next day there.
        let at = Arg::When(When::At(ms("2026-11-22T05:30:00Z")));
        assert_eq!(
            shown(&t, Lang::Kk, at.clone()),
            "2026 жылғы 22 қараша, сағат 10:30"
        );
        assert_eq!(shown(&t, Lang::Ru, at.clone()), "22 ноября 2026 г., 10:30");
        assert_eq!(shown(&t, Lang::En, at), "22 November 2026, 10:30");
        let late = Arg::When(When::At(ms("2026-12-31T19:05:00Z")));
        assert_eq!(shown(&t, Lang::Ru, late), "1 января 2027 г., 00:05");
        let month = Arg::When(When::Month(day));
        assert_eq!(shown(&t, Lang::Kk, month.clone()), "2026 жылғы қараша");
        assert_eq!(shown(&t, Lang::Ru, month.clone()), "ноябрь 2026 г.");
        assert_eq!(shown(&t, Lang::En, month), "November 2026");
        let short = |lang| {
            t.try_render(
                lang,
                &Msg::new("date-short").num("day", 22).num("month", 11),
            )
            .unwrap()
        };
        assert_eq!(short(Lang::Kk), "22 қар.");
        assert_eq!(short(Lang::Ru), "22 нояб.");
        assert_eq!(short(Lang::En), "22 Nov");
    }

    #[test]
    fn every_month_has_its_own_name() {
        let t = Texts::load();
        for lang in Lang::ALL {
            let mut seen = std::collections::BTreeSet::new();
            for m in 1..=12 {
                let d = chrono::NaiveDate::from_ymd_opt(2027, m, 1).unwrap();
                let text = shown(&t, lang, Arg::When(When::Date(d)));
                assert!(!text.contains('.') || lang == Lang::Ru, "{text}");
                assert!(seen.insert(text.clone()), "{lang}: {text} twice");
                assert!(text.contains("2027"), "{text}");
            }
        }
    }

    #[test]
    fn typed_dates_render_inside_texts_and_old_payloads_still_read() {
        let t = Texts::load();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let msg = Msg::new("wallet-offer-expired")
            .num("number", 2)
            .date("date", day);
        let ru = t.try_render(Lang::Ru, &msg).unwrap();
        assert!(ru.contains("28 ноября 2026 г.;"), "{ru}");
        // A sentence that ends with a date keeps one period.
        let ends = Msg::new("support-op-banned").date("until", day);
        let ru = t.try_render(Lang::Ru, &ends).unwrap();
        assert!(ru.ends_with("до 28 ноября 2026 г."), "{ru}");
        let ends = Msg::new("checkin-venue-suspended")
            .arg("venue", "Алма")
            .date("until", day);
        let ru = t.try_render(Lang::Ru, &ends).unwrap();
        assert!(ru.contains("до 28 ноября 2026 г.:"), "{ru}");
        let json = serde_json::to_string(&msg).unwrap();
        assert!(json.contains(r#"{"date":"2026-11-28"}"#), "{json}");
        assert_eq!(serde_json::from_str::<Msg>(&json).unwrap(), msg);
        // A payload queued before typed dates: plain strings and numbers.
        let old: Msg = serde_json::from_str(
            r#"{"key":"wallet-offer-expired","args":[["number",2],["date","28.11.2026"]]}"#,
        )
        .unwrap();
        assert_eq!(old.args[1].1, Arg::Str("28.11.2026".into()));
        assert!(t.try_render(Lang::Kk, &old).is_ok());
        let at = Msg::new("wallet-meal-line")
            .date_time("at", 1)
            .month("m", day);
        let back: Msg = serde_json::from_str(&serde_json::to_string(&at).unwrap()).unwrap();
        assert_eq!(back, at);
    }

    #[test]
    fn money_is_written_as_tenge() {
        assert_eq!(tenge(1_234_567), "12\u{a0}345,67\u{a0}₸");
        assert_eq!(tenge(85_000), "850,00\u{a0}₸");
        assert_eq!(tenge(5), "0,05\u{a0}₸");
        assert_eq!(tenge(100_000_000), "1\u{a0}000\u{a0}000,00\u{a0}₸");
        assert_eq!(tenge(-150), "-1,50\u{a0}₸");
    }

    #[test]
    fn no_isolation_marks_and_args_render() {
        let t = Texts::load();
        let s = t.render(Lang::En, &Msg::new("iin-wrong-length").num("count", 11));
        assert!(!s.contains('\u{2068}'));
    }
}
