//! The app-registration check and apply diff on exported registrations (tests/fixtures/app): every
//! finding appears exactly when it should, an already-right registration gives none, and apply
//! keeps what the manifest does not mention and is idempotent.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use consentry::app::{
    self, CheckOptions, ConfiguredCredential, Expected, Registration, RoleIds, Severity,
};
use consentry::cloud::Cloud;
use serde_json::{Value, json};

const DIR: &str = "tests/fixtures/app";

#[expect(
    clippy::unwrap_used,
    reason = "a test helper: a panic is a test failure"
)]
fn expected() -> Expected {
    let checked =
        consentry::validate::check_file(std::path::Path::new(&format!("{DIR}/manifest.yaml")));
    Expected::from_manifest(&checked.manifest.unwrap())
}

#[expect(
    clippy::unwrap_used,
    reason = "a test helper: a panic is a test failure"
)]
fn export(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn ids(expected: &Expected) -> RoleIds {
    RoleIds::offline(Cloud::Global, expected.resource_app_ids())
}

#[expect(
    clippy::unwrap_used,
    reason = "a test helper: a panic is a test failure"
)]
fn codes_for(value: &Value, expected: &Expected) -> Vec<&'static str> {
    let registration: Registration =
        app::registration::parse("t", value.to_string().as_bytes()).unwrap();
    let options = CheckOptions {
        now: now(),
        expiry_warning: chrono::Duration::days(30),
    };
    app::check(&registration, expected, &ids(expected), &options)
        .iter()
        .map(|f| f.code.as_str())
        .collect()
}

#[test]
fn an_already_right_registration_gives_no_findings() {
    let expected = expected();
    assert_eq!(
        codes_for(&export("right.json"), &expected),
        Vec::<&str>::new()
    );
    // The file as read from disk, through the bounded reader, too.
    let read = app::read_export(std::path::Path::new(&format!("{DIR}/right.json"))).unwrap();
    assert_eq!(read.app_id, expected.client_id);
}

/// Each case changes the right registration in one way and names exactly the findings it causes.
#[test]
fn every_finding_appears_exactly_when_it_should() {
    let expected = expected();
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, Vec<&str>)> = vec![
        (
            "other app",
            |v| v["appId"] = json!("11111111-2222-4333-8444-555555555555"),
            vec!["app-id-mismatch"],
        ),
        (
            "single tenant",
            |v| v["signInAudience"] = json!("AzureADMyOrg"),
            vec!["not-multi-tenant"],
        ),
        (
            "audience absent",
            |v| {
                v.as_object_mut().unwrap().remove("signInAudience");
            },
            vec!["not-multi-tenant"],
        ),
        (
            "personal accounts too",
            |v| v["signInAudience"] = json!("AzureADandPersonalMicrosoftAccount"),
            vec![],
        ),
        (
            "redirect with a slash",
            |v| v["web"]["redirectUris"] = json!(["https://portal.azure.com/"]),
            vec!["redirect-uri-not-registered"],
        ),
        (
            "no web platform",
            |v| {
                v.as_object_mut().unwrap().remove("web");
            },
            vec!["redirect-uri-not-registered"],
        ),
        (
            "tenant override role missing",
            |v| {
                v["requiredResourceAccess"][2]["resourceAccess"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            vec!["role-not-requested"],
        ),
        (
            "role requested as a scope only",
            |v| v["requiredResourceAccess"][1]["resourceAccess"][0]["type"] = json!("Scope"),
            vec!["delegated-scope-on-defender-api", "role-not-requested"],
        ),
        (
            "extra role",
            |v| {
                v["requiredResourceAccess"][1]["resourceAccess"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"id": "8d90f441-09cf-4fdc-ab45-e874fa3a28e8", "type": "Role"}))
            },
            vec!["role-not-declared"],
        ),
        (
            "role of an API the manifest does not name",
            |v| {
                v["requiredResourceAccess"][0]["resourceAccess"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"id": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "type": "Role"}))
            },
            vec!["role-not-declared"],
        ),
        (
            "role of a custom API",
            |v| {
                v["requiredResourceAccess"].as_array_mut().unwrap().push(json!({"resourceAppId": "99999999-8888-4777-8666-555555555555", "resourceAccess": [{"id": "44444444-3333-4222-8111-000000000000", "type": "Role"}]}))
            },
            vec!["role-not-declared"],
        ),
        (
            "delegated scope on MDE",
            |v| {
                v["requiredResourceAccess"][2]["resourceAccess"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"id": "0a4b2c6d-1e3f-4a5b-8c7d-9e0f1a2b3c4d", "type": "Scope"}))
            },
            vec!["delegated-scope-on-defender-api"],
        ),
        (
            "secret expired",
            |v| v["passwordCredentials"][0]["endDateTime"] = json!("2026-11-25T11:59:59Z"),
            vec!["secret-expired"],
        ),
        (
            "secret expiring in 12 days",
            |v| v["passwordCredentials"][0]["endDateTime"] = json!("2026-12-07T12:00:00Z"),
            vec!["secret-expiring"],
        ),
        (
            "secret expiring in 31 days",
            |v| v["passwordCredentials"][0]["endDateTime"] = json!("2026-12-26T12:00:00Z"),
            vec![],
        ),
        (
            "no secret at all",
            |v| v["passwordCredentials"] = json!([]),
            vec!["no-secret-registered"],
        ),
        (
            "certificate expiring",
            |v| v["keyCredentials"] = json!([{"customKeyIdentifier": "5DA71C7E0F512D1B6859198D3A92E1F404B2A81C", "displayName": "CN=c", "endDateTime": "2026-12-01T00:00:00Z"}]),
            vec!["certificate-expiring"],
        ),
        (
            "certificate expired",
            |v| v["keyCredentials"] = json!([{"customKeyIdentifier": "5DA71C7E0F512D1B6859198D3A92E1F404B2A81C", "displayName": "CN=c", "endDateTime": "2026-01-01T00:00:00Z"}]),
            vec!["certificate-expired"],
        ),
    ];
    let mut seen = BTreeSet::new();
    for (name, edit, want) in cases {
        let mut value = export("right.json");
        edit(&mut value);
        let mut got = codes_for(&value, &expected);
        got.sort_unstable();
        assert_eq!(got, want, "case `{name}`");
        seen.extend(got);
    }
    // Credentials consentry is configured with (the kinds the manifest gains with certificates
    // and federation): the check takes them as plain data. Every code produced here counts as
    // covered.
    let mut check = |value: &Value, expected: &Expected| -> Vec<app::Finding> {
        let registration: Registration =
            app::registration::parse("t", value.to_string().as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
        let options = CheckOptions {
            now: now(),
            expiry_warning: chrono::Duration::days(30),
        };
        let findings = app::check(&registration, expected, &ids(expected), &options);
        seen.extend(findings.iter().map(|f| f.code.as_str()));
        findings
    };
    let codes = |findings: &[app::Finding]| -> Vec<&'static str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    };
    let one = |findings: &[app::Finding], code: &str, severity: Severity| -> String {
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(
            (findings[0].code.as_str(), findings[0].severity),
            (code, severity)
        );
        format!(
            "{} / {} / {}",
            findings[0].message, findings[0].breaks, findings[0].fix
        )
    };

    let mut cert = expected.clone();
    cert.credential = ConfiguredCredential::Certificate {
        thumbprint: "5d:a7:1c:7e:0f:51:2d:1b:68:59:19:8d:3a:92:e1:f4:04:b2:a8:1c".into(),
    };
    let mut value = export("right.json");
    one(
        &check(&value, &cert),
        "certificate-not-registered",
        Severity::Error,
    );
    // Registered as base64 bytes (Graph's JSON), or as base64 of its hex text (some upload
    // tools): the same thumbprint, so nothing to say.
    value["keyCredentials"] = json!([{"customKeyIdentifier": "Xaccfg9RLRtoWRmNOpLh9ASyqBw=", "usage": "Verify", "endDateTime": "2099-01-01T00:00:00Z"}]);
    assert_eq!(codes(&check(&value, &cert)), Vec::<&str>::new());
    value["keyCredentials"][0]["customKeyIdentifier"] =
        json!("NURBNzFDN0UwRjUxMkQxQjY4NTkxOThEM0E5MkUxRjQwNEIyQTgxQw==");
    assert_eq!(codes(&check(&value, &cert)), Vec::<&str>::new());
    // The same certificate registered for token encryption only does not sign anyone in.
    value["keyCredentials"][0]["usage"] = json!("Encrypt");
    one(
        &check(&value, &cert),
        "certificate-not-registered",
        Severity::Error,
    );
    // An identifier that is not a thumbprint (set by hand at upload) cannot be compared: a
    // warning that says so, not an error that may be false.
    value["keyCredentials"] = json!([{"customKeyIdentifier": "consentry-prod-2026", "usage": "Verify", "endDateTime": "2099-01-01T00:00:00Z"}]);
    let said = one(
        &check(&value, &cert),
        "certificate-not-compared",
        Severity::Warning,
    );
    assert!(said.contains("1 carry a customKeyIdentifier"), "{said}");

    let mut fed = expected.clone();
    fed.credential = ConfiguredCredential::Federated {
        issuer: "https://token.actions.githubusercontent.com".into(),
        subject: "repo:bluefin/consentry:ref:refs/heads/main".into(),
        audiences: vec!["api://AzureADTokenExchange".into()],
    };
    let mut value = export("right.json");
    one(
        &check(&value, &fed),
        "federated-credentials-unknown",
        Severity::Info,
    );
    let mut not_compared = expected.clone();
    not_compared.credential = ConfiguredCredential::FederatedNotCompared;
    one(
        &check(&value, &not_compared),
        "federated-credentials-unknown",
        Severity::Info,
    );
    value["federatedIdentityCredentials"] = json!([{"name": "ci", "issuer": "https://token.actions.githubusercontent.com/", "subject": "repo:bluefin/consentry:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]}]);
    // A trailing slash is another issuer, and the near miss is named.
    let said = one(
        &check(&value, &fed),
        "federated-credential-not-registered",
        Severity::Error,
    );
    assert!(said.contains("AADSTS700211"), "{said}");
    assert!(
        said.contains("`https://token.actions.githubusercontent.com/` is registered"),
        "{said}"
    );
    value["federatedIdentityCredentials"][0]["issuer"] =
        json!("https://token.actions.githubusercontent.com");
    assert_eq!(codes(&check(&value, &fed)), Vec::<&str>::new());
    // Subject and audience are compared exactly too, and the message says which part missed
    // (the AADSTS code the exchange would get).
    let mut subject = value.clone();
    subject["federatedIdentityCredentials"][0]["subject"] =
        json!("repo:Bluefin/consentry:ref:refs/heads/main");
    let said = one(
        &check(&subject, &fed),
        "federated-credential-not-registered",
        Severity::Error,
    );
    assert!(said.contains("differs only in case"), "{said}");
    assert!(said.contains("AADSTS700213"), "{said}");
    // GitHub's immutable subject form is another subject; the hint says so.
    subject["federatedIdentityCredentials"][0]["subject"] =
        json!("repo:bluefin@81234/consentry@99312:ref:refs/heads/main");
    let said = one(
        &check(&subject, &fed),
        "federated-credential-not-registered",
        Severity::Error,
    );
    assert!(said.contains("other subject form"), "{said}");
    subject["federatedIdentityCredentials"][0]["subject"] =
        json!("repo:bluefin/consentry:environment:prod");
    let said = one(
        &check(&subject, &fed),
        "federated-credential-not-registered",
        Severity::Error,
    );
    assert!(
        !said.contains("other subject form") && !said.contains("case"),
        "{said}"
    );
    assert!(
        said.contains("`repo:bluefin/consentry:environment:prod`"),
        "{said}"
    );
    let mut audience = value.clone();
    audience["federatedIdentityCredentials"][0]["audiences"] = json!(["api://other"]);
    let said = one(
        &check(&audience, &fed),
        "federated-credential-not-registered",
        Severity::Error,
    );
    assert!(said.contains("AADSTS700212"), "{said}");
    // An explicit empty list accepts nothing; a missing one says nothing.
    audience["federatedIdentityCredentials"][0]["audiences"] = json!([]);
    one(
        &check(&audience, &fed),
        "federated-credential-not-registered",
        Severity::Error,
    );
    let mut no_audiences = value.clone();
    no_audiences["federatedIdentityCredentials"][0]
        .as_object_mut()
        .unwrap_or_else(|| unreachable!())
        .remove("audiences");
    assert_eq!(codes(&check(&no_audiences, &fed)), Vec::<&str>::new());
    // One of several credentials matching is enough.
    audience["federatedIdentityCredentials"]
        .as_array_mut()
        .unwrap_or_else(|| unreachable!())
        .push(value["federatedIdentityCredentials"][0].clone());
    assert_eq!(codes(&check(&audience, &fed)), Vec::<&str>::new());
    let mut issuer = value.clone();
    issuer["federatedIdentityCredentials"][0]["issuer"] = json!("https://example.com/issuer");
    let said = one(
        &check(&issuer, &fed),
        "federated-credential-not-registered",
        Severity::Error,
    );
    assert!(said.contains("AADSTS700211"), "{said}");
    assert!(
        !said.contains("is registered:"),
        "no near miss to name: {said}"
    );
    // A token with another audience: the fix names that audience.
    let mut other_aud = fed.clone();
    other_aud.credential = ConfiguredCredential::Federated {
        issuer: "https://token.actions.githubusercontent.com".into(),
        subject: "repo:bluefin/consentry:ref:refs/heads/main".into(),
        audiences: vec!["api://custom".into()],
    };
    let said = one(
        &check(&value, &other_aud),
        "federated-credential-not-registered",
        Severity::Error,
    );
    assert!(said.contains("audience (`api://custom`)"), "{said}");

    // A credential the check could not read: information when it is simply absent here (a
    // registration-only job), a warning when it is present but unusable.
    let mut unread = expected.clone();
    unread.credential = ConfiguredCredential::NotRead {
        what: "certificate",
        reason: "cannot read the certificate file ./consentry.pem: No such file".into(),
        absent: true,
    };
    let said = one(
        &check(&export("right.json"), &unread),
        "configured-credential-unchecked",
        Severity::Info,
    );
    assert!(said.contains("./consentry.pem"), "{said}");
    unread.credential = ConfiguredCredential::NotRead {
        what: "certificate",
        reason: "the password does not open file ./consentry.pfx".into(),
        absent: false,
    };
    one(
        &check(&export("right.json"), &unread),
        "configured-credential-unchecked",
        Severity::Warning,
    );

    // Other clouds: ids unknown offline, said once per API instead of guessed.
    let gcc_high = RoleIds::offline(Cloud::GccHigh, expected.resource_app_ids());
    let registration =
        app::registration::parse("t", export("right.json").to_string().as_bytes()).unwrap();
    let options = CheckOptions {
        now: now(),
        expiry_warning: chrono::Duration::days(30),
    };
    let findings = app::check(&registration, &expected, &gcc_high, &options);
    let unresolved: Vec<_> = findings
        .iter()
        .map(|f| (f.code.as_str(), f.subject.as_str()))
        .collect();
    assert_eq!(
        unresolved,
        vec![
            ("role-ids-unresolved", "defender-for-endpoint"),
            ("role-ids-unresolved", "microsoft-365-defender"),
        ]
    );
    seen.insert("role-ids-unresolved");

    // Online, ids come from the resource's service principal: a role it does not offer is named.
    let mut online = ids(&expected);
    let mde_roles: Vec<app::roles::AppRole> = serde_json::from_value(json!([
        {"id": "71fe6b80-7034-4028-9ed8-0f316df9c3ff", "value": "Alert.Read.All", "allowedMemberTypes": ["Application"], "isEnabled": true},
        {"id": "ea8291d3-4b9a-44b5-bc3a-6cea3026dc79", "value": "Machine.Read.All", "allowedMemberTypes": ["Application"], "isEnabled": true}
    ])).unwrap();
    online.add_service_principal("fc780465-2017-40d4-a0c5-307022471b92", &mde_roles);
    let findings = app::check(&registration, &expected, &online, &options);
    let got: Vec<_> = findings
        .iter()
        .map(|f| (f.code.as_str(), f.subject.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "role-not-on-resource",
                "defender-for-endpoint Machine.Isolate"
            ),
            // Requested by id, but the service principal no longer lists it under that id.
            (
                "role-not-declared",
                "defender-for-endpoint 7e4e1300-e1b9-4102-88ba-f0cb6e6d5974"
            ),
        ]
    );
    seen.insert("role-not-on-resource");

    // Graph's 404 for the application is its own finding (online, tests/app_online.rs too).
    let missing = app::check::not_found("5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890", "home.example");
    assert_eq!(missing.severity, app::Severity::Error);
    seen.insert(missing.code.as_str());

    // Every code is covered above.
    let all: BTreeSet<&str> = app::FindingCode::ALL.iter().map(|c| c.as_str()).collect();
    let uncovered: Vec<_> = all.difference(&seen).collect();
    assert!(uncovered.is_empty(), "{uncovered:?}");
}

#[test]
fn the_broken_export_gets_each_finding_with_its_details() {
    let expected = expected();
    let registration =
        app::read_export(std::path::Path::new(&format!("{DIR}/broken.json"))).unwrap();
    let options = CheckOptions {
        now: now(),
        expiry_warning: chrono::Duration::days(30),
    };
    let ids = app::offline_ids(Cloud::Global, &expected, &registration);
    let findings = app::check(&registration, &expected, &ids, &options);
    let got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.code.as_str(), f.subject.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("not-multi-tenant", "signInAudience"),
            ("redirect-uri-not-registered", "web.redirectUris"),
            (
                "role-not-requested",
                "defender-for-endpoint Machine.Isolate"
            ),
            (
                "role-not-requested",
                "microsoft-365-defender Incident.Read.All"
            ),
            (
                "secret-expired",
                "secret old \u{1b}[31mred\u{1b}[0m (hint abc…)"
            ),
            (
                "certificate-expired",
                "certificate CN=consentry 2019 (5DA71C7E0F512D1B6859198D3A92E1F404B2A81C)"
            ),
            (
                "role-not-declared",
                "microsoft-365-defender Incident.ReadWrite.All"
            ),
            ("role-not-declared", "microsoft-graph Application.Read.All"),
            ("delegated-scope-on-defender-api", "defender-for-endpoint"),
        ]
    );
    assert!(
        findings[1].fix.contains("`https://portal.azure.com/`"),
        "the near miss is named"
    );
    assert!(findings[4].message.contains("2020-01-31"));
    let report = app::CheckReport::new(
        app::Subject {
            name: "n".into(),
            client_id: expected.client_id.clone(),
            source: "file".into(),
        },
        findings,
    );
    assert_eq!(report.count(Severity::Error), 6);
    assert_eq!(report.exit(false), consentry::exit::Exit::Findings);
}

#[test]
fn warnings_fail_only_when_asked() {
    let expected = expected();
    let mut value = export("right.json");
    value["passwordCredentials"][0]["endDateTime"] = json!("2026-12-07T12:00:00Z");
    let registration = app::registration::parse("t", value.to_string().as_bytes()).unwrap();
    let options = CheckOptions {
        now: now(),
        expiry_warning: chrono::Duration::days(30),
    };
    let report = app::CheckReport::new(
        app::Subject {
            name: "n".into(),
            client_id: expected.client_id.clone(),
            source: "file".into(),
        },
        app::check(&registration, &expected, &ids(&expected), &options),
    );
    assert_eq!(report.exit(false), consentry::exit::Exit::Success);
    assert_eq!(report.exit(true), consentry::exit::Exit::Findings);
    // A shorter window: no longer a warning.
    let short = CheckOptions {
        now: now(),
        expiry_warning: chrono::Duration::days(7),
    };
    assert!(app::check(&registration, &expected, &ids(&expected), &short).is_empty());
}

#[test]
fn apply_adds_only_what_is_missing_keeps_the_rest_and_is_idempotent() {
    let expected = expected();
    let registration =
        app::read_export(std::path::Path::new(&format!("{DIR}/broken.json"))).unwrap();
    let ids = app::offline_ids(Cloud::Global, &expected, &registration);
    let desired = app::desired(&expected, &ids).unwrap();
    let diff = app::diff(
        &registration.required_resource_access,
        &desired,
        &expected,
        &ids,
        false,
    );
    let added: Vec<_> = diff
        .add
        .iter()
        .map(|c| (c.api.as_str(), c.role.as_deref()))
        .collect();
    assert_eq!(
        added,
        vec![
            ("microsoft-365-defender", Some("Incident.Read.All")),
            ("defender-for-endpoint", Some("Machine.Isolate")),
        ]
    );
    assert!(diff.remove.is_empty());
    // Graph's delegated User.Read and Application.Read.All, MTP's ReadWrite role, MDE's scope: kept.
    assert_eq!(diff.kept.len(), 4);
    let before: usize = registration
        .required_resource_access
        .iter()
        .map(|r| r.resource_access.len())
        .sum();
    let after: usize = diff
        .required_resource_access
        .iter()
        .map(|r| r.resource_access.len())
        .sum();
    assert_eq!(after, before + 2);
    for old in &registration.required_resource_access {
        let new = diff
            .required_resource_access
            .iter()
            .find(|r| r.resource_app_id == old.resource_app_id)
            .unwrap();
        for access in &old.resource_access {
            assert!(
                new.resource_access.contains(access),
                "{access:?} was dropped"
            );
        }
    }
    let again = app::diff(
        &diff.required_resource_access,
        &desired,
        &expected,
        &ids,
        false,
    );
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(
        again.required_resource_access,
        diff.required_resource_access
    );

    // The result passes the role checks it was made for.
    let mut fixed = registration.clone();
    fixed.required_resource_access = diff.required_resource_access.clone();
    let options = CheckOptions {
        now: now(),
        expiry_warning: chrono::Duration::days(30),
    };
    assert!(
        !app::check(&fixed, &expected, &ids, &options)
            .iter()
            .any(|f| f.code.as_str() == "role-not-requested")
    );
}

#[test]
fn prune_makes_the_list_exactly_what_the_manifest_implies() {
    let expected = expected();
    let registration =
        app::read_export(std::path::Path::new(&format!("{DIR}/broken.json"))).unwrap();
    let ids = app::offline_ids(Cloud::Global, &expected, &registration);
    let desired = app::desired(&expected, &ids).unwrap();
    let diff = app::diff(
        &registration.required_resource_access,
        &desired,
        &expected,
        &ids,
        true,
    );
    assert_eq!(diff.add.len(), 2);
    assert_eq!(diff.remove.len(), 4);
    assert!(diff.kept.is_empty());
    let as_set =
        |list: &[app::registration::RequiredResourceAccess]| -> BTreeSet<(String, String)> {
            list.iter()
                .flat_map(|r| {
                    r.resource_access
                        .iter()
                        .map(|a| (r.resource_app_id.to_lowercase(), a.id.to_string()))
                })
                .collect()
        };
    assert_eq!(as_set(&diff.required_resource_access), as_set(&desired));
    assert!(
        !diff
            .required_resource_access
            .iter()
            .any(|r| r.resource_app_id.starts_with("00000003")),
        "the emptied Graph entry is dropped"
    );
    assert!(
        app::diff(
            &diff.required_resource_access,
            &desired,
            &expected,
            &ids,
            true
        )
        .is_empty()
    );
}

#[test]
fn required_access_is_the_json_the_portal_takes() {
    let expected = expected();
    let desired = app::desired(&expected, &ids(&expected)).unwrap();
    assert_eq!(
        serde_json::to_value(&desired).unwrap(),
        json!([
            {"resourceAppId": "8ee8fdad-f234-4243-8f3b-15c294843740", "resourceAccess": [
                {"id": "a9790345-4595-42e4-971a-ccdc79f19b7c", "type": "Role"}]},
            {"resourceAppId": "fc780465-2017-40d4-a0c5-307022471b92", "resourceAccess": [
                {"id": "71fe6b80-7034-4028-9ed8-0f316df9c3ff", "type": "Role"},
                {"id": "7e4e1300-e1b9-4102-88ba-f0cb6e6d5974", "type": "Role"},
                {"id": "ea8291d3-4b9a-44b5-bc3a-6cea3026dc79", "type": "Role"}]},
        ])
    );
    let refused = app::desired(
        &expected,
        &RoleIds::offline(Cloud::Dod, expected.resource_app_ids()),
    )
    .unwrap_err();
    assert_eq!(refused.len(), 4);
    assert!(refused[0].to_string().contains("dod"), "{}", refused[0]);
}

#[test]
fn exports_are_read_bounded_and_only_from_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        app::read_export(dir.path()),
        Err(app::registration::ExportError::NotAFile { .. })
    ));
    let big = dir.path().join("big.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(app::registration::MAX_EXPORT_BYTES + 1)
        .unwrap();
    assert!(matches!(
        app::read_export(&big),
        Err(app::registration::ExportError::TooLarge { .. })
    ));
    let html = dir.path().join("page.json");
    std::fs::write(&html, "<html>").unwrap();
    let error = app::read_export(&html).unwrap_err();
    assert!(
        error.to_string().contains("not an application object"),
        "{error}"
    );
    assert!(matches!(
        app::read_export(&dir.path().join("absent.json")),
        Err(app::registration::ExportError::Unreadable { .. })
    ));
}

/// Snapshots live in the top-level snapshots/ folder, named after this test file.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!(
            { snapshot_path => "../snapshots", prepend_module_to_snapshot => true, omit_expression => true },
            { insta::assert_snapshot!($name, $value) }
        )
    };
}

#[test]
fn check_and_apply_render_in_every_format() {
    use consentry::report::{AppFormat, render_app_apply, render_app_check};
    let expected = expected();
    let registration =
        app::read_export(std::path::Path::new(&format!("{DIR}/broken.json"))).unwrap();
    let ids = app::offline_ids(Cloud::Global, &expected, &registration);
    let options = CheckOptions {
        now: now(),
        expiry_warning: chrono::Duration::days(30),
    };
    let subject = app::Subject {
        name: "Bluefin MDR Connector".into(),
        client_id: expected.client_id.clone(),
        source: "file broken.json".into(),
    };
    let report = app::CheckReport::new(
        subject.clone(),
        app::check(&registration, &expected, &ids, &options),
    );
    for (name, format) in [
        ("check-table", AppFormat::Table),
        ("check-markdown", AppFormat::Markdown),
        ("check-json", AppFormat::Json),
    ] {
        let text = render_app_check(&report, format);
        assert!(
            !text.contains('\u{1b}'),
            "{name}: an escape sequence from the export reached the output"
        );
        snapshot!(name, text);
    }
    let json: Value = serde_json::from_str(&render_app_check(&report, AppFormat::Json)).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["findings"][0]["code"], "not-multi-tenant");
    assert_eq!(json["findings"][0]["severity"], "error");

    let desired = app::desired(&expected, &ids).unwrap();
    let diff = app::diff(
        &registration.required_resource_access,
        &desired,
        &expected,
        &ids,
        false,
    );
    let apply = app::ApplyReport {
        schema_version: app::SCHEMA_VERSION,
        app: subject,
        dry_run: true,
        diff,
    };
    for (name, format) in [
        ("apply-table", AppFormat::Table),
        ("apply-markdown", AppFormat::Markdown),
        ("apply-json", AppFormat::Json),
    ] {
        snapshot!(name, render_app_apply(&apply, format));
    }
}
