//! The sandbox's scenario file: which tenants exist, what each granted, and how each one fails.
//!
//! It drives the stand-in identity platform that tests, the demo and CI rehearsals talk to. Loading
//! checks it whole (every problem reported at once) so the server never meets a half-valid scenario.
//!
//! ```yaml
//! app:
//!   client_id: 5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890   # any other client_id: AADSTS700016
//!   name: Bluefin MDR Connector                       # quoted by AADSTS7000112
//!   secret_env: CONSENTRY_CLIENT_SECRET               # the secret the sandbox accepts
//!   certificates: []                                  # keyCredentials: public certificates, PEM:
//!                                                     # - file: app.pem (relative to the scenario)
//!                                                     # - pem: "-----BEGIN CERTIFICATE-----…"
//!   federated_credentials:                            # at most 20; matched exactly, case-sensitive
//!     - name: github-main
//!       issuer: sandbox                               # the sandbox's own issuer ({base}/_github)
//!       subject: repo:contoso/soc-connector:ref:refs/heads/main
//!       audiences: [api://AzureADTokenExchange]        # the default
//! github_actions:                                     # the sandbox plays GitHub's OIDC issuer
//!   repository: contoso/soc-connector                 # sub = repo:{repository}:ref:{ref}
//!   ref: refs/heads/main                              # (or set subject: to any string)
//!   request_token_env: ACTIONS_ID_TOKEN_REQUEST_TOKEN # bearer it accepts (default: a fresh one)
//! token_lifetime: 3599                   # a fixed expires_in; default: random 3599–5399, as Entra
//! signature: rs256                                    # or placeholder (benchmarks)
//! tenants:
//!   - name: Fabrikam                                  # the directory name in AADSTS messages
//!     id: 7b500f41-1b86-42be-b006-bffbd7a67b9f        # the token's tid
//!     domains: [fabrikam.onmicrosoft.com]
//!     grants:                               # roles per resource URI (any alias, or the app id)
//!       https://api.security.microsoft.com: [Incident.Read.All]
//!     missing_resources: [https://api.securitycenter.microsoft.com]   # AADSTS500011
//!     aud: resource                                   # or app_id
//!     latency_ms: 0
//!     grants_later: { after: 3, grants: { https://api.security.microsoft.com: [Incident.Read.All, Alert.Read.All] } }
//!                                 # from the 4th token request per resource: a grant reaching tokens
//!     throttle: { times: 2, retry_after: 60, body: json }   # or body: text
//!     transient: { times: 1, status: 503 }
//!     failure: not_consented      # disabled | hang | not_json | { aadsts: { code: 53003 } }
//!     lie: other_tid              # other_aud | other_appid | expired
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SandboxError;
use crate::catalog;
use crate::model::DEFAULT_SECRET_ENV;

/// What Entra sends as `Retry-After` when it throttles client-credentials requests.
const DEFAULT_RETRY_AFTER: u64 = 60;

/// A sandbox scenario: the app the sandbox knows and the customer tenants it simulates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The multi-tenant app registration whose tokens the sandbox issues.
    pub app: ScenarioApp,
    /// A fixed `expires_in` for issued tokens, in seconds. Absent: random between 3599 and 5399
    /// per token, as Entra's 60–90 minutes.
    #[serde(default)]
    pub token_lifetime: Option<u64>,
    /// How tokens are signed (default `rs256`, verifiable against the served JWKS).
    #[serde(default)]
    pub signature: Signature,
    /// The customer tenants. A tenant not listed here does not exist (AADSTS90002).
    #[serde(default)]
    pub tenants: Vec<ScenarioTenant>,
    /// The GitHub Actions OIDC issuer the sandbox plays under `{base}/_github` (absent: not served).
    #[serde(default)]
    pub github_actions: Option<GithubActions>,
    /// The partner's home tenant in Microsoft Graph: its app registration (`consentry app`).
    #[serde(default)]
    pub graph: Option<super::graph::ScenarioGraph>,
}

/// The app registration, as the sandbox knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioApp {
    /// Application (client) id; any other `client_id` gets AADSTS700016.
    pub client_id: String,
    /// Display name, used in messages such as AADSTS7000112 ("Application '…'(name) is disabled").
    #[serde(default)]
    pub name: Option<String>,
    /// Environment variable holding the client secret the sandbox accepts
    /// (default `CONSENTRY_CLIENT_SECRET`, the manifest's default too).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Certificates registered on the app (its `keyCredentials`): client assertions signed by their
    /// keys are accepted (reference §6).
    #[serde(default)]
    pub certificates: Vec<RegisteredCertificate>,
    /// Federated identity credentials: external tokens they match are accepted (reference §6).
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
}

/// A certificate registered on the app: its public part only, as PEM. A PEM that also holds the
/// private key is accepted; only the first `CERTIFICATE` block is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredCertificate {
    /// A PEM file, relative to the scenario file (to the working directory for an in-memory one).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The PEM text itself.
    #[serde(default)]
    pub pem: Option<String>,
}

impl RegisteredCertificate {
    /// A certificate given as PEM text.
    pub fn from_pem(pem: impl Into<String>) -> RegisteredCertificate {
        RegisteredCertificate {
            file: None,
            pem: Some(pem.into()),
        }
    }
}

/// A federated identity credential (FIC) on the app. Every field is compared exactly and
/// case-sensitively, as Entra does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederatedCredential {
    /// The credential's name (unique on the app).
    pub name: String,
    /// The issuer URL, or `sandbox` for the sandbox's own GitHub-style issuer (`{base}/_github`,
    /// whose port is only known once the sandbox listens).
    pub issuer: String,
    /// The subject, e.g. `repo:contoso/soc-connector:ref:refs/heads/main`.
    pub subject: String,
    /// Accepted audiences (default `[api://AzureADTokenExchange]`).
    #[serde(default = "default_audiences")]
    pub audiences: Vec<String>,
}

impl FederatedCredential {
    /// A credential trusting the sandbox's own issuer for `subject`, with the default audience.
    pub fn sandbox_github(
        name: impl Into<String>,
        subject: impl Into<String>,
    ) -> FederatedCredential {
        FederatedCredential {
            name: name.into(),
            issuer: SANDBOX_ISSUER.to_owned(),
            subject: subject.into(),
            audiences: default_audiences(),
        }
    }
}

/// The GitHub Actions OIDC issuer the sandbox plays: the endpoint standing in for
/// `ACTIONS_ID_TOKEN_REQUEST_URL`, discovery and JWKS, all under `{base}/_github`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubActions {
    /// `ORG/REPO` of the simulated workflow (`repository` claim).
    pub repository: String,
    /// The git ref (`ref` claim), default `refs/heads/main`.
    #[serde(default = "default_ref", rename = "ref")]
    pub git_ref: String,
    /// The token's `sub` (default `repo:{repository}:ref:{ref}`); set it to rehearse environment,
    /// pull-request or immutable (`repo:OWNER@ID/REPO@ID:…`) subjects.
    #[serde(default)]
    pub subject: Option<String>,
    /// Environment variable holding the bearer token the request endpoint accepts (the stand-in
    /// for `ACTIONS_ID_TOKEN_REQUEST_TOKEN`). Absent: a fresh random one, given by
    /// `Sandbox::github_actions_env`.
    #[serde(default)]
    pub request_token_env: Option<String>,
}

impl GithubActions {
    /// Settings for `repository` on `refs/heads/main`, with a fresh request token.
    pub fn new(repository: impl Into<String>) -> GithubActions {
        GithubActions {
            repository: repository.into(),
            git_ref: default_ref(),
            subject: None,
            request_token_env: None,
        }
    }

    /// The `sub` claim of issued tokens.
    pub fn subject(&self) -> String {
        self.subject
            .clone()
            .unwrap_or_else(|| format!("repo:{}:{}", self.repository, self.subject_ref()))
    }

    /// `ref:refs/heads/main` (GitHub's form for branches and tags alike).
    fn subject_ref(&self) -> String {
        format!("ref:{}", self.git_ref)
    }
}

/// One simulated customer tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioTenant {
    /// Directory display name, quoted in AADSTS messages ("…not found in the directory 'Fabrikam'").
    pub name: String,
    /// The tenant GUID: the `tid` of every token issued for this tenant.
    pub id: String,
    /// Verified domains that also name this tenant in token URLs (`fabrikam.onmicrosoft.com`).
    #[serde(default)]
    pub domains: Vec<String>,
    /// Roles granted per resource. Keys are resource URIs (`https://api.security.microsoft.com`);
    /// a catalog resource also matches its other names (`https://api.securitycenter.windows.com`),
    /// its app id and a trailing `/`. A known resource that is not
    /// listed still gets a token, without a `roles` claim (consented, nothing granted).
    #[serde(default)]
    pub grants: BTreeMap<String, Vec<String>>,
    /// Grants that replace `grants` once this many token requests (per resource) were answered:
    /// an admin's new consent reaching tokens minutes later (`verify --wait`).
    #[serde(default)]
    pub grants_later: Option<GrantsLater>,
    /// Resources with no service principal in this tenant: requesting them gets AADSTS500011.
    #[serde(default)]
    pub missing_resources: Vec<String>,
    /// Which form of the resource the token's `aud` carries.
    #[serde(default)]
    pub aud: AudForm,
    /// Added latency for every token request to this tenant, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer the first N token requests (per resource) with HTTP 429.
    #[serde(default)]
    pub throttle: Option<Throttle>,
    /// After any throttling, answer the next N token requests (per resource) with a 5xx.
    #[serde(default)]
    pub transient: Option<Transient>,
    /// How every token request to this tenant fails (after the request itself was checked).
    #[serde(default)]
    pub failure: Option<Failure>,
    /// Issue tokens that lie about one claim (they must be reported `invalid_token`).
    #[serde(default)]
    pub lie: Option<Lie>,
}

/// Grants that take effect after a number of token requests (see [`ScenarioTenant::grants_later`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsLater {
    /// Token requests (per resource, throttled ones included) answered with `grants` first.
    pub after: u32,
    /// The roles granted from then on, per resource, as `grants`.
    pub grants: BTreeMap<String, Vec<String>>,
}

/// How the sandbox signs tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    /// RS256 with the sandbox's RSA-2048 key, as Entra does.
    #[default]
    Rs256,
    /// 256 random bytes where the signature goes, header unchanged. For benchmarks only: RSA
    /// signing costs Entra's servers, not the client, yet on one machine the sandbox's ~0.6 ms of
    /// CPU per token would be charged to the client being measured. Clients that only decode
    /// tokens (consentry's default) cannot tell the difference.
    Placeholder,
}

/// The form of the resource in a token's `aud` claim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudForm {
    /// The resource URI exactly as requested.
    #[default]
    Resource,
    /// The resource's app id GUID (some v1 tokens carry this); falls back to the URI for resources
    /// outside the catalog.
    AppId,
}

/// Throttling: HTTP 429 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// How many requests (per resource) are throttled before the tenant answers normally.
    pub times: u32,
    /// `Retry-After` in seconds (Entra sends 60 for client credentials).
    #[serde(default = "default_retry_after")]
    pub retry_after: u64,
    /// The 429's body: an AADSTS JSON error, or plain text (Entra's gateway sends either).
    #[serde(default)]
    pub body: ThrottleBody,
}

/// The body of a throttled answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleBody {
    /// An AADSTS90055 error body.
    #[default]
    Json,
    /// A plain-text body, not JSON.
    Text,
}

/// Transient server errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transient {
    /// How many requests (per resource) fail before the tenant answers normally.
    pub times: u32,
    /// The HTTP status, 500–599 (default 503).
    #[serde(default = "default_transient_status")]
    pub status: u16,
}

/// A failure of every token request to a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Failure {
    /// The app has no service principal here (AADSTS700016).
    NotConsented,
    /// The customer disabled the enterprise app (AADSTS7000112).
    Disabled,
    /// Never answer: the request hangs until the client gives up.
    Hang,
    /// Answer 200 with an HTML page instead of JSON.
    NotJson,
    /// Answer with this AADSTS code (e.g. 53003, Conditional Access, or a code nobody knows).
    Aadsts {
        /// The numeric code.
        code: u32,
        /// The OAuth `error` (default: the one Entra uses for a known code, else `invalid_request`).
        #[serde(default)]
        error: Option<String>,
        /// The message after `AADSTSnnn: ` (default: Entra's for a known code).
        #[serde(default)]
        message: Option<String>,
    },
}

/// Which claim of an issued token lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lie {
    /// `tid` (and `iss`) name another tenant.
    OtherTid,
    /// `aud` names another resource.
    OtherAud,
    /// `appid` names another app.
    OtherAppid,
    /// The token expired before it was issued.
    Expired,
}

/// The `issuer` of a federated credential that means the sandbox's own GitHub-style issuer.
pub const SANDBOX_ISSUER: &str = "sandbox";
/// Entra's limit of federated identity credentials per app (reference §6).
const MAX_FEDERATED_CREDENTIALS: usize = 20;
/// The audience Entra recommends for federated credentials (reference §6).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// A registered certificate file is a few KiB; anything larger is a mistake, not a certificate.
const MAX_CERTIFICATE_FILE: u64 = 256 * 1024;

fn default_audiences() -> Vec<String> {
    vec![TOKEN_EXCHANGE_AUDIENCE.to_owned()]
}
fn default_ref() -> String {
    "refs/heads/main".to_owned()
}

fn default_retry_after() -> u64 {
    DEFAULT_RETRY_AFTER
}
fn default_transient_status() -> u16 {
    503
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn from_path(path: &Path) -> Result<Scenario, SandboxError> {
        let text = crate::input::read_to_string(path).map_err(|source| SandboxError::Read {
            path: path.to_owned(),
            source,
        })?;
        Scenario::parse(
            &path.display().to_string(),
            &text,
            path.parent().unwrap_or(Path::new("")),
        )
    }

    /// Parses and checks a scenario; `name` (a file name) labels error messages.
    pub fn from_yaml(name: &str, text: &str) -> Result<Scenario, SandboxError> {
        Scenario::parse(name, text, Path::new(""))
    }

    /// Parses, reads certificate files relative to `dir`, and checks.
    fn parse(name: &str, text: &str, dir: &Path) -> Result<Scenario, SandboxError> {
        let mut scenario: Scenario =
            serde_saphyr::from_str(text).map_err(|e| SandboxError::Parse {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
        let mut problems = scenario.read_certificate_files(dir);
        problems.extend(scenario.problems());
        if problems.is_empty() {
            Ok(scenario)
        } else {
            Err(SandboxError::Invalid {
                name: name.to_owned(),
                problems,
            })
        }
    }

    /// Checks a scenario built in code (as [`Scenario::from_yaml`] checks a parsed one): the
    /// sandbox refuses to start on one that is not valid.
    pub fn check(&self) -> Result<(), SandboxError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SandboxError::Invalid {
                name: "scenario".to_owned(),
                problems,
            })
        }
    }

    /// Reads every `certificates[].file` into its `pem` (bounded), so the server never touches
    /// the file system. Returns one problem per unreadable file.
    fn read_certificate_files(&mut self, dir: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, cert) in self.app.certificates.iter_mut().enumerate() {
            let Some(file) = &cert.file else { continue };
            if cert.pem.is_some() {
                problems.push(format!(
                    "app.certificates[{i}]: give `file` or `pem`, not both"
                ));
                continue;
            }
            let path = dir.join(file);
            let read = crate::input::read(&path, MAX_CERTIFICATE_FILE).map(String::from_utf8);
            match read {
                Ok(Ok(text)) => cert.pem = Some(text),
                Ok(Err(_)) => problems.push(format!(
                    "app.certificates[{i}]: {} is not a PEM text file",
                    path.display()
                )),
                Err(e) => problems.push(format!(
                    "app.certificates[{i}]: cannot read {}: {e}",
                    path.display()
                )),
            }
        }
        problems
    }

    /// The environment variable holding the secret the sandbox accepts.
    pub fn secret_env(&self) -> &str {
        self.app.secret_env.as_deref().unwrap_or(DEFAULT_SECRET_ENV)
    }

    /// The tenant a token URL names, by GUID or verified domain (case-insensitive).
    pub fn tenant(&self, id_or_domain: &str) -> Option<&ScenarioTenant> {
        self.tenants.iter().find(|t| {
            t.id.eq_ignore_ascii_case(id_or_domain)
                || t.domains
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(id_or_domain))
        })
    }

    /// Whether some tenant could have a service principal for `resource`: a catalog API, or a
    /// resource the scenario names somewhere.
    pub(crate) fn knows_resource(&self, resource: &str) -> bool {
        let key = resource_key(resource);
        catalog::resolve_resource(resource).is_some()
            || self.tenants.iter().any(|t| {
                t.grants.keys().any(|r| resource_key(r) == key)
                    || t.missing_resources.iter().any(|r| resource_key(r) == key)
            })
    }

    /// Every problem in the scenario, in file order.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if uuid::Uuid::parse_str(&self.app.client_id).is_err() {
            problems.push(format!(
                "app.client_id '{}' is not a GUID",
                self.app.client_id
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, cert) in self.app.certificates.iter().enumerate() {
            match (&cert.file, &cert.pem) {
                (None, None) => {
                    problems.push(format!("app.certificates[{i}]: give `file` or `pem`"))
                }
                (_, Some(pem)) => match super::assertion::RegisteredKey::from_pem(pem) {
                    Ok(key) => {
                        if !seen.insert(key.sha1_hex()) {
                            problems.push(format!(
                                "app.certificates[{i}]: the same certificate is registered twice"
                            ));
                        }
                    }
                    Err(e) => problems.push(format!("app.certificates[{i}]: {e}")),
                },
                // A file that could not be read was reported when reading it.
                (Some(_), None) => {}
            }
        }
        let fics = &self.app.federated_credentials;
        if fics.len() > MAX_FEDERATED_CREDENTIALS {
            problems.push(format!(
                "app.federated_credentials: {} given; Entra allows at most {MAX_FEDERATED_CREDENTIALS} per app",
                fics.len()
            ));
        }
        let mut fic_names = BTreeSet::new();
        for (i, fic) in fics.iter().enumerate() {
            let at = format!("app.federated_credentials[{i}] ({})", fic.name);
            if !fic_names.insert(fic.name.as_str()) {
                problems.push(format!("{at}: the name is used twice"));
            }
            if fic.subject.is_empty() {
                problems.push(format!("{at}: subject is empty"));
            }
            if fic.audiences.is_empty() {
                problems.push(format!("{at}: audiences is empty"));
            }
            if fic.issuer == SANDBOX_ISSUER {
                if self.github_actions.is_none() {
                    problems.push(format!(
                        "{at}: issuer `sandbox` needs a `github_actions:` section (the issuer it names)"
                    ));
                }
            } else if url::Url::parse(&fic.issuer).is_err() {
                problems.push(format!(
                    "{at}: issuer '{}' is neither a URL nor `sandbox`",
                    fic.issuer
                ));
            }
        }
        if let Some(github) = &self.github_actions
            && (github.repository.split('/').count() != 2
                || github.repository.split('/').any(str::is_empty))
        {
            problems.push(format!(
                "github_actions.repository '{}' is not ORG/REPO",
                github.repository
            ));
        }
        if self.token_lifetime == Some(0) {
            problems.push("token_lifetime must be at least 1 second".to_owned());
        }
        if let Some(graph) = &self.graph {
            problems.extend(graph.problems());
        }
        let mut names = BTreeSet::new();
        for (i, t) in self.tenants.iter().enumerate() {
            let at = format!("tenants[{i}] ({})", t.name);
            if uuid::Uuid::parse_str(&t.id).is_err() {
                problems.push(format!("{at}: id '{}' is not a tenant GUID", t.id));
            }
            for name in std::iter::once(&t.id).chain(&t.domains) {
                if !names.insert(name.to_ascii_lowercase()) {
                    problems.push(format!("{at}: '{name}' names another tenant too"));
                }
            }
            for d in &t.domains {
                if !d.contains('.') || uuid::Uuid::parse_str(d).is_ok() {
                    problems.push(format!("{at}: domain '{d}' is not a DNS name"));
                }
            }
            for r in &t.missing_resources {
                if t.grants.keys().any(|g| resource_key(g) == resource_key(r)) {
                    problems.push(format!("{at}: resource '{r}' is both granted and missing"));
                }
            }
            if let Some(tr) = &t.transient
                && !(500..=599).contains(&tr.status)
            {
                problems.push(format!(
                    "{at}: transient.status {} is not a 5xx status",
                    tr.status
                ));
            }
        }
        problems
    }
}

impl ScenarioTenant {
    /// The tenant as its `attempt`-th request (from 0, per resource) sees it: `grants_later` in
    /// force once `after` requests were made.
    pub(crate) fn as_of(&self, attempt: u32) -> std::borrow::Cow<'_, ScenarioTenant> {
        match &self.grants_later {
            Some(later) if attempt >= later.after => std::borrow::Cow::Owned(ScenarioTenant {
                grants: later.grants.clone(),
                ..self.clone()
            }),
            _ => std::borrow::Cow::Borrowed(self),
        }
    }

    /// The roles granted for `resource`, `None` when the tenant has no grant for it.
    pub(crate) fn granted(&self, resource: &str) -> Option<&[String]> {
        let key = resource_key(resource);
        self.grants
            .iter()
            .find(|(r, _)| resource_key(r) == key)
            .map(|(_, roles)| roles.as_slice())
    }

    /// Whether the resource's service principal is missing from this tenant.
    pub(crate) fn lacks_resource(&self, resource: &str) -> bool {
        let key = resource_key(resource);
        self.missing_resources
            .iter()
            .any(|r| resource_key(r) == key)
    }
}

/// One comparable key per resource: a catalog API whatever form names it (URI in any cloud, other
/// names, app id, trailing `/`), otherwise the URI without a trailing `/`, lowercased.
pub(crate) fn resource_key(resource: &str) -> String {
    match catalog::resolve_resource(resource) {
        Some((api, _)) => format!("catalog:{}", api.alias),
        None => resource.trim_end_matches('/').to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
app:
  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e
tenants:
  - name: Fabrikam
    id: 2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d
    domains: [fabrikam.onmicrosoft.com]
    grants:
      https://api.security.microsoft.com: [Incident.Read.All]
  - name: Tailspin
    id: 8b1f3c5d-7e9a-4c2b-a4d6-f0e2c4a6b8d0
    failure: not_consented
    throttle: { times: 2, body: text }
  - name: Contoso
    id: 11111111-2222-4333-8444-555555555555
    failure: { aadsts: { code: 53003 } }
    lie: expired
"#;

    #[test]
    fn parses_failure_modes_and_defaults() {
        let s = Scenario::from_yaml("s.yaml", SCENARIO).unwrap();
        assert_eq!(s.token_lifetime, None, "random per token, as Entra");
        assert_eq!(s.secret_env(), "CONSENTRY_CLIENT_SECRET");
        assert_eq!(s.tenants[1].failure, Some(Failure::NotConsented));
        let throttle = s.tenants[1].throttle.as_ref().unwrap();
        assert_eq!((throttle.times, throttle.retry_after), (2, 60));
        assert_eq!(throttle.body, ThrottleBody::Text);
        assert_eq!(
            s.tenants[2].failure,
            Some(Failure::Aadsts {
                code: 53003,
                error: None,
                message: None
            })
        );
        assert_eq!(s.tenants[2].lie, Some(Lie::Expired));
    }

    #[test]
    fn tenants_are_found_by_guid_or_domain_and_resources_by_any_form() {
        let s = Scenario::from_yaml("s.yaml", SCENARIO).unwrap();
        let fabrikam = s.tenant("FABRIKAM.onmicrosoft.com").unwrap();
        assert_eq!(fabrikam.id, "2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d");
        assert!(s.tenant("2D4A7B1C-6F0E-4B8A-9C3D-1E5F7A9B0C2D").is_some());
        assert!(s.tenant("northwind.onmicrosoft.com").is_none());
        let roles = fabrikam
            .granted("8ee8fdad-f234-4243-8f3b-15c294843740")
            .unwrap();
        assert_eq!(roles, ["Incident.Read.All"]);
        assert!(
            fabrikam
                .granted("https://api.security.microsoft.com/")
                .is_some()
        );
        assert!(fabrikam.granted("https://graph.microsoft.com").is_none());
        assert!(s.knows_resource("https://graph.microsoft.com/"));
        assert!(!s.knows_resource("api://nobody"));
    }

    #[test]
    fn the_documented_example_parses() {
        let source = include_str!("scenario.rs");
        let yaml: String = source
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .skip_while(|l| l.trim() != "```yaml")
            .skip(1)
            .take_while(|l| l.trim() != "```")
            .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
            .collect();
        assert!(yaml.contains("tenants:"), "{yaml}");
        let s = Scenario::from_yaml("module docs", &yaml).unwrap();
        let t = &s.tenants[0];
        assert_eq!(t.failure, Some(Failure::NotConsented));
        assert_eq!(t.lie, Some(Lie::OtherTid));
        assert_eq!(
            t.throttle.as_ref().map(|t| t.body),
            Some(ThrottleBody::Json)
        );
        assert_eq!(s.app.federated_credentials[0].issuer, SANDBOX_ISSUER);
        assert_eq!(
            s.app.federated_credentials[0].audiences,
            [TOKEN_EXCHANGE_AUDIENCE]
        );
        assert_eq!(
            s.github_actions.as_ref().map(GithubActions::subject),
            Some("repo:contoso/soc-connector:ref:refs/heads/main".to_owned())
        );
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.sandbox.yaml");
        let err = Scenario::from_path(&path).unwrap_err();
        assert!(matches!(err, SandboxError::Read { .. }));
        assert!(err.to_string().contains("absent.sandbox.yaml"), "{err}");
        std::fs::write(&path, SCENARIO).unwrap();
        assert_eq!(Scenario::from_path(&path).unwrap().tenants.len(), 3);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = SCENARIO.replace("    domains:", "    domain:");
        let err = Scenario::from_yaml("s.yaml", &text).unwrap_err();
        assert!(err.to_string().contains("s.yaml"), "{err}");
        assert!(err.to_string().contains("domain"), "{err}");
    }

    #[test]
    fn every_problem_is_reported() {
        let text = r#"
app: { client_id: not-a-guid }
tenants:
  - { name: A, id: nope, domains: [a.example] }
  - name: B
    id: 2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d
    domains: [A.example]
    transient: { times: 1, status: 404 }
"#;
        let SandboxError::Invalid { problems, .. } = Scenario::from_yaml("s", text).unwrap_err()
        else {
            panic!("not a validation error")
        };
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("client_id"));
        assert!(problems[1].contains("'nope' is not a tenant GUID"));
        assert!(problems[2].contains("'A.example' names another tenant"));
        assert!(problems[3].contains("404"));
    }
}
