//! Reading the app's credential from where the manifest says it lives.
//!
//! The secret is held as a [`SecretString`] from the moment it is read: its `Debug` redacts, and the
//! only place that exposes it is the form body of a token request.

use std::path::{Path, PathBuf};

pub use secrecy::{ExposeSecret, SecretString};

use crate::model::{Credential, SecretSource};

/// Why the credential could not be read. Messages name the source, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is unset or empty.
    #[error(
        "the client secret's environment variable {0} is not set (or empty); export it, or name another source under app.credential in the manifest"
    )]
    EnvMissing(String),
    /// The file could not be read.
    #[error("cannot read the client secret file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("the client secret file {0} is empty")]
    FileEmpty(PathBuf),
}

/// Reads the client secret named by `credential`. Relative file paths are resolved against
/// `manifest_dir`. `env` looks up environment variables (the process environment in production).
pub fn load(
    credential: &Credential,
    manifest_dir: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<SecretString, SecretError> {
    match credential {
        Credential::ClientSecret(SecretSource::Env(name)) => match env(name) {
            // CI secret stores often keep a trailing newline; Entra would reject it (AADSTS7000215).
            Some(value) if !value.trim().is_empty() => Ok(SecretString::from(
                value.trim_end_matches(['\r', '\n']).to_owned(),
            )),
            _ => Err(SecretError::EnvMissing(name.clone())),
        },
        Credential::ClientSecret(SecretSource::File(path)) => {
            let path = if path.is_relative() {
                manifest_dir.join(path)
            } else {
                path.clone()
            };
            let text = crate::input::read_to_string(&path).map_err(|source| SecretError::File {
                path: path.clone(),
                source,
            })?;
            let value = text.trim_end_matches(['\r', '\n']);
            if value.is_empty() {
                return Err(SecretError::FileEmpty(path));
            }
            Ok(SecretString::from(value.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_source_reads_and_redacts() {
        let cred = Credential::ClientSecret(SecretSource::Env("X".into()));
        let secret = load(&cred, Path::new("."), |_| Some("s3cr3t-value\r\n".into())).unwrap();
        assert_eq!(secret.expose_secret(), "s3cr3t-value");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }

    #[test]
    fn missing_env_names_the_variable() {
        let cred = Credential::ClientSecret(SecretSource::Env("MY_VAR".into()));
        let err = load(&cred, Path::new("."), |_| None).unwrap_err();
        assert!(err.to_string().contains("MY_VAR"));
    }

    #[test]
    fn file_source_is_relative_to_the_manifest_and_trims_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.txt"), "abc\n").unwrap();
        let cred = Credential::ClientSecret(SecretSource::File("secret.txt".into()));
        assert_eq!(
            load(&cred, dir.path(), |_| None).unwrap().expose_secret(),
            "abc"
        );
        std::fs::write(dir.path().join("empty.txt"), "\n").unwrap();
        let cred = Credential::ClientSecret(SecretSource::File("empty.txt".into()));
        assert!(matches!(
            load(&cred, dir.path(), |_| None),
            Err(SecretError::FileEmpty(_))
        ));
    }
}
