//! `consentry demo`: the whole job on the built-in sandbox, no Azure needed. Starts the sandbox
//! in-process with the demo partner (`manifests/demo.sandbox.yaml`), then runs `verify` on
//! `manifests/demo.yaml` against it, exactly as a user would against Entra ID, and `plan --state`
//! on that report: first what consentry finds, then what to do about it.

use std::fmt::Write as _;
use std::time::Duration;

use secrecy::SecretString;

use crate::consent::LinkStyle;
use crate::report::{self, PlanFormat, VerifyFormat};
use crate::{plan, sandbox, validate, verify};

/// The demo manifest, as users can copy it.
pub const MANIFEST: &str = include_str!("../manifests/demo.yaml");
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
pub async fn run(format: VerifyFormat) -> Result<String, DemoError> {
    let checked = validate::check_str("manifests/demo.yaml", MANIFEST);
    let Some(manifest) = checked.manifest.as_ref() else {
        return Err(DemoError::Manifest(validate::render_human(&checked, false)));
    };
    let scenario = sandbox::Scenario::from_yaml("manifests/demo.sandbox.yaml", SCENARIO)?;
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
        ..verify::Options::new(authority)
    };
    let credential = crate::credential::AppCredential::from_secret(secret);
    let result = verify::run(manifest, &credential, &options, &Silent).await;
    sandbox.shutdown().await;
    let report = result?;

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
    // Machine formats are for piping: the verify report alone, nothing else on stdout.
    if !matches!(format, VerifyFormat::Table | VerifyFormat::Markdown) {
        return Ok(report::render_verify(&report, format));
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "consentry demo: {} customer tenants of \"{}\", played by the built-in sandbox identity platform.\n",
        manifest.tenants.len(),
        manifest.app.name
    );
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
