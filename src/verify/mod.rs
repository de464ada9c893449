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
//!
//! [`run_waiting`] (`verify --wait`) repeats the run for onboarding. After an admin consents, the
//! app's service principal and its app-role assignments must replicate before Entra puts the new
//! roles in app-only tokens, which Microsoft documents as taking minutes (learn.microsoft.com,
//! "Grant tenant-wide admin consent to an application" and the Entra "app-only access"
//! troubleshooting notes); and Entra throttles a client that asks too often with HTTP 429 and
//! `Retry-After`. So rounds start 15 s apart, double up to 4 min (×4 after a throttled round),
//! every request inside a round honours `Retry-After` as usual, and the CLI refuses a first
//! pause under 15 s against anything but a loopback authority.
//!
//! [`select`] is the one place tenants are picked, by name/id (`--tenant`) and label (`--label`,
//! `a+b` for both), for `verify`, `plan` and `token` alike.

mod assess;
pub mod report;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use secrecy::ExposeSecret as _;
use url::Url;

use crate::consent::LinkStyle;
use crate::credential::AppCredential;
use crate::entra::keys::{KeySet, SignatureCheck};
use crate::entra::{Kind, TokenClient, TokenError};
use crate::http::{Gate, RetryPolicy};
use crate::jwt;
use crate::model::Manifest;

pub use assess::{ApiOutcome, Unfinished, assess, summary};
pub use report::{Report, Status};

/// How `verify` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where tokens are requested (see [`crate::cloud::authority_host`]).
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
    /// `--tenant` filters (names or ids); with `labels` empty too, every tenant.
    pub tenants: Vec<String>,
    /// `--label` filters: a tenant carrying any of them is selected too; `a+b` means both.
    pub labels: Vec<String>,
    /// Extra roles count as findings (least privilege).
    pub fail_on_extra: bool,
    /// Which admin-consent link to put in reports.
    pub link_style: LinkStyle,
    /// How long the whole run may take; requests unanswered by then are `error`, "deadline
    /// reached".
    pub deadline: Duration,
    /// Check every token's signature against the authority's published keys
    /// (`--verify-signature`).
    pub verify_signature: bool,
    /// Extra trust anchors (`--ca-cert`) on top of the system's.
    pub ca_certs: crate::http::ExtraRoots,
    /// Connect without any proxy, whatever the environment says: for the demo's in-process
    /// sandbox, which no proxy can reach.
    pub direct: bool,
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
            labels: Vec::new(),
            fail_on_extra: false,
            link_style: LinkStyle::default(),
            deadline: DEFAULT_DEADLINE,
            verify_signature: false,
            ca_certs: crate::http::ExtraRoots::default(),
            direct: false,
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
    /// A `--label` names a label no tenant has.
    #[error("no tenant in the manifest has the label `{needle}`{}; labels in use: {}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownLabel {
        /// The label as given.
        needle: String,
        /// The closest label in use, when one is close.
        suggestion: Option<String>,
        /// Every label in use, in manifest order.
        known: Vec<String>,
    },
    /// A `--label a+b` that no tenant carries whole.
    #[error(
        "no tenant has every label of `--label {0}` (`+` means all of them; repeat --label for any of them)"
    )]
    NoTenantCarries(String),
    /// `--authority-host` is not a URL consentry will send a secret to.
    #[error(transparent)]
    Authority(#[from] crate::cloud::AuthorityError),
    /// `--concurrency 0`.
    #[error("--concurrency must be at least 1")]
    Concurrency,
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] crate::http::ClientError),
}

/// Progress of a run, counted in tenants. The CLI draws a bar on a terminal; tests count.
pub trait Progress: Send + Sync {
    /// The run starts; `total` token requests (tenant × API) will be made.
    fn start(&self, total: usize);
    /// One more token request is answered (retries included).
    fn advance(&self);
    /// A request will be retried after the `Retry-After` wait its answer asked for.
    fn waiting(&self, _retry_after: std::time::Duration) {}
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

/// The tenants `--tenant` and `--label` select, in manifest order (see [`select`]).
fn selected(manifest: &Manifest, options: &Options) -> Result<Vec<usize>, VerifyError> {
    select(manifest, &options.tenants, &options.labels)
}

/// The closest of `candidates` to `needle` (case-insensitive), when one is close; on a tie the
/// earlier candidate wins.
fn closest<S: AsRef<str>>(needle: &str, candidates: impl Iterator<Item = S>) -> Option<String> {
    let needle = needle.to_lowercase();
    candidates
        .map(|c| (strsim::jaro_winkler(&c.as_ref().to_lowercase(), &needle), c))
        .filter(|(score, _)| *score >= 0.8)
        .fold(None::<(f64, S)>, |best, (score, c)| match best {
            Some((top, _)) if top >= score => best,
            _ => Some((score, c)),
        })
        .map(|(_, c)| c.as_ref().to_owned())
}

/// Whether `labels` hold every label of `expression` (`emea+tier-1`: both), case-insensitively.
pub fn carries(labels: &[String], expression: &str) -> bool {
    expression
        .split('+')
        .all(|label| labels.iter().any(|l| l.eq_ignore_ascii_case(label.trim())))
}

/// The tenants selected by `--tenant` (names or ids) and `--label` (expressions), in manifest
/// order: a tenant is selected when any `--tenant` names it or it carries any `--label`
/// expression (`a+b` means both labels). Nothing given selects every tenant. Shared by `verify`,
/// `plan` and `token`, so a typo gets the same did-you-mean everywhere.
///
/// Every filter must select something: an unknown tenant or label is an error (with the closest
/// name), and so is a label expression no tenant carries whole.
pub fn select(
    manifest: &Manifest,
    tenants: &[String],
    labels: &[String],
) -> Result<Vec<usize>, VerifyError> {
    for needle in tenants {
        if !manifest.tenants.iter().any(|t| t.matches(needle)) {
            let suggestion = closest(
                needle,
                manifest
                    .tenants
                    .iter()
                    .flat_map(|t| [t.name.clone(), t.id.to_string()]),
            )
            // An id resembling the needle suggests the tenant's name.
            .map(|found| {
                manifest
                    .tenants
                    .iter()
                    .find(|t| t.matches(&found))
                    .map_or(found, |t| t.name.clone())
            });
            return Err(VerifyError::UnknownTenant {
                needle: needle.clone(),
                suggestion,
            });
        }
    }
    let mut known: Vec<&str> = Vec::new();
    for label in manifest.tenants.iter().flat_map(|t| &t.labels) {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(label)) {
            known.push(label);
        }
    }
    for expression in labels {
        for label in expression.split('+').map(str::trim) {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(label)) {
                return Err(VerifyError::UnknownLabel {
                    needle: label.to_owned(),
                    suggestion: closest(label, known.iter().copied()),
                    known: known.iter().map(|k| (*k).to_owned()).collect(),
                });
            }
        }
        if !manifest
            .tenants
            .iter()
            .any(|t| carries(&t.labels, expression))
        {
            return Err(VerifyError::NoTenantCarries(expression.clone()));
        }
    }
    let every = tenants.is_empty() && labels.is_empty();
    Ok((0..manifest.tenants.len())
        .filter(|&i| {
            let t = &manifest.tenants[i];
            every
                || tenants.iter().any(|f| t.matches(f))
                || labels.iter().any(|e| carries(&t.labels, e))
        })
        .collect())
}

/// Checks every selected tenant: one token request per tenant × required API, claims checked,
/// roles compared. `Err` only for usage problems (nothing sent); every tenant's failure is data in
/// the report.
pub async fn run(
    manifest: &Manifest,
    credential: &AppCredential,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, VerifyError> {
    run_until(
        manifest,
        credential,
        options,
        progress,
        std::future::pending(),
    )
    .await
}

/// [`run`], ending early when `stop` completes (with the name of what stopped it, e.g. `SIGINT`):
/// requests in flight are abandoned, no new one is sent, and every tenant × API not yet answered is
/// reported `not_checked`.
pub async fn run_until(
    manifest: &Manifest,
    credential: &AppCredential,
    options: &Options,
    progress: &dyn Progress,
    stop: impl Future<Output = &'static str>,
) -> Result<Report, VerifyError> {
    if options.concurrency == 0 {
        return Err(VerifyError::Concurrency);
    }
    let selected = selected(manifest, options)?;
    let http = if options.direct {
        crate::http::direct_client_with(&options.authority_host, &options.ca_certs)?
    } else {
        crate::http::client_with(&options.authority_host, &options.ca_certs)?
    };
    let client = TokenClient::new(
        http.clone(),
        options.authority_host.clone(),
        &manifest.app.client_id.to_string(),
        credential.clone(),
        options.retry_policy(),
    );
    let gate = Gate::new(options.concurrency);
    let keys = options.verify_signature.then(|| {
        KeySet::new(
            http.clone(),
            options.authority_host.clone(),
            options.retry_policy(),
        )
    });
    let verified = AtomicUsize::new(0);
    let not_verifiable = AtomicUsize::new(0);

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
    // Progress counts requests: a tenant with three APIs is three steps, and a long wait on one
    // request shows as such instead of a frozen tenant count.
    progress.start(jobs.len());
    let started = std::time::Instant::now();
    // Per job: attempts answered and milliseconds to the final answer, for the report.
    let mut timings: Vec<(u32, u64)> = vec![(0, 0); jobs.len()];

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
            let (keys, verified, not_verifiable) = (keys.as_ref(), &verified, &not_verifiable);
            async move {
                let attempts = std::sync::atomic::AtomicU32::new(0);
                let began = std::time::Instant::now();
                let observe = |attempt: crate::entra::Attempted| {
                    attempts.fetch_max(attempt.number, Ordering::Relaxed);
                    if let Some(wait) = attempt.retry_after {
                        progress.waiting(wait);
                    }
                };
                let result = client
                    .request_observed(&tenant.id.as_str(), &api.resource, Some(gate), &observe)
                    .await;
                let timing = (
                    attempts.load(Ordering::Relaxed),
                    u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
                );
                let expected = jwt::Expected {
                    tenant_id: tenant.id.guid(),
                    resource: &api.resource,
                    resource_app_id: api.resource_app_id.as_deref(),
                    client_id: manifest.app.client_id,
                };
                let outcome = match (result, keys) {
                    (Ok(token), Some(keys)) => {
                        let raw = token.token.expose_secret();
                        let header = jwt::decode(raw).map(|d| d.header).unwrap_or_default();
                        match keys.check(raw, &header).await {
                            SignatureCheck::Verified => {
                                verified.fetch_add(1, Ordering::Relaxed);
                                read_token(Ok(token), &expected)
                            }
                            SignatureCheck::NotVerifiable(why) => {
                                tracing::debug!(tenant = %tenant.id, api = %api.key, why, "signature not verifiable");
                                not_verifiable.fetch_add(1, Ordering::Relaxed);
                                read_token(Ok(token), &expected)
                            }
                            SignatureCheck::Invalid(why) => ApiOutcome::Invalid {
                                message: format!("signature: {why}"),
                            },
                        }
                    }
                    (result, _) => read_token(result, &expected),
                };
                tracing::debug!(tenant = %tenant.id, api = %api.key, status = %outcome.status(), "tenant × API checked");
                (index, outcome, timing)
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
                Some((index, outcome, timing)) => {
                    outcomes[index] = Some(outcome);
                    timings[index] = timing;
                    progress.advance();
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

    let elapsed = started.elapsed();
    // Each tenant's API reports come in the order of its jobs.
    let mut per_tenant_timings: Vec<Vec<(u32, u64)>> = vec![Vec::new(); selected.len()];
    for (&(slot, _), timing) in jobs.iter().zip(&timings) {
        per_tenant_timings[slot].push(*timing);
    }
    let mut per_tenant: Vec<Vec<(usize, ApiOutcome)>> =
        (0..selected.len()).map(|_| Vec::new()).collect();
    for ((slot, ai), outcome) in jobs.into_iter().zip(outcomes) {
        // Every job yields exactly once unless the run ended early; any other hole would be a bug,
        // reported rather than panicking.
        let outcome = outcome.unwrap_or_else(|| match &unfinished {
            Some(why) => ApiOutcome::Unfinished(why.clone()),
            None => ApiOutcome::Failed(TokenError::new(
                Kind::Setup,
                "internal: no result for this request",
            )),
        });
        per_tenant[slot].push((ai, outcome));
    }
    let mut report = assess(manifest, &selected, per_tenant, options, chrono::Utc::now());
    report.credential = Some(credential.info());
    report.elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    for (tenant, timings) in report.tenants.iter_mut().zip(per_tenant_timings) {
        for (api, (attempts, elapsed_ms)) in tenant.apis.iter_mut().zip(timings) {
            api.attempts = attempts;
            api.elapsed_ms = elapsed_ms;
        }
    }
    if options.verify_signature {
        report.signatures = Some(report::Signatures {
            verified: verified.into_inner(),
            not_verifiable: not_verifiable.into_inner(),
        });
    }
    Ok(report)
}

/// `verify --wait`: how long to keep checking, and the first pause between rounds.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    /// How long to keep checking in all (`--wait 15m`).
    pub total: Duration,
    /// The pause after the first round; each later pause doubles, up to [`WAIT_MAX_PAUSE`].
    pub first: Duration,
}

/// The default first pause of `--wait`. A new admin consent takes minutes to reach tokens (the
/// service principal and its app-role assignments replicate, and Entra caches them); asking every
/// few seconds would only spend the tenant's token-request budget, which Entra throttles with 429
/// and `Retry-After`.
pub const WAIT_FIRST_PAUSE: Duration = Duration::from_secs(15);

/// The longest pause between two rounds of `--wait`: a few minutes, so a grant that arrives is
/// seen soon after without hammering the token endpoint.
pub const WAIT_MAX_PAUSE: Duration = Duration::from_secs(4 * 60);

/// The pause after `previous`: doubled, and doubled again when the last round was throttled (its
/// requests already waited out each `Retry-After`), never more than [`WAIT_MAX_PAUSE`].
pub fn next_pause(previous: Duration, throttled: bool) -> Duration {
    let factor = if throttled { 4 } else { 2 };
    previous.saturating_mul(factor).min(WAIT_MAX_PAUSE)
}

/// Whether a round's report says Entra throttled some request (HTTP 429 after every retry).
fn throttled(report: &Report) -> bool {
    report.tenants.iter().any(|t| {
        t.apis
            .iter()
            .filter_map(|a| a.error.as_ref())
            .any(|e| e.http_status == Some(429))
    })
}

/// [`run_until`] again and again (`verify --wait`) until every selected tenant is `ok`, `wait`
/// is over, or `stop` (made anew per round and per pause) completes; returns the last round's
/// report. `on_round` is told each unfinished round's report and the pause before the next one.
/// No round runs past the end of the wait: its deadline is cut to what is left.
pub async fn run_waiting<F: Future<Output = &'static str>>(
    manifest: &Manifest,
    credential: &AppCredential,
    options: &Options,
    progress: &dyn Progress,
    wait: Wait,
    stop: impl Fn() -> F,
    mut on_round: impl FnMut(&Report, Duration),
) -> Result<Report, VerifyError> {
    let end = tokio::time::Instant::now() + wait.total;
    let mut pause = wait.first;
    loop {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        let round = Options {
            deadline: options.deadline.min(left.max(Duration::from_secs(1))),
            ..options.clone()
        };
        let report = run_until(manifest, credential, &round, progress, stop()).await?;
        let done = report.tenants.iter().all(|t| t.status == Status::Ok);
        let stopped = report
            .tenants
            .iter()
            .any(|t| t.status == Status::NotChecked);
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if done || stopped || left.is_zero() {
            return Ok(report);
        }
        let now = pause.min(left);
        on_round(&report, now);
        tokio::select! {
            biased;
            _ = stop() => return Ok(report),
            () = tokio::time::sleep(now) => {}
        }
        pause = next_pause(pause, throttled(&report));
    }
}

/// Turns a token (or the failure to get one) into what verify needs from it; the token is dropped.
fn read_token(
    result: Result<crate::entra::AccessToken, TokenError>,
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
