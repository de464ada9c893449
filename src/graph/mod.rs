//! Microsoft Graph in the partner's home tenant, as `consentry app` needs it: where Graph is per
//! cloud, and what its answers mean. The HTTP client itself joins once the shared HTTP plumbing
//! (retry with `Retry-After`, body caps, request ids) exists, so it is not written twice.
//!
//! Facts this relies on (reference §8; Microsoft Graph's national cloud deployments page and its
//! error-responses page in microsoft-graph-docs-contrib):
//! - Graph hosts: global and GCC `https://graph.microsoft.com`, GCC High
//!   `https://graph.microsoft.us`, DoD `https://dod-graph.microsoft.us`, China (21Vianet)
//!   `https://microsoftgraph.chinacloudapi.cn`; API paths are under `/v1.0`.
//! - Errors are `{"error": {"code", "message", "innerError": {"date", "request-id",
//!   "client-request-id"}}}`: 401 `InvalidAuthenticationToken` (missing, expired or foreign
//!   token), 403 `Authorization_RequestDenied` (the caller lacks the permission or role), 404
//!   `Request_ResourceNotFound`, 429 with `Retry-After`. Answers carry `request-id` and
//!   `client-request-id` headers too.
//! - Reading an application needs Application.Read.All or ownership of the app; changing it needs
//!   Application.ReadWrite.All, or Application.ReadWrite.OwnedBy for an owner.

pub mod client;
pub mod token;

use serde::Deserialize;

use crate::app::{Registration, RoleIds};
use crate::cloud::Cloud;
use client::{GraphClient, GraphFailure};

/// The biggest Graph error body read: a real one is under 1 KiB.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// The Graph host of `cloud`, without a trailing slash.
pub fn host(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Global | Cloud::Gcc => "https://graph.microsoft.com",
        Cloud::GccHigh => "https://graph.microsoft.us",
        Cloud::Dod => "https://dod-graph.microsoft.us",
        Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
    }
}

/// What a Graph error answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// The HTTP status.
    pub status: u16,
    /// Why, as consentry branches on it.
    pub kind: GraphErrorKind,
    /// Graph's `error.code` (`Authorization_RequestDenied`), when the body had one.
    pub code: Option<String>,
    /// Graph's `error.message`.
    pub message: Option<String>,
    /// `innerError.request-id` (or the `request-id` header): what Microsoft support asks for.
    pub request_id: Option<String>,
    /// `innerError.client-request-id`.
    pub client_request_id: Option<String>,
}

/// The kinds of Graph failure consentry treats differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphErrorKind {
    /// 401: the token is missing, expired or not for Graph.
    Unauthenticated,
    /// 403: the token's caller may not do this.
    Denied,
    /// 404: no such object (the application is not in this tenant).
    NotFound,
    /// 429 or 5xx: try again later.
    Transient,
    /// Anything else.
    Other,
}

#[derive(Deserialize)]
struct Envelope {
    error: Body,
}

#[derive(Deserialize)]
struct Body {
    code: Option<String>,
    message: Option<String>,
    #[serde(rename = "innerError")]
    inner: Option<Inner>,
}

#[derive(Deserialize)]
struct Inner {
    #[serde(rename = "request-id")]
    request_id: Option<String>,
    #[serde(rename = "client-request-id")]
    client_request_id: Option<String>,
}

impl GraphError {
    /// Reads an error answer: the status decides the kind; the body (at most [`MAX_ERROR_BODY`]
    /// bytes are looked at; not JSON is fine) adds Graph's code, message and ids; the
    /// `request-id` header fills in when the body has none.
    pub fn from_answer(status: u16, request_id_header: Option<&str>, body: &[u8]) -> GraphError {
        let kind = match status {
            401 => GraphErrorKind::Unauthenticated,
            403 => GraphErrorKind::Denied,
            404 => GraphErrorKind::NotFound,
            429 | 500..=599 => GraphErrorKind::Transient,
            _ => GraphErrorKind::Other,
        };
        let body = &body[..body.len().min(MAX_ERROR_BODY)];
        let parsed = serde_json::from_slice::<Envelope>(body)
            .ok()
            .map(|e| e.error);
        let (code, message, inner) = match parsed {
            Some(b) => (b.code, b.message, b.inner),
            None => (None, None, None),
        };
        let (request_id, client_request_id) = match inner {
            Some(i) => (i.request_id, i.client_request_id),
            None => (None, None),
        };
        GraphError {
            status,
            kind,
            code,
            message,
            request_id: request_id.or_else(|| request_id_header.map(str::to_owned)),
            client_request_id,
        }
    }

    /// What to do about it, for the person running consentry. `writing`: the request was a
    /// change (PATCH), not a read.
    pub fn advice(&self, writing: bool) -> &'static str {
        match (self.kind, writing) {
            (GraphErrorKind::Unauthenticated, _) => {
                "the Graph token is missing, expired or not for Microsoft Graph in the home tenant: get a fresh one (`az account get-access-token --resource-type ms-graph`)"
            }
            (GraphErrorKind::Denied, false) => {
                "the signed-in identity may not read the application: it needs Application.Read.All, or to be an owner of the app registration"
            }
            (GraphErrorKind::Denied, true) => {
                "the signed-in identity may not change the application: it needs Application.ReadWrite.All, or Application.ReadWrite.OwnedBy and to be an owner of the app registration"
            }
            (GraphErrorKind::NotFound, _) => {
                "no application with this client id in the home tenant: check app.client_id and app.home_tenant"
            }
            (GraphErrorKind::Transient, _) => "Graph is busy or failing: try again later",
            (GraphErrorKind::Other, _) => "Graph refused the request",
        }
    }
}

/// Reads the registration with appId `app_id` online, and the role ids of every resource it or
/// `wanted` names, by value from each resource service principal's `appRoles` (ids differ per
/// cloud, reference §1). A resource without a service principal in the home tenant is recorded as
/// unresolved, not a failure: the check then says so for that resource only.
pub async fn read_online<'a>(
    client: &GraphClient,
    app_id: &str,
    wanted: impl IntoIterator<Item = &'a str>,
) -> Result<(Registration, RoleIds), GraphFailure> {
    let registration = client.application(app_id).await?;
    let mut resources: Vec<String> = wanted.into_iter().map(str::to_ascii_lowercase).collect();
    resources.extend(
        registration
            .required_resource_access
            .iter()
            .map(|r| r.resource_app_id.to_ascii_lowercase()),
    );
    resources.sort();
    resources.dedup();
    let mut ids = RoleIds::default();
    for resource in &resources {
        match client.service_principal_roles(resource).await {
            Ok(roles) => ids.add_service_principal(resource, &roles),
            Err(e) if e.is_not_found() => ids.mark_unresolved(
                resource,
                "the resource has no service principal in the home tenant, so its role ids are unknown",
            ),
            Err(e) => return Err(e),
        }
    }
    Ok((registration, ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_follow_the_cloud() {
        assert_eq!(host(Cloud::Global), "https://graph.microsoft.com");
        assert_eq!(host(Cloud::Gcc), "https://graph.microsoft.com");
        assert_eq!(host(Cloud::GccHigh), "https://graph.microsoft.us");
        assert_eq!(host(Cloud::Dod), "https://dod-graph.microsoft.us");
        assert_eq!(
            host(Cloud::China),
            "https://microsoftgraph.chinacloudapi.cn"
        );
    }

    #[test]
    fn a_denied_answer_keeps_graphs_code_message_and_ids() {
        let body = br#"{"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation.", "innerError": {"date": "2026-01-09T02:02:12", "request-id": "r-1", "client-request-id": "c-1"}}}"#;
        let error = GraphError::from_answer(403, Some("header-id"), body);
        assert_eq!(error.kind, GraphErrorKind::Denied);
        assert_eq!(error.code.as_deref(), Some("Authorization_RequestDenied"));
        assert_eq!(error.request_id.as_deref(), Some("r-1"));
        assert_eq!(error.client_request_id.as_deref(), Some("c-1"));
        assert!(error.advice(true).contains("Application.ReadWrite.OwnedBy"));
        assert!(error.advice(false).contains("Application.Read.All"));
    }

    #[test]
    fn a_body_that_is_not_graphs_still_gives_kind_and_header_id() {
        let error = GraphError::from_answer(429, Some("header-id"), b"<html>busy</html>");
        assert_eq!(error.kind, GraphErrorKind::Transient);
        assert_eq!(error.code, None);
        assert_eq!(error.request_id.as_deref(), Some("header-id"));
        assert_eq!(
            GraphError::from_answer(404, None, b"").kind,
            GraphErrorKind::NotFound
        );
        assert_eq!(
            GraphError::from_answer(401, None, b"{}").kind,
            GraphErrorKind::Unauthenticated
        );
        assert_eq!(
            GraphError::from_answer(418, None, b"{}").kind,
            GraphErrorKind::Other
        );
    }
}
