//! The app's credential: the one place that holds client secrets, private keys and external
//! tokens, and that builds what each token request sends to prove the app is who it says.
//!
//! The identity platform accepts three kinds (reference §2 and §6, in Microsoft's words at
//! <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow> and
//! <https://learn.microsoft.com/entra/identity-platform/certificate-credentials>):
//! - a client secret, sent as the form field `client_secret`;
//! - a certificate: the app signs a short JWT (the *client assertion*) with its private key for
//!   every request and sends it as `client_assertion` with
//!   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`;
//! - workload identity federation: a token from another identity provider the app registration
//!   trusts (GitHub Actions, Kubernetes, ...) sent the same way, as the `client_assertion`.
//!
//! Everything secret is held in a [`SecretString`] or a key type with no `Debug` of its secret, so
//! it never reaches a log, a report or a panic; errors name the *source* (a variable, a file),
//! never the value.

mod certificate;
mod error;
mod federated;
mod secret;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use secrecy::{ExposeSecret, SecretString};

pub use self::certificate::{ASSERTION_LIFETIME_SECS, EXPIRY_WARNING_SECS, x5t_from_hex};
pub use self::error::{CredentialError, Phase};
pub use self::federated::{
    AUDIENCE, ExternalIdentity, GITHUB_TOKEN_ENV, GITHUB_URL_ENV, KUBERNETES_ENV, MAX_FETCH_BYTES,
    MIN_LIFE_SECS,
};
pub use self::secret::{MAX_CREDENTIAL_BYTES, read_secret};

use self::certificate::Certificate;
use self::federated::Federated;

use crate::model;

/// `client_assertion_type` for a JWT client assertion (RFC 7523), certificates and federated
/// tokens alike.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The app's credential, loaded and checked: ready to authenticate token requests. Cloning is
/// cheap (one shared inner value) and clones share caches.
#[derive(Clone)]
pub struct AppCredential {
    inner: std::sync::Arc<Kind>,
}

enum Kind {
    Secret {
        secret: SecretString,
        source: Option<&'static str>,
    },
    Certificate {
        certificate: Box<Certificate>,
        client_id: String,
        source: &'static str,
    },
    Federated {
        federated: Federated,
    },
}

impl std::fmt::Debug for AppCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only what `info` shows: never a secret, key or token.
        f.debug_struct("AppCredential")
            .field("info", &self.info())
            .finish_non_exhaustive()
    }
}

/// What a token request sends to authenticate the app. `Debug` redacts.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// `client_secret`.
    Secret(SecretString),
    /// `client_assertion` (a signed JWT or an external token), with the JWT-bearer type.
    Assertion(SecretString),
}

impl ClientAuth {
    /// The form fields to add to a token request. This is the one place the value is exposed:
    /// it goes straight into the request body.
    pub fn form_fields(&self) -> Vec<(&'static str, &str)> {
        match self {
            ClientAuth::Secret(secret) => vec![("client_secret", secret.expose_secret())],
            ClientAuth::Assertion(assertion) => vec![
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion.expose_secret()),
            ],
        }
    }
}

/// The credential's kind, as reports and audits name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A client secret.
    ClientSecret,
    /// A certificate (signed client assertions).
    Certificate,
    /// Workload identity federation (an external token as the assertion).
    Federated,
}

impl CredentialKind {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ClientSecret => "client_secret",
            CredentialKind::Certificate => "certificate",
            CredentialKind::Federated => "federated",
        }
    }
}

/// What may be said about a credential in a report, for audits: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    /// `client_secret`, `certificate` or `federated`.
    pub kind: CredentialKind,
    /// A certificate's SHA-1 thumbprint in upper-case hex, as the Entra portal shows it (and as
    /// `customKeyIdentifier` holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// A certificate's SHA-256 thumbprint in upper-case hex (`x5t#S256` is its base64url form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint_sha256: Option<String>,
    /// A certificate's assertion algorithm: `PS256` or `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// A certificate's end of validity, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Where the credential comes from: `env` or `file`, or for a federated token `github`,
    /// `kubernetes`, `file` or `env`. Absent for a credential made in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// What the app registration must hold for the credential to work (see [`AppCredential::identity`]).
/// Nothing here is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A client secret: any unexpired one on the app (its value cannot be compared: Graph never
    /// returns it).
    Secret,
    /// A certificate, by SHA-1 thumbprint in upper-case hex.
    Certificate {
        /// Upper-case hex SHA-1 thumbprint.
        thumbprint: String,
    },
    /// A federated token's issuer, subject and audiences.
    Federated(ExternalIdentity),
}

impl AppCredential {
    /// A client secret held in memory (the sandbox demo, tests, benchmarks).
    pub fn from_secret(secret: SecretString) -> AppCredential {
        AppCredential {
            inner: std::sync::Arc::new(Kind::Secret {
                secret,
                source: None,
            }),
        }
    }

    /// Reads and checks the credential the manifest names. Relative file paths are resolved
    /// against `manifest_dir`; `env` looks up environment variables (the process environment in
    /// production). Every error here is a [`Phase::Setup`] problem: nothing has been sent.
    pub fn load(
        credential: &model::Credential,
        client_id: &str,
        manifest_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AppCredential, CredentialError> {
        let kind = match credential {
            model::Credential::ClientSecret(source) => Kind::Secret {
                secret: read_secret(source, manifest_dir, env)?,
                source: Some(source_name(source)),
            },
            model::Credential::Certificate(spec) => Kind::Certificate {
                certificate: Box::new(load_certificate(spec, manifest_dir, env, unix_now())?),
                client_id: client_id.to_owned(),
                source: source_name(&spec.source),
            },
            model::Credential::Federated(source) => Kind::Federated {
                federated: Federated::load(source, manifest_dir, env, unix_now())?,
            },
        };
        Ok(AppCredential {
            inner: std::sync::Arc::new(kind),
        })
    }

    /// What to send with a token request to `token_url` (the exact URL the request goes to: a
    /// certificate's assertion names it as its audience). `http` is used only by a federated
    /// credential that fetches its external token (GitHub Actions). A certificate signs a fresh
    /// assertion (new `jti`) on every call: call it once per request, retries included.
    pub async fn client_auth(
        &self,
        http: &reqwest::Client,
        token_url: &url::Url,
    ) -> Result<ClientAuth, CredentialError> {
        match &*self.inner {
            Kind::Secret { secret, .. } => Ok(ClientAuth::Secret(secret.clone())),
            Kind::Certificate {
                certificate,
                client_id,
                ..
            } => certificate
                .assertion(client_id, token_url.as_str(), unix_now())
                .map(ClientAuth::Assertion),
            Kind::Federated { federated } => federated
                .token(http, unix_now())
                .await
                .map(ClientAuth::Assertion),
        }
    }

    /// The credential's kind, thumbprint and source, for reports.
    pub fn info(&self) -> CredentialInfo {
        let mut info = CredentialInfo {
            kind: CredentialKind::ClientSecret,
            thumbprint: None,
            thumbprint_sha256: None,
            algorithm: None,
            not_after: None,
            source: None,
        };
        match &*self.inner {
            Kind::Secret { source, .. } => info.source = source.map(str::to_owned),
            Kind::Certificate {
                certificate,
                source,
                ..
            } => {
                info.kind = CredentialKind::Certificate;
                info.thumbprint = Some(certificate.thumbprint_sha1());
                info.thumbprint_sha256 = Some(certificate.thumbprint_sha256());
                info.algorithm = Some(certificate.signing().alg().to_owned());
                info.not_after = chrono::DateTime::from_timestamp(certificate.not_after(), 0)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                info.source = Some((*source).to_owned());
            }
            Kind::Federated { federated } => {
                info.kind = CredentialKind::Federated;
                info.source = Some(federated.source_name().to_owned());
            }
        }
        info
    }

    /// How the app registration must list this credential for Entra to accept it, for the
    /// registration check: a certificate by its SHA-1 thumbprint (the registration's
    /// `customKeyIdentifier`), a federated token by its issuer, subject and audience (a federated
    /// identity credential must match them exactly, reference §6). A GitHub token is fetched for
    /// this (trusting `roots` besides the system's CAs), once: the run's token requests reuse it
    /// while it is fresh.
    pub async fn identity(
        &self,
        roots: &crate::http::ExtraRoots,
    ) -> Result<Identity, CredentialError> {
        match &*self.inner {
            Kind::Federated { federated } => federated
                .identity(roots, unix_now())
                .await
                .map(Identity::Federated),
            Kind::Secret { .. } | Kind::Certificate { .. } => {
                Ok(self.local_identity().unwrap_or(Identity::Secret))
            }
        }
    }

    /// [`AppCredential::identity`] when it needs no I/O (a secret, a certificate); `None` for a
    /// federated token, which must be read or fetched.
    pub fn local_identity(&self) -> Option<Identity> {
        match &*self.inner {
            Kind::Secret { .. } => Some(Identity::Secret),
            Kind::Certificate { certificate, .. } => Some(Identity::Certificate {
                thumbprint: certificate.thumbprint_sha1(),
            }),
            Kind::Federated { .. } => None,
        }
    }

    /// Things worth telling the user that do not stop the run (a certificate about to expire).
    pub fn warnings(&self) -> Vec<String> {
        match &*self.inner {
            Kind::Certificate { certificate, .. } => {
                certificate.expiry_warning(unix_now()).into_iter().collect()
            }
            Kind::Secret { .. } | Kind::Federated { .. } => Vec::new(),
        }
    }

    /// A certificate credential's subject and public DER (what the app registration holds), for
    /// the sandbox demo that registers it. `None` for the other kinds.
    pub fn certificate_der(&self) -> Option<(&str, &[u8])> {
        match &*self.inner {
            Kind::Certificate { certificate, .. } => {
                Some((certificate.subject(), certificate.der()))
            }
            _ => None,
        }
    }
}

/// Reads the certificate (and its password) and checks it at `now`.
fn load_certificate(
    spec: &model::CertificateSpec,
    manifest_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    now: i64,
) -> Result<Certificate, CredentialError> {
    const WHAT: &str = "certificate";
    let password = spec
        .password
        .as_ref()
        .map(|source| secret::read_text(source, "certificate password", manifest_dir, env))
        .transpose()?;
    let (bytes, place) = match &spec.source {
        model::SecretSource::File(path) => {
            let path = secret::resolve(path, manifest_dir);
            let bytes = secrecy::zeroize::Zeroizing::new(secret::read_bounded(&path, WHAT)?);
            (bytes, format!("file {}", path.display()))
        }
        model::SecretSource::Env(name) => {
            let value = secret::read_env(name, WHAT, env)?;
            let place = format!("environment variable {name}");
            let bytes =
                certificate::env_bytes(&value).ok_or_else(|| CredentialError::Unreadable {
                    place: place.clone(),
                    reason: "it holds neither PEM text nor a base64 PFX".to_owned(),
                })?;
            (bytes, place)
        }
    };
    Certificate::from_bytes(&bytes, password.as_ref(), spec.signing, place, now)
}

/// Unix seconds now (a clock before 1970 counts as 0: every check then fails safe).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn source_name(source: &model::SecretSource) -> &'static str {
    match source {
        model::SecretSource::Env(_) => "env",
        model::SecretSource::File(_) => "file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_credential_can_be_shared_across_tasks() {
        assert_send_sync::<AppCredential>();
        assert_send_sync::<ClientAuth>();
    }

    #[tokio::test]
    async fn a_secret_goes_into_client_secret_and_debug_redacts() {
        let cred = AppCredential::load(
            &model::Credential::ClientSecret(model::SecretSource::Env("X".into())),
            "00000000-0000-0000-0000-000000000001",
            Path::new("."),
            &|name| (name == "X").then(|| "s3cr3t-value\n".to_owned()),
        )
        .unwrap();
        assert!(!format!("{cred:?}").contains("s3cr3t"));
        let info = cred.info();
        assert_eq!(info.kind, CredentialKind::ClientSecret);
        assert_eq!(info.source.as_deref(), Some("env"));
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({"kind": "client_secret", "source": "env"})
        );
        let http = reqwest::Client::new();
        let url = url::Url::parse("https://login.microsoftonline.com/t/oauth2/v2.0/token").unwrap();
        let auth = cred.client_auth(&http, &url).await.unwrap();
        assert!(!format!("{auth:?}").contains("s3cr3t"));
        assert_eq!(auth.form_fields(), vec![("client_secret", "s3cr3t-value")]);
    }

    #[test]
    fn an_assertion_goes_into_the_jwt_bearer_fields() {
        let auth = ClientAuth::Assertion(SecretString::from("a.b.c".to_owned()));
        assert_eq!(
            auth.form_fields(),
            vec![
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                ),
                ("client_assertion", "a.b.c"),
            ]
        );
    }

    #[test]
    fn from_secret_has_no_source() {
        let cred = AppCredential::from_secret(SecretString::from("x".to_owned()));
        assert_eq!(cred.info().source, None);
        assert!(cred.warnings().is_empty());
    }
}
