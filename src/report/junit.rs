//! The JUnit XML format of a verify report, for CI test dashboards: one test case per tenant × API,
//! a failure for every gap. Buffered: the counts on `<testsuite>` come before the cases. Written
//! with quick-junit, which escapes markup; [`xml_safe`] keeps out what XML cannot carry.

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

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
        let mut suite = TestSuite::new(SUITE);
        let generated_at = report.generated_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        for (name, value) in [
            ("app", report.app.name.as_str()),
            ("client_id", report.app.client_id.as_str()),
            ("cloud", report.cloud.as_str()),
            ("generated_at", generated_at.as_str()),
            (
                "fail_on_extra",
                if report.fail_on_extra {
                    "true"
                } else {
                    "false"
                },
            ),
        ] {
            suite.add_property(Property::new(name, xml_safe(value)));
        }
        // `verify --app`: one case per registration finding; errors fail, warnings pass with the
        // warning in the case's output (JUnit has no warning status).
        if let Some(section) = &report.app_registration {
            for f in &section.findings {
                let name = format!("{}: {} {}", f.severity, f.code, f.subject);
                let text = format!(
                    "{}: {} (breaks: {}; fix: {})",
                    f.severity, f.message, f.breaks, f.fix
                );
                let status = if f.severity == "error" {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status
                        .set_message(xml_safe(&f.message))
                        .set_type(xml_safe(&f.code))
                        .set_description(xml_safe(&text));
                    status
                } else {
                    TestCaseStatus::success()
                };
                let mut test_case = TestCase::new(xml_safe(&name), status);
                test_case.set_classname("app registration");
                test_case.set_system_out(xml_safe(&text));
                suite.add_test_case(test_case);
            }
        }
        for case in cases {
            let status = match case.failure {
                None => TestCaseStatus::success(),
                Some(f) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status
                        .set_message(xml_safe(&f.message))
                        .set_type(xml_safe(&f.kind))
                        .set_description(xml_safe(&f.details));
                    status
                }
            };
            let mut test_case = TestCase::new(xml_safe(case.api), status);
            test_case.set_classname(xml_safe(case.tenant));
            suite.add_test_case(test_case);
        }
        let mut junit = quick_junit::Report::new(SUITE);
        junit.add_test_suite(suite);
        match junit.to_string() {
            Ok(mut xml) => {
                if !xml.ends_with('\n') {
                    xml.push('\n');
                }
                xml
            }
            // Writing into memory cannot fail; keep the file well-formed and say why if it does.
            Err(e) => format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{SUITE}\" tests=\"0\" failures=\"0\" errors=\"1\"><!-- {} --></testsuites>\n",
                xml_safe(&e.to_string()).replace("--", "- -")
            ),
        }
    }
}

/// The name of the report and of its one suite.
const SUITE: &str = "consentry verify";

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
    if !tenant.labels.is_empty() {
        lines.push(format!("labels: {}", tenant.labels.join(", ")));
    }
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

/// Text XML 1.0 can carry and a terminal can show: control characters (other than tab, newline
/// and carriage return), DEL, C1 and bidi characters, and U+FFFE/U+FFFF become U+FFFD.
/// quick-junit would silently drop some of them; a visible mark says something was there.
/// quick-junit escapes markup (`<`, `&`, quotes) itself.
fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => c,
            '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            c if crate::sanitize::is_unsafe(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_cannot_carry_are_marked() {
        assert_eq!(
            xml_safe("a\u{0}b\u{1b}c\u{7f}\u{9b}"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}\u{FFFD}"
        );
        assert_eq!(
            xml_safe("line\nnext\ttab\u{FFFF}"),
            "line\nnext\ttab\u{FFFD}"
        );
        assert_eq!(xml_safe("Ünïcode ✓ <&>"), "Ünïcode ✓ <&>");
    }
}
