//! The sandbox identity platform: a loopback stand-in for Entra ID's token endpoints (reference
//! §2–§4) that verify's tests, `consentry demo` and users' CI rehearsals talk to.
//!
//! A [`Scenario`] says which tenants exist, what each granted and how each fails; [`Sandbox::start`]
//! serves it on 127.0.0.1 with a fresh RSA key and signing certificate until [`Sandbox::shutdown`];
//! [`Sandbox::start_with`] adds HTTPS ([`Tls`]) for clients such as MSAL that insist on it. Client
//! assertions (certificates, federated tokens) are checked in `assertion`; `oidc` plays GitHub
//! Actions' token issuer so workload identity federation can be rehearsed end to end.

mod aadsts;
mod assertion;
mod graph;
mod keys;
mod oidc;
mod scenario;
mod server;
mod tls;

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

pub use graph::{GraphThrottle, ScenarioGraph};
pub use scenario::{
    AudForm, Failure, FederatedCredential, GithubActions, Lie, RegisteredCertificate,
    SANDBOX_ISSUER, Scenario, ScenarioApp, ScenarioTenant, Signature, TOKEN_EXCHANGE_AUDIENCE,
    Throttle, ThrottleBody, Transient,
};
pub use tls::Tls;

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
    /// The TLS certificate could not be generated or loaded.
    #[error("sandbox TLS: {0}")]
    Tls(String),
}

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on: loopback only; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Plain HTTP or HTTPS.
    pub tls: Tls,
}

/// One request the sandbox answered. Holds no body or query, and its headers with every credential
/// (`authorization`, `cookie`, anything named like a secret or an assertion) redacted.
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
    /// The request's headers (names lowercased, repeated values joined by `, `), so a test can
    /// check `client-request-id`, `user-agent` or `content-type`. Credentials read `[REDACTED]`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
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
    /// `http` or `https`.
    scheme: &'static str,
    /// The generated CA's PEM (with [`Tls::Generate`]).
    ca_pem: Option<String>,
}

impl Sandbox {
    /// Binds (127.0.0.1 only: refuse any non-loopback listen address), generates an RSA-2048 key,
    /// serves plain HTTP. Port 0 picks a free port; [`Sandbox::base_url`] tells which.
    pub async fn start(
        scenario: Scenario,
        secret: SecretString,
        listen: SocketAddr,
    ) -> Result<Sandbox, SandboxError> {
        Sandbox::start_with(
            scenario,
            secret,
            Options {
                listen,
                tls: Tls::Off,
            },
        )
        .await
    }

    /// [`Sandbox::start`] with every option: HTTPS with a generated or given certificate.
    pub async fn start_with(
        scenario: Scenario,
        secret: SecretString,
        options: Options,
    ) -> Result<Sandbox, SandboxError> {
        let listen = options.listen;
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
        // Key and certificate generation are CPU-bound: keep them off the async workers.
        let tls = options.tls;
        let (key, prepared) = tokio::task::spawn_blocking(move || {
            Ok::<_, SandboxError>((keys::SigningKey::generate()?, tls::prepare(&tls)?))
        })
        .await
        .map_err(|e| SandboxError::Key(e.to_string()))??;
        let scheme = if prepared.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{addr}");
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
            server::Origin {
                scheme,
                listen: addr,
            },
            github,
            stopped.clone(),
        ));
        let app = server::router(Arc::clone(&state));
        let mut shutdown = stopped;
        let signal = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        let ca_pem = prepared.as_ref().and_then(|p| p.ca_pem.clone());
        let task = match prepared {
            None => tokio::spawn(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(signal);
                if let Err(error) = serve.await {
                    tracing::error!(%error, "sandbox server stopped");
                }
            }),
            Some(prepared) => {
                let listener = tls::TlsListener::new(listener, prepared.acceptor)
                    .map_err(|source| SandboxError::Bind { addr, source })?;
                tokio::spawn(async move {
                    let serve = axum::serve(listener, app).with_graceful_shutdown(signal);
                    if let Err(error) = serve.await {
                        tracing::error!(%error, "sandbox server stopped");
                    }
                })
            }
        };
        tracing::info!(base_url = %format!("{scheme}://{addr}"), "sandbox listening");
        Ok(Sandbox {
            state,
            addr,
            stop,
            task,
            scheme,
            ca_pem,
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS), no trailing slash: the authority host to
    /// give consentry.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The PEM of the CA that signed the sandbox's generated server certificate ([`Tls::Generate`]):
    /// what a client must trust. `None` for plain HTTP or a certificate brought as files.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
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
