//! The app registration as Microsoft Graph describes it (`GET /v1.0/applications(appId='…')`, or
//! `az ad app show --id …`, which prints the same Graph object), reduced to the fields consentry
//! checks and writes. See the [`crate::app`] module docs for what each field means.
//!
//! Unknown fields are ignored on purpose: Graph adds fields over time and an export carries dozens
//! consentry does not need. Everything read here is hostile input: sizes are capped before reading
//! and strings only reach a terminal through the report layer's escaping.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The biggest registration export read with `--from`: a real one is a few KiB; 8 MiB leaves room
/// for hundreds of credentials and stops a hostile or mistaken file before it costs memory.
pub const MAX_EXPORT_BYTES: u64 = 8 * 1024 * 1024;

/// An application object, as far as consentry is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The object id (the key for `PATCH /applications/{id}`).
    #[serde(default)]
    pub id: Option<String>,
    /// The application (client) id.
    pub app_id: String,
    /// The display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Who may sign in: `AzureADMultipleOrgs` for a partner app.
    #[serde(default)]
    pub sign_in_audience: Option<String>,
    /// The web platform's settings (redirect URIs).
    #[serde(default)]
    pub web: Option<Web>,
    /// The permissions the app requests: what admin consent can grant.
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
    /// Client secrets (metadata only: Graph never returns a secret's value).
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    /// Certificates.
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    /// Federated identity credentials, when the export carries them (Graph's
    /// `$expand=federatedIdentityCredentials`, or read separately online). `None`: not known.
    #[serde(default)]
    pub federated_identity_credentials: Option<Vec<FederatedCredential>>,
}

/// `web` of an application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Web {
    /// Redirect URIs of the web platform.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// One resource and the permissions requested from it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    /// The resource's application id.
    pub resource_app_id: String,
    /// The permissions.
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

/// One requested permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub struct ResourceAccess {
    /// The app role's or scope's id.
    pub id: uuid::Uuid,
    /// Application permission (`Role`) or delegated permission (`Scope`).
    #[serde(rename = "type")]
    pub kind: AccessKind,
}

/// The kind of a requested permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum AccessKind {
    /// An application permission (app role): what app-only tokens carry.
    Role,
    /// A delegated permission: only used when a user signs in.
    Scope,
}

/// A client secret's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    /// The name given when it was created.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The secret's first characters (Graph: three).
    #[serde(default)]
    pub hint: Option<String>,
    /// The credential's id.
    #[serde(default)]
    pub key_id: Option<String>,
    /// When it stops working.
    #[serde(default)]
    pub end_date_time: Option<DateTime<Utc>>,
}

/// A certificate's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    /// The SHA-1 thumbprint: base64 in Graph's JSON, hex in some CLI output.
    #[serde(default)]
    pub custom_key_identifier: Option<String>,
    /// The name given when it was uploaded.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `AsymmetricX509Cert`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `Verify` for a credential the app signs with.
    #[serde(default)]
    pub usage: Option<String>,
    /// The credential's id.
    #[serde(default)]
    pub key_id: Option<String>,
    /// When it stops working.
    #[serde(default)]
    pub end_date_time: Option<DateTime<Utc>>,
}

impl KeyCredential {
    /// The thumbprint as uppercase hex, whichever way the export wrote it (hex or base64 bytes);
    /// `None` when absent or neither.
    pub fn thumbprint(&self) -> Option<String> {
        self.custom_key_identifier
            .as_deref()
            .and_then(thumbprint_hex)
    }

    /// Whether the app may sign client assertions with it: `usage` `Verify` (an `Encrypt` key is
    /// for token encryption, not sign-in); an export without `usage` is taken as `Verify`.
    pub fn signs_in(&self) -> bool {
        self.usage
            .as_deref()
            .is_none_or(|usage| usage.eq_ignore_ascii_case("Verify"))
    }
}

/// A SHA-1 thumbprint written as hex (with or without `:` separators), as base64 of its 20
/// bytes (Graph's JSON), or as base64 of its hex text (what some tools upload), as uppercase hex.
pub fn thumbprint_hex(text: &str) -> Option<String> {
    let from_hex = |text: &str| {
        let compact: String = text
            .trim()
            .chars()
            .filter(|c| *c != ':' && *c != ' ')
            .collect();
        (compact.len() == 40 && compact.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| compact.to_ascii_uppercase())
    };
    if let Some(hex) = from_hex(text) {
        return Some(hex);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    if bytes.len() == 20 {
        return Some(bytes.iter().map(|b| format!("{b:02X}")).collect());
    }
    std::str::from_utf8(&bytes).ok().and_then(from_hex)
}

/// A federated identity credential.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedCredential {
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// The external issuer (exact).
    pub issuer: String,
    /// The external subject (exact, case-sensitive).
    pub subject: String,
    /// Accepted audiences (`api://AzureADTokenExchange`). `None`: the export leaves them out
    /// (nothing known); `Some([])` accepts no token.
    #[serde(default)]
    pub audiences: Option<Vec<String>>,
}

/// Why a registration export could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The path could not be opened or read.
    #[error("cannot read the registration export {}: {source}", path.display())]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a regular file (a directory, a FIFO, a device).
    #[error("the registration export {} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Bigger than [`MAX_EXPORT_BYTES`].
    #[error("the registration export {} is larger than the {} MiB limit", path.display(), MAX_EXPORT_BYTES / 1024 / 1024)]
    TooLarge {
        /// The path.
        path: PathBuf,
    },
    /// Not an application object.
    #[error(
        "{name} is not an application object as Graph or `az ad app show` returns it: {message}"
    )]
    NotAnApplication {
        /// The file name.
        name: String,
        /// What was wrong (serde's message, with line and column).
        message: String,
    },
}

/// Reads a registration export: a regular file only, its size checked before reading and the read
/// capped anyway (a file can grow while being read).
pub fn read_export(path: &Path) -> Result<Registration, ExportError> {
    let unreadable = |source| ExportError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(ExportError::NotAFile {
            path: path.to_owned(),
        });
    }
    if metadata.len() > MAX_EXPORT_BYTES {
        return Err(ExportError::TooLarge {
            path: path.to_owned(),
        });
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_EXPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_EXPORT_BYTES {
        return Err(ExportError::TooLarge {
            path: path.to_owned(),
        });
    }
    parse(&path.display().to_string(), &bytes)
}

/// Parses an application object, or a Graph list answer (`{"value": [one application]}`, what
/// `$filter=appId eq '…'` returns).
pub fn parse(name: &str, bytes: &[u8]) -> Result<Registration, ExportError> {
    let invalid = |message: String| ExportError::NotAnApplication {
        name: name.to_owned(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let object = match value.get("value") {
        Some(serde_json::Value::Array(items)) => match items.as_slice() {
            [one] => one.clone(),
            [] => return Err(invalid("the list is empty: no application matched".into())),
            _ => {
                return Err(invalid(format!(
                    "the list holds {} applications; export exactly one",
                    items.len()
                )));
            }
        },
        _ => value,
    };
    serde_json::from_value(object).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_compare_as_bytes_whatever_the_encoding() {
        let hex = "5D:A7:1C:7E:0F:51:2D:1B:68:59:19:8D:3A:92:E1:F4:04:B2:A8:1C";
        let base64 = "Xaccfg9RLRtoWRmNOpLh9ASyqBw=";
        assert_eq!(
            thumbprint_hex(hex).as_deref(),
            Some("5DA71C7E0F512D1B6859198D3A92E1F404B2A81C")
        );
        // The same 20 bytes in base64 decode to the same thumbprint.
        assert_eq!(thumbprint_hex(base64), thumbprint_hex(hex));
        assert!(thumbprint_hex("not a thumbprint").is_none());
        assert!(thumbprint_hex("AAAA").is_none(), "3 bytes is not SHA-1");
        // Base64 of the hex text, as some upload tools write it.
        let of_text = base64::engine::general_purpose::STANDARD
            .encode("5da71c7e0f512d1b6859198d3a92e1f404b2a81c");
        assert_eq!(thumbprint_hex(&of_text), thumbprint_hex(hex));
    }

    #[test]
    fn a_filter_answer_with_one_application_is_accepted() {
        let one = br#"{"value": [{"appId": "x", "requiredResourceAccess": []}]}"#;
        assert_eq!(parse("f", one).unwrap().app_id, "x");
        let none = br#"{"value": []}"#;
        assert!(matches!(
            parse("f", none),
            Err(ExportError::NotAnApplication { .. })
        ));
        let wrong_kind = br#"{"appId": "x", "requiredResourceAccess": [{"resourceAppId": "r", "resourceAccess": [{"id": "7734e8e5-8dde-42fc-b5ae-6eafea078693", "type": "Other"}]}]}"#;
        assert!(parse("f", wrong_kind).is_err());
    }
}
