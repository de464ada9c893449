//! The ready-to-send message in a plan's Markdown: for each tenant that must (re-)consent, a short,
//! polite note a partner can paste into an email to the customer's admin, with the link and the
//! roles in plain words (the catalog's descriptions), so nobody writes forty of them by hand.

use std::fmt::Write as _;

use super::markdown_escape;
use crate::catalog;
use crate::plan::{Action, Plan, PlannedTenant, Roles};

/// At most this many messages in one plan. Each is about a kilobyte and GitHub caps a step's job
/// summary at 1 MiB: a first pull request for a large fleet must not lose its checklist to them.
pub const MESSAGE_LIMIT: usize = 50;

/// `### Messages to send` with one collapsed message per tenant to (re-)consent (the first
/// [`MESSAGE_LIMIT`], then a line saying how many more); empty when none.
pub fn render_markdown(plan: &Plan) -> String {
    let tenants: Vec<(&PlannedTenant, &str)> = plan
        .tenants
        .iter()
        .filter(|t| matches!(t.action, Action::Consent | Action::Reconsent))
        .filter_map(|t| t.consent_url.as_deref().map(|url| (t, url)))
        .collect();
    if tenants.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n### Messages to send\n\n");
    let more = tenants.len().saturating_sub(MESSAGE_LIMIT);
    for (tenant, url) in tenants.into_iter().take(MESSAGE_LIMIT) {
        let text = message(&plan.app.name, tenant, url);
        // The message is literal text: a fence longer than any backtick run in it cannot be closed
        // early by a customer's name.
        let fence = "`".repeat(longest_backtick_run(&text).max(2) + 1);
        let _ = writeln!(
            out,
            "<details><summary>{} ({})</summary>\n\n{fence}text\n{text}{fence}\n\n</details>\n",
            markdown_escape(&tenant.name),
            tenant.action
        );
    }
    if more > 0 {
        let _ = writeln!(
            out,
            "{more} more tenants to (re-)consent get the same message with their own link (the \
             table and JSON plans list every link).\n"
        );
    }
    out
}

/// The message for one tenant: plain text, ending with a newline.
pub fn message(app: &str, tenant: &PlannedTenant, url: &str) -> String {
    let name = one_line(&tenant.name);
    let app = one_line(app);
    let mut out = format!("Subject: Admin consent for {app}\n\nHello {name} team,\n\n");
    let roles: Roles = if tenant.action == Action::Reconsent {
        let mut roles = tenant.new_roles.clone().unwrap_or_default();
        for (api, missing) in tenant.missing_roles.iter().flatten() {
            let slot = roles.entry(api.clone()).or_default();
            slot.extend(missing.iter().cloned());
            slot.sort();
            slot.dedup();
        }
        out.push_str(&format!(
            "{app} needs a little more access in your tenant than you approved before. Could a \
             Global Administrator (or Privileged Role Administrator) please open the link below \
             once more, sign in and select Accept?\n\n"
        ));
        roles
    } else {
        out.push_str(&format!(
            "To let {app} work with your Microsoft Defender data, a Global Administrator (or \
             Privileged Role Administrator) of your tenant needs to approve its access once. \
             Could you please open the link below, sign in with that account and select \
             Accept?\n\n"
        ));
        tenant.required.clone()
    };
    out.push_str(url);
    out.push_str("\n\n");
    if !roles.is_empty() {
        out.push_str("It asks for application access to:\n");
        for (api, names) in &roles {
            let service = catalog::lookup(api).map_or(api.as_str(), |c| c.display_name);
            for role in names {
                let words = catalog::lookup(api)
                    .and_then(|c| c.role(role))
                    .map(|r| r.description);
                match words {
                    Some(words) => {
                        let _ = writeln!(out, "- {service}: {words} ({role})");
                    }
                    None => {
                        let _ = writeln!(out, "- {service}: {role}");
                    }
                }
            }
        }
        out.push('\n');
    }
    out.push_str(
        "Nothing else changes in your tenant, and you can remove this access at any time under \
         Enterprise applications in the Microsoft Entra admin center.\n\nThank you!\n",
    );
    out
}

/// A customer's name on one line: line breaks become spaces.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_fleet_gets_a_bounded_number_of_messages() {
        use crate::plan::{PlanSummary, PlannedTenant};
        use crate::verify::report::AppInfo;
        let tenant = |i: usize| PlannedTenant {
            name: format!("Customer {i}"),
            id: format!("customer{i}.onmicrosoft.com"),
            labels: Vec::new(),
            action: Action::Consent,
            consent_url: Some(format!("https://login.example/{i}")),
            required: Roles::new(),
            new_roles: None,
            missing_roles: None,
            withheld_roles: None,
            reason: String::new(),
        };
        let plan = Plan {
            schema_version: crate::plan::SCHEMA_VERSION,
            app: AppInfo {
                name: "App".to_owned(),
                client_id: "6731de76-14a6-49ae-97bc-6eba6914391e".to_owned(),
            },
            cloud: crate::cloud::Cloud::Global,
            summary: PlanSummary::default(),
            tenants: (0..MESSAGE_LIMIT + 7).map(tenant).collect(),
        };
        let text = render_markdown(&plan);
        assert_eq!(text.matches("<details>").count(), MESSAGE_LIMIT);
        assert!(text.contains("7 more tenants"), "{text}");
        assert!(!text.contains(&format!("Customer {MESSAGE_LIMIT} ")));
    }

    #[test]
    fn the_fence_outgrows_any_backtick_run() {
        assert_eq!(longest_backtick_run("a ``` b ` c"), 3);
        assert_eq!(longest_backtick_run("none"), 0);
    }
}
