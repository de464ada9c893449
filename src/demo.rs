//! `consentry demo`: the whole job on the built-in sandbox, no Azure needed. Starts the sandbox
//! in-process with the demo partner (`manifests/demo.sandbox.yaml`), then runs `plan` and `verify`
//! on `manifests/demo.yaml` against it, exactly as a user would against Entra ID.

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
}

/// No progress bar inside the demo: its output is the report.
struct Silent;

impl verify::Progress for Silent {
    fn start(&self, _total: usize) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// Runs the demo and returns what it shows: the plan, then the verify report in `format`.
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

    let plan = plan::plan(
        manifest,
        &plan::Options {
            link_style: LinkStyle::Tenant,
            base: None,
            state: None,
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
            "$ consentry app check manifests/demo.yaml --from manifests/demo.app.json\n"
        );
        text.push_str(&check);
        text.push('\n');
    }
    let _ = writeln!(text, "$ consentry plan manifests/demo.yaml\n");
    text.push_str(&report::render_plan(&plan, PlanFormat::Table));
    let _ = writeln!(
        text,
        "\n$ consentry verify manifests/demo.yaml --authority-host <sandbox>\n"
    );
    text.push_str(&report::render_verify(&report, format));
    let _ = writeln!(
        text,
        "\nverify would exit {} here (0 all ok, 1 findings, 3 undetermined). Try it yourself \
         (outside the repository, `consentry demo --write manifests` first):\n  \
         CONSENTRY_CLIENT_SECRET=demo consentry sandbox --scenario manifests/demo.sandbox.yaml --listen 127.0.0.1:8400 &\n  \
         CONSENTRY_CLIENT_SECRET=demo consentry verify manifests/demo.yaml --authority-host http://127.0.0.1:8400",
        report.exit().code()
    );
    Ok(text)
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
            client_id: manifest.app.client_id.clone(),
            source: "file manifests/demo.app.json".into(),
        },
        findings,
    );
    Some(report::render_app_check(&report, report::AppFormat::Table))
}
