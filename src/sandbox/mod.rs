//! The sandbox identity platform: a loopback stand-in for Entra ID's token endpoints (reference
//! §2–§4) that verify's tests, `consentry demo` and users' CI rehearsals talk to.
//!
//! A [`Scenario`] says which tenants exist, what each granted and how each fails; [`Sandbox::start`]
//! serves it on 127.0.0.1 with a fresh RSA key until [`Sandbox::shutdown`].

mod aadsts;
mod graph;
mod keys;
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

pub use graph::{GraphThrottle, ScenarioGraph};
pub use scenario::{
    AudForm, Failure, Lie, Scenario, ScenarioApp, ScenarioTenant, Signature, Throttle,
    ThrottleBody, Transient,
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
        let key = tokio::task::spawn_blocking(keys::SigningKey::generate)
            .await
            .map_err(|e| SandboxError::Key(e.to_string()))??;
        let (stop, stopped) = watch::channel(false);
        let base_url = format!("http://{addr}");
        let state = Arc::new(server::State::new(
            scenario,
            secret,
            key,
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
