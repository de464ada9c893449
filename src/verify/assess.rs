//! From token outcomes to the verify [`Report`]: roles compared, statuses ranked, hints and consent
//! links chosen, coverage counted. Pure: no I/O, so every rule is unit-tested.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::Options;
use super::report::{
    ApiReport, AppInfo, EntraError, Report, RoleCoverage, SCHEMA_VERSION, Status, Summary,
    TenantReport,
};
use crate::aadsts::{self, Disposition};
use crate::auth::TokenError;
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
}

impl ApiOutcome {
    /// A short label for logs.
    pub fn status(&self) -> &'static str {
        match self {
            ApiOutcome::Token { .. } => "token",
            ApiOutcome::Invalid { .. } => Status::InvalidToken.as_str(),
            ApiOutcome::Failed(e) => e.status().as_str(),
        }
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
    }
}

/// The API reports of one tenant, and the `tid` its tokens agreed on.
fn api_reports(
    manifest: &Manifest,
    tenant: &Tenant,
    outcomes: Vec<(usize, ApiOutcome)>,
    rejection: Option<&EntraError>,
) -> (Vec<ApiReport>, Option<String>) {
    let mut tid: Option<String> = tenant.id.guid().map(str::to_owned);
    let mut learnt = false;
    let mut apis = Vec::with_capacity(outcomes.len());
    for (ai, outcome) in outcomes {
        let api = &manifest.apis[ai];
        let required = tenant.required.get(&api.key).cloned().unwrap_or_default();
        let mut report = ApiReport {
            api: api.key.clone(),
            resource: api.resource.clone(),
            status: Status::Error,
            required: required.iter().cloned().collect(),
            granted: Vec::new(),
            missing: Vec::new(),
            extra: Vec::new(),
            error: None,
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
                    report.status = if report.missing.is_empty() {
                        Status::Ok
                    } else {
                        Status::MissingRoles
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
            ApiOutcome::Failed(TokenError::Cancelled) => {
                report.status = Status::CredentialRejected;
                let because = rejection
                    .map(|r| match &r.code {
                        Some(code) => format!(" ({code}: {})", r.message),
                        None => format!(" ({})", r.message),
                    })
                    .unwrap_or_default();
                report.error = Some(EntraError {
                    code: rejection.and_then(|r| r.code.clone()),
                    error: "not_asked".to_owned(),
                    message: format!(
                        "not asked: the app's credential was already rejected{because}"
                    ),
                    trace_id: None,
                    correlation_id: None,
                    http_status: None,
                });
            }
            ApiOutcome::Failed(error) => {
                report.status = error.status();
                report.error = Some(error.to_entra_error());
            }
        }
        apis.push(report);
    }
    let tenant_id = match &tenant.id {
        TenantId::Guid(g) => Some(g.clone()),
        TenantId::Domain(_) if learnt => tid,
        TenantId::Domain(_) => None,
    };
    (apis, tenant_id)
}

fn role_list(apis: &[ApiReport], pick: fn(&ApiReport) -> &Vec<String>) -> String {
    apis.iter()
        .filter(|a| !pick(a).is_empty())
        .map(|a| format!("{}: {}", a.api, pick(a).join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the partner should do about a tenant in `status`, given the deciding API's error.
fn hint(status: Status, apis: &[ApiReport], error: Option<&EntraError>) -> Option<String> {
    let entry = error
        .and_then(|e| e.code.as_deref())
        .and_then(aadsts::lookup);
    let text = match status {
        Status::Ok => return None,
        Status::MissingRoles => format!(
            "Consented, but the token lacks {}. Send the consent link again: an admin must re-consent to grant roles the app now requests (if consent was just given, wait a few minutes for it to replicate).",
            role_list(apis, |a| &a.missing)
        ),
        Status::InvalidToken => "The token Entra returned is not evidence for this tenant (see error). Check the tenant id, the cloud and --authority-host, then run again.".to_owned(),
        Status::CredentialRejected => aadsts::lookup_number(7000215)
            .map(|e| e.advice.to_owned())
            .unwrap_or_default(),
        _ => match (entry, error) {
            (Some(entry), _) => entry.advice.to_owned(),
            (None, Some(e)) if e.error == "timeout" => "No answer from the token endpoint: check the network (proxy, firewall) and --authority-host, or raise --timeout, then run again.".to_owned(),
            (None, Some(EntraError { http_status: Some(429), .. })) => "Throttled (HTTP 429) on every attempt: run again later, with a lower --concurrency or more --retries.".to_owned(),
            (None, Some(EntraError { http_status: Some(500..=599), .. })) => "The token endpoint kept failing (HTTP 5xx) on every attempt: a service problem on Entra's side; run again later.".to_owned(),
            (None, Some(e)) if e.error == "connection_failed" => "Could not reach the token endpoint: check the network (proxy, firewall, DNS) and --authority-host, then run again.".to_owned(),
            (None, Some(EntraError { code: Some(code), .. })) => format!(
                "{code} is not in consentry's table: read Entra's message, and https://login.microsoftonline.com/error?code={}",
                code.trim_start_matches("AADSTS")
            ),
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
    let (apis, tenant_id) = api_reports(manifest, tenant, outcomes, rejection);
    let status = apis.iter().map(|a| a.status).max().unwrap_or(Status::Ok);
    let error = apis
        .iter()
        .find(|a| a.status == status)
        .and_then(|a| a.error.clone());
    let mut hint = hint(status, &apis, error.as_ref());
    if options.fail_on_extra && apis.iter().any(|a| !a.extra.is_empty()) {
        let extra = format!(
            "Extra roles granted (least privilege): {}. Remove them from the app registration, then have the tenant consent again, or revoke them in the tenant.",
            role_list(&apis, |a| &a.extra)
        );
        hint = Some(match hint {
            Some(h) => format!("{h} {extra}"),
            None => extra,
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
            tenant.id.as_str(),
            &manifest.app.client_id,
            &manifest.app.redirect_uri,
            options.link_style,
        )
    });
    TenantReport {
        name: tenant.name.clone(),
        id: tenant.id.as_str().to_owned(),
        tenant_id,
        status,
        apis,
        error,
        hint,
        consent_url,
    }
}

fn summary(tenants: &[TenantReport]) -> Summary {
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
/// `manifest.tenants[selected[i]]`, APIs in manifest order).
pub(super) fn report(
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
            ApiOutcome::Failed(e @ TokenError::Rejected { .. })
                if e.status() == Status::CredentialRejected =>
            {
                Some(e.to_entra_error())
            }
            _ => None,
        });
    let tenants: Vec<TenantReport> = selected
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
    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: now,
        app: AppInfo {
            name: manifest.app.name.clone(),
            client_id: manifest.app.client_id.clone(),
        },
        cloud: manifest.cloud,
        fail_on_extra: options.fail_on_extra,
        summary: summary(&tenants),
        tenants,
    }
}

impl Report {
    /// The exit code this report means: 3 when any tenant is undetermined, 1 for any other
    /// finding (including extra roles under `--fail-on-extra`), 0 when every tenant is ok.
    pub fn exit(&self) -> Exit {
        if self.tenants.iter().any(|t| t.status.is_undetermined()) {
            Exit::Undetermined
        } else if self.tenants.iter().any(|t| {
            t.status != Status::Ok
                || (self.fail_on_extra && t.apis.iter().any(|a| !a.extra.is_empty()))
        }) {
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
                client_id: CLIENT.into(),
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
                tenant("Fabrikam", TenantId::Guid(T1.into()), both),
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

    fn rejected(status: Status, code: &str) -> ApiOutcome {
        ApiOutcome::Failed(TokenError::Rejected {
            status,
            detail: Box::new(EntraError {
                code: Some(code.into()),
                error: "x".into(),
                message: "said".into(),
                trace_id: Some("t".into()),
                correlation_id: Some("c".into()),
                http_status: Some(400),
            }),
            attempts: 1,
        })
    }

    fn build(outcomes: Vec<Vec<ApiOutcome>>, options: &Options) -> Report {
        let per_tenant = outcomes
            .into_iter()
            .map(|o| o.into_iter().enumerate().collect())
            .collect();
        report(&manifest(), &[0, 1], per_tenant, options, Utc::now())
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
        assert_eq!(r.tenants[0].status, Status::Ok);
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
                    rejected(Status::NotConsented, "AADSTS700016"),
                ],
                vec![
                    rejected(Status::ResourceMissing, "AADSTS500011"),
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
    fn credential_rejected_explains_not_asked_tenants_and_exits_3() {
        let r = build(
            vec![
                vec![
                    rejected(Status::CredentialRejected, "AADSTS7000215"),
                    ApiOutcome::Failed(TokenError::Cancelled),
                ],
                vec![
                    ApiOutcome::Failed(TokenError::Cancelled),
                    ApiOutcome::Failed(TokenError::Cancelled),
                ],
            ],
            &options(),
        );
        assert!(
            r.tenants
                .iter()
                .all(|t| t.status == Status::CredentialRejected)
        );
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
                .starts_with("Fix the app's credential in the home tenant")
        );
        assert_eq!(r.tenants[0].hint, nw.hint, "one message for every tenant");
        assert_eq!(r.exit(), Exit::Undetermined);
    }

    #[test]
    fn errors_get_specific_hints() {
        let timeout = ApiOutcome::Failed(TokenError::Timeout {
            timeout: Duration::from_secs(1),
            attempts: 4,
        });
        let r = build(
            vec![
                vec![timeout, rejected(Status::Error, "AADSTS9999999")],
                vec![
                    rejected(Status::Error, "AADSTS90055"),
                    rejected(Status::Error, "AADSTS53003"),
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
                    rejected(Status::Error, "AADSTS9999999"),
                    token(T1, &["Machine.Read.All"]),
                ],
                vec![rejected(Status::Error, "AADSTS53003"), token("x", &[])],
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
