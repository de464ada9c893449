//! The HTTP plumbing every online client shares: one client per run (TLS verified against the
//! system's roots plus any `--ca-cert`, no redirects, proxies from the environment and the system
//! settings), body reads capped in size, a request id per attempt, and the
//! retry loop (backoff with jitter, `Retry-After`, the concurrency [`Gate`]).
//!
//! The token client (`entra`) is the first user; a Graph or Defender client reuses the same pieces,
//! so a hostile server meets the same bounds whichever service it pretends to be.

pub mod backoff;
pub mod gate;

use std::future::Future;
use std::time::{Duration, Instant};

use url::Url;

pub use backoff::RetryPolicy;
pub use gate::Gate;

/// The largest body consentry reads from any server. Token responses are a few KB and discovery or
/// key documents tens of KB; 1 MiB is generous, and bounds memory at `--concurrency` MiB whatever a
/// server streams.
pub const MAX_BODY: usize = 1024 * 1024;

/// The shared HTTP client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct ClientError(pub String);

/// The largest `--ca-cert` file read: a PEM bundle of a few corporate CAs is a few KB; the whole
/// Mozilla bundle is about 220 KB.
pub const MAX_CA_FILE: u64 = 1024 * 1024;

/// Extra trust anchors (`--ca-cert FILE`), trusted on top of the system's: the CA of a
/// TLS-inspecting proxy, or the sandbox's generated CA.
#[derive(Debug, Clone, Default)]
pub struct ExtraRoots(Vec<reqwest::Certificate>);

impl ExtraRoots {
    /// Reads one PEM file (one or more `CERTIFICATE` blocks), bounded by [`MAX_CA_FILE`].
    pub fn add_pem_file(&mut self, path: &std::path::Path) -> Result<(), ClientError> {
        let shown = path.display();
        let bytes = crate::input::read(path, MAX_CA_FILE)
            .map_err(|e| ClientError(format!("cannot read the CA certificate {shown}: {e}")))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|_| {
            ClientError(format!(
                "{shown} is not a PEM certificate file (`-----BEGIN CERTIFICATE-----` blocks)"
            ))
        })?;
        if certificates.is_empty() {
            return Err(ClientError(format!(
                "{shown} holds no PEM certificate (`-----BEGIN CERTIFICATE-----` blocks)"
            )));
        }
        self.0.extend(certificates);
        Ok(())
    }

    /// How many certificates were added.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none were added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The shared HTTP client for requests to `authority`: one connection pool for the whole run, TLS
/// always verified (rustls), `https://` only unless the authority is loopback.
pub fn client(authority: &Url) -> Result<reqwest::Client, ClientError> {
    client_with(authority, &ExtraRoots::default())
}

/// [`client`], trusting `roots` on top of the system's trust store.
///
/// Proxies come from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) and,
/// through reqwest's `system-proxy` feature, from the Windows and macOS system settings. A
/// loopback authority is not exempted here: `NO_PROXY` decides for it as for any host, so a
/// debugging proxy can sit in front of the sandbox (and `NO_PROXY=127.0.0.1,localhost` keeps a
/// corporate proxy away from it).
pub fn client_with(authority: &Url, roots: &ExtraRoots) -> Result<reqwest::Client, ClientError> {
    builder(authority, roots)
        .build()
        .map_err(|e| ClientError(e.to_string()))
}

/// [`client_with`], connecting without any proxy: for a server in this very process (the demo's
/// sandbox), which a proxy the environment names could never reach.
pub fn direct_client_with(
    authority: &Url,
    roots: &ExtraRoots,
) -> Result<reqwest::Client, ClientError> {
    builder(authority, roots)
        .no_proxy()
        .build()
        .map_err(|e| ClientError(e.to_string()))
}

fn builder(authority: &Url, roots: &ExtraRoots) -> reqwest::ClientBuilder {
    let loopback = crate::cloud::is_loopback(authority);
    reqwest::Client::builder()
        .user_agent(concat!("consentry/", env!("CARGO_PKG_VERSION")))
        .https_only(!loopback)
        // Identity endpoints never redirect; following a 307/308 would re-send a form body (a
        // client secret or assertion included) to whatever host the `Location` names.
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge(roots.0.iter().cloned())
}

/// The hint for a certificate the client does not trust, for every client's message.
pub const UNTRUSTED_HINT: &str = "if a TLS-inspecting proxy or a private CA signs it, trust that CA: --ca-cert FILE (PEM), or SSL_CERT_FILE=FILE (Linux)";

/// Why TLS refused the server's certificate, when that is what `error` comes to (an unknown
/// issuer, an expired or misnamed certificate). Retrying cannot change that answer, so callers
/// fail at once with [`UNTRUSTED_HINT`] instead of counting it a connection error worth retries.
pub fn untrusted_certificate(error: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(tls) = rustls_error(current)
            && matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            )
        {
            return Some(tls.to_string());
        }
        cause = current.source();
    }
    None
}

/// The rustls error `error` is or wraps. hyper nests rustls's error in an `io::Error` inside
/// another `io::Error`, and `io::Error::source` skips the error it wraps, so each wrapper is
/// opened by hand (a few levels at most).
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = error;
    for _ in 0..8 {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = current.downcast_ref::<std::io::Error>()?.get_ref()?;
        current = inner;
    }
    None
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The server sent (or announced) more than the cap; reading stopped there.
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The connection failed or timed out mid-body.
    Transport(reqwest::Error),
}

/// Reads `response`'s body, at most `limit` bytes: a `Content-Length` above the cap is refused
/// before reading, and a streamed body is cut off as soon as it passes the cap, so memory stays
/// bounded whatever the server sends.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|announced| announced > limit as u64)
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A fresh request id for one attempt, sent as `client-request-id`: Entra echoes it as the
/// correlation id, so a log line can be matched with what Microsoft support sees.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The innermost cause of a transport error ("Connection refused"), which is what a reader needs;
/// reqwest's own message repeats the URL.
pub fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// What one attempt came to.
#[derive(Debug)]
pub enum Step<T, E> {
    /// A final answer: success, or a failure retrying cannot change.
    Done(Result<T, E>),
    /// Throttling or a transient fault: try again after the backoff (or `retry_after`).
    Again {
        /// The failure, returned if no retry is left.
        error: E,
        /// What the server's `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
}

/// One attempt's identity, handed to the attempt function.
#[derive(Debug, Clone)]
pub struct AttemptInfo {
    /// 1 for the first attempt.
    pub number: u32,
    /// This attempt's `client-request-id`.
    pub request_id: String,
}

/// Why [`with_retries`] gave up.
#[derive(Debug)]
pub enum GaveUp<E> {
    /// The last attempt's failure: final, or the last of the retries.
    Failed {
        /// What it was.
        error: E,
        /// Attempts made.
        attempts: u32,
    },
    /// The gate closed (another request showed the credential is rejected): nothing more was sent.
    Cancelled,
}

/// Runs `attempt` until it is done or the retries in `policy` run out.
///
/// With a `gate`, every attempt holds one of its permits while in flight (sleeps between attempts
/// do not); an answer for which `closes_gate` holds closes the gate so no further request of the
/// run is sent, and any answer opens it to full width.
pub async fn with_retries<T, E, F, Fut>(
    policy: &RetryPolicy,
    gate: Option<&Gate>,
    closes_gate: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, GaveUp<E>>
where
    F: FnMut(AttemptInfo) -> Fut,
    Fut: Future<Output = Step<T, E>>,
{
    let mut number = 0;
    loop {
        number += 1;
        let permit = match gate {
            Some(gate) => match gate.acquire().await {
                Some(permit) => Some(permit),
                None => return Err(GaveUp::Cancelled),
            },
            None => None,
        };
        let started = Instant::now();
        let step = attempt(AttemptInfo {
            number,
            request_id: request_id(),
        })
        .await;
        drop(permit);
        tracing::trace!(
            attempt = number,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "attempt answered"
        );
        if let Some(gate) = gate {
            if matches!(&step, Step::Done(Err(e)) if closes_gate(e)) {
                gate.close();
            }
            gate.open();
        }
        match step {
            Step::Done(result) => {
                return result.map_err(|error| GaveUp::Failed {
                    error,
                    attempts: number,
                });
            }
            Step::Again { error, .. } if number > policy.retries => {
                return Err(GaveUp::Failed {
                    error,
                    attempts: number,
                });
            }
            Step::Again { retry_after, .. } => {
                let jitter: f64 = rand::random();
                let wait = backoff::delay(policy, number - 1, retry_after, jitter);
                tracing::trace!(wait_ms = wait.as_millis() as u64, "backing off");
                match gate {
                    Some(gate) => {
                        if !gate.sleep(wait).await {
                            return Err(GaveUp::Cancelled);
                        }
                    }
                    None => tokio::time::sleep(wait).await,
                }
            }
        }
    }
}

/// Extracts a usable `Retry-After`, if the answer carried one.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    backoff::parse_retry_after(value, chrono::Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> RetryPolicy {
        RetryPolicy {
            retries: 2,
            backoff_base: Duration::from_millis(1),
            ..RetryPolicy::default()
        }
    }

    #[tokio::test]
    async fn retries_until_done_or_out_of_retries() {
        let mut seen = Vec::new();
        let result: Result<u32, GaveUp<&str>> = with_retries(
            &quick(),
            None,
            |_| false,
            |info| {
                seen.push(info.request_id.clone());
                let number = info.number;
                async move {
                    if number < 3 {
                        Step::Again {
                            error: "busy",
                            retry_after: None,
                        }
                    } else {
                        Step::Done(Ok(number))
                    }
                }
            },
        )
        .await;
        assert_eq!(result.unwrap(), 3);
        assert_eq!(seen.len(), 3);
        assert!(seen[0] != seen[1], "a fresh request id per attempt");

        let gave_up: Result<(), _> = with_retries(
            &quick(),
            None,
            |_| false,
            |_| async {
                Step::Again {
                    error: "busy",
                    retry_after: None,
                }
            },
        )
        .await;
        assert!(matches!(
            gave_up,
            Err(GaveUp::Failed {
                error: "busy",
                attempts: 3
            })
        ));
    }

    #[tokio::test]
    async fn a_fatal_answer_closes_the_gate_for_everyone() {
        let gate = Gate::new(4);
        let first: Result<(), _> = with_retries(
            &quick(),
            Some(&gate),
            |e: &&str| *e == "rejected",
            |_| async { Step::Done(Err("rejected")) },
        )
        .await;
        assert!(matches!(first, Err(GaveUp::Failed { attempts: 1, .. })));
        let mut sent = false;
        let second: Result<(), GaveUp<&str>> = with_retries(
            &quick(),
            Some(&gate),
            |_| false,
            |_| {
                sent = true;
                async { Step::Done(Ok(())) }
            },
        )
        .await;
        assert!(matches!(second, Err(GaveUp::Cancelled)));
        assert!(!sent, "nothing is sent once the gate is closed");
    }
}
