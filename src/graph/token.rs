//! Where the Graph token comes from: never the partner app itself (a Graph permission on the app
//! would appear on every customer's consent screen, reference §8), but the person or pipeline
//! running consentry: `CONSENTRY_GRAPH_TOKEN`, or the Azure CLI they are signed in with
//! (`az account get-access-token --resource-type ms-graph --query accessToken -o tsv`, which works
//! after `azure/login` in GitHub Actions, OIDC included). The token is a secret from the moment it
//! is read: it lives in a [`SecretString`] and no error message quotes it.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;

/// The environment variable holding a Graph bearer token for the home tenant.
pub const TOKEN_ENV: &str = "CONSENTRY_GRAPH_TOKEN";
/// How long the Azure CLI may take (it can refresh a login over the network).
pub const AZ_TIMEOUT: Duration = Duration::from_secs(60);
/// The most output read from the Azure CLI: a token is a few KiB.
const MAX_AZ_OUTPUT: u64 = 64 * 1024;

/// How the token is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// [`TOKEN_ENV`].
    Env,
    /// The Azure CLI.
    AzureCli,
}

/// Why no Graph token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Neither source was given.
    #[error(
        "no Graph token: set {TOKEN_ENV} to a Microsoft Graph token for the home tenant (e.g. from `az account get-access-token --resource-type ms-graph`), or pass --graph-auth az"
    )]
    NoSource,
    /// The environment variable is empty.
    #[error("{TOKEN_ENV} is set but empty")]
    EmptyEnv,
    /// The Azure CLI could not be started.
    #[error("cannot run the Azure CLI ({program}): {source}")]
    AzNotRunnable {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// It did not finish in time.
    #[error("the Azure CLI did not answer within {} s", .0.as_secs())]
    AzTimeout(Duration),
    /// It failed; its stderr (trimmed, bounded) says why (`az login` first, ...).
    #[error("the Azure CLI failed: {0}")]
    AzFailed(String),
    /// It printed nothing usable.
    #[error("the Azure CLI printed no token")]
    AzEmpty,
}

/// The token from the environment (`lookup` reads a variable; tests pass their own).
pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<SecretString, TokenError> {
    match lookup(TOKEN_ENV) {
        None => Err(TokenError::NoSource),
        Some(v) if v.trim().is_empty() => Err(TokenError::EmptyEnv),
        Some(v) => Ok(SecretString::from(v.trim().to_owned())),
    }
}

/// Runs `program` (normally `az`) as `az account get-access-token --resource-type ms-graph --query
/// accessToken -o tsv`, bounded in time and output; the child is killed at the deadline.
pub fn from_azure_cli(program: &Path, timeout: Duration) -> Result<SecretString, TokenError> {
    let mut child = Command::new(runnable(program))
        .args([
            "account",
            "get-access-token",
            "--resource-type",
            "ms-graph",
            "--query",
            "accessToken",
            "-o",
            "tsv",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| TokenError::AzNotRunnable {
            program: program.display().to_string(),
            source,
        })?;
    // Readers on their own threads, so a chatty child cannot block on a full pipe while we wait.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(MAX_AZ_OUTPUT).read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(TokenError::AzTimeout(timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(source) => {
                return Err(TokenError::AzNotRunnable {
                    program: program.display().to_string(),
                    source,
                });
            }
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        let message: String = String::from_utf8_lossy(&err)
            .chars()
            .filter(|c| !c.is_control() || *c == ' ')
            .take(500)
            .collect();
        return Err(TokenError::AzFailed(message.trim().to_owned()));
    }
    let token = String::from_utf8_lossy(&out).trim().to_owned();
    if token.is_empty() {
        return Err(TokenError::AzEmpty);
    }
    Ok(SecretString::from(token))
}

/// The command that starts `program`. On Windows the Azure CLI is a batch file, `az.cmd`, and
/// `Command` looks in `PATH` only for the name as given or with `.exe`, so a bare `az` would not be
/// found there. (The arguments are fixed words, so the batch file's quoting rules cannot bite.)
fn runnable(program: &Path) -> &Path {
    if cfg!(windows) && program == Path::new("az") {
        Path::new("az.cmd")
    } else {
        program
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn the_environment_gives_the_token_or_says_what_is_missing() {
        let token = from_env(|_| Some("eyJ0.e30.sig\n".into())).unwrap();
        assert_eq!(token.expose_secret(), "eyJ0.e30.sig");
        assert!(matches!(from_env(|_| None), Err(TokenError::NoSource)));
        assert!(matches!(
            from_env(|_| Some(" ".into())),
            Err(TokenError::EmptyEnv)
        ));
        assert!(TokenError::NoSource.to_string().contains("--graph-auth az"));
    }

    #[test]
    fn the_azure_cli_is_started_by_its_windows_name_on_windows() {
        let az = if cfg!(windows) { "az.cmd" } else { "az" };
        assert_eq!(runnable(Path::new("az")), Path::new(az));
        // A path the user chose is theirs.
        assert_eq!(runnable(Path::new("tools/az")), Path::new("tools/az"));
    }

    #[cfg(unix)]
    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("az");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[cfg(unix)]
    #[test]
    fn the_azure_cli_is_asked_for_a_graph_token_bounded_in_time() {
        let dir = tempfile::tempdir().unwrap();
        // The fake az prints a token only when asked exactly what consentry must ask.
        let az = script(
            dir.path(),
            r#"[ "$*" = "account get-access-token --resource-type ms-graph --query accessToken -o tsv" ] && echo planted-graph-token && exit 0; echo "unexpected: $*" >&2; exit 2"#,
        );
        let token = from_azure_cli(&az, Duration::from_secs(10)).unwrap();
        assert_eq!(token.expose_secret(), "planted-graph-token");

        let failing = script(
            dir.path(),
            "echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1",
        );
        let error = from_azure_cli(&failing, Duration::from_secs(10)).unwrap_err();
        assert!(error.to_string().contains("az login"), "{error}");

        // `exec`: the kill reaches the sleeping process itself, so nothing is left running.
        let hanging = script(dir.path(), "exec sleep 30");
        let started = Instant::now();
        let error = from_azure_cli(&hanging, Duration::from_millis(300)).unwrap_err();
        assert!(matches!(error, TokenError::AzTimeout(_)), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));

        let silent = script(dir.path(), "exit 0");
        assert!(matches!(
            from_azure_cli(&silent, Duration::from_secs(10)),
            Err(TokenError::AzEmpty)
        ));
        let absent = dir.path().join("no-such-az");
        assert!(matches!(
            from_azure_cli(&absent, Duration::from_secs(1)),
            Err(TokenError::AzNotRunnable { .. })
        ));
    }
}
