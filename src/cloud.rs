//! National clouds: which login host a manifest's `cloud` means (reference §2).
//!
//! Resource URIs per cloud live in the catalog; this module only knows the authorities.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Microsoft cloud the app and its customer tenants live in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Commercial cloud (login.microsoftonline.com).
    #[default]
    Global,
    /// US Government Community Cloud: commercial login host, GCC Defender endpoints.
    Gcc,
    /// US Government GCC High (login.microsoftonline.us).
    GccHigh,
    /// US Department of Defense (login.microsoftonline.us).
    Dod,
    /// Azure China operated by 21Vianet (login.partner.microsoftonline.cn).
    China,
}

impl Cloud {
    /// Every cloud, in documentation order.
    pub const ALL: [Cloud; 5] = [
        Cloud::Global,
        Cloud::Gcc,
        Cloud::GccHigh,
        Cloud::Dod,
        Cloud::China,
    ];

    /// The manifest spelling (`gcc-high`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcc-high",
            Cloud::Dod => "dod",
            Cloud::China => "china",
        }
    }

    /// The login (authority) host, without a trailing slash. GCC uses the global host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global | Cloud::Gcc => "https://login.microsoftonline.com",
            Cloud::GccHigh | Cloud::Dod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.partner.microsoftonline.cn",
        }
    }
}

impl std::fmt::Display for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
