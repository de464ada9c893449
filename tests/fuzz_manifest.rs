//! Property-based fuzzing of the manifest reader (`validate::check_str` and its renderings), kept in
//! `cargo test` with a bounded number of cases. Inputs: arbitrary text, a valid manifest mutated
//! line by line and character by character, and hostile structures (deep nesting, alias fans,
//! huge keys). Properties:
//! - it never panics and always returns (proptest fails the case on a panic);
//! - every diagnostic's location lies inside the file;
//! - a secret planted under `client_secret` never appears in any rendering;
//! - the human rendering holds no raw control character.
//!
//! The `fuzz/` folder has a `cargo fuzz` target over the same entry point for longer runs.

use proptest::prelude::*;

use consentry::validate::{self, Checked};

const SECRET: &str = "Zq9~PlantedSeCrEt.Value_42";

/// A valid manifest with the planted secret's line at index [`SECRET_LINE`].
fn manifest_lines() -> Vec<String> {
    [
        "version: 1",
        "app:",
        "  name: Contoso SOC Connector",
        "  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e",
        "  redirect_uri: https://portal.azure.com",
        "  credential:",
        "    client_secret: Zq9~PlantedSeCrEt.Value_42",
        "apis:",
        "  microsoft-365-defender:",
        "    roles: [Incident.Read.All, AdvancedHunting.Read.All]",
        "tenants:",
        "  - name: Fabrikam",
        "    id: 2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d",
        "    labels: [emea, tier-1]",
        "  - name: Northwind",
        "    id: northwind.onmicrosoft.com",
        "    apis:",
        "      defender-for-endpoint: {roles: [Machine.Read.All]}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

const SECRET_LINE: usize = 6;

/// One edit of a manifest; indexes are taken modulo the current size.
#[derive(Debug, Clone)]
enum Mutation {
    InsertLine(usize, String),
    DeleteLine(usize),
    ReplaceLine(usize, String),
    InsertChar(usize, usize, char),
    DeleteChar(usize, usize),
    Indent(usize, i8),
    AliasSecret(usize),
}

/// Lines and characters YAML gives meaning to, so mutations reach the parser's corners.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("  - ".to_owned()),
        Just("&a x".to_owned()),
        Just("*a".to_owned()),
        Just("key: [".to_owned()),
        Just("}".to_owned()),
        Just("? complex".to_owned()),
        Just("--- ".to_owned()),
        Just("  roles: |".to_owned()),
        Just("\"unterminated".to_owned()),
        Just("\t\u{1b}[2J\u{7}".to_owned()),
        Just("password:".to_owned()),
        Just("  token: &t".to_owned()),
        "[ -~]{0,30}",
        any::<String>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), fragment()).prop_map(|(i, s)| Mutation::InsertLine(i, s)),
        any::<usize>().prop_map(Mutation::DeleteLine),
        (any::<usize>(), fragment()).prop_map(|(i, s)| Mutation::ReplaceLine(i, s)),
        (
            any::<usize>(),
            any::<usize>(),
            prop_oneof![
                Just(':'),
                Just(' '),
                Just('['),
                Just('{'),
                Just('"'),
                Just('\''),
                Just('#'),
                Just('&'),
                Just('*'),
                Just('-'),
                any::<char>()
            ]
        )
            .prop_map(|(l, c, ch)| Mutation::InsertChar(l, c, ch)),
        (any::<usize>(), any::<usize>()).prop_map(|(l, c)| Mutation::DeleteChar(l, c)),
        (any::<usize>(), -4i8..=4).prop_map(|(l, d)| Mutation::Indent(l, d)),
        any::<usize>().prop_map(Mutation::AliasSecret),
    ]
}

/// Applies mutations; the secret line's text (after its indentation) is never edited, so the
/// secret always sits under its credential key, wherever the edits move that key.
fn mutate(mutations: &[Mutation]) -> String {
    let mut lines = manifest_lines();
    let mut secret_at = SECRET_LINE;
    for m in mutations {
        let n = lines.len().max(1);
        match m {
            Mutation::InsertLine(i, s) => {
                let i = i % (lines.len() + 1);
                lines.insert(i, s.replace('\n', " "));
                if i <= secret_at {
                    secret_at += 1;
                }
            }
            Mutation::DeleteLine(i) => {
                let i = i % n;
                if i != secret_at && i < lines.len() {
                    lines.remove(i);
                    if i < secret_at {
                        secret_at -= 1;
                    }
                }
            }
            Mutation::ReplaceLine(i, s) => {
                let i = i % n;
                if i != secret_at && i < lines.len() {
                    lines[i] = s.replace('\n', " ");
                }
            }
            Mutation::InsertChar(l, c, ch) => {
                let l = l % n;
                if l != secret_at && l < lines.len() && *ch != '\n' {
                    let line = &mut lines[l];
                    let at = line
                        .char_indices()
                        .map(|(i, _)| i)
                        .nth(c % (line.chars().count() + 1))
                        .unwrap_or(line.len());
                    line.insert(at, *ch);
                }
            }
            Mutation::DeleteChar(l, c) => {
                let l = l % n;
                if l != secret_at && l < lines.len() && !lines[l].is_empty() {
                    let line = &mut lines[l];
                    if let Some((at, _)) = line.char_indices().nth(c % line.chars().count()) {
                        line.remove(at);
                    }
                }
            }
            Mutation::Indent(l, d) => {
                if let Some(line) = lines.get_mut(l % n) {
                    if *d > 0 {
                        line.insert_str(0, &" ".repeat(usize::from(d.unsigned_abs())));
                    } else {
                        for _ in 0..d.unsigned_abs() {
                            if line.starts_with(' ') {
                                line.remove(0);
                            }
                        }
                    }
                }
            }
            Mutation::AliasSecret(i) => {
                // Anchor the secret and reuse it elsewhere: as a role, a tenant name, a key.
                if !lines[secret_at].contains('&') {
                    lines[secret_at] = lines[secret_at].replace(": Zq9", ": &s Zq9");
                }
                let uses = ["    roles: [*s]", "  - name: *s", "  *s : x", "cloud: *s"];
                let i = (i % (lines.len() - secret_at)) + secret_at + 1;
                lines.insert(i.min(lines.len()), uses[i % uses.len()].to_owned());
            }
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Every property that must hold for any input; `secret` is checked when planted.
fn check_properties(text: &str, secret: Option<&str>) -> Result<(), TestCaseError> {
    let checked: Checked = validate::check_str("fuzz.yaml", text);
    // YAML breaks lines at `\n`, `\r\n` and a lone `\r`; the parser's line numbers count all three.
    let lines = (text.replace("\r\n", "\n").matches(['\n', '\r']).count() + 1) as u32;
    for d in &checked.diagnostics {
        if let (Some(line), Some(column)) = (d.line, d.column) {
            prop_assert!(
                line >= 1 && line <= lines && column >= 1,
                "{:?} at {line}:{column} outside {lines} lines",
                d.code
            );
        }
        if let Some(span) = d.span {
            prop_assert!(
                span.offset + span.len <= text.len(),
                "{:?} {span:?}",
                d.code
            );
        }
        for r in &d.related {
            prop_assert!(r.line >= 1 && r.line <= lines, "related {:?}", r);
        }
    }
    let human = validate::render_human(&checked, false);
    let coloured = validate::render_human(&checked, true);
    let json = validate::render_json(&checked);
    let raw: Vec<char> = human
        .chars()
        .filter(|&c| c != '\n' && c != '\t' && consentry::sanitize::is_unsafe(c))
        .collect();
    prop_assert!(raw.is_empty(), "raw control characters {raw:?}");
    prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
    if let Some(secret) = secret {
        for rendering in [&human, &coloured, &json] {
            prop_assert!(
                !rendering.contains(secret),
                "the secret leaks for:\n{text}\n---\n{rendering}"
            );
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 384,
        // Shrinking a failure is worth a little time; a pathological one must still end.
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_is_read_safely(text in any::<String>()) {
        check_properties(&text, None)?;
    }

    #[test]
    fn arbitrary_bytes_read_as_text_are_read_safely(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_properties(&String::from_utf8_lossy(&bytes), None)?;
    }

    #[test]
    fn mutated_manifests_never_leak_the_planted_secret(
        mutations in proptest::collection::vec(mutation(), 1..8)
    ) {
        let text = mutate(&mutations);
        prop_assert!(text.contains(SECRET));
        check_properties(&text, Some(SECRET))?;
    }

    #[test]
    fn hostile_structures_are_refused_or_read(
        depth in 1usize..200,
        fan in 1usize..40,
        key_len in 0usize..5_000,
        open in prop_oneof![Just("["), Just("{a: "), Just("- ")],
    ) {
        let nested = format!("version: 1\napp: {}x\n", open.repeat(depth));
        check_properties(&nested, None)?;
        let mut aliases = format!("version: 1\napp:\n  client_secret: &s {SECRET}\napis: &a [");
        aliases.push_str(&vec!["*s"; fan].join(", "));
        aliases.push_str("]\ntenants: [");
        aliases.push_str(&vec!["*a"; fan].join(", "));
        aliases.push_str("]\n");
        check_properties(&aliases, Some(SECRET))?;
        let huge_key = format!("version: 1\n{}: 1\ntenants: []\n", "k".repeat(key_len));
        check_properties(&huge_key, None)?;
    }
}

#[test]
fn the_mutator_keeps_the_secret_under_its_key() {
    // The property above is only meaningful if mutations can reach every line but the secret's.
    let text = mutate(&[Mutation::DeleteLine(SECRET_LINE), Mutation::AliasSecret(0)]);
    assert!(
        text.contains("client_secret: &s Zq9~PlantedSeCrEt.Value_42"),
        "{text}"
    );
    assert!(text.contains("*s"), "{text}");
    let text = mutate(&[Mutation::DeleteLine(5)]);
    assert!(!text.contains("credential:"), "{text}");
}
