//! Secrets never echoed in diagnostics. Each manifest plants a secret in one of the shapes that
//! leaked before (issue 9 §2): the value on the lines after its key, next to a YAML syntax error,
//! a nesting or alias-bomb refusal, in a second `credential` block, at the wrong level, reached
//! through an alias, in block and flow styles, and in the credential kinds a later issue adds.
//! Every output is searched: `validate` human (stderr) and `--format json` (stdout), `plan` and
//! `verify` (which print the same diagnostics), and the library's coloured rendering.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is a test failure"
)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use consentry::validate;

const HEAD: &str = "version: 1
app:
  name: Contoso SOC Connector
  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e
  redirect_uri: https://portal.azure.com
";

const TAIL: &str = "apis:
  microsoft-365-defender:
    roles: [Incident.Read.All]
tenants:
  - name: Fabrikam
    id: 2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d
";

/// (name, manifest text, the secret planted in it, a diagnostic code that must be reported).
fn shapes() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let mut bomb = String::from("lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (name, prev) in [
        ("b", "a"),
        ("c", "b"),
        ("d", "c"),
        ("e", "d"),
        ("f", "e"),
        ("g", "f"),
        ("h", "g"),
    ] {
        bomb.push_str("password: Leak-Bomb-4c1\n");
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    bomb.push_str("password: Leak-Bomb-4c1\n");
    vec![
        (
            "next-line",
            format!("{HEAD}  credential:\n    client_secret:\n      Leak-NextLine-9f2\n{TAIL}"),
            "Leak-NextLine-9f2",
            "inline-secret",
        ),
        (
            "continuation-lines",
            format!(
                "{HEAD}  credential:\n    client_secret: first-part\n      Leak-Continued-5a1\n{TAIL}"
            ),
            "Leak-Continued-5a1",
            "inline-secret",
        ),
        (
            "syntax-error",
            format!("{HEAD}  credential:\n    client_secret: \"Leak-Syntax-2b7\" trailing\n{TAIL}"),
            "Leak-Syntax-2b7",
            "yaml-syntax",
        ),
        (
            "syntax-error-next-line",
            format!("{HEAD}  client_secret:\n    Leak-SyntaxNext-8d3\n  x: \"unterminated\n"),
            "Leak-SyntaxNext-8d3",
            "yaml-syntax",
        ),
        (
            "too-deep",
            format!("{HEAD}  client_secret: Leak-Deep-6e4\n  x: {deep}\n{TAIL}"),
            "Leak-Deep-6e4",
            "too-deep",
        ),
        ("alias-bomb", bomb, "Leak-Bomb-4c1", "alias-bomb"),
        (
            "second-credential",
            format!(
                "{HEAD}  credential:\n    client_secret: {{env: CONSENTRY_CLIENT_SECRET}}\n  credential:\n    client_secret: Leak-Second-1c9\n{TAIL}"
            ),
            "Leak-Second-1c9",
            "duplicate-key",
        ),
        (
            "wrong-level",
            format!("{HEAD}  client_secret: Leak-Level-3f8\n{TAIL}"),
            "Leak-Level-3f8",
            "unknown-field",
        ),
        (
            "alias-to-roles",
            format!(
                "{HEAD}  client_secret: &s Leak-Alias-7a2\napis:\n  microsoft-365-defender:\n    roles: [*s]\ntenants:\n  - name: Fabrikam\n    id: 2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d\n"
            ),
            "Leak-Alias-7a2",
            "unknown-role",
        ),
        (
            "alias-into-credential",
            format!(
                "{HEAD}  notes: &p Leak-Anchor-0b5\n  credential:\n    client_secret: *p\n{TAIL}"
            ),
            "Leak-Anchor-0b5",
            "unknown-field",
        ),
        (
            // Found by tests/fuzz_manifest.rs: a secret that contains "secret" was not redacted.
            "secret-word-in-value-through-alias",
            format!(
                "{HEAD}  credential:\n    client_secret: &s Xq8~SeCrEt.Token_77\ncloud: *s\n{TAIL}"
            ),
            "Xq8~SeCrEt.Token_77",
            "unknown-cloud",
        ),
        (
            "block-scalar",
            format!("{HEAD}  credential:\n    client_secret: |\n      Leak-Block-5d6\n{TAIL}"),
            "Leak-Block-5d6",
            "inline-secret",
        ),
        (
            "flow-in-tenant",
            format!(
                "{HEAD}{TAIL}    apis: {{microsoft-365-defender: {{roles: [Incident.Read.All], token: Leak-Flow-2e0}}}}\n"
            ),
            "Leak-Flow-2e0",
            "unknown-field",
        ),
        (
            "certificate-password",
            format!(
                "{HEAD}  credential:\n    certificate:\n      file: cert.pfx\n      password: Leak-Cert-9a9\n{TAIL}"
            ),
            "Leak-Cert-9a9",
            // The password itself written where its source belongs.
            "inline-secret",
        ),
        (
            "federated-token",
            format!("{HEAD}  credential:\n    federated: {{token: Leak-Federated-4b4}}\n{TAIL}"),
            "Leak-Federated-4b4",
            "unknown-field",
        ),
        (
            "numeric-secret-through-alias",
            format!(
                "{HEAD}  credential:\n    client_secret: &n 8675309123\napis:\n  microsoft-365-defender:\n    roles: [*n]\ntenants:\n  - name: Fabrikam\n    id: 2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d\n"
            ),
            "8675309123",
            "inline-secret",
        ),
    ]
}

fn consentry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args(args)
        .env_remove("CONSENTRY_CLIENT_SECRET")
        .env_remove("CONSENTRY_AUTHORITY_HOST")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("the consentry binary runs")
}

fn all_output(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn every_shape_reports_its_problem_and_never_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    // Every shape is checked even when one fails, so a regression names all it breaks.
    let failed: Vec<&str> = shapes()
        .into_iter()
        .filter_map(|(name, text, secret, code)| {
            let check = || check_shape(dir.path(), name, &text, secret, code);
            std::panic::catch_unwind(check).is_err().then_some(name)
        })
        .collect();
    assert!(failed.is_empty(), "shapes that fail: {failed:?}");
}

fn check_shape(dir: &std::path::Path, name: &str, text: &str, secret: &str, code: &str) {
    {
        assert!(text.contains(secret), "{name}: the secret is planted");
        let path: PathBuf = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        let file = path.to_str().unwrap();

        // The library: JSON, plain and coloured human renderings.
        let checked = validate::check_file(&path);
        let json = validate::render_json(&checked);
        let codes: Vec<&str> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert!(
            codes.contains(&code),
            "{name}: expected `{code}` in {codes:?}"
        );
        for rendering in [
            json.clone(),
            validate::render_human(&checked, false),
            validate::render_human(&checked, true),
        ] {
            assert!(!rendering.contains(secret), "{name} leaks:\n{rendering}");
        }

        // The binary, every command that prints the diagnostics.
        let human = consentry(&["validate", file]);
        assert_eq!(
            human.status.code(),
            Some(2),
            "{name}: {}",
            all_output(&human)
        );
        assert!(
            String::from_utf8_lossy(&human.stderr).contains(code),
            "{name}: the diagnostic is printed"
        );
        let json = consentry(&["validate", file, "--format", "json"]);
        assert!(
            String::from_utf8_lossy(&json.stdout).contains(code),
            "{name}: the JSON names the problem"
        );
        let plan = consentry(&["plan", file]);
        let plan_json = consentry(&["plan", file, "--format", "json"]);
        let verify = consentry(&["verify", file, "--format", "json"]);
        for (what, out) in [
            ("validate", &human),
            ("validate --format json", &json),
            ("plan", &plan),
            ("plan --format json", &plan_json),
            ("verify", &verify),
        ] {
            assert_ne!(
                out.status.code(),
                Some(0),
                "{name}: {what} refuses the manifest"
            );
            let text = all_output(out);
            assert!(!text.contains(secret), "{name}: {what} leaks:\n{text}");
        }
    }
}

#[test]
fn the_hidden_value_is_still_located() {
    // Hiding a value must not hide where it is: the snippet keeps its line and key name.
    let text = format!("{HEAD}  credential:\n    client_secret:\n      Leak-Located-1a1\n{TAIL}");
    let checked = validate::check_str("m.yaml", &text);
    let human = validate::render_human(&checked, false);
    assert!(human.contains("client_secret:"), "{human}");
    assert!(human.contains("m.yaml:8:"), "{human}");
    assert!(!human.contains("Leak-Located"), "{human}");
}
