//! Workload identity federation: the client assertion is a token another identity provider
//! issued, which the app registration trusts through a federated identity credential.
//!
//! What the sources do (reference §6, from Microsoft's "Workload identity federation" pages,
//! <https://learn.microsoft.com/entra/workload-id/workload-identity-federation>, and GitHub's
//! "About security hardening with OpenID Connect",
//! <https://docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect>):
//! - GitHub Actions: a job with `permissions: id-token: write` gets `ACTIONS_ID_TOKEN_REQUEST_URL`
//!   and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; `GET {URL}&audience=api://AzureADTokenExchange` (the
//!   URL already has a query) with `Authorization: bearer {TOKEN}` answers `{"value": "<JWT>"}`.
//!   The token lives about 5 minutes.
//! - Kubernetes (Azure workload identity): `AZURE_FEDERATED_TOKEN_FILE` names a projected
//!   service-account token that the kubelet rotates: it is re-read for every exchange.
//! - Any file or environment variable another CI system fills.
//!
//! A stale token is refused by Entra with AADSTS700024, so a token is used only while more than
//! [`MIN_LIFE_SECS`] of its life remain. GitHub's token is cached under that rule and one fetch
//! is shared by every request waiting for it: a 5,000-tenant run asks GitHub a handful of times,
//! not 5,000. The token's `exp` is read without checking its signature: Entra checks it; this is
//! only to know when to fetch again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use super::CredentialError;
use super::secret::{read_bounded, read_env, resolve};
use crate::model::FederatedSource;

/// The audience Entra expects in an external token (reference §6).
pub const AUDIENCE: &str = "api://AzureADTokenExchange";

/// A token with less life than this left is not presented: fetched or read again instead.
pub const MIN_LIFE_SECS: i64 = 60;

/// How long GitHub's OIDC endpoint is given to answer.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// The biggest answer read from GitHub's OIDC endpoint (a token is about 1 KiB).
pub const MAX_FETCH_BYTES: usize = 64 * 1024;

/// The GitHub variables (set only for jobs with `permissions: id-token: write`).
pub const GITHUB_URL_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// The bearer token for [`GITHUB_URL_ENV`].
pub const GITHUB_TOKEN_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// Azure workload identity's token file variable.
pub const KUBERNETES_ENV: &str = "AZURE_FEDERATED_TOKEN_FILE";

/// A loaded federated credential.
pub(crate) struct Federated {
    source: Source,
    /// GitHub's token while it is fresh, or the failure that stops further fetches. The lock is
    /// held across a fetch, so concurrent requests wait for one fetch instead of making many.
    cache: tokio::sync::Mutex<Cache>,
}

enum Source {
    Github {
        url: Url,
        request_token: SecretString,
    },
    Kubernetes(PathBuf),
    File(PathBuf),
    Env {
        name: String,
        token: SecretString,
    },
}

#[derive(Default)]
struct Cache {
    token: Option<(SecretString, i64)>,
    failure: Option<String>,
}

impl Federated {
    /// Checks the source before anything is sent: variables present, files readable and holding
    /// an unexpired JWT.
    pub(crate) fn load(
        source: &FederatedSource,
        manifest_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        now: i64,
    ) -> Result<Federated, CredentialError> {
        let nonempty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let source = match source {
            FederatedSource::Github => {
                let url = nonempty(GITHUB_URL_ENV).ok_or(CredentialError::GithubEnvMissing {
                    name: GITHUB_URL_ENV,
                })?;
                let request_token =
                    nonempty(GITHUB_TOKEN_ENV).ok_or(CredentialError::GithubEnvMissing {
                        name: GITHUB_TOKEN_ENV,
                    })?;
                Source::Github {
                    url: github_url(url.trim())?,
                    request_token: SecretString::from(request_token.trim().to_owned()),
                }
            }
            FederatedSource::Kubernetes => {
                let path = nonempty(KUBERNETES_ENV).ok_or(CredentialError::KubernetesEnvMissing)?;
                Source::Kubernetes(PathBuf::from(path.trim()))
            }
            FederatedSource::File(path) => Source::File(resolve(path, manifest_dir)),
            FederatedSource::Env(name) => {
                let token = read_env(name, "federated token", env)?;
                Source::Env {
                    name: name.clone(),
                    token: SecretString::from(token.expose_secret().trim().to_owned()),
                }
            }
        };
        let federated = Federated {
            source,
            cache: tokio::sync::Mutex::new(Cache::default()),
        };
        // A file or variable that already holds a dead token is a setup problem; GitHub's token
        // is fetched when the first request needs it.
        match &federated.source {
            Source::Kubernetes(path) | Source::File(path) => {
                read_token_file(path, now, false)?;
            }
            Source::Env { name, token } => {
                check_token(token, &format!("environment variable {name}"), now, false)?;
            }
            Source::Github { .. } => {}
        }
        Ok(federated)
    }

    /// `github`, `kubernetes`, `file` or `env`.
    pub(crate) fn source_name(&self) -> &'static str {
        match self.source {
            Source::Github { .. } => "github",
            Source::Kubernetes(_) => "kubernetes",
            Source::File(_) => "file",
            Source::Env { .. } => "env",
        }
    }

    /// The identity of the token this credential presents now, for the registration check:
    /// GitHub's is fetched (and, when that works, cached for the run's token requests), a file or
    /// variable is read as for a request. `roots` are the CAs the run trusts besides the system's
    /// (`--ca-cert`), so the fetch goes through what the run's own fetch would.
    pub(crate) async fn identity(
        &self,
        roots: &crate::http::ExtraRoots,
        now: i64,
    ) -> Result<ExternalIdentity, CredentialError> {
        // A client of its own: the run's token client may not exist yet (`app check`).
        let http = match &self.source {
            Source::Github { url, .. } => {
                Some(crate::http::client_with(url, roots).map_err(|e| {
                    CredentialError::GithubFetch {
                        reason: e.to_string(),
                    }
                })?)
            }
            _ => None,
        };
        let (token, place) = self.present(http.as_ref(), now, false).await?;
        let decoded = crate::jwt::decode(token.expose_secret()).map_err(|_| {
            CredentialError::ExternalTokenNotJwt {
                place: place.clone(),
                during_run: false,
            }
        })?;
        let claim = |name: &str| decoded.str_claim(name).map(str::to_owned);
        match (claim("iss"), claim("sub")) {
            (Some(issuer), Some(subject)) => Ok(ExternalIdentity {
                issuer,
                subject,
                audiences: decoded.audiences().into_iter().map(str::to_owned).collect(),
            }),
            _ => Err(CredentialError::Unreadable {
                place,
                reason: "the token has no `iss` or no `sub` claim, which Entra matches against the app's federated credentials".to_owned(),
            }),
        }
    }

    /// The external token to present now.
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        now: i64,
    ) -> Result<SecretString, CredentialError> {
        self.present(Some(http), now, true)
            .await
            .map(|(token, _)| token)
    }

    /// The token to present now and where it came from (for messages). `during_run`: for a token
    /// request (its failures are runtime ones, and a failed GitHub fetch is remembered so GitHub
    /// is not asked once per tenant) rather than for the registration check before the run (a
    /// failure there is said in the check, and the run's own fetch still gets its chance). `http`
    /// is needed by GitHub's source only.
    async fn present(
        &self,
        http: Option<&reqwest::Client>,
        now: i64,
        during_run: bool,
    ) -> Result<(SecretString, String), CredentialError> {
        match &self.source {
            Source::Kubernetes(path) | Source::File(path) => Ok((
                read_token_file(path, now, during_run)?,
                format!("file {}", path.display()),
            )),
            Source::Env { name, token } => {
                let place = format!("environment variable {name}");
                check_token(token, &place, now, during_run)?;
                Ok((token.clone(), place))
            }
            Source::Github { url, request_token } => {
                let http = http.ok_or_else(|| CredentialError::GithubFetch {
                    reason: "no HTTP client to fetch it with".to_owned(),
                })?;
                let token = self
                    .github(http, (url, request_token), now, during_run)
                    .await?;
                Ok((token, "GitHub's answer".to_owned()))
            }
        }
    }

    /// GitHub's token: the cached one while it is fresh, else one fetch, cached; concurrent
    /// callers wait for that one fetch (the lock is held across it). With `remember_failure`, a
    /// failed fetch is remembered and every later call fails the same way without asking GitHub
    /// again: during a run each tenant's request would fail alike, and GitHub should not be asked
    /// once per tenant.
    async fn github(
        &self,
        http: &reqwest::Client,
        (url, request_token): (&Url, &SecretString),
        now: i64,
        remember_failure: bool,
    ) -> Result<SecretString, CredentialError> {
        let mut cache = self.cache.lock().await;
        if remember_failure && let Some(reason) = &cache.failure {
            return Err(CredentialError::GithubFetch {
                reason: reason.clone(),
            });
        }
        if let Some((token, exp)) = &cache.token
            && exp - now > MIN_LIFE_SECS
        {
            return Ok(token.clone());
        }
        match fetch_github(http, url, request_token, now).await {
            Ok((token, exp)) => {
                cache.token = Some((token.clone(), exp));
                Ok(token)
            }
            Err(error) => {
                if remember_failure && let CredentialError::GithubFetch { reason } = &error {
                    cache.failure = Some(reason.clone());
                }
                Err(error)
            }
        }
    }
}

/// What a federated identity credential on the app must match (reference §6): the external
/// token's `iss`, `sub` and `aud`, read without checking its signature. These are not secrets
/// (they name a repository, a branch, a service account); the token itself is, and stays here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// `iss`, exactly as the token has it.
    pub issuer: String,
    /// `sub`, exactly as the token has it.
    pub subject: String,
    /// `aud` (a string or an array in the token).
    pub audiences: Vec<String>,
}

/// `{URL}&audience=api://AzureADTokenExchange`, only over https (or http on loopback, for the
/// sandbox and tests): the request carries a bearer token.
fn github_url(text: &str) -> Result<Url, CredentialError> {
    let mut url = Url::parse(text).map_err(|e| CredentialError::GithubUrl {
        reason: e.to_string(),
    })?;
    if !(url.scheme() == "https" || (url.scheme() == "http" && crate::cloud::is_loopback(&url))) {
        return Err(CredentialError::GithubUrl {
            reason: format!("scheme {}", url.scheme()),
        });
    }
    url.query_pairs_mut().append_pair("audience", AUDIENCE);
    Ok(url)
}

async fn fetch_github(
    http: &reqwest::Client,
    url: &Url,
    request_token: &SecretString,
    now: i64,
) -> Result<(SecretString, i64), CredentialError> {
    let fail = |reason: String| CredentialError::GithubFetch { reason };
    let response = http
        .get(url.clone())
        .timeout(FETCH_TIMEOUT)
        .header(
            reqwest::header::AUTHORIZATION,
            format!("bearer {}", request_token.expose_secret()),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            fail(if e.is_timeout() {
                format!("no answer within {} s", FETCH_TIMEOUT.as_secs())
            } else {
                "cannot connect to ACTIONS_ID_TOKEN_REQUEST_URL".to_owned()
            })
        })?;
    let status = response.status();
    let body = read_capped(response)
        .await
        .map_err(|why| fail(why.to_owned()))?;
    if !status.is_success() {
        return Err(fail(format!(
            "HTTP {status} from ACTIONS_ID_TOKEN_REQUEST_URL; does the job have `permissions: id-token: write`?"
        )));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        value: String,
    }
    let answer: Answer = serde_json::from_slice(&body)
        .map_err(|_| fail("the answer is not JSON with a string `value`".to_owned()))?;
    let token = SecretString::from(answer.value);
    let exp = check_token(&token, "GitHub's answer", now, true)?;
    Ok((token, exp.unwrap_or(now + MIN_LIFE_SECS)))
}

/// The body, refused past [`MAX_FETCH_BYTES`] (a hostile server may send forever).
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, &'static str> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_FETCH_BYTES {
                    return Err("the answer is larger than any token");
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err("the answer did not arrive in time"),
            Err(_) => return Err("the answer was cut off"),
        }
    }
}

fn read_token_file(
    path: &Path,
    now: i64,
    during_run: bool,
) -> Result<SecretString, CredentialError> {
    let bytes = secrecy::zeroize::Zeroizing::new(read_bounded(path, "federated token")?);
    let place = format!("file {}", path.display());
    let text = std::str::from_utf8(&bytes).map_err(|_| CredentialError::ExternalTokenNotJwt {
        place: place.clone(),
        during_run,
    })?;
    let token = SecretString::from(text.trim().to_owned());
    if token.expose_secret().is_empty() {
        return Err(CredentialError::Empty {
            what: "federated token",
            place,
        });
    }
    check_token(&token, &place, now, during_run)?;
    Ok(token)
}

/// The token is a JWT whose `exp` (when it has one) leaves more than [`MIN_LIFE_SECS`]. Returns
/// `exp`. The signature is not checked: that is Entra's job.
fn check_token(
    token: &SecretString,
    place: &str,
    now: i64,
    during_run: bool,
) -> Result<Option<i64>, CredentialError> {
    let decoded = crate::jwt::decode(token.expose_secret()).map_err(|_| {
        CredentialError::ExternalTokenNotJwt {
            place: place.to_owned(),
            during_run,
        }
    })?;
    let exp = decoded.time_claim("exp");
    if let Some(exp) = exp
        && exp - now <= MIN_LIFE_SECS
    {
        return Err(CredentialError::ExternalTokenExpired {
            place: place.to_owned(),
            exp: chrono::DateTime::from_timestamp(exp, 0)
                .map_or_else(|| exp.to_string(), |t| t.to_rfc3339()),
            during_run,
        });
    }
    Ok(exp)
}
