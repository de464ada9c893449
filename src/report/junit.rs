//! The JUnit XML format of a verify report, for CI test dashboards: one test case per tenant × API,
//! a failure for every gap. Buffered: the counts on `<testsuite>` come before the cases.

use std::fmt::Write as _;

use super::{Render, api_message, entra_line};
use crate::verify::report::{ApiReport, Report, Status, TenantReport};

/// JUnit XML (`<testsuites>` with one `<testsuite name="consentry verify">`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Junit;

/// The name of the one test case a tenant with no required API gets.
const NO_API: &str = "(no API required)";

/// One `<testcase>`.
struct Case<'a> {
    tenant: &'a str,
    api: &'a str,
    failure: Option<Failure>,
}

struct Failure {
    kind: String,
    message: String,
    details: String,
}

impl Render<Report> for Junit {
    fn render(&self, report: &Report) -> String {
        let cases: Vec<Case> = report
            .tenants
            .iter()
            .flat_map(|tenant| cases(tenant, report.fail_on_extra))
            .collect();
        let failures = cases.iter().filter(|c| c.failure.is_some()).count();

        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let counts = format!(
            "tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\"",
            cases.len()
        );
        let _ = writeln!(out, "<testsuites name=\"consentry verify\" {counts}>");
        let _ = writeln!(out, "  <testsuite name=\"consentry verify\" {counts}>");
        out.push_str("    <properties>\n");
        for (name, value) in [
            ("app", report.app.name.as_str()),
            ("client_id", report.app.client_id.as_str()),
            ("cloud", report.cloud.as_str()),
            (
                "generated_at",
                &report.generated_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            (
                "fail_on_extra",
                if report.fail_on_extra {
                    "true"
                } else {
                    "false"
                },
            ),
        ] {
            let _ = writeln!(
                out,
                "      <property name=\"{}\" value=\"{}\"/>",
                xml_escape(name),
                xml_escape(value)
            );
        }
        out.push_str("    </properties>\n");
        for case in &cases {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(case.tenant),
                xml_escape(case.api)
            );
            match &case.failure {
                None => {
                    let _ = writeln!(out, "{open}/>");
                }
                Some(f) => {
                    let _ = writeln!(out, "{open}>");
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        xml_escape(&f.message),
                        xml_escape(&f.kind),
                        xml_text(&f.details)
                    );
                    out.push_str("    </testcase>\n");
                }
            }
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}

fn cases(tenant: &TenantReport, fail_on_extra: bool) -> Vec<Case<'_>> {
    if tenant.apis.is_empty() {
        let failure = (tenant.status != Status::Ok).then(|| Failure {
            kind: tenant.status.to_string(),
            message: tenant
                .hint
                .clone()
                .unwrap_or_else(|| tenant.status.to_string()),
            details: details(tenant, None),
        });
        return vec![Case {
            tenant: &tenant.name,
            api: NO_API,
            failure,
        }];
    }
    tenant
        .apis
        .iter()
        .map(|api| {
            let failure = if api.status != Status::Ok {
                Some(Failure {
                    kind: api.status.to_string(),
                    message: api_message(tenant, api),
                    details: details(tenant, Some(api)),
                })
            } else if fail_on_extra && !api.extra.is_empty() {
                Some(Failure {
                    kind: "extra_roles".to_owned(),
                    message: format!(
                        "grants roles the manifest does not require: {}",
                        api.extra.join(", ")
                    ),
                    details: details(tenant, Some(api)),
                })
            } else {
                None
            };
            Case {
                tenant: &tenant.name,
                api: &api.api,
                failure,
            }
        })
        .collect()
}

/// The failure's body: what a human needs to act or to open a support case.
fn details(tenant: &TenantReport, api: Option<&ApiReport>) -> String {
    let mut lines = vec![format!("tenant: {} ({})", tenant.name, tenant.id)];
    let error = match api {
        Some(api) => {
            lines.push(format!("resource: {}", api.resource));
            lines.push(format!("status: {}", api.status));
            if !api.missing.is_empty() {
                lines.push(format!("missing: {}", api.missing.join(", ")));
            }
            if !api.extra.is_empty() {
                lines.push(format!("extra: {}", api.extra.join(", ")));
            }
            // The tenant's error belongs to the API that decided its status, not to this one.
            api.error.as_ref().or(tenant
                .error
                .as_ref()
                .filter(|_| api.status == tenant.status))
        }
        None => {
            lines.push(format!("status: {}", tenant.status));
            tenant.error.as_ref()
        }
    };
    if let Some(e) = error {
        lines.push(format!("entra: {}", entra_line(e)));
        if let Some(trace) = &e.trace_id {
            lines.push(format!("trace id: {trace}"));
        }
        if let Some(correlation) = &e.correlation_id {
            lines.push(format!("correlation id: {correlation}"));
        }
    }
    // The consent link is the fix for a failed API, not for extra roles.
    if let Some(url) = tenant
        .consent_url
        .as_ref()
        .filter(|_| api.is_none_or(|a| a.status != Status::Ok))
    {
        lines.push(format!("admin consent: {url}"));
    }
    lines.join("\n")
}

/// Escapes text for XML attributes and content. Characters XML 1.0 cannot carry at all (control
/// characters other than tab, newline and carriage return) become U+FFFD, so a hostile tenant name
/// cannot make the whole file unreadable.
pub fn xml_escape(text: &str) -> String {
    escape(text, true)
}

/// Escapes element content: like [`xml_escape`], but newlines stay raw so failure details read
/// naturally in the file.
fn xml_text(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Attribute values normalise raw newlines to spaces; character references survive.
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            xml_escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;"
        );
    }

    #[test]
    fn control_characters_cannot_break_the_document() {
        assert_eq!(xml_escape("a\u{0}b\u{1b}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(xml_escape("line\nnext\ttab"), "line&#10;next&#9;tab");
        assert_eq!(xml_escape("Ünïcode ✓"), "Ünïcode ✓");
        assert_eq!(xml_text("a\n<b>"), "a\n&lt;b&gt;");
    }
}
