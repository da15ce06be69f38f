//! Credentials: random bearer tokens stored as SHA-256 hashes, and the
//! keyed MAC under which card PINs are stored.
//!
//! A 4-digit PIN has 10,000 values, so any unkeyed hash of it — however slow
//! — falls to a brute force in minutes once the database leaks. The MAC key
//! lives outside the database (a key file in the data directory, or
//! `KOFU_PIN_KEY`), so a stolen database alone reveals nothing, and checking
//! a PIN costs a microsecond instead of the tens of milliseconds a password
//! hash would add to every kiosk session. See ARCHITECTURE.md.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use kofu_issue::ArtifactKey;
use kofu_store::{hex, unhex};
use sha2::{Digest, Sha256};

/// A bearer token's role, told by its prefix.
pub const MUNICIPALITY_TOKEN_PREFIX: &str = "kofu_mun_";
pub const KIOSK_TOKEN_PREFIX: &str = "kofu_kiosk_";

/// SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A new random token with a role prefix (160 random bits).
pub fn new_token(prefix: &str) -> Result<String, kofu_store::StoreError> {
    Ok(format!("{prefix}{}", kofu_store::random_id(32)?))
}

/// The key of the PIN MAC.
#[derive(Clone)]
pub struct PinKey(Vec<u8>);

#[derive(Debug, thiserror::Error)]
pub enum PinKeyError {
    #[error(
        "the PIN key must be at least 32 bytes written as hex (64 hex digits); generate one with `openssl rand -hex 32`"
    )]
    Malformed,
    #[error("could not read or create the PIN key file {path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("could not generate a PIN key: {0}")]
    Random(String),
}

impl PinKey {
    pub fn from_hex(text: &str) -> Result<PinKey, PinKeyError> {
        match unhex(text) {
            Some(bytes) if bytes.len() >= 32 => Ok(PinKey(bytes)),
            _ => Err(PinKeyError::Malformed),
        }
    }

    /// Read the key file, creating it (readable by its owner only) on first
    /// start.
    pub fn load_or_create(path: &Path) -> Result<PinKey, PinKeyError> {
        let file_error = |source| PinKeyError::File { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => return PinKey::from_hex(&text),
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(file_error(err)),
            Err(_) => {}
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(file_error)?;
        }
        let key: [u8; 32] = kofu_store::random_bytes().map_err(|e| PinKeyError::Random(e.to_string()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(file_error)?;
        file.write_all(hex(&key).as_bytes()).map_err(file_error)?;
        file.sync_all().map_err(file_error)?;
        Ok(PinKey(key.to_vec()))
    }

    /// The stored form of a card's PIN. The card id is mixed in so that two
    /// cards with the same PIN store different values.
    pub fn mac(&self, card_id: &str, pin: &str) -> String {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(card_id.as_bytes());
        mac.update(b":");
        mac.update(pin.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

impl PinKey {
    /// The key's check value, recorded in the database by the first host to
    /// start (`Store::check_key`) so that a host with another key refuses to
    /// start. A MAC of a fixed text: it reveals nothing about the key, and
    /// no PIN MAC can equal it (those mix in a card id and a colon).
    pub fn check_value(&self) -> String {
        self.tagged_mac(&[b"kofu pin key check v1"], b"")
    }

    /// A MAC for the console: its session cookies and the CSRF tokens of
    /// its forms. `purpose` keeps these apart from each other and from PIN
    /// and artifact MACs.
    pub(crate) fn console_mac(&self, purpose: &str, data: &[u8]) -> String {
        self.tagged_mac(&[b"console", purpose.as_bytes()], data)
    }

    fn tagged_mac(&self, parts: &[&[u8]], data: &[u8]) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        for part in parts {
            mac.update(part);
            mac.update(b"\0");
        }
        mac.update(data);
        hex(&mac.finalize().into_bytes())
    }
}

/// The same key vouches for compiled plugins stored in the database
/// (`kofu_issue`'s plugin cache).
impl ArtifactKey for PinKey {
    fn key_id(&self) -> String {
        self.tagged_mac(&[b"kofu key id v1"], b"")[..16].to_owned()
    }

    /// The `artifact` prefix keeps these MACs apart from PIN MACs.
    fn artifact_mac(&self, hash: &str, slot: &str, artifact: &[u8]) -> String {
        self.tagged_mac(&[b"artifact", hash.as_bytes(), slot.as_bytes()], artifact)
    }
}

/// A PIN is exactly four ASCII digits.
pub fn is_valid_pin(pin: &str) -> bool {
    pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_mac_depends_on_key_card_and_pin() {
        let a = PinKey::from_hex(&"11".repeat(32)).unwrap();
        let b = PinKey::from_hex(&"22".repeat(32)).unwrap();
        assert_eq!(a.mac("C1", "1234"), a.mac("C1", "1234"));
        assert_ne!(a.mac("C1", "1234"), a.mac("C1", "1235"));
        assert_ne!(a.mac("C1", "1234"), a.mac("C2", "1234"));
        assert_ne!(a.mac("C1", "1234"), b.mac("C1", "1234"));
    }

    #[test]
    fn check_values_and_ids_tell_keys_apart() {
        let a = PinKey::from_hex(&"11".repeat(32)).unwrap();
        let b = PinKey::from_hex(&"22".repeat(32)).unwrap();
        assert_eq!(a.check_value(), PinKey::from_hex(&"11".repeat(32)).unwrap().check_value());
        assert_ne!(a.check_value(), b.check_value());
        assert_ne!(a.key_id(), b.key_id());
        assert_eq!(a.key_id().len(), 16);
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets/pin.key");
        let first = PinKey::load_or_create(&path).unwrap();
        let second = PinKey::load_or_create(&path).unwrap();
        assert_eq!(first.mac("C", "0000"), second.mac("C", "0000"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(PinKey::from_hex("abcd").is_err());
    }

    #[test]
    fn pins_are_four_digits() {
        assert!(is_valid_pin("0123"));
        assert!(!is_valid_pin("123"));
        assert!(!is_valid_pin("12345"));
        assert!(!is_valid_pin("12a4"));
        assert!(!is_valid_pin("１２３４"));
    }
}
