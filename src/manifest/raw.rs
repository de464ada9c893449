//! The manifest as written: every field optional and located, so validation can report all that is
//! missing or wrong at once. The doc comments here are the JSON Schema's descriptions
//! (`consentry schema`, `manifests/schema.json`); `#[schemars(required)]` marks what the format
//! requires even though the type tolerates its absence.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::tree::Span;
use crate::cloud::Cloud;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Located<T> {
    /// Pairs a value with its place.
    pub fn new(value: T, span: Span) -> Self {
        Located { value, span }
    }
}

// A location is not part of the format: the schema of `Located<T>` is the schema of `T`.
impl<T: JsonSchema> JsonSchema for Located<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A YAML mapping from names to `V`, in source order (key order matters for reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<V>(pub Vec<(Located<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<V: JsonSchema> JsonSchema for Entries<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Entries_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let values = generator.subschema_for::<V>();
        json_schema!({
            "type": "object",
            "additionalProperties": values,
        })
    }
}

/// A consentry manifest: the multi-tenant app, the API permissions it needs, and the customer
/// tenants that must grant them. `consentry validate` checks it; `consentry plan` turns it into
/// admin-consent links.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "consentry manifest")]
pub struct Manifest {
    /// Manifest format version. Only `1` exists.
    #[schemars(required, extend("const" = 1))]
    pub version: Option<Located<u64>>,
    /// The multi-tenant app registration (in the partner's home tenant) every customer consents to.
    #[schemars(required)]
    pub app: Option<Located<App>>,
    /// The Microsoft cloud of the app and all its tenants. Default: `global`.
    pub cloud: Option<Located<Cloud>>,
    /// What the app needs, per API, in every tenant. Keys are catalog aliases (`consentry roles`
    /// lists them with their application permissions); an API outside the catalog gives its
    /// `resource`.
    pub apis: Option<Located<Entries<ApiSpec>>>,
    /// The customer tenants that must grant the app its permissions.
    #[schemars(required)]
    pub tenants: Option<Located<Vec<Located<Tenant>>>>,
}

/// The app registration.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Display name, used in reports.
    #[schemars(required)]
    pub name: Option<Located<String>>,
    /// Application (client) ID of the multi-tenant app registration: a GUID.
    #[schemars(
        required,
        extend("pattern" = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub client_id: Option<Located<String>>,
    /// Where a customer's admin lands after consenting: an https URL (http only for localhost)
    /// registered on the app, byte for byte.
    #[schemars(required)]
    pub redirect_uri: Option<Located<String>>,
    /// How the app proves who it is. The secret itself never goes in the manifest. Default: a
    /// client secret from the environment variable `CONSENTRY_CLIENT_SECRET`.
    pub credential: Option<Located<Credential>>,
    /// The partner's home tenant, where the app is registered: its tenant ID (a GUID) or a
    /// verified domain. Needed only by `consentry app` and `verify --app`, which read the
    /// registration there through Microsoft Graph.
    pub home_tenant: Option<Located<String>>,
}

/// The app's credential: exactly one kind. The secret, key or token itself never goes here.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Credential {
    /// A client secret, read at run time from where this names (never written here).
    ClientSecret(Located<SecretSource>),
    /// A certificate: its private key signs a short-lived client assertion for every token
    /// request. The certificate (public part) must be uploaded to the app registration.
    Certificate(Located<CertificateSpec>),
    /// Workload identity federation: a token from another identity provider that the app
    /// registration trusts through a federated identity credential. No secret anywhere.
    Federated(Located<FederatedSource>),
}

/// Where the certificate and its private key are read from: exactly one of `file` or `env`.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["file"]}, {"required": ["env"]}]))]
pub struct CertificateSpec {
    /// A PEM file holding the private key (PKCS#8, PKCS#1 or encrypted PKCS#8) and its
    /// certificate, or a PFX/.p12 bundle; a relative path is relative to the manifest's folder.
    pub file: Option<Located<String>>,
    /// The name of an environment variable holding the PEM text or the PFX in base64.
    pub env: Option<Located<String>>,
    /// Where the password of an encrypted key or PFX is read from (never the password itself).
    pub password: Option<Located<SecretSource>>,
    /// How client assertions are signed. Default: `ps256`.
    pub signing: Option<Located<Signing>>,
}

/// A client assertion's signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Signing {
    /// RSASSA-PSS with SHA-256 and the `x5t#S256` header: the current documented form.
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and the SHA-1 `x5t` header: older, still accepted.
    Rs256,
}

/// Where the external token comes from: exactly one source.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FederatedSource {
    /// GitHub Actions OIDC: the job needs `permissions: id-token: write`. Write `github: {}`.
    Github(Located<NoOptions>),
    /// Azure workload identity on Kubernetes: the file named by `AZURE_FEDERATED_TOKEN_FILE`.
    /// Write `kubernetes: {}`.
    Kubernetes(Located<NoOptions>),
    /// A file holding the token, re-read for every exchange; relative to the manifest's folder.
    File(Located<String>),
    /// The name of an environment variable holding the token.
    Env(Located<String>),
}

/// An empty mapping: the source takes no options (yet).
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// Where a secret is read from at run time.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretSource {
    /// The name of an environment variable holding the secret.
    Env(Located<String>),
    /// A file holding the secret (a trailing newline is ignored); a relative path is relative to
    /// the manifest's folder.
    File(Located<String>),
}

/// What the app needs from one API.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    /// Only for an API outside the built-in catalog: its resource URI (`api://…`, `https://…`) or
    /// application id (GUID). Catalog APIs get theirs from the catalog, per cloud.
    pub resource: Option<Located<String>>,
    /// Application permissions (app roles), exactly as they appear in a token's `roles` claim,
    /// e.g. `Incident.Read.All`. In a tenant's `apis`, an empty list means the tenant does not need
    /// this API.
    #[schemars(required)]
    pub roles: Option<Located<Vec<Located<String>>>>,
}

/// One customer tenant.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// The partner's name for the customer; unique in the manifest (case-insensitive).
    #[schemars(required)]
    pub name: Option<Located<String>>,
    /// The tenant ID (a GUID) or one of its verified domains (`fabrikam.onmicrosoft.com`). Not
    /// `common`, `organizations` or `consumers`: client credentials need a real tenant.
    #[schemars(required)]
    pub id: Option<Located<String>>,
    /// Free-form labels for filtering and reports (`emea`, `tier-1`).
    pub labels: Option<Located<Vec<Located<String>>>>,
    /// Per-tenant needs: for each API named here, these roles replace the app-wide ones for this
    /// tenant.
    pub apis: Option<Located<Entries<ApiSpec>>>,
}
