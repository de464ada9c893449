//! The Graph client for the home tenant: read the application (by appId), its federated identity
//! credentials and the resource service principals' `appRoles`, and `PATCH` its
//! `requiredResourceAccess` (reference §8, facts in the [`crate::graph`] and [`crate::app`] module
//! docs).
//!
//! Built on the shared plumbing in [`crate::http`]: one client (https only, except loopback; no
//! redirects, so the bearer token never follows a `Location` to another host), every body read
//! capped, a fresh `client-request-id` per attempt, and [`crate::http::with_retries`] for 429 and
//! 5xx (honouring `Retry-After`). The token is a [`SecretString`]: it is exposed only into the
//! `Authorization` header (marked sensitive so no debug output of the request shows it) and never
//! logged.

use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::{GraphError, GraphErrorKind};
use crate::app::registration::{FederatedCredential, Registration, RequiredResourceAccess};
use crate::app::roles::AppRole;
use crate::http::{self, AttemptInfo, BodyError, GaveUp, RetryPolicy, Step};

/// Why a Graph request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphFailure {
    /// Graph answered with an error.
    #[error("{}", describe(.0))]
    Answer(GraphError),
    /// No answer: connection refused, DNS, TLS, timeout.
    #[error(
        "Microsoft Graph could not be reached ({message}; client-request-id {client_request_id})"
    )]
    Unreachable {
        /// The innermost cause.
        message: String,
        /// The id consentry sent with the last attempt.
        client_request_id: String,
    },
    /// An answer consentry cannot use (too large, not the JSON expected).
    #[error(
        "Microsoft Graph sent an answer consentry cannot use: {message} (client-request-id {client_request_id})"
    )]
    Unusable {
        /// What was wrong.
        message: String,
        /// The id consentry sent.
        client_request_id: String,
    },
}

fn describe(error: &GraphError) -> String {
    let mut text = format!("Microsoft Graph answered HTTP {}", error.status);
    if let Some(code) = &error.code {
        text.push_str(&format!(" {code}"));
    }
    if let Some(message) = &error.message {
        text.push_str(&format!(": {message}"));
    }
    let ids: Vec<String> = [
        error.request_id.as_ref().map(|i| format!("request-id {i}")),
        error
            .client_request_id
            .as_ref()
            .map(|i| format!("client-request-id {i}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !ids.is_empty() {
        text.push_str(&format!(" ({})", ids.join(", ")));
    }
    text
}

impl GraphFailure {
    /// The Graph error, when Graph answered.
    pub fn graph_error(&self) -> Option<&GraphError> {
        match self {
            GraphFailure::Answer(e) => Some(e),
            _ => None,
        }
    }

    /// Whether Graph said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.graph_error()
            .is_some_and(|e| e.kind == GraphErrorKind::NotFound)
    }

    /// The message with what to do about it (`writing`: the request was a PATCH).
    pub fn explain(&self, writing: bool) -> String {
        match self {
            GraphFailure::Answer(e) => format!("{self}: {}", e.advice(writing)),
            _ => self.to_string(),
        }
    }
}

/// A client for Microsoft Graph in one tenant.
#[derive(Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
    policy: RetryPolicy,
}

/// The `/v1.0` base of `host` (`https://graph.microsoft.com`, or a sandbox's loopback URL).
fn versioned(host: &Url) -> Url {
    let mut base = host.clone();
    let path = format!("{}/v1.0/", base.path().trim_end_matches('/'));
    base.set_path(&path);
    base
}

/// A single-quoted OData key (`'…'` with quotes doubled), percent-encoded for a path segment.
fn key(value: &str) -> String {
    let quoted = format!("'{}'", value.replace('\'', "''"));
    url::form_urlencoded::byte_serialize(quoted.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl GraphClient {
    /// A client for `host` (checked by the caller: https, or http on loopback) with `token`.
    pub fn new(
        host: &Url,
        token: SecretString,
        policy: RetryPolicy,
        roots: &http::ExtraRoots,
    ) -> Result<GraphClient, http::ClientError> {
        Ok(GraphClient {
            http: http::client_with(host, roots)?,
            base: versioned(host),
            token,
            policy,
        })
    }

    fn url(&self, path: &str) -> Result<Url, GraphFailure> {
        self.base.join(path).map_err(|e| GraphFailure::Unusable {
            message: format!("bad Graph path: {e}"),
            client_request_id: String::new(),
        })
    }

    /// The application with this appId (client id), with its federated identity credentials.
    pub async fn application(&self, app_id: &str) -> Result<Registration, GraphFailure> {
        let path = format!("applications(appId={})", key(app_id));
        let mut registration: Registration = self.get_json(&path).await?;
        let credentials: List<FederatedCredential> = self
            .get_json(&format!("{path}/federatedIdentityCredentials"))
            .await?;
        registration.federated_identity_credentials = Some(credentials.value);
        Ok(registration)
    }

    /// The application roles of the resource whose app id is `resource_app_id`, as its service
    /// principal in this tenant lists them.
    pub async fn service_principal_roles(
        &self,
        resource_app_id: &str,
    ) -> Result<Vec<AppRole>, GraphFailure> {
        let path = format!(
            "servicePrincipals(appId={})?$select=id,appId,appRoles",
            key(resource_app_id)
        );
        let sp: ServicePrincipal = self.get_json(&path).await?;
        Ok(sp.app_roles)
    }

    /// Replaces the application's `requiredResourceAccess` (object id `object_id`) with `list`.
    pub async fn set_required_resource_access(
        &self,
        object_id: &str,
        list: &[RequiredResourceAccess],
    ) -> Result<(), GraphFailure> {
        let url = self.url(&format!("applications/{}", key_segment(object_id)))?;
        let body = serde_json::json!({ "requiredResourceAccess": list });
        self.send(reqwest::Method::PATCH, &url, Some(&body))
            .await
            .map(|_| ())
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, GraphFailure> {
        let url = self.url(path)?;
        let (body, id) = self.send(reqwest::Method::GET, &url, None).await?;
        serde_json::from_slice(&body).map_err(|e| GraphFailure::Unusable {
            message: format!("not the JSON expected for {}: {e}", url.path()),
            client_request_id: id,
        })
    }

    /// Sends one request through the shared retry loop; the body and the last attempt's id.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<(Vec<u8>, String), GraphFailure> {
        let result = http::with_retries(
            &self.policy,
            None,
            |_: &GraphFailure| false,
            |info| {
                let method = method.clone();
                async move {
                    let step = self.attempt(method.clone(), url, body, &info).await;
                    let outcome = match &step {
                        Step::Done(Ok(_)) => "ok".to_owned(),
                        Step::Done(Err(e)) | Step::Again { error: e, .. } => match e {
                            GraphFailure::Answer(g) => g.status.to_string(),
                            GraphFailure::Unreachable { .. } => "unreachable".to_owned(),
                            GraphFailure::Unusable { .. } => "unusable".to_owned(),
                        },
                    };
                    tracing::debug!(%method, path = url.path(), attempt = info.number, outcome, request_id = %info.request_id, "graph request");
                    step
                }
            },
        )
        .await;
        result.map_err(|gave_up| match gave_up {
            GaveUp::Failed { error, .. } => error,
            // No gate is used, so nothing can cancel; kept total.
            GaveUp::Cancelled => GraphFailure::Unusable {
                message: "cancelled".into(),
                client_request_id: String::new(),
            },
        })
    }

    async fn attempt(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        info: &AttemptInfo,
    ) -> Step<(Vec<u8>, String), GraphFailure> {
        let mut authorization = match reqwest::header::HeaderValue::from_str(&format!(
            "Bearer {}",
            self.token.expose_secret()
        )) {
            Ok(v) => v,
            Err(_) => {
                return Step::Done(Err(GraphFailure::Unusable {
                    message: "the Graph token holds characters an HTTP header cannot carry".into(),
                    client_request_id: info.request_id.clone(),
                }));
            }
        };
        authorization.set_sensitive(true);
        let mut request = self
            .http
            .request(method, url.clone())
            .timeout(self.policy.timeout)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header("client-request-id", info.request_id.as_str())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let unreachable = |e: &reqwest::Error| Step::Again {
            error: GraphFailure::Unreachable {
                message: if e.is_timeout() {
                    format!("no answer within {}s", self.policy.timeout.as_secs_f64())
                } else {
                    http::root_cause(e)
                },
                client_request_id: info.request_id.clone(),
            },
            retry_after: None,
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return unreachable(&e),
        };
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let header_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = match http::read_body(response, http::MAX_BODY).await {
            Ok(b) => b,
            Err(BodyError::TooLarge { limit }) => {
                return Step::Done(Err(GraphFailure::Unusable {
                    message: format!("more than {} KiB (HTTP {status})", limit / 1024),
                    client_request_id: info.request_id.clone(),
                }));
            }
            Err(BodyError::Transport(e)) => return unreachable(&e),
        };
        if (200..300).contains(&status) {
            return Step::Done(Ok((bytes, info.request_id.clone())));
        }
        let mut error = GraphError::from_answer(status, header_id.as_deref(), &bytes);
        if error.client_request_id.is_none() {
            error.client_request_id = Some(info.request_id.clone());
        }
        if error.kind == GraphErrorKind::Transient {
            Step::Again {
                error: GraphFailure::Answer(error),
                retry_after,
            }
        } else {
            Step::Done(Err(GraphFailure::Answer(error)))
        }
    }
}

/// An object id as a path segment (percent-encoded, so a hostile id cannot add path parts).
fn key_segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[derive(serde::Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePrincipal {
    #[serde(default)]
    app_roles: Vec<AppRole>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_and_cannot_break_out_of_the_path() {
        assert_eq!(key("abc"), "%27abc%27");
        assert_eq!(key("a'b/c"), "%27a%27%27b%2Fc%27");
        let base = versioned(&Url::parse("http://127.0.0.1:8080").unwrap());
        assert_eq!(base.as_str(), "http://127.0.0.1:8080/v1.0/");
        assert_eq!(
            base.join(&format!("applications(appId={})", key("x")))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/v1.0/applications(appId=%27x%27)"
        );
    }
}
