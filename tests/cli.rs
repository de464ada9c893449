//! End to end: the real `consentry` binary, run as a user runs it, against the real sandbox identity
//! platform over loopback. Outputs are snapshotted through filters that blank ports, times and ids.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity,
    reason = "test helpers outside #[test] fns panic as test failures; case tables are tuples read as rows"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

mod common;
use common::{Running, SECRET};

const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary with `args`, a clean environment for consentry's variables, and `env` on top.
fn consentry(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consentry"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("CONSENTRY_CLIENT_SECRET")
        .env_remove("CONSENTRY_AUTHORITY_HOST")
        .env_remove("RUST_LOG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the consentry binary runs");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `(tenant name, tenant[field])` for every tenant of a plan or verify JSON, in order.
fn by_name(json: &serde_json::Value, field: &str) -> Vec<(String, String)> {
    json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t[field].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Snapshot settings: the top-level snapshots/ folder, and filters for what changes run to run.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => true,
            filters => vec![
                (r"http://127\.0\.0\.1:\d+", "http://[SANDBOX]"),
                (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z| UTC|[+-]\d\d:\d\d)?", "[TIME]"),
                (r"(?i)((?:trace|correlation|request)[ _]?id\W+)[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", "$1[ID]"),
                (r"\d+(\.\d+)?m?s\b", "[DURATION]"),
                (r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[MS]""#),
            ],
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

/// The demo partner: the manifest users read in the README and the scenario that plays it.
fn demo() -> Running {
    Running::start(&std::fs::read_to_string(root().join("manifests/demo.sandbox.yaml")).unwrap())
}

fn verify_demo(extra: &[&str], env: &[(&str, &str)], sandbox: &Running) -> Output {
    let mut args = vec![
        "verify",
        "manifests/demo.yaml",
        "--authority-host",
        &sandbox.url,
        "--timeout",
        "2s",
    ];
    args.extend_from_slice(extra);
    let mut all_env = vec![("CONSENTRY_CLIENT_SECRET", SECRET)];
    all_env.extend_from_slice(env);
    consentry(&args, &all_env, None)
}

/// A tiny manifest + scenario pair written to a temp dir, for exit-code cases.
struct Partner {
    dir: tempfile::TempDir,
}

impl Partner {
    /// `tenants`: (name, guid, scenario lines for that tenant).
    fn new(tenants: &[(&str, &str, &str)]) -> (Partner, Running) {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = format!(
            "version: 1\napp:\n  name: Test App\n  client_id: {CLIENT}\n  redirect_uri: https://portal.azure.com\n\
             apis:\n  microsoft-365-defender:\n    roles: [Incident.Read.All]\ntenants:\n"
        );
        let mut scenario = format!("app:\n  client_id: {CLIENT}\n  name: Test App\ntenants:\n");
        for (name, id, lines) in tenants {
            manifest.push_str(&format!("  - name: {name}\n    id: {id}\n"));
            scenario.push_str(&format!("  - name: {name}\n    id: {id}\n"));
            for line in lines.lines() {
                scenario.push_str(&format!("    {line}\n"));
            }
        }
        std::fs::write(dir.path().join("consentry.yaml"), manifest).unwrap();
        let running = Running::start(&scenario);
        (Partner { dir }, running)
    }

    fn manifest(&self) -> String {
        self.dir.path().join("consentry.yaml").display().to_string()
    }
}

const T1: &str = "11111111-1111-4111-8111-111111111111";
const T2: &str = "22222222-2222-4222-8222-222222222222";
const GRANTED: &str = "grants:\n  https://api.security.microsoft.com: [Incident.Read.All]";

#[test]
fn verify_exit_codes_follow_the_contract() {
    // (case, tenants, args beyond the defaults, expected exit code)
    let cases: &[(&str, &[(&str, &str, &str)], &[&str], i32)] = &[
        ("all ok", &[("A", T1, GRANTED), ("B", T2, GRANTED)], &[], 0),
        (
            "missing role",
            &[("A", T1, GRANTED), ("B", T2, "grants: {}")],
            &[],
            1,
        ),
        (
            "not consented",
            &[("A", T1, "failure: not_consented")],
            &[],
            1,
        ),
        (
            "extra role is fine by default",
            &[(
                "A",
                T1,
                "grants:\n  https://api.security.microsoft.com: [Incident.Read.All, Incident.ReadWrite.All]",
            )],
            &[],
            0,
        ),
        (
            "extra role with --fail-on-extra",
            &[(
                "A",
                T1,
                "grants:\n  https://api.security.microsoft.com: [Incident.Read.All, Incident.ReadWrite.All]",
            )],
            &["--fail-on-extra"],
            1,
        ),
        (
            "undetermined beats findings",
            &[
                ("A", T1, "failure: not_consented"),
                ("B", T2, "failure: not_json"),
            ],
            &[],
            3,
        ),
        (
            "lying token is a finding",
            &[("A", T1, &format!("{GRANTED}\nlie: other_tid"))],
            &[],
            1,
        ),
        (
            "--tenant narrows the run",
            &[("A", T1, GRANTED), ("B", T2, "failure: not_consented")],
            &["--tenant", "a"],
            0,
        ),
    ];
    for (case, tenants, args, expected) in cases {
        let (partner, sandbox) = Partner::new(tenants);
        let manifest = partner.manifest();
        let mut all = vec![
            "verify",
            manifest.as_str(),
            "--authority-host",
            &sandbox.url,
            "--timeout",
            "2s",
            "--retries",
            "0",
        ];
        all.extend_from_slice(args);
        let out = consentry(&all, &[("CONSENTRY_CLIENT_SECRET", SECRET)], None);
        assert_eq!(
            code(&out),
            *expected,
            "{case}:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn verify_refuses_before_sending_anything() {
    let (partner, sandbox) = Partner::new(&[("A", T1, GRANTED)]);
    let manifest = partner.manifest();
    let secret = [("CONSENTRY_CLIENT_SECRET", SECRET)];
    let cases: &[(&str, Vec<&str>, &[(&str, &str)], &str)] = &[
        (
            "plain http to a remote host",
            vec!["--authority-host", "http://login.example.com"],
            &secret,
            "http",
        ),
        (
            "no secret in the environment",
            vec!["--authority-host", &sandbox.url],
            &[],
            "CONSENTRY_CLIENT_SECRET",
        ),
        (
            "unknown --tenant",
            vec!["--authority-host", &sandbox.url, "--tenant", "Nobody"],
            &secret,
            "Nobody",
        ),
    ];
    for (case, args, env, needle) in cases {
        let mut all = vec!["verify", manifest.as_str()];
        all.extend(args.iter().copied());
        let out = consentry(&all, env, None);
        assert_eq!(code(&out), 2, "{case}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(needle),
            "{case}: stderr should name {needle}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{case}: nothing on stdout");
    }
    assert_eq!(
        sandbox.total_requests(),
        0,
        "no request reached the sandbox"
    );
}

#[test]
fn a_rejected_secret_stops_the_run_and_reports_every_tenant() {
    let tenants: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("Customer {i:02}"),
                format!("{i:08x}-0000-4000-8000-000000000000"),
            )
        })
        .collect();
    let specs: Vec<(&str, &str, &str)> = tenants
        .iter()
        .map(|(n, id)| (n.as_str(), id.as_str(), GRANTED))
        .collect();
    let (partner, sandbox) = Partner::new(&specs);
    let manifest = partner.manifest();
    let out = consentry(
        &[
            "verify",
            &manifest,
            "--authority-host",
            &sandbox.url,
            "--format",
            "json",
            "--concurrency",
            "4",
        ],
        &[("CONSENTRY_CLIENT_SECRET", "the-wrong-secret")],
        None,
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let statuses: Vec<&str> = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 40);
    // Tenants that were asked say credential_rejected; those never asked say not_checked.
    assert!(
        statuses
            .iter()
            .all(|s| *s == "credential_rejected" || *s == "not_checked"),
        "{statuses:?}"
    );
    assert!(statuses.contains(&"not_checked"), "{statuses:?}");
    // One cause, said once: in its own JSON field with its fix, and once on stderr.
    let failure = &report["app_failure"];
    assert_eq!(failure["status"], "credential_rejected");
    assert_eq!(failure["error"]["code"], "AADSTS7000215");
    assert!(failure["fix"].as_str().unwrap().contains("credential"));
    assert_eq!(failure["tenants"], 40);
    assert!(
        report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["app_failure"] == true)
    );
    let err = stderr(&out);
    assert_eq!(err.matches("app-wide failure").count(), 1, "{err}");
    assert!(err.contains("AADSTS7000215"), "{err}");
    // The table says it at the top, and the tenants do not repeat the fix.
    let table = consentry(
        &["verify", &manifest, "--authority-host", &sandbox.url],
        &[("CONSENTRY_CLIENT_SECRET", "the-wrong-secret")],
        None,
    );
    let text = stdout(&table);
    assert!(
        text.starts_with("App-wide failure (credential_rejected)"),
        "{text}"
    );
    assert_eq!(text.matches("Fix: ").count(), 1, "{text}");
    assert!(
        text.contains("40 tenants: see the app-wide failure above"),
        "{text}"
    );
    let sent = sandbox.total_requests();
    assert!(
        sent < 40,
        "a rejected credential must stop the run, but {sent} requests were sent"
    );
}

#[test]
fn demo_partner_in_every_format() {
    let sandbox = demo();
    for format in ["table", "markdown", "json", "junit", "github"] {
        let out = verify_demo(&["--format", format], &[], &sandbox);
        assert!(
            matches!(code(&out), 1 | 3),
            "{format}: the demo partner has gaps: {}",
            stderr(&out)
        );
        snapshot!(format!("demo_verify_{format}"), stdout(&out));
    }
}

#[test]
fn report_file_round_trips_into_plan_state() {
    let sandbox = demo();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("verify.json");
    let junit = dir.path().join("junit.xml");
    let out = verify_demo(
        &[
            "--format",
            "junit",
            "--output",
            junit.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
        &sandbox,
    );
    assert!(
        stdout(&out).is_empty(),
        "--output sends the report to the file, not stdout"
    );
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .starts_with("<?xml")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);

    let out = consentry(
        &[
            "plan",
            "manifests/demo.yaml",
            "--state",
            report.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let actions: BTreeMap<String, String> = by_name(&plan, "action").into_iter().collect();
    let verified: BTreeMap<String, String> = by_name(&json, "status").into_iter().collect();
    for (name, status) in &verified {
        let expected = match status.as_str() {
            "ok" => "none",
            "missing_roles" => "reconsent",
            "not_consented" => "consent",
            _ => "investigate",
        };
        assert_eq!(actions[name], expected, "{name} was {status}");
    }
}

#[test]
fn a_report_that_cannot_be_written_is_refused_before_anything_is_sent() {
    let sandbox = demo();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("verify.json");
    let out = verify_demo(&["--report", missing.to_str().unwrap()], &[], &sandbox);
    // Found before the first request (exit 2), not after every tenant was asked (exit 3).
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-dir"), "{}", stderr(&out));
    assert_eq!(sandbox.total_requests(), 0, "nothing is sent");
    assert!(!missing.exists());
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn the_secret_and_tokens_never_leak() {
    let sandbox = demo();
    let dir = tempfile::tempdir().unwrap();
    let mut outputs: Vec<(String, String)> = Vec::new();
    let verbosities: &[(&[&str], &[(&str, &str)])] = &[
        (&[], &[]),
        (&["-v"], &[]),
        (&["-vv"], &[]),
        (&["-vvv"], &[]),
        (&[], &[("RUST_LOG", "trace")]),
    ];
    for format in ["table", "markdown", "json", "junit"] {
        for (flags, env) in verbosities {
            let report = dir.path().join(format!("{format}-{}.json", flags.len()));
            let mut args = vec!["--format", format, "--report", report.to_str().unwrap()];
            args.extend_from_slice(flags);
            let out = verify_demo(&args, env, &sandbox);
            outputs.push((
                format!("verify {format} {flags:?} {env:?} stdout"),
                stdout(&out),
            ));
            outputs.push((
                format!("verify {format} {flags:?} {env:?} stderr"),
                stderr(&out),
            ));
            outputs.push((
                format!("verify {format} report"),
                std::fs::read_to_string(&report).unwrap(),
            ));
        }
    }
    // A wrong secret (the planted one is "wrong" for a sandbox that expects another) must not echo.
    let other = Running::start(
        &std::fs::read_to_string(root().join("manifests/demo.sandbox.yaml")).unwrap(),
    );
    let out = consentry(
        &[
            "verify",
            "manifests/demo.yaml",
            "--authority-host",
            &other.url,
            "-vvv",
        ],
        &[
            ("CONSENTRY_CLIENT_SECRET", "another-planted-value-77"),
            ("RUST_LOG", "trace"),
        ],
        None,
    );
    outputs.push(("wrong secret stdout".into(), stdout(&out)));
    outputs.push(("wrong secret stderr".into(), stderr(&out)));
    // The sandbox's own log, as `consentry sandbox` prints it.
    for (what, text) in &outputs {
        assert!(!text.contains(SECRET), "{what} leaks the secret");
        assert!(
            !text.contains("another-planted-value-77"),
            "{what} leaks the secret"
        );
        // Every JWT starts with a base64url `{"` header: none may appear outside `consentry token`.
        assert!(!text.contains("eyJ"), "{what} leaks a token");
    }
    assert!(
        outputs
            .iter()
            .any(|(w, t)| w.contains("-vvv") && w.ends_with("stderr") && t.contains("DEBUG")),
        "debug logs were on, so the search covered them"
    );
}

#[test]
fn token_prints_one_token_that_decode_reads() {
    let sandbox = demo();
    let manifest = std::fs::read_to_string(root().join("manifests/demo.yaml")).unwrap();
    let checked = consentry::validate::check_str("demo.yaml", &manifest);
    let tenant = checked
        .manifest
        .unwrap()
        .tenants
        .into_iter()
        .next()
        .unwrap();
    let out = consentry(
        &[
            "token",
            "manifests/demo.yaml",
            "--tenant",
            &tenant.name,
            "--authority-host",
            &sandbox.url,
        ],
        &[("CONSENTRY_CLIENT_SECRET", SECRET)],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let token = stdout(&out);
    assert_eq!(token.lines().count(), 1);
    assert_eq!(token.trim().split('.').count(), 3, "a JWT");
    assert!(!stderr(&out).contains(token.trim()));

    let decoded = consentry(&["decode", "--format", "json"], &[], Some(&token));
    assert_eq!(code(&decoded), 0, "{}", stderr(&decoded));
    let json: serde_json::Value = serde_json::from_str(&stdout(&decoded)).unwrap();
    let text = json.to_string();
    assert!(
        text.contains(CLIENT) || text.contains(&tenant.id.to_string()),
        "{text}"
    );
    let human = consentry(&["decode", token.trim()], &[], None);
    assert_eq!(code(&human), 0);
    assert!(
        !stdout(&human).to_lowercase().contains("verified")
            || stdout(&human).contains("not verified")
    );
}

#[test]
fn small_commands() {
    // (case, args, stdin, expected exit, text expected on stdout or stderr)
    let cases: &[(&str, &[&str], Option<&str>, i32, &str)] = &[
        (
            "explain with prefix",
            &["explain", "AADSTS700016"],
            None,
            0,
            "consent",
        ),
        (
            "explain bare number",
            &["explain", "7000215"],
            None,
            0,
            "credential",
        ),
        ("explain garbage", &["explain", "hello"], None, 2, "hello"),
        ("decode garbage", &["decode", "not-a-token"], None, 2, "JWT"),
        ("decode empty stdin", &["decode"], Some(""), 2, ""),
        (
            "roles one api",
            &["roles", "defender-for-endpoint"],
            None,
            0,
            "Machine.Read.All",
        ),
        ("roles unknown api", &["roles", "nope"], None, 2, "nope"),
        ("schema", &["schema"], None, 0, "\"$schema\""),
        (
            "validate example",
            &["validate", "manifests/example.yaml"],
            None,
            0,
            "",
        ),
        (
            "validate missing file",
            &["validate", "no/such/file.yaml"],
            None,
            2,
            "no/such/file.yaml",
        ),
        ("help lists exit codes", &["--help"], None, 0, "Exit codes"),
        ("bad flag", &["plan", "--frobnicate"], None, 2, "frobnicate"),
    ];
    for (case, args, stdin, expected, needle) in cases {
        let out = consentry(args, &[], *stdin);
        assert_eq!(
            code(&out),
            *expected,
            "{case}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            all.contains(needle),
            "{case}: expected {needle:?} in:\n{all}"
        );
    }
}

#[test]
fn plan_formats_and_files() {
    for format in ["table", "markdown", "json"] {
        let out = consentry(
            &["plan", "manifests/example.yaml", "--format", format],
            &[],
            None,
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        snapshot!(format!("example_plan_{format}"), stdout(&out));
    }
    let legacy = consentry(
        &[
            "plan",
            "manifests/example.yaml",
            "--link-style",
            "legacy",
            "--format",
            "json",
        ],
        &[],
        None,
    );
    assert!(stdout(&legacy).contains("/common/oauth2/authorize?prompt=consent"));

    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("plan.md");
    let out = consentry(
        &[
            "plan",
            "manifests/example.yaml",
            "--format",
            "markdown",
            "-o",
            out_file.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).is_empty());
    assert!(
        std::fs::read_to_string(&out_file)
            .unwrap()
            .contains("- [ ]")
    );
}

#[test]
fn plan_against_a_base_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(root().join("manifests/example.yaml")).unwrap();
    // The base: before Northwind was onboarded and before AdvancedHunting was required.
    let base = example
        .replace("      - AdvancedHunting.Read.All\n", "")
        .replace("  - name: Northwind Traders\n    id: northwind.onmicrosoft.com             # ...or a verified domain\n    labels: [emea, tier-1]\n", "")
        + "  - name: Old Customer\n    id: 99999999-9999-4999-8999-999999999999\n";
    assert_ne!(base, example, "the edits applied");
    let base_path = dir.path().join("base.yaml");
    std::fs::write(&base_path, base).unwrap();
    let out = consentry(
        &[
            "plan",
            "manifests/example.yaml",
            "--base",
            base_path.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let actions = by_name(&plan, "action");
    let expected: Vec<(String, String)> = [
        ("Fabrikam", "reconsent"),
        ("Northwind Traders", "consent"),
        ("Tailspin Toys", "none"),
        ("Old Customer", "offboard"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(actions, expected);
    // Tailspin's own `apis` override keeps the newly app-wide AdvancedHunting away: said, not hidden.
    let tailspin = &plan["tenants"][2];
    assert_eq!(
        tailspin["withheld_roles"]["microsoft-365-defender"],
        serde_json::json!(["AdvancedHunting.Read.All"])
    );
    let table = consentry(
        &[
            "plan",
            "manifests/example.yaml",
            "--base",
            base_path.to_str().unwrap(),
        ],
        &[],
        None,
    );
    let text = stdout(&table);
    assert!(
        text.lines()
            .any(|l| l.starts_with("Tailspin Toys (none)") && l.contains("override")),
        "{text}"
    );
}

#[test]
fn invalid_manifests_exit_2_with_located_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    let example = std::fs::read_to_string(root().join("manifests/example.yaml")).unwrap();
    std::fs::write(
        &path,
        example.replace("Incident.Read.All", "Incidents.Read.All"),
    )
    .unwrap();
    for command in ["validate", "plan", "verify"] {
        let out = consentry(
            &[command, path.to_str().unwrap()],
            &[("CONSENTRY_CLIENT_SECRET", SECRET)],
            None,
        );
        assert_eq!(code(&out), 2, "{command}");
        let err = stderr(&out);
        assert!(
            err.contains("Incident.Read.All"),
            "{command}: the fix is suggested: {err}"
        );
        assert!(
            err.contains("bad.yaml"),
            "{command}: the file is named: {err}"
        );
    }
    let json = consentry(
        &["validate", path.to_str().unwrap(), "--format", "json"],
        &[],
        None,
    );
    assert_eq!(code(&json), 2);
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(
        value["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "unknown-role" && d["line"].as_u64().is_some())
    );
}

#[test]
fn the_demo_never_sends_its_in_process_sandbox_to_a_proxy() {
    // A proxy from the environment (nothing listens on port 9) with nothing exempted: the demo's
    // sandbox lives in its own process, so the demo must still reach it directly.
    let proxy = "http://127.0.0.1:9";
    let env = [
        ("HTTPS_PROXY", proxy),
        ("HTTP_PROXY", proxy),
        ("ALL_PROXY", proxy),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    let out = consentry(&["demo"], &env, None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Only tokens can show roles missing: through the proxy every tenant would be `error`.
    assert!(stdout(&out).contains("missing_roles"), "{}", stdout(&out));
}

#[test]
fn demo_runs_and_says_what_it_did() {
    let out = consentry(&["demo"], &[], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "consentry plan",
        "consentry verify",
        "not_consented",
        "missing_roles",
        "ok",
    ] {
        assert!(text.contains(needle), "demo output lacks {needle}:\n{text}");
    }
    assert!(!text.contains("eyJ"));
}

#[test]
fn sandbox_command_serves_until_stopped() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args(["sandbox", "--scenario", "manifests/demo.sandbox.yaml"])
        .current_dir(root())
        .env("CONSENTRY_CLIENT_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let out = consentry(
        &[
            "verify",
            "manifests/demo.yaml",
            "--authority-host",
            &url,
            "--format",
            "json",
            "--timeout",
            "2s",
        ],
        &[("CONSENTRY_CLIENT_SECRET", SECRET)],
        None,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(matches!(code(&out), 1 | 3), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["status"] == "ok")
    );
}

// --- issue 8: plan for pull requests, onboarding, errors that give the fix, CI ----------------

#[test]
fn plan_detailed_exitcode_says_whether_actions_are_pending() {
    let pending = consentry(
        &["plan", "manifests/example.yaml", "--detailed-exitcode"],
        &[],
        None,
    );
    assert_eq!(code(&pending), 4, "{}", stderr(&pending));
    assert!(
        stdout(&pending).contains("to consent"),
        "the plan is still printed"
    );
    let plain = consentry(&["plan", "manifests/example.yaml"], &[], None);
    assert_eq!(code(&plain), 0, "without the flag, exit 0");
    let nothing = consentry(
        &[
            "plan",
            "manifests/example.yaml",
            "--base",
            "manifests/example.yaml",
            "--detailed-exitcode",
        ],
        &[],
        None,
    );
    assert_eq!(code(&nothing), 0, "{}", stdout(&nothing));
    let bad = consentry(
        &[
            "plan",
            "tests/fixtures/validate/many-problems.yaml",
            "--detailed-exitcode",
        ],
        &[],
        None,
    );
    assert_eq!(code(&bad), 2, "a bad manifest stays a usage error");
    let help = consentry(&["--help"], &[], None);
    assert!(
        stdout(&help).contains("  4  plan --detailed-exitcode"),
        "{}",
        stdout(&help)
    );
    let help = consentry(&["plan", "--help"], &[], None);
    assert!(
        stdout(&help).contains("4 when actions are pending"),
        "{}",
        stdout(&help)
    );
}

#[test]
fn plan_base_missing_ok_plans_the_first_pull_request_against_an_empty_base() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("base.yaml");
    std::fs::write(&empty, "").unwrap();
    let absent = dir.path().join("absent.yaml");
    for base in [
        empty.to_str().unwrap(),
        absent.to_str().unwrap(),
        "/dev/null",
    ] {
        let out = consentry(
            &[
                "plan",
                "manifests/example.yaml",
                "--base",
                base,
                "--base-missing-ok",
                "--format",
                "json",
            ],
            &[],
            None,
        );
        assert_eq!(code(&out), 0, "{base}: {}", stderr(&out));
        let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert!(
            by_name(&plan, "action").iter().all(|(_, a)| a == "consent"),
            "{base}: {plan}"
        );
        assert_eq!(plan["summary"]["consent"], 3);
    }
    // Without the flag an empty base is a manifest error, not silently "no tenants".
    let out = consentry(
        &[
            "plan",
            "manifests/example.yaml",
            "--base",
            empty.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // A base that has content is still validated.
    let junk = dir.path().join("junk.yaml");
    std::fs::write(&junk, "version: 9\n").unwrap();
    let out = consentry(
        &[
            "plan",
            "manifests/example.yaml",
            "--base",
            junk.to_str().unwrap(),
            "--base-missing-ok",
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn plan_state_refuses_another_apps_report_and_warns_when_old() {
    let (partner, sandbox) = Partner::new(&[("One", T1, GRANTED)]);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("verify.json");
    let out = consentry(
        &[
            "verify",
            &partner.manifest(),
            "--authority-host",
            &sandbox.url,
            "--report",
            report.to_str().unwrap(),
        ],
        &[("CONSENTRY_CLIENT_SECRET", SECRET)],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let fresh = consentry(
        &[
            "plan",
            &partner.manifest(),
            "--state",
            report.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(code(&fresh), 0, "{}", stderr(&fresh));
    assert!(!stderr(&fresh).contains("warning"), "{}", stderr(&fresh));

    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    json["generated_at"] = serde_json::json!("2020-01-01T00:00:00Z");
    let old = dir.path().join("old.json");
    std::fs::write(&old, json.to_string()).unwrap();
    let out = consentry(
        &[
            "plan",
            &partner.manifest(),
            "--state",
            old.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 0, "old is a warning, not an error");
    assert!(
        stderr(&out).contains("warning: the verify report is"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("--max-age 7 days"),
        "{}",
        stderr(&out)
    );
    let quiet = consentry(
        &[
            "plan",
            &partner.manifest(),
            "--state",
            old.to_str().unwrap(),
            "--max-age",
            "100000d",
        ],
        &[],
        None,
    );
    assert!(!stderr(&quiet).contains("warning"), "{}", stderr(&quiet));

    json["app"]["client_id"] = serde_json::json!("5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890");
    let other = dir.path().join("other.json");
    std::fs::write(&other, json.to_string()).unwrap();
    let out = consentry(
        &[
            "plan",
            &partner.manifest(),
            "--state",
            other.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(CLIENT), "{}", stderr(&out));
}

#[test]
fn init_writes_a_starter_that_validates_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("new");
    let out = consentry(
        &["init", "--sandbox", "--dir", target.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "stdout stays for reports");
    for file in ["consentry.yaml", "consentry.sandbox.yaml", "schema.json"] {
        assert!(target.join(file).is_file(), "{file}");
    }
    let manifest = target.join("consentry.yaml");
    let checked = consentry(&["validate", manifest.to_str().unwrap()], &[], None);
    assert_eq!(code(&checked), 0, "{}", stderr(&checked));
    assert!(stderr(&checked).is_empty() || !stderr(&checked).contains("warning"));

    // The scenario really plays the starter's tenants: verify against it says what it promises.
    let scenario = std::fs::read_to_string(target.join("consentry.sandbox.yaml")).unwrap();
    let sandbox = Running::start(&scenario);
    let out = consentry(
        &[
            "verify",
            manifest.to_str().unwrap(),
            "--authority-host",
            &sandbox.url,
            "--format",
            "json",
        ],
        &[("CONSENTRY_CLIENT_SECRET", SECRET)],
        None,
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        by_name(&json, "status"),
        vec![
            ("First Customer".to_owned(), "ok".to_owned()),
            ("Second Customer".to_owned(), "not_consented".to_owned())
        ]
    );

    // A second init refuses and changes nothing, even for the files that did not exist.
    std::fs::write(&manifest, "mine\n").unwrap();
    std::fs::remove_file(target.join("schema.json")).unwrap();
    let again = consentry(
        &["init", "--sandbox", "--dir", target.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(code(&again), 2);
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), "mine\n");
    assert!(!target.join("schema.json").exists(), "nothing written");
}

#[test]
fn demo_write_exports_files_that_work_outside_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let out = consentry(
        &["demo", "--write", dir.path().to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("demo.sandbox.yaml"),
        "{}",
        stderr(&out)
    );
    // Run from the exported folder, as the message says, against its own scenario.
    let scenario = std::fs::read_to_string(dir.path().join("demo.sandbox.yaml")).unwrap();
    let sandbox = Running::start(&scenario);
    let out = Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args([
            "verify",
            "demo.yaml",
            "--authority-host",
            &sandbox.url,
            "--timeout",
            "2s",
        ])
        .current_dir(dir.path())
        .env("CONSENTRY_CLIENT_SECRET", SECRET)
        .env_remove("CONSENTRY_AUTHORITY_HOST")
        .output()
        .unwrap();
    assert!([1, 3].contains(&code(&out)), "{}", stderr(&out));
    assert!(stdout(&out).contains("Fabrikam"));
    let again = consentry(
        &["demo", "--write", dir.path().to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(code(&again), 2, "refuses to overwrite");
}

#[test]
fn explain_takes_codes_as_pasted_and_knows_its_limits() {
    for pasted in [
        "AADSTS700016:",
        "aadsts700016",
        "  AADSTS700016  ",
        "AADSTS700016: Application with identifier",
    ] {
        let out = consentry(&["explain", pasted], &[], None);
        assert_eq!(code(&out), 0, "{pasted}: {}", stderr(&out));
        assert!(stdout(&out).starts_with("AADSTS700016\n"), "{pasted}");
    }
    let unknown = consentry(&["explain", "AADSTS123456:"], &[], None);
    assert_eq!(code(&unknown), 0, "{}", stderr(&unknown));
    let text = stdout(&unknown);
    assert!(text.contains("not in consentry's table"), "{text}");
    assert!(
        text.contains("https://login.microsoftonline.com/error?code=123456"),
        "{text}"
    );
    assert_eq!(code(&consentry(&["explain", "hello"], &[], None)), 2);
    assert_eq!(
        code(&consentry(&["explain"], &[], None)),
        2,
        "a code or --list"
    );
    let list = consentry(&["explain", "--list"], &[], None);
    assert_eq!(code(&list), 0);
    let listed = stdout(&list);
    assert_eq!(listed.lines().count(), consentry::aadsts::TABLE.len());
    assert!(
        listed.lines().any(|l| l.starts_with("AADSTS7000215 ")),
        "{listed}"
    );
}

#[test]
fn completions_man_and_version_come_from_the_cli_definition() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef consentry"),
        ("fish", "complete -c consentry"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = consentry(&["completions", shell], &[], None);
        assert_eq!(code(&out), 0, "{shell}");
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("detailed-exitcode"),
            "{shell} knows plan's flags"
        );
    }
    let man = consentry(&["man"], &[], None);
    assert_eq!(code(&man), 0);
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") || page.contains(".TH CONSENTRY 1"),
        "{page}"
    );
    assert!(page.contains(".TH CONSENTRY 1"));
    assert!(page.contains(consentry::catalog::CATALOG_DATE));
    let dir = tempfile::tempdir().unwrap();
    let out = consentry(&["man", "--out", dir.path().to_str().unwrap()], &[], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let verify = std::fs::read_to_string(dir.path().join("consentry-verify.1")).unwrap();
    assert!(verify.contains("fail\\-on\\-extra"), "{verify}");
    let version = consentry(&["--version"], &[], None);
    assert_eq!(
        stdout(&version).trim(),
        format!(
            "consentry {} (catalog {})",
            env!("CARGO_PKG_VERSION"),
            consentry::catalog::CATALOG_DATE
        )
    );
}

#[test]
fn format_github_annotates_manifest_problems_and_failing_tenants() {
    let out = consentry(
        &[
            "validate",
            "tests/fixtures/validate/many-problems.yaml",
            "--format",
            "github",
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 2);
    let text = stdout(&out);
    assert!(
        text.contains("::error file=tests/fixtures/validate/many-problems.yaml,line=2,col=10,title=unsupported-version::"),
        "{text}"
    );
    assert!(
        text.lines()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")),
        "{text}"
    );
    let ok = consentry(
        &["validate", "manifests/example.yaml", "--format", "github"],
        &[],
        None,
    );
    assert_eq!(code(&ok), 0);
    // The example requests a role being retired: a warning annotation, never an error.
    assert!(
        stdout(&ok)
            .lines()
            .all(|l| l.starts_with("::warning file=manifests/example.yaml,line=")),
        "{}",
        stdout(&ok)
    );

    // A tenant name with GitHub's separators cannot end or forge an annotation.
    let (partner, sandbox) = Partner::new(&[
        ("One", T1, GRANTED),
        ("\"Two, Ltd: 100%\"", T2, "failure: not_consented"),
    ]);
    let out = consentry(
        &[
            "verify",
            &partner.manifest(),
            "--authority-host",
            &sandbox.url,
            "--format",
            "github",
        ],
        &[("CONSENTRY_CLIENT_SECRET", SECRET)],
        None,
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one error for the failing tenant, one notice: {text}"
    );
    assert!(
        lines[0]
            .starts_with("::error title=Two%2C Ltd%3A 100%25%3A not_consented::tenant 22222222"),
        "{text}"
    );
    assert!(
        lines[1].starts_with(
            "::notice title=consentry verify%3A Test App::1/2 tenants fully covered; exit 1"
        ),
        "{text}"
    );
}

/// A 200-tenant fleet, generated: mostly granted, some missing a role, some with an extra role
/// (one only ever granted as an extra), some never consented.
fn fleet() -> (tempfile::TempDir, Running) {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = format!(
        "version: 1\napp:\n  name: Fleet App\n  client_id: {CLIENT}\n  redirect_uri: https://portal.azure.com\n\
         apis:\n  microsoft-365-defender:\n    roles: [Incident.Read.All, AdvancedHunting.Read.All]\n\
         \x20 defender-for-endpoint:\n    roles: [Alert.Read.All, Machine.Read.All, Vulnerability.Read.All, Ti.Read.All]\ntenants:\n"
    );
    let mut scenario = format!("app:\n  client_id: {CLIENT}\n  name: Fleet App\ntenants:\n");
    for i in 0..200 {
        let (name, id) = (
            format!("Customer {i:03}"),
            format!("{i:08x}-0000-4000-8000-000000000000"),
        );
        manifest.push_str(&format!("  - name: {name}\n    id: {id}\n"));
        scenario.push_str(&format!("  - name: {name}\n    id: {id}\n"));
        if i % 50 == 7 {
            scenario.push_str("    failure: not_consented\n");
            continue;
        }
        let m365d = if i % 40 == 3 {
            "[Incident.Read.All]"
        } else {
            "[Incident.Read.All, AdvancedHunting.Read.All]"
        };
        let mde = if i % 60 == 11 {
            "[Alert.Read.All, Machine.Read.All, Vulnerability.Read.All, Ti.Read.All, Machine.Isolate]"
        } else {
            "[Alert.Read.All, Machine.Read.All, Vulnerability.Read.All, Ti.Read.All]"
        };
        scenario.push_str(&format!(
            "    grants:\n      https://api.security.microsoft.com: {m365d}\n      https://api.securitycenter.microsoft.com: {mde}\n"
        ));
    }
    std::fs::write(dir.path().join("consentry.yaml"), manifest).unwrap();
    let running = Running::start(&scenario);
    (dir, running)
}

#[test]
fn a_200_tenant_fleet_fits_80_and_200_columns() {
    let (dir, sandbox) = fleet();
    let manifest = dir.path().join("consentry.yaml").display().to_string();
    let table = |width: &str| {
        let out = consentry(
            &[
                "verify",
                &manifest,
                "--authority-host",
                &sandbox.url,
                "--width",
                width,
            ],
            &[("CONSENTRY_CLIENT_SECRET", SECRET)],
            None,
        );
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        stdout(&out)
    };
    for (width, name) in [("80", "fleet_200_at_80"), ("200", "fleet_200_at_200")] {
        let text = table(width);
        let limit: usize = width.parse().unwrap();
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        // Consent links are one line each so terminals keep them clickable; everything else fits.
        for line in text.lines().filter(|l| !l.contains("https://")) {
            assert!(line.chars().count() <= limit, "wider than {width}: {line}");
        }
        assert!(widest > 0);
        // Problems first: the first row is not ok, the last is.
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("│ Customer"))
            .collect();
        assert!(!rows[0].contains(" ok "), "{}", rows[0]);
        assert!(rows[rows.len() - 1].contains(" ok "));
        assert!(text.contains("200 tenants: "), "{text}");
        snapshot!(name, text);
    }
    // At 200 columns the matrix fits, with the extra-only role as its own column.
    let wide = table("200");
    assert!(wide.contains("Machine.Isolate"), "{wide}");
    assert!(wide.contains("✓ granted"));
    // At 80 it does not: one row per tenant, missing and extra roles listed.
    let narrow = table("80");
    assert!(narrow.contains("Roles (✗ missing, + extra)"), "{narrow}");
    assert!(narrow.contains("+ MDE: Machine.Isolate"), "{narrow}");
}

#[test]
fn sort_color_and_fail_on_extra_through_the_binary() {
    let (partner, sandbox) = Partner::new(&[
        ("Zeta", T1, GRANTED),
        ("Alpha", T2, "failure: not_consented"),
    ]);
    let manifest = partner.manifest();
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "verify",
            manifest.as_str(),
            "--authority-host",
            &sandbox.url,
        ];
        args.extend_from_slice(extra);
        let mut all = vec![("CONSENTRY_CLIENT_SECRET", SECRET)];
        all.extend_from_slice(env);
        consentry(&args, &all, None)
    };
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("│ Zeta") || l.starts_with("│ Alpha"))
            .map(|l| l.split('│').nth(1).unwrap().trim().to_owned())
            .collect()
    };
    // Severity by default (Alpha is not_consented, Zeta ok); --sort manifest keeps file order.
    assert_eq!(rows(&stdout(&run(&[], &[]))), ["Alpha", "Zeta"]);
    assert_eq!(
        rows(&stdout(&run(&["--sort", "manifest"], &[]))),
        ["Zeta", "Alpha"]
    );
    let summary = stdout(&run(&[], &[]));
    assert!(
        summary.contains("2 tenants: 1 ok, 1 not_consented"),
        "{summary}"
    );
    // Colour only when asked (stdout is a pipe here), and never when NO_COLOR... is overridden by
    // an explicit --color always, as the flag is the user's latest word.
    assert!(!stdout(&run(&[], &[])).contains('\x1b'));
    let coloured = stdout(&run(&["--color", "always"], &[]));
    assert!(
        coloured.contains("\x1b[31mnot_consented\x1b[0m"),
        "{coloured}"
    );
    assert!(coloured.contains("\x1b[32mok\x1b[0m"), "{coloured}");
    assert!(!stdout(&run(&["--color", "never"], &[])).contains('\x1b'));
    // JSON: attempts and time per tenant × API, and for the run.
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run(&["--format", "json"], &[]))).unwrap();
    assert!(json["elapsed_ms"].is_u64());
    let api = &json["tenants"][0]["apis"][0];
    assert_eq!(api["attempts"], 1);
    assert!(api["elapsed_ms"].is_u64());
    // not_consented: every required role is missing, as the table's ✗ says.
    assert_eq!(
        json["tenants"][1]["apis"][0]["missing"],
        serde_json::json!(["Incident.Read.All"])
    );
}

#[test]
fn fail_on_extra_is_a_status_in_every_format() {
    let (partner, sandbox) = Partner::new(&[(
        "Zeta",
        T1,
        "grants:\n  https://api.security.microsoft.com: [Incident.Read.All, Incident.ReadWrite.All]",
    )]);
    let manifest = partner.manifest();
    for (format, expect) in [
        ("table", "extra_roles"),
        ("markdown", "extra_roles"),
        ("json", "\"extra_roles\""),
        ("github", "extra_roles"),
        ("junit", "extra_roles"),
    ] {
        let out = consentry(
            &[
                "verify",
                &manifest,
                "--authority-host",
                &sandbox.url,
                "--fail-on-extra",
                "--format",
                format,
            ],
            &[("CONSENTRY_CLIENT_SECRET", SECRET)],
            None,
        );
        assert_eq!(code(&out), 1, "{format}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(expect), "{format}: {text}");
        assert!(
            !text.contains("1/1 tenants fully covered"),
            "{format}: {text}"
        );
    }
}

#[test]
fn validate_honours_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "version: 2\n").unwrap();
    let out = consentry(
        &["validate", path.to_str().unwrap()],
        &[("NO_COLOR", "1")],
        None,
    );
    assert_eq!(code(&out), 2);
    assert!(!stderr(&out).contains('\x1b'), "{}", stderr(&out));
}

#[test]
fn an_unreachable_authority_is_one_app_wide_failure_and_every_retry_is_counted() {
    // Nothing listens on port 9: every request of every tenant fails on the way to the authority.
    let (partner, sandbox) = Partner::new(&[("Zeta", T1, ""), ("Alpha", T2, "")]);
    let manifest = partner.manifest();
    let args = [
        "verify",
        manifest.as_str(),
        "--authority-host",
        "http://127.0.0.1:9",
        "--retries",
        "1",
        "--format",
        "json",
    ];
    let out = consentry(&args, &[("CONSENTRY_CLIENT_SECRET", SECRET)], None);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let failure = &json["app_failure"];
    assert_eq!(failure["status"], "error", "{json}");
    assert_eq!(failure["tenants"], 2, "{json}");
    for tenant in json["tenants"].as_array().unwrap() {
        assert_eq!(tenant["app_failure"], true, "{tenant}");
        // The first attempt and one retry, each counted.
        assert_eq!(tenant["apis"][0]["attempts"], 2, "{tenant}");
    }
    // Said once on stderr, not once per tenant.
    assert_eq!(
        stderr(&out).matches("app-wide failure").count(),
        1,
        "{}",
        stderr(&out)
    );
    assert_eq!(sandbox.total_requests(), 0);
}

/// An error quotes the state report's own text (serde names an unknown variant as written): a
/// hand-edited report must not drive the terminal through it. Found while fuzzing `--state`.
#[test]
fn plan_state_errors_show_no_raw_control_character() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(
        &state,
        r#"{"schema_version":1,"cloud":"\u001b]0;pwned\u0007\u202e"}"#,
    )
    .unwrap();
    let out = consentry(
        &[
            "plan",
            "manifests/demo.yaml",
            "--state",
            state.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("unknown variant"), "{err}");
    let raw = err
        .chars()
        .find(|&c| consentry::sanitize::is_unsafe(c) && c != '\n');
    assert_eq!(raw, None, "{err:?}");
}
