//! `plan`: the action of every tenant without history, against a previous manifest (`--base`) and
//! against the last verify report (`--state`), and the rendered plans.

mod fixtures;

use consentry::cloud::Cloud;
use consentry::consent::LinkStyle;
use consentry::model::Manifest;
use consentry::plan::{Action, Options, Plan, PlannedTenant, plan};
use consentry::report::{PlanFormat, render_plan};
use consentry::verify::report::{Report, Status};
use fixtures::*;

fn with_base(manifest: &Manifest, base: &Manifest) -> Plan {
    plan(
        manifest,
        &Options {
            base: Some(base),
            ..Options::default()
        },
    )
}

fn with_state(manifest: &Manifest, state: &Report) -> Plan {
    plan(
        manifest,
        &Options {
            state: Some(state),
            ..Options::default()
        },
    )
}

fn find<'p>(plan: &'p Plan, name: &str) -> &'p PlannedTenant {
    plan.tenants
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} not in the plan"))
}

fn roles(pairs: &[(&str, &[&str])]) -> consentry::plan::Roles {
    pairs
        .iter()
        .map(|(api, r)| {
            (
                (*api).to_owned(),
                r.iter().map(|s| (*s).to_owned()).collect(),
            )
        })
        .collect()
}

// --- without history ---------------------------------------------------------------------------

#[test]
fn without_base_or_state_every_tenant_consents_in_manifest_order() {
    let m = manifest(vec![
        tenant("Fabrikam", FABRIKAM, &[(M365D, &["Incident.Read.All"])]),
        tenant("Northwind", NORTHWIND, &[(MDE, &["Machine.Read.All"])]),
    ]);
    let p = plan(&m, &Options::default());
    let names: Vec<_> = p.tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Fabrikam", "Northwind"]);
    assert!(p.tenants.iter().all(|t| t.action == Action::Consent));
    assert_eq!(p.summary.consent, 2);
    assert_eq!(p.summary.tenants, 2);
    assert_eq!(
        p.tenants[1].consent_url.as_deref(),
        Some(
            "https://login.microsoftonline.com/northwind.onmicrosoft.com/adminconsent?client_id=6731de76-14a6-49ae-97bc-6eba6914391e&redirect_uri=https%3A%2F%2Fportal.azure.com"
        )
    );
    assert_eq!(
        p.tenants[0].required,
        roles(&[(M365D, &["Incident.Read.All"])])
    );
    assert_eq!(p.tenants[0].new_roles, None);
}

#[test]
fn links_follow_the_cloud_and_the_link_style() {
    let m = manifest_for(
        CLIENT,
        Cloud::GccHigh,
        vec![tenant(
            "Fabrikam",
            FABRIKAM,
            &[(M365D, &["Incident.Read.All"])],
        )],
    );
    let tenant_pinned = plan(&m, &Options::default());
    assert!(
        tenant_pinned.tenants[0]
            .consent_url
            .as_deref()
            .unwrap()
            .starts_with(&format!(
                "https://login.microsoftonline.us/{FABRIKAM}/adminconsent?"
            ))
    );
    let legacy = plan(
        &m,
        &Options {
            link_style: LinkStyle::Legacy,
            ..Options::default()
        },
    );
    assert!(
        legacy.tenants[0]
            .consent_url
            .as_deref()
            .unwrap()
            .starts_with("https://login.microsoftonline.us/common/oauth2/authorize?prompt=consent")
    );
    assert_eq!(legacy.cloud, Cloud::GccHigh);
}

// --- against the previous manifest -------------------------------------------------------------

#[test]
fn base_new_tenant_consents() {
    let base = manifest(vec![tenant(
        "Fabrikam",
        FABRIKAM,
        &[(M365D, &["Incident.Read.All"])],
    )]);
    let now = manifest(vec![
        tenant("Fabrikam", FABRIKAM, &[(M365D, &["Incident.Read.All"])]),
        tenant("Tailspin", TAILSPIN, &[(M365D, &["Incident.Read.All"])]),
    ]);
    let p = with_base(&now, &base);
    assert_eq!(find(&p, "Tailspin").action, Action::Consent);
    assert!(find(&p, "Tailspin").reason.contains("New tenant"));
    assert_eq!(find(&p, "Fabrikam").action, Action::None);
}

#[test]
fn base_grown_roles_reconsent_naming_only_the_new_ones() {
    let base = manifest(vec![tenant(
        "Northwind",
        NORTHWIND,
        &[(M365D, &["Incident.Read.All"])],
    )]);
    let now = manifest(vec![tenant(
        "Northwind",
        NORTHWIND,
        &[
            (M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"]),
            (MDE, &["Machine.Read.All"]),
        ],
    )]);
    let t = &with_base(&now, &base).tenants[0];
    assert_eq!(t.action, Action::Reconsent);
    assert_eq!(
        t.new_roles,
        Some(roles(&[
            (MDE, &["Machine.Read.All"]),
            (M365D, &["AdvancedHunting.Read.All"]),
        ]))
    );
    assert!(
        t.reason.contains("AdvancedHunting.Read.All"),
        "{}",
        t.reason
    );
    assert!(!t.reason.contains("Incident.Read.All"), "{}", t.reason);
    assert!(t.consent_url.is_some());
}

#[test]
fn base_grown_in_one_api_while_shrinking_in_another_still_reconsents() {
    let base = manifest(vec![tenant(
        "Fabrikam",
        FABRIKAM,
        &[(M365D, &["Incident.Read.All"]), (MDE, &["Alert.Read.All"])],
    )]);
    let now = manifest(vec![tenant(
        "Fabrikam",
        FABRIKAM,
        &[(M365D, &["Incident.Read.All", "Incident.ReadWrite.All"])],
    )]);
    let t = &with_base(&now, &base).tenants[0];
    assert_eq!(t.action, Action::Reconsent);
    assert_eq!(
        t.new_roles,
        Some(roles(&[(M365D, &["Incident.ReadWrite.All"])]))
    );
}

#[test]
fn base_same_roles_need_nothing() {
    let t = tenant("Fabrikam", FABRIKAM, &[(M365D, &["Incident.Read.All"])]);
    let p = with_base(&manifest(vec![t.clone()]), &manifest(vec![t]));
    assert_eq!(p.tenants[0].action, Action::None);
    assert!(p.tenants[0].reason.contains("unchanged"));
    assert_eq!(p.summary.none, 1);
    assert_eq!(p.summary.tenants, 1);
}

#[test]
fn base_fewer_roles_need_nothing_but_say_what_is_no_longer_needed() {
    let base = manifest(vec![tenant(
        "Fabrikam",
        FABRIKAM,
        &[(M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"])],
    )]);
    let now = manifest(vec![tenant(
        "Fabrikam",
        FABRIKAM,
        &[(M365D, &["Incident.Read.All"])],
    )]);
    let t = &with_base(&now, &base).tenants[0];
    assert_eq!(t.action, Action::None);
    assert!(t.reason.contains("No longer needed"), "{}", t.reason);
    assert!(
        t.reason.contains("AdvancedHunting.Read.All"),
        "{}",
        t.reason
    );
}

#[test]
fn base_gone_tenants_are_offboarded_after_the_manifest_in_base_order() {
    let base = manifest(vec![
        tenant("Woodgrove", WOODGROVE, &[(M365D, &["Incident.Read.All"])]),
        tenant("Fabrikam", FABRIKAM, &[(M365D, &["Incident.Read.All"])]),
        labelled(
            tenant(
                "Adventure Works",
                ADVENTURE,
                &[(M365D, &["Incident.Read.All"])],
            ),
            &["emea"],
        ),
    ]);
    let now = manifest(vec![tenant(
        "Fabrikam",
        FABRIKAM,
        &[(M365D, &["Incident.Read.All"])],
    )]);
    let p = with_base(&now, &base);
    let order: Vec<_> = p
        .tenants
        .iter()
        .map(|t| (t.name.as_str(), t.action))
        .collect();
    assert_eq!(
        order,
        [
            ("Fabrikam", Action::None),
            ("Woodgrove", Action::Offboard),
            ("Adventure Works", Action::Offboard),
        ]
    );
    let gone = find(&p, "Adventure Works");
    assert_eq!(gone.consent_url, None);
    assert!(gone.required.is_empty());
    assert_eq!(gone.labels, ["emea"]);
    assert!(
        gone.reason.contains("enterprise application"),
        "{}",
        gone.reason
    );
    assert_eq!(p.summary.offboard, 2);
    assert_eq!(p.summary.tenants, 3);
}

#[test]
fn base_with_another_client_id_makes_every_tenant_consent_to_the_new_app() {
    let t = tenant("Fabrikam", FABRIKAM, &[(M365D, &["Incident.Read.All"])]);
    let base = manifest_for(
        "11111111-2222-4333-8444-555555555555",
        Cloud::Global,
        vec![t.clone()],
    );
    let p = with_base(&manifest(vec![t]), &base);
    assert_eq!(p.tenants[0].action, Action::Consent);
    assert!(
        p.tenants[0]
            .reason
            .contains("11111111-2222-4333-8444-555555555555")
    );
    assert!(
        p.tenants[0].reason.contains("new app"),
        "{}",
        p.tenants[0].reason
    );
}

#[test]
fn base_ids_match_case_insensitively() {
    let mut old = tenant("Northwind", NORTHWIND, &[(M365D, &["Incident.Read.All"])]);
    old.id = consentry::model::TenantId::Domain("NorthWind.OnMicrosoft.com".to_owned());
    let now = tenant(
        "Northwind Traders",
        NORTHWIND,
        &[(M365D, &["Incident.Read.All"])],
    );
    let p = with_base(&manifest(vec![now]), &manifest(vec![old]));
    assert_eq!(p.tenants.len(), 1, "a renamed tenant is not offboarded");
    assert_eq!(p.tenants[0].action, Action::None);
}

#[test]
fn base_id_changed_under_the_same_name_consents_and_names_the_old_id() {
    let base = manifest(vec![tenant(
        "Northwind",
        NORTHWIND,
        &[(M365D, &["Incident.Read.All"])],
    )]);
    let now = manifest(vec![tenant(
        "Northwind",
        NORTHWIND_GUID,
        &[(M365D, &["Incident.Read.All"])],
    )]);
    let p = with_base(&now, &base);
    assert_eq!(
        p.tenants.len(),
        1,
        "not offboarded: the name says it is the same customer"
    );
    assert_eq!(p.tenants[0].action, Action::Consent);
    assert!(
        p.tenants[0].reason.contains(NORTHWIND),
        "{}",
        p.tenants[0].reason
    );
    assert!(p.tenants[0].reason.contains(NORTHWIND_GUID));
}

#[test]
fn an_id_match_wins_over_a_name_match() {
    // The base's "Alpha" is now called "Beta" and a new "Alpha" arrived with another id.
    let base = manifest(vec![tenant(
        "Alpha",
        FABRIKAM,
        &[(M365D, &["Incident.Read.All"])],
    )]);
    let now = manifest(vec![
        tenant("Alpha", TAILSPIN, &[(M365D, &["Incident.Read.All"])]),
        tenant("Beta", FABRIKAM, &[(M365D, &["Incident.Read.All"])]),
    ]);
    let p = with_base(&now, &base);
    assert_eq!(find(&p, "Beta").action, Action::None);
    assert_eq!(find(&p, "Alpha").action, Action::Consent);
    assert!(find(&p, "Alpha").reason.contains("New tenant"));
}

// --- against the last verify report ------------------------------------------------------------

fn one_tenant_manifest(roles: &[(&str, &[&str])]) -> Manifest {
    manifest(vec![tenant("Fabrikam", FABRIKAM, roles)])
}

#[test]
fn state_all_granted_needs_nothing() {
    let m = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
        None,
    )]);
    let t = &with_state(&m, &r).tenants[0];
    assert_eq!(t.action, Action::None);
    assert!(t.reason.contains("every required role"), "{}", t.reason);
}

#[test]
fn state_missing_roles_reconsent_naming_them() {
    let m = one_tenant_manifest(&[(M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"])]);
    let r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![api(
            M365D,
            &["AdvancedHunting.Read.All", "Incident.Read.All"],
            &["Incident.Read.All"],
        )],
        Some("Re-send the admin-consent link."),
    )]);
    let t = &with_state(&m, &r).tenants[0];
    assert_eq!(t.action, Action::Reconsent);
    // Required when the report was made: missing, not new.
    assert_eq!(t.new_roles, None);
    assert_eq!(
        t.missing_roles,
        Some(roles(&[(M365D, &["AdvancedHunting.Read.All"])]))
    );
    assert!(!t.reason.contains("now needs"), "{}", t.reason);
    assert!(t.reason.contains("did not see"), "{}", t.reason);
}

#[test]
fn state_new_roles_are_only_those_the_manifest_added_since_the_report() {
    // AdvancedHunting was required and not granted (missing); Machine.Read.All is new since.
    let m = one_tenant_manifest(&[
        (M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"]),
        (MDE, &["Machine.Read.All"]),
    ]);
    let r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![api(
            M365D,
            &["AdvancedHunting.Read.All", "Incident.Read.All"],
            &["Incident.Read.All"],
        )],
        None,
    )]);
    let t = &with_state(&m, &r).tenants[0];
    assert_eq!(t.action, Action::Reconsent);
    assert_eq!(t.new_roles, Some(roles(&[(MDE, &["Machine.Read.All"])])));
    assert_eq!(
        t.missing_roles,
        Some(roles(&[(M365D, &["AdvancedHunting.Read.All"])]))
    );
    let md = render_plan(&with_state(&m, &r), PlanFormat::Markdown);
    assert!(md.contains("new roles MDE: Machine.Read.All"), "{md}");
    assert!(
        md.contains("not granted yet M365D: AdvancedHunting.Read.All"),
        "{md}"
    );
}

#[test]
fn base_says_when_a_tenant_override_keeps_a_new_app_wide_role_away() {
    let base = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let mut now = manifest(vec![
        tenant("Fabrikam", FABRIKAM, &[(M365D, &["Incident.Read.All"])]),
        tenant(
            "Northwind",
            NORTHWIND,
            &[(M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"])],
        ),
    ]);
    let mut base = base;
    base.tenants.push(tenant(
        "Northwind",
        NORTHWIND,
        &[(M365D, &["Incident.Read.All"])],
    ));
    // App-wide: Incident before, Incident + AdvancedHunting now. Fabrikam overrides with Incident.
    base.apis[0].roles = ["Incident.Read.All".to_owned()].into();
    now.apis[0].roles = [
        "AdvancedHunting.Read.All".to_owned(),
        "Incident.Read.All".to_owned(),
    ]
    .into();
    let p = with_base(&now, &base);
    let fabrikam = find(&p, "Fabrikam");
    assert_eq!(fabrikam.action, Action::None);
    assert_eq!(
        fabrikam.withheld_roles,
        Some(roles(&[(M365D, &["AdvancedHunting.Read.All"])]))
    );
    assert!(fabrikam.reason.contains("override"), "{}", fabrikam.reason);
    let northwind = find(&p, "Northwind");
    assert_eq!(northwind.action, Action::Reconsent);
    assert_eq!(northwind.withheld_roles, None);
    for format in [PlanFormat::Table, PlanFormat::Markdown] {
        let text = render_plan(&p, format);
        assert!(
            text.contains("Fabrikam") && text.contains("override"),
            "{format:?}: {text}"
        );
    }
}

#[test]
fn markdown_has_a_message_to_send_per_tenant_to_consent() {
    let p = realistic_base_plan();
    let md = render_plan(&p, PlanFormat::Markdown);
    let messages = md
        .split("### Messages to send")
        .nth(1)
        .expect("a messages section");
    for t in p
        .tenants
        .iter()
        .filter(|t| matches!(t.action, Action::Consent | Action::Reconsent))
    {
        let url = t.consent_url.as_deref().unwrap();
        assert!(messages.contains(url), "{} link: {messages}", t.name);
    }
    // Plain words from the catalog, with the role name beside them.
    assert!(
        messages.contains("Read all incidents (Incident.Read.All)"),
        "{messages}"
    );
    assert!(
        !messages.contains("Woodgrove"),
        "no message to an offboarded tenant"
    );
}

#[test]
fn state_not_consented_consents() {
    let m = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![failed_api(
            M365D,
            &["Incident.Read.All"],
            Status::NotConsented,
            Some("AADSTS700016"),
        )],
        Some("Send this tenant's admin-consent link."),
    )]);
    let t = &with_state(&m, &r).tenants[0];
    assert_eq!(t.action, Action::Consent);
    assert!(t.reason.contains("AADSTS700016"), "{}", t.reason);
    assert!(t.reason.contains("admin-consent link"), "{}", t.reason);
}

#[test]
fn state_undetermined_and_broken_tenants_are_investigated_with_the_reports_hint() {
    let cases = [
        (Status::Disabled, Some("AADSTS7000112")),
        (Status::ResourceMissing, Some("AADSTS500011")),
        (Status::TenantNotFound, Some("AADSTS90002")),
        (Status::InvalidToken, None),
        (Status::Error, None),
        (Status::CredentialRejected, Some("AADSTS7000215")),
    ];
    for (status, code) in cases {
        let m = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
        let hint = format!("hint for {status}");
        let r = report(vec![seen(
            "Fabrikam",
            FABRIKAM,
            vec![failed_api(M365D, &["Incident.Read.All"], status, code)],
            Some(&hint),
        )]);
        let t = &with_state(&m, &r).tenants[0];
        assert_eq!(t.action, Action::Investigate, "{status}");
        assert!(t.reason.contains(&hint), "{status}: {}", t.reason);
        assert!(t.reason.contains(status.as_str()), "{status}: {}", t.reason);
        if let Some(code) = code {
            assert!(t.reason.contains(code), "{status}: {}", t.reason);
        }
    }
}

#[test]
fn state_without_a_hint_still_gives_a_reason() {
    let m = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let mut r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![failed_api(
            M365D,
            &["Incident.Read.All"],
            Status::Disabled,
            None,
        )],
        None,
    )]);
    // A report written without hints (hand-made, or by another tool).
    r.tenants[0].hint = None;
    let t = &with_state(&m, &r).tenants[0];
    assert_eq!(t.action, Action::Investigate);
    assert!(
        t.reason.contains("disabled the enterprise app"),
        "{}",
        t.reason
    );
}

#[test]
fn state_tenant_not_in_the_report_consents() {
    let m = manifest(vec![
        tenant("Fabrikam", FABRIKAM, &[(M365D, &["Incident.Read.All"])]),
        tenant("Tailspin", TAILSPIN, &[(M365D, &["Incident.Read.All"])]),
    ]);
    let r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
        None,
    )]);
    let p = with_state(&m, &r);
    assert_eq!(find(&p, "Tailspin").action, Action::Consent);
    assert!(
        find(&p, "Tailspin")
            .reason
            .contains("Not in the last verify report")
    );
    assert_eq!(find(&p, "Fabrikam").action, Action::None);
}

#[test]
fn state_tenant_only_in_the_report_is_offboarded() {
    let m = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let r = report(vec![
        seen(
            "Woodgrove",
            WOODGROVE,
            vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
            None,
        ),
        seen(
            "Fabrikam",
            FABRIKAM,
            vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
            None,
        ),
    ]);
    let p = with_state(&m, &r);
    assert_eq!(p.tenants.len(), 2);
    assert_eq!(p.tenants[1].name, "Woodgrove");
    assert_eq!(p.tenants[1].action, Action::Offboard);
    assert_eq!(p.tenants[1].consent_url, None);
    assert!(p.tenants[1].reason.contains("last verify report"));
}

#[test]
fn state_ok_but_the_manifest_grew_since_reconsents() {
    // The report says ok, but it was made against a smaller manifest: compute from `granted`.
    let m = one_tenant_manifest(&[
        (M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"]),
        (MDE, &["Machine.Read.All"]),
    ]);
    let r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
        None,
    )]);
    assert_eq!(r.tenants[0].status, Status::Ok);
    let t = &with_state(&m, &r).tenants[0];
    assert_eq!(t.action, Action::Reconsent);
    assert_eq!(
        t.new_roles,
        Some(roles(&[
            (MDE, &["Machine.Read.All"]),
            (M365D, &["AdvancedHunting.Read.All"]),
        ]))
    );
}

#[test]
fn state_missing_roles_no_longer_required_need_nothing() {
    let m = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![api(
            M365D,
            &["AdvancedHunting.Read.All", "Incident.Read.All"],
            &["Incident.Read.All"],
        )],
        Some("Re-send the admin-consent link."),
    )]);
    assert_eq!(r.tenants[0].status, Status::MissingRoles);
    assert_eq!(with_state(&m, &r).tenants[0].action, Action::None);
}

#[test]
fn state_matches_a_domain_tenant_rewritten_as_its_guid() {
    let m = manifest(vec![tenant(
        "Northwind",
        NORTHWIND_GUID,
        &[(M365D, &["Incident.Read.All"])],
    )]);
    let r = report(vec![seen(
        "Northwind",
        NORTHWIND,
        vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
        None,
    )]);
    assert_eq!(r.tenants[0].tenant_id.as_deref(), Some(NORTHWIND_GUID));
    let p = with_state(&m, &r);
    assert_eq!(p.tenants.len(), 1);
    assert_eq!(p.tenants[0].action, Action::None);
}

#[test]
fn state_of_another_app_means_everyone_consents() {
    let m = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let r = report_for(
        "11111111-2222-4333-8444-555555555555",
        vec![seen(
            "Fabrikam",
            FABRIKAM,
            vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
            None,
        )],
    );
    let t = &with_state(&m, &r).tenants[0];
    assert_eq!(t.action, Action::Consent);
    assert!(t.reason.contains("new app"), "{}", t.reason);
}

/// Found by `cargo fuzz run state_report`: a `--state` report's client id (any text a hand-edited
/// file holds) reached the GitHub annotations raw, bidi marks and control characters included,
/// while the table and Markdown escaped it.
#[test]
fn github_plan_escapes_control_characters_from_a_state_report() {
    let m = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let mut r = report(vec![seen(
        "Fabrikam",
        FABRIKAM,
        vec![api(M365D, &["Incident.Read.All"], &[])],
        None,
    )]);
    // As the fuzzer wrote it: a GUID with a bidi mark inside, then a terminal title sequence.
    r.app.client_id = "5b0e7c3a-9d14-4f62-8a37\u{61c}1e1f4d6b890\u{1b}]0;pwned\u{7}".to_owned();
    for format in [PlanFormat::Github, PlanFormat::Table, PlanFormat::Markdown] {
        let shown = render_plan(&with_state(&m, &r), format);
        let raw = shown
            .chars()
            .find(|&c| consentry::sanitize::is_unsafe(c) && c != '\n' && c != '\t');
        assert_eq!(raw, None, "{format:?}: {shown}");
    }
}

#[test]
fn state_decides_when_base_is_given_too_and_offboards_are_not_repeated() {
    let base = manifest(vec![
        tenant("Fabrikam", FABRIKAM, &[(M365D, &["Incident.Read.All"])]),
        tenant("Woodgrove", WOODGROVE, &[(M365D, &["Incident.Read.All"])]),
    ]);
    let now = one_tenant_manifest(&[(M365D, &["Incident.Read.All"])]);
    let r = report(vec![
        seen(
            "Fabrikam",
            FABRIKAM,
            vec![api(M365D, &["Incident.Read.All"], &[])],
            None,
        ),
        seen(
            "Woodgrove",
            WOODGROVE,
            vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
            None,
        ),
    ]);
    let p = plan(
        &now,
        &Options {
            base: Some(&base),
            state: Some(&r),
            ..Options::default()
        },
    );
    // The base says unchanged; the report says the role is not granted: evidence wins.
    assert_eq!(find(&p, "Fabrikam").action, Action::Reconsent);
    let offboards: Vec<_> = p
        .tenants
        .iter()
        .filter(|t| t.action == Action::Offboard)
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(offboards, ["Woodgrove"]);
    assert_eq!(p.summary.tenants, 2);
}

// --- rendered plans ----------------------------------------------------------------------------

/// The example partner after a pull request: Northwind needs a new role, Tailspin is new,
/// Woodgrove left, and a customer with a name that is hostile to Markdown joined.
fn realistic_base_plan() -> Plan {
    let base = manifest(vec![
        tenant(
            "Fabrikam",
            FABRIKAM,
            &[
                (M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"]),
                (MDE, &["Machine.Read.All"]),
            ],
        ),
        labelled(
            tenant(
                "Northwind Traders",
                NORTHWIND,
                &[
                    (M365D, &["Incident.Read.All"]),
                    (MDE, &["Machine.Read.All"]),
                ],
            ),
            &["emea", "tier-1"],
        ),
        tenant(
            "Woodgrove Bank",
            WOODGROVE,
            &[(M365D, &["Incident.Read.All"])],
        ),
    ]);
    let now = manifest(vec![
        tenant(
            "Fabrikam",
            FABRIKAM,
            &[
                (M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"]),
                (MDE, &["Machine.Read.All"]),
            ],
        ),
        labelled(
            tenant(
                "Northwind Traders",
                NORTHWIND,
                &[
                    (M365D, &["AdvancedHunting.Read.All", "Incident.Read.All"]),
                    (MDE, &["Machine.Read.All"]),
                ],
            ),
            &["emea", "tier-1"],
        ),
        tenant(
            "Tailspin Toys",
            TAILSPIN,
            &[(M365D, &["Incident.Read.All"])],
        ),
        tenant(
            "Adventure *Works* [EU] <beta> | `x`",
            ADVENTURE,
            &[(GRAPH, &["SecurityIncident.Read.All"])],
        ),
    ]);
    with_base(&now, &base)
}

/// The same partner planned from the last verify report.
fn realistic_state_plan() -> Plan {
    let now = manifest(vec![
        tenant(
            "Fabrikam",
            FABRIKAM,
            &[
                (M365D, &["Incident.Read.All"]),
                (MDE, &["Machine.Read.All"]),
            ],
        ),
        tenant(
            "Northwind Traders",
            NORTHWIND,
            &[(M365D, &["Incident.Read.All"])],
        ),
        tenant(
            "Tailspin Toys",
            TAILSPIN,
            &[(M365D, &["Incident.Read.All"])],
        ),
        tenant(
            "Adventure Works",
            ADVENTURE,
            &[(M365D, &["Incident.Read.All"])],
        ),
        tenant(
            "Contoso Pharma",
            "c0a1b2c3-d4e5-4f60-8172-839405a6b7c8",
            &[(M365D, &["Incident.Read.All"])],
        ),
    ]);
    let r = report(vec![
        seen(
            "Fabrikam",
            FABRIKAM,
            vec![
                api(M365D, &["Incident.Read.All"], &["Incident.Read.All"]),
                api(MDE, &["Machine.Read.All"], &[]),
            ],
            Some("Consented, but Machine.Read.All is not granted: re-send the admin-consent link."),
        ),
        seen(
            "Northwind Traders",
            NORTHWIND,
            vec![failed_api(
                M365D,
                &["Incident.Read.All"],
                Status::NotConsented,
                Some("AADSTS700016"),
            )],
            Some("The app has no service principal in this tenant: send the admin-consent link."),
        ),
        seen(
            "Tailspin Toys",
            TAILSPIN,
            vec![failed_api(
                M365D,
                &["Incident.Read.All"],
                Status::ResourceMissing,
                Some("AADSTS500011"),
            )],
            Some(
                "Microsoft Threat Protection has no service principal in this tenant: the customer has not provisioned Defender XDR.",
            ),
        ),
        seen(
            "Adventure Works",
            ADVENTURE,
            vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
            None,
        ),
        seen(
            "Woodgrove Bank",
            WOODGROVE,
            vec![api(M365D, &["Incident.Read.All"], &["Incident.Read.All"])],
            None,
        ),
    ]);
    with_state(&now, &r)
}

#[test]
fn realistic_base_plan_in_every_format() {
    let p = realistic_base_plan();
    snapshot!("base_plan_json", render_plan(&p, PlanFormat::Json));
    snapshot!("base_plan_markdown", render_plan(&p, PlanFormat::Markdown));
    snapshot!("base_plan_table", render_plan(&p, PlanFormat::Table));
}

#[test]
fn realistic_state_plan_in_every_format() {
    let p = realistic_state_plan();
    snapshot!("state_plan_json", render_plan(&p, PlanFormat::Json));
    snapshot!("state_plan_markdown", render_plan(&p, PlanFormat::Markdown));
    snapshot!("state_plan_table", render_plan(&p, PlanFormat::Table));
}

#[test]
fn the_json_plan_has_the_documented_shape_and_round_trips() {
    let p = realistic_base_plan();
    let text = render_plan(&p, PlanFormat::Json);
    assert!(text.ends_with("}\n"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["app"]["client_id"], CLIENT);
    assert_eq!(value["cloud"], "global");
    assert_eq!(value["summary"]["consent"], 2);
    assert_eq!(value["summary"]["reconsent"], 1);
    assert_eq!(value["summary"]["offboard"], 1);
    assert_eq!(value["summary"]["none"], 1);
    assert_eq!(value["summary"]["tenants"], 5);
    let northwind = &value["tenants"][1];
    assert_eq!(northwind["action"], "reconsent");
    assert_eq!(northwind["new_roles"][M365D][0], "AdvancedHunting.Read.All");
    assert!(
        value["tenants"][0].get("new_roles").is_none(),
        "reconsent only"
    );
    assert_eq!(value["tenants"][4]["consent_url"], serde_json::Value::Null);
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
}

#[test]
fn markdown_checklist_escapes_names_and_collapses_tenants_with_nothing_to_do() {
    let md = render_plan(&realistic_base_plan(), PlanFormat::Markdown);
    assert!(
        md.contains(r"Adventure \*Works\* \[EU\] \<beta\> \| \`x\`"),
        "{md}"
    );
    let (checklist, messages) = md.split_once("### Messages to send").unwrap();
    assert!(!checklist.contains("<beta>"));
    // In the messages the name is literal text inside a code fence, where Markdown is not read.
    for block in messages
        .split("</details>")
        .filter(|b| b.contains("<beta>"))
    {
        let fenced = block.split("```text\n").nth(1).unwrap_or_default();
        assert!(fenced.contains("<beta>"), "{block}");
        assert!(!block.split("```text\n").next().unwrap().contains("<beta>"));
    }
    assert_eq!(checklist.matches("- [ ] ").count(), 4, "{md}");
    let details = md.split("<details>").nth(1).unwrap();
    assert!(details.contains("Fabrikam"));
    assert!(
        !md.split("<details>")
            .next()
            .unwrap()
            .contains("**Fabrikam**")
    );
}

#[test]
fn five_thousand_tenants_plan_and_render() {
    let make = |n: usize, extra_role: bool| {
        manifest(
            (0..n)
                .map(|i| {
                    let roles: &[&str] = if extra_role && i % 2 == 0 {
                        &["AdvancedHunting.Read.All", "Incident.Read.All"]
                    } else {
                        &["Incident.Read.All"]
                    };
                    tenant(
                        &format!("Customer {i:04}"),
                        &format!("{i:08x}-0000-4000-8000-000000000000"),
                        &[(M365D, roles), (MDE, &["Machine.Read.All"])],
                    )
                })
                .collect(),
        )
    };
    let base = make(5_000, false);
    let now = make(5_000, true);
    // Correctness at scale only: speed is measured by `cargo bench --bench plan`, not asserted here.
    let p = with_base(&now, &base);
    for format in [PlanFormat::Json, PlanFormat::Markdown, PlanFormat::Table] {
        assert!(!render_plan(&p, format).is_empty());
    }
    assert_eq!(p.summary.reconsent, 2_500);
    assert_eq!(p.summary.none, 2_500);
}
