//! AADSTS error answers exactly as Entra's token endpoint sends them (reference §4).
//!
//! `error_uri` points at the login host that answered (`https://login.microsoftonline.com/error?code=N`
//! from Entra's global host, the national cloud's host from theirs); the sandbox gives its own
//! scheme and host, as reached by the client.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One token-endpoint error: the OAuth `error`, the AADSTS code and the message after `AADSTSnnn: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AadError {
    /// HTTP status: 400, or 401 for `invalid_client` (429/5xx for throttling and outages).
    pub status: StatusCode,
    /// The OAuth 2.0 `error` value.
    pub error: String,
    /// The AADSTS number.
    pub code: u32,
    /// The human message, without the `AADSTSnnn: ` prefix.
    pub message: String,
}

/// The JSON body, fields in Entra's order.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody {
    error: String,
    error_description: String,
    error_codes: Vec<u32>,
    timestamp: String,
    trace_id: String,
    correlation_id: String,
    error_uri: String,
}

impl AadError {
    /// An error with Entra's status for `error` (401 for `invalid_client`, else 400).
    pub(crate) fn new(error: &str, code: u32, message: String) -> AadError {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        AadError {
            status,
            error: error.to_owned(),
            code,
            message,
        }
    }

    /// The body Entra sends, with `\r\n` before the trace, correlation and timestamp lines;
    /// `base` is the login host as reached (`https://login.microsoftonline.com`).
    pub(crate) fn body(
        &self,
        trace_id: &str,
        correlation_id: &str,
        now: DateTime<Utc>,
        base: &str,
    ) -> ErrorBody {
        let timestamp = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
        ErrorBody {
            error: self.error.clone(),
            error_description: format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.code, self.message
            ),
            error_codes: vec![self.code],
            timestamp,
            trace_id: trace_id.to_owned(),
            correlation_id: correlation_id.to_owned(),
            error_uri: format!("{base}/error?code={}", self.code),
        }
    }

    /// AADSTS900144: a required form parameter is absent.
    pub(crate) fn missing_parameter(name: &str) -> AadError {
        AadError::new(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// AADSTS900561: a token endpoint called with another method than POST.
    pub(crate) fn wrong_method(method: &str) -> AadError {
        AadError::new(
            "invalid_request",
            900561,
            format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {method} request."
            ),
        )
    }

    /// AADSTS70003: not the client-credentials grant.
    pub(crate) fn unsupported_grant_type(grant: &str) -> AadError {
        AadError::new(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        )
    }

    /// AADSTS9001023: client credentials over a multi-tenant alias.
    pub(crate) fn tenant_alias_refused(alias: &str) -> AadError {
        let message = if alias.eq_ignore_ascii_case("organizations") {
            "The grant type is not supported over the /organizations endpoint. Please use the tenant-specific endpoint.".to_owned()
        } else {
            "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.".to_owned()
        };
        AadError::new("invalid_request", 9001023, message)
    }

    /// AADSTS900023: the tenant segment is neither a GUID nor a DNS name.
    pub(crate) fn tenant_malformed(tenant: &str) -> AadError {
        AadError::new(
            "invalid_request",
            900023,
            format!(
                "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."
            ),
        )
    }

    /// AADSTS90002: no such tenant.
    pub(crate) fn tenant_not_found(tenant: &str) -> AadError {
        AadError::new(
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// AADSTS901002: `resource` sent to the v2 endpoint.
    pub(crate) fn resource_on_v2() -> AadError {
        AadError::new(
            "invalid_request",
            901002,
            "The 'resource' request parameter is not supported.".to_owned(),
        )
    }

    /// AADSTS1002012: a v2 scope without `/.default`.
    pub(crate) fn scope_without_default(scope: &str) -> AadError {
        AadError::new(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
    }

    /// AADSTS700022: more than one resource in a v2 scope.
    pub(crate) fn several_resources(scope: &str) -> AadError {
        AadError::new(
            "invalid_scope",
            700022,
            format!(
                "The provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid."
            ),
        )
    }

    /// AADSTS700016: the app has no service principal in the tenant (or the client id is wrong).
    pub(crate) fn app_not_found(client_id: &str, directory: &str) -> AadError {
        AadError::new(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{directory}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// AADSTS7000112: the enterprise app is disabled in the tenant.
    pub(crate) fn app_disabled(client_id: &str, app_name: &str) -> AadError {
        AadError::new(
            "unauthorized_client",
            7000112,
            format!("Application '{client_id}'({app_name}) is disabled."),
        )
    }

    /// AADSTS7000216: no client credential in the request.
    pub(crate) fn credential_missing() -> AadError {
        AadError::new(
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.".to_owned(),
        )
    }

    /// AADSTS7000215: the client secret is wrong.
    pub(crate) fn wrong_secret(client_id: &str) -> AadError {
        AadError::new(
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    /// AADSTS500011: the resource has no service principal in the tenant.
    pub(crate) fn resource_not_found(resource: &str, directory: &str) -> AadError {
        AadError::new(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {directory}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// AADSTS90055: throttled (the body of a JSON 429).
    pub(crate) fn throttled() -> AadError {
        AadError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "temporarily_unavailable".to_owned(),
            code: 90055,
            message: "The server is temporarily unavailable because there are too many incoming requests. Please try again later.".to_owned(),
        }
    }

    /// AADSTS90033: a transient server error (the body of a 5xx).
    pub(crate) fn transient(status: StatusCode) -> AadError {
        AadError {
            status,
            error: "temporarily_unavailable".to_owned(),
            code: 90033,
            message: "A transient error has occurred. Please try again.".to_owned(),
        }
    }

    /// Any code the scenario asks for; known codes get Entra's `error` and message by default.
    pub(crate) fn custom(code: u32, error: Option<&str>, message: Option<&str>) -> AadError {
        let (default_error, default_message) = match code {
            53003 => (
                "invalid_grant",
                "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
            ),
            50196 => (
                "temporarily_unavailable",
                "The server terminated an operation because it encountered a client request loop. Please contact your app vendor.",
            ),
            90038 => (
                "invalid_request",
                "Tenant is not in the cloud this endpoint serves. Use the login host of the tenant's national cloud.",
            ),
            65001 => (
                "invalid_grant",
                "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.",
            ),
            _ => (
                "invalid_request",
                "The sandbox scenario asked for this error code.",
            ),
        };
        AadError::new(
            error.unwrap_or(default_error),
            code,
            message.unwrap_or(default_message).to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_follows_the_reference_shape() {
        let now = DateTime::parse_from_rfc3339("2026-01-09T02:02:12Z")
            .unwrap()
            .with_timezone(&Utc);
        let err = AadError::app_not_found("app-id", "Fabrikam");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        let body = serde_json::to_string(&err.body(
            "trace",
            "corr",
            now,
            "https://login.microsoftonline.com",
        ))
        .unwrap();
        assert!(body.starts_with(r#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'app-id' was not found in the directory 'Fabrikam'."#), "{body}");
        assert!(body.ends_with(r#"\r\nTrace ID: trace\r\nCorrelation ID: corr\r\nTimestamp: 2026-01-09 02:02:12Z","error_codes":[700016],"timestamp":"2026-01-09 02:02:12Z","trace_id":"trace","correlation_id":"corr","error_uri":"https://login.microsoftonline.com/error?code=700016"}"#), "{body}");
    }

    #[test]
    fn invalid_client_is_401_and_unknown_codes_still_answer() {
        assert_eq!(AadError::wrong_secret("x").status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            AadError::credential_missing().status,
            StatusCode::UNAUTHORIZED
        );
        let unknown = AadError::custom(4242, None, None);
        assert_eq!(
            (unknown.status, unknown.error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request")
        );
        let ca = AadError::custom(53003, None, None);
        assert_eq!(ca.error, "invalid_grant");
        assert!(ca.message.contains("Conditional Access"));
    }
}
