//! The Markdown format: the onboarding checklist a pull request carries (plan), and the verify
//! summary for pull requests and `$GITHUB_STEP_SUMMARY`. Tenant names come from customers' own
//! spelling, so every name is escaped before it meets Markdown.

use std::fmt::Write as _;

use super::{Coverage, Render, entra_line, extras, short_roles};
use crate::plan::{Action, Plan, PlannedTenant};
use crate::verify::report::{Report, Status, TenantReport};

/// GitHub-flavoured Markdown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

impl Render<Plan> for Markdown {
    fn render(&self, plan: &Plan) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## {}: admin consent plan\n",
            markdown_escape(&plan.app.name)
        );
        let s = &plan.summary;
        if s.blocked_by_app > 0 {
            let _ = writeln!(out, "**{}**\n", super::registration_fix(s.blocked_by_app));
        }
        let _ = writeln!(
            out,
            "{} to consent, {} to re-consent, {} to offboard, {} to investigate; nothing to do \
             for {} of {} tenants.\n",
            s.consent, s.reconsent, s.offboard, s.investigate, s.none, s.tenants
        );
        for tenant in plan.tenants.iter().filter(|t| t.action != Action::None) {
            let _ = writeln!(out, "- [ ] {}", checklist_line(tenant));
        }
        for tenant in plan.tenants.iter().filter(|t| t.action == Action::None) {
            if let Some(withheld) = &tenant.withheld_roles {
                let _ = writeln!(
                    out,
                    "- **{}** ({}): its `apis` override keeps away the app-wide {}; add them to \
                     its override if it should grant them",
                    markdown_escape(&tenant.name),
                    code(&tenant.id),
                    markdown_escape(&short_roles(withheld))
                );
            }
        }
        let done: Vec<&PlannedTenant> = plan
            .tenants
            .iter()
            .filter(|t| t.action == Action::None)
            .collect();
        if !done.is_empty() {
            if s.tenants > done.len() {
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "<details><summary>{} {} with nothing to do</summary>\n",
                done.len(),
                if done.len() == 1 { "tenant" } else { "tenants" }
            );
            for tenant in done {
                let _ = writeln!(
                    out,
                    "- {} ({})",
                    markdown_escape(&tenant.name),
                    code(&tenant.id)
                );
            }
            out.push_str("\n</details>\n");
        }
        // Last, so the checklist stays short: the messages are long and read one at a time.
        out.push_str(&super::message::render_markdown(plan));
        // Every value was escaped where it was written; this pass is the guarantee that
        // nothing from a manifest, a token or Entra sends a control sequence to a terminal.
        crate::sanitize::terminal(&out).into_owned()
    }
}

fn checklist_line(tenant: &PlannedTenant) -> String {
    let mut parts = vec![format!(
        "**{}** ({})",
        markdown_escape(&super::labelled(&tenant.name, &tenant.labels)),
        code(&tenant.id)
    )];
    match tenant.action {
        Action::Consent => {
            parts.push("consent".to_owned());
            parts.push(if tenant.required.is_empty() {
                "no role required".to_owned()
            } else {
                markdown_escape(&short_roles(&tenant.required))
            });
        }
        Action::Reconsent => {
            parts.push("re-consent".to_owned());
            // "new" only for roles the manifest added; roles asked for before are "not granted".
            if let Some(new) = &tenant.new_roles {
                parts.push(format!("new roles {}", markdown_escape(&short_roles(new))));
            }
            if let Some(missing) = &tenant.missing_roles {
                parts.push(format!(
                    "not granted yet {}",
                    markdown_escape(&short_roles(missing))
                ));
            }
        }
        Action::BlockedByApp | Action::Offboard | Action::Investigate | Action::None => {
            parts.push(tenant.action.to_string());
            parts.push(markdown_escape(&tenant.reason));
        }
    }
    // The link is the fix only for (re-)consent; an investigation starts from the reason.
    if let Some(url) = tenant
        .consent_url
        .as_ref()
        .filter(|_| matches!(tenant.action, Action::Consent | Action::Reconsent))
    {
        parts.push(format!("[admin consent]({})", link_target(url)));
    }
    if let Some(withheld) = &tenant.withheld_roles {
        parts.push(format!(
            "its `apis` override keeps away the app-wide {}",
            markdown_escape(&short_roles(withheld))
        ));
    }
    parts.join(" · ")
}

impl Render<Report> for Markdown {
    fn render(&self, report: &Report) -> String {
        let coverage = Coverage::of(report);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## consentry verify: {}\n",
            markdown_escape(&report.app.name)
        );
        let _ = writeln!(
            out,
            "**{}/{} tenants fully covered** · {} · cloud {} · {}\n",
            coverage.fully_covered,
            report.tenants.len(),
            status_counts(report),
            report.cloud,
            report.generated_at.format("%Y-%m-%d %H:%M UTC")
        );
        if !coverage.columns.is_empty() {
            let per_role: Vec<String> = coverage
                .columns
                .iter()
                .map(|c| {
                    format!(
                        "{} {}/{}",
                        markdown_escape(&c.label()),
                        c.granted,
                        c.required
                    )
                })
                .collect();
            let _ = writeln!(out, "Coverage: {}\n", per_role.join(" · "));
        }
        // Tenants that need a look get the table; fully covered ones collapse into a list below,
        // so a partner with thousands of customers stays well inside a PR comment or GitHub's
        // 1 MiB job-summary limit.
        let (covered, attention): (Vec<&TenantReport>, Vec<&TenantReport>) = report
            .tenants
            .iter()
            .partition(|t| t.status == Status::Ok && extras(t).is_empty());
        if attention.is_empty() {
            out.push_str("Every tenant granted every required role, and nothing more.\n");
        } else {
            out.push_str("| Tenant | Id | Status | Missing | Extra |\n");
            out.push_str("|---|---|---|---|---|\n");
        }
        for tenant in attention {
            let missing = tenant
                .apis
                .iter()
                .filter(|a| !a.missing.is_empty())
                .map(|a| (a.api.clone(), a.missing.clone()))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} {} | {} | {} |",
                markdown_escape(&super::labelled(&tenant.name, &tenant.labels)),
                code(&tenant.id),
                icon(tenant.status),
                tenant.status,
                markdown_escape(&short_roles(&missing)),
                markdown_escape(&short_roles(&extras(tenant)))
            );
        }
        if !covered.is_empty() {
            let _ = writeln!(
                out,
                "\n<details><summary>{} fully covered tenant{}</summary>\n",
                covered.len(),
                if covered.len() == 1 { "" } else { "s" }
            );
            for tenant in covered {
                let _ = writeln!(
                    out,
                    "- {} {}",
                    markdown_escape(&super::labelled(&tenant.name, &tenant.labels)),
                    code(&tenant.id)
                );
            }
            out.push_str("\n</details>\n");
        }
        let todo: Vec<String> = report
            .tenants
            .iter()
            .filter_map(|t| what_to_do(t, report.fail_on_extra))
            .collect();
        if !todo.is_empty() {
            out.push_str("\n### What to do\n\n");
            for item in todo {
                let _ = writeln!(out, "{item}");
            }
        }
        // Every value was escaped where it was written; this pass is the guarantee that
        // nothing from a manifest, a token or Entra sends a control sequence to a terminal.
        crate::sanitize::terminal(&out).into_owned()
    }
}

/// `1 missing_roles, 2 not_consented`, worst last; `all ok` when nothing else occurs.
fn status_counts(report: &Report) -> String {
    let parts: Vec<String> = Status::ALL
        .iter()
        .filter(|s| **s != Status::Ok)
        .filter_map(|s| {
            let n = report.tenants.iter().filter(|t| t.status == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    if parts.is_empty() {
        "all ok".to_owned()
    } else {
        parts.join(", ")
    }
}

fn icon(status: Status) -> &'static str {
    match status {
        Status::Ok => "✅",
        Status::ExtraRoles => "⚠️",
        s if s.is_undetermined() => "❓",
        _ => "❌",
    }
}

/// The list item for a tenant that needs something, with everything a human needs to act.
fn what_to_do(tenant: &TenantReport, fail_on_extra: bool) -> Option<String> {
    let extra = extras(tenant);
    let hint = match (&tenant.hint, tenant.status) {
        (Some(hint), _) => hint.clone(),
        (None, Status::Ok) if fail_on_extra && !extra.is_empty() => format!(
            "Grants roles the manifest does not require ({}): remove them from the app \
             registration and have the tenant's admin revoke them.",
            short_roles(&extra)
        ),
        (None, Status::Ok) => return None,
        (None, status) => status.to_string(),
    };
    let mut item = format!(
        "- **{}** ({}): {}: {}",
        markdown_escape(&tenant.name),
        code(&tenant.id),
        tenant.status,
        markdown_escape(&hint)
    );
    if let Some(url) = &tenant.consent_url {
        let _ = write!(item, "\n  - [admin consent]({})", link_target(url));
    }
    if let Some(e) = &tenant.error {
        let _ = write!(item, "\n  - Entra: {}", markdown_escape(&entra_line(e)));
        if let Some(trace) = &e.trace_id {
            let _ = write!(item, "\n  - trace id {}", code(trace));
        }
        if let Some(correlation) = &e.correlation_id {
            let _ = write!(item, "\n  - correlation id {}", code(correlation));
        }
    }
    Some(item)
}

/// Escapes text so Markdown shows it as written: every punctuation character that can start
/// emphasis, a link, HTML, a table cell or a code span gets a backslash, and line breaks become
/// spaces so a name cannot end its list item or table row.
pub fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '(' | ')' | '#' | '!' | '|' | '~'
            | '&' | '{' | '}' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            // Control and bidi characters have no business in a summary a terminal may show.
            c if crate::sanitize::is_unsafe(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Ids as code spans; anything that could break out of one is escaped text instead.
fn code(text: &str) -> String {
    if text.contains(['`', '\n', '\r', '|']) || text.chars().any(crate::sanitize::is_unsafe) {
        markdown_escape(text)
    } else {
        format!("`{text}`")
    }
}

/// A link destination that cannot end the link early.
fn link_target(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_inject_markdown() {
        assert_eq!(
            markdown_escape("*Evil* [Corp](http://x) <b>|`"),
            r"\*Evil\* \[Corp\]\(http://x\) \<b\>\|\`"
        );
        assert_eq!(markdown_escape("Line\nbreak"), "Line break");
        assert_eq!(markdown_escape("Plain Name Inc."), "Plain Name Inc.");
    }

    #[test]
    fn ids_are_code_unless_they_could_escape_it() {
        assert_eq!(code("contoso.onmicrosoft.com"), "`contoso.onmicrosoft.com`");
        assert_eq!(code("a`b"), r"a\`b");
    }

    #[test]
    fn link_targets_cannot_close_the_link() {
        assert_eq!(link_target("https://x/a b(c)"), "https://x/a%20b%28c%29");
    }
}
