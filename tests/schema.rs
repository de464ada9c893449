//! The committed JSON Schema (manifests/schema.json) must be exactly what the manifest types
//! generate, so editors never check manifests against a stale schema.

use std::path::Path;

const SCHEMA_PATH: &str = "manifests/schema.json";

#[expect(
    clippy::unwrap_used,
    reason = "a test helper: a panic is a test failure"
)]
fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&consentry::manifest::json_schema()).unwrap();
    text.push('\n');
    text
}

#[test]
fn committed_schema_matches_the_manifest_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_PATH);
    let generated = generated();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{SCHEMA_PATH} is out of date with the manifest types in src/manifest/raw.rs; \
         regenerate it with `UPDATE_SCHEMA=1 cargo test --test schema` and commit the result"
    );
}

#[test]
fn schema_carries_the_doc_comments_and_strictness() {
    let schema = consentry::manifest::json_schema();
    assert_eq!(schema["title"], "consentry manifest");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["version"]["const"], 1);
    let tenant = &schema["definitions"]["Tenant"];
    assert_eq!(tenant["additionalProperties"], false);
    assert!(
        tenant["properties"]["id"]["description"]
            .as_str()
            .unwrap()
            .contains("verified domain")
    );
    // The secret has no place in the schema: client_secret is env or file, nothing else.
    let sources = schema["definitions"]["SecretSource"]["oneOf"]
        .as_array()
        .unwrap();
    assert_eq!(sources.len(), 2);
    assert!(sources.iter().all(|s| s["type"] == "object"));
}

#[test]
fn example_manifest_points_at_the_schema() {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/example.yaml"),
    )
    .unwrap();
    assert!(example.starts_with("# yaml-language-server: $schema=./schema.json\n"));
}
