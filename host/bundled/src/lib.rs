//! The certificate plugins that ship with kofu, as compiled components.
//! Their sources are in `plugins/`; `build.rs` compiles them.

/// A bundled plugin component.
#[derive(Debug, Clone, Copy)]
pub struct BundledPlugin {
    /// Short name, e.g. `residence`.
    pub name: &'static str,
    /// The component's bytes.
    pub component: &'static [u8],
}

/// 住民票の写し (kind `residence-certificate`).
pub const RESIDENCE: BundledPlugin =
    BundledPlugin { name: "residence", component: include_bytes!(env!("KOFU_BUNDLED_RESIDENCE")) };

/// 印鑑登録証明書 (kind `seal-registration-certificate`).
pub const SEAL: BundledPlugin = BundledPlugin { name: "seal", component: include_bytes!(env!("KOFU_BUNDLED_SEAL")) };

/// 納税証明書 (kind `tax-certificate`).
pub const TAX: BundledPlugin = BundledPlugin { name: "tax", component: include_bytes!(env!("KOFU_BUNDLED_TAX")) };

/// Every bundled plugin.
pub const ALL: [BundledPlugin; 3] = [RESIDENCE, SEAL, TAX];
