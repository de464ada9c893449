//! `consentry demo`: the whole job on the built-in sandbox, no Azure needed. Starts the sandbox
//! in-process with the demo partner (`manifests/demo.sandbox.yaml`), then runs `verify` on
//! `manifests/demo.yaml` against it, exactly as a user would against Entra ID, and `plan --state`
//! on that report: first what consentry finds, then what to do about it.
//!
//! `--credential` picks how the demo app proves itself: a throwaway client secret (the default), a
//! throwaway certificate (an RSA-2048 key and self-signed certificate made for this run, its public
//! part registered on the sandbox's app, PS256 client assertions), or workload identity federation
//! (the sandbox plays GitHub Actions' OIDC issuer; the demo stands in for the job's
//! `ACTIONS_ID_TOKEN_REQUEST_*` variables). Each goes through the same credential code and token
//! client as `verify`, and the report's credential footer says which was used.

use std::fmt::Write as _;
use std::time::Duration;

use secrecy::SecretString;

use crate::consent::LinkStyle;
use crate::report::{self, PlanFormat, VerifyFormat};
use crate::{plan, sandbox, validate, verify};

/// The demo manifest, as users can copy it.
pub const MANIFEST: &str = include_str!("../manifests/demo.yaml");
/// The demo partner's app registration, as `az ad app show --id …` prints it: it lacks
/// Vulnerability.Read.All (which Tailspin Toys' override needs) and its secret's end date is set
/// to 12 days from the run, so the demo shows `consentry app check` finding both.
pub const REGISTRATION: &str = include_str!("../manifests/demo.app.json");
/// The sandbox scenario that plays the demo's customer tenants.
pub const SCENARIO: &str = include_str!("../manifests/demo.sandbox.yaml");

/// Why the demo itself could not run (not what it found: findings are the point of the demo).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The embedded manifest no longer validates: a bug in consentry.
    #[error("the built-in demo manifest does not validate:\n{0}")]
    Manifest(String),
    /// The sandbox could not start.
    #[error("the sandbox could not start: {0}")]
    Sandbox(#[from] sandbox::SandboxError),
    /// Verify refused to run.
    #[error("verify failed: {0}")]
    Verify(#[from] verify::VerifyError),
    /// The throwaway certificate could not be made.
    #[error("the demo certificate could not be generated: {0}")]
    Certificate(String),
    /// The demo credential could not be loaded: a bug in consentry.
    #[error("the demo credential could not be loaded: {0}")]
    Credential(#[from] crate::credential::CredentialError),
}

/// How the demo app authenticates (`consentry demo --credential`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoCredential {
    /// A client secret made up for this run.
    #[default]
    Secret,
    /// A certificate made up for this run and registered on the sandbox's app.
    Certificate,
    /// A GitHub Actions OIDC token from the sandbox's own issuer, trusted by a federated credential.
    Federated,
}

/// The variable the demo's certificate PEM is "read" from (an in-memory environment: nothing is
/// written to disk and the process environment is untouched).
const DEMO_CERTIFICATE_ENV: &str = "CONSENTRY_DEMO_CERTIFICATE";

/// A throwaway RSA-2048 key and self-signed certificate: (key + certificate PEM, certificate PEM).
fn throwaway_certificate() -> Result<(SecretString, String), DemoError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .map_err(|e| DemoError::Certificate(e.to_string()))?;
    let cert = rcgen::CertificateParams::new(vec!["consentry-demo".to_owned()])
        .and_then(|params| params.self_signed(&key))
        .map_err(|e| DemoError::Certificate(e.to_string()))?;
    let pem = cert.pem();
    Ok((
        SecretString::from(format!("{}{pem}", key.serialize_pem())),
        pem,
    ))
}

/// No progress bar inside the demo: its output is the report.
struct Silent;

impl verify::Progress for Silent {
    fn start(&self, _total: usize) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// The plan's format beside a human verify format.
fn plan_format(format: VerifyFormat) -> PlanFormat {
    match format {
        VerifyFormat::Markdown => PlanFormat::Markdown,
        _ => PlanFormat::Table,
    }
}

/// Runs the demo and returns what it shows: what verify finds (in `format`), then the plan made
/// from that report. For the machine formats (JSON, JUnit, GitHub) only the verify report, so the
/// output can be piped.
pub async fn run(format: VerifyFormat, kind: DemoCredential) -> Result<String, DemoError> {
    let checked = validate::check_str("manifests/demo.yaml", MANIFEST);
    let Some(manifest) = checked.manifest.as_ref() else {
        return Err(DemoError::Manifest(validate::render_human(&checked, false)));
    };
    let mut scenario = sandbox::Scenario::from_yaml("manifests/demo.sandbox.yaml", SCENARIO)?;
    let certificate = match kind {
        DemoCredential::Certificate => {
            // Key generation is CPU-bound: off the async workers.
            let (pem, public) = tokio::task::spawn_blocking(throwaway_certificate)
                .await
                .map_err(|e| DemoError::Certificate(e.to_string()))??;
            scenario
                .app
                .certificates
                .push(sandbox::RegisteredCertificate::from_pem(public));
            Some(pem)
        }
        DemoCredential::Secret | DemoCredential::Federated => None,
    };
    // A throwaway secret known only to this process: the sandbox accepts it, verify sends it.
    let secret = SecretString::from(format!("demo-{}", uuid::Uuid::new_v4()));
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sandbox = sandbox::Sandbox::start(scenario, secret.clone(), listen).await?;

    let authority = crate::cloud::authority_host(Some(&sandbox.base_url()), manifest.cloud)
        .map_err(verify::VerifyError::from)?;
    let options = verify::Options {
        // Short waits keep the demo brisk; its throttled and flaky tenants still show the retries.
        timeout: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(2),
        // The sandbox lives in this process: a proxy from the environment could never reach it.
        direct: true,
        ..verify::Options::new(authority)
    };
    let credential = match demo_credential(kind, secret, certificate, &sandbox, manifest) {
        Ok(credential) => credential,
        Err(e) => {
            sandbox.shutdown().await;
            return Err(e);
        }
    };
    let result = verify::run(manifest, &credential, &options, &Silent).await;
    sandbox.shutdown().await;
    let report = result?;

    // Machine formats are for piping: the verify report alone, nothing else on stdout.
    if !matches!(format, VerifyFormat::Table | VerifyFormat::Markdown) {
        return Ok(report::render_verify(&report, format));
    }
    // The plan reads what verify found (`plan --state`), so each tenant gets the action its real
    // grants call for, not "consent" for all.
    let plan = plan::plan(
        manifest,
        &plan::Options {
            link_style: LinkStyle::Tenant,
            base: None,
            state: Some(&report),
        },
    );
    let mut text = String::new();
    let _ = writeln!(
        text,
        "consentry demo: {} customer tenants of \"{}\", played by the built-in sandbox identity platform.\n",
        manifest.tenants.len(),
        manifest.app.name
    );
    if let Some(check) = registration_check(manifest) {
        let _ = writeln!(
            text,
            "$ consentry app check manifests/demo.yaml --from manifests/demo.app.json   # its secret set to end in 12 days\n"
        );
        text.push_str(&check);
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "$ consentry verify manifests/demo.yaml --authority-host <sandbox> --report report.json\n"
    );
    text.push_str(&report::render_verify(&report, format));
    let _ = writeln!(
        text,
        "\nverify would exit {} here (0 all ok, 1 findings, 3 undetermined). What to do about it, \
         from what the tenants really granted:\n",
        report.exit().code()
    );
    let _ = writeln!(
        text,
        "$ consentry plan manifests/demo.yaml --state report.json\n"
    );
    text.push_str(&report::render_plan(&plan, plan_format(format)));
    let _ = writeln!(
        text,
        "\nTry it yourself (outside the repository, `consentry demo --write manifests` first):\n  \
         CONSENTRY_CLIENT_SECRET=demo consentry sandbox --scenario manifests/demo.sandbox.yaml --listen 127.0.0.1:8400 &\n  \
         CONSENTRY_CLIENT_SECRET=demo consentry verify manifests/demo.yaml --authority-host http://127.0.0.1:8400 --report report.json\n  \
         consentry plan manifests/demo.yaml --state report.json"
    );
    Ok(text)
}

/// The credential `kind` as `verify` would load it from a manifest, its sources answered from
/// memory: the certificate PEM, or the sandbox's stand-ins for GitHub's variables.
fn demo_credential(
    kind: DemoCredential,
    secret: SecretString,
    certificate: Option<SecretString>,
    sandbox: &sandbox::Sandbox,
    manifest: &crate::model::Manifest,
) -> Result<crate::credential::AppCredential, DemoError> {
    use crate::credential::{AppCredential, ExposeSecret as _, GITHUB_TOKEN_ENV, GITHUB_URL_ENV};
    use crate::model::{CertificateSpec, Credential, FederatedSource, SecretSource, Signing};
    let here = std::path::Path::new(".");
    let client_id = manifest.app.client_id.to_string();
    let client_id = client_id.as_str();
    match (kind, certificate) {
        (DemoCredential::Certificate, Some(pem)) => {
            let spec = Credential::Certificate(CertificateSpec {
                source: SecretSource::Env(DEMO_CERTIFICATE_ENV.to_owned()),
                password: None,
                signing: Signing::Ps256,
            });
            let env = move |name: &str| {
                (name == DEMO_CERTIFICATE_ENV).then(|| pem.expose_secret().to_owned())
            };
            Ok(AppCredential::load(&spec, client_id, here, &env)?)
        }
        (DemoCredential::Federated, _) => {
            let github = sandbox.github_actions_env().ok_or_else(|| {
                DemoError::Manifest("the demo scenario plays no GitHub issuer".to_owned())
            })?;
            let env = move |name: &str| match name {
                GITHUB_URL_ENV => Some(github.request_url.clone()),
                GITHUB_TOKEN_ENV => Some(github.request_token.expose_secret().to_owned()),
                _ => None,
            };
            Ok(AppCredential::load(
                &Credential::Federated(FederatedSource::Github),
                client_id,
                here,
                &env,
            )?)
        }
        _ => Ok(AppCredential::from_secret(secret)),
    }
}

/// The registration check on [`REGISTRATION`], its secret ending 12 days from now.
fn registration_check(manifest: &crate::model::Manifest) -> Option<String> {
    let now = chrono::Utc::now();
    let mut registration =
        crate::app::registration::parse("manifests/demo.app.json", REGISTRATION.as_bytes()).ok()?;
    for secret in &mut registration.password_credentials {
        secret.end_date_time = Some(now + chrono::Duration::days(12));
    }
    let expected = crate::app::Expected::from_manifest(manifest);
    let ids = crate::app::offline_ids(manifest.cloud, &expected, &registration);
    let options = crate::app::CheckOptions {
        now,
        expiry_warning: chrono::Duration::days(30),
    };
    let findings = crate::app::check(&registration, &expected, &ids, &options);
    let report = crate::app::CheckReport::new(
        crate::app::Subject {
            name: manifest.app.name.clone(),
            client_id: manifest.app.client_id.to_string(),
            source: "file manifests/demo.app.json".into(),
        },
        findings,
    );
    Some(report::render_app_check(&report, report::AppFormat::Table))
}
