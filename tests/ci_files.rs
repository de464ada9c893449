//! The GitHub Action and workflows cannot run here, so they are checked as far as they can be:
//! each parses as YAML, has the inputs, steps and settings the README documents, and the shell
//! scripts they run pass shellcheck (when it is installed; CI images without it skip that part and
//! say so on stderr).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failure"
)]

use std::path::PathBuf;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_saphyr::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn steps(job: &Value) -> &Vec<Value> {
    job["steps"].as_array().expect("steps")
}

#[test]
fn the_action_has_the_documented_inputs_and_runs_its_scripts() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    for (input, default) in [
        ("command", "validate"),
        ("manifest", "consentry.yaml"),
        ("format", "github"),
        ("args", ""),
    ] {
        assert_eq!(action["inputs"][input]["default"], default, "input {input}");
        assert!(action["inputs"][input]["description"].is_string());
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let text = serde_json::to_string(steps).unwrap();
    for needle in [
        "install.sh",
        "cargo install --locked",
        "actions/cache",
        "run.sh",
    ] {
        assert!(text.contains(needle), "no step with {needle}");
    }
    // Composite steps must each name a shell, and inputs reach scripts only through env.
    for step in steps.iter().filter(|s| s.get("run").is_some()) {
        assert_eq!(step["shell"], "bash", "{step}");
        assert!(
            !step["run"].as_str().unwrap().contains("inputs."),
            "inputs spliced into a script: {step}"
        );
    }
    let run = std::fs::read_to_string(root().join(".github/action/run.sh")).unwrap();
    assert!(
        run.contains("GITHUB_STEP_SUMMARY"),
        "writes the job summary"
    );
    let install = std::fs::read_to_string(root().join(".github/action/install.sh")).unwrap();
    assert!(install.contains("SHA256SUMS") && install.contains("sha256sum"));
}

#[test]
fn the_release_workflow_builds_every_platform_the_action_installs() {
    let release = yaml(".github/workflows/release.yml");
    assert!(release["on"]["push"]["tags"].is_array(), "runs on tags");
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    let install = std::fs::read_to_string(root().join(".github/action/install.sh")).unwrap();
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(targets.contains(&target), "release builds {target}");
        assert!(install.contains(target), "the action installs {target}");
    }
    let publish = serde_json::to_string(&release["jobs"]["release"]).unwrap();
    assert!(publish.contains("SHA256SUMS"));
    assert_eq!(
        release["jobs"]["release"]["permissions"]["contents"],
        "write"
    );
    assert_eq!(release["permissions"]["contents"], "read");
    for job in release["jobs"].as_object().unwrap().values() {
        assert!(job["timeout-minutes"].is_u64(), "{job}");
    }
}

#[test]
fn ci_runs_the_ci_script() {
    let ci = yaml(".github/workflows/ci.yml");
    let job = &ci["jobs"]["ci"];
    assert!(job["timeout-minutes"].is_u64());
    assert_eq!(ci["permissions"]["contents"], "read");
    assert!(
        steps(job)
            .iter()
            .any(|s| s["run"].as_str() == Some("bash .ci/run"))
    );
}

/// The README's workflow example, parsed: permissions, timeouts, and a first pull request planned
/// against an empty base.
#[test]
fn the_readme_workflow_example_is_valid_and_safe() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("# .github/workflows/consent.yml")
        .expect("the README's workflow example");
    let block = &readme[start..];
    let block = &block[..block.find("```").unwrap()];
    let workflow: Value = serde_saphyr::from_str(block).unwrap();
    assert!(workflow["permissions"].is_object(), "a permissions block");
    for (name, job) in workflow["jobs"].as_object().unwrap() {
        assert!(job["timeout-minutes"].is_u64(), "{name} has a timeout");
    }
    assert!(block.contains("--base-missing-ok"), "{block}");
    assert!(!block.contains("cp consentry.yaml base.yaml"), "{block}");
}

/// The action's run script with the real binary on PATH: `app-check` runs `consentry app check`
/// once, its Markdown on the log and in the job summary, and hands on the exit code. (Unix: the
/// action's script is bash, and the binary is put on PATH by a symlink.)
#[cfg(unix)]
#[test]
fn the_action_runs_app_check_once_into_the_log_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_consentry"), bin.join("consentry")).unwrap();
    let summary = dir.path().join("summary.md");
    let output = dir.path().join("output.txt");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .arg(root().join(".github/action/run.sh"))
        .current_dir(root())
        .env("PATH", path)
        .env("CONSENTRY_COMMAND", "app-check")
        .env("CONSENTRY_MANIFEST", "tests/fixtures/app/manifest.yaml")
        .env("CONSENTRY_FORMAT", "github")
        .env("CONSENTRY_ARGS", "--from tests/fixtures/app/broken.json")
        .env("CONSENTRY_SUMMARY", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .env("RUNNER_TEMP", dir.path())
        .env_remove("CONSENTRY_GRAPH_TOKEN")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    // The broken export has errors: exit 1, said on the log, in the summary and as the output.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("role-not-requested"), "{summary}");
    assert_eq!(
        log, summary,
        "the log and the summary are the same Markdown"
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit-code=1\n");
    // Nothing left in RUNNER_TEMP but what the test put there.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["bin", "output.txt", "summary.md"]);
}

#[test]
fn the_scripts_pass_shellcheck() {
    let Ok(version) = std::process::Command::new("shellcheck")
        .arg("--version")
        .output()
    else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "shellcheck not installed: skipped (apt-get install shellcheck)"
        );
        return;
    };
    assert!(version.status.success());
    let out = std::process::Command::new("shellcheck")
        .current_dir(root())
        .args([
            ".github/action/install.sh",
            ".github/action/run.sh",
            ".ci/run",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
