//! The command line: argument types, logging setup, and the dispatch from a subcommand to the
//! pipeline. This is the edge of the program: the only module that writes to stdout (reports, via
//! [`crate::output`]) or stderr (diagnostics and errors), and the one that maps outcomes to [`Exit`].

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
#[cfg(feature = "sandbox")]
use secrecy::SecretString;

use crate::cloud::Cloud;
use crate::consent::LinkStyle;
use crate::exit::{EXIT_CODES_HELP, Exit};
use crate::model::{Credential, FederatedSource, Manifest, SecretSource};
use crate::report::{PlanFormat, VerifyFormat};
use crate::verify::report::Report;
use crate::{
    aadsts, app, catalog, credential, graph, input, jwt, output, plan, report, validate, verify,
};
#[cfg(feature = "sandbox")]
use crate::{demo, sandbox};

/// `0.1.0 (catalog 2026-11-24)`: which role names this build checks manifests against.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} (catalog {})",
        env!("CARGO_PKG_VERSION"),
        catalog::CATALOG_DATE
    )
});

/// Plan and verify admin consent of a multi-tenant Entra ID app across customer tenants.
///
/// One YAML manifest names the app, the Defender API roles it needs and the customer tenants.
/// `plan` (offline) gives each tenant its admin-consent link and an action; `verify` (online) gets
/// an app-only token in every tenant and reports which roles each tenant really granted.
#[derive(Debug, Parser)]
#[command(name = "consentry", version = VERSION.as_str(), after_help = EXIT_CODES_HELP, max_term_width = 100)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr: no warnings, no progress bar.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// consentry's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a manifest offline and report every problem with its location and fix.
    Validate(ValidateArgs),
    /// Print the manifest's JSON Schema (for editors and CI linting).
    Schema,
    /// List the built-in catalog of APIs and their application roles.
    Roles(RolesArgs),
    /// Offline: each tenant's admin-consent link, required roles and action.
    Plan(PlanArgs),
    /// Online: get an app-only token in every tenant and report granted / missing / extra roles.
    Verify(VerifyArgs),
    /// Print one access token for a tenant to stdout (for scripts).
    Token(TokenArgs),
    /// Decode a JWT offline: header, claims, roles, lifetimes and warnings.
    Decode(DecodeArgs),
    /// Explain an AADSTS error code: what it means for a partner and what to do.
    Explain(ExplainArgs),
    /// Run the sandbox identity platform on loopback (a stand-in for Entra ID for tests and rehearsals).
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxArgs),
    /// Run plan and verify against the built-in sandbox with a demo partner: no Azure needed.
    #[cfg(feature = "sandbox")]
    Demo(DemoArgs),
    /// Write a commented starter manifest (and with --sandbox a scenario) to start from.
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell) to stdout.
    Completions(CompletionsArgs),
    /// Print consentry's man page (roff) to stdout, or write one page per command with --out.
    Man(ManArgs),
    /// The partner's own app registration: check it against the manifest, show and apply the
    /// difference.
    #[command(subcommand)]
    App(AppCommand),
}

/// `consentry app …`.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Check the registration against the manifest: roles requested, audience, redirect URI,
    /// credentials and their expiry.
    Check(AppCheckArgs),
    /// Print the requiredResourceAccess JSON the manifest implies (for the portal's manifest
    /// editor or `az ad app update --required-resource-accesses`).
    RequiredAccess(AppRequiredAccessArgs),
    /// Make the registration's requiredResourceAccess match the manifest (adds only, unless
    /// --prune); prints the difference first.
    Apply(AppApplyArgs),
}

/// Where the registration is read from, shared by `app check` and `app apply`.
#[derive(Debug, Args)]
pub struct RegistrationSource {
    /// Read the registration from this file instead of Graph: the application object as JSON, as
    /// `az ad app show --id <client id>` or Graph returns it.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Where the Graph token for the home tenant comes from: `env` reads CONSENTRY_GRAPH_TOKEN,
    /// `az` runs `az account get-access-token --resource-type ms-graph`.
    #[arg(long, value_enum, default_value_t = GraphAuth::Env)]
    pub graph_auth: GraphAuth,
    /// Graph host to use instead of the cloud's (the sandbox). http:// only for loopback.
    #[arg(long, env = "CONSENTRY_GRAPH_HOST", value_name = "URL")]
    pub graph_host: Option<String>,
}

/// `--ca-cert` for the commands that only talk to Graph (and, for a federated credential, to its
/// token's issuer); `verify` has it among its authority flags.
#[derive(Debug, Args)]
pub struct TrustArg {
    /// Also trust the CA certificates in this PEM file, on top of the system's (a TLS-inspecting
    /// proxy's CA, the sandbox's generated CA). Repeatable.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
}

/// `--graph-auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphAuth {
    /// The CONSENTRY_GRAPH_TOKEN environment variable.
    Env,
    /// The Azure CLI (after `az login`, or `azure/login` in GitHub Actions).
    Az,
}

/// `consentry app check`.
#[derive(Debug, Args)]
pub struct AppCheckArgs {
    #[command(flatten)]
    pub manifest: ManifestArg,
    #[command(flatten)]
    pub source: RegistrationSource,
    #[command(flatten)]
    pub trust: TrustArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = report::AppFormat::Table)]
    pub format: report::AppFormat,
    /// Secrets and certificates ending within this window are warnings (e.g. 30d, 12h).
    #[arg(long, default_value = "30d", value_parser = parse_window)]
    pub expiry_warning: chrono::Duration,
    /// Exit 1 on warnings too, not only on errors.
    #[arg(long)]
    pub fail_on_warning: bool,
    /// Do not read consentry's own certificate or federated token to check that the app lists
    /// it: for a job that checks the registration but never signs in as the app (a GitHub token
    /// carries the subject of the job that asks for it, e.g. `…:pull_request`).
    #[arg(long)]
    pub skip_credential_check: bool,
}

/// `consentry app required-access`.
#[derive(Debug, Args)]
pub struct AppRequiredAccessArgs {
    #[command(flatten)]
    pub manifest: ManifestArg,
}

/// `consentry app apply`.
#[derive(Debug, Args)]
pub struct AppApplyArgs {
    #[command(flatten)]
    pub manifest: ManifestArg,
    #[command(flatten)]
    pub source: RegistrationSource,
    #[command(flatten)]
    pub trust: TrustArg,
    /// Only show the difference; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove what the manifest does not mention (other APIs, delegated scopes, extra roles).
    #[arg(long)]
    pub prune: bool,
    /// Write without asking (needed when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Output format of the difference.
    #[arg(long, value_enum, default_value_t = report::AppFormat::Table)]
    pub format: report::AppFormat,
}

/// `consentry init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to write into (created if needed).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Also write a sandbox scenario that plays the starter's tenants, to rehearse verify offline.
    #[arg(long)]
    pub sandbox: bool,
}

/// `consentry completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// A shell `completions` can write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash (save as /etc/bash_completion.d/consentry or source it from ~/.bashrc).
    Bash,
    /// zsh (save as _consentry in a folder on $fpath).
    Zsh,
    /// fish (save as ~/.config/fish/completions/consentry.fish).
    Fish,
    /// PowerShell (dot-source it from $PROFILE).
    Powershell,
}

/// `consentry man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write consentry.1 and one consentry-COMMAND.1 per subcommand into this folder instead.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The manifest argument shared by the commands that read one.
#[derive(Debug, Args)]
pub struct ManifestArg {
    /// The manifest file.
    #[arg(value_name = "MANIFEST", default_value = "consentry.yaml")]
    pub manifest: PathBuf,
}

/// Output format of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// Human-readable diagnostics with source snippets.
    Human,
    /// Machine-readable diagnostics.
    Json,
    /// GitHub Actions annotations (`::error file=…,line=…,col=…`) on stdout.
    Github,
}

/// Output format of `decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodeFormat {
    /// Human-readable.
    Human,
    /// JSON.
    Json,
}

/// `consentry validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub manifest: ManifestArg,
    /// Output format (diagnostics go to stdout for `json`, stderr for `human`).
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    pub format: DiagnosticFormat,
}

/// `consentry roles`.
#[derive(Debug, Args)]
pub struct RolesArgs {
    /// One API (catalog alias); all when absent.
    pub api: Option<String>,
    /// Show resource URIs for this cloud.
    #[arg(long, value_enum, default_value_t = CloudArg::Global)]
    pub cloud: CloudArg,
}

/// A cloud on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudArg {
    /// Commercial.
    Global,
    /// US GCC.
    Gcc,
    /// US GCC High.
    GccHigh,
    /// US DoD.
    Dod,
    /// China (21Vianet).
    China,
}

impl From<CloudArg> for Cloud {
    fn from(c: CloudArg) -> Cloud {
        match c {
            CloudArg::Global => Cloud::Global,
            CloudArg::Gcc => Cloud::Gcc,
            CloudArg::GccHigh => Cloud::GccHigh,
            CloudArg::Dod => Cloud::Dod,
            CloudArg::China => Cloud::China,
        }
    }
}

/// `consentry plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub manifest: ManifestArg,
    /// The previous manifest (e.g. the target branch's): new tenants consent, grown ones re-consent,
    /// removed ones offboard.
    #[arg(long, value_name = "OLD_MANIFEST", conflicts_with = "state")]
    pub base: Option<PathBuf>,
    /// The last `verify --report` JSON: actions from what the tenants really granted.
    #[arg(long, value_name = "REPORT_JSON")]
    pub state: Option<PathBuf>,
    /// Admin-consent link form.
    #[arg(long, value_enum, default_value_t = LinkStyle::Tenant)]
    pub link_style: LinkStyle,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// Write the output to this file (atomically; `-` is stdout) instead of stdout. Never the
    /// manifest, --base or --state.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these tenants (name or id; repeatable).
    #[arg(long = "tenant", value_name = "NAME_OR_ID")]
    pub tenants: Vec<String>,
    #[command(flatten)]
    pub labels: LabelArg,
    /// Exit 0 when no tenant has anything to do and 4 when actions are pending (like Terraform's;
    /// 4 because 2 and 3 already mean usage error and undetermined).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// With --state: warn when the report is older than this (e.g. 7d, 12h, 90m).
    #[arg(long, default_value = "7d", value_parser = parse_age, requires = "state")]
    pub max_age: Duration,
    /// With --base: a missing or empty base file means "no manifest yet" (a first pull request
    /// that adds the manifest: every tenant consents), not an error.
    #[arg(long, requires = "base")]
    pub base_missing_ok: bool,
}

/// Where the token endpoints are, shared by `verify` and `token`.
#[derive(Debug, Args)]
pub struct AuthorityArg {
    /// Login host to use instead of the cloud's (the sandbox, a special cloud). http:// only for
    /// loopback.
    #[arg(long, env = "CONSENTRY_AUTHORITY_HOST", value_name = "URL")]
    pub authority_host: Option<String>,
    /// Per-attempt timeout (e.g. 30s, 500ms, 2m; at most 1h).
    #[arg(long, default_value = "30s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Deadline for the whole run (e.g. 15m, 90s; at most 24h): requests unanswered by then are
    /// abandoned and reported `error` "deadline reached".
    #[arg(long, default_value = "15m", value_parser = parse_deadline)]
    pub deadline: Duration,
    /// Retries per request on throttling, 5xx, timeouts and connection errors. Each wait honours
    /// Retry-After up to 60s.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub retries: u32,
    /// Also trust the CA certificates in this PEM file, on top of the system's (a TLS-inspecting
    /// proxy's CA, the sandbox's generated CA). Repeatable.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
}

/// `--label`, shared by `verify` and `plan`.
#[derive(Debug, Args)]
pub struct LabelArg {
    /// Only tenants with this label (repeatable: any of them; `a+b`: both a and b). Adds to
    /// --tenant: a tenant named by --tenant or carrying a --label is selected.
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
}

/// How `--group-by` groups reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// One section per label, in order of first use in the manifest.
    Label,
}

/// `consentry verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub manifest: ManifestArg,
    #[command(flatten)]
    pub authority: AuthorityArg,
    /// Token requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Only these tenants (name or id; repeatable).
    #[arg(long = "tenant", value_name = "NAME_OR_ID")]
    pub tenants: Vec<String>,
    #[command(flatten)]
    pub labels: LabelArg,
    /// Group the table and Markdown reports by label (a tenant with two labels shows in both
    /// groups; unlabelled tenants last).
    #[arg(long, value_enum)]
    pub group_by: Option<GroupBy>,
    /// Onboarding: check again (15s, then longer, up to 4m apart; Retry-After honoured) until
    /// every selected tenant is ok or this much time has passed (e.g. 15m; at most 24h). What is
    /// still missing is said on stderr each round; the last round is the report.
    #[arg(long, value_name = "DURATION", value_parser = parse_deadline)]
    pub wait: Option<Duration>,
    /// With --wait: the first pause between rounds (default 15s). Below 15s only against a
    /// loopback authority (the sandbox), to stay within Entra's limits.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, requires = "wait")]
    pub wait_every: Option<Duration>,
    /// Count roles granted beyond the manifest as findings (least privilege).
    #[arg(long)]
    pub fail_on_extra: bool,
    /// Check every token's signature against the authority's published keys; a token that does
    /// not verify (or is unsigned) is invalid_token. Microsoft Graph tokens cannot be verified by
    /// design and are counted as such.
    #[arg(long)]
    pub verify_signature: bool,
    /// Admin-consent link form in hints.
    #[arg(long, value_enum, default_value_t = LinkStyle::Tenant)]
    pub link_style: LinkStyle,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Table)]
    pub format: VerifyFormat,
    /// Write the output to this file (atomically; `-` is stdout) instead of stdout. Never the
    /// manifest or the secret file.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the JSON report here (atomically), whatever --format says. On SIGINT/SIGTERM it
    /// is still written, tenants not yet answered marked `not_checked`.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Check the partner's app registration first (as `consentry app check`, same sources and
    /// flags): the report gains an `app_registration` section, and a tenant missing a role the
    /// registration does not request is told to run `consentry app apply` first.
    #[arg(long)]
    pub app: bool,
    #[command(flatten)]
    pub app_source: RegistrationSource,
    /// With --app: secrets and certificates ending within this window are warnings.
    #[arg(long, default_value = "30d", value_parser = parse_window, requires = "app")]
    pub expiry_warning: chrono::Duration,
    /// Colour in the table: auto is on when stdout is a terminal and NO_COLOR is not set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Table row order: severity (problems first, worst first, then by name) or manifest order.
    #[arg(long, value_enum, default_value_t = SortOrder::Severity)]
    pub sort: SortOrder,
    /// Table width in columns. Default: $COLUMNS, else the terminal's width, else 80. A role
    /// matrix wider than this becomes one row per tenant (status, missing and extra roles).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
}

/// When to colour terminal output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set (to anything but the empty string).
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

/// The verify table's row order (`--sort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortOrder {
    /// Problems first: worst status first, then by name.
    Severity,
    /// The manifest's order.
    Manifest,
}

/// Whether NO_COLOR (https://no-color.org) asks for no colour: set and not empty.
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether to colour output bound for a stream that `is_terminal` describes.
fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && !no_color(),
    }
}

/// The verify table's layout: `--width`, else `COLUMNS`, else the terminal's width when stdout is
/// one, else 80 (a file or a pipe).
fn table_options(args: &VerifyArgs, to_stdout: bool) -> report::TableOptions {
    let stdout_terminal = to_stdout && std::io::stdout().is_terminal();
    let width = args
        .width
        .map(usize::from)
        .or_else(|| {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.trim().parse::<usize>().ok())
                .filter(|w| *w > 0)
        })
        .or_else(|| {
            stdout_terminal
                .then(|| terminal_size::terminal_size_of(std::io::stdout()))
                .flatten()
                .map(|(w, _)| usize::from(w.0))
        })
        .unwrap_or(80);
    report::TableOptions {
        width: Some(width),
        color: use_color(args.color, stdout_terminal),
        sort: match args.sort {
            SortOrder::Severity => report::Sort::Severity,
            SortOrder::Manifest => report::Sort::Manifest,
        },
    }
}

/// An app-wide failure goes to stderr too, once, so a run into a file or a pipe still shows it.
fn say_app_failure(report: &Report) {
    if let Some(failure) = &report.app_failure {
        let error = &failure.error;
        let code = error
            .code
            .as_deref()
            .map(|c| format!("{c}: "))
            .unwrap_or_default();
        let message = if error.message.starts_with(&code) || code.is_empty() {
            error.message.clone()
        } else {
            format!("{code}{}", error.message)
        };
        say(&crate::sanitize::terminal(&format!(
            "error: app-wide failure ({}), {} of {} tenants undetermined: {message}\n  fix: {}",
            failure.status,
            failure.tenants,
            report.tenants.len(),
            failure.fix
        )));
    }
}

/// `consentry token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub manifest: ManifestArg,
    #[command(flatten)]
    pub authority: AuthorityArg,
    /// The tenant (name or id).
    #[arg(long, value_name = "NAME_OR_ID", required_unless_present = "label")]
    pub tenant: Option<String>,
    /// Instead of --tenant: the one tenant carrying these labels (`a+b`: both).
    #[arg(long, value_name = "LABEL", conflicts_with = "tenant")]
    pub label: Option<String>,
    /// The API (manifest key); the tenant's first required API when absent.
    #[arg(long, value_name = "ALIAS")]
    pub api: Option<String>,
}

/// `consentry decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The token; `-` or absent reads it from stdin.
    pub token: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DecodeFormat::Human)]
    pub format: DecodeFormat,
}

/// `consentry explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The code: `AADSTS700016`, `700016`, or pasted as `AADSTS700016: ...`.
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// List every code consentry knows.
    #[arg(long, conflicts_with = "code")]
    pub list: bool,
}

/// `consentry sandbox`.
#[cfg(feature = "sandbox")]
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The scenario file (tenants, grants, failure modes).
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Serve HTTPS with a throwaway CA and a certificate for localhost, 127.0.0.1 and ::1, made at
    /// start; the CA's PEM is written to --tls-ca-out (or a temp file) and its path printed on
    /// stderr, for SSL_CERT_FILE / REQUESTS_CA_BUNDLE.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls: bool,
    /// Where --tls writes the CA's PEM (replaced if it exists).
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub tls_ca_out: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// `consentry demo`.
#[cfg(feature = "sandbox")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output format of the verify report.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Table)]
    pub format: VerifyFormat,
    /// Instead of running the demo, write its manifest, sandbox scenario and schema into DIR (never
    /// replacing a file), to try it yourself outside the repository.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
    /// How the demo app authenticates: a throwaway secret, a throwaway certificate registered on
    /// the sandbox's app, or federation with the sandbox playing GitHub Actions' OIDC issuer.
    #[arg(long, value_enum, default_value_t = demo::DemoCredential::Secret, conflicts_with = "write")]
    pub credential: demo::DemoCredential,
}

/// Parses a duration with `humantime` (`30s`, `500ms`, `2m`, `1h 30m`); a bare number is seconds.
/// It must be more than 0 and at most `max` (`max_words` says it in the error).
fn parse_duration_within(text: &str, max: Duration, max_words: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|e| e.to_string())
    } else {
        humantime::parse_duration(text).map_err(|e| e.to_string())
    };
    let value =
        parsed.map_err(|why| format!("`{text}` is not a duration ({why}); try 30s, 500ms, 2m"))?;
    if value.is_zero() || value > max {
        return Err(format!(
            "`{text}` must be more than 0 and at most {max_words}"
        ));
    }
    Ok(value)
}

/// `--timeout`: one attempt, at most an hour.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    parse_duration_within(text, Duration::from_secs(3600), "an hour")
}

/// `--deadline`: the whole run, at most a day.
fn parse_deadline(text: &str) -> Result<Duration, String> {
    parse_duration_within(text, Duration::from_secs(24 * 3600), "24 hours")
}

/// Parses an age: `7d`, `12h`, `90m`, `3600s` (a bare number is days).
fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "d"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an age (try 7d, 12h, 90m)"))?;
    let seconds = match unit {
        "d" => value.checked_mul(86_400),
        "h" => value.checked_mul(3600),
        "m" => value.checked_mul(60),
        "s" => Some(value),
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}` (use d, h, m or s)"
            ));
        }
    };
    match seconds {
        Some(s) if s > 0 && s <= 3650 * 86_400 => Ok(Duration::from_secs(s)),
        _ => Err(format!(
            "`{text}` must be more than 0 and at most ten years"
        )),
    }
}

/// Parses a credential-expiry window: `30d`, `12h`, or a bare number of days; at most a year.
fn parse_window(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "d"),
    };
    let value: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a window (try 30d or 12h)"))?;
    let hours = match unit {
        "d" => value.saturating_mul(24),
        "h" => value,
        _ => return Err(format!("unknown unit `{unit}` in `{text}` (use d or h)")),
    };
    if !(0..=366 * 24).contains(&hours) {
        return Err(format!("`{text}` must be between 0 and 366 days"));
    }
    Ok(chrono::Duration::hours(hours))
}

/// Sets up logging to stderr: warnings by default, more with -v, errors only with -q; `RUST_LOG`
/// overrides. Logs never carry secrets: no module logs a request body or a token.
pub fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("consentry={level},warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Writes a message to stderr. A closed stderr is ignored: there is nowhere left to complain.
fn say(message: &str) {
    // Messages quote outside text (a Graph error's message, serde's account of a --state report
    // or a registration export, a certificate's subject): none reaches the terminal raw.
    say_rendered(&crate::sanitize::terminal(message));
}

/// Prints text a renderer has already made safe for the terminal (and may have coloured on
/// purpose: validate's human diagnostics), as it is.
fn say_rendered(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Prints an error (with its causes) to stderr.
fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    say(&format!("error: {message}"));
    exit
}

/// Runs the command and says how it ended.
pub fn run(cli: Cli) -> Exit {
    let quiet = cli.quiet;
    match cli.command {
        Command::Validate(args) => run_validate(&args),
        Command::Schema => emit(
            None,
            &with_newline(pretty_json(&crate::manifest::json_schema())),
        ),
        Command::Roles(args) => run_roles(&args),
        Command::Plan(args) => run_plan(&args, quiet),
        Command::Verify(args) => run_verify(&args, quiet),
        Command::Token(args) => run_token(&args, quiet),
        Command::Decode(args) => run_decode(&args),
        Command::Explain(args) => run_explain(&args),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => run_sandbox(&args),
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => run_demo(&args),
        Command::App(AppCommand::Check(args)) => run_app_check(&args, quiet),
        Command::App(AppCommand::RequiredAccess(args)) => run_app_required_access(&args, quiet),
        Command::App(AppCommand::Apply(args)) => run_app_apply(&args, quiet),
        Command::Init(args) => run_init(&args),
        Command::Completions(args) => run_completions(&args),
        Command::Man(args) => run_man(&args),
    }
}

fn pretty_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Writes a report to `path` (see [`output::write_path`]) or stdout.
fn emit(path: Option<&Path>, text: &str) -> Exit {
    match output::emit(path, text.as_bytes()) {
        Ok(()) => Exit::Success,
        Err(e) => fail(Exit::Usage, e),
    }
}

/// Refuses, before anything is read further or sent, outputs that cannot be written or that would
/// replace an input or each other (exit 2).
fn check_outputs(
    outputs: &[(&'static str, &Path)],
    inputs: &[(&'static str, &Path)],
) -> Result<(), Exit> {
    output::check(outputs, inputs)
        .map(drop)
        .map_err(|e| fail(Exit::Usage, e))
}

/// A signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`, a CI runner cancelling the job, a container stopping.
    Terminate,
}

impl Signal {
    #[cfg(unix)]
    fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// Windows has console events, not signals (see [`Listener`]); Ctrl-Break is told as Ctrl-C.
    #[cfg(windows)]
    fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "the console closing",
        }
    }

    fn exit(self) -> Exit {
        match self {
            Signal::Interrupt => Exit::Interrupted,
            Signal::Terminate => Exit::Terminated,
        }
    }
}

/// The requests to stop that the operating system delivers, as [`Signal`]s.
///
/// Unix: SIGINT and SIGTERM. Windows has no such signals but console control events: Ctrl-C and
/// Ctrl-Break are an interrupt (exit 130, as Ctrl-C on Unix), closing the console window a
/// termination (143); Windows then waits for the process for a few seconds (tokio's handler never
/// returns for it), time to finish a file or remove a temp file. Stopping a process from outside
/// (`taskkill /F`, a job object) sends nothing that can be caught.
struct Listener {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
    #[cfg(windows)]
    ctrl_break: tokio::signal::windows::CtrlBreak,
    #[cfg(windows)]
    ctrl_close: tokio::signal::windows::CtrlClose,
}

impl Listener {
    /// What is watched, for messages.
    #[cfg(unix)]
    const WATCHED: &str = "SIGINT/SIGTERM";
    #[cfg(windows)]
    const WATCHED: &str = "Ctrl-C/Ctrl-Break/console close";

    /// Starts listening; must run inside a tokio runtime. From then on the signals no longer kill
    /// the process.
    #[cfg(unix)]
    fn new() -> std::io::Result<Listener> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Listener {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(windows)]
    fn new() -> std::io::Result<Listener> {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
        Ok(Listener {
            ctrl_c: ctrl_c()?,
            ctrl_break: ctrl_break()?,
            ctrl_close: ctrl_close()?,
        })
    }

    /// The next signal.
    #[cfg(unix)]
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }

    #[cfg(windows)]
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.ctrl_c.recv() => Signal::Interrupt,
            _ = self.ctrl_break.recv() => Signal::Interrupt,
            _ = self.ctrl_close.recv() => Signal::Terminate,
        }
    }
}

/// SIGINT and SIGTERM (on Windows, the console events of [`Listener`]), watched for the whole of a
/// command that sends requests or writes files, on the runtime the command runs on.
///
/// Once watched, the signals no longer kill the process at an arbitrary point: the command stops
/// sending, a file being written is finished whole or its temp file removed (never left behind),
/// `verify` writes what it determined, and the command ends with 130 or 143. Later signals are
/// absorbed: the run is already on its way out.
struct Signals {
    runtime: tokio::runtime::Runtime,
    received: tokio::sync::watch::Receiver<Option<Signal>>,
}

impl Signals {
    fn watch() -> Result<Signals, Exit> {
        let runtime = runtime()?;
        let listener = {
            let _context = runtime.enter();
            Listener::new()
        };
        let mut listener = match listener {
            Ok(listener) => listener,
            Err(e) => {
                return Err(fail(
                    Exit::Undetermined,
                    format!("cannot watch for {}: {e}", Listener::WATCHED),
                ));
            }
        };
        let (sender, received) = tokio::sync::watch::channel(None);
        runtime.spawn(async move {
            loop {
                let got = listener.next().await;
                // The first signal decides the exit code.
                if sender.borrow().is_none() {
                    sender.send_replace(Some(got));
                }
            }
        });
        Ok(Signals { runtime, received })
    }

    /// The first signal received, if any.
    fn received(&self) -> Option<Signal> {
        *self.received.borrow()
    }

    /// Completes with the signal's name when one arrives.
    fn stopped(&self) -> impl std::future::Future<Output = &'static str> + use<> {
        let mut received = self.received.clone();
        async move {
            match received.wait_for(Option::is_some).await {
                Ok(signal) => signal.map_or("a signal", Signal::name),
                // The watcher is gone only when the runtime is: no signal will come.
                Err(_) => std::future::pending().await,
            }
        }
    }

    /// The exit for a run that was stopped, after saying so; `exit` when none was.
    fn conclude(&self, exit: Exit, what_was_kept: &str) -> Exit {
        match self.received() {
            Some(signal) => {
                say(&format!("stopped by {}: {what_was_kept}", signal.name()));
                signal.exit()
            }
            None => exit,
        }
    }
}

fn run_validate(args: &ValidateArgs) -> Exit {
    let checked = validate::check_file(&args.manifest.manifest);
    let exit = if checked.has_errors() {
        Exit::Usage
    } else {
        Exit::Success
    };
    match args.format {
        DiagnosticFormat::Json => {
            let written = emit(None, &with_newline(validate::render_json(&checked)));
            exit.max(written)
        }
        DiagnosticFormat::Human => {
            say_rendered(
                validate::render_human(&checked, std::io::stderr().is_terminal() && !no_color())
                    .trim_end(),
            );
            exit
        }
        DiagnosticFormat::Github => {
            let written = emit(None, &report::render_diagnostics(&checked));
            exit.max(written)
        }
    }
}

/// Loads and validates a manifest for a command that needs a valid one. Errors (and warnings unless
/// `quiet`) go to stderr; `None` means exit 2.
fn load_manifest(path: &Path, quiet: bool) -> Option<Manifest> {
    let checked = validate::check_file(path);
    if checked.has_errors() || (!quiet && checked.warning_count() > 0) {
        say_rendered(
            validate::render_human(&checked, std::io::stderr().is_terminal() && !no_color())
                .trim_end(),
        );
    }
    checked.manifest
}

fn run_roles(args: &RolesArgs) -> Exit {
    let api = match &args.api {
        None => None,
        Some(name) => match catalog::lookup(name) {
            Some(api) => Some(api),
            None => {
                let aliases: Vec<&str> = catalog::APIS.iter().map(|a| a.alias).collect();
                return fail(
                    Exit::Usage,
                    format!(
                        "no API `{name}` in the catalog; known: {}",
                        aliases.join(", ")
                    ),
                );
            }
        },
    };
    emit(None, &report::render_roles(api, args.cloud.into()))
}

fn read_state(path: &Path) -> Result<Report, String> {
    let text = input::read_to_string(path)
        .map_err(|e| format!("cannot read the state report {}: {e}", path.display()))?;
    plan::parse_report(&text).map_err(|e| format!("{} {e}", path.display()))
}

fn run_plan(args: &PlanArgs, quiet: bool) -> Exit {
    let signals = match Signals::watch() {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let output = args.output.as_deref().unwrap_or(Path::new("-"));
    let mut inputs = vec![("the manifest", args.manifest.manifest.as_path())];
    inputs.extend(args.base.as_deref().map(|p| ("--base", p)));
    inputs.extend(args.state.as_deref().map(|p| ("--state", p)));
    if let Err(exit) = check_outputs(&[("--output", output)], &inputs) {
        return exit;
    }
    let Some(manifest) = load_manifest(&args.manifest.manifest, quiet) else {
        return Exit::Usage;
    };
    let base = match &args.base {
        None => None,
        // A first pull request has no base manifest: plan against one with no tenants.
        Some(path) if args.base_missing_ok && base_is_absent(path) => Some(Manifest {
            tenants: Vec::new(),
            ..manifest.clone()
        }),
        Some(path) => match load_manifest(path, true) {
            Some(base) => Some(base),
            None => {
                return fail(
                    Exit::Usage,
                    format!("the base manifest {} has errors (above)", path.display()),
                );
            }
        },
    };
    let state = match &args.state {
        None => None,
        Some(path) => match read_state(path) {
            Ok(report) => Some(report),
            Err(message) => return fail(Exit::Usage, message),
        },
    };
    if let Some(report) = &state {
        match plan::check_state(&manifest, report, chrono::Utc::now(), args.max_age) {
            Ok(None) => {}
            Ok(Some(stale)) => {
                if !quiet {
                    say(&format!("warning: {stale}"));
                }
            }
            Err(e) => return fail(Exit::Usage, e),
        }
    }
    let options = plan::Options {
        link_style: args.link_style,
        base: base.as_ref(),
        state: state.as_ref(),
    };
    let mut plan = plan::plan(&manifest, &options);
    if let Err(e) = select_planned(&mut plan, &manifest, &args.tenants, &args.labels.labels) {
        return fail(Exit::Usage, e);
    }
    // Stopped before writing: write nothing.
    if let Some(signal) = signals.received() {
        return signals.conclude(signal.exit(), "nothing was written");
    }
    let written = emit(Some(output), &report::render_plan(&plan, args.format));
    let exit = if written == Exit::Success && args.detailed_exitcode && plan.has_pending() {
        Exit::Pending
    } else {
        written
    };
    signals.conclude(exit, "the plan was written whole")
}

/// `plan --tenant/--label`: keeps the selected manifest tenants (as `verify` selects them) and the
/// offboarded ones that the filters name or whose last known labels match.
fn select_planned(
    plan: &mut plan::Plan,
    manifest: &Manifest,
    tenants: &[String],
    labels: &[String],
) -> Result<(), verify::VerifyError> {
    if tenants.is_empty() && labels.is_empty() {
        return Ok(());
    }
    let ids: std::collections::HashSet<String> = verify::select(manifest, tenants, labels)?
        .into_iter()
        .map(|i| manifest.tenants[i].id.as_str().to_ascii_lowercase())
        .collect();
    plan.retain(|t| {
        ids.contains(&t.id.to_ascii_lowercase())
            || (t.action == plan::Action::Offboard
                && (tenants
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&t.name) || n.eq_ignore_ascii_case(&t.id))
                    || labels.iter().any(|e| verify::carries(&t.labels, e))))
    });
    Ok(())
}

/// Whether a `--base` file stands for "no manifest yet": absent, or empty (what
/// `git show BASE:consentry.yaml > base.yaml` leaves when the base branch has no manifest).
fn base_is_absent(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        // /dev/null has length 0 too; a short file of only blank lines is as empty. Anything longer
        // is a manifest, and validation says what is wrong with it.
        Ok(meta) if meta.len() == 0 => true,
        Ok(meta) => {
            meta.len() <= 4096
                && std::fs::read(path).is_ok_and(|b| b.iter().all(u8::is_ascii_whitespace))
        }
    }
}

/// A tokio runtime for the online commands.
fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            fail(
                Exit::Undetermined,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// What every online command needs before its first request: where to send it (refused before
/// anything is sent when not allowed), the app's credential (loaded and checked), and the CAs to
/// trust besides the system's (`--ca-cert`). Any failure here is exit 2. The signal watch comes
/// after, just before the first request.
fn online_setup(
    manifest_path: &Path,
    manifest: &Manifest,
    authority: &AuthorityArg,
) -> Result<(url::Url, credential::AppCredential, crate::http::ExtraRoots), Exit> {
    let url = crate::cloud::authority_host(authority.authority_host.as_deref(), manifest.cloud)
        .map_err(|e| fail(Exit::Usage, e))?;
    let credential = load_credential(manifest_path, manifest)?;
    let roots = ca_roots(&authority.ca_cert)?;
    Ok((url, credential, roots))
}

/// The files the manifest's credential is read from (secret, certificate, password, federated
/// token), resolved against the manifest's folder as the credential loader does: inputs no output
/// may replace.
fn credential_files(manifest_path: &Path, manifest: &Manifest) -> Vec<(&'static str, PathBuf)> {
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let file = |role: &'static str, source: &SecretSource| match source {
        SecretSource::File(path) => Some((role, path.clone())),
        SecretSource::Env(_) => None,
    };
    let named: Vec<(&'static str, PathBuf)> = match &manifest.app.credential {
        Credential::ClientSecret(source) => {
            file("the client secret file", source).into_iter().collect()
        }
        Credential::Certificate(spec) => file("the certificate file", &spec.source)
            .into_iter()
            .chain(
                spec.password
                    .as_ref()
                    .and_then(|p| file("the certificate password file", p)),
            )
            .collect(),
        Credential::Federated(FederatedSource::File(path)) => {
            vec![("the federated token file", path.clone())]
        }
        Credential::Federated(_) => Vec::new(),
    };
    named
        .into_iter()
        .map(|(role, path)| {
            let path = if path.is_relative() {
                dir.join(path)
            } else {
                path
            };
            (role, path)
        })
        .collect()
}

/// The manifest's credential, read from the process environment and files beside the manifest.
fn read_credential(
    manifest_path: &Path,
    manifest: &Manifest,
) -> Result<credential::AppCredential, credential::CredentialError> {
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let env = |name: &str| std::env::var(name).ok();
    credential::AppCredential::load(
        &manifest.app.credential,
        &manifest.app.client_id.to_string(),
        dir,
        &env,
    )
}

/// [`read_credential`] for a command that signs in: a failure is exit 2 (nothing was sent), and
/// warnings (a certificate about to expire) are said.
fn load_credential(
    manifest_path: &Path,
    manifest: &Manifest,
) -> Result<credential::AppCredential, Exit> {
    let loaded = read_credential(manifest_path, manifest).map_err(|e| fail(Exit::Usage, e))?;
    for warning in loaded.warnings() {
        say(&format!("warning: {warning}"));
    }
    Ok(loaded)
}

/// A progress bar on stderr, drawn only when stderr is a terminal and the run is long enough.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new(quiet: bool) -> Bar {
        let hidden = quiet || !std::io::stderr().is_terminal();
        let bar = if hidden {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new(0)
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} token requests {wide_bar} {elapsed} {msg}",
        ) {
            bar.set_style(style);
        }
        Bar(bar)
    }
}

impl verify::Progress for Bar {
    fn start(&self, total: usize) {
        // A handful of tenants finish before a bar is worth drawing.
        if total <= 5 {
            self.0
                .set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        self.0.set_length(total as u64);
    }
    fn advance(&self) {
        self.0.inc(1);
        self.0.set_message("");
    }
    fn waiting(&self, retry_after: Duration) {
        self.0.set_message(format!(
            "(throttled: waiting {}s, as Retry-After asks)",
            retry_after.as_secs().max(1)
        ));
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// The `--ca-cert` files, read (bounded) and parsed; a file that is not a PEM certificate is a
/// usage error, with nothing sent.
fn ca_roots(ca_cert: &[PathBuf]) -> Result<crate::http::ExtraRoots, Exit> {
    let mut roots = crate::http::ExtraRoots::default();
    for path in ca_cert {
        roots
            .add_pem_file(path)
            .map_err(|e| fail(Exit::Usage, format!("--ca-cert: {}", e.0)))?;
    }
    Ok(roots)
}

fn verify_options(args: &VerifyArgs, authority_host: url::Url) -> verify::Options {
    verify::Options {
        concurrency: usize::from(args.concurrency),
        timeout: args.authority.timeout,
        retries: args.authority.retries,
        tenants: args.tenants.clone(),
        labels: args.labels.labels.clone(),
        fail_on_extra: args.fail_on_extra,
        link_style: args.link_style,
        deadline: args.authority.deadline,
        verify_signature: args.verify_signature,
        ..verify::Options::new(authority_host)
    }
}

/// `verify --app`: the registration checked as `app check` does, as the report's section.
fn verify_app_registration(
    args: &VerifyArgs,
    manifest: &Manifest,
    credential: &credential::AppCredential,
    roots: &crate::http::ExtraRoots,
) -> Result<verify::report::AppRegistration, Exit> {
    let mut expected = app::Expected::from_manifest(manifest);
    let options = app::CheckOptions {
        now: chrono::Utc::now(),
        expiry_warning: args.expiry_warning,
    };
    match read_registration(&args.app_source, manifest, &args.manifest.manifest, roots) {
        Ok(read) => {
            expected.credential = configured_credential(
                &args.manifest.manifest,
                manifest,
                Some(credential),
                &read.registration,
                roots,
            );
            let ids = read
                .ids
                .unwrap_or_else(|| app::offline_ids(manifest.cloud, &expected, &read.registration));
            let findings = app::check(&read.registration, &expected, &ids, &options);
            Ok(verify::report::AppRegistration::new(read.source, &findings))
        }
        Err(ReadFailure::NotFound { home, source }) => Ok(verify::report::AppRegistration::new(
            source,
            &[app::check::not_found(
                &manifest.app.client_id.to_string(),
                &home,
            )],
        )),
        Err(ReadFailure::Exit(exit)) => Err(exit),
    }
}

/// `--wait` and `--wait-every` checked: a first pause under 15s only against a loopback authority
/// (the sandbox), so a real tenant's token endpoint is never polled faster than Entra tolerates.
fn verify_wait(args: &VerifyArgs, authority: &url::Url) -> Result<Option<verify::Wait>, String> {
    let Some(total) = args.wait else {
        return Ok(None);
    };
    let first = args.wait_every.unwrap_or(verify::WAIT_FIRST_PAUSE);
    if first < verify::WAIT_FIRST_PAUSE && !crate::cloud::is_loopback(authority) {
        return Err(format!(
            "--wait-every {} is too often for Entra ID: use at least {} (a new consent takes minutes to reach tokens anyway)",
            humantime::format_duration(first),
            humantime::format_duration(verify::WAIT_FIRST_PAUSE)
        ));
    }
    Ok(Some(verify::Wait { total, first }))
}

/// One `--wait` round's line on stderr: what is still missing per tenant, and when the next
/// check is.
fn still_waiting(report: &Report, pause: Duration) -> String {
    let pending: Vec<String> = report
        .tenants
        .iter()
        .filter(|t| t.status != verify::Status::Ok)
        .map(|t| {
            let missing: Vec<String> = t
                .apis
                .iter()
                .flat_map(|a| {
                    a.missing
                        .iter()
                        .map(move |r| format!("{} {r}", report::api_label(&a.api)))
                })
                .collect();
            let name = crate::sanitize::one_line(&t.name);
            if missing.is_empty() {
                format!("{name}: {}", t.status)
            } else {
                format!(
                    "{name}: {} ({})",
                    t.status,
                    crate::sanitize::one_line(&missing.join(", "))
                )
            }
        })
        .collect();
    format!(
        "waiting: {}; next check in {}",
        pending.join("; "),
        humantime::format_duration(Duration::from_millis(
            u64::try_from(pause.as_millis()).unwrap_or(u64::MAX)
        ))
    )
}

fn run_verify(args: &VerifyArgs, quiet: bool) -> Exit {
    let manifest_path = args.manifest.manifest.as_path();
    let output = args.output.as_deref().unwrap_or(Path::new("-"));
    let mut outputs = vec![("--output", output)];
    outputs.extend(args.report.as_deref().map(|p| ("--report", p)));
    // Checked before the manifest is read too, so a bad path is reported however the manifest is.
    if let Err(exit) = check_outputs(&outputs, &[("the manifest", manifest_path)]) {
        return exit;
    }
    if args.group_by.is_some()
        && !matches!(args.format, VerifyFormat::Table | VerifyFormat::Markdown)
    {
        return fail(
            Exit::Usage,
            "--group-by groups the table and Markdown formats; the others carry each tenant's labels",
        );
    }
    let Some(manifest) = load_manifest(manifest_path, quiet) else {
        return Exit::Usage;
    };
    let credential_files = credential_files(manifest_path, &manifest);
    let inputs: Vec<(&'static str, &Path)> = credential_files
        .iter()
        .map(|(role, path)| (*role, path.as_path()))
        .collect();
    if let Err(exit) = check_outputs(&outputs, &inputs) {
        return exit;
    }
    let (authority, credential, roots) =
        match online_setup(manifest_path, &manifest, &args.authority) {
            Ok(setup) => setup,
            Err(exit) => return exit,
        };
    let wait = match verify_wait(args, &authority) {
        Ok(wait) => wait,
        Err(e) => return fail(Exit::Usage, e),
    };
    // Every usage error is out of the way: the registration is read (the first request), then
    // the signal watch starts for the run. Before it, Ctrl-C stops the process at once.
    let registration = if args.app {
        match verify_app_registration(args, &manifest, &credential, &roots) {
            Ok(section) => Some(section),
            Err(exit) => return exit,
        }
    } else {
        None
    };
    let signals = match Signals::watch() {
        Ok(signals) => signals,
        Err(exit) => return exit,
    };
    let mut options = verify_options(args, authority);
    options.ca_certs = roots;
    let bar = Bar::new(quiet);
    let result = match wait {
        None => {
            let run = verify::run_until(&manifest, &credential, &options, &bar, signals.stopped());
            signals.runtime.block_on(run)
        }
        Some(wait) => {
            let run = verify::run_waiting(
                &manifest,
                &credential,
                &options,
                &bar,
                wait,
                || signals.stopped(),
                |report, pause| {
                    if !quiet {
                        say(&still_waiting(report, pause));
                    }
                },
            );
            signals.runtime.block_on(run)
        }
    };
    let mut report = match result {
        Ok(report) => report,
        // The HTTP client could not be built: nothing is wrong with the input, the run just could
        // not happen.
        Err(e @ verify::VerifyError::Client(_)) => return fail(Exit::Undetermined, e),
        Err(e) => return fail(Exit::Usage, e),
    };
    if let Some(section) = registration {
        report.set_app_registration(section);
    }
    say_app_failure(&report);
    let table = table_options(args, output == Path::new("-"));
    let exit = write_verify_outputs(
        &report,
        args.format,
        args.group_by.is_some(),
        output,
        args.report.as_deref(),
        &table,
    );
    signals.conclude(
        exit,
        "the report holds what was determined, the rest marked not_checked",
    )
}

/// Writes the JSON report (when asked) and the formatted output; the report's own exit code wins
/// unless a write failed.
fn write_verify_outputs(
    report: &Report,
    format: VerifyFormat,
    by_label: bool,
    output: &Path,
    json: Option<&Path>,
    table: &report::TableOptions,
) -> Exit {
    let mut exit = report.exit();
    if let Some(path) = json {
        let written = emit(
            Some(path),
            &report::render_verify(report, VerifyFormat::Json),
        );
        if written != Exit::Success {
            exit = exit.max(Exit::Undetermined);
        }
    }
    // Grouped by label, each section is its own table; one table is laid out for the terminal.
    let text = if by_label {
        report::render_verify_by_label(report, format)
    } else {
        report::render_verify_with(report, format, table)
    };
    let written = emit(Some(output), &text);
    if written != Exit::Success {
        exit = exit.max(Exit::Undetermined);
    }
    exit
}

fn run_token(args: &TokenArgs, quiet: bool) -> Exit {
    let Some(manifest) = load_manifest(&args.manifest.manifest, quiet) else {
        return Exit::Usage;
    };
    let tenant = match token_tenant(&manifest, args) {
        Ok(tenant) => tenant,
        Err(message) => return fail(Exit::Usage, message),
    };
    let api_key = match &args.api {
        Some(key) => key.clone(),
        // The first API in manifest order that this tenant needs (`required` is sorted by key).
        None => match manifest
            .apis
            .iter()
            .map(|a| &a.key)
            .find(|key| tenant.required.contains_key(*key))
            .or_else(|| manifest.apis.first().map(|a| &a.key))
        {
            Some(key) => key.clone(),
            None => return fail(Exit::Usage, "the manifest names no API; pass --api"),
        },
    };
    let Some(api) = manifest
        .api(&api_key)
        .or_else(|| catalog::lookup(&api_key).and_then(|c| manifest.api(c.alias)))
    else {
        let keys: Vec<&str> = manifest.apis.iter().map(|a| a.key.as_str()).collect();
        return fail(
            Exit::Usage,
            format!(
                "no API `{api_key}` in the manifest; it names: {}",
                keys.join(", ")
            ),
        );
    };
    let (authority, credential, roots) =
        match online_setup(&args.manifest.manifest, &manifest, &args.authority) {
            Ok(setup) => setup,
            Err(exit) => return exit,
        };
    let signals = match Signals::watch() {
        Ok(signals) => signals,
        Err(exit) => return exit,
    };
    let policy = crate::http::RetryPolicy {
        timeout: args.authority.timeout,
        retries: args.authority.retries,
        ..Default::default()
    };
    let (tenant_id, client_id) = (tenant.id.to_string(), manifest.app.client_id.to_string());
    let request = crate::entra::fetch_token_with(
        &authority,
        &roots,
        &tenant_id,
        &api.resource,
        &client_id,
        &credential,
        policy,
    );
    let deadline = args.authority.deadline;
    let stopped = signals.stopped();
    let outcome = signals.runtime.block_on(async {
        tokio::select! {
            biased;
            _ = stopped => None,
            answer = tokio::time::timeout(deadline, request) => Some(answer),
        }
    });
    match outcome {
        None => signals.conclude(Exit::Undetermined, "no token was printed"),
        Some(Err(_)) => fail(
            Exit::Undetermined,
            format!(
                "deadline reached: no token within --deadline {}",
                humantime::format_duration(deadline)
            ),
        ),
        // The one place a token is ever printed: the user asked for exactly this.
        Some(Ok(Ok(token))) => emit(
            None,
            &format!("{}\n", secrecy::ExposeSecret::expose_secret(&token.token)),
        ),
        Some(Ok(Err(e))) => fail(Exit::Undetermined, e),
    }
}

/// The one tenant `token --tenant` or `token --label` names, with `verify`'s did-you-mean.
fn token_tenant<'m>(
    manifest: &'m Manifest,
    args: &TokenArgs,
) -> Result<&'m crate::model::Tenant, String> {
    let tenants: Vec<String> = args.tenant.iter().cloned().collect();
    let labels: Vec<String> = args.label.iter().cloned().collect();
    let selected = verify::select(manifest, &tenants, &labels).map_err(|e| e.to_string())?;
    match selected.as_slice() {
        [one] => Ok(&manifest.tenants[*one]),
        many => Err(format!(
            "--label {} selects {} tenants ({}); token needs one: pass --tenant, or combine labels with `+`",
            labels.join(" "),
            many.len(),
            many.iter()
                .map(|&i| manifest.tenants[i].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn run_decode(args: &DecodeArgs) -> Exit {
    let token = match args.token.as_deref() {
        Some(t) if t != "-" => t.to_owned(),
        // Capped: `decode < /dev/zero` stops at the limit instead of filling memory.
        _ => match input::read_stdin(input::MAX_FILE_BYTES).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => return fail(Exit::Usage, "the token on stdin is not UTF-8 text"),
            Err(e) => return fail(Exit::Usage, format!("cannot read a token from stdin: {e}")),
        },
    };
    match jwt::decode(&token) {
        Ok(decoded) => {
            let now = chrono::Utc::now();
            let text = match args.format {
                DecodeFormat::Human => jwt::render_human(&decoded, now),
                DecodeFormat::Json => jwt::render_json(&decoded, now),
            };
            emit(None, &with_newline(text))
        }
        Err(e) => fail(Exit::Usage, e),
    }
}

fn run_explain(args: &ExplainArgs) -> Exit {
    let Some(code) = args.code.as_deref().filter(|_| !args.list) else {
        return emit(None, &aadsts::render_list());
    };
    match aadsts::explain(code) {
        Ok(text) => emit(None, &with_newline(text)),
        // Entra adds codes: a well-formed one consentry does not know still gets the way forward.
        Err(aadsts::ExplainError::Unknown(number)) => {
            emit(None, &with_newline(aadsts::render_unknown(number)))
        }
        Err(e) => fail(Exit::Usage, e),
    }
}

#[cfg(feature = "sandbox")]
fn run_sandbox(args: &SandboxArgs) -> Exit {
    let scenario = match sandbox::Scenario::from_path(&args.scenario) {
        Ok(s) => s,
        Err(e) => return fail(Exit::Usage, e),
    };
    let secret = match std::env::var(scenario.secret_env()) {
        Ok(value) if !value.is_empty() => SecretString::from(value),
        _ => {
            return fail(
                Exit::Usage,
                format!(
                    "set {} to the client secret the sandbox should accept",
                    scenario.secret_env()
                ),
            );
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    // The CA output must not replace the scenario (or the certificate and key being served).
    if let Some(out) = &args.tls_ca_out
        && let Ok(out) = out.canonicalize()
        && std::iter::once(&args.scenario)
            .chain(&args.tls_cert)
            .chain(&args.tls_key)
            .any(|input| input.canonicalize().is_ok_and(|input| input == out))
    {
        return fail(
            Exit::Usage,
            format!(
                "--tls-ca-out {} is one of the sandbox's inputs; name another file",
                out.display()
            ),
        );
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => sandbox::Tls::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ if args.tls => sandbox::Tls::Generate,
        _ => sandbox::Tls::Off,
    };
    let options = sandbox::Options {
        listen: args.listen,
        tls,
    };
    runtime.block_on(async {
        let running = match sandbox::Sandbox::start_with(scenario, secret, options).await {
            Ok(s) => s,
            Err(e) => return fail(Exit::Usage, e),
        };
        // The CA file is kept until the sandbox stops (a temp file is removed then).
        let _ca_file = match running.ca_pem().map(|pem| write_ca(pem, args.tls_ca_out.as_deref())) {
            Some(Ok((path, file))) => {
                say(&format!(
                    "sandbox CA certificate: {} (trust it with SSL_CERT_FILE or REQUESTS_CA_BUNDLE)",
                    path.display()
                ));
                file
            }
            Some(Err(e)) => {
                running.shutdown().await;
                return fail(Exit::Usage, format!("cannot write the sandbox CA certificate: {e}"));
            }
            None => None,
        };
        // The base URL is the one line on stdout, so a script can capture it.
        let exit = emit(None, &format!("{}\n", running.base_url()));
        say(if cfg!(unix) {
            "sandbox identity platform serving; stop with Ctrl-C (or SIGTERM)"
        } else {
            "sandbox identity platform serving; stop with Ctrl-C"
        });
        // Either signal stops it the same way: requests in flight finish, a temp CA file is
        // removed. A service manager or `docker stop` sends SIGTERM, not SIGINT.
        match Listener::new() {
            Ok(mut listener) => {
                let name = listener.next().await.name();
                say(&format!("sandbox stopping ({name})"));
            }
            Err(e) => say(&format!("cannot wait for {}: {e}", Listener::WATCHED)),
        }
        running.shutdown().await;
        exit
    })
}

/// Writes the sandbox CA's PEM (public: a certificate) to `path`, or to a temp file that lives as
/// long as the returned handle.
#[cfg(feature = "sandbox")]
fn write_ca(
    pem: &str,
    path: Option<&Path>,
) -> std::io::Result<(PathBuf, Option<tempfile::TempPath>)> {
    match path {
        Some(path) => {
            std::fs::write(path, pem)?;
            Ok((path.to_owned(), None))
        }
        None => {
            let mut file = tempfile::Builder::new()
                .prefix("consentry-sandbox-ca-")
                .suffix(".pem")
                .tempfile()?;
            file.write_all(pem.as_bytes())?;
            let path = file.into_temp_path();
            Ok((path.to_path_buf(), Some(path)))
        }
    }
}

#[cfg(feature = "sandbox")]
fn run_demo(args: &DemoArgs) -> Exit {
    if let Some(dir) = &args.write {
        return write_files(dir, &crate::init::demo(), |dir| {
            format!(
                "Try it yourself:\n  cd {dir}\n  export CONSENTRY_CLIENT_SECRET=demo\n  consentry \
                 sandbox --scenario demo.sandbox.yaml --listen 127.0.0.1:8400 &\n  consentry verify \
                 demo.yaml --authority-host http://127.0.0.1:8400"
            )
        });
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    match runtime.block_on(demo::run(args.format, args.credential)) {
        Ok(text) => emit(None, &text),
        Err(e) => fail(Exit::Undetermined, e),
    }
}

/// A registration read for `app check` / `app apply`.
struct ReadRegistration {
    registration: app::Registration,
    /// `file <path>` or `graph <home tenant>`.
    source: String,
    /// Role ids learned from the resource service principals (online only).
    ids: Option<app::RoleIds>,
    /// The runtime and client, kept for `apply`'s PATCH (online only).
    online: Option<(tokio::runtime::Runtime, graph::client::GraphClient)>,
}

/// Why no registration was read.
enum ReadFailure {
    /// Reported already; exit with this.
    Exit(Exit),
    /// Graph has no such application in the home tenant (a finding, not a failure).
    NotFound {
        /// The home tenant.
        home: String,
        /// Where it was looked for.
        source: String,
    },
}

/// Reads the registration for `app check` / `app apply` (and `verify --app`): from `--from`, or
/// from Graph in the home tenant. Failures before a request are usage errors (nothing was sent);
/// Graph refusing (401/403) or unreachable is undetermined (exit 3) with Graph's code, message and
/// request ids.
fn read_registration(
    source: &RegistrationSource,
    manifest: &Manifest,
    manifest_path: &Path,
    roots: &crate::http::ExtraRoots,
) -> Result<ReadRegistration, ReadFailure> {
    if let Some(path) = &source.from {
        return app::read_export(path)
            .map(|registration| ReadRegistration {
                registration,
                source: format!("file {}", path.display()),
                ids: None,
                online: None,
            })
            .map_err(|e| ReadFailure::Exit(fail(Exit::Usage, e)));
    }
    let Some(home) = &manifest.app.home_tenant else {
        return Err(ReadFailure::Exit(fail(
            Exit::Usage,
            format!(
                "{} has no app.home_tenant: reading the registration from Microsoft Graph needs the tenant it is registered in (set app.home_tenant to its GUID or a verified domain), or pass --from FILE with the output of `az ad app show --id {}`",
                manifest_path.display(),
                manifest.app.client_id
            ),
        )));
    };
    // Everything that can be refused before a request is refused first, in the order a user
    // fixes it: where to send, then what to send with.
    let host = match &source.graph_host {
        Some(host) => crate::cloud::authority_host(Some(host), manifest.cloud).map_err(
            |crate::cloud::AuthorityError { input, reason }| {
                ReadFailure::Exit(fail(
                    Exit::Usage,
                    format!("--graph-host `{input}`: {reason}"),
                ))
            },
        )?,
        None => url::Url::parse(graph::host(manifest.cloud))
            .map_err(|e| ReadFailure::Exit(fail(Exit::Usage, e)))?,
    };
    let token = match source.graph_auth {
        GraphAuth::Env => graph::token::from_env(|name| std::env::var(name).ok()),
        GraphAuth::Az => graph::token::from_azure_cli(Path::new("az"), graph::token::AZ_TIMEOUT),
    };
    let token = token.map_err(|e| ReadFailure::Exit(fail(Exit::Usage, e)))?;
    let client =
        graph::client::GraphClient::new(&host, token, crate::http::RetryPolicy::default(), roots)
            .map_err(|e| ReadFailure::Exit(fail(Exit::Usage, e)))?;
    let runtime = runtime().map_err(ReadFailure::Exit)?;
    let expected = app::Expected::from_manifest(manifest);
    let read = runtime.block_on(graph::read_online(
        &client,
        &manifest.app.client_id.to_string(),
        expected.resource_app_ids(),
    ));
    let source = format!("graph {home}");
    match read {
        Ok((registration, ids)) => Ok(ReadRegistration {
            registration,
            source,
            ids: Some(ids),
            online: Some((runtime, client)),
        }),
        Err(e) if e.is_not_found() => Err(ReadFailure::NotFound {
            home: home.to_string(),
            source,
        }),
        Err(e) => Err(ReadFailure::Exit(fail(
            Exit::Undetermined,
            format!(
                "cannot read the app registration from Microsoft Graph (home tenant {home}): {}",
                e.explain(false)
            ),
        ))),
    }
}

/// The credential consentry signs in with, as the registration must list it (for the check's
/// configured-credential findings). A secret needs nothing read (Graph never returns secret
/// values, so "the app has one" is all there is to check). A certificate's thumbprint comes from
/// its file or variable; a federated token's issuer, subject and audience from the token (GitHub's
/// is fetched, trusting `roots`), and only when the registration lists its federated credentials
/// (an `az ad app show` export does not: then nothing is fetched). `loaded` is the credential when
/// the caller has it already (`verify --app`); otherwise it is read here, and a credential that
/// cannot be read becomes a finding, not a failure: a job that only checks the registration often
/// does not have it.
fn configured_credential(
    manifest_path: &Path,
    manifest: &Manifest,
    loaded: Option<&credential::AppCredential>,
    registration: &app::Registration,
    roots: &crate::http::ExtraRoots,
) -> app::ConfiguredCredential {
    let what = match &manifest.app.credential {
        Credential::ClientSecret(_) => return app::ConfiguredCredential::Secret,
        Credential::Federated(_) if registration.federated_identity_credentials.is_none() => {
            return app::ConfiguredCredential::FederatedNotCompared;
        }
        Credential::Certificate(_) => "certificate",
        Credential::Federated(_) => "federated token",
    };
    let not_read = |error: credential::CredentialError| match error {
        // Expired or not yet valid, the certificate was read: its thumbprint still says whether
        // the app lists it (and the registration's own end date says the rest).
        credential::CredentialError::CertificateExpired { thumbprint, .. }
        | credential::CredentialError::CertificateNotYetValid { thumbprint, .. } => {
            app::ConfiguredCredential::Certificate { thumbprint }
        }
        error => app::ConfiguredCredential::NotRead {
            what,
            reason: error.to_string(),
            absent: error.is_absent(),
        },
    };
    let owned;
    let credential = match loaded {
        Some(credential) => credential,
        None => match read_credential(manifest_path, manifest) {
            Ok(credential) => {
                owned = credential;
                &owned
            }
            Err(error) => return not_read(error),
        },
    };
    if let Some(identity) = credential.local_identity() {
        return identity.into();
    }
    // Only a federated token gets here: one fetch or read, on a small runtime of its own (the
    // run's, if any, starts later).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => match runtime.block_on(credential.identity(roots)) {
            Ok(identity) => identity.into(),
            Err(error) => not_read(error),
        },
        Err(e) => app::ConfiguredCredential::NotRead {
            what,
            reason: format!("the async runtime could not start: {e}"),
            absent: false,
        },
    }
}

fn app_subject(manifest: &Manifest, source: String) -> app::Subject {
    app::Subject {
        name: manifest.app.name.clone(),
        client_id: manifest.app.client_id.to_string(),
        source,
    }
}

fn run_app_check(args: &AppCheckArgs, quiet: bool) -> Exit {
    let Some(manifest) = load_manifest(&args.manifest.manifest, quiet) else {
        return Exit::Usage;
    };
    let roots = match ca_roots(&args.trust.ca_cert) {
        Ok(roots) => roots,
        Err(exit) => return exit,
    };
    let read = match read_registration(&args.source, &manifest, &args.manifest.manifest, &roots) {
        Ok(read) => read,
        Err(ReadFailure::Exit(exit)) => return exit,
        Err(ReadFailure::NotFound { home, source }) => {
            let finding = app::check::not_found(&manifest.app.client_id.to_string(), &home);
            let report = app::CheckReport::new(app_subject(&manifest, source), vec![finding]);
            let written = emit(None, &report::render_app_check(&report, args.format));
            return report.exit(args.fail_on_warning).max(written);
        }
    };
    let mut expected = app::Expected::from_manifest(&manifest);
    if !args.skip_credential_check {
        expected.credential = configured_credential(
            &args.manifest.manifest,
            &manifest,
            None,
            &read.registration,
            &roots,
        );
    }
    let ids = read
        .ids
        .unwrap_or_else(|| app::offline_ids(manifest.cloud, &expected, &read.registration));
    let options = app::CheckOptions {
        now: chrono::Utc::now(),
        expiry_warning: args.expiry_warning,
    };
    let findings = app::check(&read.registration, &expected, &ids, &options);
    let report = app::CheckReport::new(app_subject(&manifest, read.source), findings);
    let written = emit(None, &report::render_app_check(&report, args.format));
    report.exit(args.fail_on_warning).max(written)
}

fn run_app_required_access(args: &AppRequiredAccessArgs, quiet: bool) -> Exit {
    let Some(manifest) = load_manifest(&args.manifest.manifest, quiet) else {
        return Exit::Usage;
    };
    let expected = app::Expected::from_manifest(&manifest);
    let ids = app::RoleIds::offline(manifest.cloud, expected.resource_app_ids());
    match app::desired(&expected, &ids) {
        Ok(list) => emit(
            None,
            &with_newline(serde_json::to_string_pretty(&list).unwrap_or_default()),
        ),
        Err(unresolved) => {
            for problem in &unresolved {
                say(&format!("error: {problem}"));
            }
            Exit::Usage
        }
    }
}

fn run_app_apply(args: &AppApplyArgs, quiet: bool) -> Exit {
    let Some(manifest) = load_manifest(&args.manifest.manifest, quiet) else {
        return Exit::Usage;
    };
    if args.source.from.is_some() && !args.dry_run {
        return fail(
            Exit::Usage,
            "--from reads an export, which cannot be written back: add --dry-run to see the difference, or drop --from to apply it through Microsoft Graph",
        );
    }
    let roots = match ca_roots(&args.trust.ca_cert) {
        Ok(roots) => roots,
        Err(exit) => return exit,
    };
    let read = match read_registration(&args.source, &manifest, &args.manifest.manifest, &roots) {
        Ok(read) => read,
        Err(ReadFailure::Exit(exit)) => return exit,
        Err(ReadFailure::NotFound { home, .. }) => {
            let finding = app::check::not_found(&manifest.app.client_id.to_string(), &home);
            return fail(
                Exit::Findings,
                format!("{}: {}", finding.message, finding.fix),
            );
        }
    };
    let expected = app::Expected::from_manifest(&manifest);
    let ids = read
        .ids
        .unwrap_or_else(|| app::offline_ids(manifest.cloud, &expected, &read.registration));
    let desired = match app::desired(&expected, &ids) {
        Ok(desired) => desired,
        Err(unresolved) => {
            for problem in &unresolved {
                say(&format!("error: {problem}"));
            }
            return Exit::Usage;
        }
    };
    let diff = app::diff(
        &read.registration.required_resource_access,
        &desired,
        &expected,
        &ids,
        args.prune,
    );
    let report = app::ApplyReport {
        schema_version: app::SCHEMA_VERSION,
        app: app_subject(&manifest, read.source),
        dry_run: args.dry_run,
        diff,
    };
    // The difference first, always: what is about to change is on screen before anything does.
    let shown = emit(None, &report::render_app_apply(&report, args.format));
    if shown != Exit::Success || args.dry_run || report.diff.is_empty() {
        return shown;
    }
    let Some((runtime, client)) = read.online else {
        return fail(
            Exit::Usage,
            "nothing was written: the registration was not read from Graph",
        );
    };
    let Some(object_id) = read.registration.id.as_deref() else {
        return fail(
            Exit::Undetermined,
            "nothing was written: Graph's answer carried no object id to PATCH",
        );
    };
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return fail(
                Exit::Usage,
                "nothing was written: not on a terminal, so pass --yes to apply the change shown above",
            );
        }
        {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "Apply this change to the app registration? Type `yes` to continue: "
            );
            let _ = err.flush();
        }
        let mut answer = String::new();
        // Bounded: one short line is all that is wanted.
        let read_answer = std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin().lock(), 64),
            &mut answer,
        );
        let answer = answer.lines().next().unwrap_or_default().trim().to_owned();
        if read_answer.is_err() && answer.is_empty() || !answer.eq_ignore_ascii_case("yes") {
            return fail(Exit::Usage, "nothing was written: not confirmed");
        }
    }
    let written = runtime.block_on(
        client.set_required_resource_access(object_id, &report.diff.required_resource_access),
    );
    if let Err(e) = written {
        return fail(
            Exit::Undetermined,
            format!("the app registration was not changed: {}", e.explain(true)),
        );
    }
    say(&format!(
        "Changed the app registration: {} permission(s) added, {} removed.",
        report.diff.add.len(),
        report.diff.remove.len()
    ));
    for line in reconsent_lines(&manifest, &report.diff) {
        say(&line);
    }
    Exit::Success
}

/// After `apply` added roles: which tenants must consent again for them to reach their tokens,
/// with `plan`'s consent link for each (admin consent grants what was requested at the time).
fn reconsent_lines(manifest: &Manifest, diff: &app::Diff) -> Vec<String> {
    let planned = plan::plan(manifest, &plan::Options::default());
    let mut lines = Vec::new();
    for (tenant, planned) in manifest.tenants.iter().zip(&planned.tenants) {
        let added: Vec<String> = diff
            .add
            .iter()
            .filter_map(|c| {
                let role = c.role.as_deref()?;
                tenant
                    .required
                    .get(&c.api)
                    .is_some_and(|roles| roles.contains(role))
                    .then(|| format!("{} {role}", c.api))
            })
            .collect();
        if added.is_empty() {
            continue;
        }
        lines.push(format!(
            "  {} ({}): {} {}",
            crate::sanitize::one_line(&tenant.name),
            tenant.id,
            plan::Action::Reconsent,
            added.join(", ")
        ));
        if let Some(url) = &planned.consent_url {
            lines.push(format!("    {url}"));
        }
    }
    if !lines.is_empty() {
        lines.insert(
            0,
            "These tenants must consent again for the added roles to reach their tokens:".into(),
        );
    }
    lines
}

fn run_init(args: &InitArgs) -> Exit {
    let sandbox = args.sandbox;
    write_files(&args.dir, &crate::init::starter(sandbox), |dir| {
        let mut next = format!(
            "Next: put your app's client id and your customers' tenant ids in {dir}/consentry.yaml, \
             then\n  consentry validate {dir}/consentry.yaml\n  consentry plan {dir}/consentry.yaml"
        );
        if sandbox {
            next.push_str(&format!(
                "\nRehearse verify on the sandbox:\n  export CONSENTRY_CLIENT_SECRET=rehearsal\n  \
                 consentry sandbox --scenario {dir}/consentry.sandbox.yaml --listen 127.0.0.1:8400 &\n  \
                 consentry verify {dir}/consentry.yaml --authority-host http://127.0.0.1:8400"
            ));
        }
        next
    })
}

/// Writes starter files (never replacing one) and says on stderr what was written and what next;
/// stdout stays empty.
fn write_files(dir: &Path, files: &[crate::init::File], next: impl Fn(&str) -> String) -> Exit {
    match crate::init::write_all(dir, files) {
        Ok(paths) => {
            for path in paths {
                say(&format!("wrote {}", path.display()));
            }
            say(&next(&dir.display().to_string()));
            Exit::Success
        }
        Err(e) => fail(Exit::Usage, e),
    }
}

fn run_completions(args: &CompletionsArgs) -> Exit {
    use clap::CommandFactory;
    use clap_complete::Shell as Target;
    let shell = match args.shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "consentry", &mut script);
    emit(None, &String::from_utf8_lossy(&script))
}

fn run_man(args: &ManArgs) -> Exit {
    use clap::CommandFactory;
    let command = Cli::command();
    match &args.out {
        None => match man_page(&command, "consentry") {
            Ok(page) => emit(None, &page),
            Err(e) => fail(
                Exit::Undetermined,
                format!("cannot render the man page: {e}"),
            ),
        },
        Some(dir) => {
            let mut pages = vec![crate::init::File {
                name: "consentry.1".to_owned(),
                contents: match man_page(&command, "consentry") {
                    Ok(page) => page,
                    Err(e) => return fail(Exit::Undetermined, e),
                },
            }];
            for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
                let name = format!("consentry-{}", sub.get_name());
                let page = match man_page(sub, &name) {
                    Ok(page) => page,
                    Err(e) => return fail(Exit::Undetermined, e),
                };
                pages.push(crate::init::File {
                    name: format!("{name}.1"),
                    contents: page,
                });
            }
            write_files(dir, &pages, |dir| {
                format!("read them with: man -l {dir}/consentry.1")
            })
        }
    }
}

/// One man page titled `title` (`consentry`, `consentry-verify`).
fn man_page(command: &clap::Command, title: &str) -> std::io::Result<String> {
    let mut page = Vec::new();
    let command = command
        .clone()
        .bin_name(title)
        .display_name(title)
        .version(VERSION.as_str());
    clap_mangen::Man::new(command)
        .title(title.to_ascii_uppercase())
        .render(&mut page)?;
    Ok(String::from_utf8_lossy(&page).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_windows_parse_in_days_and_hours() {
        assert_eq!(parse_window("30d"), Ok(chrono::Duration::days(30)));
        assert_eq!(parse_window("12"), Ok(chrono::Duration::days(12)));
        assert_eq!(parse_window("36h"), Ok(chrono::Duration::hours(36)));
        assert_eq!(parse_window("0d"), Ok(chrono::Duration::zero()));
        assert!(parse_window("400d").is_err());
        assert!(parse_window("3w").is_err());
        assert!(parse_window("soon").is_err());
    }

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_deadline("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_deadline("1h 30m"), Ok(Duration::from_secs(5400)));
        for zero in ["0", "0s"] {
            let err = parse_timeout(zero).unwrap_err();
            assert!(err.contains("more than 0 and at most an hour"), "{err}");
        }
        assert!(parse_timeout("5h").unwrap_err().contains("at most an hour"));
        assert!(
            parse_deadline("25h")
                .unwrap_err()
                .contains("at most 24 hours")
        );
        let err = parse_timeout("soon").unwrap_err();
        assert!(err.contains("`soon` is not a duration"), "{err}");
        assert!(parse_timeout("99999999999999999999999").is_err());
    }

    #[test]
    fn the_deadline_and_timeout_defaults_are_the_library_ones() {
        let cli = Cli::try_parse_from(["consentry", "verify"]).unwrap();
        let Command::Verify(args) = cli.command else {
            panic!("verify parses as verify");
        };
        assert_eq!(args.authority.deadline, verify::DEFAULT_DEADLINE);
        assert_eq!(
            args.authority.timeout,
            crate::http::RetryPolicy::default().timeout
        );
    }

    #[test]
    fn ages_parse_in_days_hours_minutes_and_seconds() {
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_age("7"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(90 * 60)));
        assert!(parse_age("0d").is_err());
        assert!(parse_age("1w").is_err());
        assert!(parse_age("99999999999999999999d").is_err());
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
