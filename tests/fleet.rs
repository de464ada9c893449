//! A real fleet, through the real binary against the real sandbox: selecting tenants by label,
//! labels in every format, `--group-by label`, and onboarding with `verify --wait`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns panic as test failures"
)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

mod common;
use common::{Running, SECRET};

const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const T1: &str = "11111111-1111-4111-8111-111111111111";
const T2: &str = "22222222-2222-4222-8222-222222222222";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn consentry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args(args)
        .current_dir(root())
        .env_remove("CONSENTRY_AUTHORITY_HOST")
        .env_remove("RUST_LOG")
        .env("CONSENTRY_CLIENT_SECRET", SECRET)
        .stdin(Stdio::null())
        .output()
        .expect("the consentry binary runs")
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
            ],
        }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

impl Running {
    fn demo() -> Running {
        Running::start(
            &std::fs::read_to_string(root().join("manifests/demo.sandbox.yaml")).unwrap(),
        )
    }
}

fn verify_demo(sandbox: &Running, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "manifests/demo.yaml",
        "--authority-host",
        &sandbox.url,
        "--timeout",
        "2s",
    ];
    args.extend_from_slice(extra);
    consentry(&args)
}

fn names(json: &serde_json::Value) -> Vec<String> {
    json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn labels_select_tenants_in_verify_plan_and_token() {
    let sandbox = Running::demo();
    // Repeated --label: any of them; `+`: all of them; --tenant adds to the selection.
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--label", "apac"],
            &["Litware", "Adatum Corporation", "Fourth Coffee"],
        ),
        (
            &["--label", "apac", "--label", "tier-1"],
            &[
                "Fabrikam",
                "Wide World Importers",
                "Litware",
                "Adatum Corporation",
                "Fourth Coffee",
            ],
        ),
        (&["--label", "amer+tier-1"], &["Wide World Importers"]),
        (
            &["--label", "EMEA+onboarding", "--tenant", "Litware"],
            &["Litware", "Proseware"],
        ),
    ];
    for (filters, expected) in cases {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(filters);
        let out = verify_demo(&sandbox, &args);
        assert!(
            matches!(code(&out), 0 | 1 | 3),
            "{filters:?}: {}",
            stderr(&out)
        );
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(names(&json), expected, "verify {filters:?}");
        assert_eq!(json["summary"]["tenants"], expected.len());

        let mut plan = vec!["plan", "manifests/demo.yaml", "--format", "json"];
        plan.extend_from_slice(filters);
        let out = consentry(&plan);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(names(&json), expected, "plan {filters:?}");
        assert_eq!(json["summary"]["tenants"], expected.len());
    }

    // Mistakes: nothing is sent, and the closest label or tenant is suggested.
    let before = sandbox.total_requests();
    for (filters, needle) in [
        (&["--label", "emae"][..], "did you mean `emea`?"),
        (&["--label", "apac+tier-1"][..], "no tenant has every label"),
        (&["--tenant", "Fabrikan"][..], "did you mean `Fabrikam`?"),
    ] {
        let out = verify_demo(&sandbox, filters);
        assert_eq!(code(&out), 2, "verify {filters:?}");
        assert!(
            stderr(&out).contains(needle),
            "{filters:?}: {}",
            stderr(&out)
        );
        let mut plan = vec!["plan", "manifests/demo.yaml"];
        plan.extend_from_slice(filters);
        let out = consentry(&plan);
        assert_eq!(code(&out), 2, "plan {filters:?}");
        assert!(
            stderr(&out).contains(needle),
            "{filters:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(
        sandbox.total_requests(),
        before,
        "a bad filter sends nothing"
    );

    // token: the same did-you-mean, and --label naming exactly one tenant.
    let token = |filters: &[&str]| {
        let mut args = vec![
            "token",
            "manifests/demo.yaml",
            "--authority-host",
            &sandbox.url,
        ];
        args.extend_from_slice(filters);
        consentry(&args)
    };
    let out = token(&["--tenant", "Fabrikan"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("did you mean `Fabrikam`?"),
        "{}",
        stderr(&out)
    );
    let out = token(&["--label", "amer"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("token needs one"), "{}", stderr(&out));
    let out = token(&["--label", "amer+tier-1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim().split('.').count(), 3, "a JWT");
}

#[test]
fn labels_show_in_every_format_and_group_the_table_and_markdown() {
    let sandbox = Running::demo();
    let out = verify_demo(&sandbox, &["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["tenants"][0]["labels"],
        serde_json::json!(["emea", "tier-1"])
    );
    for format in ["table", "markdown", "junit", "github"] {
        // Wide enough that the table keeps "[apac, onboarding]" on one line.
        let out = verify_demo(
            &sandbox,
            &[
                "--format",
                format,
                "--label",
                "onboarding",
                "--width",
                "200",
            ],
        );
        let text = stdout(&out);
        // Litware and Proseware both need a look: every format names them with their labels.
        // GitHub escapes the comma in an annotation's title.
        let comma = if format == "github" { "%2C" } else { "," };
        for needle in [
            format!("apac{comma} onboarding"),
            format!("emea{comma} onboarding"),
        ] {
            assert!(text.contains(&needle), "{format} lacks {needle}:\n{text}");
        }
    }
    for format in ["table", "markdown"] {
        let out = verify_demo(&sandbox, &["--format", format, "--group-by", "label"]);
        assert!(matches!(code(&out), 1 | 3), "{}", stderr(&out));
        let text = stdout(&out);
        // Sections in order of first use in the manifest; a tenant with two labels is in both.
        let at = |label: &str| text.find(&format!("label {label} (")).expect(label);
        assert!(at("emea") < at("tier-1") && at("tier-1") < at("amer") && at("amer") < at("apac"));
        assert_eq!(text.matches("Fabrikam").count(), 2, "{text}");
        snapshot!(format!("group_by_label_{format}"), text);
    }
    let out = verify_demo(&sandbox, &["--format", "json", "--group-by", "label"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--group-by"), "{}", stderr(&out));
}

/// A one-tenant partner whose scenario lines for the tenant are `lines`.
fn partner(lines: &str) -> (tempfile::TempDir, Running) {
    let dir = tempfile::tempdir().unwrap();
    let manifest = format!(
        "version: 1\napp:\n  name: Test App\n  client_id: {CLIENT}\n  redirect_uri: https://portal.azure.com\n\
         apis:\n  microsoft-365-defender:\n    roles: [Incident.Read.All, AdvancedHunting.Read.All]\ntenants:\n\
         \x20 - name: Onboarding Co\n    id: {T1}\n  - name: Done Co\n    id: {T2}\n"
    );
    let mut scenario = format!(
        "app:\n  client_id: {CLIENT}\n  name: Test App\ntenants:\n  - name: Onboarding Co\n    id: {T1}\n"
    );
    for line in lines.lines() {
        scenario.push_str(&format!("    {line}\n"));
    }
    scenario.push_str(&format!(
        "  - name: Done Co\n    id: {T2}\n    grants:\n      https://api.security.microsoft.com: [Incident.Read.All, AdvancedHunting.Read.All]\n"
    ));
    std::fs::write(dir.path().join("consentry.yaml"), manifest).unwrap();
    (dir, Running::start(&scenario))
}

#[test]
fn wait_polls_until_a_new_grant_reaches_tokens() {
    // Consented with one role; the second reaches tokens from the 3rd request on.
    let (dir, sandbox) = partner(
        "grants:\n  https://api.security.microsoft.com: [Incident.Read.All]\n\
         grants_later:\n  after: 2\n  grants:\n    https://api.security.microsoft.com: [Incident.Read.All, AdvancedHunting.Read.All]",
    );
    let manifest = dir.path().join("consentry.yaml").display().to_string();
    let out = consentry(&[
        "verify",
        &manifest,
        "--authority-host",
        &sandbox.url,
        "--tenant",
        "Onboarding Co",
        "--wait",
        "1m",
        "--wait-every",
        "100ms",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    // Two rounds still missing the role, said on stderr with the next pause (doubling).
    let rounds: Vec<&str> = err.lines().filter(|l| l.starts_with("waiting:")).collect();
    assert_eq!(rounds.len(), 2, "{err}");
    assert!(
        rounds[0].contains("Onboarding Co: missing_roles (M365D AdvancedHunting.Read.All)"),
        "{err}"
    );
    assert!(rounds[0].ends_with("next check in 100ms"), "{err}");
    assert!(rounds[1].ends_with("next check in 200ms"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["tenants"][0]["status"], "ok");
    assert_eq!(
        sandbox.total_requests(),
        3,
        "one request per round, Done Co never asked"
    );
}

#[test]
fn wait_stops_at_its_deadline_and_reports_the_last_round() {
    let (dir, sandbox) =
        partner("grants:\n  https://api.security.microsoft.com: [Incident.Read.All]");
    let manifest = dir.path().join("consentry.yaml").display().to_string();
    let started = std::time::Instant::now();
    let out = consentry(&[
        "verify",
        &manifest,
        "--authority-host",
        &sandbox.url,
        "--wait",
        "2s",
        "--wait-every",
        "300ms",
        "--format",
        "json",
    ]);
    let took = started.elapsed();
    assert_eq!(code(&out), 1, "still missing a role: {}", stderr(&out));
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    let err = stderr(&out);
    let rounds = err.lines().filter(|l| l.starts_with("waiting:")).count();
    // 300ms, 600ms, then what is left of 2s: three pauses, four rounds.
    assert!((2..=4).contains(&rounds), "{err}");
    assert!(
        !err.contains("Done Co"),
        "only what is still missing is said: {err}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["tenants"][0]["status"], "missing_roles");

    // Against a real authority, polling faster than every 15s is refused before anything is sent.
    let out = consentry(&[
        "verify",
        &manifest,
        "--authority-host",
        "https://login.example.com",
        "--wait",
        "1m",
        "--wait-every",
        "1s",
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("at least 15s"), "{}", stderr(&out));
}

#[test]
fn the_demo_verifies_first_then_plans_from_its_report() {
    let out = consentry(&["demo"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let verify = text.find("$ consentry verify").expect("verify is shown");
    let plan = text
        .find("$ consentry plan manifests/demo.yaml --state report.json")
        .expect("the plan reads verify's report");
    assert!(verify < plan, "what consentry finds comes first:\n{text}");
    // The plan says what each tenant's real grants call for, not "consent" fourteen times.
    let actions = &text[plan..];
    for action in ["│ none ", "│ reconsent ", "│ consent ", "│ investigate "] {
        assert!(actions.contains(action), "{action} missing:\n{actions}");
    }
    snapshot!("demo_table", text);

    for (format, check) in [("json", "json"), ("junit", "<?xml"), ("github", "::")] {
        let out = consentry(&["demo", "--format", format]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.starts_with(if check == "json" { "{" } else { check }),
            "{text}"
        );
        assert!(
            !text.contains("consentry demo:"),
            "{format} is the report alone"
        );
    }
    let out = consentry(&["demo", "--format", "json"]);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("demo --format json is JSON and nothing else");
    assert_eq!(json["tenants"].as_array().unwrap().len(), 14);
}
