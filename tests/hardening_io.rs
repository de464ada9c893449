//! Issue 9 §1 and §3, end to end: every reproducer of the fault-injection campaign that concerns
//! files, signals and time, run with the real binary against the real sandbox over loopback. Each
//! test failed on the code before the fix (named in its comment) and passes after.
//!
//! Unix only: FIFOs, file modes, owners, `/dev/*` and `kill` are what these reproducers are made of.
#![cfg(unix)]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns panic as test failures"
)]

use std::os::unix::fs::{
    FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _, symlink,
};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{Running, SECRET};

const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const T1: &str = "11111111-1111-4111-8111-111111111111";
const T2: &str = "22222222-2222-4222-8222-222222222222";
const T3: &str = "33333333-3333-4333-8333-333333333333";
const GRANTED: &str = "grants:\n  https://api.security.microsoft.com: [Incident.Read.All]";

fn command(args: &[&str], dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consentry"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("CONSENTRY_AUTHORITY_HOST")
        .env_remove("RUST_LOG")
        .env("CONSENTRY_CLIENT_SECRET", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the binary in `dir`; a run that takes longer than `limit` is killed and fails the test
/// (the bugs here made runs block forever).
fn run_within(args: &[&str], dir: &Path, limit: Duration) -> Output {
    let child = command(args, dir).spawn().unwrap();
    wait_within(child, limit)
}

fn wait_within(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(args: &[&str], dir: &Path) -> Output {
    run_within(args, dir, Duration::from_secs(60))
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Names in `dir`, sorted: a leftover `.consentry-*.tmp` shows up here.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A manifest (`consentry.yaml` in a temp dir) and the scenario that plays its tenants.
/// `tenants`: (name, guid, scenario lines for that tenant).
fn partner(tenants: &[(&str, &str, &str)]) -> (tempfile::TempDir, String) {
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
    (dir, scenario)
}

fn verify_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "verify",
        "consentry.yaml",
        "--authority-host",
        url,
        "--timeout",
        "30s",
    ];
    args.extend_from_slice(extra);
    args
}

// ---- §1 Outputs never destroy inputs -------------------------------------------------------

#[test]
fn plan_refuses_to_write_over_its_manifest_however_it_is_named() {
    // Before: `plan m.yaml -o m.yaml --format json` replaced the manifest with JSON, exit 0.
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    let original = std::fs::read(dir.path().join("consentry.yaml")).unwrap();
    std::fs::hard_link(
        dir.path().join("consentry.yaml"),
        dir.path().join("hard.yaml"),
    )
    .unwrap();
    symlink("consentry.yaml", dir.path().join("soft.yaml")).unwrap();
    let absolute = dir.path().join("consentry.yaml").display().to_string();
    for output in [
        "consentry.yaml",
        "./consentry.yaml",
        &absolute,
        "hard.yaml",
        "soft.yaml",
    ] {
        let out = run(
            &["plan", "consentry.yaml", "-o", output, "--format", "json"],
            dir.path(),
        );
        assert_eq!(code(&out), 2, "-o {output}: {}", stderr(&out));
        assert!(stderr(&out).contains("same file"), "{}", stderr(&out));
        assert_eq!(
            std::fs::read(dir.path().join("consentry.yaml")).unwrap(),
            original,
            "-o {output}"
        );
    }
    // The manifest given through a symlink, the output by its real name.
    let out = run(&["plan", "soft.yaml", "-o", "consentry.yaml"], dir.path());
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("consentry.yaml")).unwrap(),
        original
    );
}

#[test]
fn plan_refuses_to_write_over_base_or_state() {
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    std::fs::copy(
        dir.path().join("consentry.yaml"),
        dir.path().join("base.yaml"),
    )
    .unwrap();
    let base = std::fs::read(dir.path().join("base.yaml")).unwrap();
    let out = run(
        &[
            "plan",
            "consentry.yaml",
            "--base",
            "base.yaml",
            "-o",
            "base.yaml",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--base"), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.path().join("base.yaml")).unwrap(), base);

    std::fs::write(dir.path().join("state.json"), "{}").unwrap();
    let out = run(
        &[
            "plan",
            "consentry.yaml",
            "--state",
            "state.json",
            "-o",
            "state.json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--state"), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.path().join("state.json")).unwrap(), b"{}");
}

#[test]
fn verify_refuses_outputs_that_are_inputs_or_each_other_before_sending() {
    // Before: `verify m.yaml --report m.yaml` and `-o x --report x` replaced files after the run.
    let (dir, scenario) = partner(&[("A", T1, GRANTED)]);
    let sandbox = Running::start(&scenario);
    let manifest = std::fs::read(dir.path().join("consentry.yaml")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--report", "consentry.yaml"], "the manifest"),
        (&["-o", "consentry.yaml"], "the manifest"),
        (&["-o", "x.json", "--report", "x.json"], "both write to"),
        (&["-o", "-", "--report", "-"], "both write to"),
    ];
    for (extra, needle) in cases {
        let out = run(&verify_args(&sandbox.url, extra), dir.path());
        assert_eq!(code(&out), 2, "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{extra:?}: {}", stderr(&out));
        assert_eq!(sandbox.total_requests(), 0, "{extra:?}: nothing is sent");
    }
    assert_eq!(
        std::fs::read(dir.path().join("consentry.yaml")).unwrap(),
        manifest
    );
    assert!(!dir.path().join("x.json").exists());

    // The client-secret file the manifest names is an input too.
    let with_file = String::from_utf8(manifest)
        .unwrap()
        .replace(
            "  redirect_uri: https://portal.azure.com\n",
            "  redirect_uri: https://portal.azure.com\n  credential:\n    client_secret:\n      file: secret.txt\n",
        );
    std::fs::write(dir.path().join("consentry.yaml"), with_file).unwrap();
    std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
    let out = run(
        &verify_args(&sandbox.url, &["--report", "secret.txt"]),
        dir.path(),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("secret file"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("secret.txt")).unwrap(),
        SECRET.as_bytes()
    );
    assert!(!stderr(&out).contains(SECRET));
    assert_eq!(sandbox.total_requests(), 0);
}

#[test]
fn a_device_or_fifo_output_is_written_in_place() {
    // Before (as root): `-o /dev/null` renamed a regular file over /dev/null. A FIFO in a temp dir
    // stands in for the device (same code path: neither is a regular file), so a regression
    // cannot break the machine's /dev/null.
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    let fifo = dir.path().join("plan.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    // The reader is opened non-blocking first: the binary's write does not wait for it, and a
    // regression (the FIFO replaced by a file) shows as no data instead of a hang.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&fifo)
        .unwrap();
    let out = run(
        &[
            "plan",
            "consentry.yaml",
            "-o",
            "plan.fifo",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut reader, &mut text).unwrap();
    assert!(text.contains("\"tenants\""), "{text}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names(dir.path()), ["consentry.yaml", "plan.fifo"]);
}

#[test]
fn dash_and_dev_stdout_write_to_stdout() {
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    for output in ["-", "/dev/stdout"] {
        let out = run(
            &["plan", "consentry.yaml", "-o", output, "--format", "json"],
            dir.path(),
        );
        assert_eq!(code(&out), 0, "-o {output}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(json["tenants"][0]["name"], "A", "-o {output}");
        assert!(!dir.path().join("-").exists());
    }
    assert_eq!(names(dir.path()), ["consentry.yaml"]);
}

#[test]
fn a_symlinked_output_is_written_through() {
    // Before: the symlink itself was replaced by a regular file.
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    std::fs::create_dir(dir.path().join("reports")).unwrap();
    std::fs::write(dir.path().join("reports/plan.json"), "old").unwrap();
    symlink("reports/plan.json", dir.path().join("latest.json")).unwrap();
    let out = run(
        &[
            "plan",
            "consentry.yaml",
            "-o",
            "latest.json",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let link = std::fs::symlink_metadata(dir.path().join("latest.json")).unwrap();
    assert!(link.file_type().is_symlink(), "the link is kept");
    let text = std::fs::read_to_string(dir.path().join("reports/plan.json")).unwrap();
    assert!(text.contains("\"tenants\""), "{text}");
    assert_eq!(names(&dir.path().join("reports")), ["plan.json"]);
}

#[test]
fn a_read_only_output_is_an_error_not_overwritten() {
    // Before: a 0444 file was replaced (root or not: the folder was writable).
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    let locked = dir.path().join("locked.json");
    std::fs::write(&locked, "keep").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = run(&["plan", "consentry.yaml", "-o", "locked.json"], dir.path());
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&locked).unwrap(), b"keep");
    assert_eq!(names(dir.path()), ["consentry.yaml", "locked.json"]);
}

#[test]
fn modes_are_kept_or_come_from_the_umask() {
    // Before: every output ended up 0600, whatever it was or the umask said.
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    let shared = dir.path().join("shared.txt");
    std::fs::write(&shared, "old").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o664)).unwrap();
    let out = run(&["plan", "consentry.yaml", "-o", "shared.txt"], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::metadata(&shared).unwrap().mode() & 0o777, 0o664);
    assert_ne!(std::fs::read(&shared).unwrap(), b"old");

    // A new file under umask 022 is 0644, under 027 it is 0640.
    for (umask, expected) in [("022", 0o644), ("027", 0o640)] {
        let name = format!("new-{umask}.txt");
        let script = format!("umask {umask} && exec \"$0\" plan consentry.yaml -o {name}",);
        let status = Command::new("sh")
            .args(["-c", &script, env!("CARGO_BIN_EXE_consentry")])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mode = std::fs::metadata(dir.path().join(&name)).unwrap().mode() & 0o777;
        assert_eq!(mode, expected, "umask {umask}");
    }
}

#[test]
fn a_directory_or_missing_folder_is_refused_before_planning() {
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    std::fs::create_dir(dir.path().join("out")).unwrap();
    for (output, needle) in [("out", "is a directory"), ("nope/plan.txt", "nope")] {
        let out = run(&["plan", "consentry.yaml", "-o", output], dir.path());
        assert_eq!(code(&out), 2, "-o {output}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    }
    assert!(names(&dir.path().join("out")).is_empty());
}

// ---- §3 Inputs that are not regular files, sizes --------------------------------------------

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_fifo_input_is_refused_at_once() {
    // Before: a FIFO as manifest, --base, --state or --scenario blocked forever.
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    mkfifo(&dir.path().join("fifo"));
    let cases: &[&[&str]] = &[
        &["validate", "fifo"],
        &["plan", "fifo"],
        &["plan", "consentry.yaml", "--base", "fifo"],
        &["plan", "consentry.yaml", "--state", "fifo"],
        &["sandbox", "--scenario", "fifo"],
    ];
    for args in cases {
        let out = run_within(args, dir.path(), Duration::from_secs(20));
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("FIFO") || stdout(&out).contains("FIFO"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_manifest_piped_through_dev_stdin_is_still_read() {
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    let manifest = std::fs::read_to_string(dir.path().join("consentry.yaml")).unwrap();
    let mut child = command(&["plan", "/dev/stdin", "--format", "json"], dir.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(manifest.as_bytes()).unwrap();
    }
    let out = wait_within(child, Duration::from_secs(20));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("\"name\": \"A\""), "{}", stdout(&out));
}

#[test]
fn decode_stops_reading_an_endless_stdin() {
    // Before: `decode < /dev/zero` allocated until out of memory.
    let dir = tempfile::tempdir().unwrap();
    let child = command(&["decode"], dir.path())
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .spawn()
        .unwrap();
    let out = wait_within(child, Duration::from_secs(20));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("8 MiB"), "{}", stderr(&out));
}

#[test]
fn state_and_scenario_files_are_size_capped() {
    let (dir, _) = partner(&[("A", T1, GRANTED)]);
    let big = dir.path().join("big.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(9 * 1024 * 1024).unwrap();
    for args in [
        &["plan", "consentry.yaml", "--state", "big.json"][..],
        &["sandbox", "--scenario", "big.json"][..],
    ] {
        let out = run(args, dir.path());
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("8 MiB limit"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

// ---- §3 Bounded time: Retry-After and the deadline ------------------------------------------

#[test]
fn a_huge_retry_after_waits_at_most_60s_and_the_deadline_wakes_the_wait() {
    // Before: `Retry-After: 99999999999` was honoured for 120s per retry whatever --timeout said.
    // The wait the client chose is in its trace log; the deadline then ends the sleeping retry
    // long before the wait would.
    let (dir, scenario) = partner(&[(
        "Stubborn",
        T1,
        &format!("{GRANTED}\nthrottle: {{times: 5, retry_after: 99999999999}}"),
    )]);
    let sandbox = Running::start(&scenario);
    let args = verify_args(
        &sandbox.url,
        &["--deadline", "2s", "--retries", "3", "--format", "json"],
    );
    let started = Instant::now();
    let child = command(&args, dir.path())
        .env("RUST_LOG", "consentry=trace")
        .spawn()
        .unwrap();
    let out = wait_within(child, Duration::from_secs(30));
    let elapsed = started.elapsed();
    let log = stderr(&out);
    let waits: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("backing off"))
        .filter_map(|l| l.split("wait_ms=").nth(1))
        .map(|v| v.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(waits, [60_000], "one capped wait, cut short: {log}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert_eq!(code(&out), 3, "{log}");
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let message = report["tenants"][0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("deadline reached"), "{message}");
    assert_eq!(sandbox.total_requests(), 1);
}

#[test]
fn the_deadline_ends_hung_and_throttled_tenants_promptly() {
    // Before: no overall bound: a hung tenant waited --timeout per attempt, a throttled one
    // Retry-After (up to 120s) per retry, so `--retries 20` meant 40 minutes.
    let (dir, scenario) = partner(&[
        ("Fine", T1, GRANTED),
        ("Hung", T2, "failure: hang"),
        (
            "Throttled",
            T3,
            &format!("{GRANTED}\nthrottle: {{times: 20, retry_after: 30}}"),
        ),
    ]);
    let sandbox = Running::start(&scenario);
    let started = Instant::now();
    let out = run(
        &verify_args(
            &sandbox.url,
            &["--deadline", "2s", "--retries", "20", "--report", "r.json"],
        ),
        dir.path(),
    );
    let elapsed = started.elapsed();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        elapsed < Duration::from_secs(15),
        "ended promptly: {elapsed:?}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let tenants = report["tenants"].as_array().unwrap();
    assert_eq!(tenants[0]["status"], "ok");
    for t in &tenants[1..] {
        assert_eq!(t["status"], "error", "{t}");
        let message = t["error"]["message"].as_str().unwrap();
        assert!(message.contains("deadline reached"), "{message}");
    }
    assert_eq!(names(dir.path()), ["consentry.yaml", "r.json"]);
}

#[test]
fn the_token_command_honours_the_deadline() {
    let (dir, scenario) = partner(&[("Hung", T1, "failure: hang")]);
    let sandbox = Running::start(&scenario);
    let out = run_within(
        &[
            "token",
            "consentry.yaml",
            "--tenant",
            "Hung",
            "--authority-host",
            &sandbox.url,
            "--deadline",
            "1s",
        ],
        dir.path(),
        Duration::from_secs(15),
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("deadline reached"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

// ---- §1 Signals -----------------------------------------------------------------------------

/// Starts a verify with a fine tenant first and a hung one after it, waits until the hung
/// tenant's request is in flight, sends `signal`, and returns the finished run.
fn interrupted_verify(signal: &str) -> (tempfile::TempDir, Output) {
    let (dir, scenario) = partner(&[("Fine", T1, GRANTED), ("Hung", T2, "failure: hang")]);
    let sandbox = Running::start(&scenario);
    let args = verify_args(
        &sandbox.url,
        &["--report", "r.json", "-o", "table.txt", "--retries", "5"],
    );
    let child = command(&args, dir.path()).spawn().unwrap();
    let started = Instant::now();
    while sandbox.total_requests() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the hung request never arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The answer to the fine tenant is in; give the client a moment to read it.
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = wait_within(child, Duration::from_secs(15));
    drop(sandbox);
    (dir, out)
}

fn assert_partial_report(dir: &Path, out: &Output, signal: &str) {
    assert!(
        stderr(out).contains(&format!("stopped by SIG{signal}")),
        "{}",
        stderr(out)
    );
    // Written whole: it parses, and both tenants are in it.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap();
    let tenants = report["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 2);
    assert_eq!(tenants[0]["status"], "ok");
    assert_eq!(tenants[1]["status"], "not_checked");
    assert_eq!(report["summary"]["by_status"]["not_checked"], 1);
    let table = std::fs::read_to_string(dir.join("table.txt")).unwrap();
    assert!(table.contains("not_checked"), "{table}");
    // No temp file left behind.
    assert_eq!(names(dir), ["consentry.yaml", "r.json", "table.txt"]);
}

#[test]
fn sigint_writes_what_was_determined_and_exits_130() {
    let (dir, out) = interrupted_verify("INT");
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    assert_partial_report(dir.path(), &out, "INT");
}

#[test]
fn sigterm_writes_what_was_determined_and_exits_143() {
    let (dir, out) = interrupted_verify("TERM");
    assert_eq!(code(&out), 143, "{}", stderr(&out));
    assert_partial_report(dir.path(), &out, "TERM");
}

#[test]
fn a_stopped_report_reads_back_as_state_and_says_investigate() {
    let (dir, out) = interrupted_verify("INT");
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    let plan = run(
        &[
            "plan",
            "consentry.yaml",
            "--state",
            "r.json",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    let json: serde_json::Value = serde_json::from_str(&stdout(&plan)).unwrap();
    assert_eq!(json["tenants"][1]["name"], "Hung");
    assert_eq!(json["tenants"][1]["action"], "investigate");
}

#[test]
fn help_and_readme_document_every_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&run(&["--help"], dir.path()));
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for code in [0, 1, 2, 3, 130, 143] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code}  "))),
            "--help lacks exit code {code}:\n{help}"
        );
        assert!(
            readme.contains(&format!("\n| {code} | ")),
            "the README's exit-code table lacks {code}"
        );
    }
    for needle in [
        "## Limits and signals",
        "8 MiB",
        "60 s",
        "--deadline",
        "not_checked",
    ] {
        assert!(readme.contains(needle), "README lacks {needle}");
    }
}
