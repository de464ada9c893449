//! Every credential kind end to end: the real client (manifest → `AppCredential` → token client →
//! verify → reports) against the real sandbox (which checks assertions and plays GitHub's issuer),
//! through the real binary where exit codes and outputs matter. Each wrong setup must give its
//! status, hint and exit code with at most one token request sent (the credential-rejected stop),
//! and no key, password, assertion or token may reach any output at any log level.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers build keys, certificates and servers: a panic is a test failure"
)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use consentry::sandbox::{
    FederatedCredential, GithubActions, RegisteredCertificate, Sandbox, Scenario,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const FABRIKAM: &str = "2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d";
const NORTHWIND: &str = "5e8f0a2b-3c4d-4e6f-8a9b-0c1d2e3f4a5b";
const M365D: &str = "https://api.security.microsoft.com";
const REPO: &str = "contoso/soc-connector";
const MAIN: &str = "repo:contoso/soc-connector:ref:refs/heads/main";
const SECRET: &str = "e2e-Secret-Never-Shown~7Qz";
const PFX_PASSWORD: &str = "pfx-Password-Never-Shown-3c9";

/// A key and a self-signed certificate valid from `from` to `to` (years).
struct TestCert {
    key_pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    cert_pem: String,
}

fn make_cert(from: i32, to: i32) -> TestCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["consentry-e2e".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(to, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    TestCert {
        key_pkcs8: key.serialize_der(),
        cert_der: cert.der().to_vec(),
        cert_pem: cert.pem(),
    }
}

// RSA key generation costs tens of ms: each certificate is made once for the whole file.
static REGISTERED: LazyLock<TestCert> = LazyLock::new(|| make_cert(2020, 2099));
static UNREGISTERED: LazyLock<TestCert> = LazyLock::new(|| make_cert(2020, 2099));
static EXPIRED: LazyLock<TestCert> = LazyLock::new(|| make_cert(2019, 2021));

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The PEM a user keeps: private key, then the certificate.
fn key_and_cert_pem(cert: &TestCert) -> String {
    format!("{}{}", pem("PRIVATE KEY", &cert.key_pkcs8), cert.cert_pem)
}

fn pfx(cert: &TestCert, password: &str) -> Vec<u8> {
    let mut store = p12_keystore::KeyStore::new();
    let chain = p12_keystore::PrivateKeyChain::new(
        cert.key_pkcs8.clone(),
        [7u8; 20],
        [p12_keystore::Certificate::from_der(&cert.cert_der).unwrap()],
    );
    store.add_entry(
        "consentry",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    store.writer(password).write().unwrap()
}

/// Fragments of the private key any leak would contain: a slice of its base64 (as in the PEM
/// file and in a base64 PFX) and a whole PEM body line.
fn key_fragments(cert: &TestCert) -> Vec<String> {
    let b64 = STANDARD.encode(&cert.key_pkcs8);
    vec![b64[200..240].to_owned(), b64[64..128].to_owned()]
}

/// The sandbox's app: the registered certificate (and an expired one), GitHub's issuer for
/// `REPO` on main, and `fics` as the app's federated identity credentials.
fn scenario(fics: Vec<FederatedCredential>) -> Scenario {
    scenario_with(fics, "")
}

/// [`scenario`] with more top-level YAML (a `graph:` section).
fn scenario_with(fics: Vec<FederatedCredential>, more: &str) -> Scenario {
    let text = format!(
        r#"
app:
  client_id: {CLIENT_ID}
  name: Contoso SOC Connector
tenants:
  - name: Fabrikam
    id: {FABRIKAM}
    grants:
      {M365D}: [Incident.Read.All]
  - name: Northwind Traders
    id: {NORTHWIND}
    grants:
      {M365D}: [Incident.Read.All]
{more}
"#
    );
    let mut s = Scenario::from_yaml("e2e.yaml", &text).unwrap();
    s.app
        .certificates
        .push(RegisteredCertificate::from_pem(REGISTERED.cert_pem.clone()));
    s.app
        .certificates
        .push(RegisteredCertificate::from_pem(EXPIRED.cert_pem.clone()));
    s.github_actions = Some(GithubActions::new(REPO));
    s.app.federated_credentials = fics;
    s
}

fn github_fic() -> FederatedCredential {
    FederatedCredential::sandbox_github("github-main", MAIN)
}

async fn start(scenario: Scenario) -> Sandbox {
    Sandbox::start(
        scenario,
        SecretString::from(SECRET),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn total_requests(sandbox: &Sandbox) -> usize {
    sandbox.requests_per_tenant().values().sum()
}

/// How often the sandbox's GitHub stand-in handed out a token.
fn github_fetches(sandbox: &Sandbox) -> usize {
    sandbox
        .request_log()
        .iter()
        .filter(|r| r.path.starts_with("/_github/token"))
        .count()
}

/// A two-tenant manifest in `dir` with `credential` (YAML under `credential:`, indented 4).
fn manifest(dir: &Path, credential: &str) -> PathBuf {
    let text = format!(
        "version: 1
app:
  name: Contoso SOC Connector
  client_id: {CLIENT_ID}
  redirect_uri: https://portal.azure.com
  home_tenant: contoso.onmicrosoft.com
  credential:
{credential}
apis:
  microsoft-365-defender:
    roles: [Incident.Read.All]
tenants:
  - name: Fabrikam
    id: {FABRIKAM}
  - name: Northwind Traders
    id: {NORTHWIND}
"
    );
    let path = dir.join("consentry.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// One way of setting up the credential: the manifest's `credential:` block, the files it
/// names (written into the temp dir), the environment, and the values that must never show.
struct Setup {
    name: &'static str,
    credential: String,
    files: Vec<(&'static str, Vec<u8>)>,
    env: Vec<(&'static str, String)>,
    secrets: Vec<String>,
    /// `certificate`, `client_secret` or `federated`, as the JSON report names the kind.
    kind: &'static str,
}

fn secret_setup() -> Setup {
    Setup {
        name: "secret",
        credential: "    client_secret: {env: E2E_SECRET}".to_owned(),
        files: vec![],
        env: vec![("E2E_SECRET", SECRET.to_owned())],
        secrets: vec![SECRET.to_owned()],
        kind: "client_secret",
    }
}

fn certificate_setup(name: &'static str, cert: &TestCert, signing: &str) -> Setup {
    let mut secrets = key_fragments(cert);
    secrets.push("PRIVATE KEY".to_owned());
    Setup {
        name,
        credential: format!("    certificate:\n      file: app.pem\n      signing: {signing}"),
        files: vec![("app.pem", key_and_cert_pem(cert).into_bytes())],
        env: vec![],
        secrets,
        kind: "certificate",
    }
}

fn pfx_setup() -> Setup {
    let mut secrets = key_fragments(&REGISTERED);
    secrets.push(PFX_PASSWORD.to_owned());
    Setup {
        name: "pfx",
        credential:
            "    certificate:\n      file: app.pfx\n      password: {env: E2E_PFX_PASSWORD}"
                .to_owned(),
        files: vec![("app.pfx", pfx(&REGISTERED, PFX_PASSWORD))],
        env: vec![("E2E_PFX_PASSWORD", PFX_PASSWORD.to_owned())],
        secrets,
        kind: "certificate",
    }
}

fn github_setup(sandbox: &Sandbox) -> Setup {
    let gh = sandbox.github_actions_env().unwrap();
    Setup {
        name: "federated-github",
        credential: "    federated:\n      github: {}".to_owned(),
        files: vec![],
        env: vec![
            ("ACTIONS_ID_TOKEN_REQUEST_URL", gh.request_url.clone()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                gh.request_token.expose_secret().to_owned(),
            ),
        ],
        secrets: vec![gh.request_token.expose_secret().to_owned()],
        kind: "federated",
    }
}

/// A GitHub-style token from the sandbox's issuer, fetched as a job would.
async fn github_token(sandbox: &Sandbox) -> String {
    let gh = sandbox.github_actions_env().unwrap();
    let url = format!("{}&audience=api://AzureADTokenExchange", gh.request_url);
    let body: Value = reqwest::Client::new()
        .get(url)
        .header(
            "Authorization",
            format!("bearer {}", gh.request_token.expose_secret()),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"].as_str().unwrap().to_owned()
}

async fn federated_file_setup(sandbox: &Sandbox) -> Setup {
    let token = github_token(sandbox).await;
    Setup {
        name: "federated-file",
        credential: "    federated:\n      file: token.jwt".to_owned(),
        files: vec![("token.jwt", token.clone().into_bytes())],
        env: vec![],
        secrets: vec![token],
        kind: "federated",
    }
}

async fn kubernetes_setup(sandbox: &Sandbox) -> Setup {
    let token = github_token(sandbox).await;
    Setup {
        name: "federated-kubernetes",
        credential: "    federated:\n      kubernetes: {}".to_owned(),
        files: vec![("projected.jwt", token.clone().into_bytes())],
        // Relative to the working directory, which `verify` sets to the manifest's folder.
        env: vec![("AZURE_FEDERATED_TOKEN_FILE", "projected.jwt".to_owned())],
        secrets: vec![token],
        kind: "federated",
    }
}

async fn federated_env_setup(sandbox: &Sandbox) -> Setup {
    let token = github_token(sandbox).await;
    Setup {
        name: "federated-env",
        credential: "    federated:\n      env: E2E_FEDERATED_TOKEN".to_owned(),
        files: vec![],
        env: vec![("E2E_FEDERATED_TOKEN", token.clone())],
        secrets: vec![token],
        kind: "federated",
    }
}

/// What one run of the binary left behind.
struct Run {
    output: Output,
    /// The `--report` JSON file, when written.
    report: Option<String>,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_str(self.report.as_deref().unwrap()).unwrap()
    }
}

/// The binary, run in `dir` with the setup's environment and none of this process's credential,
/// Graph or authority variables (the setup's own come last, so they win).
fn consentry(dir: &Path, setup: &Setup) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_consentry"));
    cmd.current_dir(dir)
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("CONSENTRY_CLIENT_SECRET")
        .env_remove("CONSENTRY_AUTHORITY_HOST")
        .env_remove("CONSENTRY_GRAPH_TOKEN")
        .env_remove("CONSENTRY_GRAPH_HOST")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    for (k, v) in &setup.env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `consentry verify` on the setup's manifest against `sandbox`, with `extra` arguments and
/// environment, the credential variables of this process cleared.
async fn verify(
    sandbox: &Sandbox,
    setup: &Setup,
    extra: &[&str],
    extra_env: &[(&str, &str)],
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), &setup.credential);
    for (name, bytes) in &setup.files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let report = dir.path().join("report.json");
    let mut cmd = consentry(dir.path(), setup);
    cmd.arg("verify")
        .arg(&path)
        .args(["--authority-host", &sandbox.base_url()])
        .arg("--report")
        .arg(&report)
        .args(extra);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let report = std::fs::read_to_string(&report).ok();
    drop(dir);
    Run { output, report }
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The run succeeded with every tenant ok, the report names the kind, and the sandbox answered
/// one token request per tenant (nothing retried, nothing refused).
fn assert_ok(run: &Run, setup: &Setup, sandbox: &Sandbox) {
    assert_eq!(
        run.code(),
        Some(0),
        "{}: {}\n{}",
        setup.name,
        run.stdout(),
        run.stderr()
    );
    let report = run.json();
    for (name, status) in statuses(&report) {
        assert_eq!(status, "ok", "{}: {name}", setup.name);
    }
    assert_eq!(
        report["credential"]["kind"], setup.kind,
        "{}: {report}",
        setup.name
    );
    assert!(
        run.stdout().contains(setup.kind),
        "{}: the table's footer names the kind:\n{}",
        setup.name,
        run.stdout()
    );
    assert_eq!(total_requests(sandbox), 2, "{}", setup.name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_gets_tokens_end_to_end_and_verify_reports_ok() {
    let fresh = || scenario(vec![github_fic()]);
    // One sandbox per kind, so each run's request count is its own.
    let sandbox = start(fresh()).await;
    let setup = secret_setup();
    assert_ok(&verify(&sandbox, &setup, &[], &[]).await, &setup, &sandbox);
    sandbox.shutdown().await;

    for setup in [
        certificate_setup("certificate-ps256", &REGISTERED, "ps256"),
        certificate_setup("certificate-rs256", &REGISTERED, "rs256"),
        pfx_setup(),
    ] {
        let sandbox = start(fresh()).await;
        let run = verify(&sandbox, &setup, &[], &[]).await;
        assert_ok(&run, &setup, &sandbox);
        let info = &run.json()["credential"];
        assert_eq!(info["thumbprint"].as_str().unwrap().len(), 40, "{info}");
        sandbox.shutdown().await;
    }

    let sandbox = start(fresh()).await;
    let setup = github_setup(&sandbox);
    let run = verify(&sandbox, &setup, &[], &[]).await;
    assert_ok(&run, &setup, &sandbox);
    // GitHub's endpoint was asked (at least once; cached while fresh), by the binary.
    assert!(
        sandbox
            .request_log()
            .iter()
            .any(|r| r.path.starts_with("/_github/token")),
        "{:?}",
        sandbox.request_log()
    );
    sandbox.shutdown().await;

    for which in ["file", "env", "kubernetes"] {
        let sandbox = start(fresh()).await;
        let setup = match which {
            "file" => federated_file_setup(&sandbox).await,
            "env" => federated_env_setup(&sandbox).await,
            _ => kubernetes_setup(&sandbox).await,
        };
        assert_ok(&verify(&sandbox, &setup, &[], &[]).await, &setup, &sandbox);
        sandbox.shutdown().await;
    }
}

/// A rejected credential: every tenant `credential_rejected` with `code` and a hint containing
/// `hint`, exit 3 (nothing determined), and at most one token request sent.
fn assert_rejected(run: &Run, sandbox: &Sandbox, what: &str, code: &str, hint: &str) {
    let report = run.json();
    // The app-wide failure is said once, with Entra's code and the fix; the tenant that was asked
    // is credential_rejected, the others were never asked.
    let failure = &report["app_failure"];
    assert_eq!(failure["status"], "credential_rejected", "{what}: {report}");
    assert_eq!(
        failure["error"]["code"].as_str(),
        Some(code),
        "{what}: {report}"
    );
    let fix = failure["fix"].as_str().unwrap_or_default();
    assert!(fix.contains(hint), "{what}: fix {fix:?} lacks {hint:?}");
    let statuses: Vec<&str> = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap_or_default())
        .collect();
    assert!(
        statuses.contains(&"credential_rejected")
            && statuses
                .iter()
                .all(|s| *s == "credential_rejected" || *s == "not_checked"),
        "{what}: {statuses:?}"
    );
    assert_eq!(
        run.code(),
        Some(3),
        "{what}: {}\n{}",
        run.stdout(),
        run.stderr()
    );
    assert!(
        total_requests(sandbox) <= 1,
        "{what}: {:?}",
        sandbox.requests_per_tenant()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_certificate_is_700027_after_one_request() {
    for signing in ["ps256", "rs256"] {
        let sandbox = start(scenario(vec![github_fic()])).await;
        let setup = certificate_setup("unregistered", &UNREGISTERED, signing);
        let run = verify(&sandbox, &setup, &[], &[]).await;
        assert_rejected(&run, &sandbox, signing, "AADSTS700027", "certificate");
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_refused_before_anything_is_sent() {
    let sandbox = start(scenario(vec![github_fic()])).await;
    let setup = certificate_setup("expired", &EXPIRED, "ps256");
    let run = verify(&sandbox, &setup, &[], &[]).await;
    assert_eq!(run.code(), Some(2), "{}\n{}", run.stdout(), run.stderr());
    assert!(run.stderr().contains("expired"), "{}", run.stderr());
    assert_eq!(total_requests(&sandbox), 0);
    assert!(
        run.report.is_none(),
        "no report for a run that never started"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_github_variables_exit_2_before_anything_is_sent() {
    let sandbox = start(scenario(vec![github_fic()])).await;
    let full = github_setup(&sandbox);
    // Both missing, only the URL, only the bearer.
    for env in [vec![], vec![full.env[0].clone()], vec![full.env[1].clone()]] {
        let setup = Setup {
            env,
            ..github_setup(&sandbox)
        };
        let run = verify(&sandbox, &setup, &[], &[]).await;
        assert_eq!(run.code(), Some(2), "{}", run.stderr());
        assert!(run.stderr().contains("id-token: write"), "{}", run.stderr());
    }
    assert_eq!(total_requests(&sandbox), 0);
    assert!(
        !sandbox
            .request_log()
            .iter()
            .any(|r| r.path.starts_with("/_github")),
        "GitHub's endpoint was not asked either"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federated_credential_that_does_not_match_names_the_claim_after_one_request() {
    let good = github_fic();
    let wrong_subject = FederatedCredential {
        subject: "repo:contoso/soc-connector:environment:prod".to_owned(),
        ..good.clone()
    };
    let wrong_issuer = FederatedCredential {
        issuer: "https://token.actions.githubusercontent.com".to_owned(),
        ..good.clone()
    };
    let wrong_audience = FederatedCredential {
        audiences: vec!["api://AzureADTokenExchange/other".to_owned()],
        ..good.clone()
    };
    for (what, fics, code, hint) in [
        (
            "wrong subject",
            vec![wrong_subject],
            "AADSTS700213",
            "subject",
        ),
        ("wrong issuer", vec![wrong_issuer], "AADSTS700211", "issuer"),
        (
            "wrong audience",
            vec![wrong_audience],
            "AADSTS700212",
            "audience",
        ),
        (
            "no federated credential",
            vec![],
            "AADSTS70021",
            "federated",
        ),
    ] {
        let sandbox = start(scenario(fics)).await;
        let setup = github_setup(&sandbox);
        let run = verify(&sandbox, &setup, &[], &[]).await;
        assert_rejected(&run, &sandbox, what, code, hint);
        sandbox.shutdown().await;
    }
}

/// The real client's certificate credential, loaded as a manifest names it.
fn load_certificate(dir: &Path) -> consentry::credential::AppCredential {
    use consentry::model::{CertificateSpec, Credential, SecretSource, Signing};
    std::fs::write(dir.join("app.pem"), key_and_cert_pem(&REGISTERED)).unwrap();
    let spec = Credential::Certificate(CertificateSpec {
        source: SecretSource::File(PathBuf::from("app.pem")),
        password: None,
        signing: Signing::Ps256,
    });
    consentry::credential::AppCredential::load(&spec, CLIENT_ID, dir, &|_| None).unwrap()
}

/// Posts a client-credentials request authenticated by `auth` to `url`; the answer's
/// (status, AADSTS code).
async fn present(url: &str, auth: &consentry::credential::ClientAuth) -> (u16, Option<u64>) {
    let scope = format!("{M365D}/.default");
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("scope", scope.as_str()),
    ];
    form.extend(auth.form_fields());
    let response = reqwest::Client::new()
        .post(url)
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error_codes"][0].as_u64())
}

/// The rejection's table entry: a credential stop, with advice that names `fix`.
fn assert_credential_advice(code: u64, fix: &str) {
    let entry = consentry::entra::aadsts::lookup_number(u32::try_from(code).unwrap()).unwrap();
    assert_eq!(
        entry.disposition,
        consentry::entra::aadsts::Disposition::Final(consentry::entra::Kind::CredentialRejected),
        "{code}"
    );
    assert!(entry.advice.contains(fix), "{code}: {}", entry.advice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_assertion_and_a_foreign_audience_are_refused_with_their_advice() {
    // The client never replays or mis-addresses an assertion (a fresh jti and the called URL every
    // time), so these are presented by hand, but built by the real client code.
    let sandbox = start(scenario(vec![github_fic()])).await;
    let dir = tempfile::tempdir().unwrap();
    let credential = load_certificate(dir.path());
    let http = reqwest::Client::new();
    let url = format!("{}/{FABRIKAM}/oauth2/v2.0/token", sandbox.base_url());
    let auth = credential
        .client_auth(&http, &url.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(present(&url, &auth).await, (200, None), "first use");
    let (status, code) = present(&url, &auth).await;
    assert_eq!((status, code), (401, Some(700024)), "replayed jti");
    assert_credential_advice(700024, "already used");

    // An assertion made for another host's token URL (localhost), presented to 127.0.0.1.
    let elsewhere = url.replace("127.0.0.1", "localhost");
    let auth = credential
        .client_auth(&http, &elsewhere.parse().unwrap())
        .await
        .unwrap();
    let (status, code) = present(&url, &auth).await;
    assert_eq!((status, code), (401, Some(700023)), "foreign aud");
    assert_credential_advice(700023, "`aud` must be exactly the URL called");
    // Called through localhost, the Host the client sends is what it signed: accepted.
    assert_eq!(present(&elsewhere, &auth).await, (200, None));
    sandbox.shutdown().await;
}

/// The JWT prefix every token and assertion starts with (`{"` base64url-encoded).
const JWT_PREFIX: &str = "eyJ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_password_assertion_or_token_reaches_any_output_at_any_log_level() {
    let sandbox = start(scenario(vec![github_fic()])).await;
    let mut setups = vec![
        secret_setup(),
        certificate_setup("certificate-ps256", &REGISTERED, "ps256"),
        certificate_setup("certificate-rs256", &REGISTERED, "rs256"),
        certificate_setup("unregistered", &UNREGISTERED, "ps256"),
        pfx_setup(),
        github_setup(&sandbox),
        federated_file_setup(&sandbox).await,
        federated_env_setup(&sandbox).await,
        kubernetes_setup(&sandbox).await,
    ];
    for setup in &mut setups {
        setup.secrets.push(JWT_PREFIX.to_owned());
    }
    let levels: [(&[&str], &str); 3] = [(&[], ""), (&["-vvv"], ""), (&["-vvv"], "trace")];
    let mut runs = 0;
    for setup in &setups {
        for format in ["table", "json", "markdown", "junit"] {
            for (flags, rust_log) in levels {
                // The table at every level; the other formats at the loudest.
                if format != "table" && rust_log.is_empty() {
                    continue;
                }
                let mut args = vec!["--format", format];
                args.extend_from_slice(flags);
                let env: Vec<(&str, &str)> = if rust_log.is_empty() {
                    vec![]
                } else {
                    vec![("RUST_LOG", rust_log)]
                };
                let run = verify(&sandbox, setup, &args, &env).await;
                assert!(
                    matches!(run.code(), Some(0 | 3)),
                    "{} {format} {flags:?}: {}",
                    setup.name,
                    run.stderr()
                );
                // The logs must have something to say at -vvv, or the check proves nothing.
                if !flags.is_empty() {
                    assert!(
                        run.stderr().lines().count() > 3,
                        "{}: -vvv logs nothing",
                        setup.name
                    );
                }
                let outputs = [
                    ("stdout", run.stdout()),
                    ("stderr", run.stderr()),
                    ("report", run.report.clone().unwrap_or_default()),
                ];
                for (what, text) in &outputs {
                    for secret in &setup.secrets {
                        assert!(
                            !text.contains(secret.as_str()),
                            "{} {format} {flags:?} RUST_LOG={rust_log}: {what} has {secret}:\n{text}",
                            setup.name
                        );
                    }
                }
                runs += 1;
            }
        }
    }
    // The table at three levels, three more formats at trace.
    assert_eq!(runs, setups.len() * 6);
    sandbox.shutdown().await;
}

/// `consentry demo --credential KIND`: stdout and exit code.
fn demo(kind: &str) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args(["demo", "--credential", kind])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_demo_runs_with_each_credential_kind_and_its_footer_says_which() {
    let (code, secret, stderr) = demo("secret");
    assert_eq!(code, Some(0), "{stderr}");
    let footer = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("Credential: "))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(footer(&secret), "Credential: client_secret");
    for (kind, expect) in [
        (
            "certificate",
            "Credential: certificate (certificate thumbprint ",
        ),
        ("federated", "Credential: federated"),
    ] {
        let (code, text, stderr) = demo(kind);
        assert_eq!(code, Some(0), "{kind}: {stderr}");
        assert!(
            footer(&text).starts_with(expect),
            "{kind}: {}",
            footer(&text)
        );
        // Every tenant comes out as with the secret: the credential changed, nothing else did.
        // (The registration check's secret ends 12 days from each run, to the minute: the runs
        // may straddle a minute, so the time of day is left out.)
        let without = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with("Credential: "))
                .map(|l| match l.find(" UTC (in ") {
                    Some(at) if l.starts_with("warning[secret-expiring]") => {
                        format!("{}{}", &l[..at.saturating_sub(5)], &l[at..])
                    }
                    _ => l.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(without(&text), without(&secret), "{kind}");
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains("eyJ"),
            "{kind}"
        );
    }
    let (code, _, stderr) = demo("kerberos");
    assert_eq!(code, Some(2), "{stderr}");
}

/// The registration as `az ad app show` exports it, listing `certificate` (by the SHA-1
/// thumbprint, base64 as Graph has it) and one federated credential, and no secret unless asked.
fn export(certificate: &TestCert, issuer: &str, subject: &str, secret: bool) -> Value {
    let sha1 = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        &certificate.cert_der,
    );
    let secrets = if secret {
        serde_json::json!([{"displayName": "ci", "hint": "e2e", "endDateTime": "2099-01-01T00:00:00Z"}])
    } else {
        serde_json::json!([])
    };
    serde_json::json!({
        "id": "9c1f5e2a-7b3d-4e8f-a6c0-2d4b8e1f3a5c",
        "appId": CLIENT_ID,
        "signInAudience": "AzureADMultipleOrgs",
        "web": {"redirectUris": ["https://portal.azure.com"]},
        "requiredResourceAccess": [{
            "resourceAppId": "8ee8fdad-f234-4243-8f3b-15c294843740",
            "resourceAccess": [{"id": "a9790345-4595-42e4-971a-ccdc79f19b7c", "type": "Role"}]
        }],
        "passwordCredentials": secrets,
        "keyCredentials": [{
            "customKeyIdentifier": STANDARD.encode(sha1.as_ref()),
            "displayName": "CN=consentry-e2e",
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "endDateTime": "2099-01-01T00:00:00Z"
        }],
        "federatedIdentityCredentials": [{
            "name": "ci", "issuer": issuer, "subject": subject,
            "audiences": ["api://AzureADTokenExchange"]
        }]
    })
}

/// `consentry app check --from EXPORT --format json` with the setup's files and environment (at
/// `RUST_LOG=trace`): the exit code, the findings as (code, severity, message), and all output.
async fn app_check(
    setup: &Setup,
    export: Option<&Value>,
    skip_files: bool,
    extra: &[&str],
) -> (Option<i32>, Vec<(String, String, String)>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), &setup.credential);
    if !skip_files {
        for (name, bytes) in &setup.files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
    }
    let mut cmd = consentry(dir.path(), setup);
    cmd.args(["app", "check"]).arg(&path);
    if let Some(export) = export {
        let from = dir.path().join("app.json");
        std::fs::write(&from, export.to_string()).unwrap();
        cmd.arg("--from").arg(&from);
    }
    cmd.args(["--format", "json"])
        .args(extra)
        .env("RUST_LOG", "trace");
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    drop(dir);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {all}"));
    let findings = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for secret in &setup.secrets {
        assert!(
            !all.contains(secret.as_str()),
            "{}: a secret in the output",
            setup.name
        );
    }
    assert!(
        !all.contains("eyJ"),
        "{}: a token in the output:\n{all}",
        setup.name
    );
    (output.status.code(), findings, all)
}

fn codes(findings: &[(String, String, String)]) -> Vec<&str> {
    findings.iter().map(|(code, ..)| code.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_check_says_whether_the_registration_lists_the_credential_consentry_signs_with() {
    let sandbox = start(scenario(vec![github_fic()])).await;
    let issuer = format!("{}/_github", sandbox.base_url().trim_end_matches('/'));
    let listed = export(&REGISTERED, &issuer, MAIN, false);
    // Another certificate, and a subject that differs from the job's (an environment instead of
    // the branch): what a registration made for another workflow looks like.
    let unlisted = export(
        &UNREGISTERED,
        &issuer,
        "repo:contoso/soc-connector:environment:prod",
        false,
    );

    let setups = vec![
        certificate_setup("certificate-ps256", &REGISTERED, "ps256"),
        pfx_setup(),
        github_setup(&sandbox),
        federated_file_setup(&sandbox).await,
        federated_env_setup(&sandbox).await,
        kubernetes_setup(&sandbox).await,
    ];
    for setup in &setups {
        let (code, findings, all) = app_check(setup, Some(&listed), false, &[]).await;
        assert_eq!(
            (code, codes(&findings)),
            (Some(0), vec![]),
            "{}: listed\n{all}",
            setup.name
        );
        let (code, findings, all) = app_check(setup, Some(&unlisted), false, &[]).await;
        let want = if setup.kind == "certificate" {
            "certificate-not-registered"
        } else {
            "federated-credential-not-registered"
        };
        assert_eq!(
            (code, codes(&findings)),
            (Some(1), vec![want]),
            "{}: unlisted\n{all}",
            setup.name
        );
        assert_eq!(findings[0].1, "error");
        if setup.kind == "federated" {
            // The message names the subject the token carries and the one the app lists, and
            // the output the AADSTS code the exchange would get.
            let message = &findings[0].2;
            assert!(
                message.contains(MAIN) && message.contains("environment:prod"),
                "{}: {message}",
                setup.name
            );
            assert!(all.contains("AADSTS700213"), "{}: {all}", setup.name);
        }
    }

    // A job that checks the registration but never signs in (a pull request's token has another
    // subject) can leave the credential out of it.
    let before = github_fetches(&sandbox);
    let github = github_setup(&sandbox);
    let (code, findings, all) = app_check(
        &github,
        Some(&unlisted),
        false,
        &["--skip-credential-check"],
    )
    .await;
    assert_eq!((code, codes(&findings)), (Some(0), vec![]), "{all}");
    assert_eq!(
        github_fetches(&sandbox),
        before,
        "GitHub was asked for a token nobody used"
    );

    // A client secret: only "has the app any secret" can be checked (Graph never returns values).
    let secret = secret_setup();
    let (code, findings, all) = app_check(&secret, Some(&listed), false, &[]).await;
    assert_eq!(
        (code, codes(&findings)),
        (Some(1), vec!["no-secret-registered"]),
        "{all}"
    );
    let (code, findings, all) = app_check(
        &secret,
        Some(&export(&REGISTERED, &issuer, MAIN, true)),
        false,
        &[],
    )
    .await;
    assert_eq!((code, codes(&findings)), (Some(0), vec![]), "{all}");

    // Where the credential is not available (a job that only checks the registration), that is
    // said as information and the check still passes; present but unusable is a warning.
    let cert = certificate_setup("certificate-missing", &REGISTERED, "ps256");
    let (code, findings, all) = app_check(&cert, Some(&listed), true, &[]).await;
    assert_eq!(
        (code, codes(&findings)),
        (Some(0), vec!["configured-credential-unchecked"]),
        "{all}"
    );
    assert_eq!(findings[0].1, "info", "{all}");
    assert!(findings[0].2.contains("app.pem"), "{all}");
    let mut github = github_setup(&sandbox);
    github.env.clear();
    let (code, findings, all) = app_check(&github, Some(&listed), false, &[]).await;
    assert_eq!(
        (code, codes(&findings)),
        (Some(0), vec!["configured-credential-unchecked"]),
        "{all}"
    );
    assert!(findings[0].2.contains("id-token: write"), "{all}");
    let mut wrong_password = pfx_setup();
    wrong_password.env = vec![("E2E_PFX_PASSWORD", "not-the-password".to_owned())];
    wrong_password.secrets.push("not-the-password".to_owned());
    let (code, findings, all) = app_check(&wrong_password, Some(&listed), false, &[]).await;
    assert_eq!(
        (code, codes(&findings)),
        (Some(0), vec!["configured-credential-unchecked"]),
        "{all}"
    );
    assert_eq!(findings[0].1, "warning", "{all}");

    // An expired certificate is still compared by its thumbprint: not listed, it is the error
    // (listed, the registration's own end date gives `certificate-expired`).
    let expired = certificate_setup("certificate-expired", &EXPIRED, "ps256");
    let (code, findings, all) = app_check(&expired, Some(&listed), false, &[]).await;
    assert_eq!(
        (code, codes(&findings)),
        (Some(1), vec!["certificate-not-registered"]),
        "{all}"
    );

    // An `az ad app show` export carries no federated credentials: nothing to compare a token
    // with, so GitHub is not asked for one.
    let mut plain = listed.clone();
    plain
        .as_object_mut()
        .unwrap()
        .remove("federatedIdentityCredentials");
    let before = github_fetches(&sandbox);
    let (code, findings, all) = app_check(&github_setup(&sandbox), Some(&plain), false, &[]).await;
    assert_eq!(
        (code, codes(&findings)),
        (Some(0), vec!["federated-credentials-unknown"]),
        "{all}"
    );
    assert_eq!(
        github_fetches(&sandbox),
        before,
        "GitHub was asked for a token nothing could use"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_app_checks_the_github_subject_against_graph_and_fetches_githubs_token_once() {
    // Graph's application object (without credentials: the sandbox shows the ones its token
    // endpoint trusts, unless the graph section lists others on purpose).
    let mut application = export(&REGISTERED, "unused", MAIN, false);
    let object = application.as_object_mut().unwrap();
    object.remove("federatedIdentityCredentials");
    object.remove("keyCredentials");
    let pull_request = "repo:contoso/soc-connector:pull_request";
    for (graph_fics, want) in [
        // Graph and sign-in agree: the job's subject is registered.
        ("", vec![]),
        // Graph lists only another subject for the sandbox's issuer.
        (
            &*format!(
                "  federated_identity_credentials:\n    - {{name: pr, issuer: sandbox, subject: \"{pull_request}\"}}\n"
            ),
            vec!["federated-credential-not-registered"],
        ),
    ] {
        let graph = format!(
            "graph:\n  read_tokens: [e2e-graph-read]\n  application: {application}\n{graph_fics}"
        );
        let sandbox = start(scenario_with(vec![github_fic()], &graph)).await;
        let setup = github_setup(&sandbox);
        let host = sandbox.base_url();
        let run = verify(
            &sandbox,
            &setup,
            &["--app", "--graph-host", &host],
            &[
                ("CONSENTRY_GRAPH_TOKEN", "e2e-graph-read"),
                ("RUST_LOG", "trace"),
            ],
        )
        .await;
        let report = run.json();
        let section = &report["app_registration"];
        let codes: Vec<&str> = section["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("{report}\n{}", run.stderr()))
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        // Graph shows the certificates the token endpoint trusts, the expired one included.
        let (expired, codes): (Vec<&str>, Vec<&str>) =
            codes.into_iter().partition(|c| *c == "certificate-expired");
        assert_eq!(expired.len(), 1, "{section}");
        assert_eq!(codes, want, "{section}");
        if want.is_empty() {
            assert_eq!(
                run.code(),
                Some(1),
                "the expired certificate is an error finding: {section}"
            );
        } else {
            let message = section["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["code"] == want[0])
                .unwrap()["message"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                message.contains(MAIN) && message.contains(pull_request),
                "{message}"
            );
        }
        // Every tenant still got its token (the token endpoint trusts the job's subject), and
        // GitHub was asked once for the check and the whole run together.
        for (name, status) in statuses(&report) {
            assert_eq!(status, "ok", "{name}: {report}");
        }
        assert_eq!(github_fetches(&sandbox), 1, "{:?}", sandbox.request_log());
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert!(!all.contains("eyJ"), "a token in the output:\n{all}");
        assert!(
            !all.contains("e2e-graph-read"),
            "the Graph token in the output"
        );
        for secret in &setup.secrets {
            assert!(!all.contains(secret.as_str()));
        }
        sandbox.shutdown().await;
    }
}

/// Graph's application object for `graph:` sections: no `keyCredentials` and no federated
/// credentials of its own, so the sandbox shows the ones its token endpoint trusts; a secret only
/// when asked.
fn graph_application(secret: bool) -> Value {
    let mut application = export(&REGISTERED, "unused", MAIN, secret);
    let object = application.as_object_mut().unwrap();
    object.remove("federatedIdentityCredentials");
    object.remove("keyCredentials");
    application
}

const GRAPH_TOKEN: &str = "e2e-graph-read";

fn graph_section(application: &Value) -> String {
    format!("graph:\n  read_tokens: [{GRAPH_TOKEN}]\n  application: {application}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_check_online_compares_the_certificate_and_secret_with_what_graph_shows() {
    let sandbox = start(scenario_with(
        vec![github_fic()],
        &graph_section(&graph_application(false)),
    ))
    .await;
    // Graph's keyCredentials are the sandbox's registered certificates, identified as Graph
    // does: the SHA-1 thumbprint as base64 bytes.
    let app: Value = reqwest::Client::new()
        .get(format!(
            "{}/v1.0/applications(appId='{CLIENT_ID}')",
            sandbox.base_url()
        ))
        .bearer_auth(GRAPH_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sha1 = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        &REGISTERED.cert_der,
    );
    assert_eq!(
        app["keyCredentials"][0]["customKeyIdentifier"],
        STANDARD.encode(sha1.as_ref()),
        "{app}"
    );

    let host = sandbox.base_url();
    let online = ["--graph-host", host.as_str()];
    let with_token = |mut setup: Setup| {
        setup
            .env
            .push(("CONSENTRY_GRAPH_TOKEN", GRAPH_TOKEN.to_owned()));
        setup.secrets.push(GRAPH_TOKEN.to_owned());
        setup
    };
    for (setup, want) in [
        (
            certificate_setup("registered", &REGISTERED, "ps256"),
            vec!["certificate-expired"],
        ),
        (
            certificate_setup("unregistered", &UNREGISTERED, "rs256"),
            vec!["certificate-expired", "certificate-not-registered"],
        ),
        // Registered but expired: the registration's end date says it (the local certificate
        // is compared by thumbprint all the same).
        (
            certificate_setup("expired", &EXPIRED, "ps256"),
            vec!["certificate-expired"],
        ),
        // No secret on the app at all.
        (
            secret_setup(),
            vec!["certificate-expired", "no-secret-registered"],
        ),
    ] {
        let name = setup.name;
        let (code, findings, all) = app_check(&with_token(setup), None, false, &online).await;
        let mut got = codes(&findings);
        got.sort_unstable();
        assert_eq!((code, got), (Some(1), want), "{name}:\n{all}");
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_app_refuses_usage_errors_before_asking_github_or_anyone() {
    let sandbox = start(scenario_with(
        vec![github_fic()],
        &graph_section(&graph_application(false)),
    ))
    .await;
    let setup = github_setup(&sandbox);
    let host = sandbox.base_url();
    for (what, extra, env) in [
        (
            "no Graph token",
            vec!["--app", "--graph-host", host.as_str()],
            vec![],
        ),
        (
            "a CA file that is not one",
            vec![
                "--app",
                "--graph-host",
                host.as_str(),
                "--ca-cert",
                "missing.pem",
            ],
            vec![("CONSENTRY_GRAPH_TOKEN", GRAPH_TOKEN)],
        ),
        (
            "a --from file that does not exist",
            vec!["--app", "--from", "missing.json"],
            vec![],
        ),
    ] {
        let run = verify(&sandbox, &setup, &extra, &env).await;
        assert_eq!(run.code(), Some(2), "{what}: {}", run.stderr());
        assert!(
            sandbox.request_log().is_empty(),
            "{what}: requests were sent: {:?}",
            sandbox.request_log()
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_private_ca_the_github_token_is_fetched_once_with_ca_cert() {
    // The sandbox over TLS with its own CA: the authority, Graph and GitHub's stand-in alike,
    // as behind a TLS-inspecting proxy. `--ca-cert` must reach every client, the one that
    // fetches GitHub's token for the registration check included.
    let sandbox = Sandbox::start_with(
        scenario_with(
            vec![github_fic()],
            &graph_section(&graph_application(false)),
        ),
        SecretString::from(SECRET),
        consentry::sandbox::Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: consentry::sandbox::Tls::Generate,
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sandbox.ca_pem().unwrap()).unwrap();
    let ca = ca.display().to_string();
    let setup = github_setup(&sandbox);
    let host = sandbox.base_url();
    assert!(host.starts_with("https://"), "{host}");
    let run = verify(
        &sandbox,
        &setup,
        &["--app", "--graph-host", &host, "--ca-cert", &ca],
        &[("CONSENTRY_GRAPH_TOKEN", GRAPH_TOKEN)],
    )
    .await;
    let report = run.json();
    let codes: Vec<&str> = report["app_registration"]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{report}\n{}", run.stderr()))
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    // The subject was compared (no "could not be read"), and it is registered.
    assert_eq!(codes, vec!["certificate-expired"], "{}", run.stderr());
    for (name, status) in statuses(&report) {
        assert_eq!(status, "ok", "{name}: {report}");
    }
    assert_eq!(github_fetches(&sandbox), 1, "{:?}", sandbox.request_log());
    sandbox.shutdown().await;
}
