//! The sandbox's HTTP side: routes, the token endpoints' checks in Entra's order, tokens, JWKS and
//! discovery documents, and the request log.
//!
//! What Entra does that the sandbox reproduces (reference §2–§4, and Microsoft's identity platform
//! docs "OpenID Connect on the Microsoft identity platform", "Access tokens", "Access token claims
//! reference", "Microsoft identity platform and the OAuth 2.0 client credentials flow"):
//!
//! - Discovery documents (`/{tenant}/.well-known/openid-configuration`, v1; `/{tenant}/v2.0/...`,
//!   v2) name endpoints on the login host the client used, so every URL here is built from the
//!   request's scheme and `Host` (a client behind `localhost` gets `localhost` back). Only `issuer`
//!   stays Entra's (`https://sts.windows.net/{tid}/`, `https://login.microsoftonline.com/{tid}/v2.0`):
//!   it names who issues tokens, not where to reach it.
//! - Instance discovery (`/common/discovery/instance?api-version=1.1&authorization_endpoint=…`),
//!   which MSAL calls before anything else, answers `tenant_discovery_endpoint` (the v2 discovery
//!   document of the tenant in `authorization_endpoint`), `api-version` and `metadata`: a list of
//!   `{preferred_network, preferred_cache, aliases}` naming the host's aliases (for Entra,
//!   `login.microsoftonline.com`, `login.windows.net`, `login.microsoft.com`, `sts.windows.net`);
//!   the sandbox has one name: the host it was reached by.
//! - Keys: see [`super::keys`]; the v2 keys document adds `issuer` to each key.
//! - Tokens: `iat` and `nbf` are backdated by five minutes (clock skew between Entra's servers and
//!   the resource's), the token lives 60–90 minutes, and `expires_in` (v1 also `expires_on`) tells
//!   the truth about `exp`, counted from the moment of issue. Claims come in the order of reference
//!   §3's example, with the opaque `aio` (internal), `rh` (refresh hint: base64url of the tenant and
//!   resource ids) and `uti` (token id: 16 random bytes, base64url, 22 characters) where Entra puts
//!   them.
//! - Client authentication: `client_secret` in the form (client_secret_post) or HTTP Basic
//!   (client_secret_basic, RFC 6749 §2.3.1: the url-encoded client id and secret, base64), both
//!   advertised in `token_endpoint_auth_methods_supported` and both accepted by Entra on v1 and v2.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::aadsts::AadError;
use super::assertion::{self, Credential, Verifier};
use super::keys::SigningKey;
use super::oidc::{self, GithubIssuer};
use super::scenario::{
    AudForm, Failure, Lie, Scenario, ScenarioTenant, Signature, ThrottleBody, resource_key,
};
use super::{LoggedRequest, RequestsReport};
use crate::catalog;

/// Tenant aliases that name no single tenant; client credentials refuse them (AADSTS9001023).
const TENANT_ALIASES: [&str; 3] = ["common", "consumers", "organizations"];
/// A long-running `consentry sandbox` keeps only this many log entries (counts are kept whole).
const LOG_CAPACITY: usize = 100_000;
const JSON_UTF8: &str = "application/json; charset=utf-8";
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
/// Entra backdates `iat` and `nbf` by five minutes.
const BACKDATE_SECONDS: i64 = 300;
/// `expires_in` of a fresh token when the scenario fixes none: Entra's 60–90 minutes, less a second.
const LIFETIME_SECONDS: std::ops::RangeInclusive<u64> = 3599..=5399;
/// A logged header value is cut to this many bytes: enough to read, bounded for a hostile client.
const LOGGED_HEADER_MAX: usize = 512;
/// Headers named with any of these words are logged as `[REDACTED]`.
const SECRET_HEADER_WORDS: [&str; 7] = [
    "authorization",
    "cookie",
    "secret",
    "assertion",
    "token",
    "password",
    "key",
];

/// Where the sandbox listens and how: URLs fall back to it when a request names no usable host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    /// `http` or `https`.
    pub(crate) scheme: &'static str,
    /// The bound address.
    pub(crate) listen: SocketAddr,
}

impl Origin {
    /// `scheme://listen`: the sandbox's own URL, for what is decided before any request's `Host`.
    pub(crate) fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.listen)
    }
}

/// Everything the handlers share.
pub(crate) struct State {
    scenario: Scenario,
    /// Lowercased GUID or domain → index in `scenario.tenants`: benchmarks run thousands of tenants.
    tenant_index: HashMap<String, usize>,
    secret: SecretString,
    /// The app's certificates and federated credentials, and the `jti` replay cache.
    verifier: Verifier,
    /// The GitHub-style OIDC issuer, when the scenario has one.
    github: Option<Arc<GithubIssuer>>,
    key: SigningKey,
    origin: Origin,
    latency_micros: AtomicU64,
    /// Token requests seen per (tenant GUID, resource key): drives "throttled N times" and
    /// "transient N times", and survives across requests.
    attempts: Mutex<HashMap<(String, String), u32>>,
    per_tenant: Mutex<BTreeMap<String, usize>>,
    /// The most recent [`LOG_CAPACITY`] requests, oldest first.
    log: Mutex<VecDeque<LoggedRequest>>,
    stopped: watch::Receiver<bool>,
    /// The home tenant's Graph, when the scenario has a `graph:` section.
    graph: Option<super::graph::Graph>,
}

// The secret and the private key stay out of Debug (SecretString and SigningKey redact too).
impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("origin", &self.origin)
            .field("key", &self.key)
            .field("tenants", &self.scenario.tenants.len())
            .finish_non_exhaustive()
    }
}

/// Locks a mutex; a handler that panicked while holding it left plain counters, still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    pub(crate) fn new(
        scenario: Scenario,
        secret: SecretString,
        key: SigningKey,
        origin: Origin,
        github: Option<GithubIssuer>,
        stopped: watch::Receiver<bool>,
    ) -> State {
        let github = github.map(Arc::new);
        let verifier = Verifier::new(&scenario.app, github.clone());
        let mut tenant_index = HashMap::new();
        for (i, tenant) in scenario.tenants.iter().enumerate() {
            for name in std::iter::once(&tenant.id).chain(&tenant.domains) {
                // Validation refused duplicates; should one slip through, the first tenant wins,
                // as in `Scenario::tenant`.
                tenant_index.entry(name.to_ascii_lowercase()).or_insert(i);
            }
        }
        let graph = scenario
            .graph
            .clone()
            .map(|config| super::graph::Graph::new(config, &verifier));
        State {
            graph,
            tenant_index,
            scenario,
            secret,
            verifier,
            github,
            key,
            origin,
            latency_micros: AtomicU64::new(0),
            attempts: Mutex::new(HashMap::new()),
            per_tenant: Mutex::new(BTreeMap::new()),
            log: Mutex::new(VecDeque::new()),
            stopped,
        }
    }

    pub(crate) fn requests_per_tenant(&self) -> BTreeMap<String, usize> {
        lock(&self.per_tenant).clone()
    }

    pub(crate) fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.log).iter().cloned().collect()
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.store(micros, Ordering::Relaxed);
    }

    pub(crate) fn github_actions_env(&self) -> Option<super::GithubActionsEnv> {
        self.github.as_ref().map(|g| super::GithubActionsEnv {
            request_url: g.request_url(),
            request_token: g.request_token().clone(),
        })
    }

    pub(crate) fn github_issuer(&self) -> Option<String> {
        self.github.as_ref().map(|g| g.url().to_owned())
    }

    fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    /// `scheme://host[:port]` as the client reached the sandbox: the `Host` header when it is a
    /// plain host and port, else the listen address (a hostile `Host` cannot shape the URLs).
    fn base(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            });
        match host {
            Some(host) => format!("{}://{host}", self.origin.scheme),
            None => format!("{}://{}", self.origin.scheme, self.origin.listen),
        }
    }

    /// Counts one token request for `tenant` × `resource` and returns how many came before it.
    fn attempt(&self, tenant: &str, resource: &str) -> u32 {
        let mut attempts = lock(&self.attempts);
        let n = attempts
            .entry((tenant.to_owned(), resource_key(resource)))
            .or_insert(0);
        let before = *n;
        *n = n.saturating_add(1);
        before
    }
}

type Shared = Arc<State>;

/// The sandbox's routes.
pub(crate) fn router(state: Shared) -> Router {
    let mut router = Router::new();
    if let Some(issuer) = &state.github {
        router = router.nest(oidc::PREFIX, oidc::router(Arc::clone(issuer)));
    }
    router
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token_v2).fallback(token_wrong_method),
        )
        .route(
            "/{tenant}/oauth2/token",
            post(token_v1).fallback(token_wrong_method),
        )
        .route("/{tenant}/discovery/keys", get(jwks_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(jwks_v2))
        .route("/common/discovery/instance", get(instance_discovery))
        .route("/{tenant}/.well-known/openid-configuration", get(openid_v1))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_v2),
        )
        .route("/_sandbox/requests", get(requests))
        .route("/v1.0/{*rest}", any(graph))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

/// Records a request in the log even when the client gives up first (a dropped future).
struct LogGuard {
    state: Shared,
    entry: Option<LoggedRequest>,
}

impl LogGuard {
    fn finish(mut self, status: u16) {
        if let Some(entry) = self.entry.as_mut() {
            entry.status = status;
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.time = Utc::now();
            tracing::info!(
                method = %entry.method,
                path = %entry.path,
                tenant = entry.tenant.as_deref().unwrap_or("-"),
                status = entry.status,
                "sandbox request"
            );
            let mut log = lock(&self.state.log);
            if log.len() >= LOG_CAPACITY {
                log.pop_front();
            }
            log.push_back(entry);
        }
    }
}

/// The request's headers for the log: names lowercased, values cut short, credentials redacted.
fn logged_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut logged: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str().to_ascii_lowercase();
        let value = if SECRET_HEADER_WORDS.iter().any(|w| name.contains(w)) {
            "[REDACTED]".to_owned()
        } else {
            let text = String::from_utf8_lossy(value.as_bytes());
            let mut end = text.len().min(LOGGED_HEADER_MAX);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_owned()
        };
        logged
            .entry(name)
            .and_modify(|v| {
                if v.len() < LOGGED_HEADER_MAX {
                    v.push_str(", ");
                    v.push_str(&value);
                }
            })
            .or_insert(value);
    }
    logged
}

/// Middleware: global latency, per-tenant counts of token requests, and the request log. Only the
/// method, path (no query), tenant segment, headers (credentials redacted) and status are kept:
/// never a body.
async fn observe(AxumState(state): AxumState<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().to_string();
    let mut segments = path.trim_start_matches('/').split('/');
    let tenant = match (segments.next(), segments.next()) {
        // `/_sandbox/…` and `/_github/…` name no tenant.
        (Some(first), Some(_)) if !first.is_empty() && !first.starts_with('_') => {
            Some(first.to_ascii_lowercase())
        }
        _ => None,
    };
    let is_token = request.method() == axum::http::Method::POST
        && (path.ends_with("/oauth2/token") || path.ends_with("/oauth2/v2.0/token"));
    if is_token && let Some(tenant) = &tenant {
        *lock(&state.per_tenant).entry(tenant.clone()).or_insert(0) += 1;
    }
    let inspection = path.starts_with("/_sandbox/");
    let guard = LogGuard {
        state: Arc::clone(&state),
        entry: Some(LoggedRequest {
            time: Utc::now(),
            method,
            path,
            tenant,
            status: 0,
            headers: logged_headers(request.headers()),
        }),
    };
    let latency = state.latency();
    // The inspection endpoint stays quick so a benchmark can read counts while it runs.
    if !latency.is_zero() && !inspection {
        tokio::time::sleep(latency).await;
    }
    let response = next.run(request).await;
    guard.finish(response.status().as_u16());
    response
}

/// Microsoft Graph for the home tenant (see `graph.rs`); 404 when the scenario has none.
async fn graph(
    AxumState(state): AxumState<Shared>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match &state.graph {
        Some(graph) => graph.handle(&method, &uri, &headers, &body),
        None => (
            StatusCode::NOT_FOUND,
            "this sandbox scenario has no graph section",
        )
            .into_response(),
    }
}

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

async fn token_v1(
    AxumState(state): AxumState<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(&state, &tenant, &headers, &body, Version::V1).await
}

async fn token_v2(
    AxumState(state): AxumState<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(&state, &tenant, &headers, &body, Version::V2).await
}

/// Entra answers other methods on its token endpoints with AADSTS900561, not a bare 405.
async fn token_wrong_method(
    AxumState(state): AxumState<Shared>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    Ids::new(&state, &headers).error(&AadError::wrong_method(method.as_str()))
}

/// The ids Entra puts on every answer: a fresh trace id, and the correlation id the client sent
/// (`client-request-id`) or a fresh one; and the login host as reached, for `error_uri`.
struct Ids {
    trace: String,
    correlation: String,
    echo: Option<HeaderValue>,
    base: String,
}

impl Ids {
    fn new(state: &State, headers: &HeaderMap) -> Ids {
        let echo = headers
            .get(&CLIENT_REQUEST_ID)
            .filter(|v| v.to_str().is_ok_and(|s| uuid::Uuid::parse_str(s).is_ok()))
            .cloned();
        let correlation = echo
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Ids {
            trace: uuid::Uuid::new_v4().to_string(),
            correlation,
            echo,
            base: state.base(headers),
        }
    }

    /// Adds the headers Entra's token endpoint always sends.
    fn decorate(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, no-cache"),
        );
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Ok(v) = HeaderValue::from_str(&self.trace) {
            headers.insert(REQUEST_ID, v);
        }
        if let Some(v) = &self.echo {
            headers.insert(CLIENT_REQUEST_ID, v.clone());
        }
        response
    }

    fn error(&self, error: &AadError) -> Response {
        let body = error.body(&self.trace, &self.correlation, Utc::now(), &self.base);
        self.decorate(json_response(error.status, &body))
    }
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, JSON_UTF8)], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The form body, first value per name. `None` when the body is not form-encoded.
fn parse_form(headers: &HeaderMap, body: &[u8]) -> Option<HashMap<String, String>> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return None;
    }
    let mut form = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        form.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    Some(form)
}

/// A form value, empty counting as absent (as Entra does).
fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    form.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// Compares without an early exit, so timing says nothing about how much of a guess was right.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The resource a request asks for, or the error Entra gives for its parameters.
fn requested_resource(
    form: &HashMap<String, String>,
    version: Version,
) -> Result<String, AadError> {
    match version {
        Version::V1 => field(form, "resource")
            .map(str::to_owned)
            .ok_or_else(|| AadError::missing_parameter("resource")),
        Version::V2 => {
            if field(form, "resource").is_some() {
                return Err(AadError::resource_on_v2());
            }
            let scope = field(form, "scope").ok_or_else(|| AadError::missing_parameter("scope"))?;
            let mut resources: Vec<&str> = Vec::new();
            for s in scope.split_whitespace() {
                let Some(resource) = s.strip_suffix("/.default") else {
                    return Err(AadError::scope_without_default(s));
                };
                if !resources
                    .iter()
                    .any(|r| resource_key(r) == resource_key(resource))
                {
                    resources.push(resource);
                }
            }
            match resources.as_slice() {
                [] => Err(AadError::missing_parameter("scope")),
                [one] => Ok((*one).to_owned()),
                _ => Err(AadError::several_resources(scope)),
            }
        }
    }
}

/// The client a token request names, with its credential. Holds secrets: no Debug.
struct PresentedClient {
    id: String,
    /// A secret sent by HTTP Basic (client_secret_basic); a form's credential stays in the form.
    basic_secret: Option<String>,
}

/// Reads the client id and credential from the form or an `Authorization: Basic` header (RFC 6749
/// §2.3.1: base64 of the url-encoded id, `:`, the url-encoded secret).
fn presented_client(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<PresentedClient, AadError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    if let Some((_, encoded)) = basic {
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(AadError::credential_missing());
        };
        let (id, secret) = (form_decode(id), form_decode(secret));
        // The body may repeat the client id; it must then name the same client.
        if let Some(body_id) = field(form, "client_id")
            && !body_id.eq_ignore_ascii_case(&id)
        {
            return Err(AadError::app_not_found(
                body_id,
                "the Authorization header's client",
            ));
        }
        return Ok(PresentedClient {
            id,
            basic_secret: Some(secret),
        });
    }
    let Some(id) = field(form, "client_id") else {
        return Err(AadError::missing_parameter("client_id"));
    };
    Ok(PresentedClient {
        id: id.to_owned(),
        basic_secret: None,
    })
}

/// One `application/x-www-form-urlencoded` value, decoded (`+` is a space, `%XX` a byte).
fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Checks the client's credential against the app's registered ones: the one place a credential
/// is judged ([`Verifier::authenticate`]). A secret sent by HTTP Basic is judged as if it were in
/// the form, so "a secret and an assertion together" stays one rule.
fn authenticate(
    state: &State,
    client: &PresentedClient,
    form: &HashMap<String, String>,
    token_url: &str,
) -> Result<Credential, AadError> {
    let now = Utc::now().timestamp();
    match &client.basic_secret {
        Some(secret) => {
            let mut form = form.clone();
            form.insert("client_secret".to_owned(), secret.clone());
            state
                .verifier
                .authenticate(&form, &state.secret, token_url, now)
        }
        None => state
            .verifier
            .authenticate(form, &state.secret, token_url, now),
    }
}

/// Resolves the tenant segment of a URL, or the error Entra gives for it.
fn resolve_tenant<'a>(state: &'a State, tenant: &str) -> Result<&'a ScenarioTenant, AadError> {
    if let Some(found) = state
        .tenant_index
        .get(&tenant.to_ascii_lowercase())
        .and_then(|i| state.scenario.tenants.get(*i))
    {
        return Ok(found);
    }
    if uuid::Uuid::parse_str(tenant).is_err() && !tenant.contains('.') {
        return Err(AadError::tenant_malformed(tenant));
    }
    Err(AadError::tenant_not_found(tenant))
}

/// Both token endpoints: Entra's checks in Entra's order, then the scenario's behaviour.
async fn token(
    state: &Shared,
    tenant_segment: &str,
    headers: &HeaderMap,
    body: &[u8],
    version: Version,
) -> Response {
    let ids = Ids::new(state, headers);
    let Some(form) = parse_form(headers, body) else {
        return ids.error(&AadError::missing_parameter("grant_type"));
    };
    match field(&form, "grant_type") {
        None => return ids.error(&AadError::missing_parameter("grant_type")),
        Some("client_credentials") => {}
        Some(other) => return ids.error(&AadError::unsupported_grant_type(other)),
    }
    if TENANT_ALIASES
        .iter()
        .any(|a| a.eq_ignore_ascii_case(tenant_segment))
    {
        return ids.error(&AadError::tenant_alias_refused(tenant_segment));
    }
    let tenant = match resolve_tenant(state, tenant_segment) {
        Ok(t) => t,
        Err(e) => return ids.error(&e),
    };
    let resource = match requested_resource(&form, version) {
        Ok(r) => r,
        Err(e) => return ids.error(&e),
    };

    if tenant.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(tenant.latency_ms)).await;
    }
    if tenant.failure == Some(Failure::Hang) {
        // Until the client gives up (the future is dropped) or the sandbox stops.
        let mut stopped = state.stopped.clone();
        let _ = stopped.wait_for(|s| *s).await;
        return ids.error(&AadError::transient(StatusCode::SERVICE_UNAVAILABLE));
    }
    let before = state.attempt(&tenant.id, &resource);
    let throttled = tenant.throttle.as_ref().map_or(0, |t| t.times);
    if let Some(throttle) = &tenant.throttle
        && before < throttled
    {
        let retry_after = [(header::RETRY_AFTER, throttle.retry_after.to_string())];
        let response = match throttle.body {
            ThrottleBody::Json => (retry_after, ids.error(&AadError::throttled())).into_response(),
            ThrottleBody::Text => (
                StatusCode::TOO_MANY_REQUESTS,
                retry_after,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Too Many Requests",
            )
                .into_response(),
        };
        return ids.decorate(response);
    }
    if let Some(transient) = &tenant.transient
        && before.saturating_sub(throttled) < transient.times
    {
        let status =
            StatusCode::from_u16(transient.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return ids.error(&AadError::transient(status));
    }

    let app = &state.scenario.app;
    let client = match presented_client(headers, &form) {
        Ok(client) => client,
        Err(e) => return ids.error(&e),
    };
    if !client.id.eq_ignore_ascii_case(&app.client_id)
        || tenant.failure == Some(Failure::NotConsented)
    {
        return ids.error(&AadError::app_not_found(&client.id, &tenant.name));
    }
    if tenant.failure == Some(Failure::Disabled) {
        let name = app.name.as_deref().unwrap_or(&app.client_id);
        return ids.error(&AadError::app_disabled(&app.client_id, name));
    }
    let token_url = assertion::called_url(
        &state.origin.base_url(),
        headers,
        tenant_segment,
        version == Version::V2,
    );
    let credential = match authenticate(state, &client, &form, &token_url) {
        Ok(credential) => credential,
        Err(e) => return ids.error(&e),
    };
    match &tenant.failure {
        Some(Failure::Aadsts {
            code,
            error,
            message,
        }) => {
            return ids.error(&AadError::custom(
                *code,
                error.as_deref(),
                message.as_deref(),
            ));
        }
        Some(Failure::NotJson) => {
            return ids.decorate(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    "<!DOCTYPE html>\n<html><head><title>Sign in to your account</title></head><body><p>We are having trouble signing you in.</p></body></html>\n",
                )
                    .into_response(),
            );
        }
        _ => {}
    }
    if tenant.lacks_resource(&resource) || !state.scenario.knows_resource(&resource) {
        return ids.error(&AadError::resource_not_found(&resource, &tenant.name));
    }

    let tenant = tenant.as_of(before);
    let (claims, times) = claims(state, &tenant, &resource, credential);
    let signed = match state.scenario.signature {
        // RSA-2048 signing costs milliseconds of CPU: keep it off the async workers so timers and
        // other connections (the client's too, when it shares the runtime) stay responsive.
        Signature::Rs256 => {
            let signer = Arc::clone(state);
            tokio::task::spawn_blocking(move || signer.key.sign_jwt(&claims)).await
        }
        Signature::Placeholder => Ok(state.key.placeholder_jwt(&claims)),
    };
    match signed {
        Ok(Ok(access_token)) => {
            let issued = Issued {
                access_token,
                times,
            };
            ids.decorate(issued.response(version, &resource))
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "sandbox could not sign a token");
            ids.error(&AadError::transient(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Err(error) => {
            tracing::error!(%error, "sandbox signing task failed");
            ids.error(&AadError::transient(StatusCode::INTERNAL_SERVER_ERROR))
        }
    }
}

/// When a token was issued and how long it lives, as the response reports them.
#[derive(Debug, Clone, Copy)]
struct Times {
    /// The moment of issue.
    now: i64,
    /// `nbf` (= `iat`): backdated.
    not_before: i64,
    /// `exp`.
    expires_on: i64,
}

impl Times {
    /// `expires_in`: seconds from now to `exp`, the truth (0 for a token issued expired).
    fn expires_in(&self) -> u64 {
        u64::try_from(self.expires_on.saturating_sub(self.now)).unwrap_or(0)
    }
}

/// A signed token and the times the response reports.
struct Issued {
    access_token: String,
    times: Times,
}

impl Issued {
    /// v2: numbers as numbers. v1: every number a JSON string, plus `expires_on`, `not_before`,
    /// `resource`. Fields in Entra's order.
    fn response(&self, version: Version, resource: &str) -> Response {
        let expires_in = self.times.expires_in();
        match version {
            Version::V2 => {
                #[derive(Serialize)]
                struct V2<'a> {
                    token_type: &'a str,
                    expires_in: u64,
                    ext_expires_in: u64,
                    access_token: &'a str,
                }
                json_response(
                    StatusCode::OK,
                    &V2 {
                        token_type: "Bearer",
                        expires_in,
                        ext_expires_in: expires_in,
                        access_token: &self.access_token,
                    },
                )
            }
            Version::V1 => {
                #[derive(Serialize)]
                struct V1<'a> {
                    token_type: &'a str,
                    expires_in: String,
                    ext_expires_in: String,
                    expires_on: String,
                    not_before: String,
                    resource: &'a str,
                    access_token: &'a str,
                }
                json_response(
                    StatusCode::OK,
                    &V1 {
                        token_type: "Bearer",
                        expires_in: expires_in.to_string(),
                        ext_expires_in: expires_in.to_string(),
                        expires_on: self.times.expires_on.to_string(),
                        not_before: self.times.not_before.to_string(),
                        resource,
                        access_token: &self.access_token,
                    },
                )
            }
        }
    }
}

/// A stable GUID from `parts`: the service principal's object id is the same on every request.
pub(super) fn stable_guid(parts: &[&str]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, parts.join("|").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The claims of a v1 app-only token, in the order Entra emits them (reference §3).
#[derive(Debug, Serialize)]
pub(crate) struct Claims {
    aud: String,
    iss: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    aio: String,
    appid: String,
    appidacr: &'static str,
    idp: String,
    idtyp: &'static str,
    oid: String,
    rh: String,
    sub: String,
    /// Absent (not empty) when nothing is granted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<String>,
    tid: String,
    uti: String,
    ver: &'static str,
}

/// `n` random bytes.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    bytes
}

/// Entra's `rh`: opaque to clients; here "0." and the base64url of the tenant's and the resource's
/// GUID bytes, then ".", the shape Entra's has.
fn refresh_hint(tid: &str, resource: &str) -> String {
    let guid_bytes = |s: &str| {
        uuid::Uuid::parse_str(s)
            .map(|u| u.to_bytes_le().to_vec())
            .unwrap_or_default()
    };
    let resource_id = catalog::resolve_resource(resource).map_or("", |(api, _)| api.app_id);
    let mut bytes = guid_bytes(tid);
    bytes.extend(guid_bytes(resource_id));
    bytes.extend([0, 0]);
    format!("0.{}.", URL_SAFE_NO_PAD.encode(bytes))
}

/// The claims of a v1 app-only token for `tenant` × `resource`, lying where the scenario says so,
/// and the times the response reports.
fn claims(
    state: &State,
    tenant: &ScenarioTenant,
    resource: &str,
    credential: Credential,
) -> (Claims, Times) {
    let app = &state.scenario.app;
    let now = Utc::now().timestamp();
    let expires_in = state
        .scenario
        .token_lifetime
        .unwrap_or_else(|| rand::Rng::gen_range(&mut rand::thread_rng(), LIFETIME_SECONDS));
    let mut tid = tenant.id.to_ascii_lowercase();
    let mut aud = match (tenant.aud, catalog::resolve_resource(resource)) {
        (AudForm::AppId, Some((api, _))) => api.app_id.to_owned(),
        _ => resource.to_owned(),
    };
    let mut appid = app.client_id.to_ascii_lowercase();
    let mut times = Times {
        now,
        not_before: now - BACKDATE_SECONDS,
        expires_on: now.saturating_add_unsigned(expires_in),
    };
    match tenant.lie {
        // Lies are stable (derived, not random) so a rehearsal's report is the same run to run.
        Some(Lie::OtherTid) => tid = stable_guid(&["other-tid", &tid]),
        Some(Lie::OtherAud) => {
            aud = if resource_key(resource) == resource_key(catalog::MICROSOFT_GRAPH.app_id) {
                "https://management.azure.com/".to_owned()
            } else {
                "https://graph.microsoft.com".to_owned()
            };
        }
        Some(Lie::OtherAppid) => appid = stable_guid(&["other-appid", &appid]),
        Some(Lie::Expired) => {
            times.expires_on = now - 300;
            times.not_before = times
                .expires_on
                .saturating_sub_unsigned(expires_in)
                .saturating_sub(BACKDATE_SECONDS);
        }
        None => {}
    }
    let issuer = format!("https://sts.windows.net/{tid}/");
    let oid = stable_guid(&[&tenant.id, &app.client_id]);
    let mut roles: Vec<String> = tenant.granted(resource).unwrap_or_default().to_vec();
    // Consent grants only what the registration requests (with a Graph section to say what that is).
    if let Some(graph) = &state.graph {
        roles.retain(|role| graph.requests(resource, role));
    }
    roles.sort_unstable();
    roles.dedup();
    let claims = Claims {
        aud,
        iss: issuer.clone(),
        iat: times.not_before,
        nbf: times.not_before,
        exp: times.expires_on,
        aio: STANDARD.encode(random_bytes(40)),
        rh: refresh_hint(&tid, resource),
        appid,
        // Reference §3: 1 = secret, 2 = certificate or assertion.
        appidacr: if credential == Credential::Secret {
            "1"
        } else {
            "2"
        },
        idp: issuer,
        idtyp: "app",
        sub: oid.clone(),
        oid,
        // An app-only token for an app granted nothing carries no `roles` claim at all (reference §3).
        roles,
        tid,
        uti: URL_SAFE_NO_PAD.encode(random_bytes(16)),
        ver: "1.0",
    };
    (claims, times)
}

/// Discovery endpoints answer for the multi-tenant aliases and for known tenants only.
fn discovery_tenant(state: &State, tenant: &str) -> Result<Option<String>, AadError> {
    if TENANT_ALIASES
        .iter()
        .any(|a| a.eq_ignore_ascii_case(tenant))
    {
        return Ok(None);
    }
    resolve_tenant(state, tenant).map(|t| Some(t.id.to_ascii_lowercase()))
}

/// The v1 keys document: every key Entra signs v1 tokens with.
async fn jwks_v1(
    AxumState(state): AxumState<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = discovery_tenant(&state, &tenant) {
        return Ids::new(&state, &headers).error(&e);
    }
    json_response(StatusCode::OK, &json!({ "keys": [state.key.jwk(None)] }))
}

/// The v2 keys document: the same keys, each naming the issuer it signs for.
async fn jwks_v2(
    AxumState(state): AxumState<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = match discovery_tenant(&state, &tenant) {
        Ok(tid) => tid.unwrap_or_else(|| "{tenantid}".to_owned()),
        Err(e) => return Ids::new(&state, &headers).error(&e),
    };
    let issuer = format!("https://login.microsoftonline.com/{tid}/v2.0");
    json_response(
        StatusCode::OK,
        &json!({ "keys": [state.key.jwk(Some(issuer))] }),
    )
}

async fn openid_v1(
    AxumState(state): AxumState<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = match discovery_tenant(&state, &tenant) {
        Ok(tid) => tid.unwrap_or_else(|| "{tenantid}".to_owned()),
        Err(e) => return Ids::new(&state, &headers).error(&e),
    };
    let base = state.base(&headers);
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": format!("https://sts.windows.net/{tid}/"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/authorize"),
            "token_endpoint": format!("{base}/{tenant}/oauth2/token"),
            "jwks_uri": format!("{base}/common/discovery/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
            "tenant_region_scope": "NA",
        }),
    )
}

async fn openid_v2(
    AxumState(state): AxumState<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = match discovery_tenant(&state, &tenant) {
        Ok(tid) => tid.unwrap_or_else(|| "{tenantid}".to_owned()),
        Err(e) => return Ids::new(&state, &headers).error(&e),
    };
    let base = state.base(&headers);
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": format!("https://login.microsoftonline.com/{tid}/v2.0"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "NA",
        }),
    )
}

/// The query of an instance discovery request.
#[derive(Debug, Deserialize)]
struct InstanceQuery {
    authorization_endpoint: Option<String>,
}

/// The tenant segment of an `authorization_endpoint` URL (`…/{tenant}/oauth2/v2.0/authorize`),
/// `common` when there is none.
fn authorize_tenant(endpoint: Option<&str>) -> String {
    endpoint
        .and_then(|e| url::Url::parse(e).ok())
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        })
        .filter(|t| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
        })
        .unwrap_or_else(|| "common".to_owned())
}

/// MSAL's instance discovery, in Entra's shape (api-version 1.1); the sandbox's only alias is the
/// host it was reached by.
async fn instance_discovery(
    AxumState(state): AxumState<Shared>,
    Query(query): Query<InstanceQuery>,
    headers: HeaderMap,
) -> Response {
    let base = state.base(&headers);
    let host = base.split_once("://").map_or(base.as_str(), |(_, h)| h);
    let tenant = authorize_tenant(query.authorization_endpoint.as_deref());
    json_response(
        StatusCode::OK,
        &json!({
            "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{
                "preferred_network": host,
                "preferred_cache": host,
                "aliases": [host],
            }],
        }),
    )
}

async fn requests(AxumState(state): AxumState<Shared>) -> Response {
    json_response(
        StatusCode::OK,
        &RequestsReport {
            requests_per_tenant: state.requests_per_tenant(),
            log: state.request_log(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn v2_scopes_need_default_and_one_resource() {
        let ok = form(&[("scope", "https://api.security.microsoft.com/.default")]);
        assert_eq!(
            requested_resource(&ok, Version::V2).unwrap(),
            "https://api.security.microsoft.com"
        );
        let same_twice = form(&[(
            "scope",
            "https://api.security.microsoft.com/.default 8ee8fdad-f234-4243-8f3b-15c294843740/.default",
        )]);
        assert!(requested_resource(&same_twice, Version::V2).is_ok());
        let two = form(&[(
            "scope",
            "https://api.security.microsoft.com/.default https://graph.microsoft.com/.default",
        )]);
        assert_eq!(
            requested_resource(&two, Version::V2).unwrap_err().code,
            700022
        );
        let bare = form(&[("scope", "https://graph.microsoft.com")]);
        assert_eq!(
            requested_resource(&bare, Version::V2).unwrap_err().code,
            1002012
        );
        let v1_style = form(&[("resource", "https://graph.microsoft.com")]);
        assert_eq!(
            requested_resource(&v1_style, Version::V2).unwrap_err().code,
            901002
        );
        assert_eq!(
            requested_resource(&v1_style, Version::V1).unwrap(),
            "https://graph.microsoft.com"
        );
        assert_eq!(
            requested_resource(&form(&[]), Version::V1)
                .unwrap_err()
                .code,
            900144
        );
    }

    #[test]
    fn basic_credentials_are_url_decoded_and_win_over_the_form() {
        let mut headers = HeaderMap::new();
        // id "app id", secret "s:e%c+r t" url-encoded, then base64 (RFC 6749 §2.3.1).
        let encoded = STANDARD.encode("app%20id:s%3Ae%25c%2Br+t");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("basic {encoded}")).unwrap(),
        );
        let client = presented_client(&headers, &form(&[])).unwrap();
        assert_eq!(client.id, "app id");
        assert_eq!(client.basic_secret.as_deref(), Some("s:e%c+r t"));
        let other = form(&[("client_id", "someone-else")]);
        assert_eq!(
            presented_client(&headers, &other).err().unwrap().code,
            700016
        );
        // Without the header the credential stays in the form, for `Verifier::authenticate`.
        let posted = form(&[("client_id", "c"), ("client_assertion", "eyJ")]);
        let client = presented_client(&HeaderMap::new(), &posted).unwrap();
        assert_eq!((client.id.as_str(), client.basic_secret), ("c", None));
        assert_eq!(
            presented_client(&HeaderMap::new(), &form(&[]))
                .err()
                .unwrap()
                .code,
            900144
        );
    }

    #[test]
    fn logged_headers_are_bounded_and_redacted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-long", HeaderValue::from_str(&"é".repeat(600)).unwrap());
        headers.insert("proxy-authorization", HeaderValue::from_static("Basic abc"));
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        headers.append("accept", HeaderValue::from_static("a"));
        headers.append("accept", HeaderValue::from_static("b"));
        let logged = logged_headers(&headers);
        assert!(logged["x-long"].len() <= LOGGED_HEADER_MAX);
        assert_eq!(logged["proxy-authorization"], "[REDACTED]");
        assert_eq!(logged["x-api-key"], "[REDACTED]");
        assert_eq!(logged["accept"], "a, b");
    }

    #[test]
    fn instance_discovery_reads_the_tenant_of_the_authorize_url() {
        assert_eq!(
            authorize_tenant(Some(
                "https://127.0.0.1/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
            )),
            "contoso.onmicrosoft.com"
        );
        assert_eq!(authorize_tenant(None), "common");
        assert_eq!(authorize_tenant(Some("not a url")), "common");
        assert_eq!(authorize_tenant(Some("https://h/%22%3E/oauth2")), "common");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }

    #[test]
    fn object_ids_are_stable_guids() {
        let a = stable_guid(&["t", "c"]);
        assert_eq!(a, stable_guid(&["t", "c"]));
        assert_ne!(a, stable_guid(&["t", "d"]));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
