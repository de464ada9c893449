//! `consentry app check` and `app apply` online: the real binary reads the registration from the
//! sandbox's Graph (reference §8) over loopback, resolves role ids by value from the resource
//! service principals, reports every finding, and PATCHes only what it shows; Graph refusing or
//! unreachable is undetermined (exit 3) with Graph's code and request id; the Graph token never
//! reaches any output.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns panic as test failures"
)]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::Utc;
use consentry::sandbox::{Sandbox, Scenario};
use secrecy::SecretString;
use serde_json::{Value, json};

const SECRET: &str = "sandbox-app-online-s3cret";
const CLIENT_ID: &str = "5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890";
const OBJECT_ID: &str = "0f6e4c2a-8b1d-4e3f-9a5c-7d2b1e0f3a4c";
const TENANT: &str = "7b500f41-1b86-42be-b006-bffbd7a67b9f";
const M365D: &str = "8ee8fdad-f234-4243-8f3b-15c294843740";
/// Role ids of this cloud's Defender XDR service principal: deliberately not the catalog's
/// global ids, so a check that looked ids up offline would get every role wrong.
const INCIDENT_READ: &str = "11111111-aaaa-4aaa-8aaa-000000000001";
const INCIDENT_WRITE: &str = "11111111-aaaa-4aaa-8aaa-000000000002";
const CUSTOM_DETECTIONS: &str = "11111111-aaaa-4aaa-8aaa-000000000003";
/// A resource outside the manifest and the catalog (kept by `apply`).
const OTHER_API: &str = "22222222-bbbb-4bbb-8bbb-000000000000";
const OTHER_ROLE: &str = "22222222-bbbb-4bbb-8bbb-000000000001";
const READ: &str = "graph-read-token-eyJ0.planted-read";
const WRITE: &str = "graph-write-token-eyJ0.planted-write";

fn manifest(dir: &std::path::Path, client_id: &str) -> String {
    let text = format!(
        r#"version: 1
app:
  name: Bluefin MDR Connector
  client_id: {CLIENT_ID_PLACEHOLDER}
  redirect_uri: https://portal.azure.com
  home_tenant: bluefin.onmicrosoft.com
apis:
  microsoft-365-defender:
    roles: [Incident.Read.All, Incident.ReadWrite.All]
tenants:
  - name: Fabrikam
    id: {TENANT}
"#,
        CLIENT_ID_PLACEHOLDER = client_id
    );
    let path = dir.join("consentry.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn right_application() -> Value {
    let far = "2099-01-01T00:00:00Z";
    json!({
        "id": OBJECT_ID,
        "appId": CLIENT_ID,
        "displayName": "Bluefin MDR Connector",
        "signInAudience": "AzureADMultipleOrgs",
        "web": {"redirectUris": ["https://portal.azure.com"]},
        "requiredResourceAccess": [
            {"resourceAppId": M365D, "resourceAccess": [
                {"id": INCIDENT_READ, "type": "Role"},
                {"id": INCIDENT_WRITE, "type": "Role"}
            ]}
        ],
        "passwordCredentials": [
            {"displayName": "ci", "hint": "Q~x", "keyId": "3c1a0b6e-2f4d-4c8a-9e7b-1d5f0a2c4e6b", "endDateTime": far}
        ],
        "keyCredentials": []
    })
}

async fn start(application: &Value) -> Sandbox {
    start_with(application, "").await
}

async fn start_with(application: &Value, throttle: &str) -> Sandbox {
    let text = format!(
        r#"
app: {{ client_id: {CLIENT_ID} }}
tenants:
  - name: Fabrikam
    id: {TENANT}
    grants:
      https://api.security.microsoft.com: [Incident.Read.All, Incident.ReadWrite.All]
graph:
  read_tokens: ["{READ}"]
  write_tokens: ["{WRITE}"]
  {throttle}
  application: {application}
  service_principals:
    {M365D}:
      Incident.Read.All: {INCIDENT_READ}
      Incident.ReadWrite.All: {INCIDENT_WRITE}
      CustomDetections.ReadWrite.All: {CUSTOM_DETECTIONS}
    {OTHER_API}: {{ Other.Read.All: {OTHER_ROLE} }}
"#
    );
    let scenario = Scenario::from_yaml("app-online.yaml", &text).unwrap();
    Sandbox::start(
        scenario,
        SecretString::from(SECRET),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

/// Runs the binary without blocking the sandbox's runtime.
async fn consentry(args: Vec<String>, env: Vec<(&'static str, String)>, stdin_yes: bool) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_consentry"));
        command
            .args(&args)
            .env_remove("CONSENTRY_GRAPH_TOKEN")
            .env_remove("CONSENTRY_GRAPH_HOST")
            .env_remove("RUST_LOG")
            .envs(env)
            .stdin(Stdio::null());
        // A piped "yes" is still not a terminal: the answer must be ignored without --yes.
        if stdin_yes {
            command.stdin(Stdio::piped());
            let mut child = command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            let _ = child.stdin.take().unwrap().write_all(b"yes\n");
            return child.wait_with_output().unwrap();
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn token(value: &str) -> Vec<(&'static str, String)> {
    vec![("CONSENTRY_GRAPH_TOKEN", value.to_owned())]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn check_json(sandbox: &Sandbox, manifest: &str) -> (i32, Value, String) {
    let out = consentry(
        args(&[
            "app",
            "check",
            manifest,
            "--graph-host",
            &sandbox.base_url(),
            "--format",
            "json",
        ]),
        token(READ),
        false,
    )
    .await;
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json, text(&out.stderr))
}

fn codes(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The registration as the sandbox's Graph holds it now.
async fn current(sandbox: &Sandbox) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{}/v1.0/applications(appId='{CLIENT_ID}')",
            sandbox.base_url()
        ))
        .bearer_auth(READ)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The roles of a fresh app-only token for Defender XDR in the customer tenant.
async fn granted_roles(sandbox: &Sandbox) -> Vec<String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
        ("scope", "https://api.security.microsoft.com/.default"),
    ];
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", sandbox.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let decoded = consentry::jwt::decode(answer["access_token"].as_str().unwrap()).unwrap();
    let mut roles: Vec<String> = decoded
        .claims
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| r.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    roles.sort();
    roles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_that_is_already_right_has_no_findings_online() {
    let sandbox = start(&right_application()).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), CLIENT_ID);
    let (code, report, stderr) = check_json(&sandbox, &manifest).await;
    assert_eq!(code, 0, "{report}\n{stderr}");
    assert_eq!(codes(&report), Vec::<(String, String)>::new());
    assert_eq!(report["app"]["source"], "graph bluefin.onmicrosoft.com");
    assert_eq!(report["schema_version"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_finding_is_produced_from_graph_with_ids_resolved_by_value() {
    let soon = (Utc::now() + chrono::Duration::days(12)).to_rfc3339();
    let past = "2020-01-01T00:00:00Z";
    let mut application = right_application();
    application["signInAudience"] = json!("AzureADMyOrg");
    application["web"] = json!({"redirectUris": ["https://example.com/other"]});
    application["requiredResourceAccess"] = json!([
        {"resourceAppId": M365D, "resourceAccess": [
            {"id": INCIDENT_READ, "type": "Role"},
            {"id": CUSTOM_DETECTIONS, "type": "Role"},
            {"id": "33333333-cccc-4ccc-8ccc-000000000001", "type": "Scope"}
        ]}
    ]);
    application["passwordCredentials"] = json!([
        {"displayName": "old", "hint": "abc", "endDateTime": past},
        {"displayName": "soon", "hint": "def", "endDateTime": soon}
    ]);
    application["keyCredentials"] = json!([
        {"displayName": "old-cert", "customKeyIdentifier": "Xaccfg9RLRtoWRmNOpLh9ASyqBw=", "type": "AsymmetricX509Cert", "usage": "Verify", "endDateTime": past},
        {"displayName": "soon-cert", "customKeyIdentifier": "5DA71C7E0F512D1B6859198D3A92E1F404B2A81C", "type": "AsymmetricX509Cert", "usage": "Verify", "endDateTime": soon}
    ]);
    let sandbox = start(&application).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), CLIENT_ID);
    let (code, report, stderr) = check_json(&sandbox, &manifest).await;
    assert_eq!(code, 1, "{report}\n{stderr}");
    let got: Vec<String> = codes(&report)
        .into_iter()
        .map(|(c, s)| format!("{c} | {s}"))
        .collect();
    let expected = [
        "not-multi-tenant | signInAudience",
        "redirect-uri-not-registered | web.redirectUris",
        // Incident.ReadWrite.All's id on this service principal is not requested; the catalog's
        // global id would have named a different role.
        "role-not-requested | microsoft-365-defender Incident.ReadWrite.All",
        "secret-expired",
        "certificate-expired",
        "role-not-declared | microsoft-365-defender CustomDetections.ReadWrite.All",
        "secret-expiring",
        "certificate-expiring",
        "delegated-scope-on-defender-api",
    ];
    for want in expected {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "missing {want} in {got:#?}"
        );
    }
    assert_eq!(got.len(), expected.len(), "{got:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_graph_does_not_have_is_a_finding() {
    let sandbox = start(&right_application()).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), "9f9f9f9f-1111-4222-8333-444444444444");
    let (code, report, stderr) = check_json(&sandbox, &manifest).await;
    assert_eq!(code, 1, "{report}\n{stderr}");
    assert_eq!(
        codes(&report),
        vec![(
            "app-not-found".to_owned(),
            "9f9f9f9f-1111-4222-8333-444444444444".to_owned()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_refusing_or_unreachable_is_undetermined_with_graphs_code_and_request_id() {
    let sandbox = start(&right_application()).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), CLIENT_ID);
    let out = consentry(
        args(&[
            "app",
            "check",
            &manifest,
            "--graph-host",
            &sandbox.base_url(),
        ]),
        token("not-a-token-the-sandbox-knows"),
        false,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("HTTP 401 InvalidAuthenticationToken"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Access token is empty or invalid."),
        "{stderr}"
    );
    assert!(stderr.contains("request-id "), "{stderr}");
    assert!(stderr.contains("client-request-id "), "{stderr}");
    assert!(stderr.contains("az account get-access-token"), "{stderr}");

    // Port 9 (discard) on loopback: nothing listens.
    let out = consentry(
        args(&[
            "app",
            "check",
            &manifest,
            "--graph-host",
            "http://127.0.0.1:9",
        ]),
        token(READ),
        false,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("could not be reached"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_writes_only_what_it_shows_keeps_the_rest_and_is_idempotent() {
    let mut application = right_application();
    application["requiredResourceAccess"] = json!([
        {"resourceAppId": M365D, "resourceAccess": [
            {"id": INCIDENT_READ, "type": "Role"},
            {"id": CUSTOM_DETECTIONS, "type": "Role"},
            {"id": "33333333-cccc-4ccc-8ccc-000000000001", "type": "Scope"}
        ]},
        {"resourceAppId": OTHER_API, "resourceAccess": [{"id": OTHER_ROLE, "type": "Role"}]}
    ]);
    let sandbox = start(&application).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), CLIENT_ID);
    let host = sandbox.base_url();
    assert_eq!(granted_roles(&sandbox).await, vec!["Incident.Read.All"]);

    // --dry-run shows and writes nothing.
    let out = consentry(
        args(&[
            "app",
            "apply",
            &manifest,
            "--graph-host",
            &host,
            "--dry-run",
            "--format",
            "json",
        ]),
        token(WRITE),
        false,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let added: Vec<&str> = shown["diff"]["add"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(added, vec!["Incident.ReadWrite.All"]);
    assert_eq!(
        current(&sandbox).await["requiredResourceAccess"],
        application["requiredResourceAccess"],
        "a dry run writes nothing"
    );

    // Not on a terminal and no --yes: refused, even with "yes" piped in; nothing written.
    let out = consentry(
        args(&["app", "apply", &manifest, "--graph-host", &host]),
        token(WRITE),
        true,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert_eq!(
        current(&sandbox).await["requiredResourceAccess"],
        application["requiredResourceAccess"]
    );

    // A token that may only read: Graph's 403 explained, nothing changed.
    let out = consentry(
        args(&["app", "apply", &manifest, "--graph-host", &host, "--yes"]),
        token(READ),
        false,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("Authorization_RequestDenied"), "{stderr}");
    assert!(stderr.contains("Application.ReadWrite.OwnedBy"), "{stderr}");
    assert!(stderr.contains("Application.ReadWrite.All"), "{stderr}");
    assert!(stderr.contains("request-id "), "{stderr}");
    assert_eq!(
        current(&sandbox).await["requiredResourceAccess"],
        application["requiredResourceAccess"]
    );

    // With --yes and a token that may write: exactly the shown addition, the rest kept.
    let out = consentry(
        args(&["app", "apply", &manifest, "--graph-host", &host, "--yes"]),
        token(WRITE),
        false,
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Incident.ReadWrite.All"), "{stdout}");
    assert!(
        stderr.contains("1 permission(s) added, 0 removed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "Fabrikam ({TENANT}): reconsent microsoft-365-defender Incident.ReadWrite.All"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("/{TENANT}/adminconsent?client_id={CLIENT_ID}")),
        "{stderr}"
    );
    let after = current(&sandbox).await["requiredResourceAccess"].clone();
    assert_eq!(
        after,
        json!([
            {"resourceAppId": M365D, "resourceAccess": [
                {"id": INCIDENT_READ, "type": "Role"},
                {"id": CUSTOM_DETECTIONS, "type": "Role"},
                {"id": "33333333-cccc-4ccc-8ccc-000000000001", "type": "Scope"},
                {"id": INCIDENT_WRITE, "type": "Role"}
            ]},
            {"resourceAppId": OTHER_API, "resourceAccess": [{"id": OTHER_ROLE, "type": "Role"}]}
        ])
    );
    let patches = |log: &[consentry::sandbox::LoggedRequest]| {
        log.iter()
            .filter(|r| r.method == "PATCH" && r.status == 204)
            .count()
    };
    assert_eq!(patches(&sandbox.request_log()), 1, "exactly one write");
    // The next token carries the role the registration now requests.
    assert_eq!(
        granted_roles(&sandbox).await,
        vec!["Incident.Read.All", "Incident.ReadWrite.All"]
    );

    // A second run finds nothing to do and writes nothing.
    let before = sandbox.request_log().len();
    let out = consentry(
        args(&[
            "app",
            "apply",
            &manifest,
            "--graph-host",
            &host,
            "--yes",
            "--format",
            "json",
        ]),
        token(WRITE),
        false,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let second: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(second["diff"]["add"], json!([]));
    assert_eq!(second["diff"]["remove"], json!([]));
    assert!(
        !sandbox.request_log()[before..]
            .iter()
            .any(|r| r.method == "PATCH"),
        "the second run sent no PATCH"
    );
    assert_eq!(current(&sandbox).await["requiredResourceAccess"], after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_token_never_reaches_any_output_online_at_any_log_level() {
    let mut application = right_application();
    application["requiredResourceAccess"] = json!([]);
    let sandbox = start(&application).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), CLIENT_ID);
    let host = sandbox.base_url();
    for (list, token_value) in [
        (
            vec!["-vvv", "app", "check", &manifest, "--graph-host", &host],
            WRITE,
        ),
        (
            vec![
                "-vvv",
                "app",
                "check",
                &manifest,
                "--graph-host",
                &host,
                "--format",
                "json",
            ],
            READ,
        ),
        // 403 on the PATCH: the error path.
        (
            vec![
                "-vvv",
                "app",
                "apply",
                &manifest,
                "--graph-host",
                &host,
                "--yes",
            ],
            READ,
        ),
        (
            vec![
                "-vvv",
                "app",
                "apply",
                &manifest,
                "--graph-host",
                &host,
                "--yes",
            ],
            WRITE,
        ),
        (
            vec![
                "-vvv",
                "app",
                "check",
                &manifest,
                "--graph-host",
                "http://127.0.0.1:9",
            ],
            WRITE,
        ),
    ] {
        let mut env = token(token_value);
        env.push(("RUST_LOG", "trace".to_owned()));
        let out = consentry(args(&list), env, false).await;
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains("planted"),
            "{list:?} leaked the Graph token:\n{all}"
        );
        // The run did reach Graph (or tried to), so the test covers the online path.
        assert!(
            all.contains("graph request") || all.contains("could not be reached"),
            "{list:?}:\n{all}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_throttling_is_retried_after_what_retry_after_asks() {
    let sandbox = start_with(
        &right_application(),
        "throttle: { times: 2, retry_after: 1 }",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), CLIENT_ID);
    let started = std::time::Instant::now();
    let (code, report, stderr) = check_json(&sandbox, &manifest).await;
    assert_eq!(code, 0, "{report}\n{stderr}");
    let log = sandbox.request_log();
    let throttled: Vec<_> = log.iter().filter(|r| r.status == 429).collect();
    assert_eq!(throttled.len(), 2, "{log:#?}");
    // Two waits of at least the asked second each (the shared retry loop honours Retry-After).
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A fresh client-request-id per attempt.
    let ids: std::collections::BTreeSet<&String> = log
        .iter()
        .filter_map(|r| r.headers.get("client-request-id"))
        .collect();
    assert_eq!(ids.len(), log.len(), "{log:#?}");
}
