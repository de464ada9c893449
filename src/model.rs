//! The validated manifest: what `validate` produces and `plan` / `verify` consume.
//!
//! The raw YAML types (`manifest::raw`) keep locations and accept anything YAML can say; these types
//! only exist once every check passed, so later stages never re-check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::cloud::Cloud;

/// A manifest that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The app registration every tenant must consent to.
    pub app: App,
    /// The cloud of the app and its tenants.
    pub cloud: Cloud,
    /// Every API the manifest names (app-wide first, in manifest order; then APIs only some tenants
    /// name, in order of first mention).
    pub apis: Vec<Api>,
    /// The customer tenants, in manifest order.
    pub tenants: Vec<Tenant>,
}

impl Manifest {
    /// The API with this manifest key.
    pub fn api(&self, key: &str) -> Option<&Api> {
        self.apis.iter().find(|a| a.key == key)
    }
}

/// The multi-tenant app registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Display name, for reports.
    pub name: String,
    /// Application (client) id. Displayed (and sent) lowercase, hyphenated.
    pub client_id: uuid::Uuid,
    /// The redirect URI exactly as written (it must match the registration byte for byte).
    pub redirect_uri: String,
    /// Where the app's credential comes from.
    pub credential: Credential,
    /// The partner's home tenant, where the registration lives (read through Graph by
    /// `consentry app`); `None` when the manifest does not say.
    pub home_tenant: Option<TenantId>,
}

/// How the app proves who it is. `crate::credential` documents what each kind sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A client secret, read from the named source at run time.
    ClientSecret(SecretSource),
    /// A certificate whose private key signs a client assertion for every token request.
    Certificate(CertificateSpec),
    /// A token from another identity provider the app registration trusts (workload identity
    /// federation), sent as the client assertion.
    Federated(FederatedSource),
}

/// Where a certificate and its private key come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSpec {
    /// The PEM (private key and certificate, leaf first) or PFX/.p12 file; or an environment
    /// variable holding the PEM text or the PFX in base64.
    pub source: SecretSource,
    /// The password of an encrypted PEM key or a PFX, when it has one.
    pub password: Option<SecretSource>,
    /// How assertions are signed.
    pub signing: Signing,
}

/// The client assertion's signature algorithm and the thumbprint header that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signing {
    /// RSASSA-PSS with SHA-256, header `x5t#S256` (the current documented form).
    #[default]
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, header `x5t` (SHA-1; older, still accepted).
    Rs256,
}

impl Signing {
    /// The JOSE `alg`.
    pub fn alg(self) -> &'static str {
        match self {
            Signing::Ps256 => "PS256",
            Signing::Rs256 => "RS256",
        }
    }
}

/// Where a federated (external) token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederatedSource {
    /// GitHub Actions' OIDC token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`).
    Github,
    /// The projected service-account token named by `AZURE_FEDERATED_TOKEN_FILE`, re-read for
    /// every exchange (it rotates).
    Kubernetes,
    /// A file holding the token, re-read for every exchange.
    File(PathBuf),
    /// An environment variable holding the token.
    Env(String),
}

/// Where a secret is read from. The manifest never holds the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (trailing newline trimmed), relative paths resolved against the manifest's folder.
    File(PathBuf),
}

/// The environment variable used when the manifest names no credential.
pub const DEFAULT_SECRET_ENV: &str = "CONSENTRY_CLIENT_SECRET";

impl Default for Credential {
    fn default() -> Self {
        Credential::ClientSecret(SecretSource::Env(DEFAULT_SECRET_ENV.to_owned()))
    }
}

/// One resource API and the roles the app needs from it app-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// The manifest key: a catalog alias (`microsoft-365-defender`) or a custom name.
    pub key: String,
    /// The resource URI to request for this manifest's cloud (the token's `aud`).
    pub resource: String,
    /// The resource's app id, when known (catalog APIs); tokens may carry it as `aud`.
    pub resource_app_id: Option<String>,
    /// Display name for reports (the catalog's, or the key for custom APIs).
    pub display_name: String,
    /// Whether the API comes from the built-in catalog (its roles were checked against it).
    pub in_catalog: bool,
    /// Roles required app-wide (empty when only some tenants need this API).
    pub roles: BTreeSet<String>,
}

/// How a tenant is named in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TenantId {
    /// A tenant GUID.
    Guid(uuid::Uuid),
    /// A verified domain (`fabrikam.onmicrosoft.com`), lowercase.
    Domain(String),
}

impl TenantId {
    /// The id as it goes into URLs: the GUID lowercase and hyphenated, or the domain.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            TenantId::Guid(g) => std::borrow::Cow::Owned(g.to_string()),
            TenantId::Domain(s) => std::borrow::Cow::Borrowed(s),
        }
    }

    /// The GUID, when the manifest gave one.
    pub fn guid(&self) -> Option<uuid::Uuid> {
        match self {
            TenantId::Guid(g) => Some(*g),
            TenantId::Domain(_) => None,
        }
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TenantId::Guid(g) => write!(f, "{g}"),
            TenantId::Domain(s) => f.write_str(s),
        }
    }
}

/// One customer tenant and what it must grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The partner's name for the customer.
    pub name: String,
    /// The tenant GUID or verified domain.
    pub id: TenantId,
    /// Free-form labels (`emea`, `tier-1`), in manifest order.
    pub labels: Vec<String>,
    /// Required roles per API key, after per-tenant overrides. APIs with no required role are absent.
    pub required: BTreeMap<String, BTreeSet<String>>,
}

impl Tenant {
    /// Whether `needle` names this tenant: its name, or its id (case-insensitive).
    pub fn matches(&self, needle: &str) -> bool {
        self.name.eq_ignore_ascii_case(needle) || self.id.as_str().eq_ignore_ascii_case(needle)
    }
}
