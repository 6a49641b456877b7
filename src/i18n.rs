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
            ("security.ftl", include_str!("../locales/kk/security.ftl")),
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
            ("security.ftl", include_str!("../locales/ru/security.ftl")),
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
            ("security.ftl", include_str!("../locales/en/security.ftl")),
        ],
    ),
];

/// An argument of a text.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Arg {
    Str(String),
    Num(i64),
}

impl std::fmt::Debug for Arg {
    // Arguments may carry masked personal data; keep them out of debug output entirely.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Str(_) => f.write_str("Str(…)"),
            Arg::Num(n) => write!(f, "Num({n})"),
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
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(&msg.key).and_then(|m| m.value()) else {
            tracing::error!(key = %msg.key, lang = lang.code(), "missing text");
            return msg.key.to_string();
        };
        let mut args = FluentArgs::new();
        for (name, value) in &msg.args {
            match value {
                Arg::Str(s) => args.set(name.as_ref(), FluentValue::from(s.as_str())),
                Arg::Num(n) => args.set(name.as_ref(), FluentValue::from(*n)),
            }
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
        if !errors.is_empty() {
            tracing::error!(
                key = %msg.key,
                lang = lang.code(),
                ?errors,
                "text rendered with errors"
            );
        }
        text.into_owned()
    }

    /// Shorthand for a text without arguments.
    pub fn get(&self, lang: Lang, key: &'static str) -> String {
        self.render(lang, &Msg::new(key))
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
        assert!(kk.contains("11 сан"), "{kk}");
    }

    #[test]
    fn no_isolation_marks_and_args_render() {
        let t = Texts::load();
        let s = t.render(Lang::En, &Msg::new("iin-wrong-length").num("count", 11));
        assert!(!s.contains('\u{2068}'));
    }
}
