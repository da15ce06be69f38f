//! The plugin catalog: the certificate plugins that ship with the host,
//! which any municipality installs without a toolchain (an upload of the
//! catalog's bytes, audited like any other).

use axum::Json;
use axum::extract::State;
use kofu_issue::IssueError;
use kofu_sandbox::ContentHash;
use serde::Serialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// One bundled plugin, as its manifest describes it.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogEntry {
    /// What to install it by: `{"catalog": name}`.
    pub name: String,
    pub kind: String,
    pub version: String,
    /// The component's content hash: what it is stored and activated as.
    pub hash: String,
    pub name_ja: String,
    pub name_en: String,
    /// The default fee; a municipality sets its own at activation.
    pub fee_yen: u32,
    pub reads: Value,
    pub options: Value,
    pub size: usize,
}

/// The bundled plugin called `name`, if there is one.
pub fn bundled(name: &str) -> Option<kofu_bundled::BundledPlugin> {
    kofu_bundled::ALL.into_iter().find(|p| p.name == name)
}

/// The names a request may use, for an error that lists them.
pub fn names() -> String {
    kofu_bundled::ALL.iter().map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", ")
}

async fn entries(state: &AppState) -> Result<&[CatalogEntry], IssueError> {
    let listed = state
        .catalog()
        .get_or_try_init(|| async {
            let mut entries = Vec::new();
            for plugin in kofu_bundled::ALL {
                let manifest = state.issuer().inspect_plugin(plugin.component.to_vec()).await?;
                entries.push(CatalogEntry {
                    name: plugin.name.to_owned(),
                    hash: ContentHash::of(plugin.component).to_hex(),
                    reads: serde_json::to_value(&manifest.reads).unwrap_or(Value::Null),
                    options: serde_json::to_value(&manifest.options).unwrap_or(Value::Null),
                    kind: manifest.kind,
                    version: manifest.version,
                    name_ja: manifest.name_ja,
                    name_en: manifest.name_en,
                    fee_yen: manifest.fee_yen,
                    size: plugin.component.len(),
                });
            }
            Ok::<_, IssueError>(entries)
        })
        .await?;
    Ok(listed)
}

/// `GET /v1/catalog`: for the vendor and every municipality.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<CatalogEntry>>, ApiError> {
    match caller {
        Caller::Vendor | Caller::Municipality { .. } => {}
        Caller::Anonymous => return Err(ApiError::Unauthorized),
        Caller::Kiosk { .. } => {
            return Err(ApiError::Forbidden("the catalog is for the vendor and municipalities".into()));
        }
    }
    Ok(Json(entries(&state).await?.to_vec()))
}
