//! The sandbox's HTTP side: routes, the token endpoints' checks in Entra's order, tokens, JWKS and
//! discovery documents, and the request log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use chrono::Utc;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;

use super::aadsts::AadError;
use super::keys::SigningKey;
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

/// Everything the handlers share.
pub(crate) struct State {
    scenario: Scenario,
    /// Lowercased GUID or domain → index in `scenario.tenants`: benchmarks run thousands of tenants.
    tenant_index: HashMap<String, usize>,
    secret: SecretString,
    key: SigningKey,
    base_url: String,
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
            .field("base_url", &self.base_url)
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
        base_url: String,
        stopped: watch::Receiver<bool>,
    ) -> State {
        let mut tenant_index = HashMap::new();
        for (i, tenant) in scenario.tenants.iter().enumerate() {
            for name in std::iter::once(&tenant.id).chain(&tenant.domains) {
                // Validation refused duplicates; should one slip through, the first tenant wins,
                // as in `Scenario::tenant`.
                tenant_index.entry(name.to_ascii_lowercase()).or_insert(i);
            }
        }
        let graph = scenario.graph.clone().map(super::graph::Graph::new);
        State {
            graph,
            tenant_index,
            scenario,
            secret,
            key,
            base_url,
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

    fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
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
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token_v2).fallback(token_wrong_method),
        )
        .route(
            "/{tenant}/oauth2/token",
            post(token_v1).fallback(token_wrong_method),
        )
        .route("/{tenant}/discovery/keys", get(jwks))
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
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

/// Middleware: global latency, per-tenant counts of token requests, and the request log. Only the
/// method, path (no query), tenant segment and status are kept: never a header or a body.
async fn observe(AxumState(state): AxumState<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().to_string();
    let mut segments = path.trim_start_matches('/').split('/');
    let tenant = match (segments.next(), segments.next()) {
        (Some(first), Some(_)) if !first.is_empty() && first != "_sandbox" => {
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
async fn token_wrong_method(method: axum::http::Method, headers: HeaderMap) -> Response {
    Ids::new(&headers).error(&AadError::wrong_method(method.as_str()))
}

/// The ids Entra puts on every answer: a fresh trace id, and the correlation id the client sent
/// (`client-request-id`) or a fresh one.
struct Ids {
    trace: String,
    correlation: String,
    echo: Option<HeaderValue>,
}

impl Ids {
    fn new(headers: &HeaderMap) -> Ids {
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
        let body = error.body(&self.trace, &self.correlation, Utc::now());
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
fn same_secret(a: &[u8], b: &[u8]) -> bool {
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
    let ids = Ids::new(headers);
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
    let Some(client_id) = field(&form, "client_id") else {
        return ids.error(&AadError::missing_parameter("client_id"));
    };
    if !client_id.eq_ignore_ascii_case(&app.client_id)
        || tenant.failure == Some(Failure::NotConsented)
    {
        return ids.error(&AadError::app_not_found(client_id, &tenant.name));
    }
    if tenant.failure == Some(Failure::Disabled) {
        let name = app.name.as_deref().unwrap_or(&app.client_id);
        return ids.error(&AadError::app_disabled(&app.client_id, name));
    }
    let Some(secret) = field(&form, "client_secret") else {
        // The sandbox knows no certificate or federated credential, so no assertion can match.
        if field(&form, "client_assertion").is_some() {
            return ids.error(&AadError::assertion_key_not_found());
        }
        return ids.error(&AadError::credential_missing());
    };
    if !same_secret(secret.as_bytes(), state.secret.expose_secret().as_bytes()) {
        return ids.error(&AadError::wrong_secret(&app.client_id));
    }
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

    let (claims, now) = claims(state, tenant, &resource);
    let signed = match state.scenario.signature {
        // RSA-2048 signing costs milliseconds of CPU: keep it off the async workers so timers and
        // other connections (the client's too, when it shares the runtime) stay responsive.
        Signature::Rs256 => {
            let signer = Arc::clone(state);
            tokio::task::spawn_blocking(move || signer.key.sign_jwt(&claims)).await
        }
        Signature::Placeholder => Ok(Ok(state.key.placeholder_jwt(&claims))),
    };
    match signed {
        Ok(Ok(access_token)) => {
            let issued = Issued {
                access_token,
                lifetime: state.scenario.token_lifetime,
                now,
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

/// A signed token and the times the response reports.
struct Issued {
    access_token: String,
    lifetime: u64,
    now: i64,
}

impl Issued {
    /// v2: numbers as numbers. v1: every number a JSON string, plus `expires_on`, `not_before`,
    /// `resource`. Fields in Entra's order.
    fn response(&self, version: Version, resource: &str) -> Response {
        let expires_on = self.now.saturating_add_unsigned(self.lifetime);
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
                        expires_in: self.lifetime,
                        ext_expires_in: self.lifetime,
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
                        expires_in: self.lifetime.to_string(),
                        ext_expires_in: self.lifetime.to_string(),
                        expires_on: expires_on.to_string(),
                        not_before: self.now.to_string(),
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
    let digest = Sha256::digest(parts.join("|").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The claims of a v1 app-only token for `tenant` × `resource`, lying where the scenario says so,
/// and the issue time.
fn claims(state: &State, tenant: &ScenarioTenant, resource: &str) -> (serde_json::Value, i64) {
    let app = &state.scenario.app;
    let lifetime = state.scenario.token_lifetime;
    let now = Utc::now().timestamp();
    let mut tid = tenant.id.to_ascii_lowercase();
    let mut aud = match (tenant.aud, catalog::by_resource(resource)) {
        (AudForm::AppId, Some(api)) => api.app_id.to_owned(),
        _ => resource.to_owned(),
    };
    let mut appid = app.client_id.to_ascii_lowercase();
    let (mut iat, mut exp) = (now, now.saturating_add_unsigned(lifetime));
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
            exp = now - 300;
            iat = exp.saturating_sub_unsigned(lifetime);
        }
        None => {}
    }
    let issuer = format!("https://sts.windows.net/{tid}/");
    let oid = stable_guid(&[&tenant.id, &app.client_id]);
    let mut claims = json!({
        "aud": aud,
        "iss": issuer,
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "appid": appid,
        "appidacr": "1",
        "idp": issuer,
        "idtyp": "app",
        "oid": oid,
        "sub": oid,
        "tid": tid,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
        "ver": "1.0",
    });
    let mut roles: Vec<&str> = tenant
        .granted(resource)
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect();
    // Consent grants only what the registration requests (with a Graph section to say what that is).
    if let Some(graph) = &state.graph {
        roles.retain(|role| graph.requests(resource, role));
    }
    roles.sort_unstable();
    roles.dedup();
    // An app-only token for an app granted nothing carries no `roles` claim at all (reference §3).
    if !roles.is_empty()
        && let Some(map) = claims.as_object_mut()
    {
        map.insert("roles".to_owned(), json!(roles));
    }
    (claims, now)
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

async fn jwks(
    AxumState(state): AxumState<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = discovery_tenant(&state, &tenant) {
        return Ids::new(&headers).error(&e);
    }
    json_response(StatusCode::OK, &json!({ "keys": [state.key.jwk()] }))
}

async fn openid_v1(
    AxumState(state): AxumState<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = match discovery_tenant(&state, &tenant) {
        Ok(tid) => tid.unwrap_or_else(|| "{tenantid}".to_owned()),
        Err(e) => return Ids::new(&headers).error(&e),
    };
    let base = &state.base_url;
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
        Err(e) => return Ids::new(&headers).error(&e),
    };
    let base = &state.base_url;
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
