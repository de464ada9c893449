//! Every verify report format for a realistic partner, the JUnit counts and escaping, the JSON
//! round trip `plan --state` relies on, and the catalog listing.

mod fixtures;

use consentry::catalog;
use consentry::cloud::Cloud;
use consentry::report::{VerifyFormat, render_roles, render_verify, xml_escape};
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
    let cases = xml.matches("<testcase ").count();
    // 3 tenants with two APIs, 1 with two APIs of which one fails, 7 with one API, 1 with none.
    assert_eq!(cases, 3 * 2 + 2 + 7 + 1);
    let failures = xml.matches("<failure ").count();
    // Northwind's M365D, Adventure Works' MDE, and the 6 single-API tenants that are not ok.
    assert_eq!(failures, 1 + 1 + 6);
    assert!(xml.contains(&format!(
        r#"<testsuite name="consentry verify" tests="{cases}" failures="{failures}""#
    )));
    assert!(xml.contains(&format!(
        r#"<testsuites name="consentry verify" tests="{cases}" failures="{failures}""#
    )));
    assert!(xml.contains(r#"<testcase classname="Alpine Ski House" name="(no API required)"/>"#));
    assert!(xml.contains(r#"type="credential_rejected""#));
    assert!(xml.contains("trace id: 0b4f3d2e-1c6a-4e21-9d3f-5a7b8c9d0e1f"));
    assert!(xml.contains("missing: AdvancedHunting.Read.All"));
}

#[test]
fn junit_escapes_every_markup_character() {
    let xml = render_verify(&hostile_report(), VerifyFormat::Junit);
    assert!(
        xml.contains(r#"classname="&lt;Evil &amp; &quot;Co&quot; &apos;Ltd&apos;&gt;""#),
        "{xml}"
    );
    assert!(xml.contains(r#"message="Send &lt;the&gt; &quot;link&quot; &amp; &apos;wait&apos;""#));
    assert!(xml.contains(r#"value="Contoso &lt;SOC&gt; &amp; Co""#));
    assert!(!xml.contains("<Evil"));
    assert!(!xml.contains("<the>"));
    // Every element opened is closed: the document stays well-formed around hostile text.
    for tag in ["testsuites", "testsuite", "properties"] {
        assert_eq!(
            xml.matches(&format!("<{tag}>")).count() + xml.matches(&format!("<{tag} ")).count(),
            xml.matches(&format!("</{tag}>")).count(),
            "{tag}"
        );
    }
    assert_eq!(xml_escape("<>&\"'"), "&lt;&gt;&amp;&quot;&apos;");
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
    assert!(table.contains("Coho Winery (credential_rejected)"));
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
    let xml = render_verify(&r, VerifyFormat::Junit);
    assert!(xml.contains(r#"tests="1" failures="0""#));
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
    let adventure_m365d = xml
        .split("<testcase ")
        .find(|c| c.starts_with(r#"classname="Adventure Works" name="microsoft-365-defender""#))
        .unwrap();
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
