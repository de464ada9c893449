//! The partner's own app registration (issue 7): read it (from Graph or an export), check it
//! against the manifest, and compute the change that makes it match. Pure data in and out; the
//! CLI reads files and the report layer renders.
//!
//! Facts this relies on (reference §8; Microsoft Graph's `application` resource type,
//! `requiredResourceAccess`, `passwordCredential`, `keyCredential` and `federatedIdentityCredential`
//! pages in microsoft-graph-docs-contrib, and the multi-tenant how-to in entra-docs):
//! - The application object is read with `GET /v1.0/applications(appId='{client id}')` (or
//!   `$filter=appId eq '…'`, answering `{"value": [...]}`); `az ad app show --id …` prints the
//!   same Graph object. Its `id` is the object id that `PATCH /v1.0/applications/{id}` takes.
//! - `signInAudience` must be `AzureADMultipleOrgs` (or `AzureADandPersonalMicrosoftAccount`) for
//!   another organisation's admin to consent; `AzureADMyOrg` is single-tenant.
//! - The consent link's `redirect_uri` must be one of `web.redirectUris`, byte for byte, or the
//!   admin ends on AADSTS50011.
//! - `requiredResourceAccess` lists per resource app id the permission ids requested, `type`
//!   `Role` (application permission) or `Scope` (delegated). Admin consent grants only what is
//!   listed there, so a role missing here never reaches a customer's token. A `PATCH` sends the
//!   whole list, which replaces the old one (204 No Content); customers must consent again for an
//!   added role to reach them.
//! - Role ids are the `id`s of the resource service principal's `appRoles` with that `value` and
//!   `allowedMemberTypes` containing `Application`; they can differ per cloud (see
//!   [`crate::catalog`]).
//! - `passwordCredentials[]` carry `displayName`, `hint` (the first three characters), `keyId` and
//!   `endDateTime`, never the secret; `keyCredentials[]` carry `customKeyIdentifier`, the SHA-1
//!   thumbprint as bytes (base64 in Graph's JSON, hex in some CLI output), and `endDateTime`.
//! - A federated identity credential matches an external token only when `issuer` and `subject`
//!   are exactly equal (case and trailing slash included).

pub mod apply;
pub mod check;
pub mod registration;
pub mod roles;

use serde::Serialize;

pub use apply::{Change, Diff, Unresolved, desired, diff};
pub use check::{
    CheckOptions, ConfiguredCredential, Expected, Finding, FindingCode, Severity, WantedApi, check,
};
pub use registration::{Registration, read_export};
pub use roles::RoleIds;

use crate::exit::Exit;

/// Version of the JSON written for `app check` and `app apply`; bumped on a breaking change.
pub const SCHEMA_VERSION: u32 = 1;

/// Which registration was looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// The manifest's app name.
    pub name: String,
    /// The application (client) id.
    pub client_id: String,
    /// Where the registration was read: `file <path>` or `graph <tenant>`.
    pub source: String,
}

/// The result of `consentry app check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The app.
    pub app: Subject,
    /// Findings, sorted by severity, code and subject.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// Builds the report.
    pub fn new(app: Subject, findings: Vec<Finding>) -> Self {
        CheckReport {
            schema_version: SCHEMA_VERSION,
            app,
            findings,
        }
    }

    /// How many findings have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Exit 1 for errors (and for warnings when `fail_on_warning`), else 0.
    pub fn exit(&self, fail_on_warning: bool) -> Exit {
        if self.count(Severity::Error) > 0 || (fail_on_warning && self.count(Severity::Warning) > 0)
        {
            Exit::Findings
        } else {
            Exit::Success
        }
    }
}

/// The result of `consentry app apply` (dry run or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The app.
    pub app: Subject,
    /// Whether the change was only shown.
    pub dry_run: bool,
    /// The change.
    pub diff: Diff,
}

/// Role ids offline for every resource the manifest or the registration names (catalog, global
/// ids only), so extra roles of other catalog APIs are named, not shown as bare ids.
pub fn offline_ids(
    cloud: crate::cloud::Cloud,
    expected: &Expected,
    registration: &Registration,
) -> RoleIds {
    let resources = expected.resource_app_ids().chain(
        registration
            .required_resource_access
            .iter()
            .map(|r| r.resource_app_id.as_str()),
    );
    RoleIds::offline(cloud, resources)
}
