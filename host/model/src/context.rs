use serde::{Deserialize, Serialize};

use crate::{ChosenOption, Date};

/// A municipality as printed on its certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Municipality {
    /// 6-digit local government code.
    pub code: String,
    pub name: String,
    pub mayor_title: String,
    pub mayor_name: String,
}

impl Municipality {
    /// The fictional municipality used by local previews and the demo.
    pub fn preview() -> Municipality {
        Municipality {
            code: "999999".into(),
            name: "見本市".into(),
            mayor_title: "見本市長".into(),
            mayor_name: "見本 一郎".into(),
        }
    }
}

/// What the host tells a plugin about one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    pub issue_date: Date,
    pub municipality: Municipality,
    /// Every option of the manifest, resolved to a value.
    pub options: Vec<ChosenOption>,
}
