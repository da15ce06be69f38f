//! `/v1/verify/{code}` as a page, for a browser (`Accept: text/html`): what
//! the JSON answer says, in Japanese with the English beside it, voided or
//! not. No personal data, no script, nothing loaded from elsewhere.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::public::Verification;
use crate::extract::accepts_first;

/// The page's Content-Security-Policy: it loads nothing, runs nothing and
/// can be framed by no one.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; \
                   form-action 'none'";

/// Whether `Accept` prefers HTML to JSON (a browser's address bar does).
pub fn wants_html(headers: &HeaderMap) -> bool {
    accepts_first(headers, "text/html", "application/json")
}

/// Text made safe to put between tags and in attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.6}}\
         .valid{{color:#0a5d00}}.voided{{color:#a00000}}dt{{font-weight:bold}}</style></head>\
         <body>{body}</body></html>\n",
        title = escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// The page for a code that belongs to an issued certificate.
pub fn found(v: &Verification, name_ja: &str) -> Response {
    let verdict = match &v.voided {
        None => "<p class=\"valid\"><strong>この証明書は有効です。</strong> This certificate is valid: it was issued \
                 as described below."
            .to_owned(),
        Some(void) => format!(
            "<p class=\"voided\"><strong>この証明書は無効です。</strong>{at}に{municipality}が取り消しました（理由：\
             {reason_ja}）。<br>This certificate is void: the municipality voided it at {at} ({reason_en}).</p>",
            at = escape(&void.at),
            municipality = escape(&v.municipality.name),
            reason_ja = escape(void.reason_ja),
            reason_en = escape(void.reason_en),
        ),
    };
    let pages = v.pages.map(|p| p.to_string()).unwrap_or_default();
    let body = format!(
        "<h1>証明書の確認 <small>Certificate check</small></h1>{verdict}\
         <dl><dt>証明書 Certificate</dt><dd>{name_ja} ({kind})</dd>\
         <dt>交付した市区町村 Issued by</dt><dd>{municipality} ({code})</dd>\
         <dt>交付日 Issue date</dt><dd>{date}</dd>\
         <dt>発行番号 Issuance number</dt><dd>{number}</dd>\
         <dt>枚数 Pages</dt><dd>{pages}</dd>\
         <dt>文書のハッシュ Document hash (SHA-256)</dt><dd><code>{hash}</code></dd></dl>\
         <p>この確認は、証明書の記載内容（氏名・住所など）を示しません。記載内容は紙の証明書でご確認ください。<br>\
         This check shows no personal data: compare the paper itself for its contents.</p>",
        name_ja = escape(name_ja),
        kind = escape(&v.kind),
        municipality = escape(&v.municipality.name),
        code = escape(&v.municipality.code),
        date = escape(&v.issue_date),
        number = escape(&v.number),
        hash = escape(v.document_hash.as_deref().unwrap_or_default()),
    );
    page(StatusCode::OK, "証明書の確認", &body)
}

/// The page for a code no issued certificate has.
pub fn not_found(code: &str) -> Response {
    let body = format!(
        "<h1>証明書の確認 <small>Certificate check</small></h1>\
         <p class=\"voided\"><strong>確認コード {code} の証明書は見つかりません。</strong>各ページの下部に印字された\
         確認コードをもう一度お確かめください。<br>No certificate was issued with the verification code {code}: \
         check the code printed at the foot of each page.</p>",
        code = escape(code)
    );
    page(StatusCode::NOT_FOUND, "証明書の確認", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn a_browser_gets_html_and_a_client_json() {
        let accept = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, value.parse().unwrap());
            wants_html(&headers)
        };
        assert!(accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
        assert!(!accept("application/json"));
        assert!(!accept("*/*"));
        assert!(!accept("application/json, text/html"));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
