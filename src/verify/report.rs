//! The verify report: pure data, produced by the verify engine, rendered by `report::verify`, read
//! back by `plan --state`. Its JSON form is the documented audit format (`schema_version` 1).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cloud::Cloud;

/// The JSON report's format version. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// What one `verify` run found, tenants in manifest order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the run finished.
    pub generated_at: DateTime<Utc>,
    /// The app that was checked.
    pub app: AppInfo,
    /// The manifest's cloud.
    pub cloud: Cloud,
    /// Whether extra roles counted as findings (`--fail-on-extra`).
    #[serde(default)]
    pub fail_on_extra: bool,
    /// The credential the app signed in with (kind, certificate thumbprint), for audits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<crate::credential::CredentialInfo>,
    /// With `--verify-signature`: how many tokens' signatures verified, and how many cannot be
    /// verified by design (Microsoft Graph). A token whose signature fails is `invalid_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Signatures>,
    /// A failure that is the app's, not any tenant's (its credential rejected, the authority
    /// unreachable for every request): said once here, with its fix; the tenants it explains
    /// carry `app_failure: true` instead of repeating it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_failure: Option<AppFailure>,
    /// Milliseconds the run took, from the first request to the last answer.
    #[serde(default)]
    pub elapsed_ms: u64,
    /// Counts over all tenants.
    pub summary: Summary,
    /// With `verify --app`: the partner's app registration checked first (issue 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_registration: Option<AppRegistration>,
    /// One entry per tenant checked, in manifest order.
    pub tenants: Vec<TenantReport>,
}

/// The app registration as `verify --app` found it: the same findings as `consentry app check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRegistration {
    /// Where it was read: `graph <home tenant>` or `file <path>`.
    pub source: String,
    /// The findings, sorted by severity, code and subject.
    pub findings: Vec<RegistrationFinding>,
    /// Roles the manifest needs that the registration does not request, per API key: consent can
    /// never grant them, so the tenants missing them are blocked by the app, not by their admin.
    #[serde(default)]
    pub not_requested: BTreeMap<String, Vec<String>>,
}

/// One registration finding (see `crate::app::Finding`), as plain strings so old and new reports
/// read alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationFinding {
    /// Stable code (`role-not-requested`, `secret-expiring`, ...).
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// What it is about.
    pub subject: String,
    /// What is wrong.
    pub message: String,
    /// What it breaks.
    pub breaks: String,
    /// How to fix it.
    pub fix: String,
}

impl AppRegistration {
    /// The section for `findings`.
    pub fn new(source: String, findings: &[crate::app::Finding]) -> AppRegistration {
        let mut not_requested: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in findings {
            if f.code == crate::app::FindingCode::RoleNotRequested
                && let Some((api, role)) = f.subject.rsplit_once(' ')
            {
                not_requested
                    .entry(api.to_owned())
                    .or_default()
                    .push(role.to_owned());
            }
        }
        AppRegistration {
            source,
            findings: findings
                .iter()
                .map(|f| RegistrationFinding {
                    code: f.code.as_str().to_owned(),
                    severity: f.severity.as_str().to_owned(),
                    subject: f.subject.clone(),
                    message: f.message.clone(),
                    breaks: f.breaks.clone(),
                    fix: f.fix.clone(),
                })
                .collect(),
            not_requested,
        }
    }

    /// Findings of this severity.
    pub fn with_severity<'a>(
        &'a self,
        severity: &'a str,
    ) -> impl Iterator<Item = &'a RegistrationFinding> + 'a {
        self.findings.iter().filter(move |f| f.severity == severity)
    }

    /// Whether `role` of `api` is one the registration does not request.
    pub fn blocks(&self, api: &str, role: &str) -> bool {
        self.not_requested
            .get(api)
            .is_some_and(|roles| roles.iter().any(|r| r == role))
    }
}

impl Report {
    /// Adds `verify --app`'s registration section. A tenant missing a role the registration does
    /// not request gets a hint naming the registration fix instead of a bare re-consent: no
    /// consent link can grant a role the app does not request (reference §8).
    pub fn set_app_registration(&mut self, section: AppRegistration) {
        for tenant in &mut self.tenants {
            let blocked: Vec<String> = tenant
                .apis
                .iter()
                .flat_map(|a| {
                    a.missing
                        .iter()
                        .filter(|r| section.blocks(&a.api, r))
                        .map(|r| format!("{} {r}", a.api))
                })
                .collect();
            if !blocked.is_empty() {
                tenant.hint = Some(format!(
                    "the app registration does not request {}: run `consentry app apply`, then re-consent",
                    blocked.join(", ")
                ));
            }
        }
        self.app_registration = Some(section);
    }
}

/// The app, as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// Display name.
    pub name: String,
    /// Application (client) id.
    pub client_id: String,
}

/// What `--verify-signature` found, over every token received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Signatures {
    /// Tokens whose signature verified against the authority's published keys.
    pub verified: usize,
    /// Tokens that cannot be verified by design (a `nonce` header: Microsoft Graph).
    pub not_verifiable: usize,
}

/// Counts over all tenants.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Tenants checked.
    pub tenants: usize,
    /// Tenants whose every required role is granted (`ok`).
    pub fully_covered: usize,
    /// Tenants per status (only statuses that occur).
    pub by_status: BTreeMap<Status, usize>,
    /// Per `api` then per role: in how many tenants it was required and granted.
    pub roles: BTreeMap<String, BTreeMap<String, RoleCoverage>>,
}

/// Coverage of one role across tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoleCoverage {
    /// Tenants that require the role.
    pub required: usize,
    /// Of those, tenants whose token carries it.
    pub granted: usize,
}

/// One cause behind every failing tenant, reported once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppFailure {
    /// `credential_rejected`, or `error` when the authority could not be reached at all.
    pub status: Status,
    /// What Entra (or the network) said, for the first request that failed so.
    pub error: EntraError,
    /// What to do about it.
    pub fix: String,
    /// How many tenants it left undetermined.
    pub tenants: usize,
}

/// What one tenant granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantReport {
    /// The manifest's name for the tenant.
    pub name: String,
    /// The manifest's id (GUID or domain).
    pub id: String,
    /// The manifest's labels for the tenant (`emea`, `tier-1`), in manifest order. Absent in
    /// reports written before labels were reported.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The tenant GUID a valid token named (`tid`); for a domain tenant, this is how it is learnt.
    pub tenant_id: Option<String>,
    /// The worst status of the tenant's APIs.
    pub status: Status,
    /// One entry per required API, in manifest order of the APIs.
    pub apis: Vec<ApiReport>,
    /// What Entra said, for the API that decided `status` (absent when ok).
    pub error: Option<EntraError>,
    /// What the partner should do (absent when ok).
    pub hint: Option<String>,
    /// The tenant's admin-consent link, when consent is the fix.
    pub consent_url: Option<String>,
    /// Whether the report's `app_failure` explains this tenant's status (its hint then points
    /// there rather than repeating the fix).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub app_failure: bool,
}

/// What one tenant granted for one API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReport {
    /// The manifest key of the API.
    pub api: String,
    /// The resource URI requested.
    pub resource: String,
    /// This API's status in this tenant.
    pub status: Status,
    /// Roles the manifest requires here, sorted.
    pub required: Vec<String>,
    /// Roles the token carries, sorted (empty when no valid token was had).
    pub granted: Vec<String>,
    /// Required roles the tenant is known not to grant, sorted: those absent from a valid token,
    /// and every required role when Entra said the tenant grants the app nothing
    /// (`not_consented`, `disabled`, `resource_missing`, `tenant_not_found`). Empty when nothing
    /// is known (`invalid_token`, `credential_rejected`, `not_checked`, `error`).
    pub missing: Vec<String>,
    /// Granted but not required, sorted.
    pub extra: Vec<String>,
    /// What Entra said, when the token request failed or the token was not evidence.
    pub error: Option<EntraError>,
    /// Token requests sent for this tenant × API (1 unless throttling or faults were retried;
    /// 0 when none was sent).
    #[serde(default)]
    pub attempts: u32,
    /// Milliseconds from the first attempt to the answer, retries and their waits included.
    #[serde(default)]
    pub elapsed_ms: u64,
}

/// A token error as Entra reported it (reference §4), or a transport failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntraError {
    /// `AADSTS700016`, or absent when the failure had no AADSTS code (timeouts, bad bodies).
    pub code: Option<String>,
    /// The OAuth `error` field (`unauthorized_client`), or consentry's own kind (`timeout`, ...).
    pub error: String,
    /// The description, first line only (trace/correlation lines are kept in their own fields).
    pub message: String,
    /// Entra's trace id (Microsoft support asks for it).
    pub trace_id: Option<String>,
    /// Entra's correlation id.
    pub correlation_id: Option<String>,
    /// The HTTP status of the last attempt, when there was a response.
    pub http_status: Option<u16>,
    /// The `client-request-id` consentry sent with the last attempt (Microsoft support can find
    /// the request by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The `client-request-id` of every attempt, in order, when there was more than one (a
    /// throttled or failing request retried): each is a request Entra saw.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_ids: Vec<String>,
}

/// A tenant's or API's state. Ordered from best to worst: a tenant takes the worst of its APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every required role is granted.
    Ok,
    /// Every required role is granted, and so are roles the manifest does not require, and the
    /// run counted that as a finding (`--fail-on-extra`). Without that flag such a tenant is `ok`
    /// and its extra roles are only listed. Better than `missing_roles`: nothing needed is absent.
    ExtraRoles,
    /// Consented, but some required roles are missing from the token.
    MissingRoles,
    /// The token is not evidence: wrong `tid`, `aud`, `appid`, or expired.
    InvalidToken,
    /// The app has no service principal in the tenant: admin consent never happened.
    NotConsented,
    /// The customer disabled the enterprise app.
    Disabled,
    /// The resource API has no service principal in the tenant.
    ResourceMissing,
    /// The tenant does not exist in this cloud.
    TenantNotFound,
    /// The app's own credential was rejected: nothing is known about the tenant.
    CredentialRejected,
    /// The run was stopped (SIGINT/SIGTERM) before this was determined: nothing is known. Only a
    /// report written on the way out of an interrupted run has it.
    NotChecked,
    /// Something else went wrong (a deadline reached included): nothing is known about the tenant.
    Error,
}

impl Status {
    /// Every status, best first.
    pub const ALL: [Status; 11] = [
        Status::Ok,
        Status::ExtraRoles,
        Status::MissingRoles,
        Status::InvalidToken,
        Status::NotConsented,
        Status::Disabled,
        Status::ResourceMissing,
        Status::TenantNotFound,
        Status::CredentialRejected,
        Status::NotChecked,
        Status::Error,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::ExtraRoles => "extra_roles",
            Status::MissingRoles => "missing_roles",
            Status::InvalidToken => "invalid_token",
            Status::NotConsented => "not_consented",
            Status::Disabled => "disabled",
            Status::ResourceMissing => "resource_missing",
            Status::TenantNotFound => "tenant_not_found",
            Status::CredentialRejected => "credential_rejected",
            Status::NotChecked => "not_checked",
            Status::Error => "error",
        }
    }

    /// Whether the tenant's state could not be determined (exit code 3).
    pub fn is_undetermined(self) -> bool {
        matches!(
            self,
            Status::Error | Status::CredentialRejected | Status::NotChecked
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
