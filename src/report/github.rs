//! The GitHub Actions format: workflow commands (`::error file=…,line=…,col=…,title=…::message`)
//! that the runner turns into annotations on the pull request's files and the run's summary, for
//! `validate` (one per diagnostic, at its line and column), `verify` (one per tenant that needs a
//! look) and `plan` (one per tenant with something to do); verify and plan end with a `::notice`.
//!
//! GitHub reads a workflow command up to the end of its line and splits properties on `,` and `:`,
//! so a customer's tenant name or a manifest value could end an annotation early or forge another
//! one. Its escaping (documented for `@actions/core`'s `issueCommand` and followed by the runner):
//! in the message, `%` → `%25`, `\r` → `%0D`, `\n` → `%0A`; in a property value, also `:` → `%3A`
//! and `,` → `%2C`. `%` goes first so an escape is never escaped twice. The runner's log viewer
//! obeys ANSI sequences and a terminal obeys every control character, so the whole output then
//! passes through [`crate::sanitize::terminal`], as the table and Markdown do.

use std::fmt::Write as _;

use super::{Coverage, Render};
use crate::plan::{Action, Plan};
use crate::validate::{Checked, Severity};
use crate::verify::report::{Report, Status, TenantReport};

/// Workflow commands for GitHub Actions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Github;

/// Escapes an annotation's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `validate --format github`: one annotation per diagnostic, then nothing else. A diagnostic with
/// no location (an unreadable file) is annotated on the file alone.
pub fn render_diagnostics(checked: &Checked) -> String {
    let mut out = String::new();
    for d in &checked.diagnostics {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut properties = vec![format!("file={}", escape_property(&d.file))];
        if let Some(line) = d.line {
            properties.push(format!("line={line}"));
        }
        if let Some(column) = d.column {
            properties.push(format!("col={column}"));
        }
        properties.push(format!("title={}", escape_property(d.code.as_str())));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(
            out,
            "::{kind} {}::{}",
            properties.join(","),
            escape_data(&message)
        );
    }
    // The file name is the user's path, not masked text: escaped like every other rendering.
    crate::sanitize::terminal(&out).into_owned()
}

impl Render<Report> for Github {
    fn render(&self, report: &Report) -> String {
        let mut out = String::new();
        for tenant in &report.tenants {
            let extra = has_extra(tenant);
            let kind = if tenant.status != Status::Ok || (extra && report.fail_on_extra) {
                "error"
            } else if extra {
                "warning"
            } else {
                continue;
            };
            let title = format!(
                "{}: {}",
                super::labelled(&tenant.name, &tenant.labels),
                headline(tenant, extra)
            );
            let _ = writeln!(
                out,
                "::{kind} title={}::{}",
                escape_property(&title),
                escape_data(&detail(tenant))
            );
        }
        let coverage = Coverage::of(report);
        let summary = format!(
            "{}/{} tenants fully covered; exit {}",
            coverage.fully_covered,
            report.tenants.len(),
            report.exit().code()
        );
        let _ = writeln!(
            out,
            "::notice title={}::{}",
            escape_property(&format!("consentry verify: {}", report.app.name)),
            escape_data(&summary)
        );
        // Tenant names, Entra's descriptions and hints are outside text: the runner's log viewer
        // and a terminal obey control characters in them, as in the table and Markdown.
        crate::sanitize::terminal(&out).into_owned()
    }
}

impl Render<Plan> for Github {
    fn render(&self, plan: &Plan) -> String {
        let mut out = String::new();
        if plan.summary.blocked_by_app > 0 {
            let _ = writeln!(
                out,
                "::error title=app registration::{}",
                escape_data(&super::registration_fix(plan.summary.blocked_by_app))
            );
        }
        for tenant in &plan.tenants {
            if tenant.action == Action::None && tenant.withheld_roles.is_none() {
                continue;
            }
            let mut message = tenant.reason.clone();
            if let Some(url) = tenant
                .consent_url
                .as_deref()
                .filter(|_| matches!(tenant.action, Action::Consent | Action::Reconsent))
            {
                message.push_str("\nadmin-consent link: ");
                message.push_str(url);
            }
            let _ = writeln!(
                out,
                "::warning title={}::{}",
                escape_property(&format!("{}: {}", tenant.name, tenant.action)),
                escape_data(&message)
            );
        }
        let s = &plan.summary;
        let _ = writeln!(
            out,
            "::notice title={}::{}",
            escape_property(&format!("consentry plan: {}", plan.app.name)),
            escape_data(&format!(
                "{} to consent, {} to re-consent, {} to offboard, {} to investigate, {} with \
                 nothing to do",
                s.consent, s.reconsent, s.offboard, s.investigate, s.none
            ))
        );
        // Names, reasons and a `--state` report's app id are outside text (a hand-edited report can
        // carry any character): no control character or bidi mark reaches the log raw.
        crate::sanitize::terminal(&out).into_owned()
    }
}

fn has_extra(tenant: &TenantReport) -> bool {
    tenant.apis.iter().any(|a| !a.extra.is_empty())
}

/// `missing_roles`, or `extra_roles` for an ok tenant with roles beyond the manifest.
fn headline(tenant: &TenantReport, extra: bool) -> &'static str {
    if tenant.status == Status::Ok && extra {
        "extra_roles"
    } else {
        tenant.status.as_str()
    }
}

/// The tenant's id, what is missing or extra per API, Entra's code and the hint.
fn detail(tenant: &TenantReport) -> String {
    let mut lines = vec![format!("tenant {}", tenant.id)];
    for api in &tenant.apis {
        if !api.missing.is_empty() {
            lines.push(format!("{} missing: {}", api.api, api.missing.join(", ")));
        }
        if !api.extra.is_empty() {
            lines.push(format!("{} extra: {}", api.api, api.extra.join(", ")));
        }
    }
    if let Some(error) = &tenant.error {
        lines.push(super::entra_line(error));
    }
    if let Some(hint) = &tenant.hint {
        lines.push(hint.clone());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(
            escape_property("a:b,c%\n"),
            "a%3Ab%2Cc%25%0A",
            "`%` first, so escapes are not escaped again"
        );
        // A hostile name cannot start a second command on its own line.
        let forged = escape_data("x\n::error::forged");
        assert!(!forged.contains('\n'));
    }

    #[test]
    fn annotations_show_no_raw_control_character() {
        let checked = crate::validate::check_str("m\u{1b}[2J\u{202e}.yaml", "version: 1\n");
        assert!(!checked.diagnostics.is_empty());
        let shown = render_diagnostics(&checked);
        let raw = shown
            .chars()
            .find(|&c| crate::sanitize::is_unsafe(c) && c != '\n');
        assert_eq!(raw, None, "{shown}");
    }
}
