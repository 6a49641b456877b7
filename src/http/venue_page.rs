//! `GET /v/<token>`: the page a venue poster's QR code opens when `ASHYQ_PUBLIC_URL` is set
//! (posters then encode `<public>/v/<token>` instead of a Telegram link, so a poster belongs
//! to no messenger). The page, in the reader's language (`?lang=`, else `Accept-Language`
//! among kk, ru, en, else Kazakh), names the venue and the entrance and offers one button
//! per messenger that has deep links (Telegram, and Aitu with `AITU_DEEP_LINK`), each opening
//! the bot with the venue's token, plus the short code for typing. It asks for nothing,
//! sets no cookie, loads nothing (no script, no image, no font) and is served under a strict
//! Content-Security-Policy; its one inline style is allowed by its hash. A malformed, forged
//! or revoked token gets a 404 page in the same language.

use super::HttpState;
use crate::core::venues::page::{self, VenuePage};
use crate::core::venues::token::Kind;
use crate::domain::Lang;
use crate::i18n::{Msg, Texts};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The page's only style (allowed by its hash in the CSP).
const STYLE: &str = "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f7f5;color:#17211b}\
main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem}\
h1{font-size:1.5rem;margin:0 0 .75rem}\
.venue{font-size:1.25rem;font-weight:600;margin:.25rem 0}\
.entrance{color:#3d4a42;margin:.25rem 0 1rem}\
.open{list-style:none;padding:0;margin:1rem 0}\
.open li{margin:.6rem 0}\
.open a{display:block;text-align:center;padding:.9rem 1rem;border-radius:.6rem;background:#1e7d4f;color:#fff;text-decoration:none;font-weight:600;font-size:1.1rem}\
.open a:focus,.open a:hover{background:#145a38}\
.code{font-size:1.05rem}\
.code b{letter-spacing:.08em}\
.privacy,.langs{color:#55625a;font-size:.9rem}\
.langs a{color:#1e5a7d;margin-right:.75rem}";

/// `default-src 'none'` with the style's hash: nothing else loads or runs.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
});

/// The page's Content-Security-Policy header value.
pub fn content_security_policy() -> &'static str {
    &CSP
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

/// The language of the page: `?lang=` when it names one of ours, else `Accept-Language`.
pub fn page_lang(query: Option<&str>, headers: &HeaderMap) -> Lang {
    query.and_then(Lang::from_code).unwrap_or_else(|| {
        Lang::from_accept_language(
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        )
    })
}

pub async fn venue_page(
    State(state): State<HttpState>,
    Path(token): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(query.lang.as_deref(), &headers);
    let Some(core) = state.core.as_ref() else {
        return unavailable(&Texts::load(), lang);
    };
    let texts = &core.texts;
    match page::lookup(core, &token).await {
        Ok(Some(p)) => respond(StatusCode::OK, lang, render(texts, lang, &p)),
        Ok(None) => respond(StatusCode::NOT_FOUND, lang, invalid(texts, lang)),
        Err(e) => {
            tracing::error!(error = %e, "venue page: look-up failed");
            unavailable(texts, lang)
        }
    }
}

fn unavailable(texts: &Texts, lang: Lang) -> Response {
    let body = document(
        lang,
        &texts.render(lang, &Msg::new("poster-page-unavailable")),
        &format!(
            "<p>{}</p>",
            esc(&texts.render(lang, &Msg::new("poster-page-unavailable")))
        ),
    );
    respond(StatusCode::SERVICE_UNAVAILABLE, lang, body)
}

fn respond(status: StatusCode, lang: Lang, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(content_security_policy()) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    r
}

/// HTML-escapes text and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(lang: Lang, title: &str, main: &str) -> String {
    let langs: String = Lang::ALL
        .iter()
        .filter(|l| **l != lang)
        .map(|l| {
            format!(
                "<a href=\"?lang={}\" hreflang=\"{}\" lang=\"{}\">{}</a>",
                l.code(),
                l.code(),
                l.code(),
                esc(l.native_name())
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"robots\" content=\"noindex\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}\n\
         <p class=\"langs\">{langs}</p>\n</main>\n</body>\n</html>\n",
        code = lang.code(),
        title = esc(title),
    )
}

/// The page of a valid code.
pub fn render(texts: &Texts, lang: Lang, p: &VenuePage) -> String {
    let kind = match p.kind {
        Kind::Entry => "entry",
        Kind::Exit => "exit",
    };
    let t = |msg: Msg| esc(&texts.render(lang, &msg));
    let title = texts.render(lang, &Msg::new("poster-page-title").arg("kind", kind));
    let buttons: String = p
        .links
        .iter()
        .map(|(messenger, link)| {
            format!(
                "<li><a href=\"{}\" rel=\"noopener noreferrer\" data-messenger=\"{}\">{}</a></li>\n",
                esc(link),
                esc(messenger),
                t(Msg::new("poster-page-open").arg("messenger", messenger.clone()))
            )
        })
        .collect();
    let main = format!(
        "<h1>{title}</h1>\n<p class=\"venue\">«{venue}»</p>\n<p class=\"entrance\">{entrance} · {kind_label}</p>\n\
         <p>{lead}</p>\n<ul class=\"open\">\n{buttons}</ul>\n<p class=\"code\">{code}</p>\n\
         <p class=\"privacy\">{privacy}</p>",
        title = esc(&title),
        venue = esc(&p.venue),
        entrance = t(Msg::new("poster-entrance").arg("name", p.entrance.clone())),
        kind_label = t(Msg::new("poster-kind").arg("kind", kind)),
        lead = t(Msg::new("poster-page-lead")),
        code = t(Msg::new("poster-page-code").arg("code", p.short_code.clone())),
        privacy = t(Msg::new("poster-page-privacy")),
    );
    document(lang, &title, &main)
}

/// The page of a code that opens nothing.
pub fn invalid(texts: &Texts, lang: Lang) -> String {
    let title = texts.render(lang, &Msg::new("poster-page-invalid-title"));
    let main = format!(
        "<h1>{}</h1>\n<p>{}</p>",
        esc(&title),
        esc(&texts.render(lang, &Msg::new("poster-page-invalid")))
    );
    document(lang, &title, &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> VenuePage {
        VenuePage {
            venue: "Cafe <Alma> & \"Co\"".into(),
            entrance: "1".into(),
            kind: Kind::Entry,
            short_code: "K7P-2QX9".into(),
            links: vec![
                ("Telegram".into(), "https://t.me/b?start=T&x=1".into()),
                ("Aitu".into(), "https://aitu.example/b?start=T".into()),
            ],
        }
    }

    #[test]
    fn the_page_escapes_names_and_links_and_speaks_the_language() {
        let texts = Texts::load();
        let html = render(&texts, Lang::Ru, &page());
        assert!(html.contains("<html lang=\"ru\">"));
        assert!(html.contains("Cafe &lt;Alma&gt; &amp; &quot;Co&quot;"));
        assert!(!html.contains("<Alma>"));
        assert!(html.contains("href=\"https://t.me/b?start=T&amp;x=1\""));
        assert!(html.contains("href=\"https://aitu.example/b?start=T\""));
        assert!(html.contains(&texts.render(Lang::Ru, &Msg::new("poster-page-lead"))));
        assert!(html.contains("K7P-2QX9"));
        assert!(!html.contains("<script"), "no script at all");
        let kk = render(&texts, Lang::Kk, &page());
        assert!(kk.contains("<html lang=\"kk\">"));
        assert!(kk.contains(&texts.render(Lang::Kk, &Msg::new("poster-page-lead"))));
    }

    #[test]
    fn the_csp_allows_only_the_pages_own_style() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!csp.contains("unsafe"));
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        assert!(csp.contains(&hash));
        // The style is put in the page byte for byte, or the browser would refuse it.
        let html = invalid(&Texts::load(), Lang::En);
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
    }

    #[test]
    fn the_language_comes_from_the_query_then_the_header() {
        let mut h = HeaderMap::new();
        assert_eq!(page_lang(None, &h), Lang::Kk);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-US,en;q=0.9,ru;q=0.8"),
        );
        assert_eq!(page_lang(None, &h), Lang::En);
        assert_eq!(page_lang(Some("ru"), &h), Lang::Ru);
        assert_eq!(page_lang(Some("xx"), &h), Lang::En);
    }
}
