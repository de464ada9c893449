//! Reports: the last stage of the pipeline, turning a plan, a verify report or the catalog into the
//! text a human or a machine reads. One module per format; each format is a [`Render`]
//! implementation chosen by a `clap::ValueEnum`. Nothing here prints: the CLI writes the string.

mod app;
mod github;
mod json;
mod junit;
mod markdown;
mod message;
mod roles;
mod table;

use std::collections::{BTreeMap, BTreeSet};

use crate::cloud::Cloud;
use crate::plan::Plan;
use crate::verify::report::{ApiReport, Report, Status, TenantReport};

pub use app::{AppFormat, render_app_apply, render_app_check};
pub use github::{Github, escape_data, escape_property, render_diagnostics};
pub use json::Json;
pub use junit::Junit;
pub use markdown::{Markdown, markdown_escape};
pub use table::{Sort, Table, TableOptions, verify_table};

/// One output format for one kind of data. Every format renders the whole data in one call, so the
/// buffered ones (JUnit's counts come before its test cases) need nothing special.
pub trait Render<T: ?Sized> {
    /// The complete output, ending with a newline.
    fn render(&self, data: &T) -> String;
}

/// How `plan` writes its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PlanFormat {
    /// A terminal table: one row per tenant, then a summary line.
    #[default]
    Table,
    /// The onboarding checklist a pull request carries.
    Markdown,
    /// The documented, stable JSON plan (`schema_version` 1).
    Json,
    /// GitHub Actions workflow commands: a warning per tenant with something to do, and a notice.
    Github,
}

/// How `verify` writes its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum VerifyFormat {
    /// A tenant × role matrix with coverage and hints.
    #[default]
    Table,
    /// For pull requests and `$GITHUB_STEP_SUMMARY`: a table and what to do per tenant.
    Markdown,
    /// The JSON report (`schema_version` 1), the one `plan --state` reads back.
    Json,
    /// JUnit XML, one test case per tenant × API, for CI test dashboards.
    Junit,
    /// GitHub Actions workflow commands: an annotation per tenant that needs a look, and a notice.
    Github,
}

/// Renders a plan.
pub fn render_plan(plan: &Plan, format: PlanFormat) -> String {
    match format {
        PlanFormat::Table => Table.render(plan),
        PlanFormat::Markdown => Markdown.render(plan),
        PlanFormat::Json => Json.render(plan),
        PlanFormat::Github => Github.render(plan),
    }
}

/// Renders a verify report.
pub fn render_verify(report: &Report, format: VerifyFormat) -> String {
    let body = match format {
        VerifyFormat::Table => Table.render(report),
        VerifyFormat::Markdown => Markdown.render(report),
        VerifyFormat::Json => Json.render(report),
        VerifyFormat::Junit => Junit.render(report),
        VerifyFormat::Github => Github.render(report),
    };
    with_registration(report, format, body)
}

/// `verify --app`: the registration comes first, as it was checked first. JSON and JUnit carry it
/// inside their own structure.
fn with_registration(report: &Report, format: VerifyFormat, body: String) -> String {
    match (format, &report.app_registration) {
        (VerifyFormat::Table | VerifyFormat::Markdown | VerifyFormat::Github, Some(section)) => {
            format!("{}{body}", registration_lines(section, format))
        }
        _ => body,
    }
}

/// The line a plan leads with when tenants are blocked by the app registration.
fn registration_fix(blocked: usize) -> String {
    format!(
        "Fix the app registration first: it does not request roles {blocked} {} lack{}. Run `consentry app apply`, then send {} consent link{} again.",
        if blocked == 1 { "tenant" } else { "tenants" },
        if blocked == 1 { "s" } else { "" },
        if blocked == 1 { "its" } else { "their" },
        if blocked == 1 { "" } else { "s" },
    )
}

/// The registration findings of `verify --app`, one per line, in the format's own way of saying
/// error / warning / info.
fn registration_lines(
    section: &crate::verify::report::AppRegistration,
    format: VerifyFormat,
) -> String {
    let mut out = String::new();
    for f in &section.findings {
        let line = match format {
            VerifyFormat::Github => {
                let kind = match f.severity.as_str() {
                    "error" => "error",
                    "warning" => "warning",
                    _ => "notice",
                };
                format!(
                    "::{kind} title={}::{}\n",
                    escape_property(&format!("app registration: {}", f.code)),
                    escape_data(&format!("{} ({}; fix: {})", f.message, f.breaks, f.fix))
                )
            }
            VerifyFormat::Markdown => format!(
                "> **{}** (app registration, `{}`): {} Fix: {}\n",
                f.severity,
                f.code,
                markdown_escape(&f.message),
                markdown_escape(&f.fix)
            ),
            _ => format!(
                "{}: app registration: {} [{}]; fix: {}\n",
                f.severity,
                crate::sanitize::one_line(&f.message),
                f.code,
                crate::sanitize::one_line(&f.fix)
            ),
        };
        out.push_str(&line);
    }
    if section.findings.is_empty() {
        out.push_str("app registration: matches the manifest\n");
    }
    out.push('\n');
    out
}

/// Renders a verify report as a table or Markdown, one section per label (labels in order of first
/// use; a tenant with two labels shows in both; unlabelled tenants last). Each section counts its
/// own tenants; the other formats carry labels per tenant and are not grouped.
pub fn render_verify_by_label(report: &Report, format: VerifyFormat) -> String {
    let mut groups: Vec<(Option<&str>, Vec<TenantReport>)> = Vec::new();
    for tenant in &report.tenants {
        let keys: Vec<Option<&str>> = if tenant.labels.is_empty() {
            vec![None]
        } else {
            tenant.labels.iter().map(|l| Some(l.as_str())).collect()
        };
        for key in keys {
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(tenant.clone()),
                None => groups.push((key, vec![tenant.clone()])),
            }
        }
    }
    // Unlabelled tenants last, whatever their place in the manifest.
    groups.sort_by_key(|(key, _)| key.is_none());
    let mut out = String::new();
    if format == VerifyFormat::Markdown {
        out.push_str(&format!(
            "# consentry verify: {}, by label\n\n",
            markdown_escape(&report.app.name)
        ));
    }
    for (key, members) in groups {
        let title = match key {
            Some(label) => format!("label {label}"),
            None => "no label".to_owned(),
        };
        let count = format!(
            "{} tenant{}",
            members.len(),
            if members.len() == 1 { "" } else { "s" }
        );
        let part = Report {
            summary: crate::verify::summary(&members),
            tenants: members,
            ..report.clone()
        };
        let body = render_verify(&part, format);
        if format == VerifyFormat::Markdown {
            // The section heading replaces the report's own title line.
            let body = body
                .split_once('\n')
                .map_or(body.as_str(), |(_, rest)| rest);
            out.push_str(&format!(
                "## {} ({count})\n{body}\n",
                markdown_escape(&title)
            ));
        } else {
            out.push_str(&format!(
                "── {} ({count}) ──\n{body}\n",
                table::one_line(&title)
            ));
        }
    }
    out
}

/// Renders a verify report, the table laid out for `table` (width, colour, row order); the other
/// formats do not depend on a terminal.
pub fn render_verify_with(report: &Report, format: VerifyFormat, table: &TableOptions) -> String {
    match format {
        VerifyFormat::Table => with_registration(report, format, verify_table(report, table)),
        other => render_verify(report, other),
    }
}

/// Lists the catalog (`consentry roles`), or one API of it: alias, display name, app id, resource
/// URI in `cloud`, and every role with its description and deprecation.
pub fn render_roles(api: Option<&crate::catalog::Api>, cloud: Cloud) -> String {
    roles::render(api, cloud)
}

/// A tenant's name with its labels, as every format shows it: `Contoso [emea, tier-1]`.
pub fn labelled(name: &str, labels: &[String]) -> String {
    if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name} [{}]", labels.join(", "))
    }
}

/// The short name of an API in column headers and role lists (`M365D`), the key for custom APIs.
pub fn api_label(key: &str) -> &str {
    match key {
        "microsoft-365-defender" => "M365D",
        "defender-for-endpoint" => "MDE",
        "microsoft-graph" => "Graph",
        other => other,
    }
}

/// `M365D: A, B; MDE: C` for role lists in plan tables and checklists.
fn short_roles(roles: &BTreeMap<String, Vec<String>>) -> String {
    roles
        .iter()
        .map(|(api, roles)| format!("{}: {}", api_label(api), roles.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One required role, a column of the verify matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RoleColumn {
    api: String,
    role: String,
    /// Tenants requiring it.
    required: usize,
    /// Of those, tenants whose token carries it.
    granted: usize,
}

impl RoleColumn {
    fn label(&self) -> String {
        format!("{} {}", api_label(&self.api), self.role)
    }
}

/// What the text formats of a verify report share, computed from the tenants so every format
/// agrees with its own matrix.
#[derive(Debug)]
struct Coverage {
    /// Required roles: APIs in order of first appearance (manifest order), roles sorted.
    columns: Vec<RoleColumn>,
    /// Tenants whose status is ok.
    fully_covered: usize,
}

impl Coverage {
    fn of(report: &Report) -> Self {
        let mut api_order: Vec<&str> = Vec::new();
        let mut roles: BTreeMap<&str, BTreeMap<&str, (usize, usize)>> = BTreeMap::new();
        for tenant in &report.tenants {
            for api in &tenant.apis {
                if !api_order.contains(&api.api.as_str()) {
                    api_order.push(&api.api);
                }
                let granted: BTreeSet<&str> = api.granted.iter().map(String::as_str).collect();
                let per_api = roles.entry(&api.api).or_default();
                for role in &api.required {
                    let counts = per_api.entry(role).or_default();
                    counts.0 += 1;
                    if granted.contains(role.as_str()) {
                        counts.1 += 1;
                    }
                }
            }
        }
        let columns = api_order
            .iter()
            .flat_map(|api| {
                roles
                    .get(api)
                    .into_iter()
                    .flatten()
                    .map(|(role, (required, granted))| RoleColumn {
                        api: (*api).to_owned(),
                        role: (*role).to_owned(),
                        required: *required,
                        granted: *granted,
                    })
            })
            .collect();
        Coverage {
            columns,
            fully_covered: report
                .tenants
                .iter()
                .filter(|t| t.status == Status::Ok)
                .count(),
        }
    }

    /// `2/4 tenants fully covered · M365D Incident.Read.All 3/4 · ...`
    fn summary_line(&self, tenants: usize) -> String {
        let mut parts = vec![format!(
            "{}/{} tenants fully covered",
            self.fully_covered, tenants
        )];
        parts.extend(
            self.columns
                .iter()
                .map(|c| format!("{} {}/{}", c.label(), c.granted, c.required)),
        );
        parts.join(" · ")
    }
}

/// Whether an API's status means its `granted` list is not evidence (nothing is known).
fn unknown(status: Status) -> bool {
    matches!(
        status,
        Status::InvalidToken | Status::Error | Status::CredentialRejected | Status::NotChecked
    )
}

/// Extra roles of a tenant, per API, sorted; empty when none.
fn extras(tenant: &TenantReport) -> BTreeMap<String, Vec<String>> {
    tenant
        .apis
        .iter()
        .filter(|a| !a.extra.is_empty())
        .map(|a| (a.api.clone(), a.extra.clone()))
        .collect()
}

/// The sentence for an API that failed for its own reason: the tenant's hint when this API decided
/// the tenant's status, else a sentence from the API's own status.
fn api_message(tenant: &TenantReport, api: &ApiReport) -> String {
    if api.status == tenant.status
        && let Some(hint) = &tenant.hint
    {
        return hint.clone();
    }
    match api.status {
        Status::Ok => "every required role is granted".to_owned(),
        Status::MissingRoles => format!("missing roles: {}", api.missing.join(", ")),
        Status::ExtraRoles => format!(
            "grants roles the manifest does not require: {}",
            api.extra.join(", ")
        ),
        other => match &api.error {
            Some(e) => format!("{other}: {}", e.message),
            None => other.to_string(),
        },
    }
}

/// Entra's own words for a failure: `AADSTS700016: Application ... (unauthorized_client)`. Entra's
/// descriptions already start with their code, so it is only added when missing.
fn entra_line(error: &crate::verify::report::EntraError) -> String {
    match &error.code {
        Some(code) if !error.message.starts_with(code.as_str()) => {
            format!("{code}: {} ({})", error.message, error.error)
        }
        _ => format!("{} ({})", error.message, error.error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_apis_get_short_labels_and_custom_keys_stay() {
        assert_eq!(api_label("microsoft-365-defender"), "M365D");
        assert_eq!(api_label("defender-for-endpoint"), "MDE");
        assert_eq!(api_label("microsoft-graph"), "Graph");
        assert_eq!(api_label("partner-api"), "partner-api");
    }
}
