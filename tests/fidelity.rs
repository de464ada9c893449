//! Issue 10, client side: the how-to's resource names end to end, an untrusted certificate fails
//! at once with its hint, `--ca-cert`, proxies decided by `NO_PROXY`, and every attempt's
//! `client-request-id` in the report. Everything runs the real `consentry` binary against the
//! sandbox on loopback; child processes get no proxy variables unless a test sets them.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a panic is a test failure with a message"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use consentry::sandbox::{Options, Sandbox, Scenario, Tls};
use consentry::validate;
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "fidelity-test-secret~8Hq";
const CLIENT_ID: &str = "5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890";
const FABRIKAM: &str = "7b500f41-1b86-42be-b006-bffbd7a67b9f";
const THROTTLED: &str = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const MDE: &str = "https://api.securitycenter.microsoft.com";
/// The how-to's Python and PowerShell samples.
const MDE_WINDOWS: &str = "https://api.securitycenter.windows.com";
/// The how-to's curl sample.
const MDE_WINDOWSATP: &str = "https://securitycenter.onmicrosoft.com/windowsatpservice";

fn scenario() -> Scenario {
    let text = format!(
        r#"
app:
  client_id: {CLIENT_ID}
  name: Fidelity Connector
tenants:
  - name: Fabrikam
    id: {FABRIKAM}
    grants:
      {MDE}: [Alert.Read.All, Machine.Read.All]
  - name: Throttled
    id: {THROTTLED}
    throttle: {{ times: 10, retry_after: 1 }}
"#
    );
    Scenario::from_yaml("fidelity.sandbox.yaml", &text).unwrap()
}

/// A manifest asking Defender for Endpoint for `resource` (none: the catalog's).
fn manifest(dir: &Path, resource: Option<&str>) -> PathBuf {
    let resource = resource
        .map(|r| format!("    resource: {r}\n"))
        .unwrap_or_default();
    let text = format!(
        r#"version: 1
app:
  name: Fidelity Connector
  client_id: {CLIENT_ID}
  redirect_uri: https://portal.azure.com
  credential:
    client_secret:
      env: CONSENTRY_CLIENT_SECRET
apis:
  defender-for-endpoint:
{resource}    roles: [Alert.Read.All, Machine.Read.All]
tenants:
  - name: Fabrikam
    id: {FABRIKAM}
  - name: Throttled
    id: {THROTTLED}
"#
    );
    let path = dir.join("fidelity.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn sandbox(tls: Tls) -> Sandbox {
    Sandbox::start_with(
        scenario(),
        SecretString::from(SECRET),
        Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls,
        },
    )
    .await
    .unwrap()
}

/// The `consentry` binary with no proxy or trust variables from the test's own environment.
fn consentry() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_consentry"));
    command.env("CONSENTRY_CLIENT_SECRET", SECRET);
    for var in [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(var);
    }
    command
}

/// `consentry verify --format json` for one tenant.
fn verify(manifest: &Path, authority: &str, tenant: &str) -> Command {
    let mut command = consentry();
    command
        .args(["verify", "--format", "json", "--tenant", tenant])
        .arg("--authority-host")
        .arg(authority)
        .arg(manifest);
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn json_of(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

fn token_requests(sandbox: &Sandbox) -> Vec<consentry::sandbox::LoggedRequest> {
    sandbox
        .request_log()
        .into_iter()
        .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .collect()
}

#[test]
fn validate_takes_a_name_of_the_catalog_api_as_its_resource() {
    let dir = tempfile::tempdir().unwrap();
    for name in [MDE_WINDOWS, MDE_WINDOWSATP, MDE] {
        let checked = validate::check_file(&manifest(dir.path(), Some(name)));
        assert!(
            checked.diagnostics.is_empty(),
            "{name}: {:#?}",
            checked.diagnostics
        );
        let model = checked.manifest.unwrap();
        let api = model.api("defender-for-endpoint").unwrap();
        // The name written is the one requested; the API stays the catalog's.
        assert_eq!(api.resource, name);
        assert!(api.in_catalog);
    }

    // Roles are still checked against the catalog API.
    let path = manifest(dir.path(), Some(MDE_WINDOWS));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("Machine.Read.All]", "Machine.Reed.All]");
    std::fs::write(&path, text).unwrap();
    let checked = validate::check_file(&path);
    let codes: Vec<&str> = checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(codes, ["unknown-role"]);

    // A name of another catalog API is refused, naming the API it belongs to.
    let path = manifest(dir.path(), Some("https://api.security.microsoft.com"));
    let checked = validate::check_file(&path);
    assert_eq!(checked.diagnostics.len(), 1, "{:#?}", checked.diagnostics);
    let d = &checked.diagnostics[0];
    assert_eq!(d.code.as_str(), "resource-on-catalog-api");
    assert!(
        d.message.contains("`microsoft-365-defender`"),
        "{}",
        d.message
    );
    assert!(
        d.help.as_deref().unwrap().contains(MDE_WINDOWS),
        "{:?}",
        d.help
    );

    // A custom key with an alias resource is pointed at the catalog API, keeping the name.
    let path = manifest(dir.path(), Some(MDE_WINDOWS));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("  defender-for-endpoint:", "  endpoint-api:")
        .replace(
            "roles: [Alert.Read.All, Machine.Read.All]",
            "roles: [Alert.Read.All]",
        );
    std::fs::write(&path, text).unwrap();
    let checked = validate::check_file(&path);
    assert_eq!(checked.diagnostics.len(), 1, "{:#?}", checked.diagnostics);
    let d = &checked.diagnostics[0];
    assert_eq!(d.code.as_str(), "catalog-resource");
    let help = d.help.as_deref().unwrap();
    assert!(help.contains("name it `defender-for-endpoint`"), "{help}");
    assert!(help.contains("keep `resource`"), "{help}");
}

#[tokio::test]
async fn verify_with_the_how_tos_resource_names_reports_ok() {
    let sandbox = sandbox(Tls::Off).await;
    let dir = tempfile::tempdir().unwrap();
    for name in [MDE_WINDOWS, MDE_WINDOWSATP] {
        let path = manifest(dir.path(), Some(name));
        let output = run(verify(&path, &sandbox.base_url(), "Fabrikam")).await;
        let report = json_of(&output);
        assert_eq!(output.status.code(), Some(0), "{report:#}");
        let tenant = &report["tenants"][0];
        assert_eq!(tenant["status"], "ok", "{report:#}");
        assert_eq!(tenant["apis"][0]["resource"], name);
        assert_eq!(
            tenant["apis"][0]["granted"],
            serde_json::json!(["Alert.Read.All", "Machine.Read.All"])
        );
    }
    assert_eq!(token_requests(&sandbox).len(), 2);
    sandbox.shutdown().await;
}

/// A TCP forwarder in front of `target` that counts connections: how many attempts a client made,
/// even when none of them got as far as an HTTP request.
async fn counting_forwarder(target: std::net::SocketAddr) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), count)
}

fn socket_of(url: &str) -> std::net::SocketAddr {
    let url = url::Url::parse(url).unwrap();
    format!("127.0.0.1:{}", url.port().unwrap())
        .parse()
        .unwrap()
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_once_with_the_hint_and_ca_cert_trusts_it() {
    let sandbox = sandbox(Tls::Generate).await;
    let (authority, connections) = counting_forwarder(socket_of(&sandbox.base_url())).await;
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), None);

    // Retries are on (3 by default), yet the refused certificate is tried once.
    let output = run(verify(&path, &authority, "Fabrikam")).await;
    assert_eq!(output.status.code(), Some(3));
    let report = json_of(&output);
    let tenant = &report["tenants"][0];
    assert_eq!(tenant["status"], "error", "{report:#}");
    let error = &tenant["apis"][0]["error"];
    assert_eq!(error["error"], "certificate_untrusted", "{report:#}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("--ca-cert FILE"), "{message}");
    assert!(message.contains("SSL_CERT_FILE"), "{message}");
    assert!(message.contains("1 attempt(s)"), "{message}");
    let hint = tenant["hint"].as_str().unwrap();
    assert!(
        hint.contains("--ca-cert") && hint.contains("SSL_CERT_FILE"),
        "{hint}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one attempt, no retry"
    );
    assert!(token_requests(&sandbox).is_empty());

    // The same run trusting the sandbox's CA with --ca-cert.
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sandbox.ca_pem().unwrap()).unwrap();
    let mut command = verify(&path, &authority, "Fabrikam");
    command.arg("--ca-cert").arg(&ca);
    let output = run(command).await;
    let report = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    assert_eq!(report["tenants"][0]["status"], "ok");
    assert_eq!(token_requests(&sandbox).len(), 1);

    // A file that is not a certificate is a usage error, with nothing sent.
    let mut command = verify(&path, &authority, "Fabrikam");
    command.arg("--ca-cert").arg(&path);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--ca-cert"), "{stderr}");
    assert_eq!(token_requests(&sandbox).len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn token_command_takes_ca_cert_too() {
    let sandbox = sandbox(Tls::Generate).await;
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), None);
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sandbox.ca_pem().unwrap()).unwrap();
    let token = |trust: bool| {
        let mut command = consentry();
        command
            .args(["token", "--tenant", "Fabrikam", "--authority-host"])
            .arg(sandbox.base_url());
        if trust {
            command.arg("--ca-cert").arg(&ca);
        }
        command.arg(&path);
        command
    };
    let output = run(token(false)).await;
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--ca-cert FILE") && stderr.contains("SSL_CERT_FILE"),
        "{stderr}"
    );
    let output = run(token(true)).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("eyJ"));
    sandbox.shutdown().await;
}

/// A CONNECT proxy on loopback that counts the tunnels it opens.
async fn connect_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if inbound.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let Some(target) = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split_whitespace().next())
                else {
                    return;
                };
                let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                seen.fetch_add(1, Ordering::SeqCst);
                if inbound
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), count)
}

#[tokio::test]
async fn no_proxy_decides_for_loopback_too() {
    let sandbox = sandbox(Tls::Generate).await;
    let (proxy, tunnels) = connect_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), None);
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sandbox.ca_pem().unwrap()).unwrap();
    let through = |no_proxy: Option<&str>| {
        let mut command = verify(&path, &sandbox.base_url(), "Fabrikam");
        command.arg("--ca-cert").arg(&ca).env("HTTPS_PROXY", &proxy);
        if let Some(list) = no_proxy {
            command.env("NO_PROXY", list);
        }
        command
    };
    // A proxy in front of the sandbox (a debugging proxy) is used for loopback...
    let output = run(through(None)).await;
    assert_eq!(output.status.code(), Some(0), "{:#}", json_of(&output));
    assert_eq!(tunnels.load(Ordering::SeqCst), 1);
    // ...unless NO_PROXY names it.
    let output = run(through(Some("127.0.0.1,localhost"))).await;
    assert_eq!(output.status.code(), Some(0), "{:#}", json_of(&output));
    assert_eq!(
        tunnels.load(Ordering::SeqCst),
        1,
        "NO_PROXY bypasses the proxy"
    );
    assert_eq!(token_requests(&sandbox).len(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn every_attempts_client_request_id_is_in_the_report() {
    let sandbox = sandbox(Tls::Off).await;
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), None);
    let mut command = verify(&path, &sandbox.base_url(), "Throttled");
    command.args(["--retries", "2"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(3));
    let report = json_of(&output);
    let error = &report["tenants"][0]["apis"][0]["error"];
    assert_eq!(error["http_status"], 429, "{report:#}");
    let ids: Vec<&str> = error["request_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Exactly the ids the sandbox saw, in order; the last is also `request_id`.
    let sent: Vec<String> = token_requests(&sandbox)
        .iter()
        .map(|r| r.headers["client-request-id"].clone())
        .collect();
    assert_eq!(sent.len(), 3, "one attempt and two retries");
    assert_eq!(ids, sent);
    assert_eq!(error["request_id"], sent[2].as_str());
    let mut unique = sent.clone();
    unique.dedup();
    assert_eq!(unique.len(), 3, "a fresh id per attempt");
    sandbox.shutdown().await;
}
