//! The registration check: what the manifest needs from the app registration, compared with what
//! the registration says. Pure: the registration, the expectation, the role ids and the clock come
//! in as data, findings come out. Each finding has a stable code, a severity, what it breaks and
//! the fix.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::registration::{AccessKind, Registration};
use super::roles::RoleIds;
use crate::catalog;
use crate::model::{Credential, Manifest};

/// `signInAudience` values that let other organisations' admins consent (reference §8).
pub const MULTI_TENANT_AUDIENCES: &[&str] =
    &["AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"];

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $code:literal,)*) => {
        /// A stable, kebab-case name per kind of finding. Scripts match on these; never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FindingCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl FindingCode {
            /// Every code (a test keeps their strings unique).
            pub const ALL: &[FindingCode] = &[$(FindingCode::$variant,)*];

            /// The code as printed and serialized.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingCode::$variant => $code,)*
                }
            }
        }
    };
}

codes! {
    /// The registration checked is not the manifest's app.
    AppIdMismatch => "app-id-mismatch",
    /// Graph has no application with the manifest's client id in the home tenant.
    AppNotFound => "app-not-found",
    /// `signInAudience` is not multi-tenant.
    NotMultiTenant => "not-multi-tenant",
    /// The manifest's redirect URI is not a web redirect URI of the app.
    RedirectUriNotRegistered => "redirect-uri-not-registered",
    /// A role the manifest needs is not in `requiredResourceAccess`.
    RoleNotRequested => "role-not-requested",
    /// A role the manifest needs does not exist on the resource's service principal.
    RoleNotOnResource => "role-not-on-resource",
    /// An application role is requested that the manifest does not declare.
    RoleNotDeclared => "role-not-declared",
    /// Delegated scopes are requested on a Defender API.
    DelegatedScopeOnDefenderApi => "delegated-scope-on-defender-api",
    /// Role ids of a resource could not be learned, so its roles were not compared.
    RoleIdsUnresolved => "role-ids-unresolved",
    /// A client secret has expired.
    SecretExpired => "secret-expired",
    /// A client secret expires within the warning window.
    SecretExpiring => "secret-expiring",
    /// A certificate has expired.
    CertificateExpired => "certificate-expired",
    /// A certificate expires within the warning window.
    CertificateExpiring => "certificate-expiring",
    /// consentry is configured with a client secret but the app has none.
    NoSecretRegistered => "no-secret-registered",
    /// The certificate consentry is configured with is not registered on the app.
    CertificateNotRegistered => "certificate-not-registered",
    /// The federated subject consentry is configured with is not registered on the app.
    FederatedCredentialNotRegistered => "federated-credential-not-registered",
    /// The export does not carry the federated credentials, so the configured one was not checked.
    FederatedCredentialsUnknown => "federated-credentials-unknown",
    /// consentry's own certificate or federated token could not be read where the check ran, so
    /// whether the app lists it was not checked.
    ConfiguredCredentialUnchecked => "configured-credential-unchecked",
    /// No registered certificate has consentry's thumbprint, but some carry a
    /// `customKeyIdentifier` that is not a thumbprint, so one of them may still be it.
    CertificateNotCompared => "certificate-not-compared",
}

impl Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Consent or sign-in cannot work as the manifest intends.
    Error,
    /// Works today, but asks for too much or will stop working soon.
    Warning,
    /// Worth knowing; nothing breaks.
    Info,
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One thing wrong (or worth knowing) about the registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code.
    pub code: FindingCode,
    /// Severity.
    pub severity: Severity,
    /// What it is about (an API and role, a credential, a field).
    pub subject: String,
    /// What is wrong.
    pub message: String,
    /// What it breaks.
    pub breaks: String,
    /// How to fix it.
    pub fix: String,
}

/// The credential consentry itself is configured with, as plain data (so the check does not care
/// how the manifest spells credential kinds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfiguredCredential {
    /// A client secret.
    Secret,
    /// A certificate, by SHA-1 thumbprint (uppercase hex).
    Certificate {
        /// Uppercase hex SHA-1 thumbprint.
        thumbprint: String,
    },
    /// A federated identity credential: the external token's issuer, subject and audiences.
    Federated {
        /// Exact issuer.
        issuer: String,
        /// Exact subject.
        subject: String,
        /// The token's `aud` values (one of them must be among the credential's `audiences`).
        audiences: Vec<String>,
    },
    /// A federated token, not read: the registration as read does not list its federated
    /// credentials (an `az ad app show` export), so there is nothing to compare it with.
    FederatedNotCompared,
    /// The credential could not be read where the check runs, so it was not compared.
    NotRead {
        /// `certificate` or `federated token`.
        what: &'static str,
        /// Why (names the source, never a value).
        reason: String,
        /// Simply not available here (a variable unset, a file missing): information, not a
        /// warning, since a job that only checks the registration usually lacks it.
        absent: bool,
    },
    /// Nothing to compare: the manifest names a certificate or federated token that has not been
    /// read (the offline view of [`Expected::from_manifest`]).
    Unknown,
}

impl From<crate::credential::Identity> for ConfiguredCredential {
    fn from(identity: crate::credential::Identity) -> ConfiguredCredential {
        use crate::credential::Identity;
        match identity {
            Identity::Secret => ConfiguredCredential::Secret,
            Identity::Certificate { thumbprint } => {
                ConfiguredCredential::Certificate { thumbprint }
            }
            Identity::Federated(external) => ConfiguredCredential::Federated {
                issuer: external.issuer,
                subject: external.subject,
                audiences: external.audiences,
            },
        }
    }
}

/// One API the manifest needs and the roles it needs from it (app-wide and per-tenant, together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedApi {
    /// The manifest key.
    pub key: String,
    /// The resource's app id, when known (catalog APIs, or a custom API named by GUID).
    pub resource_app_id: Option<String>,
    /// Every role any tenant needs.
    pub roles: BTreeSet<String>,
}

/// What the manifest expects of the registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The application (client) id.
    pub client_id: String,
    /// The consent links' redirect URI.
    pub redirect_uri: String,
    /// The APIs and roles, in manifest order.
    pub apis: Vec<WantedApi>,
    /// The credential consentry signs in with.
    pub credential: ConfiguredCredential,
}

impl Expected {
    /// Reads the expectation off a validated manifest: a role any tenant needs must be requested.
    pub fn from_manifest(manifest: &Manifest) -> Expected {
        let apis = manifest
            .apis
            .iter()
            .map(|api| {
                let mut roles = api.roles.clone();
                for tenant in &manifest.tenants {
                    if let Some(needed) = tenant.required.get(&api.key) {
                        roles.extend(needed.iter().cloned());
                    }
                }
                let resource_app_id = api
                    .resource_app_id
                    .clone()
                    .or_else(|| crate::validate::ids::guid(&api.resource).map(|g| g.to_string()));
                WantedApi {
                    key: api.key.clone(),
                    resource_app_id,
                    roles,
                }
            })
            .collect();
        Expected {
            client_id: manifest.app.client_id.to_string(),
            redirect_uri: manifest.app.redirect_uri.clone(),
            apis,
            credential: configured(&manifest.app.credential),
        }
    }

    /// The resource app ids whose role ids are needed.
    pub fn resource_app_ids(&self) -> impl Iterator<Item = &str> {
        self.apis
            .iter()
            .filter_map(|a| a.resource_app_id.as_deref())
    }
}

fn configured(credential: &Credential) -> ConfiguredCredential {
    match credential {
        Credential::ClientSecret(_) => ConfiguredCredential::Secret,
        // The thumbprint lives in the certificate file and the subject in the CI's token: neither
        // is in the manifest, so this view has nothing to compare until the caller reads them
        // (`AppCredential::identity`) and sets `Expected::credential`.
        Credential::Certificate(_) | Credential::Federated(_) => ConfiguredCredential::Unknown,
    }
}

/// The check's inputs besides the registration.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Now (a parameter so tests and snapshots are deterministic).
    pub now: DateTime<Utc>,
    /// Credentials ending within this window are warnings.
    pub expiry_warning: chrono::Duration,
}

/// A human label for a resource app id: the catalog alias, the manifest key, or the id itself.
pub fn resource_label(expected: &Expected, resource_app_id: &str) -> String {
    if let Some(api) = expected.apis.iter().find(|a| {
        a.resource_app_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(resource_app_id))
    }) {
        return api.key.clone();
    }
    catalog::APIS
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(resource_app_id))
        .map_or_else(|| resource_app_id.to_owned(), |a| a.alias.to_owned())
}

/// The one finding when the home tenant has no application with the manifest's client id.
pub fn not_found(client_id: &str, home_tenant: &str) -> Finding {
    Finding {
        code: FindingCode::AppNotFound,
        severity: Severity::Error,
        subject: client_id.to_owned(),
        message: format!(
            "no application with client id {client_id} in the home tenant {home_tenant}"
        ),
        breaks: "nothing can be checked, and no customer can consent to an app that does not exist"
            .into(),
        fix: "check app.client_id and app.home_tenant (the tenant the app is registered in)".into(),
    }
}

/// Checks a registration against the manifest's expectation. Findings are sorted (severity, code,
/// subject) so every format and run shows them in the same order.
pub fn check(
    registration: &Registration,
    expected: &Expected,
    ids: &RoleIds,
    options: &CheckOptions,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    identity(registration, expected, &mut findings);
    requested_roles(registration, expected, ids, &mut findings);
    extra_roles(registration, expected, ids, &mut findings);
    delegated_scopes(registration, expected, &mut findings);
    expiry(registration, options, &mut findings);
    configured_credential(registration, expected, &mut findings);
    findings
        .sort_by(|a, b| (a.severity, a.code, &a.subject).cmp(&(b.severity, b.code, &b.subject)));
    findings
}

fn finding(
    code: FindingCode,
    severity: Severity,
    subject: impl Into<String>,
    message: impl Into<String>,
    breaks: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        code,
        severity,
        subject: subject.into(),
        message: message.into(),
        breaks: breaks.into(),
        fix: fix.into(),
    }
}

fn identity(registration: &Registration, expected: &Expected, out: &mut Vec<Finding>) {
    if !registration
        .app_id
        .eq_ignore_ascii_case(&expected.client_id)
    {
        out.push(finding(
            FindingCode::AppIdMismatch,
            Severity::Error,
            "appId",
            format!(
                "the registration checked has appId {}, the manifest's app.client_id is {}",
                registration.app_id, expected.client_id
            ),
            "every other finding describes a different app than the one customers consent to",
            "export the right app (`az ad app show --id <app.client_id>`) or fix app.client_id",
        ));
    }
    let audience = registration.sign_in_audience.as_deref();
    if !audience.is_some_and(|a| MULTI_TENANT_AUDIENCES.contains(&a)) {
        out.push(finding(
            FindingCode::NotMultiTenant,
            Severity::Error,
            "signInAudience",
            format!(
                "signInAudience is {}, not multi-tenant",
                audience.map_or_else(|| "absent".to_owned(), |a| format!("`{a}`"))
            ),
            "no customer tenant can consent: the app exists only in the home tenant",
            "set \"Supported account types\" to \"Accounts in any organizational directory\" (signInAudience AzureADMultipleOrgs)",
        ));
    }
    let uris = registration
        .web
        .as_ref()
        .map(|w| w.redirect_uris.as_slice())
        .unwrap_or_default();
    if !uris.contains(&expected.redirect_uri) {
        let near = uris.iter().find(|u| {
            u.trim_end_matches('/')
                .eq_ignore_ascii_case(expected.redirect_uri.trim_end_matches('/'))
        });
        let fix = match near {
            Some(near) => format!(
                "the registration has `{near}`, which differs from the manifest's; redirect URIs must match byte for byte: change one of them"
            ),
            None => format!(
                "add `{}` as a Web redirect URI under Authentication, or set app.redirect_uri to one registered",
                expected.redirect_uri
            ),
        };
        out.push(finding(
            FindingCode::RedirectUriNotRegistered,
            Severity::Error,
            "web.redirectUris",
            format!(
                "the manifest's redirect_uri `{}` is not a web redirect URI of the app",
                expected.redirect_uri
            ),
            "every consent link ends on AADSTS50011 (redirect URI mismatch) after the admin consents",
            fix,
        ));
    }
}

fn requests(registration: &Registration, resource_app_id: &str, id: uuid::Uuid) -> bool {
    registration
        .required_resource_access
        .iter()
        .filter(|r| r.resource_app_id.eq_ignore_ascii_case(resource_app_id))
        .flat_map(|r| &r.resource_access)
        .any(|a| a.id == id && a.kind == AccessKind::Role)
}

fn requested_roles(
    registration: &Registration,
    expected: &Expected,
    ids: &RoleIds,
    out: &mut Vec<Finding>,
) {
    for api in expected.apis.iter().filter(|a| !a.roles.is_empty()) {
        let Some(app_id) = api.resource_app_id.as_deref() else {
            out.push(finding(
                FindingCode::RoleIdsUnresolved,
                Severity::Warning,
                api.key.clone(),
                format!(
                    "`{}` is named by its resource URI, not its app id: its roles were not compared",
                    api.key
                ),
                "nothing yet; a role missing from the registration would go unnoticed",
                "check its roles in the portal, or name the API by its application id (GUID) in `resource`",
            ));
            continue;
        };
        if !ids.knows(app_id) {
            let why = ids.why_unresolved(app_id).unwrap_or("unknown");
            out.push(finding(
                FindingCode::RoleIdsUnresolved,
                Severity::Warning,
                api.key.clone(),
                format!("role ids of `{}` are not known: {why}", api.key),
                "nothing yet; a role missing from the registration would go unnoticed",
                "run the check online (Graph) so ids are read from the resource's service principal",
            ));
            continue;
        }
        for role in &api.roles {
            let subject = format!("{} {role}", api.key);
            match ids.id(app_id, role) {
                None => out.push(finding(
                    FindingCode::RoleNotOnResource,
                    Severity::Error,
                    subject,
                    format!("`{}` has no application role `{role}`", api.key),
                    "the role can never be requested or granted",
                    "fix the role name in the manifest (`consentry roles` lists them)",
                )),
                Some(id) if !requests(registration, app_id, id) => out.push(finding(
                    FindingCode::RoleNotRequested,
                    Severity::Error,
                    subject,
                    format!(
                        "the manifest needs `{role}` of `{}` but the registration does not request it",
                        api.key
                    ),
                    "consent can never grant it: every tenant stays without it, whatever link is clicked",
                    "run `consentry app apply`, then have the tenants re-consent",
                )),
                Some(_) => {}
            }
        }
    }
}

fn extra_roles(
    registration: &Registration,
    expected: &Expected,
    ids: &RoleIds,
    out: &mut Vec<Finding>,
) {
    for resource in &registration.required_resource_access {
        let app_id = resource.resource_app_id.as_str();
        let wanted = expected.apis.iter().find(|a| {
            a.resource_app_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(app_id))
        });
        // A manifest API whose ids are unknown: already reported as unresolved, nothing to say.
        if wanted.is_some() && !ids.knows(app_id) {
            continue;
        }
        let label = resource_label(expected, app_id);
        for access in resource
            .resource_access
            .iter()
            .filter(|a| a.kind == AccessKind::Role)
        {
            let name = ids.name(app_id, access.id);
            let declared = match (wanted, name) {
                (Some(api), Some(name)) => api.roles.contains(name),
                _ => false,
            };
            if declared {
                continue;
            }
            let role = name.map_or_else(|| access.id.to_string(), str::to_owned);
            out.push(finding(
                FindingCode::RoleNotDeclared,
                Severity::Warning,
                format!("{label} {role}"),
                format!("the registration requests `{role}` of `{label}`, which the manifest does not declare"),
                "every customer is asked to grant more than the app needs",
                "remove it with `consentry app apply --prune`, or declare it in the manifest",
            ));
        }
    }
}

fn delegated_scopes(registration: &Registration, expected: &Expected, out: &mut Vec<Finding>) {
    let defender = [
        catalog::MICROSOFT_365_DEFENDER.app_id,
        catalog::DEFENDER_FOR_ENDPOINT.app_id,
    ];
    for resource in &registration.required_resource_access {
        if !defender
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&resource.resource_app_id))
        {
            continue;
        }
        let scopes = resource
            .resource_access
            .iter()
            .filter(|a| a.kind == AccessKind::Scope)
            .count();
        if scopes > 0 {
            let label = resource_label(expected, &resource.resource_app_id);
            out.push(finding(
                FindingCode::DelegatedScopeOnDefenderApi,
                Severity::Info,
                label.clone(),
                format!("the registration requests {scopes} delegated scope(s) of `{label}`"),
                "nothing: app-only tokens never carry delegated scopes, but the consent screen lists them",
                "remove them with `consentry app apply --prune` unless a signed-in user flow needs them",
            ));
        }
    }
}

fn expiry(registration: &Registration, options: &CheckOptions, out: &mut Vec<Finding>) {
    let soon = options.now + options.expiry_warning;
    let date = |d: DateTime<Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
    for secret in &registration.password_credentials {
        let Some(end) = secret.end_date_time else {
            continue;
        };
        let subject = format!(
            "secret {} (hint {}…)",
            secret.display_name.as_deref().unwrap_or("(no name)"),
            secret.hint.as_deref().unwrap_or("?")
        );
        if end <= options.now {
            out.push(finding(
                FindingCode::SecretExpired,
                Severity::Error,
                subject,
                format!("the client secret expired on {}", date(end)),
                "sign-in with it fails in every tenant at once (AADSTS7000222)",
                "create a new secret, update where consentry and the app read it, then delete the old one",
            ));
        } else if end <= soon {
            let days = (end - options.now).num_days();
            out.push(finding(
                FindingCode::SecretExpiring,
                Severity::Warning,
                subject,
                format!(
                    "the client secret expires on {} (in {days} day(s))",
                    date(end)
                ),
                "when it expires, sign-in fails in every tenant at once",
                "create a new secret now and roll it out before the old one expires",
            ));
        }
    }
    for key in &registration.key_credentials {
        let Some(end) = key.end_date_time else {
            continue;
        };
        let subject = format!(
            "certificate {} ({})",
            key.display_name.as_deref().unwrap_or("(no name)"),
            key.thumbprint().unwrap_or_else(|| "no thumbprint".into())
        );
        if end <= options.now {
            out.push(finding(
                FindingCode::CertificateExpired,
                Severity::Error,
                subject,
                format!("the certificate expired on {}", date(end)),
                "client assertions signed with it are refused in every tenant",
                "upload a new certificate, switch consentry to it, then remove the old one",
            ));
        } else if end <= soon {
            let days = (end - options.now).num_days();
            out.push(finding(
                FindingCode::CertificateExpiring,
                Severity::Warning,
                subject,
                format!(
                    "the certificate expires on {} (in {days} day(s))",
                    date(end)
                ),
                "when it expires, client assertions signed with it are refused in every tenant",
                "upload a new certificate now and switch to it before the old one expires",
            ));
        }
    }
}

fn configured_credential(registration: &Registration, expected: &Expected, out: &mut Vec<Finding>) {
    match &expected.credential {
        ConfiguredCredential::Secret => {
            if registration.password_credentials.is_empty() {
                out.push(finding(
                    FindingCode::NoSecretRegistered,
                    Severity::Error,
                    "passwordCredentials",
                    "consentry is configured with a client secret, but the app has none",
                    "every token request is refused (AADSTS7000215, invalid client secret)",
                    "add a client secret under Certificates & secrets, or configure the credential the app has",
                ));
            }
        }
        ConfiguredCredential::Certificate { thumbprint } => {
            let wanted = super::registration::thumbprint_hex(thumbprint);
            let signing: Vec<_> = registration
                .key_credentials
                .iter()
                .filter(|k| k.signs_in())
                .collect();
            if signing
                .iter()
                .any(|k| k.thumbprint().is_some() && k.thumbprint() == wanted)
            {
                return;
            }
            // Entra matches the key itself; the identifier is only a label set at upload. One
            // that is not a thumbprint cannot be compared, so it may still be this certificate.
            let unreadable = signing.iter().filter(|k| k.thumbprint().is_none()).count();
            if unreadable > 0 {
                out.push(finding(
                    FindingCode::CertificateNotCompared,
                    Severity::Warning,
                    format!("certificate {thumbprint}"),
                    format!(
                        "no registered certificate has the thumbprint of the one consentry signs with ({thumbprint}), and {unreadable} carry a customKeyIdentifier that is not a SHA-1 thumbprint, so whether one of them is it is unknown"
                    ),
                    "if none is, every token request is refused (AADSTS700027)",
                    "compare the thumbprints under Certificates & secrets; upload the certificate again (the portal and `az ad app credential reset --cert` set the identifier to the thumbprint)",
                ));
            } else {
                out.push(finding(
                    FindingCode::CertificateNotRegistered,
                    Severity::Error,
                    format!("certificate {thumbprint}"),
                    format!("the certificate consentry signs with ({thumbprint}) is not registered on the app"),
                    "every token request is refused (AADSTS700027)",
                    "upload the certificate's public part under Certificates & secrets",
                ));
            }
        }
        ConfiguredCredential::Federated {
            issuer,
            subject,
            audiences,
        } => match &registration.federated_identity_credentials {
            None => out.push(finding(
                FindingCode::FederatedCredentialsUnknown,
                Severity::Info,
                format!("federated {subject}"),
                "the export does not carry federatedIdentityCredentials: the configured subject was not checked",
                "nothing known yet",
                "check online, or export with `$expand=federatedIdentityCredentials`",
            )),
            Some(fics) => {
                if let Some(mismatch) = federated_mismatch(fics, issuer, subject, audiences) {
                    let audience = audiences.first().map_or(
                        crate::credential::AUDIENCE,
                        String::as_str,
                    );
                    out.push(finding(
                        FindingCode::FederatedCredentialNotRegistered,
                        Severity::Error,
                        format!("federated {subject}"),
                        mismatch.message,
                        mismatch.breaks,
                        format!(
                            "add a federated credential with exactly this issuer, subject and audience (`{audience}`), or make the token match an existing one"
                        ),
                    ));
                }
            }
        },
        ConfiguredCredential::FederatedNotCompared => {
            if registration.federated_identity_credentials.is_none() {
                out.push(finding(
                    FindingCode::FederatedCredentialsUnknown,
                    Severity::Info,
                    "federatedIdentityCredentials",
                    "the export does not carry federatedIdentityCredentials: the federated token consentry signs in with was not compared",
                    "nothing known yet",
                    "check online, or export with `$expand=federatedIdentityCredentials`",
                ));
            }
        }
        ConfiguredCredential::NotRead {
            what,
            reason,
            absent,
        } => out.push(finding(
            FindingCode::ConfiguredCredentialUnchecked,
            if *absent {
                Severity::Info
            } else {
                Severity::Warning
            },
            format!("configured {what}"),
            format!(
                "consentry's own {what} could not be read here, so whether the app lists it was not checked: {reason}"
            ),
            if *absent {
                "nothing, if the runs that sign in have it"
            } else {
                "every token request, if the runs that sign in read it the same way"
            },
            if *absent {
                "run the check where consentry signs in (the same variables and files), or ignore this in a job that only checks the registration"
            } else {
                "fix the credential as the reason says"
            },
        )),
        ConfiguredCredential::Unknown => {}
    }
}

/// Why no federated identity credential accepts a token with this issuer, subject and audience
/// (reference §6: each is compared exactly, and a mismatch of each has its own AADSTS code:
/// issuer 700211, subject 700213, audience 700212). `None` when one matches. The message narrows
/// to the first part no credential shares, and names a near miss (case, a trailing slash,
/// GitHub's immutable subject form), the usual cause.
fn federated_mismatch(
    fics: &[super::registration::FederatedCredential],
    issuer: &str,
    subject: &str,
    audiences: &[String],
) -> Option<Mismatch> {
    let audience_ok = |f: &super::registration::FederatedCredential| match &f.audiences {
        // An export without `audiences` says nothing about them: only a listed set can refuse.
        None => true,
        Some(accepted) => accepted.iter().any(|a| audiences.contains(a)),
    };
    let same_issuer: Vec<_> = fics.iter().filter(|f| f.issuer == issuer).collect();
    if same_issuer.is_empty() {
        let near = fics
            .iter()
            .find(|f| {
                f.issuer
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(issuer.trim_end_matches('/'))
            })
            .map(|f| {
                format!(
                    " (`{}` is registered: issuers are compared exactly, case and trailing slash included)",
                    f.issuer
                )
            })
            .unwrap_or_default();
        return Some(Mismatch {
            message: format!(
                "no federated identity credential trusts the issuer `{issuer}` of consentry's token{near}"
            ),
            breaks: "every token exchange is refused (AADSTS700211, no matching issuer)",
        });
    }
    let same_subject: Vec<_> = same_issuer
        .iter()
        .filter(|f| f.subject == subject)
        .collect();
    if same_subject.is_empty() {
        let registered: Vec<String> = same_issuer
            .iter()
            .map(|f| format!("`{}`", f.subject))
            .collect();
        let near = if same_issuer
            .iter()
            .any(|f| f.subject.eq_ignore_ascii_case(subject))
        {
            " (one differs only in case: subjects are case-sensitive)"
        } else if same_issuer.iter().any(|f| {
            github_immutable(&f.subject) != github_immutable(subject)
                && strip_github_ids(&f.subject) == strip_github_ids(subject)
        }) {
            " (the same repository in GitHub's other subject form: `repo:OWNER@ID/REPO@ID:…` and `repo:OWNER/REPO:…` are different subjects; register the form the token carries)"
        } else {
            ""
        };
        return Some(Mismatch {
            message: format!(
                "no federated identity credential for `{issuer}` has the subject `{subject}` of consentry's token{near}; registered: {}",
                registered.join(", ")
            ),
            breaks: "every token exchange is refused (AADSTS700213, no matching subject)",
        });
    }
    if same_subject.iter().any(|f| audience_ok(f)) {
        return None;
    }
    let token_audiences: Vec<String> = audiences.iter().map(|a| format!("`{a}`")).collect();
    Some(Mismatch {
        message: format!(
            "the federated identity credential for `{issuer}` and `{subject}` does not accept the token's audience ({})",
            if token_audiences.is_empty() {
                "none".to_owned()
            } else {
                token_audiences.join(", ")
            }
        ),
        breaks: "every token exchange is refused (AADSTS700212, no matching audience)",
    })
}

/// Whether a GitHub subject uses the immutable form (`repo:OWNER@ID/REPO@ID:…`).
fn github_immutable(subject: &str) -> bool {
    subject.starts_with("repo:") && subject.split(':').nth(1).is_some_and(|r| r.contains('@'))
}

/// A GitHub subject with the immutable form's `@ID`s removed, so both forms of one repository
/// compare equal (case-insensitively, as GitHub's names are).
fn strip_github_ids(subject: &str) -> String {
    let mut parts = subject.splitn(3, ':');
    let (Some("repo"), Some(repository)) = (parts.next(), parts.next()) else {
        return subject.to_owned();
    };
    let repository: Vec<&str> = repository
        .split('/')
        .map(|part| part.split('@').next().unwrap_or(part))
        .collect();
    format!(
        "repo:{}:{}",
        repository.join("/"),
        parts.next().unwrap_or_default()
    )
    .to_ascii_lowercase()
}

/// A federated near-miss, said as a finding says it.
struct Mismatch {
    message: String,
    breaks: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn finding_codes_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for code in FindingCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{s} is not kebab-case"
            );
        }
    }
}
