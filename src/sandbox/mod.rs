//! The sandbox identity platform: a loopback stand-in for Entra ID's token endpoints (reference
//! §2–§4) that verify's tests, `consentry demo` and users' CI rehearsals talk to.
//!
//! A [`Scenario`] says which tenants exist, what each granted and how each fails; [`Sandbox::start`]
//! serves it on 127.0.0.1 with a fresh RSA key until [`Sandbox::shutdown`]. Client assertions
//! (certificates, federated tokens) are checked in `assertion`; `oidc` plays GitHub Actions' token
//! issuer so workload identity federation can be rehearsed end to end.

mod aadsts;
mod assertion;
mod keys;
mod oidc;
mod scenario;
mod server;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use scenario::{
    AudForm, Failure, FederatedCredential, GithubActions, Lie, RegisteredCertificate,
    SANDBOX_ISSUER, Scenario, ScenarioApp, ScenarioTenant, Signature, TOKEN_EXCHANGE_AUDIENCE,
    Throttle, ThrottleBody, Transient,
};

/// How long [`Sandbox::shutdown`] lets in-flight requests finish before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why a scenario could not be loaded or the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The scenario file could not be read.
    #[error("cannot read the sandbox scenario {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The scenario is not valid YAML for the scenario format.
    #[error("the sandbox scenario {name} is not valid: {message}")]
    Parse {
        /// The file name.
        name: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// The scenario parsed, but says something impossible.
    #[error("the sandbox scenario {name} has {} problem(s):\n  {}", problems.len(), problems.join("\n  "))]
    Invalid {
        /// The file name.
        name: String,
        /// Every problem, in file order.
        problems: Vec<String>,
    },
    /// The listen address is not a loopback address.
    #[error(
        "the sandbox only listens on loopback (127.0.0.1); refusing {0}: it accepts any secret-shaped string and issues tokens, so it must not be reachable from the network"
    )]
    NotLoopback(SocketAddr),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// An environment variable the scenario names is unset or empty.
    #[error("the sandbox scenario names {name} for {what}, but it is unset or empty")]
    Env {
        /// The variable.
        name: String,
        /// What it was to hold.
        what: &'static str,
    },
    /// Key generation or signing failed.
    #[error("sandbox signing key: {0}")]
    Key(String),
}

/// One request the sandbox answered. Holds no body, header or query: nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// When the answer was sent.
    pub time: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The tenant segment of the path as the client sent it (lowercased), if the path has one.
    pub tenant: Option<String>,
    /// The HTTP status answered (0 when the client gave up before an answer).
    pub status: u16,
}

/// What `GET /_sandbox/requests` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestsReport {
    /// Token requests per tenant segment, as [`Sandbox::requests_per_tenant`].
    pub requests_per_tenant: BTreeMap<String, usize>,
    /// Every request, oldest first.
    pub log: Vec<LoggedRequest>,
}

/// The stand-ins for a GitHub Actions job's `ACTIONS_ID_TOKEN_REQUEST_URL` and
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
#[derive(Debug, Clone)]
pub struct GithubActionsEnv {
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`: already has a query string; callers append `&audience=…`.
    pub request_url: String,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: the bearer the endpoint accepts.
    pub request_token: SecretString,
}

/// The bearer the sandbox's token-request endpoint accepts: from the scenario's variable, or fresh.
fn github_request_token(settings: &GithubActions) -> Result<SecretString, SandboxError> {
    match &settings.request_token_env {
        Some(name) => match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
            _ => Err(SandboxError::Env {
                name: name.clone(),
                what: "the GitHub token-request bearer",
            }),
        },
        None => Ok(SecretString::from(format!(
            "sandbox-{}",
            uuid::Uuid::new_v4().simple()
        ))),
    }
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    state: Arc<server::State>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Binds (127.0.0.1 only: refuse any non-loopback listen address), generates an RSA-2048 key,
    /// serves. Port 0 picks a free port; [`Sandbox::base_url`] tells which.
    pub async fn start(
        scenario: Scenario,
        secret: SecretString,
        listen: SocketAddr,
    ) -> Result<Sandbox, SandboxError> {
        if !listen.ip().is_loopback() {
            return Err(SandboxError::NotLoopback(listen));
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: listen,
            source,
        })?;
        scenario.check()?;
        let key = tokio::task::spawn_blocking(keys::SigningKey::generate)
            .await
            .map_err(|e| SandboxError::Key(e.to_string()))??;
        let base_url = format!("http://{addr}");
        let github = match scenario.github_actions.clone() {
            None => None,
            Some(settings) => {
                let request_token = github_request_token(&settings)?;
                let base = base_url.clone();
                Some(
                    tokio::task::spawn_blocking(move || {
                        oidc::GithubIssuer::generate(settings, &base, request_token)
                    })
                    .await
                    .map_err(|e| SandboxError::Key(e.to_string()))??,
                )
            }
        };
        let (stop, stopped) = watch::channel(false);
        let state = Arc::new(server::State::new(
            scenario,
            secret,
            key,
            github,
            base_url,
            stopped.clone(),
        ));
        let app = server::router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let mut stopped = stopped;
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "sandbox server stopped");
            }
        });
        tracing::info!(base_url = %format!("http://{addr}"), "sandbox listening");
        Ok(Sandbox {
            state,
            addr,
            stop,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the authority host to give consentry.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Token requests (v1 and v2) per tenant, keyed by the tenant segment of the URL as the client
    /// sent it, lowercased (a GUID or a domain), so a client can count what it sent.
    pub fn requests_per_tenant(&self) -> BTreeMap<String, usize> {
        self.state.requests_per_tenant()
    }

    /// Every request answered so far, oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.state.request_log()
    }

    /// What a GitHub Actions job with `permissions: id-token: write` finds in its environment,
    /// pointing at this sandbox's issuer: set these on the process under test. `None` when the
    /// scenario has no `github_actions` section.
    pub fn github_actions_env(&self) -> Option<GithubActionsEnv> {
        self.state.github_actions_env()
    }

    /// The sandbox's GitHub-style issuer URL (`{base}/_github`), the `iss` of its tokens.
    pub fn github_issuer(&self) -> Option<String> {
        self.state.github_issuer()
    }

    /// Latency added to every request on top of each tenant's own (for benchmarks).
    pub fn set_latency(&self, latency: Duration) {
        self.state.set_latency(latency);
    }

    /// Stops serving: hanging requests are released, in-flight ones get a short grace period.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
