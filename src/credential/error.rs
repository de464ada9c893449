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
    /// The certificate file holds a certificate but no private key: a `.cer`/`.crt` is only the
    /// public half (what is uploaded to the app registration).
    #[error(
        "the certificate in {place} has no private key: a .cer/.crt file (or a PEM with only a CERTIFICATE block) is the public half, which goes to the app registration; consentry needs the private key too: a PEM with the PRIVATE KEY block and the certificate (`cat key.pem cert.pem > consentry.pem`), or the .pfx/.p12 you exported with its key"
    )]
    NoPrivateKey {
        /// Where.
        place: String,
    },
    /// A private key but no certificate: the thumbprint Entra looks the key up by cannot be made.
    #[error(
        "{place} holds a private key but no certificate; add the certificate (the CERTIFICATE block registered on the app) after the key"
    )]
    NoCertificate {
        /// Where.
        place: String,
    },
    /// Neither PEM, PFX nor a certificate.
    #[error(
        "{place} is neither a PEM file with a private key and certificate nor a PFX/.p12 bundle"
    )]
    NotACertificate {
        /// Where.
        place: String,
    },
    /// No certificate in the file matches the private key.
    #[error(
        "none of the {certificates} certificate(s) in {place} belongs to its private key; put the key's own certificate in the file"
    )]
    KeyMismatch {
        /// Where.
        place: String,
        /// How many certificates were there.
        certificates: usize,
    },
    /// The key (or PFX) is encrypted and the manifest names no password.
    #[error(
        "{place} is encrypted (a password-protected PFX or ENCRYPTED PRIVATE KEY) and the manifest names no password; add `password: {{env: NAME}}` (or `{{file: PATH}}`) under `certificate`"
    )]
    PasswordNeeded {
        /// Where.
        place: String,
    },
    /// The password does not open it.
    #[error(
        "the password does not open {place}; check the password source named under `certificate.password`"
    )]
    WrongPassword {
        /// Where.
        place: String,
    },
    /// OpenSSL's legacy PEM encryption (`Proc-Type: 4,ENCRYPTED`).
    #[error(
        "the private key in {place} uses OpenSSL's legacy PEM encryption; convert it to encrypted PKCS#8: `openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out key.pem`"
    )]
    LegacyEncryptedKey {
        /// Where.
        place: String,
    },
    /// PBES1 (DES, RC2) or another scheme the reader does not implement.
    #[error(
        "the private key in {place} is encrypted with an old scheme; re-encrypt it: `openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out key.pem`"
    )]
    UnsupportedKeyEncryption {
        /// Where.
        place: String,
    },
    /// Not an RSA key.
    #[error(
        "the private key in {place} is not an RSA key; Entra client assertions are signed with RSA (PS256 or RS256): create an RSA certificate (2048 bits or more)"
    )]
    NotRsa {
        /// Where.
        place: String,
    },
    /// Something in the file cannot be read.
    #[error("cannot use {place}: {reason}")]
    Unreadable {
        /// Where.
        place: String,
        /// Why (never the content).
        reason: String,
    },
    /// The certificate's validity has ended.
    #[error(
        "the certificate {thumbprint} expired on {not_after}; Entra refuses assertions it signs (AADSTS700027): create a new certificate, add it to the app registration and point the manifest at it"
    )]
    CertificateExpired {
        /// SHA-1 thumbprint.
        thumbprint: String,
        /// When it ended.
        not_after: String,
    },
    /// The certificate's validity has not begun.
    #[error(
        "the certificate {thumbprint} is not valid before {not_before}; check this machine's clock, or use the certificate once it is valid"
    )]
    CertificateNotYetValid {
        /// SHA-1 thumbprint.
        thumbprint: String,
        /// When it begins.
        not_before: String,
    },
    /// The certificate expired while the run was going on.
    #[error(
        "the certificate {thumbprint} expired during the run ({not_after}); no further assertion is signed"
    )]
    CertificateExpiredDuringRun {
        /// SHA-1 thumbprint.
        thumbprint: String,
        /// When it ended.
        not_after: String,
    },
    /// Signing failed (should not happen with a key that loaded).
    #[error("signing the client assertion with the key from {place} failed")]
    Signing {
        /// Where the key came from.
        place: String,
    },
    /// A GitHub Actions OIDC variable is missing: the job lacks `permissions: id-token: write`,
    /// or this is not GitHub Actions.
    #[error(
        "{name} is not set: GitHub Actions sets it only for a job with `permissions: id-token: write` (add it to the workflow or the job); outside GitHub Actions use another `federated` source"
    )]
    GithubEnvMissing {
        /// The variable.
        name: &'static str,
    },
    /// `AZURE_FEDERATED_TOKEN_FILE` is missing: not an Azure workload identity pod.
    #[error(
        "AZURE_FEDERATED_TOKEN_FILE is not set: Azure workload identity sets it in a pod whose service account is annotated with the app's client id and labelled `azure.workload.identity/use: \"true\"`; elsewhere use `federated: {{file: PATH}}`"
    )]
    KubernetesEnvMissing,
    /// GitHub's OIDC URL is not one consentry sends its request token to.
    #[error("ACTIONS_ID_TOKEN_REQUEST_URL is not an https URL ({reason})")]
    GithubUrl {
        /// Why.
        reason: String,
    },
    /// The external token is not a JWT.
    #[error("the federated token in {place} is not a JWT (header.payload.signature)")]
    ExternalTokenNotJwt {
        /// Where.
        place: String,
        /// Found while loading (setup) or while running.
        during_run: bool,
    },
    /// The external token has expired (or will within a minute).
    #[error(
        "the federated token in {place} expired at {exp}; Entra would refuse it (AADSTS700024): refresh it before running consentry"
    )]
    ExternalTokenExpired {
        /// Where.
        place: String,
        /// Its `exp`, RFC 3339.
        exp: String,
        /// Found while loading (setup) or while running.
        during_run: bool,
    },
    /// GitHub's OIDC endpoint did not give a token.
    #[error("GitHub Actions did not give an OIDC token: {reason}")]
    GithubFetch {
        /// What went wrong (status, timeout, shape; never a token).
        reason: String,
    },
}

impl CredentialError {
    /// Whether the problem was found before anything was sent.
    pub fn phase(&self) -> Phase {
        match self {
            CredentialError::EnvMissing { .. }
            | CredentialError::File { .. }
            | CredentialError::Empty { .. }
            | CredentialError::TooLarge { .. }
            | CredentialError::NoPrivateKey { .. }
            | CredentialError::NoCertificate { .. }
            | CredentialError::NotACertificate { .. }
            | CredentialError::KeyMismatch { .. }
            | CredentialError::PasswordNeeded { .. }
            | CredentialError::WrongPassword { .. }
            | CredentialError::LegacyEncryptedKey { .. }
            | CredentialError::UnsupportedKeyEncryption { .. }
            | CredentialError::NotRsa { .. }
            | CredentialError::Unreadable { .. }
            | CredentialError::CertificateExpired { .. }
            | CredentialError::CertificateNotYetValid { .. }
            | CredentialError::GithubEnvMissing { .. }
            | CredentialError::KubernetesEnvMissing
            | CredentialError::GithubUrl { .. } => Phase::Setup,
            CredentialError::ExternalTokenNotJwt { during_run, .. }
            | CredentialError::ExternalTokenExpired { during_run, .. } => {
                if *during_run {
                    Phase::Runtime
                } else {
                    Phase::Setup
                }
            }
            CredentialError::CertificateExpiredDuringRun { .. }
            | CredentialError::Signing { .. }
            | CredentialError::GithubFetch { .. } => Phase::Runtime,
        }
    }

    /// Whether the credential is simply not available here (a variable unset, a file missing, not
    /// a GitHub job with `id-token: write`, not a workload-identity pod), rather than present and
    /// wrong: a job that only checks the registration usually lacks it, and that is no fault.
    pub fn is_absent(&self) -> bool {
        match self {
            CredentialError::EnvMissing { .. }
            | CredentialError::GithubEnvMissing { .. }
            | CredentialError::KubernetesEnvMissing => true,
            CredentialError::File { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// Whether the problem was found before anything was sent (exit 2).
    pub fn is_setup(&self) -> bool {
        self.phase() == Phase::Setup
    }
}
