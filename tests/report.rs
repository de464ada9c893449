//! Every verify report format for a realistic partner, the JUnit counts and escaping, the JSON
//! round trip `plan --state` relies on, and the catalog listing.

mod fixtures;

use consentry::catalog;
use consentry::cloud::Cloud;
use consentry::report::{VerifyFormat, render_roles, render_verify};
use consentry::verify::report::{Report, Status};
use fixtures::*;

const GOOD_HINT: Option<&str> = None;

/// A dozen tenants showing every status, extra roles, a tenant with two APIs of which one fails,
/// and a tenant that requires nothing.
fn realistic_report() -> Report {
    let both = |name: &str, id: &str, m365d: &[&str], mde: &[&str]| {
        seen(
            name,
            id,
            vec![
                api(
                    M365D,
                    &["AdvancedHunting.Read.All", "Incident.Read.All"],
                    m365d,
                ),
                api(MDE, &["Machine.Read.All"], mde),
            ],
            None,
        )
    };
    let mut tenants = vec![
        both(
            "Fabrikam",
            FABRIKAM,
            &["AdvancedHunting.Read.All", "Incident.Read.All"],
            &["Machine.Read.All"],
        ),
        // Granted the ReadWrite twin on top: an extra role, still ok.
        both(
            "Litware",
            "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
            &[
                "AdvancedHunting.Read.All",
                "Incident.Read.All",
                "Incident.ReadWrite.All",
            ],
            &["Machine.Read.All"],
        ),
    ];
    let mut missing = both(
        "Northwind Traders",
        NORTHWIND,
        &["Incident.Read.All"],
        &["Machine.Read.All"],
    );
    missing.hint = Some(
        "Consented before AdvancedHunting.Read.All was added: the tenant's admin must consent again (same link)."
            .to_owned(),
    );
    tenants.push(missing);
    tenants.push(seen(
        "Tailspin Toys",
        TAILSPIN,
        vec![failed_api(
            M365D,
            &["Incident.Read.All"],
            Status::NotConsented,
            Some("AADSTS700016"),
        )],
        Some("The app has no service principal in this tenant: send the admin-consent link."),
    ));
    tenants.push(seen(
        "Woodgrove Bank",
        WOODGROVE,
        vec![failed_api(
            M365D,
            &["Incident.Read.All"],
            Status::Disabled,
            Some("AADSTS7000112"),
        )],
        Some("The customer disabled the Contoso SOC Connector enterprise app: ask them to enable it."),
    ));
    // One API fine, the other's resource is not provisioned: the tenant takes the worst.
    tenants.push(seen(
        "Adventure Works",
        ADVENTURE,
        vec![
            api(
                M365D,
                &["Incident.Read.All"],
                &["AdvancedHunting.Read.All", "Incident.Read.All"],
            ),
            failed_api(
                MDE,
                &["Machine.Read.All"],
                Status::ResourceMissing,
                Some("AADSTS500011"),
            ),
        ],
        Some("WindowsDefenderATP has no service principal in this tenant: the customer has not onboarded Defender for Endpoint."),
    ));
    tenants.push(seen(
        "Proseware",
        "proseware.onmicrosoft.com",
        vec![failed_api(
            M365D,
            &["Incident.Read.All"],
            Status::TenantNotFound,
            Some("AADSTS90002"),
        )],
        Some("No such tenant in the global cloud: check the tenant id and the cloud."),
    ));
    let lying = invalid_api(
        M365D,
        &["Incident.Read.All"],
        "claim `tid`: expected 3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f, got 99999999-0000-4000-8000-000000000000",
    );
    tenants.push(seen(
        "Lucerne Publishing",
        "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
        vec![lying],
        Some("The token was issued for another tenant: check the tenant id and the cloud."),
    ));
    tenants.push(seen(
        "Wide World Importers",
        "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a",
        vec![failed_api(M365D, &["Incident.Read.All"], Status::Error, None)],
        Some("No answer after 3 retries: run verify again; if it persists, check connectivity to the login host."),
    ));
    tenants.push(seen(
        "Coho Winery",
        "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
        vec![failed_api(
            M365D,
            &["Incident.Read.All"],
            Status::CredentialRejected,
            Some("AADSTS7000215"),
        )],
        Some("The app's client secret was rejected: fix the credential in the home tenant; this affects every tenant."),
    ));
    tenants.push(seen(
        "Trey Research",
        "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
        vec![api(
            GRAPH,
            &["SecurityIncident.Read.All"],
            &["SecurityIncident.Read.All"],
        )],
        None,
    ));
    tenants.push(seen(
        "Alpine Ski House",
        "6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c",
        Vec::new(),
        GOOD_HINT,
    ));
    report(tenants)
}

fn hostile_report() -> Report {
    let mut r = report(vec![seen(
        r#"<Evil & "Co" 'Ltd'>"#,
        FABRIKAM,
        vec![failed_api(
            M365D,
            &["Incident.Read.All"],
            Status::NotConsented,
            Some("AADSTS700016"),
        )],
        Some(r#"Send <the> "link" & 'wait'"#),
    )]);
    r.app.name = "Contoso <SOC> & Co".to_owned();
    r
}

/// One `<testcase>` read back from the JUnit XML.
#[derive(Debug, Default)]
struct JunitCase {
    classname: String,
    name: String,
    /// `type`, `message` and the text of its `<failure>`.
    failure: Option<(String, String, String)>,
}

#[expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test helper: a panic is a test failure"
)]
/// The JUnit document read back with a real XML parser: the `<testsuite>` attributes and every
/// case. Panics on anything that is not well-formed XML (mismatched tags, bad escapes, ...).
fn parse_junit(xml: &str) -> (std::collections::BTreeMap<String, String>, Vec<JunitCase>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut suite = std::collections::BTreeMap::new();
    let mut cases: Vec<JunitCase> = Vec::new();
    let mut in_failure = false;
    let attrs = |e: &quick_xml::events::BytesStart| -> Vec<(String, String)> {
        e.attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                        .expect("valid escapes")
                        .into_owned(),
                )
            })
            .collect()
    };
    loop {
        let event = reader.read_event().expect("well-formed XML");
        match &event {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => suite = attrs(e).into_iter().collect(),
                b"testcase" => {
                    let mut case = JunitCase::default();
                    for (k, v) in attrs(e) {
                        match k.as_str() {
                            "classname" => case.classname = v,
                            "name" => case.name = v,
                            _ => {}
                        }
                    }
                    cases.push(case);
                }
                b"failure" => {
                    let a: std::collections::BTreeMap<String, String> =
                        attrs(e).into_iter().collect();
                    let case = cases.last_mut().expect("a failure inside a testcase");
                    case.failure = Some((
                        a.get("type").cloned().unwrap_or_default(),
                        a.get("message").cloned().unwrap_or_default(),
                        String::new(),
                    ));
                    in_failure = matches!(event, Event::Start(_));
                }
                _ => {}
            },
            Event::End(e) if e.name().as_ref() == b"failure" => in_failure = false,
            Event::Text(t) if in_failure => {
                let text = t.decode().expect("UTF-8");
                if let Some((_, _, body)) = cases.last_mut().and_then(|c| c.failure.as_mut()) {
                    body.push_str(&text);
                }
            }
            Event::GeneralRef(r) if in_failure => {
                let resolved = match r.resolve_char_ref().expect("valid reference") {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().expect("UTF-8");
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .expect("a predefined entity")
                            .to_owned()
                    }
                };
                if let Some((_, _, body)) = cases.last_mut().and_then(|c| c.failure.as_mut()) {
                    body.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (suite, cases)
}

#[test]
fn realistic_report_in_every_format() {
    let r = realistic_report();
    assert_eq!(r.tenants.len(), 12);
    snapshot!("verify_table", render_verify(&r, VerifyFormat::Table));
    snapshot!("verify_markdown", render_verify(&r, VerifyFormat::Markdown));
    snapshot!("verify_json", render_verify(&r, VerifyFormat::Json));
    snapshot!("verify_junit", render_verify(&r, VerifyFormat::Junit));
}

#[test]
fn junit_with_fail_on_extra_fails_extra_roles_too() {
    let mut r = realistic_report();
    r.fail_on_extra = true;
    let xml = render_verify(&r, VerifyFormat::Junit);
    snapshot!("verify_junit_fail_on_extra", xml.clone());
    assert!(xml.contains(r#"type="extra_roles""#));
    assert!(xml.contains("Incident.ReadWrite.All"));
}

#[test]
fn junit_counts_one_case_per_tenant_and_api() {
    let r = realistic_report();
    let xml = render_verify(&r, VerifyFormat::Junit);
    let (suite, cases) = parse_junit(&xml);
    // 3 tenants with two APIs, 1 with two APIs of which one fails, 7 with one API, 1 with none.
    assert_eq!(cases.len(), 3 * 2 + 2 + 7 + 1);
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    // Northwind's M365D, Adventure Works' MDE, and the 6 single-API tenants that are not ok.
    assert_eq!(failures, 1 + 1 + 6);
    assert_eq!(suite["name"], "consentry verify");
    assert_eq!(suite["tests"], cases.len().to_string());
    assert_eq!(suite["failures"], failures.to_string());
    assert!(xml.contains(&format!(
        r#"<testsuites name="consentry verify" tests="{}" skipped="0" failures="{failures}""#,
        cases.len()
    )));
    let alpine = cases
        .iter()
        .find(|c| c.classname == "Alpine Ski House")
        .unwrap();
    assert_eq!(alpine.name, "(no API required)");
    assert!(alpine.failure.is_none());
    let bodies: Vec<&(String, String, String)> =
        cases.iter().filter_map(|c| c.failure.as_ref()).collect();
    assert!(bodies.iter().any(|f| f.0 == "credential_rejected"));
    assert!(bodies.iter().any(|f| {
        f.2.contains("trace id: 0b4f3d2e-1c6a-4e21-9d3f-5a7b8c9d0e1f")
    }));
    assert!(
        bodies
            .iter()
            .any(|f| f.2.contains("missing: AdvancedHunting.Read.All"))
    );
}

#[test]
fn junit_escapes_every_markup_character() {
    let xml = render_verify(&hostile_report(), VerifyFormat::Junit);
    assert!(!xml.contains("<Evil"));
    assert!(!xml.contains("<the>"));
    // Read back by a real parser, every hostile string comes out exactly as it went in.
    let (_, cases) = parse_junit(&xml);
    assert_eq!(cases[0].classname, r#"<Evil & "Co" 'Ltd'>"#);
    let failure = cases[0].failure.as_ref().unwrap();
    assert_eq!(failure.1, r#"Send <the> "link" & 'wait'"#);
    assert!(
        failure.2.contains(r#"tenant: <Evil & "Co" 'Ltd'>"#),
        "{}",
        failure.2
    );
    assert!(
        xml.contains(r#"value="Contoso &lt;SOC&gt; &amp; Co""#),
        "{xml}"
    );
}

#[test]
fn junit_stays_well_formed_around_control_characters() {
    let r = terminal_hostile_report();
    let xml = render_verify(&r, VerifyFormat::Junit);
    let forbidden: Vec<char> = xml
        .chars()
        .filter(|&c| {
            (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                || matches!(c, '\u{FFFE}' | '\u{FFFF}')
        })
        .collect();
    assert!(forbidden.is_empty(), "{forbidden:?}");
    let (_, cases) = parse_junit(&xml);
    assert_eq!(cases.len(), 2);
    assert!(
        cases[0]
            .classname
            .starts_with("Evil\u{FFFD}]0;pwned\u{FFFD}"),
        "{:?}",
        cases[0].classname
    );
    let failure = cases[0].failure.as_ref().unwrap();
    assert!(
        failure.2.contains("tenant: Evil\u{FFFD}]0;pwned"),
        "{}",
        failure.2
    );
}

#[test]
fn markdown_escapes_names_and_lists_what_to_do() {
    let md = render_verify(&hostile_report(), VerifyFormat::Markdown);
    assert!(md.contains(r"\<Evil \& "), "{md}");
    assert!(!md.replace(r"\<", "").contains("<Evil"), "{md}");
    assert!(md.contains("### What to do"));
    assert!(md.contains("[admin consent](https://login.microsoftonline.com/"));
    assert!(md.contains("trace id `0b4f3d2e-1c6a-4e21-9d3f-5a7b8c9d0e1f`"));
}

#[test]
fn json_round_trips_for_plan_state() {
    let r = realistic_report();
    let text = render_verify(&r, VerifyFormat::Json);
    assert!(text.ends_with("}\n"));
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["tenants"][3]["status"], "not_consented");
    assert_eq!(value["tenants"][3]["error"]["code"], "AADSTS700016");
}

#[test]
fn table_marks_granted_missing_extra_and_unknown() {
    let table = render_verify(&realistic_report(), VerifyFormat::Table);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} row"))
            .to_owned()
    };
    assert_eq!(row("│ Fabrikam").matches('✓').count(), 3);
    assert_eq!(row("│ Northwind").matches('✗').count(), 1);
    assert_eq!(row("│ Adventure Works").matches('+').count(), 1);
    assert!(
        table.contains("Litware: M365D: Incident.ReadWrite.All"),
        "{table}"
    );
    assert_eq!(row("│ Coho Winery").matches('?').count(), 1);
    assert!(table.contains("4/12 tenants fully covered"), "{table}");
    assert!(table.contains("M365D Incident.Read.All 4/10"), "{table}");
    assert!(table.contains("Needs attention:"));
    // Coho Winery's rejected credential is the app's failure: said once, at the top.
    assert!(
        table.starts_with("App-wide failure (credential_rejected)"),
        "{table}"
    );
    assert!(
        table.contains("1 tenant: see the app-wide failure above"),
        "{table}"
    );
    assert!(
        !table.contains("Coho Winery (credential_rejected)"),
        "{table}"
    );
}

#[test]
fn a_report_where_everyone_is_ok_says_so() {
    let r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
        None,
    )]);
    let table = render_verify(&r, VerifyFormat::Table);
    assert!(!table.contains("Needs attention"));
    assert!(table.contains("1/1 tenants fully covered · M365D Incident.Read.All 1/1"));
    let md = render_verify(&r, VerifyFormat::Markdown);
    assert!(md.contains("all ok"));
    assert!(!md.contains("What to do"));
    assert!(
        md.contains("Every tenant granted every required role"),
        "{md}"
    );
    assert!(
        !md.contains("| Tenant |"),
        "no table when nobody needs a look: {md}"
    );
    assert!(
        md.contains("<details><summary>1 fully covered tenant</summary>"),
        "{md}"
    );
    let (suite, cases) = parse_junit(&render_verify(&r, VerifyFormat::Junit));
    assert_eq!(
        (suite["tests"].as_str(), suite["failures"].as_str()),
        ("1", "0")
    );
    assert_eq!(cases.len(), 1);
}

#[test]
fn roles_listing_for_the_catalog_and_one_api() {
    snapshot!("roles_all_global", render_roles(None, Cloud::Global));
    snapshot!(
        "roles_mde_gcc",
        render_roles(catalog::api("defender-for-endpoint"), Cloud::Gcc)
    );
}

#[test]
fn junit_details_name_only_the_failing_apis_own_error() {
    let mut r = realistic_report();
    r.fail_on_extra = true;
    let xml = render_verify(&r, VerifyFormat::Junit);
    let (_, cases) = parse_junit(&xml);
    let adventure_m365d = &cases
        .iter()
        .find(|c| c.classname == "Adventure Works" && c.name == "microsoft-365-defender")
        .unwrap()
        .failure
        .as_ref()
        .unwrap()
        .2;
    assert!(adventure_m365d.contains("extra: AdvancedHunting.Read.All"));
    assert!(
        !adventure_m365d.contains("AADSTS500011"),
        "{adventure_m365d}"
    );
    assert!(!adventure_m365d.contains("admin consent:"));
}

#[test]
fn markdown_with_fail_on_extra_asks_to_remove_extra_roles() {
    let mut r = realistic_report();
    let without = render_verify(&r, VerifyFormat::Markdown);
    assert!(!without.contains("- **Litware**"));
    r.fail_on_extra = true;
    let with = render_verify(&r, VerifyFormat::Markdown);
    let item = with
        .lines()
        .find(|l| l.starts_with("- **Litware**"))
        .unwrap_or_else(|| panic!("{with}"));
    assert!(item.contains("Incident.ReadWrite.All"), "{item}");
}

/// A report whose every outside string carries terminal control sequences: ESC (retitle, clear),
/// BEL, DEL, a C1 CSI, and a bidi override, as a hostile tenant, token or Entra could send them.
fn terminal_hostile_report() -> Report {
    const NASTY: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{7f}\u{9b}31m\u{202e}";
    let tenant = seen(
        &format!("Evil{NASTY}Corp|`x`"),
        FABRIKAM,
        vec![
            failed_api(
                M365D,
                &["Incident.Read.All"],
                Status::NotConsented,
                Some("AADSTS700016"),
            ),
            api(
                MDE,
                &["Machine.Read.All"],
                &["Machine.Read.All", &format!("Role{NASTY}")],
            ),
        ],
        Some(&format!("hint{NASTY}")),
    );
    let mut r = report(vec![tenant]);
    // What Entra said, as a hostile server could say it (the report is data: set it after the
    // real assessment built it).
    if let Some(error) = r.tenants[0].error.as_mut() {
        error.message = format!("description{NASTY}\u{0}");
    }
    r.app.name = format!("App{NASTY}");
    r
}

fn unsafe_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && c != '\t' && consentry::sanitize::is_unsafe(c))
        .collect()
}

#[test]
fn no_control_character_reaches_a_human_format() {
    let r = terminal_hostile_report();
    for format in [VerifyFormat::Table, VerifyFormat::Markdown] {
        let text = render_verify(&r, format);
        assert_eq!(
            unsafe_chars(&text),
            Vec::<char>::new(),
            "{format:?}:\n{text}"
        );
        assert!(
            text.contains("Evil"),
            "{format:?}: the tenant is still shown"
        );
    }
    let table = render_verify(&r, VerifyFormat::Table);
    assert!(table.contains(r"Evil\u{1b}]0;pwned\u{7}"), "{table}");
    let md = render_verify(&r, VerifyFormat::Markdown);
    // The cell cannot be split by the name's `|`.
    let row = md.lines().find(|l| l.contains("Evil")).unwrap();
    assert_eq!(row.matches(" | ").count(), 4, "{row}");
}

#[test]
fn json_carries_control_characters_escaped_and_exact() {
    let r = terminal_hostile_report();
    let text = render_verify(&r, VerifyFormat::Json);
    assert!(
        text.chars().all(|c| c == '\n' || !c.is_control()),
        "raw control in JSON"
    );
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back.tenants[0].name, r.tenants[0].name);
    assert_eq!(back.app.name, r.app.name);
}

/// The GitHub annotations quote Entra's `error_description` (a hostile server's text) and tenant
/// names: like the table and Markdown, they must show no raw control character or bidi mark. Same
/// root cause as `plan`'s GitHub format (found by `cargo fuzz run state_report`).
#[test]
fn github_verify_escapes_control_characters_from_entra() {
    let r = report(vec![seen(
        "Fabrikam\u{202e}",
        FABRIKAM,
        vec![failed_api(
            M365D,
            &["Incident.Read.All"],
            Status::Error,
            Some("AADSTS53003: \u{1b}]0;pwned\u{7}Access has been blocked\u{9b}2J."),
        )],
        None,
    )]);
    for format in [
        VerifyFormat::Github,
        VerifyFormat::Table,
        VerifyFormat::Markdown,
    ] {
        let shown = render_verify(&r, format);
        let raw = shown
            .chars()
            .find(|&c| consentry::sanitize::is_unsafe(c) && c != '\n' && c != '\t');
        assert_eq!(raw, None, "{format:?}: {shown}");
    }
}
