//! The token client: app-only tokens by client credentials on the v2 endpoint (reference §2), with
//! retries, a shared concurrency gate and error classification (reference §4).
//!
//! `verify` asks for one token per tenant × API through a [`TokenClient`]; `consentry token` uses
//! [`fetch_token`]. The client secret leaves its [`SecretString`] only to be written into a form
//! body, and tokens are wrapped the moment they are parsed: neither reaches a log, an error or Debug.

pub mod backoff;
mod classify;
mod gate;

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

pub use backoff::RetryPolicy;
pub use gate::Gate;

use crate::aadsts::Disposition;
use crate::verify::report::{EntraError, Status};

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

/// Why no token was had. Messages carry what Entra said, never the secret or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Entra (or the server at the authority) answered with an error.
    #[error("{}", describe(.detail))]
    Rejected {
        /// What the answer means for the tenant.
        status: Status,
        /// What was said.
        detail: Box<EntraError>,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer within the per-attempt timeout, on every attempt.
    #[error("no answer within {}s, {attempts} attempt(s)", timeout.as_secs_f64())]
    Timeout {
        /// The per-attempt timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed on every attempt.
    #[error("could not reach the token endpoint ({reason}), {attempts} attempt(s)")]
    Transport {
        /// The underlying error, without the request body.
        reason: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Not sent: another request already showed the app's credential is rejected.
    #[error("not asked: the app's credential was rejected for another tenant")]
    Cancelled,
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

fn describe(detail: &EntraError) -> String {
    match &detail.code {
        Some(code) => format!("{code}: {}", detail.message),
        None => detail.message.clone(),
    }
}

impl TokenError {
    /// The verify status this failure gives the tenant × API.
    pub fn status(&self) -> Status {
        match self {
            TokenError::Rejected { status, .. } => *status,
            TokenError::Cancelled => Status::CredentialRejected,
            TokenError::Timeout { .. } | TokenError::Transport { .. } | TokenError::Client(_) => {
                Status::Error
            }
        }
    }

    /// The failure as a report's [`EntraError`].
    pub fn to_entra_error(&self) -> EntraError {
        match self {
            TokenError::Rejected { detail, .. } => (**detail).clone(),
            other => EntraError {
                code: None,
                error: match other {
                    TokenError::Timeout { .. } => "timeout",
                    TokenError::Transport { .. } => "connection_failed",
                    TokenError::Cancelled => "not_asked",
                    _ => "client_error",
                }
                .to_owned(),
                message: other.to_string(),
                trace_id: None,
                correlation_id: None,
                http_status: None,
            },
        }
    }
}

/// The shared HTTP client: one connection pool for the whole run, TLS always verified (rustls).
/// Proxies are bypassed for a loopback authority so local runs never leave the machine.
pub fn http_client(authority: &Url) -> Result<reqwest::Client, TokenError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("consentry/", env!("CARGO_PKG_VERSION")))
        .https_only(!crate::verify::is_loopback(authority))
        // A token endpoint never redirects; following a 307/308 would re-send the form body, client
        // secret included, to whatever host the `Location` names.
        .redirect(reqwest::redirect::Policy::none());
    if crate::verify::is_loopback(authority) {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| TokenError::Client(e.to_string()))
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
    secret: SecretString,
    policy: RetryPolicy,
}

enum Attempt {
    Done(Result<AccessToken, TokenError>),
    Again {
        error: TokenError,
        retry_after: Option<Duration>,
    },
}

impl TokenClient {
    /// A client for `client_id` at `authority` (see [`crate::verify::authority_host`]).
    pub fn new(
        http: reqwest::Client,
        authority: Url,
        client_id: &str,
        secret: SecretString,
        policy: RetryPolicy,
    ) -> Self {
        TokenClient {
            http,
            authority,
            client_id: client_id.to_owned(),
            secret,
            policy,
        }
    }

    /// One token for `resource` in `tenant`, retrying throttling and transient failures.
    ///
    /// With a `gate`, every attempt holds one of its permits while in flight (sleeps between
    /// attempts do not), and a rejected credential closes it so no further request is sent.
    pub async fn request(
        &self,
        tenant: &str,
        resource: &str,
        gate: Option<&Gate>,
    ) -> Result<AccessToken, TokenError> {
        let url = token_url(&self.authority, tenant);
        let scope = default_scope(resource);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let permit = match gate {
                Some(gate) => match gate.acquire().await {
                    Some(permit) => Some(permit),
                    None => return Err(TokenError::Cancelled),
                },
                None => None,
            };
            let started = Instant::now();
            // Entra echoes `client-request-id` as the correlation id, so a log line can be matched
            // with what Microsoft support sees.
            let request_id = uuid::Uuid::new_v4().to_string();
            let outcome = self.attempt(&url, &scope, &request_id, attempts).await;
            drop(permit);
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let (status, again) = match &outcome {
                Attempt::Done(Ok(_)) => ("token".to_owned(), false),
                Attempt::Done(Err(e)) => (e.status().to_string(), false),
                Attempt::Again { error, .. } => (
                    error.to_entra_error().error,
                    attempts <= self.policy.retries,
                ),
            };
            tracing::debug!(tenant, resource, attempt = attempts, elapsed_ms, outcome = %status, retry = again, request_id, "token request");
            if let Some(gate) = gate {
                if matches!(&outcome, Attempt::Done(Err(e)) if e.status() == Status::CredentialRejected)
                {
                    gate.close();
                }
                gate.open();
            }
            match outcome {
                Attempt::Done(result) => return result,
                Attempt::Again { error, .. } if attempts > self.policy.retries => {
                    return Err(error);
                }
                Attempt::Again { retry_after, .. } => {
                    let jitter: f64 = rand::random();
                    let wait = backoff::delay(&self.policy, attempts - 1, retry_after, jitter);
                    tracing::trace!(
                        tenant,
                        resource,
                        wait_ms = wait.as_millis() as u64,
                        "backing off"
                    );
                    match gate {
                        Some(gate) => {
                            if !gate.sleep(wait).await {
                                return Err(TokenError::Cancelled);
                            }
                        }
                        None => tokio::time::sleep(wait).await,
                    }
                }
            }
        }
    }

    async fn attempt(&self, url: &Url, scope: &str, request_id: &str, attempts: u32) -> Attempt {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("scope", scope),
        ];
        let sent = self
            .http
            .post(url.clone())
            .timeout(self.policy.timeout)
            .header("client-request-id", request_id)
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return self.transport(&e, attempts),
        };
        let http_status = response.status().as_u16();
        let retry_after = classify::retry_after(response.headers());
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_owned();
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => return self.transport(&e, attempts),
        };
        if (200..300).contains(&http_status) {
            return Attempt::Done(
                classify::parse_success(&body, &content_type).map_err(|why| TokenError::Rejected {
                    status: Status::Error,
                    detail: Box::new(EntraError {
                        code: None,
                        error: "unexpected_response".to_owned(),
                        message: why,
                        trace_id: None,
                        correlation_id: None,
                        http_status: Some(http_status),
                    }),
                    attempts,
                }),
            );
        }
        let failure = classify::classify_error(http_status, &body);
        match failure.disposition {
            Disposition::Final(status) => Attempt::Done(Err(TokenError::Rejected {
                status,
                detail: Box::new(failure.detail),
                attempts,
            })),
            Disposition::Retry => Attempt::Again {
                error: TokenError::Rejected {
                    status: Status::Error,
                    detail: Box::new(failure.detail),
                    attempts,
                },
                retry_after,
            },
        }
    }

    fn transport(&self, error: &reqwest::Error, attempts: u32) -> Attempt {
        let error = if error.is_timeout() {
            TokenError::Timeout {
                timeout: self.policy.timeout,
                attempts,
            }
        } else {
            TokenError::Transport {
                reason: root_cause(error),
                attempts,
            }
        };
        Attempt::Again {
            error,
            retry_after: None,
        }
    }
}

/// The innermost cause of a transport error ("Connection refused"), which is what a reader needs;
/// reqwest's own message repeats the URL.
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// One token for `resource` in `tenant` (GUID or domain), for `consentry token`: its own HTTP
/// client, the same retries as `verify`.
pub async fn fetch_token(
    authority: &Url,
    tenant: &str,
    resource: &str,
    client_id: &str,
    secret: &SecretString,
    policy: RetryPolicy,
) -> Result<AccessToken, TokenError> {
    let http = http_client(authority)?;
    TokenClient::new(http, authority.clone(), client_id, secret.clone(), policy)
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
    fn errors_map_to_statuses_and_never_show_secrets() {
        let timeout = TokenError::Timeout {
            timeout: Duration::from_millis(250),
            attempts: 4,
        };
        assert_eq!(timeout.status(), Status::Error);
        assert_eq!(timeout.to_string(), "no answer within 0.25s, 4 attempt(s)");
        assert_eq!(timeout.to_entra_error().error, "timeout");
        assert_eq!(TokenError::Cancelled.status(), Status::CredentialRejected);
        let token = AccessToken {
            token: SecretString::from("eyJhbGciOi.secret.sig".to_owned()),
            token_type: "Bearer".into(),
            expires_in: Some(3599),
            ext_expires_in: None,
        };
        assert!(!format!("{token:?}").contains("eyJ"));
    }
}
