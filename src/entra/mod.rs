//! The identity-platform client: app-only tokens by client credentials on the v2 endpoint
//! (reference §2), with retries through the shared [`crate::http`] plumbing and failures classified
//! (reference §4) into this layer's own [`TokenError`]: a [`Kind`] to branch on, with the AADSTS
//! code and Entra's ids. Callers (`verify`, `consentry token`) map kinds to their own vocabulary;
//! this module imports none of theirs.
//!
//! The app authenticates through one [`AppCredential`], the only code that knows secrets, keys and
//! assertions: it hands each attempt the form fields to send (a fresh assertion per attempt, as
//! assertions are single-use). Tokens are wrapped the moment they are parsed: neither a credential
//! nor a token reaches a log, an error or Debug. Bodies are
//! read through [`crate::http::read_body`], capped at [`crate::http::MAX_BODY`].

pub mod aadsts;
mod classify;
pub mod keys;

use secrecy::SecretString;
use url::Url;

use crate::credential::AppCredential;

use crate::http::{self, AttemptInfo, BodyError, Gate, GaveUp, RetryPolicy, Step};
use aadsts::Disposition;

pub use crate::http::ClientError;

/// An app-only access token. `Debug` redacts the token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The JWT. Only `consentry token` ever shows it.
    pub token: SecretString,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the token lives (60–90 min; never assume 3600), when Entra said.
    pub expires_in: Option<u64>,
    /// Seconds the token is honoured during an outage, when Entra said.
    pub ext_expires_in: Option<u64>,
}

/// One attempt of a token request, answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempted {
    /// 1 for the first attempt.
    pub number: u32,
    /// When the answer will be retried and asked for a wait (`Retry-After`), that wait.
    pub retry_after: Option<std::time::Duration>,
}

/// What kind of failure a token request ended in: what callers branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The app's own credential was refused (secret, certificate or federated assertion): every
    /// tenant is affected.
    CredentialRejected,
    /// The app has no service principal in the tenant.
    NotConsented,
    /// The app (or the resource) is disabled in the tenant.
    Disabled,
    /// The resource API has no service principal in the tenant.
    ResourceMissing,
    /// No such tenant in this cloud.
    TenantNotFound,
    /// A Conditional Access policy in the tenant blocks the app.
    Blocked,
    /// Throttled (HTTP 429, AADSTS90055) on every attempt.
    Throttled,
    /// A transient fault (HTTP 5xx, AADSTS90033, a request loop) on every attempt.
    Transient,
    /// No answer within the per-attempt timeout, on every attempt.
    Timeout,
    /// The connection failed on every attempt.
    Transport,
    /// TLS refused the server's certificate (an unknown issuer such as a TLS-inspecting proxy's
    /// CA, an expired or misnamed certificate): final at the first attempt, as a retry meets the
    /// same certificate.
    UntrustedCertificate,
    /// The server's answer was not a token endpoint's answer (not JSON, no access token).
    Protocol,
    /// The server's answer was larger than [`http::MAX_BODY`]; reading stopped there.
    TooLarge,
    /// Not sent: another request already showed the app's credential is rejected.
    Cancelled,
    /// The HTTP client could not be built.
    Setup,
    /// Any other error Entra reported (an AADSTS code consentry does not know, a refused request).
    Other,
}

impl Kind {
    /// A snake_case name: for final kinds, the name a report uses for them.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CredentialRejected => "credential_rejected",
            Kind::NotConsented => "not_consented",
            Kind::Disabled => "disabled",
            Kind::ResourceMissing => "resource_missing",
            Kind::TenantNotFound => "tenant_not_found",
            Kind::Blocked | Kind::Other => "error",
            Kind::Throttled => "throttled",
            Kind::Transient => "transient",
            Kind::Timeout => "timeout",
            Kind::Transport => "connection_failed",
            Kind::UntrustedCertificate => "certificate_untrusted",
            Kind::Protocol => "unexpected_response",
            Kind::TooLarge => "response_too_large",
            Kind::Cancelled => "not_asked",
            Kind::Setup => "client_error",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why no token was had: the kind, and what Entra said. Never the secret or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct TokenError {
    /// What the failure means.
    pub kind: Kind,
    /// The AADSTS code number, when the answer carried one.
    pub code: Option<u32>,
    /// The OAuth `error` field, when the answer was an OAuth error.
    pub error: Option<String>,
    /// The description's first line, or consentry's own account of the failure.
    pub message: String,
    /// Entra's trace id (Microsoft support asks for it).
    pub trace_id: Option<String>,
    /// Entra's correlation id.
    pub correlation_id: Option<String>,
    /// The HTTP status of the last attempt, when there was a response.
    pub http_status: Option<u16>,
    /// The `client-request-id` consentry sent with the last attempt.
    pub request_id: Option<String>,
    /// The `client-request-id` of every attempt, in order (the last is `request_id`): a support
    /// case about a throttled or failing run can name each request Entra saw.
    pub request_ids: Vec<String>,
    /// Attempts made (0 when nothing was sent).
    pub attempts: u32,
}

impl TokenError {
    /// A failure with no answer from Entra behind it.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        TokenError {
            kind,
            code: None,
            error: None,
            message: message.into(),
            trace_id: None,
            correlation_id: None,
            http_status: None,
            request_id: None,
            request_ids: Vec::new(),
            attempts: 0,
        }
    }

    /// `AADSTS700016`, as reports spell it.
    pub fn code_name(&self) -> Option<String> {
        self.code.map(|c| format!("AADSTS{c}"))
    }

    fn describe(&self) -> String {
        match self.code {
            Some(code) => format!("AADSTS{code}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl From<ClientError> for TokenError {
    fn from(e: ClientError) -> Self {
        TokenError::new(Kind::Setup, e.to_string())
    }
}

/// The token endpoint's answer readers, reachable from the cargo-fuzz targets in `fuzz/` (a
/// hostile server writes these bodies). Not part of consentry's API: hidden, and free to change.
#[doc(hidden)]
pub mod fuzzing {
    use super::{AccessToken, TokenError, aadsts::Disposition, classify};

    /// A 2xx body read as a token (v1 or v2), or why not.
    pub fn parse_success(body: &str, content_type: &str) -> Result<AccessToken, String> {
        classify::parse_success(body, content_type)
    }

    /// An error answer classified: retry or final, and the error a report shows.
    pub fn classify_error(http_status: u16, body: &str) -> (Disposition, TokenError) {
        let failure = classify::classify_error(http_status, body);
        (failure.disposition, failure.error)
    }
}

/// `{authority}/{tenant}/oauth2/v2.0/token`, the tenant as one path segment.
pub fn token_url(authority: &Url, tenant: &str) -> Url {
    let mut url = authority.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .extend([tenant, "oauth2", "v2.0", "token"]);
    }
    url
}

/// `{resource}/.default`, the only scope client credentials accept.
pub fn default_scope(resource: &str) -> String {
    format!("{}/.default", resource.trim_end_matches('/'))
}

/// Asks one authority for app-only tokens on behalf of one app.
#[derive(Debug, Clone)]
pub struct TokenClient {
    http: reqwest::Client,
    authority: Url,
    client_id: String,
    credential: AppCredential,
    policy: RetryPolicy,
}

impl TokenClient {
    /// A client for `client_id` at `authority` (see [`crate::cloud::authority_host`]).
    pub fn new(
        http: reqwest::Client,
        authority: Url,
        client_id: &str,
        credential: AppCredential,
        policy: RetryPolicy,
    ) -> Self {
        TokenClient {
            http,
            authority,
            client_id: client_id.to_owned(),
            credential,
            policy,
        }
    }

    /// One token for `resource` in `tenant`, retrying throttling and transient failures.
    ///
    /// With a `gate`, every attempt holds one of its permits while in flight, and a rejected
    /// credential closes it so no further request of the run is sent.
    pub async fn request(
        &self,
        tenant: &str,
        resource: &str,
        gate: Option<&Gate>,
    ) -> Result<AccessToken, TokenError> {
        self.request_observed(tenant, resource, gate, &|_| {}).await
    }

    /// [`request`](Self::request), telling `observe` about every attempt answered: its number and,
    /// when it will be retried, the `Retry-After` the answer asked for (progress and reports show
    /// retries with it).
    pub async fn request_observed(
        &self,
        tenant: &str,
        resource: &str,
        gate: Option<&Gate>,
        observe: &(dyn Fn(Attempted) + Sync),
    ) -> Result<AccessToken, TokenError> {
        let url = token_url(&self.authority, tenant);
        let scope = default_scope(resource);
        // Every attempt's id, kept for the report (support cases name each request).
        let mut request_ids = Vec::new();
        let result = http::with_retries(
            &self.policy,
            gate,
            |e: &TokenError| e.kind == Kind::CredentialRejected,
            |info| {
                request_ids.push(info.request_id.clone());
                let (url, scope) = (&url, &scope);
                async move {
                    let step = self.attempt(url, scope, &info).await;
                    let outcome = match &step {
                        Step::Done(Ok(_)) => "token",
                        Step::Done(Err(e)) | Step::Again { error: e, .. } => e.kind.as_str(),
                    };
                    tracing::debug!(tenant, resource, attempt = info.number, outcome, retry = matches!(step, Step::Again { .. }), request_id = %info.request_id, "token request");
                    observe(Attempted {
                        number: info.number,
                        retry_after: match &step {
                            Step::Again { retry_after, .. } => *retry_after,
                            Step::Done(_) => None,
                        },
                    });
                    step
                }
            },
        )
        .await;
        result.map_err(|gave_up| match gave_up {
            GaveUp::Failed {
                mut error,
                attempts,
            } => {
                error.attempts = attempts;
                error.request_ids = request_ids;
                error
            }
            GaveUp::Cancelled => {
                let mut error = TokenError::new(
                    Kind::Cancelled,
                    "not asked: the app's credential was rejected for another tenant",
                );
                error.attempts = request_ids.len() as u32;
                error.request_ids = request_ids;
                error
            }
        })
    }

    async fn attempt(
        &self,
        url: &Url,
        scope: &str,
        info: &AttemptInfo,
    ) -> Step<AccessToken, TokenError> {
        let with_id = |mut e: TokenError| {
            e.request_id = Some(info.request_id.clone());
            e
        };
        // Asked per attempt: a certificate signs a fresh assertion (new `jti`) each time, and a
        // federated token is re-read before it runs out.
        let auth = match self.credential.client_auth(&self.http, url).await {
            Ok(auth) => auth,
            // Nothing can be sent without the credential: like a rejected one, it stops the run.
            Err(e) => {
                return Step::Done(Err(TokenError::new(
                    Kind::CredentialRejected,
                    format!("the app's credential could not be used: {e}"),
                )));
            }
        };
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("scope", scope),
        ];
        form.extend(auth.form_fields());
        let sent = self
            .http
            .post(url.clone())
            .timeout(self.policy.timeout)
            .header("client-request-id", info.request_id.as_str())
            // Entra echoes the id back when asked, so support cases can quote it.
            .header("return-client-request-id", "true")
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return self.transport(&e).map_err_again(with_id),
        };
        let http_status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_owned();
        let body = match http::read_body(response, http::MAX_BODY).await {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(BodyError::TooLarge { limit }) => {
                // A final answer: the server will send the same again, and retrying would
                // multiply what it makes consentry read.
                let mut e = TokenError::new(
                    Kind::TooLarge,
                    format!(
                        "response too large: the token endpoint sent more than {} KiB (HTTP {http_status})",
                        limit / 1024
                    ),
                );
                e.http_status = Some(http_status);
                return Step::Done(Err(with_id(e)));
            }
            Err(BodyError::Transport(e)) => return self.transport(&e).map_err_again(with_id),
        };
        if (200..300).contains(&http_status) {
            return Step::Done(
                classify::parse_success(&body, &content_type).map_err(|why| {
                    let mut e = TokenError::new(Kind::Protocol, why);
                    e.http_status = Some(http_status);
                    with_id(e)
                }),
            );
        }
        let failure = classify::classify_error(http_status, &body);
        let error = with_id(failure.error);
        match failure.disposition {
            Disposition::Final(_) => Step::Done(Err(error)),
            Disposition::Retry => Step::Again { error, retry_after },
        }
    }

    fn transport(&self, error: &reqwest::Error) -> Step<AccessToken, TokenError> {
        if let Some(why) = http::untrusted_certificate(error) {
            return Step::Done(Err(TokenError::new(
                Kind::UntrustedCertificate,
                format!(
                    "the token endpoint's TLS certificate is not trusted ({why}); {}",
                    http::UNTRUSTED_HINT
                ),
            )));
        }
        let error = if error.is_timeout() {
            TokenError::new(
                Kind::Timeout,
                format!("no answer within {}s", self.policy.timeout.as_secs_f64()),
            )
        } else {
            TokenError::new(
                Kind::Transport,
                format!(
                    "could not reach the token endpoint ({})",
                    http::root_cause(error)
                ),
            )
        };
        Step::Again {
            error,
            retry_after: None,
        }
    }
}

/// Applies `f` to the failure a step carries.
trait MapFailure {
    fn map_err_again(self, f: impl FnOnce(TokenError) -> TokenError) -> Self;
}

impl MapFailure for Step<AccessToken, TokenError> {
    fn map_err_again(self, f: impl FnOnce(TokenError) -> TokenError) -> Self {
        match self {
            Step::Done(Err(e)) => Step::Done(Err(f(e))),
            Step::Again { error, retry_after } => Step::Again {
                error: f(error),
                retry_after,
            },
            done => done,
        }
    }
}

/// One token for `resource` in `tenant` (GUID or domain), for `consentry token`: its own HTTP
/// client, the same retries as `verify`.
pub async fn fetch_token(
    authority: &Url,
    tenant: &str,
    resource: &str,
    client_id: &str,
    credential: &AppCredential,
    policy: RetryPolicy,
) -> Result<AccessToken, TokenError> {
    fetch_token_with(
        authority,
        &http::ExtraRoots::default(),
        tenant,
        resource,
        client_id,
        credential,
        policy,
    )
    .await
}

/// [`fetch_token`], trusting `roots` (`--ca-cert`) on top of the system's trust store.
pub async fn fetch_token_with(
    authority: &Url,
    roots: &http::ExtraRoots,
    tenant: &str,
    resource: &str,
    client_id: &str,
    credential: &AppCredential,
    policy: RetryPolicy,
) -> Result<AccessToken, TokenError> {
    let http = http::client_with(authority, roots)?;
    TokenClient::new(
        http,
        authority.clone(),
        client_id,
        credential.clone(),
        policy,
    )
    .request(tenant, resource, None)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_url_and_scope() {
        let authority = Url::parse("https://login.microsoftonline.com").unwrap();
        assert_eq!(
            token_url(&authority, "fabrikam.onmicrosoft.com").as_str(),
            "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/oauth2/v2.0/token"
        );
        let prefixed = Url::parse("http://127.0.0.1:8080/entra/").unwrap();
        assert_eq!(
            token_url(&prefixed, "a/b").as_str(),
            "http://127.0.0.1:8080/entra/a%2Fb/oauth2/v2.0/token"
        );
        assert_eq!(
            default_scope("https://graph.microsoft.com/"),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            default_scope("api://9a8b7c6d-0000-0000-0000-000000000000"),
            "api://9a8b7c6d-0000-0000-0000-000000000000/.default"
        );
    }

    #[test]
    fn errors_describe_themselves_and_never_show_secrets() {
        let mut rejected =
            TokenError::new(Kind::CredentialRejected, "Invalid client secret provided.");
        rejected.code = Some(7000215);
        assert_eq!(
            rejected.to_string(),
            "AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(rejected.code_name().as_deref(), Some("AADSTS7000215"));
        assert_eq!(Kind::Timeout.as_str(), "timeout");
        let token = AccessToken {
            token: SecretString::from("eyJhbGciOi.secret.sig".to_owned()),
            token_type: "Bearer".into(),
            expires_in: Some(3599),
            ext_expires_in: None,
        };
        assert!(!format!("{token:?}").contains("eyJ"));
    }
}
