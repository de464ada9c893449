//! `consentry app …` end to end: the real binary on exported registrations (tests/fixtures/app),
//! its exit codes, and what it refuses before sending anything.
#![expect(
    clippy::expect_used,
    reason = "test helpers outside #[test] fns panic as test failures"
)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const MANIFEST: &str = "tests/fixtures/app/manifest.yaml";

fn consentry(args: &[&str]) -> Output {
    consentry_with(args, &[])
}

fn consentry_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .env_remove("CONSENTRY_GRAPH_TOKEN")
        .env_remove("CONSENTRY_GRAPH_HOST")
        .env_remove("RUST_LOG")
        // The case's own variables last, so they win over the removals above.
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the consentry binary runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A case is data: arguments, expected exit code, and text stdout or stderr must contain.
#[test]
fn app_commands_exit_as_documented() {
    let cases: &[(&[&str], i32, &str, &str)] = &[
        (
            &[
                "app",
                "check",
                MANIFEST,
                "--from",
                "tests/fixtures/app/right.json",
            ],
            0,
            "nothing to fix",
            "",
        ),
        (
            &[
                "app",
                "check",
                MANIFEST,
                "--from",
                "tests/fixtures/app/broken.json",
            ],
            1,
            "error[role-not-requested] microsoft-365-defender Incident.Read.All",
            "",
        ),
        (
            &[
                "app",
                "check",
                MANIFEST,
                "--from",
                "tests/fixtures/app/broken.json",
                "--format",
                "json",
            ],
            1,
            "\"schema_version\": 1",
            "",
        ),
        (
            &[
                "app",
                "check",
                MANIFEST,
                "--from",
                "tests/fixtures/app/absent.json",
            ],
            2,
            "",
            "cannot read the registration export",
        ),
        (
            &["app", "check", MANIFEST, "--from", "tests/fixtures/app"],
            2,
            "",
            "not a regular file",
        ),
        (
            &["app", "check", MANIFEST, "--from", MANIFEST],
            2,
            "",
            "not an application object",
        ),
        (
            &["app", "check", "manifests/example.yaml"],
            2,
            "",
            "has no app.home_tenant",
        ),
        (
            &["app", "check", MANIFEST],
            2,
            "",
            "no Graph token: set CONSENTRY_GRAPH_TOKEN",
        ),
        (
            &[
                "app",
                "check",
                MANIFEST,
                "--graph-host",
                "http://graph.example.com",
            ],
            2,
            "",
            "--graph-host `http://graph.example.com`: plain http:// is accepted only for loopback",
        ),
        (
            &["app", "check", MANIFEST, "--expiry-warning", "5w"],
            2,
            "",
            "unknown unit",
        ),
        (
            &[
                "app",
                "apply",
                MANIFEST,
                "--from",
                "tests/fixtures/app/broken.json",
                "--dry-run",
            ],
            0,
            "+ microsoft-365-defender Incident.Read.All",
            "",
        ),
        (
            &[
                "app",
                "apply",
                MANIFEST,
                "--from",
                "tests/fixtures/app/broken.json",
                "--dry-run",
                "--prune",
            ],
            0,
            "- microsoft-365-defender Incident.ReadWrite.All",
            "",
        ),
        (
            &[
                "app",
                "apply",
                MANIFEST,
                "--from",
                "tests/fixtures/app/right.json",
                "--dry-run",
            ],
            0,
            "nothing to change",
            "",
        ),
        (
            &[
                "app",
                "apply",
                MANIFEST,
                "--from",
                "tests/fixtures/app/broken.json",
            ],
            2,
            "",
            "add --dry-run",
        ),
        (
            &["app", "required-access", MANIFEST],
            0,
            "\"resourceAppId\": \"8ee8fdad-f234-4243-8f3b-15c294843740\"",
            "",
        ),
    ];
    for (args, want, out_has, err_has) in cases {
        let out = consentry(args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(
            code(&out),
            *want,
            "{args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(
            stdout.contains(out_has),
            "{args:?}: stdout lacks {out_has:?}:\n{stdout}"
        );
        assert!(
            stderr.contains(err_has),
            "{args:?}: stderr lacks {err_has:?}:\n{stderr}"
        );
        if *want == 2 {
            assert!(
                stdout.is_empty(),
                "{args:?}: a usage error printed a report: {stdout}"
            );
        }
    }
}

#[test]
fn warnings_fail_the_check_only_with_fail_on_warning() {
    // A registration right in every way but one role it requests beyond the manifest.
    let dir = std::env::temp_dir().join(format!("consentry-app-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/fixtures/app/right.json").unwrap())
            .unwrap();
    value["requiredResourceAccess"][1]["resourceAccess"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "8d90f441-09cf-4fdc-ab45-e874fa3a28e8", "type": "Role"}));
    let path = dir.join("extra.json");
    std::fs::write(&path, value.to_string()).unwrap();
    let path = path.to_str().unwrap();
    let plain = consentry(&["app", "check", MANIFEST, "--from", path]);
    assert_eq!(code(&plain), 0, "{}", text(&plain.stdout));
    assert!(text(&plain.stdout).contains("warning[role-not-declared]"));
    let strict = consentry(&[
        "app",
        "check",
        MANIFEST,
        "--from",
        path,
        "--fail-on-warning",
    ]);
    assert_eq!(code(&strict), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn required_access_is_what_apply_would_write_to_an_empty_registration() {
    let out = consentry(&["app", "required-access", MANIFEST]);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = printed.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let roles: usize = entries
        .iter()
        .map(|e| e["resourceAccess"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        roles, 4,
        "Incident.Read.All + Alert.Read.All, Machine.Read.All, Machine.Isolate"
    );
    assert!(
        entries
            .iter()
            .flat_map(|e| e["resourceAccess"].as_array().unwrap())
            .all(|a| a["type"] == "Role")
    );
}

#[test]
fn the_graph_token_never_reaches_any_output_at_any_log_level() {
    let token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.planted-graph-token.c2ln";
    for args in [
        &[
            "app",
            "check",
            MANIFEST,
            "--graph-host",
            "http://127.0.0.1:9",
        ][..],
        &[
            "-vvv",
            "app",
            "check",
            MANIFEST,
            "--graph-host",
            "http://127.0.0.1:9",
        ],
        &[
            "-vvv",
            "app",
            "apply",
            MANIFEST,
            "--yes",
            "--graph-host",
            "http://127.0.0.1:9",
        ],
        &[
            "-vvv",
            "app",
            "check",
            MANIFEST,
            "--graph-host",
            "http://127.0.0.1:9",
        ],
        &[
            "-vvv",
            "app",
            "check",
            MANIFEST,
            "--from",
            "tests/fixtures/app/broken.json",
            "--format",
            "json",
        ],
    ] {
        let out = consentry_with(
            args,
            &[("CONSENTRY_GRAPH_TOKEN", token), ("RUST_LOG", "trace")],
        );
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains("planted-graph-token"),
            "{args:?} leaked the Graph token:\n{all}"
        );
        // 3: Graph unreachable (nothing listens on port 9); 1: findings in the export.
        assert!(code(&out) == 3 || code(&out) == 1, "{args:?}: {all}");
    }
    // Online runs against the sandbox's Graph: tests/app_online.rs.
}

#[test]
fn the_demo_shows_the_registration_check_with_the_missing_role_and_the_expiring_secret() {
    let out = consentry(&["demo"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let check = stdout
        .split("$ consentry plan")
        .next()
        .expect("the check comes before the plan");
    assert!(
        check.contains("$ consentry app check manifests/demo.yaml"),
        "{stdout}"
    );
    assert!(
        check.contains("error[role-not-requested] defender-for-endpoint Vulnerability.Read.All"),
        "{check}"
    );
    assert!(check.contains("warning[secret-expiring]"), "{check}");
    assert!(check.contains("(in 12 day(s))"), "{check}");
    assert!(
        check.contains("1 error(s), 1 warning(s), 0 info"),
        "{check}"
    );
}
