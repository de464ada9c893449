//! The verify engine and token client against the real sandbox identity platform, in-process over
//! loopback: every status, every failure mode, the credential stop, filters, exit codes, the
//! concurrency cap, and that no secret or token reaches a log, a report or an error.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a panic is a test failure with a message"
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use consentry::cloud::Cloud;
use consentry::credential::AppCredential;
use consentry::entra as auth;
use consentry::exit::Exit;
use consentry::http::RetryPolicy;
use consentry::model::{Api, App, Credential, Manifest, Tenant, TenantId};
use consentry::sandbox::{Sandbox, Scenario};
use consentry::secret::{ExposeSecret as _, SecretString};
use consentry::verify::report::{Report, Status};
use consentry::verify::{self, NoProgress, Options, Progress, VerifyError};

const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const SECRET: &str = "planted-S3CRET-value-7f1d2c9e";
const M365D: &str = "https://api.security.microsoft.com";
const MDE: &str = "https://api.securitycenter.microsoft.com";
const HUNT: &str = "AdvancedHunting.Read.All";
const INCIDENT: &str = "Incident.Read.All";
const MACHINE: &str = "Machine.Read.All";

macro_rules! snapshot_json {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => true,
            filters => vec![
                (r#""generated_at": "[^"]+""#, r#""generated_at": "[TIME]""#),
                (r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[MS]""#),
                (r#""(trace_id|correlation_id|request_id)": "[^"]+""#, r#""$1": "[ID]""#),
                (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
                // An expired token's times move with the clock.
                (r#"claim `exp`: expected a time after [^"]+"#, "claim `exp`: [TIMES]"),
            ],
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

/// Tenant GUIDs that read well in snapshots.
fn guid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn tenant(name: &str, id: &str, required: &[(&str, &[&str])]) -> Tenant {
    let id = if uuid::Uuid::parse_str(id).is_ok() {
        TenantId::Guid(id.parse().unwrap())
    } else {
        TenantId::Domain(id.to_owned())
    };
    Tenant {
        name: name.to_owned(),
        id,
        labels: Vec::new(),
        required: required
            .iter()
            .map(|(api, roles)| {
                (
                    api.to_string(),
                    roles.iter().map(|r| r.to_string()).collect(),
                )
            })
            .collect(),
    }
}

/// Both Defender APIs, every tenant needing hunting + incidents on XDR and machines on MDE.
const BOTH: &[(&str, &[&str])] = &[
    ("microsoft-365-defender", &[HUNT, INCIDENT]),
    ("defender-for-endpoint", &[MACHINE]),
];
/// Only the endpoint API: one request per tenant, for counting.
const MDE_ONLY: &[(&str, &[&str])] = &[("defender-for-endpoint", &[MACHINE])];

fn manifest(tenants: Vec<Tenant>) -> Manifest {
    let api = |key: &str, resource: &str, app_id: &str, roles: &[&str]| Api {
        key: key.to_owned(),
        resource: resource.to_owned(),
        resource_app_id: Some(app_id.to_owned()),
        display_name: key.to_owned(),
        in_catalog: true,
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    Manifest {
        app: App {
            name: "Contoso SOC Connector".to_owned(),
            client_id: CLIENT.parse().unwrap(),
            redirect_uri: "https://portal.azure.com".to_owned(),
            credential: Credential::default(),
            home_tenant: None,
        },
        cloud: Cloud::Global,
        apis: vec![
            api(
                "microsoft-365-defender",
                M365D,
                "8ee8fdad-f234-4243-8f3b-15c294843740",
                &[HUNT, INCIDENT],
            ),
            api(
                "defender-for-endpoint",
                MDE,
                "fc780465-2017-40d4-a0c5-307022471b92",
                &[MACHINE],
            ),
        ],
        tenants,
    }
}

fn scenario(tenants: &str) -> Scenario {
    capture();
    let text =
        format!("app:\n  client_id: {CLIENT}\n  name: Contoso SOC Connector\ntenants:\n{tenants}");
    Scenario::from_yaml("test.sandbox.yaml", &text).unwrap()
}

/// A scenario tenant (YAML list item) granting everything `BOTH` needs, plus `extra` lines.
fn granted(name: &str, id: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    id: {id}\n    grants:\n      {M365D}: [{HUNT}, {INCIDENT}]\n      {MDE}: [{MACHINE}]\n{extra}"
    )
}

/// The credential verify signs in with: the secret the sandbox accepts.
fn cred() -> AppCredential {
    AppCredential::from_secret(secret())
}

fn secret() -> SecretString {
    SecretString::from(SECRET.to_owned())
}

async fn sandbox(scenario: Scenario) -> Sandbox {
    Sandbox::start(scenario, secret(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Fast options for tests: short timeouts and backoffs, a small gate.
fn options(sandbox: &Sandbox) -> Options {
    let authority =
        consentry::cloud::authority_host(Some(&sandbox.base_url()), Cloud::Global).unwrap();
    let mut options = Options::new(authority);
    options.concurrency = 4;
    options.timeout = Duration::from_secs(5);
    options.retries = 2;
    options.backoff_base = Duration::from_millis(10);
    options.max_retry_after = Duration::from_secs(2);
    options
}

fn total_requests(sandbox: &Sandbox) -> usize {
    sandbox.requests_per_tenant().values().sum()
}

fn statuses(report: &Report) -> Vec<(&str, Status)> {
    report
        .tenants
        .iter()
        .map(|t| (t.name.as_str(), t.status))
        .collect()
}

fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap()
}

#[tokio::test]
async fn every_status_in_one_run() {
    let tenants = [
        granted("Fabrikam", &guid(1), ""),
        // Consented through a domain, tokens carrying the resource app id as `aud`.
        granted(
            "Northwind",
            &guid(2),
            "    domains: [northwind.onmicrosoft.com]\n    aud: app_id\n",
        ),
        format!(
            "  - name: Tailspin\n    id: {}\n    grants:\n      {M365D}: [{INCIDENT}, Incident.ReadWrite.All]\n",
            guid(3)
        ),
        granted("Adatum", &guid(4), "    failure: not_consented\n"),
        granted("Litware", &guid(5), "    failure: disabled\n"),
        format!(
            "  - name: Woodgrove\n    id: {}\n    missing_resources: [{M365D}]\n    grants:\n      {MDE}: [{MACHINE}]\n",
            guid(6)
        ),
        // guid(7) is not in the scenario: tenant not found.
        granted("Proseware", &guid(8), "    failure: {aadsts: {code: 53003}}\n"),
        granted(
            "Fourth Coffee",
            &guid(9),
            "    failure: {aadsts: {code: 9999999, message: Something new happened.}}\n",
        ),
        granted("Lamna", &guid(10), "    failure: not_json\n"),
        granted("Relecloud", &guid(11), "    lie: expired\n"),
    ]
    .concat();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(vec![
        tenant("Fabrikam", &guid(1), BOTH),
        tenant("Northwind", "northwind.onmicrosoft.com", BOTH),
        tenant("Tailspin", &guid(3), BOTH),
        tenant("Adatum", &guid(4), BOTH),
        tenant("Litware", &guid(5), BOTH),
        tenant("Woodgrove", &guid(6), BOTH),
        tenant("Contoso Ltd", &guid(7), BOTH),
        tenant("Proseware", &guid(8), BOTH),
        tenant("Fourth Coffee", &guid(9), BOTH),
        tenant("Lamna", &guid(10), BOTH),
        tenant("Relecloud", &guid(11), BOTH),
    ]);
    let report = verify::run(&manifest, &cred(), &options(&sandbox), &NoProgress)
        .await
        .unwrap();
    sandbox.shutdown().await;

    assert_eq!(
        statuses(&report),
        [
            ("Fabrikam", Status::Ok),
            ("Northwind", Status::Ok),
            ("Tailspin", Status::MissingRoles),
            ("Adatum", Status::NotConsented),
            ("Litware", Status::Disabled),
            ("Woodgrove", Status::ResourceMissing),
            ("Contoso Ltd", Status::TenantNotFound),
            ("Proseware", Status::Error),
            ("Fourth Coffee", Status::Error),
            ("Lamna", Status::Error),
            ("Relecloud", Status::InvalidToken),
        ]
    );
    let by_name = |name: &str| report.tenants.iter().find(|t| t.name == name).unwrap();
    // A domain tenant learns its GUID from the token.
    assert_eq!(
        by_name("Northwind").tenant_id.as_deref(),
        Some(guid(2).as_str())
    );
    // Missing roles: the XDR token lacks hunting and the read/write twin is extra, the MDE token has
    // no `roles` claim at all.
    let tailspin = by_name("Tailspin");
    assert_eq!(tailspin.apis[0].missing, [HUNT]);
    assert_eq!(tailspin.apis[0].extra, ["Incident.ReadWrite.All"]);
    assert_eq!(tailspin.apis[1].granted, Vec::<String>::new());
    assert!(
        tailspin
            .consent_url
            .as_deref()
            .unwrap()
            .starts_with(&format!(
                "https://login.microsoftonline.com/{}/adminconsent?client_id={CLIENT}",
                guid(3)
            ))
    );
    let adatum = by_name("Adatum");
    let error = adatum.error.as_ref().unwrap();
    assert_eq!(error.code.as_deref(), Some("AADSTS700016"));
    assert!(error.trace_id.is_some() && error.correlation_id.is_some());
    assert!(adatum.consent_url.is_some());
    assert_eq!(by_name("Litware").consent_url, None);
    let unknown = by_name("Fourth Coffee").error.as_ref().unwrap();
    assert_eq!(unknown.code.as_deref(), Some("AADSTS9999999"));
    assert_eq!(unknown.message, "Something new happened.");
    let lamna = by_name("Lamna").error.as_ref().unwrap();
    assert_eq!(
        (lamna.error.as_str(), lamna.http_status),
        ("unexpected_response", Some(200))
    );
    assert!(
        by_name("Relecloud")
            .error
            .as_ref()
            .unwrap()
            .message
            .starts_with("claim `exp`: expected a time after "),
    );
    assert_eq!(report.summary.fully_covered, 2);
    assert_eq!(report.summary.tenants, 11);
    assert_eq!(report.exit(), Exit::Undetermined);
    let json = to_json(&report);
    assert!(!json.contains("eyJ") && !json.contains(SECRET));
    snapshot_json!("every_status", json);
}

#[tokio::test]
async fn wrong_secret_stops_after_one_request_and_names_the_fix_for_every_tenant() {
    let tenants: String = (1..=20)
        .map(|n| granted(&format!("T{n}"), &guid(n), ""))
        .collect();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(
        (1..=20)
            .map(|n| tenant(&format!("T{n}"), &guid(n), BOTH))
            .collect(),
    );
    let mut opts = options(&sandbox);
    opts.concurrency = 8;
    let wrong = SecretString::from("not-the-secret".to_owned());
    let report = verify::run(
        &manifest,
        &AppCredential::from_secret(wrong),
        &opts,
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(
        total_requests(&sandbox),
        1,
        "one rejection is enough: {:?}",
        sandbox.requests_per_tenant()
    );
    sandbox.shutdown().await;
    assert_eq!(report.tenants[0].status, Status::CredentialRejected);
    assert!(
        report.tenants[1..]
            .iter()
            .all(|t| t.status == Status::NotChecked)
    );
    let failure = report.app_failure.as_ref().unwrap();
    assert!(
        failure.fix.contains("in the home tenant"),
        "{}",
        failure.fix
    );
    assert_eq!(failure.tenants, report.tenants.len());
    let first = report.tenants[0].error.as_ref().unwrap();
    assert_eq!(first.code.as_deref(), Some("AADSTS7000215"));
    assert_eq!(first.http_status, Some(401));
    let later = report.tenants[7].error.as_ref().unwrap();
    assert_eq!(later.error, "not_asked");
    assert!(later.message.contains("AADSTS7000215"), "{}", later.message);
    let hints: std::collections::BTreeSet<_> =
        report.tenants.iter().map(|t| t.hint.clone()).collect();
    assert_eq!(hints.len(), 1, "one clear message: {hints:?}");
    assert!(
        hints
            .iter()
            .next()
            .unwrap()
            .as_deref()
            .unwrap()
            .contains("see the app-wide failure")
    );
    assert_eq!(report.exit(), Exit::Undetermined);
}

#[tokio::test]
async fn throttling_is_retried_honouring_retry_after() {
    let tenants = [
        granted(
            "Json429",
            &guid(1),
            "    throttle: {times: 1, retry_after: 1}\n",
        ),
        granted(
            "Text429",
            &guid(2),
            "    throttle: {times: 1, retry_after: 1, body: text}\n",
        ),
    ]
    .concat();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(vec![
        tenant("Json429", &guid(1), MDE_ONLY),
        tenant("Text429", &guid(2), MDE_ONLY),
    ]);
    let started = Instant::now();
    let report = verify::run(&manifest, &cred(), &options(&sandbox), &NoProgress)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let counts = sandbox.requests_per_tenant();
    sandbox.shutdown().await;
    assert_eq!(
        statuses(&report),
        [("Json429", Status::Ok), ("Text429", Status::Ok)]
    );
    assert_eq!(counts.get(&guid(1)), Some(&2));
    assert_eq!(counts.get(&guid(2)), Some(&2));
    // The 10ms backoff would have retried at once: the wait is Retry-After's second.
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
}

#[tokio::test]
async fn retry_after_is_capped_and_throttling_past_the_retries_is_an_error() {
    let tenants = [
        granted(
            "Patient",
            &guid(1),
            "    throttle: {times: 1, retry_after: 60}\n",
        ),
        granted(
            "Stubborn",
            &guid(2),
            "    throttle: {times: 10, retry_after: 60}\n",
        ),
    ]
    .concat();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(vec![
        tenant("Patient", &guid(1), MDE_ONLY),
        tenant("Stubborn", &guid(2), MDE_ONLY),
    ]);
    let mut opts = options(&sandbox);
    opts.max_retry_after = Duration::from_millis(200);
    let started = Instant::now();
    let report = verify::run(&manifest, &cred(), &opts, &NoProgress)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let counts = sandbox.requests_per_tenant();
    sandbox.shutdown().await;
    // Uncapped, the two 60s waits would take two minutes; a generous bound proves the cap.
    assert!(
        elapsed < Duration::from_secs(60),
        "60s was capped: {elapsed:?}"
    );
    assert_eq!(
        statuses(&report),
        [("Patient", Status::Ok), ("Stubborn", Status::Error)]
    );
    assert_eq!(counts.get(&guid(2)), Some(&3), "first attempt + 2 retries");
    let error = report.tenants[1].error.as_ref().unwrap();
    assert_eq!(error.code.as_deref(), Some("AADSTS90055"));
    assert_eq!(error.http_status, Some(429));
    assert!(
        report.tenants[1]
            .hint
            .as_deref()
            .unwrap()
            .starts_with("Still failing after every retry.")
    );
    assert_eq!(report.exit(), Exit::Undetermined);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let tenants = [
        granted("Flaky", &guid(1), "    transient: {times: 2}\n"),
        granted("Down", &guid(2), "    transient: {times: 9, status: 502}\n"),
    ]
    .concat();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(vec![
        tenant("Flaky", &guid(1), MDE_ONLY),
        tenant("Down", &guid(2), MDE_ONLY),
    ]);
    let report = verify::run(&manifest, &cred(), &options(&sandbox), &NoProgress)
        .await
        .unwrap();
    let counts = sandbox.requests_per_tenant();
    sandbox.shutdown().await;
    assert_eq!(
        statuses(&report),
        [("Flaky", Status::Ok), ("Down", Status::Error)]
    );
    assert_eq!(counts.get(&guid(1)), Some(&3));
    assert_eq!(counts.get(&guid(2)), Some(&3));
    assert_eq!(
        report.tenants[1].error.as_ref().unwrap().http_status,
        Some(502)
    );
}

#[tokio::test]
async fn a_hanging_tenant_times_out_after_the_retries_without_holding_up_the_rest() {
    let tenants = [
        granted("Hangs", &guid(1), "    failure: hang\n"),
        granted("Fine", &guid(2), ""),
    ]
    .concat();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(vec![
        tenant("Hangs", &guid(1), MDE_ONLY),
        tenant("Fine", &guid(2), MDE_ONLY),
    ]);
    let mut opts = options(&sandbox);
    opts.timeout = Duration::from_millis(300);
    opts.retries = 1;
    let started = Instant::now();
    let report = verify::run(&manifest, &cred(), &opts, &NoProgress)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let counts = sandbox.requests_per_tenant();
    sandbox.shutdown().await;
    assert_eq!(
        statuses(&report),
        [("Hangs", Status::Error), ("Fine", Status::Ok)]
    );
    let error = report.tenants[0].error.as_ref().unwrap();
    assert_eq!(error.error, "timeout");
    assert_eq!(error.message, "no answer within 0.3s, 2 attempt(s)");
    assert!(
        report.tenants[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("--timeout")
    );
    // The last attempt's client-request-id is kept for support cases.
    assert!(
        error
            .request_id
            .as_deref()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{error:?}"
    );
    assert_eq!(counts.get(&guid(1)), Some(&2));
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    // Liveness, not speed: without the per-attempt timeout this request would never end.
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    capture();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let authority =
        consentry::cloud::authority_host(Some(&format!("http://127.0.0.1:{port}")), Cloud::Global)
            .unwrap();
    let mut opts = Options::new(authority);
    opts.retries = 2;
    opts.backoff_base = Duration::from_millis(10);
    let manifest = manifest(vec![tenant("Nowhere", &guid(1), MDE_ONLY)]);
    let report = verify::run(&manifest, &cred(), &opts, &NoProgress)
        .await
        .unwrap();
    let tenant = &report.tenants[0];
    assert_eq!(tenant.status, Status::Error);
    let error = tenant.error.as_ref().unwrap();
    assert_eq!(error.error, "connection_failed");
    assert!(
        error.message.ends_with(", 3 attempt(s)"),
        "{}",
        error.message
    );
    assert!(tenant.hint.as_deref().unwrap().contains("--authority-host"));
    assert_eq!(report.exit(), Exit::Undetermined);
}

#[tokio::test]
async fn every_lying_token_is_invalid_and_says_which_claim() {
    let lies = [
        ("OtherTid", "other_tid", "tid"),
        ("OtherAud", "other_aud", "aud"),
        ("OtherApp", "other_appid", "appid"),
        ("Expired", "expired", "exp"),
    ];
    let tenants: String = lies
        .iter()
        .zip(1..)
        .map(|((name, lie, _), n)| granted(name, &guid(n), &format!("    lie: {lie}\n")))
        .collect();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(
        lies.iter()
            .zip(1..)
            .map(|((name, _, _), n)| tenant(name, &guid(n), MDE_ONLY))
            .collect(),
    );
    let report = verify::run(&manifest, &cred(), &options(&sandbox), &NoProgress)
        .await
        .unwrap();
    sandbox.shutdown().await;
    for ((name, _, claim), tenant) in lies.iter().zip(&report.tenants) {
        assert_eq!(tenant.status, Status::InvalidToken, "{name}");
        assert!(
            tenant.apis[0].granted.is_empty(),
            "{name}: a lie is no evidence"
        );
        let error = tenant.error.as_ref().unwrap();
        assert_eq!(error.error, "invalid_token");
        assert!(
            error
                .message
                .starts_with(&format!("claim `{claim}`: expected ")),
            "{name}: {}",
            error.message
        );
        assert!(error.message.contains(", got "), "{}", error.message);
        assert!(!error.message.contains("eyJ"));
    }
    assert!(
        report.tenants[0]
            .error
            .as_ref()
            .unwrap()
            .message
            .starts_with(&format!("claim `tid`: expected {}, got ", guid(1)))
    );
    assert_eq!(report.exit(), Exit::Findings);
}

#[tokio::test]
async fn tenant_filter_narrows_the_run_and_unknown_names_are_usage_errors() {
    let tenants: String = (1..=4)
        .map(|n| granted(&format!("Tenant {n}"), &guid(n), ""))
        .collect();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(
        (1..=4)
            .map(|n| tenant(&format!("Tenant {n}"), &guid(n), MDE_ONLY))
            .collect(),
    );
    let mut opts = options(&sandbox);
    opts.tenants = vec!["Tenat 3".to_owned()];
    let err = verify::run(&manifest, &cred(), &opts, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::UnknownTenant { .. }));
    assert_eq!(
        err.to_string(),
        "no tenant in the manifest is named `Tenat 3` or has that id (did you mean `Tenant 3`?)"
    );
    assert_eq!(
        total_requests(&sandbox),
        0,
        "nothing is sent on a usage error"
    );

    // By id (any case) and by name (any case); the report keeps manifest order.
    opts.tenants = vec![guid(3).to_uppercase(), "tenant 1".to_owned()];
    let report = verify::run(&manifest, &cred(), &opts, &NoProgress)
        .await
        .unwrap();
    let asked: Vec<String> = sandbox.requests_per_tenant().into_keys().collect();
    sandbox.shutdown().await;
    assert_eq!(
        statuses(&report),
        [("Tenant 1", Status::Ok), ("Tenant 3", Status::Ok)]
    );
    assert_eq!(asked, [guid(1), guid(3)]);
    assert_eq!(report.summary.tenants, 2);
}

#[tokio::test]
async fn exit_codes_follow_the_contract() {
    let tenants = [
        granted("Clean", &guid(1), ""),
        format!(
            "  - name: Generous\n    id: {}\n    grants:\n      {MDE}: [{MACHINE}, Machine.Isolate]\n",
            guid(2)
        ),
        granted("Unconsented", &guid(3), "    failure: not_consented\n"),
    ]
    .concat();
    let sandbox = sandbox(scenario(&tenants)).await;
    let all = manifest(vec![
        tenant("Clean", &guid(1), MDE_ONLY),
        tenant("Generous", &guid(2), MDE_ONLY),
        tenant("Unconsented", &guid(3), MDE_ONLY),
    ]);
    let mut opts = options(&sandbox);
    opts.tenants = vec!["Clean".to_owned(), "Generous".to_owned()];
    let report = verify::run(&all, &cred(), &opts, &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        report.exit(),
        Exit::Success,
        "extra roles are fine by default"
    );

    opts.fail_on_extra = true;
    let strict = verify::run(&all, &cred(), &opts, &NoProgress)
        .await
        .unwrap();
    assert_eq!(strict.exit(), Exit::Findings);
    assert_eq!(strict.tenants[1].status, Status::ExtraRoles);
    assert_eq!(
        strict.tenants[1].hint.as_deref(),
        Some(
            "Extra roles granted (least privilege): defender-for-endpoint: Machine.Isolate. Remove them from the app registration, then have the tenant consent again, or revoke them in the tenant."
        )
    );

    opts.fail_on_extra = false;
    opts.tenants = vec!["Clean".to_owned(), "Unconsented".to_owned()];
    let gaps = verify::run(&all, &cred(), &opts, &NoProgress)
        .await
        .unwrap();
    sandbox.shutdown().await;
    assert_eq!(gaps.exit(), Exit::Findings);
}

#[derive(Default)]
struct Counting {
    total: AtomicUsize,
    advanced: AtomicUsize,
    finished: AtomicUsize,
}

impl Progress for Counting {
    fn start(&self, total: usize) {
        self.total.store(total, Ordering::SeqCst);
    }
    fn advance(&self) {
        self.advanced.fetch_add(1, Ordering::SeqCst);
    }
    fn finish(&self) {
        self.finished.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn concurrency_cap_is_respected_and_progress_counts_tenants() {
    // Eight tenants answering in 200ms each: at width 2 that takes at least four rounds; at width
    // 8, one round after the first answer opens the gate.
    let tenants: String = (1..=8)
        .map(|n| granted(&format!("T{n}"), &guid(n), "    latency_ms: 200\n"))
        .collect();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(
        (1..=8)
            .map(|n| tenant(&format!("T{n}"), &guid(n), MDE_ONLY))
            .collect(),
    );
    let mut opts = options(&sandbox);
    let mut timings = BTreeMap::new();
    for width in [2, 8] {
        opts.concurrency = width;
        let progress = Counting::default();
        let started = Instant::now();
        let report = verify::run(&manifest, &cred(), &opts, &progress)
            .await
            .unwrap();
        timings.insert(width, started.elapsed());
        assert!(report.tenants.iter().all(|t| t.status == Status::Ok));
        assert_eq!(progress.total.load(Ordering::SeqCst), 8);
        assert_eq!(progress.advanced.load(Ordering::SeqCst), 8);
        assert_eq!(progress.finished.load(Ordering::SeqCst), 1);
    }
    sandbox.shutdown().await;
    assert!(
        timings[&2] >= Duration::from_millis(800),
        "width 2 must not run 8 at once: {timings:?}"
    );
    // Relative, not a wall-clock limit: a slow machine slows both widths alike.
    assert!(
        timings[&8] < timings[&2],
        "width 8 runs them together: {timings:?}"
    );
}

#[tokio::test]
async fn fetch_token_returns_a_redacted_token_with_the_granted_roles() {
    let sandbox = sandbox(scenario(&granted(
        "Fabrikam",
        &guid(1),
        "    domains: [fabrikam.onmicrosoft.com]\n",
    )))
    .await;
    let authority =
        consentry::cloud::authority_host(Some(&sandbox.base_url()), Cloud::Global).unwrap();
    let policy = RetryPolicy {
        timeout: Duration::from_secs(5),
        ..RetryPolicy::default()
    };
    let token = auth::fetch_token(
        &authority,
        "fabrikam.onmicrosoft.com",
        MDE,
        CLIENT,
        &cred(),
        policy,
    )
    .await
    .unwrap();
    assert!(!format!("{token:?}").contains("eyJ"));
    // The sandbox's lifetimes vary as Entra's do (60–90 min).
    assert!(
        token.expires_in.is_some_and(|s| (3599..=5399).contains(&s)),
        "{:?}",
        token.expires_in
    );
    let decoded = consentry::jwt::decode(token.token.expose_secret()).unwrap();
    assert_eq!(decoded.roles(), [MACHINE]);
    assert_eq!(decoded.tid(), Some(guid(1).as_str()));

    let err = auth::fetch_token(
        &authority,
        &guid(1),
        MDE,
        CLIENT,
        &AppCredential::from_secret(SecretString::from("x".to_owned())),
        policy,
    )
    .await
    .unwrap_err();
    sandbox.shutdown().await;
    assert_eq!(err.kind, auth::Kind::CredentialRejected);
    assert!(err.to_string().starts_with("AADSTS7000215: "), "{err}");
}

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

static CAPTURED: OnceLock<Captured> = OnceLock::new();

/// Every test's logs, at TRACE, into one buffer the leak test searches. Global and installed before
/// any test logs: a per-test (thread-local) subscriber races with tracing's callsite cache when
/// tests run in parallel.
fn capture() -> &'static Captured {
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_secret_and_tokens_reach_no_log_report_or_error() {
    let tenants = [
        granted("Fabrikam", &guid(1), ""),
        granted("Liar", &guid(2), "    lie: other_aud\n"),
        granted("Adatum", &guid(3), "    failure: not_consented\n"),
        granted("Lamna", &guid(4), "    failure: not_json\n"),
    ]
    .concat();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(vec![
        tenant("Fabrikam", &guid(1), BOTH),
        tenant("Liar", &guid(2), BOTH),
        tenant("Adatum", &guid(3), BOTH),
        tenant("Lamna", &guid(4), BOTH),
    ]);
    let report = verify::run(&manifest, &cred(), &options(&sandbox), &NoProgress)
        .await
        .unwrap();
    let wrong = verify::run(
        &manifest,
        &AppCredential::from_secret(SecretString::from(format!("{SECRET}-wrong"))),
        &options(&sandbox),
        &NoProgress,
    )
    .await
    .unwrap();
    sandbox.shutdown().await;
    let logs = String::from_utf8(capture().0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("token request"),
        "debug logs were captured: {logs}"
    );
    let mut outputs = vec![
        ("logs", logs),
        ("report json", to_json(&report)),
        ("report debug", format!("{report:?}")),
        ("wrong-secret report", to_json(&wrong)),
        ("options debug", format!("{:?}", options_debug())),
    ];
    for tenant in report.tenants.iter().chain(&wrong.tenants) {
        outputs.push(("hint", tenant.hint.clone().unwrap_or_default()));
    }
    for (what, text) in outputs {
        assert!(!text.contains(SECRET), "the secret leaked into {what}");
        assert!(!text.contains("eyJ"), "a token leaked into {what}");
    }
}

fn options_debug() -> String {
    let options = Options::new(url::Url::parse("http://127.0.0.1:1").unwrap());
    format!("{options:?} {:?}", secret())
}

macro_rules! snapshot_text {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => true,
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

/// The reference §3 token, signed with nothing: `decode` describes, it does not verify.
fn reference_token(extra: serde_json::Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let mut claims = serde_json::json!({
        "aud": MDE, "iss": format!("https://sts.windows.net/{}/", guid(1)),
        "iat": 1_717_046_428, "nbf": 1_717_046_428, "exp": 1_717_050_328, "appid": CLIENT,
        "appidacr": "1", "idp": format!("https://sts.windows.net/{}/", guid(1)), "idtyp": "app",
        "oid": guid(90), "sub": guid(90), "roles": [MACHINE, "Alert.Read.All"], "tid": guid(1),
        "ver": "1.0"});
    for (key, value) in extra.as_object().unwrap() {
        claims[key] = value.clone();
    }
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5t": "kid-1", "kid": "kid-1"});
    format!("{}.{}.c2lnbmF0dXJl", b64(&header), b64(&claims))
}

#[test]
fn decode_renders_claims_times_roles_and_warnings() {
    use chrono::TimeZone as _;
    let now = chrono::Utc.timestamp_opt(1_717_047_000, 0).unwrap();
    let good = consentry::jwt::decode(&reference_token(serde_json::json!({}))).unwrap();
    snapshot_text!("decode_human", consentry::jwt::render_human(&good, now));
    snapshot_text!("decode_json", consentry::jwt::render_json(&good, now));
    // Expired, issued by another tenant than `tid` says, delegated, and without roles.
    let odd = consentry::jwt::decode(&reference_token(serde_json::json!({
        "exp": 1_717_046_500,
        "iss": format!("https://sts.windows.net/{}/", guid(2)),
        "scp": "User.Read", "idtyp": "user", "roles": null,
    })))
    .unwrap();
    snapshot_text!(
        "decode_human_warnings",
        consentry::jwt::render_human(&odd, now)
    );
}

#[test]
fn explain_covers_the_table_and_refuses_unknown_codes() {
    let mut all = String::new();
    for entry in consentry::aadsts::TABLE {
        all.push_str(&consentry::aadsts::render_explain(entry));
        all.push('\n');
    }
    snapshot_text!("explain_all", all);
    assert_eq!(
        consentry::aadsts::explain("AADSTS700016").unwrap(),
        consentry::aadsts::render_explain(consentry::aadsts::lookup("700016").unwrap())
    );
    assert_eq!(
        consentry::aadsts::explain("AADSTS123456")
            .unwrap_err()
            .to_string(),
        "AADSTS123456 is not in consentry's table; Microsoft describes it at https://login.microsoftonline.com/error?code=123456 (verify reports it as `error` with Entra's own message)"
    );
    assert_eq!(
        consentry::aadsts::explain("hello").unwrap_err().to_string(),
        "`hello` is not an AADSTS code: write it as AADSTS700016 or 700016"
    );
}

/// A token endpoint that answers 307 must not make the client re-send its form body (client
/// secret included) to the `Location` host: reqwest follows redirects by default, consentry must not.
#[tokio::test]
async fn a_redirect_never_carries_the_secret_elsewhere() {
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::routing::any;

    let received = Arc::new(AtomicUsize::new(0));
    let attacker = {
        let received = received.clone();
        Router::new().fallback(any(move || {
            let received = received.clone();
            async move {
                received.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            }
        }))
    };
    let attacker_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attacker_url = format!("http://{}", attacker_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(attacker_listener, attacker).await });

    let location = format!("{attacker_url}/steal");
    let redirector = Router::new().fallback(any(move || {
        let location = location.clone();
        async move {
            let mut headers = HeaderMap::new();
            headers.insert(header::LOCATION, location.parse().unwrap());
            (StatusCode::TEMPORARY_REDIRECT, headers)
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority: url::Url = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, redirector).await });

    let policy = RetryPolicy {
        retries: 0,
        ..RetryPolicy::default()
    };
    let result = auth::fetch_token(
        &authority,
        &guid(1),
        "https://api.securitycenter.microsoft.com",
        CLIENT,
        &cred(),
        policy,
    )
    .await;
    assert!(result.is_err(), "a redirect is not a token");
    assert_eq!(
        received.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}

/// A tiny hostile token endpoint: answers every connection with `head` and then streams zeros
/// until the client hangs up. Returns its authority and how many connections it accepted.
async fn streaming_server(head: &'static str) -> (url::Url, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                // 64 KiB chunks of a chunked body, forever (1 TB would take as long as the client
                // keeps reading).
                let chunk = format!("{:x}\r\n{}\r\n", 65536, "0".repeat(65536));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    let authority =
        consentry::cloud::authority_host(Some(&format!("http://127.0.0.1:{port}")), Cloud::Global)
            .unwrap();
    (authority, accepted)
}

#[tokio::test]
async fn an_endless_body_is_cut_off_at_the_cap_and_not_retried() {
    capture();
    for head in [
        // Streamed: the cap is found while reading.
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        // Announced: refused before reading.
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 1099511627776\r\n\r\n",
    ] {
        let (authority, accepted) = streaming_server(head).await;
        let mut opts = Options::new(authority);
        opts.retries = 3;
        opts.backoff_base = Duration::from_millis(10);
        let manifest = manifest(vec![tenant("Firehose", &guid(1), MDE_ONLY)]);
        let started = Instant::now();
        let report = verify::run(&manifest, &cred(), &opts, &NoProgress)
            .await
            .unwrap();
        let tenant = &report.tenants[0];
        assert_eq!(tenant.status, Status::Error, "{head}");
        let error = tenant.error.as_ref().unwrap();
        assert_eq!(error.error, "response_too_large", "{head}");
        assert!(
            error.message.starts_with("response too large"),
            "{}",
            error.message
        );
        assert!(tenant.hint.as_deref().unwrap().contains("1 MiB"));
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "not retried: {head}");
        // Liveness, not speed: reading the whole body would never end.
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}

/// A tiny token endpoint that answers every request with `body` (HTTP 200, JSON).
async fn fixed_server(body: String) -> url::Url {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    consentry::cloud::authority_host(Some(&format!("http://127.0.0.1:{port}")), Cloud::Global)
        .unwrap()
}

#[tokio::test]
async fn roles_that_are_not_an_array_of_strings_are_invalid_token() {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    for (roles, got) in [
        (serde_json::json!(MACHINE), "a string"),
        (serde_json::json!(42), "a number"),
        (serde_json::json!({}), "an object"),
        (
            serde_json::json!([MACHINE, null]),
            "an array whose entry 2 is null",
        ),
        (
            serde_json::json!([[MACHINE]]),
            "an array whose entry 1 is an array",
        ),
    ] {
        let claims = serde_json::json!({"aud": MDE, "tid": guid(1), "appid": CLIENT,
            "exp": chrono::Utc::now().timestamp() + 3600, "roles": roles});
        let token = format!(
            "{}.{}.c2ln",
            b64(serde_json::json!({"alg": "RS256"})),
            b64(claims)
        );
        let authority = fixed_server(format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{token}"}}"#
        ))
        .await;
        let manifest = manifest(vec![tenant("Odd", &guid(1), MDE_ONLY)]);
        let report = verify::run(&manifest, &cred(), &Options::new(authority), &NoProgress)
            .await
            .unwrap();
        let tenant = &report.tenants[0];
        assert_eq!(tenant.status, Status::InvalidToken, "{roles}");
        let error = tenant.error.as_ref().unwrap();
        assert_eq!(
            error.message,
            format!("claim `roles`: expected an array of strings, got {got}")
        );
        assert!(tenant.apis[0].granted.is_empty());
    }
}

#[tokio::test]
async fn a_credential_that_cannot_be_used_stops_the_run_before_any_token_request() {
    capture();
    let tenants: String = (1..=6)
        .map(|n| granted(&format!("T{n}"), &guid(n), ""))
        .collect();
    let sandbox = sandbox(scenario(&tenants)).await;
    // GitHub's OIDC endpoint stand-in: nothing listens there, so the external token cannot be had.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = move |name: &str| match name {
        "ACTIONS_ID_TOKEN_REQUEST_URL" => Some(format!("http://127.0.0.1:{dead}/token?x=1")),
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("planted-request-token".to_owned()),
        _ => None,
    };
    let credential = AppCredential::load(
        &Credential::Federated(consentry::model::FederatedSource::Github),
        CLIENT,
        std::path::Path::new("."),
        &env,
    )
    .unwrap();
    let manifest = manifest(
        (1..=6)
            .map(|n| tenant(&format!("T{n}"), &guid(n), MDE_ONLY))
            .collect(),
    );
    let report = verify::run(&manifest, &credential, &options(&sandbox), &NoProgress)
        .await
        .unwrap();
    let sent = total_requests(&sandbox);
    sandbox.shutdown().await;
    assert_eq!(sent, 0, "no token request without a usable credential");
    // The first tenant met the failure; the rest were never asked. The cause is said once.
    assert_eq!(report.tenants[0].status, Status::CredentialRejected);
    assert!(
        report.tenants[1..]
            .iter()
            .all(|t| t.status == Status::NotChecked && t.app_failure)
    );
    assert_eq!(
        report.app_failure.as_ref().map(|f| f.status),
        Some(Status::CredentialRejected)
    );
    let first = report.tenants[0].error.as_ref().unwrap();
    assert!(
        first
            .message
            .starts_with("the app's credential could not be used: "),
        "{}",
        first.message
    );
    assert_eq!(
        report.credential.as_ref().map(|c| c.kind.as_str()),
        Some("federated")
    );
    assert_eq!(report.exit(), Exit::Undetermined);
    assert!(!to_json(&report).contains("planted-request-token"));
}

#[tokio::test]
async fn verify_signature_checks_tokens_against_the_published_keys() {
    let tenants: String = (1..=3)
        .map(|n| granted(&format!("T{n}"), &guid(n), ""))
        .collect();
    let sandbox = sandbox(scenario(&tenants)).await;
    let manifest = manifest(
        (1..=3)
            .map(|n| tenant(&format!("T{n}"), &guid(n), MDE_ONLY))
            .collect(),
    );
    let mut opts = options(&sandbox);
    opts.verify_signature = true;
    let report = verify::run(&manifest, &cred(), &opts, &NoProgress)
        .await
        .unwrap();
    sandbox.shutdown().await;
    assert!(report.tenants.iter().all(|t| t.status == Status::Ok));
    let signatures = report.signatures.unwrap();
    assert_eq!((signatures.verified, signatures.not_verifiable), (3, 0));
    assert!(to_json(&report).contains("\"signatures\""));

    // Without the flag, the report does not claim anything about signatures.
    let sandbox = self::sandbox(scenario(&granted("T1", &guid(1), ""))).await;
    let plain = verify::run(&manifest_one(), &cred(), &options(&sandbox), &NoProgress)
        .await
        .unwrap();
    sandbox.shutdown().await;
    assert_eq!(plain.signatures, None);
}

fn manifest_one() -> Manifest {
    manifest(vec![tenant("T1", &guid(1), MDE_ONLY)])
}

#[tokio::test]
async fn verify_signature_refuses_unsigned_and_forged_tokens_and_names_graph_tokens() {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let claims = serde_json::json!({"aud": MDE, "tid": guid(1), "appid": CLIENT,
        "exp": chrono::Utc::now().timestamp() + 3600, "roles": [MACHINE]});
    for (header, expect) in [
        (
            serde_json::json!({"alg": "none"}),
            Err("signature: `alg` is none (unsigned), not RS256"),
        ),
        (
            serde_json::json!({"alg": "HS256"}),
            Err("signature: `alg` is HS256, not RS256"),
        ),
        // This server answers discovery with a token body: no keys, so nothing can verify.
        (
            serde_json::json!({"alg": "RS256", "kid": "k1"}),
            Err("signature: the authority's keys could not be read"),
        ),
        (serde_json::json!({"alg": "RS256", "nonce": "abc"}), Ok(())),
    ] {
        let token = format!("{}.{}.c2ln", b64(header.clone()), b64(claims.clone()));
        let authority = fixed_server(format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{token}"}}"#
        ))
        .await;
        let mut opts = Options::new(authority);
        opts.verify_signature = true;
        let report = verify::run(&manifest_one(), &cred(), &opts, &NoProgress)
            .await
            .unwrap();
        let tenant = &report.tenants[0];
        match expect {
            Err(start) => {
                assert_eq!(tenant.status, Status::InvalidToken, "{header}");
                let message = &tenant.error.as_ref().unwrap().message;
                assert!(message.starts_with(start), "{header}: {message}");
                assert_eq!(report.signatures.unwrap().verified, 0);
            }
            Ok(()) => {
                assert_eq!(tenant.status, Status::Ok, "{header}");
                assert_eq!(report.signatures.unwrap().not_verifiable, 1);
            }
        }
    }
}

#[tokio::test]
async fn a_tampered_token_fails_the_signature_check_and_the_real_one_passes() {
    use base64::Engine as _;
    use consentry::entra::keys::{KeySet, SignatureCheck};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sandbox = sandbox(scenario(&granted("T1", &guid(1), ""))).await;
    let authority =
        consentry::cloud::authority_host(Some(&sandbox.base_url()), Cloud::Global).unwrap();
    let policy = RetryPolicy {
        timeout: Duration::from_secs(5),
        ..RetryPolicy::default()
    };
    let token = auth::fetch_token(&authority, &guid(1), MDE, CLIENT, &cred(), policy)
        .await
        .unwrap();
    let real = token.token.expose_secret().to_owned();
    let header = consentry::jwt::decode(&real).unwrap().header;
    let keys = KeySet::new(
        consentry::http::client(&authority).unwrap(),
        authority.clone(),
        policy,
    );
    assert_eq!(keys.check(&real, &header).await, SignatureCheck::Verified);

    // The same signature over claims that grant one more role.
    let parts: Vec<&str> = real.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["roles"] = serde_json::json!([MACHINE, "Machine.Isolate"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    sandbox.shutdown().await;
    assert_eq!(
        keys.check(&forged, &header).await,
        SignatureCheck::Invalid(
            "the signature does not verify against the authority's key".to_owned()
        )
    );
}
