//! The sandbox's Microsoft Graph: the partner's app registration in its home tenant (reference §8),
//! served on the same loopback server as the token endpoints, for `consentry app` and its tests.
//!
//! What it reproduces, from reference §8 (Microsoft Graph v1.0: `application` get/update,
//! `federatedIdentityCredential` list, `servicePrincipal` get, and Graph's error format pages in
//! microsoft-graph-docs-contrib):
//! - `GET /v1.0/applications(appId='{appId}')`, `GET /v1.0/applications/{object id}` and
//!   `GET /v1.0/applications?$filter=appId eq '{appId}'` (answering `{"value": [...]}`, empty when
//!   nothing matches); `GET …/federatedIdentityCredentials` → `{"value": [...]}`;
//! - `GET /v1.0/servicePrincipals(appId='{resource appId}')` → `id`, `appId`, `appRoles` (`id`,
//!   `value`, `allowedMemberTypes: ["Application"]`, `isEnabled`);
//! - `PATCH /v1.0/applications/{object id}` with `{"requiredResourceAccess": [...]}`: the whole list
//!   replaces the old one, `204 No Content`;
//! - errors as `{"error": {"code", "message", "innerError": {"date", "request-id",
//!   "client-request-id"}}}`: 401 `InvalidAuthenticationToken` (no or unknown bearer token), 403
//!   `Authorization_RequestDenied` ("Insufficient privileges to complete the operation.") for a
//!   token that may read but not write, 404 `Request_ResourceNotFound`, 429 with `Retry-After`;
//!   every answer carries `request-id` and `client-request-id` headers.
//!
//! How a change reaches tokens: admin consent grants only what `requiredResourceAccess` requests,
//! so with a `graph:` section the token endpoint issues a tenant's granted roles only where the
//! registration requests them (mapped name → id through the served service principals). The
//! sandbox has no consent screen: a tenant's `grants` stand for what its admin approves, and the
//! next token after a PATCH reflects the registration as if the admin had just consented again.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::catalog;

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The scenario's `graph:` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioGraph {
    /// Bearer tokens that may read (sandbox rehearsal tokens, not real ones).
    #[serde(default)]
    pub read_tokens: Vec<String>,
    /// Bearer tokens that may read and write.
    #[serde(default)]
    pub write_tokens: Vec<String>,
    /// The application object as Graph returns it (needs `id` and `appId`).
    pub application: Value,
    /// Its federated identity credentials (`issuer: sandbox` is the sandbox's GitHub issuer).
    /// Absent: the ones the token endpoint trusts (`app.federated_credentials`), so Graph and
    /// sign-in agree; a list here makes them disagree on purpose (`[]`: none shown).
    #[serde(default)]
    pub federated_identity_credentials: Option<Vec<Value>>,
    /// Application roles per resource app id (`name: id`); catalog APIs default to the catalog's
    /// global ids.
    #[serde(default)]
    pub service_principals: BTreeMap<String, BTreeMap<String, String>>,
    /// Answer the first N Graph requests with 429 and this `Retry-After`.
    #[serde(default)]
    pub throttle: Option<GraphThrottle>,
}

/// Graph throttling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphThrottle {
    /// How many requests are throttled.
    pub times: u32,
    /// `Retry-After` in seconds.
    #[serde(default = "default_retry_after")]
    pub retry_after: u64,
}

fn default_retry_after() -> u64 {
    10
}

impl ScenarioGraph {
    /// Problems with the section, for the scenario's whole-file check.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for field in ["id", "appId"] {
            if !self.application.get(field).is_some_and(Value::is_string) {
                problems.push(format!("graph.application.{field} must be a string"));
            }
        }
        for (app_id, roles) in &self.service_principals {
            for (name, id) in roles {
                if uuid::Uuid::parse_str(id).is_err() {
                    problems.push(format!(
                        "graph.service_principals.{app_id}.{name}: '{id}' is not a GUID"
                    ));
                }
            }
        }
        problems
    }
}

/// The served registration, changed by PATCH.
#[derive(Debug)]
pub(crate) struct Graph {
    config: ScenarioGraph,
    application: Mutex<Value>,
    requests: AtomicU32,
}

impl Graph {
    /// Graph over the scenario's application. What the application object leaves out of its
    /// credentials comes from the token endpoint's side (`verifier`): `keyCredentials` when the
    /// object has none, federated credentials when the section lists none.
    pub(crate) fn new(mut config: ScenarioGraph, verifier: &super::assertion::Verifier) -> Graph {
        let (keys, fics) = verifier.graph_view();
        if let Some(object) = config.application.as_object_mut() {
            object
                .entry("keyCredentials")
                .or_insert_with(|| Value::Array(keys));
        }
        let fics = match config.federated_identity_credentials.take() {
            None => fics,
            Some(mut listed) => {
                if let Some(url) = verifier.issuer_url() {
                    for fic in &mut listed {
                        if fic["issuer"] == super::scenario::SANDBOX_ISSUER {
                            fic["issuer"] = Value::String(url.to_owned());
                        }
                    }
                }
                listed
            }
        };
        config.federated_identity_credentials = Some(fics);
        Graph {
            application: Mutex::new(config.application.clone()),
            config,
            requests: AtomicU32::new(0),
        }
    }

    fn application(&self) -> Value {
        self.application
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The roles of a resource (name, id): the scenario's, else the catalog's global ids.
    fn roles(&self, resource_app_id: &str) -> Vec<(String, String)> {
        if let Some((_, roles)) = self
            .config
            .service_principals
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(resource_app_id))
        {
            return roles
                .iter()
                .map(|(n, i)| (n.clone(), i.to_ascii_lowercase()))
                .collect();
        }
        catalog::APIS
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(resource_app_id))
            .map(|a| {
                a.roles
                    .iter()
                    .map(|r| (r.name.to_owned(), r.global_id.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the registration requests application role `role` of the resource a token is asked
    /// for (`resource`: a URI or app id). Admin consent can grant nothing else.
    pub(crate) fn requests(&self, resource: &str, role: &str) -> bool {
        let app_id = catalog::by_resource(resource).map_or(resource, |a| a.app_id);
        let Some(id) = self
            .roles(app_id)
            .into_iter()
            .find(|(n, _)| n == role)
            .map(|(_, id)| id)
        else {
            return false;
        };
        let application = self.application();
        application["requiredResourceAccess"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| {
                r["resourceAppId"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(app_id))
            })
            .filter_map(|r| r["resourceAccess"].as_array())
            .flatten()
            .any(|a| {
                a["type"] == "Role"
                    && a["id"]
                        .as_str()
                        .is_some_and(|i| i.eq_ignore_ascii_case(&id))
            })
    }

    /// Answers one Graph request (`/v1.0/…`).
    pub(crate) fn handle(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        let ids = GraphIds::new(headers);
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(throttle) = &self.config.throttle
            && n < throttle.times
        {
            let mut response = ids.error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests.",
            );
            if let Ok(v) = HeaderValue::from_str(&throttle.retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let known = |list: &[String]| token.is_some_and(|t| list.iter().any(|k| same(k, t)));
        let (can_write, can_read) = (
            known(&self.config.write_tokens),
            known(&self.config.read_tokens),
        );
        if !can_write && !can_read {
            return ids.error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty or invalid.",
            );
        }
        let path = uri.path().trim_start_matches("/v1.0/");
        let query = uri.query().unwrap_or_default();
        match *method {
            Method::GET => self.get(&ids, path, query),
            Method::PATCH => {
                if !can_write {
                    return ids.error(
                        StatusCode::FORBIDDEN,
                        "Authorization_RequestDenied",
                        "Insufficient privileges to complete the operation.",
                    );
                }
                self.patch(&ids, path, body)
            }
            _ => ids.error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                "Method not allowed.",
            ),
        }
    }

    fn matches_app(&self, application: &Value, path: &str) -> Option<bool> {
        if let Some(app_id) = quoted_key(path, "applications(appId=") {
            return Some(
                application["appId"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&app_id)),
            );
        }
        if let Some(rest) = path.strip_prefix("applications/") {
            return Some(
                application["id"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(rest)),
            );
        }
        None
    }

    fn get(&self, ids: &GraphIds, path: &str, query: &str) -> Response {
        let application = self.application();
        if path == "applications" {
            let filter = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "$filter")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let Some(app_id) = filter
                .strip_prefix("appId eq '")
                .and_then(|r| r.strip_suffix('\''))
            else {
                return ids.error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Unsupported query.",
                );
            };
            let hit = application["appId"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(app_id));
            let value = if hit { vec![application] } else { Vec::new() };
            return ids.json(StatusCode::OK, &json!({ "value": value }));
        }
        if let Some(base) = path.strip_suffix("/federatedIdentityCredentials") {
            return match self.matches_app(&application, base) {
                Some(true) => ids.json(
                    StatusCode::OK,
                    &json!({
                        "value": self.config.federated_identity_credentials.as_deref().unwrap_or_default()
                    }),
                ),
                _ => not_found(ids, base),
            };
        }
        if let Some(app_id) = quoted_key(path, "servicePrincipals(appId=") {
            let roles = self.roles(&app_id);
            if roles.is_empty() {
                return not_found(ids, path);
            }
            let app_roles: Vec<Value> = roles
                .iter()
                .map(|(value, id)| json!({"id": id, "value": value, "allowedMemberTypes": ["Application"], "isEnabled": true}))
                .collect();
            let sp = json!({
                "id": super::server::stable_guid(&["sp", &app_id.to_ascii_lowercase()]),
                "appId": app_id,
                "appRoles": app_roles,
            });
            return ids.json(StatusCode::OK, &sp);
        }
        match self.matches_app(&application, path) {
            Some(true) => ids.json(StatusCode::OK, &application),
            _ => not_found(ids, path),
        }
    }

    fn patch(&self, ids: &GraphIds, path: &str, body: &[u8]) -> Response {
        let Some(object_id) = path.strip_prefix("applications/") else {
            return not_found(ids, path);
        };
        let mut application = self
            .application
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !application["id"]
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case(object_id))
        {
            drop(application);
            return not_found(ids, path);
        }
        let change: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => {
                drop(application);
                return ids.error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Unable to read JSON request payload.",
                );
            }
        };
        let valid = change.as_object().is_some_and(|o| {
            o.len() == 1 && o.get("requiredResourceAccess").is_some_and(Value::is_array)
        });
        if !valid {
            drop(application);
            return ids.error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "The sandbox accepts only {\"requiredResourceAccess\": [...]} in a PATCH.",
            );
        }
        application["requiredResourceAccess"] = change["requiredResourceAccess"].clone();
        drop(application);
        ids.decorate(StatusCode::NO_CONTENT.into_response())
    }
}

/// `applications(appId='X')` → `X` (quotes and parentheses may come percent-encoded).
fn quoted_key(path: &str, prefix: &str) -> Option<String> {
    let path = path
        .replace("%27", "'")
        .replace("%28", "(")
        .replace("%29", ")");
    path.strip_prefix(prefix)?
        .strip_prefix('\'')?
        .strip_suffix("')")
        .map(str::to_owned)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn not_found(ids: &GraphIds, path: &str) -> Response {
    ids.error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{}' does not exist or one of its queried reference-property objects are not present.",
            path.chars().filter(|c| !c.is_control()).take(200).collect::<String>()
        ),
    )
}

/// Graph's request ids: a fresh `request-id`, and the client's `client-request-id` echoed (or a
/// fresh one).
struct GraphIds {
    request: String,
    client: String,
}

impl GraphIds {
    fn new(headers: &HeaderMap) -> GraphIds {
        let client = headers
            .get(&CLIENT_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|s| uuid::Uuid::parse_str(s).is_ok())
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        GraphIds {
            request: uuid::Uuid::new_v4().to_string(),
            client,
        }
    }

    fn decorate(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        for (name, value) in [
            (REQUEST_ID, &self.request),
            (CLIENT_REQUEST_ID, &self.client),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
        response
    }

    fn json(&self, status: StatusCode, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.decorate((status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response())
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        let body = json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": self.request,
                    "client-request-id": self.client,
                }
            }
        });
        self.json(status, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_parentheses_are_read_plain_or_percent_encoded() {
        assert_eq!(
            quoted_key("applications(appId='abc')", "applications(appId=").as_deref(),
            Some("abc")
        );
        assert_eq!(
            quoted_key("applications(appId=%27abc%27)", "applications(appId=").as_deref(),
            Some("abc")
        );
        assert_eq!(
            quoted_key("applications(appId=abc)", "applications(appId="),
            None
        );
    }
}
