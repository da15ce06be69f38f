//! Forms posted to the console. Every one is refused unless it carries the
//! session's CSRF token, and any form is refused when the browser says it
//! comes from another site (`Sec-Fetch-Site`, `Origin`): with the
//! SameSite=Strict cookie, three independent checks.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::page::{ErrorPage, Lang, PageError};
use super::{ConsoleState, Signed, area_of};

/// The fields of a posted form, and its files (multipart forms).
#[derive(Default)]
pub struct Fields {
    values: Vec<(String, String)>,
    files: Vec<(String, String, Bytes)>,
}

impl Fields {
    /// The first value of `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.values.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
    }

    /// The file sent as `name`: its file name and bytes.
    pub fn file(&self, name: &str) -> Option<(&str, &Bytes)> {
        self.files.iter().find(|(k, _, _)| k == name).map(|(_, filename, bytes)| (filename.as_str(), bytes))
    }
}

/// A form from a signed-in session, its CSRF token checked.
pub struct Posted {
    pub signed: Signed,
    pub fields: Fields,
}

/// Whether the request says it was sent from another site: by
/// `Sec-Fetch-Site` when the browser sends it, else by `Origin`.
pub fn from_elsewhere(headers: &HeaderMap) -> bool {
    // Every current browser sends `Sec-Fetch-Site`; it decides alone.
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, authority)| authority) != Some(host),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Reads a form body, urlencoded or multipart, within the route's limit.
pub async fn read_fields(request: Request, state: &ConsoleState) -> Result<Fields, PageError> {
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|e| PageError::invalid(format!("the form could not be read: {e}")))?;
        let mut fields = Fields::default();
        while let Some(field) =
            multipart.next_field().await.map_err(|e| PageError::invalid(too_large_or(e.to_string())))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| PageError::invalid(too_large_or(e.to_string())))?;
            match filename {
                Some(filename) => fields.files.push((name, filename, bytes)),
                None => fields.values.push((name, String::from_utf8_lossy(&bytes).into_owned())),
            }
        }
        return Ok(fields);
    }
    if !content_type.is_empty() && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(PageError::invalid("send the form as a browser does (application/x-www-form-urlencoded)"));
    }
    let axum::Form(values) = axum::Form::<Vec<(String, String)>>::from_request(request, state)
        .await
        .map_err(|e| PageError::invalid(too_large_or(e.body_text())))?;
    Ok(Fields { values, files: Vec::new() })
}

fn too_large_or(detail: String) -> String {
    if detail.contains("length limit") || detail.contains("too large") {
        "the file is larger than this server accepts; see the limits in docs/OPERATIONS.md".to_owned()
    } else {
        format!("the form could not be read: {detail}")
    }
}

impl FromRequest<ConsoleState> for Posted {
    type Rejection = ErrorPage;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Posted, ErrorPage> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        if from_elsewhere(&parts.headers) {
            return Err(signed.error(PageError::Forged));
        }
        let fields = match read_fields(Request::from_parts(parts, body), state).await {
            Ok(fields) => fields,
            Err(error) => return Err(signed.error(error)),
        };
        if !signed.session.csrf_matches(state.app.pin_key(), fields.get("csrf")) {
            return Err(signed.error(PageError::Forged));
        }
        Ok(Posted { signed, fields })
    }
}

/// A form posted before sign-in (the sign-in form, the language switch):
/// no session to tie a token to, so the site checks alone.
pub struct Unsigned {
    pub lang: Lang,
    pub headers: HeaderMap,
    pub fields: Fields,
}

impl FromRequest<ConsoleState> for Unsigned {
    type Rejection = ErrorPage;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Unsigned, ErrorPage> {
        let (parts, body): (Parts, _) = request.into_parts();
        let lang = Lang::of(&parts.headers);
        let area = area_of(&parts);
        let headers = parts.headers.clone();
        if from_elsewhere(&headers) {
            return Err(ErrorPage { area, lang, error: PageError::Forged });
        }
        let fields = read_fields(Request::from_parts(parts, body), state).await.map_err(|error| ErrorPage {
            area,
            lang,
            error,
        })?;
        Ok(Unsigned { lang, headers, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_from_other_sites_are_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        assert!(!from_elsewhere(&headers(&[("host", "k.example"), ("origin", "https://k.example")])));
        assert!(from_elsewhere(&headers(&[("host", "k.example"), ("origin", "https://evil.example")])));
        assert!(from_elsewhere(&headers(&[("host", "k.example"), ("sec-fetch-site", "cross-site")])));
        assert!(from_elsewhere(&headers(&[("host", "k.example"), ("sec-fetch-site", "same-site")])));
        assert!(!from_elsewhere(&headers(&[("host", "k.example"), ("sec-fetch-site", "same-origin")])));
        assert!(from_elsewhere(&headers(&[("host", "k.example"), ("origin", "null")])));
        assert!(!from_elsewhere(&headers(&[("host", "k.example")])));
        // A same-origin form under a strict referrer policy may say `Origin: null`.
        assert!(!from_elsewhere(&headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")])));
    }
}
