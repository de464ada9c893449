//! `validate` end to end on files: one fixture manifest per rule (diagnostics snapshotted as JSON),
//! one human rendering, the valid examples, hostile inputs and a 5,000-tenant manifest.

use std::path::{Path, PathBuf};

use consentry::validate::{self, Checked, Code, Severity};

const FIXTURES: &str = "tests/fixtures/validate";

/// Snapshots live in the top-level snapshots/ folder, named after this test file.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!(
            { snapshot_path => "../snapshots", prepend_module_to_snapshot => true, omit_expression => true },
            { insta::assert_snapshot!($name, $value) }
        )
    };
}

/// Fixture paths relative to the package root (the test's working directory), so the `file` in
/// every diagnostic is the same on every machine.
#[expect(
    clippy::unwrap_used,
    reason = "a test helper: a panic is a test failure"
)]
fn fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| Path::new(FIXTURES).join(p.file_name().unwrap()))
        .collect();
    paths.sort();
    paths
}

#[expect(
    clippy::unwrap_used,
    reason = "a test helper: a panic is a test failure"
)]
fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

fn codes(checked: &Checked) -> Vec<&'static str> {
    checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect()
}

#[test]
fn every_fixture_reports_its_rule_and_matches_its_snapshot() {
    let fixtures = fixtures();
    assert!(fixtures.len() > 30, "fixtures went missing: {fixtures:?}");
    for path in fixtures {
        let name = stem(&path);
        let checked = validate::check_file(&path);
        if let Some(code) = Code::ALL.iter().find(|c| c.as_str() == name) {
            assert!(
                checked.diagnostics.iter().any(|d| d.code == *code),
                "{name}.yaml does not report `{name}`: {:?}",
                codes(&checked)
            );
        }
        assert!(
            checked.has_errors() || checked.warning_count() > 0,
            "{name}.yaml reports nothing"
        );
        assert_eq!(checked.manifest.is_some(), !checked.has_errors(), "{name}");
        for d in &checked.diagnostics {
            assert!(
                d.help.as_deref().is_some_and(|h| !h.trim().is_empty()),
                "{name}.yaml: `{}` says what is wrong but not how to fix it: {}",
                d.code.as_str(),
                d.message
            );
        }
        snapshot!(format!("fixture_{name}"), validate::render_json(&checked));
    }
}

#[test]
fn every_rule_has_a_fixture() {
    // These come from the file system or from inputs too big to commit; tested below.
    let generated = [
        "file-not-found",
        "unreadable-file",
        "file-too-large",
        "too-complex",
    ];
    for code in Code::ALL {
        let code = code.as_str();
        if generated.contains(&code) {
            continue;
        }
        assert!(
            Path::new(FIXTURES).join(format!("{code}.yaml")).is_file(),
            "no fixture for `{code}`: add {FIXTURES}/{code}.yaml"
        );
    }
}

#[test]
fn all_problems_are_collected_in_one_run() {
    let checked = validate::check_file(&Path::new(FIXTURES).join("many-problems.yaml"));
    let mut distinct = codes(&checked);
    distinct.sort_unstable();
    distinct.dedup();
    for wanted in [
        "unsupported-version",
        "invalid-client-id",
        "unknown-field",
        "missing-field",
        "inline-secret",
        "unknown-cloud",
        "unknown-role",
        "delegated-scope",
        "read-with-readwrite",
        "api-alias",
        "duplicate-api",
        "invalid-tenant-id",
        "duplicate-tenant-name",
        "duplicate-tenant-id",
    ] {
        assert!(distinct.contains(&wanted), "{wanted} not in {distinct:?}");
    }
    // File order, so a reader can walk the file top to bottom.
    let lines: Vec<u32> = checked
        .diagnostics
        .iter()
        .map(|d| d.line.unwrap())
        .collect();
    assert!(lines.is_sorted(), "{lines:?}");
    assert_eq!(
        checked.error_count() + checked.warning_count(),
        checked.diagnostics.len()
    );
}

#[test]
fn human_rendering_of_many_problems() {
    let checked = validate::check_file(&Path::new(FIXTURES).join("many-problems.yaml"));
    let human = validate::render_human(&checked, false);
    assert!(
        !human.contains('\u{1b}'),
        "color off must mean no escape codes"
    );
    assert!(human.contains("tests/fixtures/validate/many-problems.yaml:5:14"));
    snapshot!("human_many_problems", human);
}

/// Whatever the line ends (Unix, Windows, old Mac's lone CR, which YAML counts as a break), the
/// snippet's `file:line:column` is the one the JSON gives, and the snippet shows that line.
#[test]
fn snippets_and_json_agree_on_the_line_whatever_the_line_ends() {
    let lines = [
        "version: 1",
        "app:",
        "  name: X",
        "  client_id: not-a-guid",
        "  redirect_uri: https://portal.azure.com",
        "apis:",
        "  microsoft-365-defender:",
        "    roles: [Incident.Read.All]",
        "tenants:",
        "  - name: A",
        "    id: 2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d",
        "",
    ];
    for end in ["\n", "\r\n", "\r"] {
        let checked = validate::check_str("ends.yaml", &lines.join(end));
        let json: serde_json::Value =
            serde_json::from_str(&validate::render_json(&checked)).unwrap_or_default();
        let first = &json["diagnostics"][0];
        assert_eq!(first["code"], "invalid-client-id", "{end:?}: {json}");
        assert_eq!(
            (first["line"].as_u64(), first["column"].as_u64()),
            (Some(4), Some(14)),
            "{end:?}"
        );
        let human = validate::render_human(&checked, false);
        assert!(human.contains("ends.yaml:4:14"), "{end:?}:\n{human}");
        assert!(
            human.contains(" 4 │   client_id: not-a-guid"),
            "{end:?}:\n{human}"
        );
    }
}

#[test]
fn color_rendering_uses_escape_codes() {
    let checked = validate::check_file(&Path::new(FIXTURES).join("unknown-role.yaml"));
    assert!(validate::render_human(&checked, true).contains('\u{1b}'));
}

#[test]
fn an_inline_secret_appears_in_no_output() {
    const SECRET: &str = "sUpErSeCrEt";
    for name in ["inline-secret.yaml", "many-problems.yaml"] {
        let path = Path::new(FIXTURES).join(name);
        assert!(std::fs::read_to_string(&path).unwrap().contains(SECRET));
        let checked = validate::check_file(&path);
        let outputs = [
            validate::render_human(&checked, false),
            validate::render_human(&checked, true),
            validate::render_json(&checked),
            format!("{checked:?}"),
            format!("{:?}", checked.diagnostics),
        ];
        for output in outputs {
            assert!(
                !output.contains(SECRET),
                "{name}: the secret leaked:\n{output}"
            );
            assert!(
                !output.contains("Xq8~"),
                "{name}: part of the secret leaked"
            );
        }
        let inline = checked
            .diagnostics
            .iter()
            .find(|d| d.code == Code::InlineSecret)
            .unwrap();
        assert_eq!((inline.line, inline.column), (Some(8), Some(20)));
    }
}

#[test]
fn a_secret_in_a_block_scalar_is_masked_across_lines() {
    let text = "version: 1\napp:\n  name: A\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\n  credential:\n    client_secret: |\n      first-half-SECRETA\n      second-half-SECRETB\ntenants: []\nextra: 1\n";
    let checked = validate::check_str("block.yaml", text);
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.code == Code::InlineSecret)
    );
    let human = validate::render_human(&checked, false);
    assert!(
        !human.contains("SECRETA") && !human.contains("SECRETB"),
        "{human}"
    );
}

#[test]
fn both_secret_sources_at_once_is_an_error() {
    let text = "version: 1\napp:\n  name: A\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\n  credential:\n    client_secret: {env: A, file: b.txt}\ntenants: []\n";
    let checked = validate::check_str("both.yaml", text);
    assert_eq!(codes(&checked), ["invalid-credential"]);
}

#[test]
fn the_example_manifests_validate_without_errors() {
    for path in [
        Path::new("manifests/example.yaml").to_owned(),
        Path::new(FIXTURES).join("valid/shared-example.yaml"),
        Path::new(FIXTURES).join("valid/custom-and-overrides.yaml"),
    ] {
        let checked = validate::check_file(&path);
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert!(checked.manifest.is_some(), "{}", path.display());
    }
    // The example asks for a role being retired: a warning, not an error.
    let example = validate::check_file(Path::new("manifests/example.yaml"));
    assert_eq!(codes(&example), ["deprecated-role"]);
}

#[test]
fn the_credential_examples_validate_into_their_kinds() {
    use consentry::model::{CertificateSpec, Credential, FederatedSource, SecretSource, Signing};

    let certificate = validate::check_file(Path::new("manifests/certificate.yaml"));
    assert!(
        certificate.diagnostics.is_empty(),
        "{:#?}",
        certificate.diagnostics
    );
    assert_eq!(
        certificate.manifest.unwrap().app.credential,
        Credential::Certificate(CertificateSpec {
            source: SecretSource::File("secrets/consentry.pem".into()),
            password: Some(SecretSource::Env("CONSENTRY_CERTIFICATE_PASSWORD".into())),
            signing: Signing::Ps256,
        })
    );
    let github = validate::check_file(Path::new("manifests/github-oidc.yaml"));
    assert!(github.diagnostics.is_empty(), "{:#?}", github.diagnostics);
    assert_eq!(
        github.manifest.unwrap().app.credential,
        Credential::Federated(FederatedSource::Github)
    );
    for text in [
        "certificate: {env: CERT_PEM, signing: rs256}",
        "federated: {kubernetes: }",
        "federated: {file: /var/run/token}",
        "federated: {env: CI_OIDC_TOKEN}",
    ] {
        let manifest = format!(
            "version: 1\napp:\n  name: A\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\n  credential: {{{text}}}\napis:\n  microsoft-365-defender: {{roles: [Incident.Read.All]}}\ntenants: [{{name: T, id: t.example.com}}]\n"
        );
        let checked = validate::check_str("c.yaml", &manifest);
        assert!(
            checked.diagnostics.is_empty(),
            "{text}: {:#?}",
            checked.diagnostics
        );
    }
}

#[test]
fn inline_keys_passwords_and_tokens_appear_in_no_output() {
    for (name, planted) in [
        ("certificate-inline-key.yaml", "HIDDENKEY"),
        ("certificate-inline-key.yaml", "PFXPASSWORD"),
        ("federated-inline-token.yaml", "SIGNATUREINLINETOKEN"),
        ("federated-inline-token.yaml", "eyJzdWIi"),
    ] {
        let path = Path::new(FIXTURES).join(name);
        assert!(std::fs::read_to_string(&path).unwrap().contains(planted));
        let checked = validate::check_file(&path);
        assert!(
            checked
                .diagnostics
                .iter()
                .any(|d| d.code == Code::InlineSecret),
            "{name}"
        );
        for output in [
            validate::render_human(&checked, false),
            validate::render_human(&checked, true),
            validate::render_json(&checked),
            format!("{checked:?}"),
        ] {
            assert!(
                !output.contains(planted),
                "{name}: {planted} leaked:\n{output}"
            );
        }
    }
}

#[test]
fn the_model_applies_per_tenant_overrides() {
    use consentry::cloud::Cloud;
    use consentry::model::{Credential, SecretSource, TenantId};

    let checked =
        validate::check_file(&Path::new(FIXTURES).join("valid/custom-and-overrides.yaml"));
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let m = checked.manifest.unwrap();
    assert_eq!(m.cloud, Cloud::GccHigh);
    assert_eq!(
        m.app.client_id.to_string(),
        "6731de76-14a6-49ae-97bc-6eba6914391e"
    );
    assert_eq!(m.app.redirect_uri, "http://localhost:8400/callback");
    assert_eq!(
        m.app.credential,
        Credential::ClientSecret(SecretSource::File("secrets/client-secret.txt".into()))
    );
    let keys: Vec<&str> = m.apis.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "defender-for-endpoint",
            "partner-api",
            "microsoft-365-defender",
            "tenant-api"
        ]
    );
    let m365d = m.api("microsoft-365-defender").unwrap();
    assert_eq!(m365d.resource, "https://api-gov.security.microsoft.us");
    assert!(m365d.roles.is_empty(), "only tenants name it");
    assert!(m365d.in_catalog);
    let partner = m.api("partner-api").unwrap();
    assert_eq!(
        partner.resource,
        "api://9a8b7c6d-0000-0000-0000-000000000000"
    );
    assert!(!partner.in_catalog);
    assert_eq!(partner.display_name, "partner-api");

    let required = |name: &str| -> Vec<(String, Vec<String>)> {
        m.tenants
            .iter()
            .find(|t| t.name == name)
            .unwrap()
            .required
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect()
    };
    let own = |pairs: &[(&str, &[&str])]| -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    };
    assert_eq!(
        required("Fabrikam"),
        own(&[
            (
                "defender-for-endpoint",
                &["Alert.Read.All", "Machine.Read.All"]
            ),
            ("partner-api", &["Data.Read.All"]),
        ])
    );
    let incidents_only = own(&[("microsoft-365-defender", &["Incident.Read.All"])]);
    assert_eq!(required("Northwind"), incidents_only);
    assert_eq!(
        required("Tailspin"),
        incidents_only,
        "the YAML alias applies too"
    );
    assert_eq!(
        required("Woodgrove"),
        own(&[
            (
                "defender-for-endpoint",
                &["Alert.Read.All", "Machine.Read.All"]
            ),
            ("partner-api", &["Data.ReadWrite.All"]),
            ("tenant-api", &["Feed.Read"]),
        ])
    );
    let fabrikam = &m.tenants[0];
    assert_eq!(
        fabrikam.id,
        TenantId::Guid("2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d".parse().unwrap())
    );
    assert_eq!(fabrikam.labels, ["us", "tier-1"]);
    assert_eq!(
        m.tenants[1].id,
        TenantId::Domain("northwind.onmicrosoft.com".into())
    );
}

#[test]
fn a_missing_file_is_named() {
    let checked = validate::check_file(Path::new("tests/fixtures/validate/nope.yaml"));
    assert_eq!(codes(&checked), ["file-not-found"]);
    assert!(
        checked.diagnostics[0]
            .message
            .contains("tests/fixtures/validate/nope.yaml")
    );
    assert!(checked.source.is_none() && checked.manifest.is_none());
    let json: serde_json::Value = serde_json::from_str(&validate::render_json(&checked)).unwrap();
    assert_eq!(json["file"], "tests/fixtures/validate/nope.yaml");
    assert_eq!(json["errors"], 1);
    assert_eq!(json["diagnostics"][0]["line"], serde_json::Value::Null);
    assert!(validate::render_human(&checked, false).contains("nope.yaml"));
}

#[test]
fn a_directory_is_not_a_manifest() {
    let checked = validate::check_file(Path::new(FIXTURES));
    assert_eq!(codes(&checked), ["unreadable-file"]);
}

#[test]
fn an_oversized_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: the size says 8 MiB + 1 without writing 8 MiB.
    file.set_len(consentry::manifest::MAX_FILE_BYTES + 1)
        .unwrap();
    let checked = validate::check_file(&path);
    assert_eq!(codes(&checked), ["file-too-large"]);

    let text = "#".repeat(usize::try_from(consentry::manifest::MAX_FILE_BYTES).unwrap() + 1);
    assert_eq!(
        codes(&validate::check_str("big.yaml", &text)),
        ["file-too-large"]
    );
}

#[test]
fn not_utf8_names_the_place() {
    let checked = validate::check_file(&Path::new(FIXTURES).join("not-utf8.yaml"));
    assert_eq!(codes(&checked), ["not-utf8"]);
    assert_eq!(
        (checked.diagnostics[0].line, checked.diagnostics[0].column),
        (Some(11), Some(12))
    );
}

#[test]
fn empty_text_is_refused() {
    assert_eq!(codes(&validate::check_str("e.yaml", "")), ["empty-file"]);
    assert_eq!(
        codes(&validate::check_str("e.yaml", "\n  \n")),
        ["empty-file"]
    );
}

#[test]
fn hostile_nesting_and_alias_bombs_are_refused_fast() {
    let deep = "[".repeat(1_000_000);
    let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut previous = 'a';
    for c in 'b'..='z' {
        let refs = vec![format!("*{previous}"); 10].join(", ");
        bomb.push_str(&format!("{c}: &{c} [{refs}]\n"));
        previous = c;
    }
    // Compact nested block sequences: `- - - … x`.
    let deep_block = format!("{}x\n", "- ".repeat(10_000));
    for (name, text, code) in [
        ("deep", deep.as_str(), "too-deep"),
        ("bomb", bomb.as_str(), "alias-bomb"),
        ("deep-block", deep_block.as_str(), "too-deep"),
    ] {
        let checked = validate::check_str(name, text);
        assert_eq!(codes(&checked), [code], "{name}");
    }
}

#[test]
fn five_thousand_tenants_validate() {
    let mut text = String::from(
        "version: 1\napp:\n  name: Contoso\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\napis:\n  microsoft-365-defender:\n    roles: [Incident.Read.All]\n  defender-for-endpoint:\n    roles: [Machine.Read.All]\ntenants:\n",
    );
    for i in 0..5_000 {
        text.push_str(&format!(
            "  - name: Customer {i}\n    id: 2d4a7b1c-6f0e-4b8a-9c3d-{i:012x}\n    labels: [tier-{}]\n",
            i % 3
        ));
        if i % 10 == 0 {
            text.push_str("    apis:\n      defender-for-endpoint:\n        roles: []\n");
        }
    }
    let checked = validate::check_str("big.yaml", &text);
    assert!(
        checked.diagnostics.is_empty(),
        "{:?}",
        &checked.diagnostics[..1]
    );
    let manifest = checked.manifest.unwrap();
    assert_eq!(manifest.tenants.len(), 5_000);
    assert_eq!(manifest.tenants[10].required.len(), 1);
    assert_eq!(manifest.tenants[11].required.len(), 2);
}

#[test]
fn anything_written_under_credential_stays_hidden() {
    let head = "version: 1\napp:\n  name: A\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\n";
    let tail = "tenants: []\nclooud: x\n";
    for (credential, code) in [
        ("  credential: HIDDEN-1234\n", "inline-secret"),
        (
            "  credential:\n    client_secret: {value: HIDDEN-1234}\n",
            "unknown-field",
        ),
        ("  credential:\n    secret: HIDDEN-1234\n", "unknown-field"),
        (
            "  credential:\n    client_secret: {env: [HIDDEN-1234]}\n",
            "invalid-type",
        ),
        (
            "  credential:\n    client_secret: {env: HIDDEN-1234}\n",
            "invalid-credential",
        ),
    ] {
        let text = format!("{head}{credential}{tail}");
        let checked = validate::check_str("c.yaml", &text);
        assert!(
            codes(&checked).contains(&code),
            "{credential}: {:?}",
            codes(&checked)
        );
        for output in [
            validate::render_human(&checked, false),
            validate::render_json(&checked),
            format!("{checked:?}"),
        ] {
            assert!(!output.contains("HIDDEN"), "{credential}:\n{output}");
        }
    }
}

#[test]
fn one_api_twice_in_a_tenant_is_an_error() {
    let text = "version: 1\napp:\n  name: A\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\ntenants:\n  - name: T\n    id: t.example.com\n    apis:\n      microsoft-365-defender: {roles: [Incident.Read.All]}\n      defender-xdr: {roles: []}\n";
    let checked = validate::check_str("twice.yaml", text);
    assert_eq!(codes(&checked), ["api-alias", "duplicate-api"]);
    let duplicate = &checked.diagnostics[1];
    assert_eq!(duplicate.line, Some(11));
    assert_eq!(duplicate.related[0].line, 10);
}

#[test]
fn too_many_nodes_is_refused() {
    let text = format!("tenants: [{}]\n", vec!["a"; 300_000].join(","));
    let checked = validate::check_str("nodes.yaml", &text);
    assert_eq!(codes(&checked), ["too-complex"]);
    assert!(
        checked.diagnostics[0]
            .message
            .contains("more than 250000 YAML nodes"),
        "{}",
        checked.diagnostics[0].message
    );
}

#[test]
fn thousands_of_diagnostics_render() {
    let mut text = String::from(
        "version: 1\napp:\n  name: Contoso\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\ntenants:\n",
    );
    for i in 0..5_000 {
        text.push_str(&format!(
            "  - name: Customer {i}\n    id: 2d4a7b1c-6f0e-4b8a-9c3d-{i:012x}\n    apis:\n      m365d: {{roles: [Incident.Read.All]}}\n"
        ));
    }
    let checked = validate::check_str("big.yaml", &text);
    assert_eq!(checked.warning_count(), 5_000);
    assert!(!checked.has_errors());
    let human = validate::render_human(&checked, false);
    // Rendering time at this size is measured by `cargo bench --bench plan`, not asserted here.
    assert!(
        human.contains("big.yaml:20006:7"),
        "the last tenant's line is right"
    );
    assert!(human.ends_with("big.yaml: 0 errors, 5000 warnings\n"));
}

#[test]
fn a_mapping_with_fifty_thousand_keys_is_checked() {
    let mut text = String::from("version: 1\napis:\n");
    for i in 0..50_000 {
        text.push_str(&format!("  k{i}: {{}}\n"));
    }
    text.push_str("  k7: {}\n");
    let checked = validate::check_str("keys.yaml", &text);
    assert!(codes(&checked).contains(&"duplicate-key"));
}

/// A manifest around `tenant id` and `roles` values of the given text.
fn with_values(tenant_id: &str, roles: &str) -> String {
    format!(
        "version: 1\napp:\n  name: Contoso\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\napis:\n  microsoft-365-defender:\n    roles: {roles}\ntenants:\n  - name: Fabrikam\n    id: {tenant_id}\n"
    )
}

#[test]
fn a_megabytes_long_value_gives_a_short_diagnostic() {
    // A 7.8 MB tenant id used to come back as an 8 MB diagnostic.
    let text = with_values(&"x".repeat(7_800_000), "[Incident.Read.All]");
    let checked = validate::check_str("big.yaml", &text);
    assert_eq!(codes(&checked), ["invalid-tenant-id"]);
    let human = validate::render_human(&checked, false);
    let json = validate::render_json(&checked);
    assert!(human.len() < 4_000, "human: {} bytes", human.len());
    assert!(json.len() < 4_000, "json: {} bytes", json.len());
    assert!(human.contains("more characters"), "{human}");
}

#[test]
fn long_role_names_through_aliases_get_no_suggestion_and_short_messages() {
    // One 1 MB role name and fifteen aliases to it: edit distance on each used to take minutes.
    let role = format!("Incident.Read.All{}", "y".repeat(1_000_000));
    let roles = format!("[&r {role}{}]", ", *r".repeat(15));
    let checked = validate::check_str("big.yaml", &with_values("contoso.com", &roles));
    let unknown: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownRole)
        .collect();
    assert_eq!(
        unknown.len(),
        1,
        "the duplicates are warned about, not re-checked"
    );
    assert!(
        unknown[0]
            .help
            .as_deref()
            .is_some_and(|h| !h.contains("did you mean")),
        "{:?}",
        unknown[0].help
    );
    let human = validate::render_human(&checked, false);
    let json = validate::render_json(&checked);
    assert!(human.len() < 40_000, "human: {} bytes", human.len());
    assert!(json.len() < 40_000, "json: {} bytes", json.len());
}

#[test]
fn control_characters_in_a_manifest_reach_the_terminal_escaped() {
    // A tenant name and a role carrying ESC/BEL (retitle), a C1 CSI and a bidi override.
    // Written as YAML escapes (YAML refuses them raw); the parsed values hold the characters.
    let nasty = r"\e]0;pwned\a\x9b2J\u202e";
    let text = with_values(
        &format!("\"bad{nasty}id\""),
        &format!("[\"Incident.Read.All{nasty}\"]"),
    );
    let checked = validate::check_str("evil\u{1b}[2J.yaml", &text);
    assert!(checked.has_errors());
    for human in [
        validate::render_human(&checked, false),
        validate::render_human(&checked, true),
    ] {
        let raw: Vec<char> = human
            .chars()
            .filter(|&c| {
                c != '\n' && c != '\t' && c != '\u{1b}' && consentry::sanitize::is_unsafe(c)
            })
            .collect();
        assert!(raw.is_empty(), "{raw:?}");
        // The coloured theme writes its own ESC sequences; none may come from the manifest.
        assert!(!human.contains("\u{1b}]0;"), "{human}");
        assert!(!human.contains("\u{1b}[2J"), "{human}");
        assert!(
            human.contains(r"\u{1b}]0;pwned\u{7}"),
            "the message shows it escaped:\n{human}"
        );
    }
    let json = validate::render_json(&checked);
    assert!(
        !json
            .chars()
            .any(|c| c != '\n' && consentry::sanitize::is_unsafe(c)),
        "{json}"
    );
}

#[test]
fn each_credential_mistake_gets_its_code_and_never_its_value() {
    let head = "version: 1\napp:\n  name: A\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\n";
    let tail = "apis:\n  microsoft-365-defender: {roles: [Incident.Read.All]}\ntenants: [{name: T, id: t.example.com}]\n";
    for (credential, wanted) in [
        // A path written where the mapping belongs: the fix, not an accusation of a leak.
        ("certificate: HIDDEN/consentry.pem", "invalid-type"),
        (
            "certificate: \"-----BEGIN PRIVATE KEY----- HIDDEN\"",
            "inline-secret",
        ),
        (
            "certificate: {env: \"MIIE HIDDEN PRIVATE KEY\"}",
            "inline-secret",
        ),
        (
            "certificate: {file: a.pem, env: HIDDEN}",
            "invalid-credential",
        ),
        (
            "certificate: {file: a.pem, password: HIDDEN}",
            "inline-secret",
        ),
        (
            "certificate: {file: a.pem, signing: HIDDEN}",
            "invalid-credential",
        ),
        ("certificate: {file: a.pem, key: HIDDEN}", "unknown-field"),
        ("certificate: {password: {env: P}}", "missing-field"),
        ("federated: github", "invalid-type"),
        ("federated: eyJHIDDEN.eyJ.sig", "inline-secret"),
        ("federated: {github: {}, env: HIDDEN}", "invalid-credential"),
        ("federated: {github: HIDDEN}", "invalid-type"),
        ("federated: {env: HIDDEN-X}", "invalid-credential"),
        ("federated: {}", "missing-field"),
        (
            "{client_secret: {env: A}, federated: {github: {}}}",
            "invalid-credential",
        ),
    ] {
        let text = if credential.starts_with('{') {
            format!("{head}  credential: {credential}\n{tail}")
        } else {
            format!("{head}  credential: {{{credential}}}\n{tail}")
        };
        let checked = validate::check_str("c.yaml", &text);
        assert_eq!(codes(&checked), [wanted], "{credential}");
        assert!(checked.manifest.is_none(), "{credential}");
        for output in [
            validate::render_human(&checked, false),
            validate::render_json(&checked),
            format!("{checked:?}"),
        ] {
            assert!(!output.contains("HIDDEN"), "{credential}:\n{output}");
        }
    }
}

#[test]
fn home_tenant_is_optional_and_checked_like_a_tenant_id() {
    let manifest = |home: &str| {
        format!(
            "version: 1\napp:\n  name: A\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\n{home}apis:\n  microsoft-365-defender:\n    roles: [Incident.Read.All]\ntenants:\n  - name: T\n    id: fabrikam.onmicrosoft.com\n"
        )
    };
    let absent = validate::check_str("m.yaml", &manifest(""));
    assert_eq!(absent.manifest.unwrap().app.home_tenant, None);
    let domain = validate::check_str(
        "m.yaml",
        &manifest("  home_tenant: Bluefin.onmicrosoft.com\n"),
    );
    assert_eq!(
        domain.manifest.unwrap().app.home_tenant,
        Some(consentry::model::TenantId::Domain(
            "bluefin.onmicrosoft.com".into()
        ))
    );
    let guid = validate::check_str(
        "m.yaml",
        &manifest("  home_tenant: 2D4A7B1C-6F0E-4B8A-9C3D-1E5F7A9B0C2D\n"),
    );
    assert_eq!(
        guid.manifest.unwrap().app.home_tenant,
        Some(consentry::model::TenantId::Guid(
            "2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d".parse().unwrap()
        ))
    );
    let common = validate::check_str("m.yaml", &manifest("  home_tenant: common\n"));
    assert_eq!(codes(&common), vec!["invalid-tenant-id"]);
    let d = &common.diagnostics[0];
    assert!(d.message.contains("`app.home_tenant`"), "{}", d.message);
    assert_eq!(d.line, Some(6));
}

#[test]
fn common_mistakes_get_their_concrete_fix() {
    for (fixture, line, column, fix) in [
        (
            "apis-as-list",
            7,
            3,
            "write `microsoft-365-defender:` (no `-`)",
        ),
        (
            "id-in-braces",
            11,
            9,
            "remove the braces: `id: 11111111-1111-4111-8111-111111111111`",
        ),
        (
            "roles-dedented",
            8,
            10,
            "indent it two spaces deeper than the API's name",
        ),
        ("tab-indent", 8, 1, "replace tabs with spaces"),
        ("missing-version", 1, 1, "add `version: 1`"),
        (
            "client-id-spaces",
            4,
            14,
            "remove the spaces around the id: `client_id: 6731de76-14a6-49ae-97bc-6eba6914391e`",
        ),
    ] {
        let checked = validate::check_file(&Path::new(FIXTURES).join(format!("{fixture}.yaml")));
        let found = checked
            .diagnostics
            .iter()
            .find(|d| d.help.as_deref().is_some_and(|h| h.contains(fix)));
        let Some(d) = found else {
            panic!(
                "{fixture}: no diagnostic says `{fix}`: {:#?}",
                checked.diagnostics
            );
        };
        assert_eq!(
            (d.line, d.column),
            (Some(line), Some(column)),
            "{fixture}: where the fix goes"
        );
    }
}
