//! The pages' frame: language, layout, the error page, and the headers
//! every console page carries.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::session::{self, Area};

/// The console's Content-Security-Policy: its own script and style only, no
/// inline script, page images as data: URLs, forms to itself, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Japanese first; English for those who ask (the `kofu_lang` cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

pub const LANG_COOKIE: &str = "kofu_lang";

impl Lang {
    pub fn of(headers: &HeaderMap) -> Lang {
        match session::cookie(headers, LANG_COOKIE) {
            Some("en") => Lang::En,
            _ => Lang::Ja,
        }
    }

    /// The text in this language: both are written side by side where the
    /// page is, so neither can be forgotten.
    pub fn t(self, ja: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

/// What went wrong, as a page.
#[derive(Debug)]
pub enum PageError {
    /// No valid session: sign in again.
    SignedOut,
    /// The API refused or failed; its problem details.
    Api {
        status: StatusCode,
        title: String,
        detail: String,
    },
    /// A form from elsewhere, or without its CSRF token.
    Forged,
    /// Bad input the console itself caught.
    Invalid(String),
    Internal(String),
}

impl PageError {
    pub fn invalid(detail: impl Into<String>) -> PageError {
        PageError::Invalid(detail.into())
    }
}

/// A page error rendered for an area, in a language.
pub struct ErrorPage {
    pub area: Area,
    pub lang: Lang,
    pub error: PageError,
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let l = self.lang;
        let (status, heading, detail) = match self.error {
            PageError::SignedOut => {
                return Redirect::to(&format!("{}/sign-in", self.area.path())).into_response();
            }
            PageError::Api { status, title, detail, .. } => {
                let heading = match status {
                    StatusCode::FORBIDDEN => l.t("この操作は許可されていません", "Not allowed"),
                    StatusCode::NOT_FOUND => l.t("見つかりません", "Not found"),
                    StatusCode::CONFLICT => l.t("ほかの操作と重なりました", "Conflict"),
                    s if s.is_server_error() => l.t("サーバーで問題が起きました", "The server had a problem"),
                    _ => l.t("受け付けられませんでした", "Not accepted"),
                };
                (status, heading, if detail.is_empty() { title } else { detail })
            }
            PageError::Forged => (
                StatusCode::FORBIDDEN,
                l.t("このフォームは受け付けられません", "This form was refused"),
                l.t(
                    "フォームの確認用トークンがないか、古くなっています。ページを開き直してからもう一度送ってください。",
                    "The form's CSRF token is missing or stale: reload the page and send it again.",
                )
                .to_owned(),
            ),
            PageError::Invalid(detail) => (StatusCode::UNPROCESSABLE_ENTITY, l.t("入力を確かめてください", "Check the input"), detail),
            PageError::Internal(detail) => {
                tracing::error!(%detail, "console page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    l.t("サーバーで問題が起きました", "The server had a problem"),
                    l.t("しばらくしてからもう一度お試しください。", "Try again in a moment.").to_owned(),
                )
            }
        };
        let body = html! {
            main.narrow {
                h1 { (heading) }
                p.error role="alert" { (detail) }
                p { a href=(format!("{}/", self.area.path())) { (l.t("最初の画面に戻る", "Back to the start")) } }
            }
        };
        (status, document(l, heading, None, body)).into_response()
    }
}

/// Who is signed in, for the header.
pub struct Header<'a> {
    pub who: String,
    pub nav: Vec<(&'a str, String, bool)>,
    pub csrf: String,
    pub area: Area,
}

/// `?lang=en` (or `ja`) on any page: remember the choice in a cookie and
/// show the same page without the parameter.
pub fn switch_language(request: &axum::extract::Request) -> Option<Response> {
    if request.method() != axum::http::Method::GET {
        return None;
    }
    let query = request.uri().query()?;
    let to = query.split('&').find_map(|pair| pair.strip_prefix("lang="))?;
    let to = if to == "en" { "en" } else { "ja" };
    let rest: Vec<&str> = query.split('&').filter(|pair| !pair.starts_with("lang=")).collect();
    // `//host` would be another site to a browser: back to one of ours only.
    let path = match request.uri().path() {
        p if p.starts_with("//") => "/",
        p => p,
    };
    let back = if rest.is_empty() { path.to_owned() } else { format!("{path}?{}", rest.join("&")) };
    let mut response = Redirect::to(&back).into_response();
    let cookie = format!("{LANG_COOKIE}={to}; Path=/; Max-Age=31536000; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Some(response)
}

/// A whole HTML document.
pub fn document(lang: Lang, title: &str, header: Option<&Header>, main: Markup) -> Html {
    let other = match lang {
        Lang::Ja => ("en", "English"),
        Lang::En => ("ja", "日本語"),
    };
    Html(html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " — kofu" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header.top {
                    span.brand { "kofu 交付" }
                    @if let Some(h) = header {
                        nav {
                            @for (label, href, current) in &h.nav {
                                a href=(href) aria-current=[current.then_some("page")] { (label) }
                            }
                        }
                        span.who { (h.who) }
                        form method="post" action=(format!("{}/sign-out", h.area.path())) class="inline" {
                            (csrf_field(&h.csrf))
                            button.link type="submit" { (lang.t("サインアウト", "Sign out")) }
                        }
                    }
                    a.lang href=(format!("?lang={}", other.0)) lang=(other.0) { (other.1) }
                }
                (main)
            }
        }
    })
}

/// The hidden field that carries a form's CSRF token.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A rendered page.
pub struct Html(pub Markup);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], self.0.into_string())
            .into_response()
    }
}

/// Adds the headers every console and kiosk page carries.
pub fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// A value of a JSON object as display text ("" when absent).
pub fn s(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A millisecond time as Japan time, `2026-12-07 09:15`.
pub fn jst(millis: i64) -> String {
    let seconds = millis.div_euclid(1000) + 9 * 3600;
    let date = kofu_model::Date::in_japan_at(millis.div_euclid(1000).max(0) as u64);
    let of_day = seconds.rem_euclid(86_400);
    format!("{date} {:02}:{:02}", of_day / 3600, of_day % 3600 / 60)
}

/// The day a page shows, from its `date` parameter (today in Japan when
/// empty), and the day after: the span the API's `from` and `to` take.
pub fn day(lang: Lang, text: &str) -> Result<(kofu_model::Date, kofu_model::Date), PageError> {
    use kofu_model::Date;
    let d: Date = if text.is_empty() {
        Date::in_japan_at((kofu_store::now_millis() / 1000).max(0) as u64)
    } else {
        text.parse().map_err(|_| {
            PageError::invalid(lang.t("日付は 2026-12-07 の形で入力してください。", "Enter the date as 2026-12-07."))
        })?
    };
    let next = Date::new(d.year, d.month, d.day + 1)
        .or_else(|| Date::new(d.year, d.month + 1, 1))
        .or_else(|| Date::new(d.year + 1, 1, 1))
        .unwrap_or(d);
    Ok((d, next))
}

/// A yen amount, `350円` / `¥350`.
pub fn yen(lang: Lang, amount: i64) -> String {
    match lang {
        Lang::Ja => format!("{amount}円"),
        Lang::En => format!("¥{amount}"),
    }
}

/// A notice of what a form just did, shown once at the top of a page.
pub fn notice(text: &str) -> Markup {
    html! { p.notice role="status" { (text) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_runs_to_the_next_across_months_and_years() {
        let span = |text: &str| day(Lang::En, text).map(|(d, n)| (d.to_string(), n.to_string())).unwrap();
        assert_eq!(span("2026-12-07"), ("2026-12-07".into(), "2026-12-08".into()));
        assert_eq!(span("2026-02-28"), ("2026-02-28".into(), "2026-03-01".into()));
        assert_eq!(span("2026-12-31"), ("2026-12-31".into(), "2027-01-01".into()));
        assert!(day(Lang::Ja, "7 Dec").is_err());
    }

    #[test]
    fn the_language_switch_stays_on_this_server() {
        let switch = |uri: &str| {
            let request = axum::extract::Request::builder().uri(uri).body(axum::body::Body::empty()).unwrap();
            let response = switch_language(&request).expect("a switch");
            response.headers()[header::LOCATION].to_str().unwrap().to_owned()
        };
        assert_eq!(
            switch("/console/m/131016/issuances?date=2026-12-07&lang=en"),
            "/console/m/131016/issuances?date=2026-12-07"
        );
        assert_eq!(switch("//evil.example/?lang=en"), "/");
    }
}
