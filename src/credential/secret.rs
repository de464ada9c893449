//! Reading secret material from where the manifest says it lives: an environment variable or a
//! file, bounded in size, held as a [`SecretString`] (or bytes that are dropped after parsing)
//! from the moment it is read.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::CredentialError;
use crate::model::SecretSource;

/// The biggest credential file consentry reads: a PEM chain or PFX is a few KiB, a token one.
pub const MAX_CREDENTIAL_BYTES: usize = 1024 * 1024;

/// Resolves a manifest path against the manifest's folder.
pub(crate) fn resolve(path: &Path, manifest_dir: &Path) -> PathBuf {
    if path.is_relative() {
        manifest_dir.join(path)
    } else {
        path.to_owned()
    }
}

/// Reads at most [`MAX_CREDENTIAL_BYTES`] of a regular file through [`crate::input::read`]: a FIFO or
/// device named as a key or token file is refused instead of blocking, and the size is checked
/// while reading (a growing file can lie about its size).
pub(crate) fn read_bounded(path: &Path, what: &'static str) -> Result<Vec<u8>, CredentialError> {
    crate::input::read(path, MAX_CREDENTIAL_BYTES as u64).map_err(|e| match e {
        crate::input::InputError::TooLarge { .. } => CredentialError::TooLarge {
            what,
            place: format!("file {}", path.display()),
            limit: MAX_CREDENTIAL_BYTES,
        },
        other => CredentialError::File {
            what,
            path: path.to_owned(),
            source: other.into(),
        },
    })
}

/// Reads an environment variable holding secret material: unset and empty are the same mistake.
pub(crate) fn read_env(
    name: &str,
    what: &'static str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SecretString, CredentialError> {
    match env(name) {
        Some(value) if value.len() > MAX_CREDENTIAL_BYTES => Err(CredentialError::TooLarge {
            what,
            place: format!("environment variable {name}"),
            limit: MAX_CREDENTIAL_BYTES,
        }),
        Some(value) if !value.trim().is_empty() => Ok(SecretString::from(value)),
        _ => Err(CredentialError::EnvMissing {
            what,
            name: name.to_owned(),
        }),
    }
}

/// Reads the client secret from `source`. Relative file paths are resolved against
/// `manifest_dir`; `env` looks up environment variables.
pub fn read_secret(
    source: &SecretSource,
    manifest_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SecretString, CredentialError> {
    read_text(source, "client secret", manifest_dir, env)
}

/// Reads a one-line secret (a client secret, a password), trailing newline trimmed.
pub(crate) fn read_text(
    source: &SecretSource,
    what: &'static str,
    manifest_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SecretString, CredentialError> {
    use secrecy::ExposeSecret as _;
    // CI secret stores often keep a trailing newline; Entra would reject it (AADSTS7000215).
    let trim = |text: &str| text.trim_end_matches(['\r', '\n']).to_owned();
    match source {
        SecretSource::Env(name) => {
            let value = read_env(name, what, env)?;
            Ok(SecretString::from(trim(value.expose_secret())))
        }
        SecretSource::File(path) => {
            let path = resolve(path, manifest_dir);
            let bytes = secrecy::zeroize::Zeroizing::new(read_bounded(&path, what)?);
            let text = std::str::from_utf8(&bytes).map_err(|_| CredentialError::File {
                what,
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
            })?;
            let value = SecretString::from(trim(text));
            if value.expose_secret().is_empty() {
                return Err(CredentialError::Empty {
                    what,
                    place: format!("file {}", path.display()),
                });
            }
            Ok(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn env_source_reads_trims_and_redacts() {
        let source = SecretSource::Env("X".into());
        let secret = read_secret(&source, Path::new("."), &|_| {
            Some("s3cr3t-value\r\n".into())
        })
        .unwrap();
        assert_eq!(secret.expose_secret(), "s3cr3t-value");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }

    #[test]
    fn missing_or_blank_env_names_the_variable() {
        let source = SecretSource::Env("MY_VAR".into());
        for value in [None, Some("  \n".to_owned())] {
            let err = read_secret(&source, Path::new("."), &|_| value.clone()).unwrap_err();
            assert!(err.to_string().contains("MY_VAR"), "{err}");
            assert!(err.is_setup());
        }
    }

    #[test]
    fn file_source_is_relative_to_the_manifest_and_trims_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.txt"), "abc\n").unwrap();
        let source = SecretSource::File("secret.txt".into());
        assert_eq!(
            read_secret(&source, dir.path(), &|_| None)
                .unwrap()
                .expose_secret(),
            "abc"
        );
        std::fs::write(dir.path().join("empty.txt"), "\n").unwrap();
        let source = SecretSource::File("empty.txt".into());
        assert!(matches!(
            read_secret(&source, dir.path(), &|_| None),
            Err(CredentialError::Empty { .. })
        ));
    }

    #[test]
    fn an_oversized_file_is_refused_without_reading_it_all() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("big"),
            vec![b'a'; MAX_CREDENTIAL_BYTES + 10],
        )
        .unwrap();
        let err =
            read_secret(&SecretSource::File("big".into()), dir.path(), &|_| None).unwrap_err();
        assert!(matches!(err, CredentialError::TooLarge { .. }), "{err}");
    }
}
