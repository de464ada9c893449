//! From token outcomes to the verify [`Report`]: entra failures mapped to statuses, roles compared,
//! statuses ranked, hints and consent links chosen, coverage counted. Pure: no I/O, so every rule is
//! unit-tested, and test fixtures build their reports through [`assess`] rather than a copy of it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::Options;
use super::report::{
    ApiReport, AppFailure, AppInfo, EntraError, Report, RoleCoverage, SCHEMA_VERSION, Status,
    Summary, TenantReport,
};
use crate::entra::aadsts::{self, Disposition};
use crate::entra::{Kind, TokenError};
use crate::exit::Exit;
use crate::model::{Manifest, Tenant, TenantId};

/// What one token request told verify about one tenant × API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiOutcome {
    /// A token whose claims check out: evidence.
    Token {
        /// Its `tid`, lowercase.
        tid: Option<String>,
        /// Its roles, sorted.
        roles: Vec<String>,
    },
    /// A token that is not evidence (wrong `tid`/`aud`/`appid`, expired, unreadable).
    Invalid {
        /// Which claims disagree, expected vs got; never token text.
        message: String,
    },
    /// No token.
    Failed(TokenError),
    /// The run ended before this request was answered.
    Unfinished(Unfinished),
}

/// Why a run ended before every request was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfinished {
    /// The run's deadline (`--deadline`) passed: reported `error`, "deadline reached".
    Deadline(std::time::Duration),
    /// The run was stopped (the signal's name, `SIGINT`): reported `not_checked`.
    Stopped(&'static str),
}

impl ApiOutcome {
    /// A short label for logs.
    pub fn status(&self) -> &'static str {
        match self {
            ApiOutcome::Token { .. } => "token",
            ApiOutcome::Invalid { .. } => Status::InvalidToken.as_str(),
            ApiOutcome::Failed(e) => status(e.kind).as_str(),
            ApiOutcome::Unfinished(Unfinished::Deadline(_)) => Status::Error.as_str(),
            ApiOutcome::Unfinished(Unfinished::Stopped(_)) => Status::NotChecked.as_str(),
        }
    }
}

/// The report status an entra failure of `kind` gives the tenant × API.
pub fn status(kind: Kind) -> Status {
    match kind {
        Kind::CredentialRejected | Kind::Cancelled => Status::CredentialRejected,
        Kind::NotConsented => Status::NotConsented,
        Kind::Disabled => Status::Disabled,
        Kind::ResourceMissing => Status::ResourceMissing,
        Kind::TenantNotFound => Status::TenantNotFound,
        Kind::Blocked
        | Kind::Throttled
        | Kind::Transient
        | Kind::Timeout
        | Kind::Transport
        | Kind::UntrustedCertificate
        | Kind::Protocol
        | Kind::TooLarge
        | Kind::Setup
        | Kind::Other => Status::Error,
    }
}

/// An entra failure as the report's [`EntraError`]: the OAuth `error` when Entra sent one,
/// consentry's own name for the kind otherwise.
pub fn entra_error(e: &TokenError) -> EntraError {
    let mut message = e.message.clone();
    // consentry's own failures say how hard it tried; Entra's answers are quoted as they were.
    if e.error.is_none() && e.attempts > 0 {
        message.push_str(&format!(", {} attempt(s)", e.attempts));
    }
    EntraError {
        code: e.code_name(),
        error: e
            .error
            .clone()
            .unwrap_or_else(|| e.kind.as_str().to_owned()),
        message,
        trace_id: e.trace_id.clone(),
        correlation_id: e.correlation_id.clone(),
        http_status: e.http_status,
        request_id: e.request_id.clone(),
        // Only when retried: one attempt's id is `request_id` already.
        request_ids: if e.request_ids.len() > 1 {
            e.request_ids.clone()
        } else {
            Vec::new()
        },
    }
}

fn sorted_diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b).cloned().collect()
}

fn invalid(message: String) -> EntraError {
    EntraError {
        code: None,
        error: "invalid_token".to_owned(),
        message,
        trace_id: None,
        correlation_id: None,
        http_status: None,
        request_id: None,
        request_ids: Vec::new(),
    }
}

/// The API reports of one tenant, and the `tid` its tokens agreed on.
fn api_reports(
    manifest: &Manifest,
    tenant: &Tenant,
    outcomes: Vec<(usize, ApiOutcome)>,
    rejection: Option<&EntraError>,
    fail_on_extra: bool,
) -> (Vec<(ApiReport, Option<Cause>)>, Option<String>) {
    let mut tid: Option<String> = tenant.id.guid().map(|g| g.to_string());
    let mut learnt = false;
    let mut apis = Vec::with_capacity(outcomes.len());
    for (ai, outcome) in outcomes {
        let api = &manifest.apis[ai];
        let required = tenant.required.get(&api.key).cloned().unwrap_or_default();
        let mut cause = None;
        let mut report = ApiReport {
            api: api.key.clone(),
            resource: api.resource.clone(),
            status: Status::Error,
            required: required.iter().cloned().collect(),
            granted: Vec::new(),
            missing: Vec::new(),
            extra: Vec::new(),
            error: None,
            // Filled in by the run, which timed the requests.
            attempts: 0,
            elapsed_ms: 0,
        };
        match outcome {
            ApiOutcome::Token {
                tid: token_tid,
                roles,
            } => {
                // A domain tenant learns its GUID from the first valid token; every other token
                // must name the same tenant.
                let agrees = match (&tid, &token_tid, tenant.id.guid()) {
                    (_, _, Some(_)) => true,
                    (None, Some(got), None) => {
                        tid = Some(got.clone());
                        learnt = true;
                        true
                    }
                    (Some(first), Some(got), None) => first == got,
                    (_, None, None) => false,
                };
                if agrees {
                    let granted: BTreeSet<String> = roles.into_iter().collect();
                    report.missing = sorted_diff(&required, &granted);
                    report.extra = sorted_diff(&granted, &required);
                    report.granted = granted.into_iter().collect();
                    report.status = if !report.missing.is_empty() {
                        Status::MissingRoles
                    } else if fail_on_extra && !report.extra.is_empty() {
                        // The run counts extras as findings: say so in the status every format
                        // shows, not only in the exit code.
                        Status::ExtraRoles
                    } else {
                        Status::Ok
                    };
                } else {
                    report.status = Status::InvalidToken;
                    report.error = Some(invalid(format!(
                        "claim `tid`: expected {} (named by this tenant's other tokens), got {}",
                        tid.as_deref().unwrap_or("none"),
                        token_tid.as_deref().unwrap_or("none")
                    )));
                }
            }
            ApiOutcome::Invalid { message } => {
                report.status = Status::InvalidToken;
                report.error = Some(invalid(message));
            }
            ApiOutcome::Failed(error) if error.kind == Kind::Cancelled => {
                cause = Some(Cause::Entra(Kind::Cancelled));
                // Never asked: nothing is known about the tenant, and the one cause is the app's,
                // said once in the report's `app_failure`.
                report.status = Status::NotChecked;
                let because = rejection
                    .map(|r| match &r.code {
                        Some(code) => format!(" ({code}: {})", r.message),
                        None => format!(" ({})", r.message),
                    })
                    .unwrap_or_default();
                report.error = Some(EntraError {
                    code: rejection.and_then(|r| r.code.clone()),
                    error: Kind::Cancelled.as_str().to_owned(),
                    message: format!(
                        "not asked: the app's credential was already rejected{because}"
                    ),
                    trace_id: None,
                    correlation_id: None,
                    http_status: None,
                    request_id: None,
                    request_ids: Vec::new(),
                });
            }
            ApiOutcome::Failed(error) => {
                cause = Some(Cause::Entra(error.kind));
                report.status = status(error.kind);
                report.error = Some(entra_error(&error));
                // Entra said the tenant grants this app nothing here: every required role is
                // known to be missing, as the table's ✗ says. Unknown states keep `missing` empty.
                if grants_nothing(report.status) {
                    report.missing = report.required.clone();
                }
            }
            ApiOutcome::Unfinished(why) => {
                if matches!(why, Unfinished::Deadline(_)) {
                    cause = Some(Cause::Deadline);
                }
                let (status, error, message) = match why {
                    Unfinished::Deadline(limit) => (
                        Status::Error,
                        "deadline",
                        format!(
                            "deadline reached: no answer within the run's --deadline of {}",
                            humantime::format_duration(limit)
                        ),
                    ),
                    Unfinished::Stopped(signal) => (
                        Status::NotChecked,
                        "not_checked",
                        format!("not checked: the run was stopped ({signal}) before an answer"),
                    ),
                };
                report.status = status;
                report.error = Some(EntraError {
                    code: None,
                    error: error.to_owned(),
                    message,
                    trace_id: None,
                    correlation_id: None,
                    http_status: None,
                    request_id: None,
                    request_ids: Vec::new(),
                });
            }
        }
        apis.push((report, cause));
    }
    let tenant_id = match &tenant.id {
        TenantId::Guid(g) => Some(g.to_string()),
        TenantId::Domain(_) if learnt => tid,
        TenantId::Domain(_) => None,
    };
    (apis, tenant_id)
}

/// Whether Entra's answer for this status means the app holds no role in the tenant × API (no
/// service principal, a disabled one, no resource, no tenant): its required roles are `missing`.
pub fn grants_nothing(status: Status) -> bool {
    matches!(
        status,
        Status::NotConsented | Status::Disabled | Status::ResourceMissing | Status::TenantNotFound
    )
}

fn role_list(apis: &[ApiReport], pick: fn(&ApiReport) -> &Vec<String>) -> String {
    apis.iter()
        .filter(|a| !pick(a).is_empty())
        .map(|a| format!("{}: {}", a.api, pick(a).join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What decided an API's failure, for the hint: an entra failure, or the run's `--deadline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The identity platform's answer (or the lack of one).
    Entra(Kind),
    /// The run's deadline passed first.
    Deadline,
}

/// What the partner should do about a tenant in `status`, given the deciding API's failure cause
/// and error.
fn hint(
    status: Status,
    apis: &[ApiReport],
    cause: Option<Cause>,
    error: Option<&EntraError>,
) -> Option<String> {
    let entry = error
        .and_then(|e| e.code.as_deref())
        .and_then(aadsts::lookup);
    let text = match status {
        Status::Ok => return None,
        // Said below, with the roles, whenever extras count.
        Status::ExtraRoles => String::new(),
        Status::MissingRoles => format!(
            "Consented, but the token lacks {}. Send the consent link again: an admin must re-consent to grant roles the app now requests (if consent was just given, wait a few minutes for it to replicate).",
            role_list(apis, |a| &a.missing)
        ),
        Status::InvalidToken => "The token Entra returned is not evidence for this tenant (see error). Check the tenant id, the cloud and --authority-host, then run again.".to_owned(),
        // The deciding code's own advice (70021 says more than "fix the secret"), else the
        // secret's.
        Status::CredentialRejected => entry
            .filter(|e| e.disposition == Disposition::Final(Kind::CredentialRejected))
            .or_else(|| aadsts::lookup_number(7000215))
            .map(|e| e.advice.to_owned())
            .unwrap_or_default(),
        Status::NotChecked if cause == Some(Cause::Entra(Kind::Cancelled)) => "Not asked: the app's credential was rejected (see the app-wide failure); fix it, then run verify again.".to_owned(),
        Status::NotChecked => "The run was stopped before this tenant was checked: run verify again.".to_owned(),
        _ => match (entry, cause) {
            (_, Some(Cause::Deadline)) => "The run's --deadline passed before this tenant answered: run again later, with a longer --deadline, or check it alone with --tenant.".to_owned(),
            (Some(entry), _) => entry.advice.to_owned(),
            (None, Some(Cause::Entra(Kind::Timeout))) => "No answer from the token endpoint: check the network (proxy, firewall) and --authority-host, or raise --timeout, then run again.".to_owned(),
            (None, Some(Cause::Entra(Kind::Throttled))) => "Throttled (HTTP 429) on every attempt: run again later, with a lower --concurrency or more --retries.".to_owned(),
            (None, Some(Cause::Entra(Kind::Transient))) => "The token endpoint kept failing (HTTP 5xx) on every attempt: a service problem on Entra's side; run again later.".to_owned(),
            (None, Some(Cause::Entra(Kind::Transport))) => "Could not reach the token endpoint: check the network (proxy, firewall, DNS) and --authority-host, then run again.".to_owned(),
            (None, Some(Cause::Entra(Kind::UntrustedCertificate))) => "The token endpoint's TLS certificate is not trusted (see error): if a TLS-inspecting proxy or a private CA signs it, pass that CA with --ca-cert FILE (PEM), or set SSL_CERT_FILE (Linux), then run again.".to_owned(),
            (None, Some(Cause::Entra(Kind::TooLarge))) => "The token endpoint answered with more than 1 MiB, far more than any token answer: check --authority-host (it may not be Entra ID) and any proxy in between.".to_owned(),
            (None, _) if error.and_then(|e| e.code.as_ref()).is_some() => {
                let code = error.and_then(|e| e.code.as_deref()).unwrap_or_default();
                format!(
                    "{code} is not in consentry's table: read Entra's message, and https://login.microsoftonline.com/error?code={}",
                    code.trim_start_matches("AADSTS")
                )
            }
            _ => "The token endpoint's answer was not understood (see error); run again, and report it if it persists.".to_owned(),
        },
    };
    // Throttled/transient codes that ran out of retries say so explicitly.
    let text = match entry.map(|e| e.disposition) {
        Some(Disposition::Retry) => format!("Still failing after every retry. {text}"),
        _ => text,
    };
    Some(text)
}

fn tenant_report(
    manifest: &Manifest,
    tenant: &Tenant,
    outcomes: Vec<(usize, ApiOutcome)>,
    rejection: Option<&EntraError>,
    options: &Options,
) -> TenantReport {
    let (apis, tenant_id) =
        api_reports(manifest, tenant, outcomes, rejection, options.fail_on_extra);
    // A tenant that rejected the credential says so, even when its other APIs were then never
    // asked (`not_checked`, ranked worse): the rejection is what it told.
    let status = if apis
        .iter()
        .any(|(a, _)| a.status == Status::CredentialRejected)
    {
        Status::CredentialRejected
    } else {
        apis.iter()
            .map(|(a, _)| a.status)
            .max()
            .unwrap_or(Status::Ok)
    };
    let deciding = apis.iter().find(|(a, _)| a.status == status);
    let error = deciding.and_then(|(a, _)| a.error.clone());
    let cause = deciding.and_then(|(_, cause)| *cause);
    let apis: Vec<ApiReport> = apis.into_iter().map(|(a, _)| a).collect();
    let mut hint = hint(status, &apis, cause, error.as_ref());
    if options.fail_on_extra && apis.iter().any(|a| !a.extra.is_empty()) {
        let extra = format!(
            "Extra roles granted (least privilege): {}. Remove them from the app registration, then have the tenant consent again, or revoke them in the tenant.",
            role_list(&apis, |a| &a.extra)
        );
        hint = Some(match hint {
            Some(h) if !h.is_empty() => format!("{h} {extra}"),
            _ => extra,
        });
    }
    // resource_missing: once the customer activates the service, consent is the next step.
    let consent_url = matches!(
        status,
        Status::NotConsented | Status::MissingRoles | Status::ResourceMissing
    )
    .then(|| {
        crate::consent::admin_consent_url(
            manifest.cloud,
            &tenant.id.as_str(),
            &manifest.app.client_id.to_string(),
            &manifest.app.redirect_uri,
            options.link_style,
        )
    });
    TenantReport {
        name: tenant.name.clone(),
        id: tenant.id.to_string(),
        labels: tenant.labels.clone(),
        tenant_id,
        status,
        apis,
        error,
        hint,
        consent_url,
        app_failure: false,
    }
}

/// Kinds that say nothing about a tenant and everything about the way to the authority: when
/// every request of a run failed so, the cause is the run's, not forty tenants'.
fn unreachable(kind: Kind) -> bool {
    matches!(kind, Kind::Transport | Kind::Timeout)
}

/// The first failure of a run in which every request of at least two tenants failed on the way
/// to the authority (a single tenant's failure stays that tenant's).
fn all_unreachable(per_tenant: &[Vec<(usize, ApiOutcome)>]) -> Option<TokenError> {
    if per_tenant.len() < 2 {
        return None;
    }
    let mut first = None;
    for (_, outcome) in per_tenant.iter().flatten() {
        match outcome {
            ApiOutcome::Failed(e) if unreachable(e.kind) => {
                first.get_or_insert(e);
            }
            _ => return None,
        }
    }
    first.cloned()
}

/// The app-wide failure of a run, if any: the app's credential rejected (by any tenant), or the
/// authority unreachable for every request of every tenant. Marks the tenants it explains and
/// shortens their hints to a pointer, so the fix is said once.
fn app_failure(
    unreachable_first: Option<&TokenError>,
    rejection: Option<&EntraError>,
    tenants: &mut [TenantReport],
) -> Option<AppFailure> {
    let (status, error, fix, pointer) = if let Some(rejection) = rejection {
        let fix = hint(
            Status::CredentialRejected,
            &[],
            Some(Cause::Entra(Kind::CredentialRejected)),
            Some(rejection),
        )
        .unwrap_or_default();
        (
            Status::CredentialRejected,
            rejection.clone(),
            fix,
            "The app's credential was rejected: see the app-wide failure above.",
        )
    } else {
        let first = unreachable_first?;
        let error = entra_error(first);
        let fix = hint(
            Status::Error,
            &[],
            Some(Cause::Entra(first.kind)),
            Some(&error),
        )
        .unwrap_or_default();
        (
            Status::Error,
            error,
            fix,
            "The authority could not be reached: see the app-wide failure above.",
        )
    };
    let mut count = 0;
    for tenant in tenants.iter_mut() {
        let explained = match status {
            Status::CredentialRejected => {
                tenant.apis.iter().any(|a| {
                    a.status == Status::CredentialRejected
                        || a.error
                            .as_ref()
                            .is_some_and(|e| e.error == Kind::Cancelled.as_str())
                }) && tenant.status.is_undetermined()
            }
            _ => true,
        };
        if explained {
            tenant.app_failure = true;
            tenant.hint = Some(pointer.to_owned());
            count += 1;
        }
    }
    Some(AppFailure {
        status,
        error,
        fix,
        tenants: count,
    })
}

/// The summary of `tenants` (also of a subset: `--group-by label`).
pub fn summary(tenants: &[TenantReport]) -> Summary {
    let mut summary = Summary {
        tenants: tenants.len(),
        ..Summary::default()
    };
    for tenant in tenants {
        *summary.by_status.entry(tenant.status).or_default() += 1;
        if tenant.status == Status::Ok {
            summary.fully_covered += 1;
        }
        for api in &tenant.apis {
            let roles: &mut BTreeMap<String, RoleCoverage> =
                summary.roles.entry(api.api.clone()).or_default();
            for role in &api.required {
                let coverage = roles.entry(role.clone()).or_default();
                coverage.required += 1;
                if api.granted.binary_search(role).is_ok() {
                    coverage.granted += 1;
                }
            }
        }
    }
    summary
}

/// Builds the report from each selected tenant's outcomes (`per_tenant[i]` belongs to
/// `manifest.tenants[selected[i]]`, each outcome with the index of its API in `manifest.apis`).
pub fn assess(
    manifest: &Manifest,
    selected: &[usize],
    per_tenant: Vec<Vec<(usize, ApiOutcome)>>,
    options: &Options,
    now: DateTime<Utc>,
) -> Report {
    // The first real rejection, in manifest order, explains every tenant that was not asked.
    let rejection = per_tenant
        .iter()
        .flatten()
        .find_map(|(_, outcome)| match outcome {
            ApiOutcome::Failed(e) if e.kind == Kind::CredentialRejected => Some(entra_error(e)),
            _ => None,
        });
    let unreachable_first = all_unreachable(&per_tenant);
    let mut tenants: Vec<TenantReport> = selected
        .iter()
        .zip(per_tenant)
        .map(|(&ti, outcomes)| {
            tenant_report(
                manifest,
                &manifest.tenants[ti],
                outcomes,
                rejection.as_ref(),
                options,
            )
        })
        .collect();
    let app_failure = app_failure(unreachable_first.as_ref(), rejection.as_ref(), &mut tenants);
    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: now,
        app: AppInfo {
            name: manifest.app.name.clone(),
            client_id: manifest.app.client_id.to_string(),
        },
        cloud: manifest.cloud,
        fail_on_extra: options.fail_on_extra,
        // Known to the caller that signed in, not to the assessment.
        credential: None,
        signatures: None,
        app_failure,
        elapsed_ms: 0,
        summary: summary(&tenants),
        app_registration: None,
        tenants,
    }
}

impl Report {
    /// The exit code this report means: 3 when any tenant is undetermined, 1 for any other
    /// finding (including extra roles under `--fail-on-extra`, and `verify --app`'s registration
    /// errors), 0 when every tenant is ok.
    pub fn exit(&self) -> Exit {
        if self.tenants.iter().any(|t| t.status.is_undetermined()) {
            Exit::Undetermined
        } else if self
            .app_registration
            .as_ref()
            .is_some_and(|a| a.with_severity("error").next().is_some())
            || self.tenants.iter().any(|t| t.status != Status::Ok)
        {
            Exit::Findings
        } else {
            Exit::Success
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Api, App, Credential};
    use std::time::Duration;

    const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
    const T1: &str = "2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d";

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn manifest() -> Manifest {
        let api = |key: &str, resource: &str, roles: &[&str]| Api {
            key: key.into(),
            resource: resource.into(),
            resource_app_id: None,
            display_name: key.into(),
            in_catalog: true,
            roles: set(roles),
        };
        let tenant = |name: &str, id: TenantId, req: &[(&str, &[&str])]| Tenant {
            name: name.into(),
            id,
            labels: vec![],
            required: req.iter().map(|(k, r)| (k.to_string(), set(r))).collect(),
        };
        let both: &[(&str, &[&str])] = &[
            ("m365d", &["Incident.Read.All", "AdvancedHunting.Read.All"]),
            ("mde", &["Machine.Read.All"]),
        ];
        Manifest {
            app: App {
                name: "Contoso".into(),
                client_id: CLIENT.parse().unwrap(),
                redirect_uri: "https://portal.azure.com".into(),
                credential: Credential::default(),
                home_tenant: None,
            },
            cloud: crate::cloud::Cloud::Global,
            apis: vec![
                api(
                    "m365d",
                    "https://api.security.microsoft.com",
                    &["Incident.Read.All", "AdvancedHunting.Read.All"],
                ),
                api(
                    "mde",
                    "https://api.securitycenter.microsoft.com",
                    &["Machine.Read.All"],
                ),
            ],
            tenants: vec![
                tenant("Fabrikam", TenantId::Guid(T1.parse().unwrap()), both),
                tenant(
                    "Northwind",
                    TenantId::Domain("northwind.onmicrosoft.com".into()),
                    both,
                ),
            ],
        }
    }

    fn options() -> Options {
        let mut o = Options::new(url::Url::parse("http://127.0.0.1:1").unwrap());
        o.timeout = Duration::from_secs(1);
        o
    }

    fn token(tid: &str, roles: &[&str]) -> ApiOutcome {
        ApiOutcome::Token {
            tid: Some(tid.into()),
            roles: roles.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn rejected(kind: Kind, code: &str) -> ApiOutcome {
        ApiOutcome::Failed(TokenError {
            kind,
            code: aadsts::parse_code(code),
            error: Some("x".into()),
            message: "said".into(),
            trace_id: Some("t".into()),
            correlation_id: Some("c".into()),
            http_status: Some(400),
            request_id: None,
            request_ids: Vec::new(),
            attempts: 1,
        })
    }

    fn cancelled() -> ApiOutcome {
        ApiOutcome::Failed(TokenError::new(Kind::Cancelled, "not asked"))
    }

    fn build(outcomes: Vec<Vec<ApiOutcome>>, options: &Options) -> Report {
        let per_tenant = outcomes
            .into_iter()
            .map(|o| o.into_iter().enumerate().collect())
            .collect();
        assess(&manifest(), &[0, 1], per_tenant, options, Utc::now())
    }

    #[test]
    fn ok_missing_extra_and_domain_tid() {
        let all = ["AdvancedHunting.Read.All", "Incident.Read.All"];
        let r = build(
            vec![
                vec![
                    token(T1, &all),
                    token(T1, &["Machine.Read.All", "Alert.Read.All"]),
                ],
                vec![token("9f", &["Incident.Read.All"]), token("9f", &[])],
            ],
            &options(),
        );
        let fab = &r.tenants[0];
        assert_eq!(fab.status, Status::Ok);
        assert_eq!(fab.apis[1].extra, ["Alert.Read.All"]);
        assert_eq!(
            (fab.hint.as_deref(), fab.consent_url.as_deref()),
            (None, None)
        );
        let nw = &r.tenants[1];
        assert_eq!(nw.tenant_id.as_deref(), Some("9f"));
        assert_eq!(nw.status, Status::MissingRoles);
        assert_eq!(nw.apis[0].missing, ["AdvancedHunting.Read.All"]);
        assert_eq!(nw.apis[1].missing, ["Machine.Read.All"]);
        let hint = nw.hint.as_deref().unwrap();
        assert!(
            hint.contains("m365d: AdvancedHunting.Read.All; mde: Machine.Read.All"),
            "{hint}"
        );
        assert!(nw.consent_url.as_deref().unwrap().starts_with(
            "https://login.microsoftonline.com/northwind.onmicrosoft.com/adminconsent?client_id="
        ));
        assert_eq!(r.summary.fully_covered, 1);
        assert_eq!(r.summary.by_status.get(&Status::MissingRoles), Some(&1));
        assert_eq!(
            r.summary.roles["m365d"]["AdvancedHunting.Read.All"],
            RoleCoverage {
                required: 2,
                granted: 1
            }
        );
        assert_eq!(r.exit(), Exit::Findings);
    }

    #[test]
    fn unfinished_work_is_not_checked_after_a_signal_and_error_after_the_deadline() {
        let all = ["AdvancedHunting.Read.All", "Incident.Read.All"];
        let r = build(
            vec![
                vec![
                    token(T1, &all),
                    ApiOutcome::Unfinished(Unfinished::Stopped("SIGINT")),
                ],
                vec![
                    ApiOutcome::Unfinished(Unfinished::Deadline(Duration::from_secs(90))),
                    token("9f", &["Machine.Read.All"]),
                ],
            ],
            &options(),
        );
        let stopped = &r.tenants[0];
        assert_eq!(
            stopped.apis[0].status,
            Status::Ok,
            "what was answered is kept"
        );
        assert_eq!(stopped.status, Status::NotChecked);
        let error = stopped.error.as_ref().unwrap();
        assert_eq!(error.error, "not_checked");
        assert!(error.message.contains("SIGINT"), "{}", error.message);
        assert!(
            stopped
                .hint
                .as_deref()
                .unwrap()
                .contains("run verify again")
        );
        assert_eq!(stopped.consent_url, None);

        let late = &r.tenants[1];
        assert_eq!(late.status, Status::Error);
        let error = late.error.as_ref().unwrap();
        assert_eq!(
            error.message,
            "deadline reached: no answer within the run's --deadline of 1m 30s"
        );
        assert!(late.hint.as_deref().unwrap().contains("--deadline"));
        assert_eq!(r.summary.by_status.get(&Status::NotChecked), Some(&1));
        assert_eq!(r.exit(), Exit::Undetermined);
        assert!(Status::NotChecked.is_undetermined());
        let json = serde_json::to_string(&Status::NotChecked).unwrap();
        assert_eq!(json, "\"not_checked\"");
    }

    #[test]
    fn fail_on_extra_makes_extras_a_visible_finding() {
        let all = ["AdvancedHunting.Read.All", "Incident.Read.All"];
        let outcomes = || {
            vec![
                vec![
                    token(T1, &all),
                    token(T1, &["Machine.Read.All", "Alert.Read.All"]),
                ],
                vec![token("9f", &all), token("9f", &["Machine.Read.All"])],
            ]
        };
        assert_eq!(build(outcomes(), &options()).exit(), Exit::Success);
        let mut strict = options();
        strict.fail_on_extra = true;
        let r = build(outcomes(), &strict);
        assert_eq!(r.exit(), Exit::Findings);
        // What makes the exit code 1 is a status every format shows and the summary counts.
        assert_eq!(r.tenants[0].status, Status::ExtraRoles);
        assert_eq!(r.tenants[0].apis[1].status, Status::ExtraRoles);
        assert_eq!(r.tenants[0].apis[0].status, Status::Ok);
        assert_eq!(r.tenants[1].status, Status::Ok);
        assert_eq!(r.summary.by_status.get(&Status::ExtraRoles), Some(&1));
        assert_eq!(r.summary.fully_covered, 1);
        assert!(
            r.tenants[0]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("Extra roles granted")
        );
        // Without the flag the same tenant is ok: extras are listed, not findings.
        assert_eq!(build(outcomes(), &options()).tenants[0].status, Status::Ok);
        assert!(
            r.tenants[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("mde: Alert.Read.All")
        );
        assert_eq!(r.tenants[1].hint, None);
    }

    #[test]
    fn worst_status_decides_and_carries_error_hint_and_link() {
        let all = ["AdvancedHunting.Read.All", "Incident.Read.All"];
        let r = build(
            vec![
                vec![
                    token(T1, &all),
                    rejected(Kind::NotConsented, "AADSTS700016"),
                ],
                vec![
                    rejected(Kind::ResourceMissing, "AADSTS500011"),
                    ApiOutcome::Invalid {
                        message: "claim `aud`: expected a, got b".into(),
                    },
                ],
            ],
            &options(),
        );
        let fab = &r.tenants[0];
        assert_eq!(fab.status, Status::NotConsented);
        assert_eq!(
            fab.error.as_ref().unwrap().code.as_deref(),
            Some("AADSTS700016")
        );
        assert!(fab.hint.as_deref().unwrap().contains("admin-consent link"));
        assert!(fab.consent_url.is_some());
        let nw = &r.tenants[1];
        assert_eq!(nw.status, Status::ResourceMissing);
        assert_eq!(nw.apis[1].status, Status::InvalidToken);
        assert_eq!(nw.apis[1].granted, Vec::<String>::new());
        // Once the customer activates the service, consenting is the next step: the link is there.
        assert!(
            nw.consent_url
                .as_deref()
                .unwrap()
                .contains("/northwind.onmicrosoft.com/adminconsent?")
        );
        assert_eq!(nw.tenant_id, None, "no valid token, no tid learnt");
        assert_eq!(r.exit(), Exit::Findings);
    }

    #[test]
    fn domain_tokens_that_disagree_on_tid_are_invalid() {
        let all = ["AdvancedHunting.Read.All", "Incident.Read.All"];
        let r = build(
            vec![
                vec![token(T1, &all), token(T1, &["Machine.Read.All"])],
                vec![token("aa", &all), token("bb", &["Machine.Read.All"])],
            ],
            &options(),
        );
        assert_eq!(r.tenants[1].status, Status::InvalidToken);
        let msg = &r.tenants[1].error.as_ref().unwrap().message;
        assert!(
            msg.contains("expected aa") && msg.contains("got bb"),
            "{msg}"
        );
    }

    #[test]
    fn an_authority_unreachable_for_every_request_is_one_app_wide_failure() {
        let unreachable = || {
            let mut e = TokenError::new(Kind::Transport, "connection refused");
            e.attempts = 4;
            ApiOutcome::Failed(e)
        };
        let r = build(
            vec![
                vec![unreachable(), unreachable()],
                vec![unreachable(), unreachable()],
            ],
            &options(),
        );
        let failure = r.app_failure.as_ref().unwrap();
        assert_eq!(failure.status, Status::Error);
        assert!(failure.fix.contains("--authority-host"), "{}", failure.fix);
        assert_eq!(failure.tenants, 2);
        assert!(
            r.tenants
                .iter()
                .all(|t| t.app_failure && t.status == Status::Error)
        );
        assert_eq!(r.exit(), Exit::Undetermined);
        // One tenant that answered is enough to make it the tenants' own failures.
        let r = build(
            vec![
                vec![unreachable(), unreachable()],
                vec![token("9f", &["Incident.Read.All"]), unreachable()],
            ],
            &options(),
        );
        assert_eq!(r.app_failure, None);
        assert!(r.tenants.iter().all(|t| !t.app_failure));
    }

    #[test]
    fn missing_lists_every_required_role_when_entra_says_nothing_is_granted() {
        let r = build(
            vec![
                vec![
                    rejected(Kind::NotConsented, "AADSTS700016"),
                    rejected(Kind::Disabled, "AADSTS7000112"),
                ],
                vec![
                    rejected(Kind::TenantNotFound, "AADSTS90002"),
                    ApiOutcome::Invalid {
                        message: "claim `aud`: expected a, got b".into(),
                    },
                ],
            ],
            &options(),
        );
        let fab = &r.tenants[0];
        assert_eq!(fab.apis[0].missing, fab.apis[0].required);
        assert_eq!(fab.apis[1].missing, vec!["Machine.Read.All".to_owned()]);
        let nw = &r.tenants[1];
        assert_eq!(nw.apis[0].missing, nw.apis[0].required);
        assert!(!nw.apis[0].missing.is_empty());
        // Nothing is known from a token that is not evidence: nothing is said missing.
        assert_eq!(nw.apis[1].missing, Vec::<String>::new());
    }

    #[test]
    fn credential_rejected_explains_not_asked_tenants_and_exits_3() {
        let r = build(
            vec![
                vec![
                    rejected(Kind::CredentialRejected, "AADSTS7000215"),
                    cancelled(),
                ],
                vec![cancelled(), cancelled()],
            ],
            &options(),
        );
        // The tenant that was asked says so; the tenant never asked is not_checked.
        assert_eq!(r.tenants[0].status, Status::CredentialRejected);
        assert_eq!(r.tenants[1].status, Status::NotChecked);
        assert_eq!(r.tenants[0].apis[1].status, Status::NotChecked);
        // The cause is said once, app-wide, with its fix; the tenants point there.
        let failure = r.app_failure.as_ref().unwrap();
        assert_eq!(failure.status, Status::CredentialRejected);
        assert_eq!(failure.error.code.as_deref(), Some("AADSTS7000215"));
        assert!(
            failure
                .fix
                .starts_with("Fix the app's credential in the home tenant"),
            "{}",
            failure.fix
        );
        assert_eq!(failure.tenants, 2);
        assert!(r.tenants.iter().all(|t| t.app_failure));
        let nw = &r.tenants[1];
        let error = nw.error.as_ref().unwrap();
        assert_eq!(error.error, "not_asked");
        assert_eq!(error.code.as_deref(), Some("AADSTS7000215"));
        assert!(
            error.message.contains("AADSTS7000215: said"),
            "{}",
            error.message
        );
        assert!(
            nw.hint
                .as_deref()
                .unwrap()
                .contains("see the app-wide failure"),
            "{:?}",
            nw.hint
        );
        assert!(
            !nw.hint
                .as_deref()
                .unwrap()
                .contains("Fix the app's credential")
        );
        assert_eq!(r.exit(), Exit::Undetermined);
    }

    #[test]
    fn errors_get_specific_hints() {
        let timeout = ApiOutcome::Failed(TokenError::new(Kind::Timeout, "no answer within 1s"));
        let r = build(
            vec![
                vec![timeout, rejected(Kind::Other, "AADSTS9999999")],
                vec![
                    rejected(Kind::Throttled, "AADSTS90055"),
                    rejected(Kind::Blocked, "AADSTS53003"),
                ],
            ],
            &options(),
        );
        assert!(r.tenants[0].hint.as_deref().unwrap().contains("--timeout"));
        assert!(
            r.tenants[1]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("Still failing after every retry.")
        );
        let mut only_unknown = build(
            vec![
                vec![
                    rejected(Kind::Other, "AADSTS9999999"),
                    token(T1, &["Machine.Read.All"]),
                ],
                vec![rejected(Kind::Blocked, "AADSTS53003"), token("x", &[])],
            ],
            &options(),
        );
        let unknown = only_unknown.tenants.remove(0).hint.unwrap();
        assert!(unknown.contains("error?code=9999999"), "{unknown}");
        assert!(
            only_unknown.tenants[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("Conditional Access")
        );
        assert_eq!(r.exit(), Exit::Undetermined);
    }
}
