//! Console sessions: a signed cookie, never the token itself.
//!
//! Signing in exchanges a token (municipality, vendor admin, or kiosk
//! credential) for a cookie that carries the token's *hash*, the role, its
//! times and a random nonce, under a MAC keyed by the host's shared key
//! ([`PinKey::console_mac`]), so every host on the database accepts it and
//! no host keeps session state. The cookie is HttpOnly, SameSite=Strict and
//! Secure (except on a loopback address, where browsers accept it without
//! TLS), expires after [`IDLE`] without a request and after [`MAX_AGE`] in
//! any case. Each request still resolves the hash through the same live
//! lookup a bearer token gets: revoking the token ends its sessions at once.
//! Every form carries a CSRF token, a MAC of the session's nonce.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kofu_store::{constant_time_eq, now_millis, random_id};

use crate::auth::{Role, SessionCredential};
use crate::secrets::PinKey;

/// A session ends after this long without a request…
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(30 * 60);
/// …and this long after sign-in, whatever happens.
pub const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(10 * 60 * 60);
/// A session's cookie is renewed (its idle time restarted) at most this often.
const RENEW_AFTER_MS: i64 = 60_000;

/// Where a session is good: the console (municipality and vendor) or the
/// kiosk simulator. Each has its own cookie, scoped to its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Console,
    Kiosk,
}

impl Area {
    pub fn cookie(self) -> &'static str {
        match self {
            Area::Console => "kofu_console",
            Area::Kiosk => "kofu_kiosk",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Area::Console => "/console",
            Area::Kiosk => "/kiosk",
        }
    }

    /// Which credentials may sign in here.
    pub fn admits(self, role: Role) -> bool {
        match self {
            Area::Console => matches!(role, Role::Vendor | Role::Municipality),
            Area::Kiosk => role == Role::Kiosk,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub area: Area,
    pub credential: SessionCredential,
    pub issued_ms: i64,
    pub expires_ms: i64,
    nonce: String,
}

fn role_tag(role: Role) -> &'static str {
    match role {
        Role::Vendor => "v",
        Role::Municipality => "m",
        Role::Kiosk => "k",
    }
}

fn role_of_tag(tag: &str) -> Option<Role> {
    match tag {
        "v" => Some(Role::Vendor),
        "m" => Some(Role::Municipality),
        "k" => Some(Role::Kiosk),
        _ => None,
    }
}

impl ConsoleSession {
    /// A new session for a credential just checked.
    pub fn start(area: Area, credential: SessionCredential) -> Result<ConsoleSession, kofu_store::StoreError> {
        let now = now_millis();
        Ok(ConsoleSession {
            area,
            credential,
            issued_ms: now,
            expires_ms: now + IDLE.as_millis() as i64,
            nonce: random_id(26)?,
        })
    }

    fn payload(&self) -> String {
        format!(
            "{}.{}.{}.{}.{}",
            role_tag(self.credential.role),
            self.credential.hash,
            self.issued_ms,
            self.expires_ms,
            self.nonce
        )
    }

    /// The cookie's value: the payload, then its MAC.
    fn value(&self, key: &PinKey) -> String {
        let payload = self.payload();
        let mac = key.console_mac(self.area.cookie(), payload.as_bytes());
        format!("{}.{mac}", URL_SAFE_NO_PAD.encode(payload))
    }

    /// The session of the request's cookie for `area`, if it has a valid,
    /// unexpired one.
    pub fn from_headers(headers: &HeaderMap, area: Area, key: &PinKey) -> Option<ConsoleSession> {
        let value = cookie(headers, area.cookie())?;
        let (encoded, mac) = value.rsplit_once('.')?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
        if !constant_time_eq(&key.console_mac(area.cookie(), payload.as_bytes()), mac) {
            return None;
        }
        let mut fields = payload.split('.');
        let role = role_of_tag(fields.next()?)?;
        let hash = fields.next()?.to_owned();
        let issued_ms: i64 = fields.next()?.parse().ok()?;
        let expires_ms: i64 = fields.next()?.parse().ok()?;
        let nonce = fields.next()?.to_owned();
        if fields.next().is_some() || !area.admits(role) {
            return None;
        }
        let now = now_millis();
        if now >= expires_ms || now >= issued_ms + MAX_AGE.as_millis() as i64 {
            return None;
        }
        Some(ConsoleSession { area, credential: SessionCredential { role, hash }, issued_ms, expires_ms, nonce })
    }

    /// The same session with its idle time restarted, when it is due.
    pub fn renewed(&self) -> Option<ConsoleSession> {
        let now = now_millis();
        let fresh_expiry = (now + IDLE.as_millis() as i64).min(self.issued_ms + MAX_AGE.as_millis() as i64);
        (fresh_expiry - self.expires_ms >= RENEW_AFTER_MS)
            .then(|| ConsoleSession { expires_ms: fresh_expiry, ..self.clone() })
    }

    /// The `Set-Cookie` header that stores this session.
    pub fn set_cookie(&self, key: &PinKey, headers: &HeaderMap) -> HeaderValue {
        let max_age = ((self.expires_ms - now_millis()) / 1000).max(0);
        cookie_header(self.area, &self.value(key), max_age, headers)
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf(&self, key: &PinKey) -> String {
        key.console_mac("csrf", self.nonce.as_bytes())[..32].to_owned()
    }

    pub fn csrf_matches(&self, key: &PinKey, sent: &str) -> bool {
        constant_time_eq(&self.csrf(key), sent)
    }
}

/// The `Set-Cookie` header that ends the session of `area` in this browser.
pub fn clear_cookie(area: Area, headers: &HeaderMap) -> HeaderValue {
    cookie_header(area, "", 0, headers)
}

fn cookie_header(area: Area, value: &str, max_age: i64, request: &HeaderMap) -> HeaderValue {
    let secure = if is_loopback(request) { "" } else { "; Secure" };
    let text = format!(
        "{}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
        area.cookie(),
        area.path()
    );
    // The value is base64url, digits, dots and hex: always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether the browser reached us on a loopback address: there, plain HTTP
/// is how the server is tried out, and a Secure cookie would be refused by
/// some browsers. Anywhere else the console must be served over TLS.
fn is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost" || name == "::1" || name.starts_with("127.")
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PinKey {
        PinKey::from_hex(&"11".repeat(32)).unwrap()
    }

    fn request_with(cookie_value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, format!("other=1; kofu_console={cookie_value}").parse().unwrap());
        headers
    }

    fn session() -> ConsoleSession {
        ConsoleSession::start(Area::Console, SessionCredential::of_token("kofu_mun_abc")).unwrap()
    }

    #[test]
    fn a_session_survives_its_cookie_and_carries_no_token() {
        let s = session();
        let value = s.value(&key());
        assert!(!value.contains("kofu_mun_abc"));
        let back = ConsoleSession::from_headers(&request_with(&value), Area::Console, &key()).unwrap();
        assert_eq!(back.credential.role, Role::Municipality);
        assert_eq!(back.credential.hash, s.credential.hash);
        assert!(back.csrf_matches(&key(), &s.csrf(&key())));
    }

    #[test]
    fn a_changed_cookie_another_key_or_another_area_is_refused() {
        let s = session();
        let value = s.value(&key());
        let other_key = PinKey::from_hex(&"22".repeat(32)).unwrap();
        assert!(ConsoleSession::from_headers(&request_with(&value), Area::Console, &other_key).is_none());
        let (payload, mac) = value.rsplit_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD
            .encode(String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap().replacen("m.", "v.", 1));
        assert!(
            ConsoleSession::from_headers(&request_with(&format!("{forged}.{mac}")), Area::Console, &key()).is_none()
        );
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, format!("kofu_kiosk={value}").parse().unwrap());
        assert!(ConsoleSession::from_headers(&headers, Area::Kiosk, &key()).is_none());
    }

    #[test]
    fn an_expired_session_is_refused() {
        let mut s = session();
        s.expires_ms = now_millis() - 1;
        assert!(ConsoleSession::from_headers(&request_with(&s.value(&key())), Area::Console, &key()).is_none());
        let mut old = session();
        old.issued_ms -= MAX_AGE.as_millis() as i64;
        assert!(ConsoleSession::from_headers(&request_with(&old.value(&key())), Area::Console, &key()).is_none());
    }

    #[test]
    fn csrf_tokens_differ_between_sessions() {
        let (a, b) = (session(), session());
        assert_ne!(a.csrf(&key()), b.csrf(&key()));
        assert!(!a.csrf_matches(&key(), &b.csrf(&key())));
    }

    #[test]
    fn cookies_are_secure_except_on_loopback() {
        let s = session();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "kofu.example.jp".parse().unwrap());
        let text = s.set_cookie(&key(), &headers).to_str().unwrap().to_owned();
        assert!(text.contains("HttpOnly") && text.contains("SameSite=Strict") && text.contains("Secure"));
        assert!(text.contains("Path=/console"));
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(!s.set_cookie(&key(), &headers).to_str().unwrap().contains("Secure"));
    }
}
