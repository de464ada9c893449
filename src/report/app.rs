//! The app-registration reports: `app check` findings and the `app apply` diff, as a terminal
//! listing, Markdown (pull requests, `$GITHUB_STEP_SUMMARY`) or JSON (`schema_version` 1).
//!
//! Everything shown comes from a registration export or Graph, which anyone able to edit the app
//! controls: display names, hints and URIs pass through [`crate::sanitize::one_line`] (terminal) or
//! [`markdown_escape`] (Markdown) so an escape sequence or a table pipe cannot rewrite the output.

use std::fmt::Write as _;

use super::{Json, Markdown, Render, Table, markdown_escape};
use crate::app::registration::AccessKind;
use crate::app::{ApplyReport, Change, CheckReport, Severity};
use crate::sanitize::one_line;

/// How `app check` and `app apply` write their result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AppFormat {
    /// One block per finding (severity, code, what breaks, the fix), then a summary line.
    #[default]
    Table,
    /// For pull requests and `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// The documented JSON (`schema_version` 1).
    Json,
}

/// Renders an `app check` report.
pub fn render_app_check(report: &CheckReport, format: AppFormat) -> String {
    match format {
        AppFormat::Table => Table.render(report),
        AppFormat::Markdown => Markdown.render(report),
        AppFormat::Json => Json.render(report),
    }
}

/// Renders an `app apply` report.
pub fn render_app_apply(report: &ApplyReport, format: AppFormat) -> String {
    match format {
        AppFormat::Table => Table.render(report),
        AppFormat::Markdown => Markdown.render(report),
        AppFormat::Json => Json.render(report),
    }
}

fn summary(report: &CheckReport) -> String {
    let (errors, warnings, infos) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
    );
    if errors + warnings + infos == 0 {
        "the registration matches the manifest: nothing to fix".to_owned()
    } else {
        format!("{errors} error(s), {warnings} warning(s), {infos} info")
    }
}

fn heading(app: &crate::app::Subject) -> String {
    format!("{} ({}) from {}", app.name, app.client_id, app.source)
}

impl Render<CheckReport> for Table {
    fn render(&self, report: &CheckReport) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "App registration {}", one_line(&heading(&report.app)));
        for f in &report.findings {
            let _ = writeln!(
                out,
                "\n{}[{}] {}: {}",
                f.severity.as_str(),
                f.code.as_str(),
                one_line(&f.subject),
                one_line(&f.message)
            );
            let _ = writeln!(out, "  breaks: {}", one_line(&f.breaks));
            let _ = writeln!(out, "  fix:    {}", one_line(&f.fix));
        }
        let _ = writeln!(out, "\n{}", summary(report));
        out
    }
}

impl Render<CheckReport> for Markdown {
    fn render(&self, report: &CheckReport) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### App registration: {}\n",
            markdown_escape(&heading(&report.app))
        );
        let _ = writeln!(out, "{}\n", summary(report));
        if !report.findings.is_empty() {
            let _ = writeln!(
                out,
                "| Severity | Code | Subject | Problem | Breaks | Fix |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|");
            for f in &report.findings {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} | {} | {} |",
                    icon(f.severity),
                    f.code.as_str(),
                    markdown_escape(&one_line(&f.subject)),
                    markdown_escape(&one_line(&f.message)),
                    markdown_escape(&one_line(&f.breaks)),
                    markdown_escape(&one_line(&f.fix)),
                );
            }
        }
        out
    }
}

fn icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "❌ error",
        Severity::Warning => "⚠️ warning",
        Severity::Info => "ℹ️ info",
    }
}

impl Render<CheckReport> for Json {
    fn render(&self, report: &CheckReport) -> String {
        super::json::pretty(report)
    }
}

fn change_line(change: &Change) -> String {
    let what = match (&change.role, change.kind) {
        (Some(role), _) => role.clone(),
        (None, AccessKind::Scope) => format!("delegated scope {}", change.id),
        (None, AccessKind::Role) => format!("role {}", change.id),
    };
    format!("{} {what}", change.api)
}

impl Render<ApplyReport> for Table {
    fn render(&self, report: &ApplyReport) -> String {
        let mut out = String::new();
        let diff = &report.diff;
        let _ = writeln!(
            out,
            "requiredResourceAccess of {}",
            one_line(&heading(&report.app))
        );
        for c in &diff.add {
            let _ = writeln!(out, "  + {}", one_line(&change_line(c)));
        }
        for c in &diff.remove {
            let _ = writeln!(out, "  - {}", one_line(&change_line(c)));
        }
        for c in &diff.kept {
            let _ = writeln!(
                out,
                "    {} (kept: not in the manifest)",
                one_line(&change_line(c))
            );
        }
        let _ = writeln!(out, "\n{}", apply_summary(report));
        out
    }
}

fn apply_summary(report: &ApplyReport) -> String {
    let diff = &report.diff;
    if diff.is_empty() {
        return "nothing to change: the registration requests every role the manifest needs".into();
    }
    let mut line = format!("{} to add, {} to remove", diff.add.len(), diff.remove.len());
    if !diff.kept.is_empty() {
        let _ = write!(line, ", {} kept (--prune removes them)", diff.kept.len());
    }
    if report.dry_run {
        line.push_str("; dry run: nothing was written");
    }
    line
}

impl Render<ApplyReport> for Markdown {
    fn render(&self, report: &ApplyReport) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### requiredResourceAccess of {}\n",
            markdown_escape(&heading(&report.app))
        );
        let diff = &report.diff;
        for (sign, list) in [
            ("➕ add", &diff.add),
            ("➖ remove", &diff.remove),
            ("kept", &diff.kept),
        ] {
            for c in list {
                let _ = writeln!(
                    out,
                    "- {sign}: {}",
                    markdown_escape(&one_line(&change_line(c)))
                );
            }
        }
        let _ = writeln!(out, "\n{}", markdown_escape(&apply_summary(report)));
        out
    }
}

impl Render<ApplyReport> for Json {
    fn render(&self, report: &ApplyReport) -> String {
        super::json::pretty(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_overrides_become_visible() {
        assert_eq!(one_line("old \u{1b}[31mred"), "old \\u{1b}[31mred");
        assert_eq!(one_line("a\r\nb"), "a\\u{d}\\u{a}b");
        assert_eq!(one_line("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(one_line("Incident.Read.All …"), "Incident.Read.All …");
    }
}
