//! `verify`: one app-only token per tenant × API, the roles each tenant really granted.
//!
//! [`run`] fans the token requests out through one shared client and concurrency gate, reads each
//! token's claims as they arrive (keeping the roles, dropping the token), then [`assess`] turns the
//! outcomes into the [`Report`], tenants in manifest order.
//!
//! A run is bounded in time: at [`Options::deadline`] every request still out is abandoned (sleeping
//! retries included) and reported `error` "deadline reached". [`run_until`] also takes a stop signal
//! (the CLI's SIGINT/SIGTERM): the run ends at once and what was not answered is `not_checked`, so
//! the report written on the way out says what is known and what is not.

mod assess;
pub mod report;

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use futures::StreamExt as _;
use secrecy::{ExposeSecret as _, SecretString};
use url::{Host, Url};

use crate::auth::{Gate, RetryPolicy, TokenClient, TokenError};
use crate::cloud::Cloud;
use crate::consent::LinkStyle;
use crate::jwt;
use crate::model::Manifest;

pub use assess::{ApiOutcome, Unfinished};
pub use report::{Report, Status};

/// How `verify` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where tokens are requested (see [`authority_host`]).
    pub authority_host: Url,
    /// Token requests in flight at most.
    pub concurrency: usize,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Retries after the first attempt (throttling, 5xx, timeouts, connection errors).
    pub retries: u32,
    /// The longest wait between attempts, even when `Retry-After` asks for more.
    pub max_retry_after: Duration,
    /// The first backoff between attempts (doubled per retry, with jitter) when the server does
    /// not say `Retry-After`.
    pub backoff_base: Duration,
    /// `--tenant` filters (names or ids); empty means every tenant.
    pub tenants: Vec<String>,
    /// Extra roles count as findings (least privilege).
    pub fail_on_extra: bool,
    /// Which admin-consent link to put in reports.
    pub link_style: LinkStyle,
    /// How long the whole run may take; requests unanswered by then are `error`, "deadline
    /// reached".
    pub deadline: Duration,
}

/// The default [`Options::deadline`]: generous for thousands of tenants at the default
/// concurrency, short enough that a hostile or stuck endpoint cannot hold a CI job for hours.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(15 * 60);

impl Options {
    /// The documented defaults (concurrency 32, 30s timeout, 3 retries, waits capped at
    /// [`crate::auth::backoff::MAX_RETRY_WAIT`], a 15 min deadline), against `authority_host`.
    pub fn new(authority_host: Url) -> Self {
        let policy = RetryPolicy::default();
        Options {
            authority_host,
            concurrency: 32,
            timeout: policy.timeout,
            retries: policy.retries,
            max_retry_after: policy.max_retry_after,
            backoff_base: policy.backoff_base,
            tenants: Vec::new(),
            fail_on_extra: false,
            link_style: LinkStyle::default(),
            deadline: DEFAULT_DEADLINE,
        }
    }

    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            timeout: self.timeout,
            retries: self.retries,
            backoff_base: self.backoff_base,
            max_retry_after: self.max_retry_after,
        }
    }
}

/// Why `verify` could not start. Nothing was sent when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A `--tenant` filter matches no tenant.
    #[error("no tenant in the manifest is named `{needle}` or has that id{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownTenant {
        /// The filter as given.
        needle: String,
        /// The closest tenant name, when one is close.
        suggestion: Option<String>,
    },
    /// `--authority-host` is not a URL consentry will send a secret to.
    #[error("--authority-host `{input}`: {reason}")]
    Authority {
        /// The value as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--concurrency 0`.
    #[error("--concurrency must be at least 1")]
    Concurrency,
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] TokenError),
}

/// Whether `url`'s host is loopback: 127.0.0.0/8, ::1 or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The authority to request tokens from: `input` (`--authority-host`), or the cloud's login host.
/// `https://` always; `http://` only for loopback hosts, so a secret never crosses a network in
/// the clear. No credentials, query or fragment.
pub fn authority_host(input: Option<&str>, cloud: Cloud) -> Result<Url, VerifyError> {
    let text = input.map(str::trim).unwrap_or(cloud.authority_host());
    let parsed = Url::parse(text);
    // A password someone put in the URL must not come back in the error message.
    let shown = match &parsed {
        Ok(url) if url.password().is_some() => {
            let mut redacted = url.clone();
            let _ = redacted.set_password(Some("***"));
            redacted.to_string()
        }
        Ok(_) => text.to_owned(),
        // Unparseable: anything before an `@` may be a password; show only what follows it.
        Err(_) => match text.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => text.to_owned(),
        },
    };
    let refuse = |reason: &str| VerifyError::Authority {
        input: shown.clone(),
        reason: reason.to_owned(),
    };
    let url = parsed.map_err(|e| refuse(&format!("not a URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(refuse(
                "plain http:// is accepted only for loopback hosts (127.0.0.1, ::1, localhost); use https://",
            ));
        }
        _ => {
            return Err(refuse(
                "only https:// URLs (or http:// on loopback) are accepted",
            ));
        }
    }
    if url.host().is_none() {
        return Err(refuse("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("the URL must not carry a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("the URL must not carry a query or fragment"));
    }
    Ok(url)
}

/// Progress of a run, counted in tenants. The CLI draws a bar on a terminal; tests count.
pub trait Progress: Send + Sync {
    /// The run starts; `total` tenants will be checked.
    fn start(&self, total: usize);
    /// One more tenant is done.
    fn advance(&self);
    /// The run is over.
    fn finish(&self);
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _total: usize) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// The tenants `filters` select, in manifest order; every filter must match one.
fn select(manifest: &Manifest, filters: &[String]) -> Result<Vec<usize>, VerifyError> {
    for needle in filters {
        if !manifest.tenants.iter().any(|t| t.matches(needle)) {
            let suggestion = manifest
                .tenants
                .iter()
                .map(|t| {
                    let score =
                        strsim::jaro_winkler(&t.name.to_lowercase(), &needle.to_lowercase())
                            .max(strsim::jaro_winkler(t.id.as_str(), &needle.to_lowercase()));
                    (score, t)
                })
                .filter(|(score, _)| *score >= 0.8)
                // On a tie the earlier tenant in the manifest wins.
                .fold(
                    None::<(f64, &crate::model::Tenant)>,
                    |best, (score, t)| match best {
                        Some((top, _)) if top >= score => best,
                        _ => Some((score, t)),
                    },
                )
                .map(|(_, t)| t.name.clone());
            return Err(VerifyError::UnknownTenant {
                needle: needle.clone(),
                suggestion,
            });
        }
    }
    Ok((0..manifest.tenants.len())
        .filter(|&i| filters.is_empty() || filters.iter().any(|f| manifest.tenants[i].matches(f)))
        .collect())
}

/// Checks every selected tenant: one token request per tenant × required API, claims checked,
/// roles compared. `Err` only for usage problems (nothing sent); every tenant's failure is data in
/// the report.
pub async fn run(
    manifest: &Manifest,
    secret: &SecretString,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, VerifyError> {
    run_until(manifest, secret, options, progress, std::future::pending()).await
}

/// [`run`], ending early when `stop` completes (with the name of what stopped it, e.g. `SIGINT`):
/// requests in flight are abandoned, no new one is sent, and every tenant × API not yet answered is
/// reported `not_checked`.
pub async fn run_until(
    manifest: &Manifest,
    secret: &SecretString,
    options: &Options,
    progress: &dyn Progress,
    stop: impl Future<Output = &'static str>,
) -> Result<Report, VerifyError> {
    if options.concurrency == 0 {
        return Err(VerifyError::Concurrency);
    }
    let selected = select(manifest, &options.tenants)?;
    let http = crate::auth::http_client(&options.authority_host)?;
    let client = TokenClient::new(
        http,
        options.authority_host.clone(),
        &manifest.app.client_id,
        secret.clone(),
        options.retry_policy(),
    );
    let gate = Gate::new(options.concurrency);

    // One job per tenant × API the tenant requires, APIs in manifest order.
    let jobs: Vec<(usize, usize)> = selected
        .iter()
        .enumerate()
        .flat_map(|(slot, &ti)| {
            let tenant = &manifest.tenants[ti];
            manifest
                .apis
                .iter()
                .enumerate()
                .filter(|(_, api)| tenant.required.contains_key(&api.key))
                .map(move |(ai, _)| (slot, ai))
        })
        .collect();
    // Requests still out per tenant: progress counts tenants, not requests.
    let mut remaining = vec![0usize; selected.len()];
    for &(slot, _) in &jobs {
        remaining[slot] += 1;
    }
    progress.start(selected.len());
    for _ in remaining.iter().filter(|&&n| n == 0) {
        progress.advance();
    }

    tracing::debug!(
        tenants = selected.len(),
        requests = jobs.len(),
        concurrency = options.concurrency,
        authority = %options.authority_host,
        "verify starts"
    );
    let mut outcomes: Vec<Option<ApiOutcome>> = (0..jobs.len()).map(|_| None).collect();
    // The gate caps attempts in flight; the buffer only bounds how many jobs exist at once, so
    // memory stays flat however many tenants there are.
    let buffer = options.concurrency.saturating_mul(4);
    let mut stream = futures::stream::iter(jobs.iter().copied().enumerate())
        .map(|(index, (slot, ai))| {
            let tenant = &manifest.tenants[selected[slot]];
            let api = &manifest.apis[ai];
            let client = &client;
            let gate = &gate;
            async move {
                let result = client
                    .request(tenant.id.as_str(), &api.resource, Some(gate))
                    .await;
                let expected = jwt::Expected {
                    tenant_id: tenant.id.guid(),
                    resource: &api.resource,
                    resource_app_id: api.resource_app_id.as_deref(),
                    client_id: &manifest.app.client_id,
                };
                let outcome = read_token(result, &expected);
                tracing::debug!(tenant = %tenant.id, api = %api.key, status = %outcome.status(), "tenant × API checked");
                (index, slot, outcome)
            }
        })
        .buffer_unordered(buffer.max(1));
    let deadline = tokio::time::sleep(options.deadline);
    let mut deadline = std::pin::pin!(deadline);
    let mut stop = std::pin::pin!(stop);
    let unfinished = loop {
        tokio::select! {
            // A stop asked for wins over an answer that happens to be ready too.
            biased;
            signal = &mut stop => break Some(Unfinished::Stopped(signal)),
            () = &mut deadline => break Some(Unfinished::Deadline(options.deadline)),
            next = stream.next() => match next {
                Some((index, slot, outcome)) => {
                    outcomes[index] = Some(outcome);
                    remaining[slot] -= 1;
                    if remaining[slot] == 0 {
                        progress.advance();
                    }
                }
                None => break None,
            },
        }
    };
    // Dropping the stream abandons every request still in flight and every retry still asleep.
    drop(stream);
    progress.finish();
    if let Some(why) = &unfinished {
        tracing::warn!(
            unanswered = outcomes.iter().filter(|o| o.is_none()).count(),
            reason = ?why,
            "verify ended early"
        );
    }

    let mut per_tenant: Vec<Vec<(usize, ApiOutcome)>> =
        (0..selected.len()).map(|_| Vec::new()).collect();
    for ((slot, ai), outcome) in jobs.into_iter().zip(outcomes) {
        // Every job yields exactly once unless the run ended early; any other hole would be a bug,
        // reported rather than panicking.
        let outcome = outcome.unwrap_or_else(|| match &unfinished {
            Some(why) => ApiOutcome::Unfinished(why.clone()),
            None => ApiOutcome::Failed(TokenError::Client(
                "internal: no result for this request".to_owned(),
            )),
        });
        per_tenant[slot].push((ai, outcome));
    }
    Ok(assess::report(
        manifest,
        &selected,
        per_tenant,
        options,
        chrono::Utc::now(),
    ))
}

/// Turns a token (or the failure to get one) into what verify needs from it; the token is dropped.
fn read_token(
    result: Result<crate::auth::AccessToken, TokenError>,
    expected: &jwt::Expected<'_>,
) -> ApiOutcome {
    let token = match result {
        Ok(token) => token,
        Err(e) => return ApiOutcome::Failed(e),
    };
    match jwt::decode(token.token.expose_secret()) {
        Ok(decoded) => {
            let problems = jwt::check(&decoded, expected, chrono::Utc::now());
            let tid = decoded.tid().map(str::to_ascii_lowercase);
            if problems.is_empty() {
                ApiOutcome::Token {
                    tid,
                    roles: decoded.roles(),
                }
            } else {
                ApiOutcome::Invalid {
                    message: problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                }
            }
        }
        Err(e) => ApiOutcome::Invalid {
            message: format!("the access token is not a readable JWT: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_host_rules() {
        assert_eq!(
            authority_host(None, Cloud::GccHigh).unwrap().as_str(),
            "https://login.microsoftonline.us/"
        );
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:1",
            "http://LOCALHOST:3000/",
            "https://login.example.test/prefix",
        ] {
            assert!(authority_host(Some(ok), Cloud::Global).is_ok(), "{ok}");
        }
        for bad in [
            "http://login.microsoftonline.com",
            "http://10.0.0.1",
            "http://localhost.evil.test",
            "ftp://127.0.0.1",
            "https://user:pw@login.microsoftonline.com",
            "https://user:pw@login.microsoftonline.com:badport",
            "https://login.microsoftonline.com/?x=1",
            "not a url",
        ] {
            let err = authority_host(Some(bad), Cloud::Global).unwrap_err();
            assert!(matches!(err, VerifyError::Authority { .. }), "{bad}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        let err = authority_host(Some("http://example.com"), Cloud::Global)
            .unwrap_err()
            .to_string();
        assert!(err.contains("loopback"), "{err}");
    }
}
