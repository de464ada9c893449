//! `verify --app` and `plan --state` with a registration that does not request a role the
//! manifest needs (issue 7): the real binary against the sandbox (tokens and Graph on one loopback
//! server). The report gains `app_registration`, the tenant missing that role is told to run
//! `consentry app apply` first, the plan blocks it on the app and leads with the fix, and a secret
//! expiring soon is a warning in every format.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns panic as test failures"
)]

use std::process::{Command, Output, Stdio};

use chrono::Utc;
use consentry::sandbox::{Sandbox, Scenario};
use secrecy::SecretString;
use serde_json::{Value, json};

const SECRET: &str = "sandbox-app-verify-s3cret";
const CLIENT_ID: &str = "5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890";
const OBJECT_ID: &str = "0f6e4c2a-8b1d-4e3f-9a5c-7d2b1e0f3a4c";
const TENANT: &str = "7b500f41-1b86-42be-b006-bffbd7a67b9f";
const M365D: &str = "8ee8fdad-f234-4243-8f3b-15c294843740";
/// The catalog's global id of Incident.Read.All (the sandbox's default service principal).
const INCIDENT_READ: &str = "a9790345-4595-42e4-971a-ccdc79f19b7c";
const READ: &str = "graph-read-token-for-verify";

async fn start() -> Sandbox {
    let soon = (Utc::now() + chrono::Duration::days(12)).to_rfc3339();
    let application = json!({
        "id": OBJECT_ID,
        "appId": CLIENT_ID,
        "signInAudience": "AzureADMultipleOrgs",
        "web": {"redirectUris": ["https://portal.azure.com"]},
        "requiredResourceAccess": [
            {"resourceAppId": M365D, "resourceAccess": [{"id": INCIDENT_READ, "type": "Role"}]}
        ],
        "passwordCredentials": [
            {"displayName": "consentry-ci", "hint": "Q~x", "endDateTime": soon}
        ]
    });
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
  application: {application}
"#
    );
    Sandbox::start(
        Scenario::from_yaml("app-verify.yaml", &text).unwrap(),
        SecretString::from(SECRET),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn manifest(dir: &std::path::Path) -> String {
    let text = format!(
        r#"version: 1
app:
  name: Bluefin MDR Connector
  client_id: {CLIENT_ID}
  redirect_uri: https://portal.azure.com
  home_tenant: bluefin.onmicrosoft.com
apis:
  microsoft-365-defender:
    roles: [Incident.Read.All, Incident.ReadWrite.All]
tenants:
  - name: Fabrikam
    id: {TENANT}
"#
    );
    let path = dir.join("consentry.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn consentry(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_consentry"))
            .args(&args)
            .env_remove("CONSENTRY_GRAPH_HOST")
            .env_remove("CONSENTRY_AUTHORITY_HOST")
            .env_remove("RUST_LOG")
            .env("CONSENTRY_GRAPH_TOKEN", READ)
            .env("CONSENTRY_CLIENT_SECRET", SECRET)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_the_registration_never_requests_blocks_the_tenant_on_the_app() {
    let sandbox = start().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path());
    let host = sandbox.base_url();
    let report_path = dir.path().join("report.json").display().to_string();
    let verify = |format: &str, extra: Vec<String>| {
        let mut args: Vec<String> = [
            "verify",
            &manifest,
            "--app",
            "--graph-host",
            &host,
            "--authority-host",
            &host,
            "--format",
            format,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra);
        consentry(args)
    };

    let out = verify("json", vec!["--report".into(), report_path.clone()]).await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let section = &report["app_registration"];
    assert_eq!(section["source"], "graph bluefin.onmicrosoft.com");
    assert_eq!(
        section["not_requested"],
        json!({"microsoft-365-defender": ["Incident.ReadWrite.All"]})
    );
    let codes: Vec<(&str, &str)> = section["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("role-not-requested", "error"),
            ("secret-expiring", "warning")
        ]
    );
    let tenant = &report["tenants"][0];
    assert_eq!(tenant["status"], "missing_roles");
    assert_eq!(
        tenant["hint"],
        "the app registration does not request microsoft-365-defender Incident.ReadWrite.All: run `consentry app apply`, then re-consent"
    );

    // The plan from that report: the tenant is blocked by the app, and the fix leads.
    let out = consentry(
        [
            "plan",
            &manifest,
            "--state",
            &report_path,
            "--format",
            "json",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["tenants"][0]["action"], "blocked_by_app");
    assert_eq!(plan["summary"]["blocked_by_app"], 1);
    assert_eq!(plan["summary"]["reconsent"], 0);
    assert!(
        plan["tenants"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("consentry app apply"),
        "{plan}"
    );
    for format in ["table", "markdown"] {
        let out = consentry(
            [
                "plan",
                &manifest,
                "--state",
                &report_path,
                "--format",
                format,
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        )
        .await;
        let stdout = text(&out.stdout);
        let first = stdout
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with("## "))
            .unwrap();
        assert!(
            first.contains("Fix the app registration first")
                && first.contains("consentry app apply"),
            "{format}:\n{stdout}"
        );
    }

    // The secret expiring in 12 days is a warning in every format.
    for (format, warning) in [
        ("table", "warning: app registration:"),
        (
            "markdown",
            "> **warning** (app registration, `secret-expiring`)",
        ),
        (
            "github",
            "::warning title=app registration%3A secret-expiring::",
        ),
        ("junit", "warning: secret-expiring"),
        ("json", "\"severity\": \"warning\""),
    ] {
        let out = verify(format, Vec::new()).await;
        let stdout = text(&out.stdout);
        assert!(stdout.contains(warning), "{format}:\n{stdout}");
        assert!(
            stdout.contains("expires") || stdout.contains("expir"),
            "{format}:\n{stdout}"
        );
    }
}
