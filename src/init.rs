//! `consentry init` and `consentry demo --write`: starter files written into a folder, so a new
//! user starts from a manifest that validates (and, with a sandbox scenario, one that can be
//! rehearsed) rather than from a blank page.
//!
//! Files are only ever created, never replaced: when any target exists nothing is written, and a
//! failure part-way removes what this run created, so an existing manifest cannot be lost.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The starter manifest `consentry init` writes.
pub const STARTER_MANIFEST: &str = include_str!("../manifests/starter.yaml");
/// The sandbox scenario `consentry init --sandbox` writes beside it.
pub const STARTER_SCENARIO: &str = include_str!("../manifests/starter.sandbox.yaml");

/// One file to write: its name in the folder and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The file name.
    pub name: String,
    /// What goes in it.
    pub contents: String,
}

/// Why no file was written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A target exists: consentry never replaces a file.
    #[error("{} already exists; nothing was written (move it away or choose another --dir)", .0.display())]
    Exists(PathBuf),
    /// The folder or a file could not be created or written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The JSON Schema the manifests' `yaml-language-server` comment points at.
fn schema() -> File {
    let mut contents =
        serde_json::to_string_pretty(&crate::manifest::json_schema()).unwrap_or_default();
    contents.push('\n');
    File {
        name: "schema.json".to_owned(),
        contents,
    }
}

/// `consentry init`: the starter manifest (`consentry.yaml`), its schema, and with `sandbox` a
/// scenario that plays its tenants (`consentry.sandbox.yaml`).
pub fn starter(sandbox: bool) -> Vec<File> {
    let mut files = vec![
        File {
            name: "consentry.yaml".to_owned(),
            contents: STARTER_MANIFEST.to_owned(),
        },
        schema(),
    ];
    if sandbox {
        files.push(File {
            name: "consentry.sandbox.yaml".to_owned(),
            contents: STARTER_SCENARIO.to_owned(),
        });
    }
    files
}

/// `consentry demo --write`: the demo manifest, its sandbox scenario and the schema.
#[cfg(feature = "sandbox")]
pub fn demo() -> Vec<File> {
    vec![
        File {
            name: "demo.yaml".to_owned(),
            contents: crate::demo::MANIFEST.to_owned(),
        },
        File {
            name: "demo.sandbox.yaml".to_owned(),
            contents: crate::demo::SCENARIO.to_owned(),
        },
        schema(),
    ]
}

/// Creates `dir` if needed and writes every file into it, or none: refuses when any exists.
/// Returns the paths written, in order.
pub fn write_all(dir: &Path, files: &[File]) -> Result<Vec<PathBuf>, InitError> {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(&f.name)).collect();
    if let Some(existing) = paths.iter().find(|p| p.symlink_metadata().is_ok()) {
        return Err(InitError::Exists(existing.clone()));
    }
    std::fs::create_dir_all(dir).map_err(|source| InitError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut written = Vec::with_capacity(files.len());
    for (file, path) in files.iter().zip(&paths) {
        if let Err(e) = create(path, &file.contents) {
            // Only files this run created are removed; `create_new` guarantees they are ours.
            for done in &written {
                let _ = std::fs::remove_file(done);
            }
            return Err(e);
        }
        written.push(path.clone());
    }
    Ok(written)
}

/// Writes a new file; an existing one (created since the check) is an error, never replaced.
fn create(path: &Path, contents: &str) -> Result<(), InitError> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            InitError::Exists(path.to_owned())
        } else {
            InitError::Io {
                path: path.to_owned(),
                source,
            }
        }
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_manifest_validates_without_warnings() {
        let checked = crate::validate::check_str("consentry.yaml", STARTER_MANIFEST);
        assert!(
            checked.diagnostics.is_empty(),
            "{}",
            crate::validate::render_human(&checked, false)
        );
    }

    #[test]
    #[cfg(feature = "sandbox")]
    fn the_starter_scenario_parses_and_plays_the_starter_tenants() {
        let scenario =
            crate::sandbox::Scenario::from_yaml("consentry.sandbox.yaml", STARTER_SCENARIO);
        assert!(scenario.is_ok(), "{:?}", scenario.err());
        let checked = crate::validate::check_str("consentry.yaml", STARTER_MANIFEST);
        let manifest = checked.manifest.as_ref().map(|m| m.app.client_id);
        assert!(STARTER_SCENARIO.contains(&manifest.map(|id| id.to_string()).unwrap_or_default()));
    }
}
