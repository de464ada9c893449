//! The terminal table format: a plan as one row per tenant, a verify report as a tenant × role
//! matrix, each followed by the notes and the summary line a human reads next.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use tabled::builder::Builder;
use tabled::settings::object::{Columns, Rows};
use tabled::settings::{Alignment, Style};

use super::{Coverage, Render, api_label, extras, short_roles, unknown};
use crate::plan::{Action, Plan, PlannedTenant};
use crate::verify::report::{Report, Status};

/// A tabled table with a summary line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Table;

impl Render<Plan> for Table {
    fn render(&self, plan: &Plan) -> String {
        // The registration fix leads: until it is made, no consent link can succeed for the
        // tenants it blocks.
        let lead = if plan.summary.blocked_by_app > 0 {
            format!(
                "{}\n\n",
                super::registration_fix(plan.summary.blocked_by_app)
            )
        } else {
            String::new()
        };
        let mut builder = Builder::new();
        builder.push_record(["Tenant", "Id", "Action", "Roles"]);
        for tenant in &plan.tenants {
            builder.push_record([
                one_line(&super::labelled(&tenant.name, &tenant.labels)),
                one_line(tenant.id.as_str()),
                tenant.action.to_string(),
                roles_cell(tenant),
            ]);
        }
        let mut table = builder.build();
        table.with(Style::sharp());
        let mut out = lead;
        out.push_str(&table.to_string());
        out.push('\n');

        // Links are ~190 characters: in a column they would make the table wider than any
        // terminal, so each goes on a line of its own, where terminals make it clickable. Only
        // the links someone must send are listed; the JSON format carries every tenant's.
        let links: Vec<(&PlannedTenant, &str)> = plan
            .tenants
            .iter()
            .filter(|t| matches!(t.action, Action::Consent | Action::Reconsent))
            .filter_map(|t| t.consent_url.as_deref().map(|url| (t, url)))
            .collect();
        if !links.is_empty() {
            out.push_str("\nAdmin-consent links to send:\n");
            for (tenant, url) in links {
                let _ = writeln!(
                    out,
                    "  {} ({}):\n    {url}",
                    one_line(&tenant.name),
                    tenant.action
                );
            }
        }

        // The reasons that change what a human does next; consent and none speak for themselves.
        let notes: Vec<&PlannedTenant> = plan
            .tenants
            .iter()
            .filter(|t| {
                matches!(t.action, Action::Investigate | Action::Offboard)
                    || t.withheld_roles.is_some()
            })
            .collect();
        if !notes.is_empty() {
            out.push('\n');
            for tenant in notes {
                let _ = writeln!(
                    out,
                    "{} ({}): {}",
                    one_line(&tenant.name),
                    tenant.action,
                    tenant.reason
                );
            }
        }
        let s = &plan.summary;
        let _ = writeln!(
            out,
            "\n{} tenants: {} to consent, {} to re-consent, {} to offboard, {} to investigate, {} \
             with nothing to do.",
            s.tenants, s.consent, s.reconsent, s.offboard, s.investigate, s.none
        );
        // Every value was escaped where it was written; this pass is the guarantee that
        // nothing from a manifest, a token or Entra sends a control sequence to a terminal.
        crate::sanitize::terminal(&out).into_owned()
    }
}

/// One line per API; for a re-consent, the roles the tenant has not granted yet are marked new.
fn roles_cell(tenant: &PlannedTenant) -> String {
    tenant
        .required
        .iter()
        .map(|(api, roles)| {
            let new = marked(tenant.new_roles.as_ref(), api);
            let missing = marked(tenant.missing_roles.as_ref(), api);
            let roles: Vec<String> = roles
                .iter()
                .map(|r| {
                    if new.contains(r.as_str()) {
                        format!("{} (new)", one_line(r))
                    } else if missing.contains(r.as_str()) {
                        format!("{} (not granted)", one_line(r))
                    } else {
                        one_line(r)
                    }
                })
                .collect();
            format!("{}: {}", one_line(api_label(api)), roles.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The roles of `api` in one of a planned tenant's role maps.
fn marked<'t>(roles: Option<&'t crate::plan::Roles>, api: &str) -> BTreeSet<&'t str> {
    roles
        .and_then(|n| n.get(api))
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
}

/// Granted, as the matrix marks it.
const GRANTED: &str = "✓";
/// Required, not granted.
const MISSING: &str = "✗";
/// Granted, not required.
const EXTRA: &str = "+";
/// Required, but nothing is known (no usable token).
const UNKNOWN: &str = "?";

impl Render<Report> for Table {
    fn render(&self, report: &Report) -> String {
        let coverage = Coverage::of(report);
        let mut builder = Builder::new();
        let mut header = vec!["Tenant".to_owned(), "Status".to_owned()];
        // Two-line headers keep the role columns as narrow as the role names.
        header.extend(
            coverage
                .columns
                .iter()
                .map(|c| format!("{}\n{}", one_line(api_label(&c.api)), one_line(&c.role))),
        );
        builder.push_record(header);
        for tenant in &report.tenants {
            let mut row = vec![
                one_line(&super::labelled(&tenant.name, &tenant.labels)),
                tenant.status.to_string(),
            ];
            row.extend(coverage.columns.iter().map(|column| {
                let Some(api) = tenant.apis.iter().find(|a| a.api == column.api) else {
                    return String::new();
                };
                let required = api.required.contains(&column.role);
                let granted = api.granted.contains(&column.role);
                let mark = match (required, granted) {
                    (true, _) if unknown(api.status) => UNKNOWN,
                    (true, true) => GRANTED,
                    (true, false) => MISSING,
                    (false, true) => EXTRA,
                    (false, false) => "",
                };
                mark.to_owned()
            }));
            builder.push_record(row);
        }
        let mut table = builder.build();
        table
            .with(Style::sharp())
            .modify(Columns::new(2..), Alignment::center())
            .modify(Rows::first(), Alignment::left());
        let mut out = table.to_string();
        let _ = writeln!(
            out,
            "\n{GRANTED} granted  {MISSING} missing  {EXTRA} extra (granted, not required)  \
             {UNKNOWN} unknown"
        );

        let with_extras: Vec<String> = report
            .tenants
            .iter()
            .filter_map(|t| {
                let extra = extras(t);
                (!extra.is_empty())
                    .then(|| format!("  {}: {}", one_line(&t.name), short_roles(&extra)))
            })
            .collect();
        if !with_extras.is_empty() {
            let _ = writeln!(out, "\nExtra roles (granted, not required):");
            for line in with_extras {
                let _ = writeln!(out, "{line}");
            }
        }

        let attention: Vec<String> = report
            .tenants
            .iter()
            .filter(|t| t.status != Status::Ok)
            .map(|t| {
                let mut line = format!(
                    "  {} ({}): {}",
                    one_line(&t.name),
                    t.status,
                    t.hint.as_deref().unwrap_or("no hint")
                );
                if let Some(code) = t.error.as_ref().and_then(|e| e.code.as_deref()) {
                    let _ = write!(line, " [{code}]");
                }
                if let Some(url) = &t.consent_url {
                    let _ = write!(line, "\n    admin consent: {url}");
                }
                line
            })
            .collect();
        if !attention.is_empty() {
            let _ = writeln!(out, "\nNeeds attention:");
            for line in attention {
                let _ = writeln!(out, "{line}");
            }
        }
        let _ = writeln!(out, "\n{}", coverage.summary_line(report.tenants.len()));
        // For audits: which credential the app signed in with.
        if let Some(credential) = &report.credential {
            let _ = write!(out, "Credential: {}", credential.kind.as_str());
            if let Some(thumbprint) = &credential.thumbprint {
                let _ = write!(out, " (certificate thumbprint {thumbprint})");
            }
            out.push('\n');
        }
        // Every value was escaped where it was written; this pass is the guarantee that
        // nothing from a manifest, a token or Entra sends a control sequence to a terminal.
        crate::sanitize::terminal(&out).into_owned()
    }
}

/// A value on one line with its control characters escaped: a newline in a cell would split the
/// row, an escape sequence would reach the terminal.
pub(super) fn one_line(text: &str) -> String {
    crate::sanitize::one_line(&text.replace(['\n', '\r'], " ")).into_owned()
}
