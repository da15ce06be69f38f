//! `kofu serve --demo`: a demo municipality (見本市, code 999999) with the
//! three bundled plugins active, fictional residents (households, a
//! moved-out resident, a deceased one, a cancelled seal, an unpaid tax year,
//! a DV-restricted record), one kiosk, and the credentials to use them in
//! `demo-credentials.json` in the data directory. Running it again on the
//! same data directory reuses what is there.

use std::path::{Path, PathBuf};

use kofu_model::{Municipality, Resident};
use kofu_store::{ActivationBy, Actor, RegisterImport, now_millis, random_bytes, random_id};
use serde::{Deserialize, Serialize};

use crate::secrets::{KIOSK_TOKEN_PREFIX, MUNICIPALITY_TOKEN_PREFIX, new_token, token_hash};
use crate::serve::StartError;
use crate::state::AppState;
use kofu_config::Config;

pub const CREDENTIALS_FILE: &str = "demo-credentials.json";

macro_rules! fixture {
    ($stem:literal, $note:literal) => {
        (
            $stem,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/residents/", $stem, ".json")),
            $note,
        )
    };
}

/// The demo residents who get cards: (fixture, JSON, what to try).
const RESIDENTS: [(&str, &str, &str); 9] = [
    fixture!("yamada-taro", "household of 4; every certificate issues"),
    fixture!("sato-makoto", "household of 11: a multi-page residence certificate"),
    fixture!("suzuki-yoko", "fiscal year 2025 tax unpaid: the tax certificate for 2025 is refused"),
    fixture!("ito-misaki", "seal registration cancelled: the seal certificate is refused"),
    fixture!("takahashi-jiro", "moved out: everything is refused"),
    fixture!("watanabe-shigeru", "deceased: everything is refused"),
    fixture!("kobayashi-yui", "DV-protection restriction: everything is refused"),
    fixture!("nakamura-kenta", "no seal registered: the seal certificate is refused"),
    fixture!("kimura-aoi", "a household member moved out"),
];

#[derive(Serialize, Deserialize)]
pub struct DemoCredentials {
    pub base_url: String,
    /// The vendor operator's token.
    pub admin_token: String,
    pub municipality: DemoMunicipality,
    pub kiosk: DemoKiosk,
    pub residents: Vec<DemoResident>,
    /// Test residents, for plugin dry-runs.
    pub test_residents: Vec<String>,
}

#[derive(Serialize, Deserialize)]
pub struct DemoMunicipality {
    pub code: String,
    pub name: String,
    pub token: String,
}

#[derive(Serialize, Deserialize)]
pub struct DemoKiosk {
    pub id: String,
    pub token: String,
}

#[derive(Serialize, Deserialize)]
pub struct DemoResident {
    pub resident_id: String,
    pub name: String,
    pub card_id: String,
    pub pin: String,
    pub note: String,
}

fn demo_error(e: impl std::fmt::Display) -> StartError {
    StartError::Demo(e.to_string())
}

pub fn credentials_path(config: &Config) -> PathBuf {
    config.data_dir.join(CREDENTIALS_FILE)
}

/// Before start: make sure the vendor token the demo hands out is the one
/// the server accepts (the configured one, the one of an earlier demo run,
/// or a new one). Returns it.
pub fn prepare_config(config: &mut Config) -> Result<String, StartError> {
    if let Some(token) = &config.admin_token {
        return Ok(token.clone());
    }
    let token = match read_credentials(&credentials_path(config))? {
        Some(existing) => existing.admin_token,
        None => random_id(32).map_err(demo_error)?,
    };
    config.admin_token = Some(token.clone());
    Ok(token)
}

fn read_credentials(path: &Path) -> Result<Option<DemoCredentials>, StartError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            StartError::Demo(format!(
                "{} is not readable ({e}); remove it and the data directory to start over",
                path.display()
            ))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(demo_error(err)),
    }
}

/// After start: create the demo data unless it exists. Returns the path of
/// the credentials file.
pub async fn seed(state: &AppState, admin_token: &str, base_url: &str) -> Result<PathBuf, StartError> {
    let config = state.config();
    let path = credentials_path(config);
    let municipality = Municipality::preview();
    let exists = state.store().municipality(&municipality.code).await?.is_some();
    match (exists, path.exists()) {
        (true, true) => return Ok(path),
        (true, false) => {
            return Err(StartError::Demo(format!(
                "the data directory {} holds demo data but no {CREDENTIALS_FILE}; remove the directory to start over",
                config.data_dir.display()
            )));
        }
        _ => {}
    }
    let now = now_millis();
    state.store().create_municipality(&municipality, now).await?;
    // The vendor sets the demo up; its bundled plugins are activated as
    // shipped (each passes its dry-run in the bundled suite).
    let actor = Actor::Vendor;
    for bundled in kofu_bundled::ALL {
        let (_, info) = state
            .issuer()
            .store_plugin(&municipality.code, &actor, bundled.component.to_vec())
            .await
            .map_err(|e| StartError::Demo(format!("bundled plugin {}: {e}", bundled.name)))?;
        let activation =
            ActivationBy { by: &actor, action: "demo", fee_yen: None, data: serde_json::json!({}), detail: None };
        state.store().activate_plugin(&municipality.code, &info.hash, &activation, now).await?;
    }

    let mut entries = Vec::new();
    let mut people = Vec::new();
    for (index, (stem, json, note)) in RESIDENTS.iter().enumerate() {
        let fixture = Resident::from_json(json).map_err(|e| StartError::Demo(format!("fixture {stem}: {e}")))?;
        let id = format!("R-{:04}", index + 1);
        entries.extend(kofu_register::entries_from_fixture(&id, &format!("H-{:04}", index + 1), &fixture, false));
        people.push((id, fixture.name.clone(), *note));
    }
    let yamada = Resident::from_json(RESIDENTS[0].1).map_err(demo_error)?;
    let test_id = "TEST-0001".to_owned();
    entries.extend(kofu_register::entries_from_fixture(&test_id, "TEST-H-0001", &yamada, true));
    let import = RegisterImport { by: &actor, file_digest: "demo fixtures", format: "demo" };
    state.issuer().import_residents(&municipality.code, &entries, &import).await?;

    let mut residents = Vec::new();
    for (resident_id, name, note) in people {
        let card_id = random_id(16).map_err(demo_error)?;
        let digits: [u8; 4] = random_bytes().map_err(demo_error)?;
        let pin: String = digits.iter().map(|d| char::from(b'0' + d % 10)).collect();
        let mac = state.pin_key().mac(&card_id, &pin);
        state.store().create_card(&card_id, &municipality.code, &resident_id, &mac, &actor, now).await?;
        residents.push(DemoResident { resident_id, name, card_id, pin, note: note.to_string() });
    }

    let municipality_token = new_token(MUNICIPALITY_TOKEN_PREFIX).map_err(demo_error)?;
    let token_id = random_id(16).map_err(demo_error)?;
    state
        .store()
        .create_municipality_token(&token_id, &municipality.code, &token_hash(&municipality_token), "demo", &actor, now)
        .await?;
    let kiosk_token = new_token(KIOSK_TOKEN_PREFIX).map_err(demo_error)?;
    let kiosk_id = random_id(16).map_err(demo_error)?;
    state.store().create_kiosk(&kiosk_id, "demo store terminal", &token_hash(&kiosk_token), now).await?;

    let credentials = DemoCredentials {
        base_url: base_url.to_owned(),
        admin_token: admin_token.to_owned(),
        municipality: DemoMunicipality { code: municipality.code, name: municipality.name, token: municipality_token },
        kiosk: DemoKiosk { id: kiosk_id, token: kiosk_token },
        residents,
        test_residents: vec![test_id],
    };
    let text = serde_json::to_string_pretty(&credentials).map_err(demo_error)?;
    write_private(&path, &text).map_err(demo_error)?;
    Ok(path)
}

/// Write a file readable by its owner only: it holds live credentials.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
