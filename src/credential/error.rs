//! Why a credential could not be loaded or used. Messages name where a value comes from (a
//! variable, a file) and the fix, never the value.

use std::path::PathBuf;

/// When a credential problem shows: before anything is sent (exit 2, the setup is wrong) or while
/// token requests are being made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Found while loading: nothing was sent. The CLI exits 2 (usage).
    Setup,
    /// Found while authenticating a request (an external token could not be fetched, a
    /// certificate expired mid-run).
    Runtime,
}

/// Why the app's credential could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// An environment variable is unset or empty.
    #[error(
        "the {what}'s environment variable {name} is not set (or empty); export it, or name another source under app.credential in the manifest"
    )]
    EnvMissing {
        /// What the variable should hold ("client secret", "certificate", ...).
        what: &'static str,
        /// The variable.
        name: String,
    },
    /// A file could not be read.
    #[error("cannot read the {what} file {}: {source}", path.display())]
    File {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file (or variable) holds nothing.
    #[error("the {what} in {place} is empty")]
    Empty {
        /// What it should hold.
        what: &'static str,
        /// "file PATH" or "environment variable NAME".
        place: String,
    },
    /// A file (or variable) is bigger than any credential.
    #[error("the {what} in {place} is larger than {limit} bytes; is this the right file?")]
    TooLarge {
        /// What it should hold.
        what: &'static str,
        /// "file PATH" or "environment variable NAME".
        place: String,
        /// The cap.
        limit: usize,
    },
}

impl CredentialError {
    /// Whether the problem was found before anything was sent.
    pub fn phase(&self) -> Phase {
        match self {
            CredentialError::EnvMissing { .. }
            | CredentialError::File { .. }
            | CredentialError::Empty { .. }
            | CredentialError::TooLarge { .. } => Phase::Setup,
        }
    }

    /// Whether the problem was found before anything was sent (exit 2).
    pub fn is_setup(&self) -> bool {
        self.phase() == Phase::Setup
    }
}
