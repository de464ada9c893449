//! Measured, not asserted: `verify` against the in-process sandbox with added latency, wall time
//! next to the ideal (tenants × latency ÷ concurrency), and peak memory.
//!
//! `cargo bench --bench verify`; change the run with `CONSENTRY_BENCH_TENANTS` (2000),
//! `CONSENTRY_BENCH_LATENCY_MS` (100) and `CONSENTRY_BENCH_CONCURRENCY` (64).
//! Tokens carry a placeholder signature by default: RSA-2048 signing (about 0.6 ms of CPU per token)
//! is Entra's cost, not the client's, and on one small machine it would dominate what is measured.
//! verify only decodes tokens, so it takes the same path either way.
//! `CONSENTRY_BENCH_SIGNATURE=rs256` signs for real, to see the whole machine's cost.
//! `CONSENTRY_BENCH_CREDENTIAL=ps256|rs256` authenticates with a certificate instead of the secret
//! (`secret`, the default): a throwaway RSA-2048 certificate registered in the sandbox, one signed
//! client assertion per token request, checked by the sandbox as Entra would. The signing cost
//! alone, per request, is `benches/credential.rs`.

use std::error::Error;
use std::fmt::Write as _;
use std::io::Write as _;
use std::str::FromStr;
use std::time::{Duration, Instant};

use consentry::cloud::Cloud;
use consentry::model::{Api, App, Credential, Manifest, Tenant, TenantId};
use consentry::sandbox::{Sandbox, Scenario};
use consentry::secret::SecretString;
use consentry::verify::{self, NoProgress, Options, Status};

const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const MDE: &str = "https://api.securitycenter.microsoft.com";
const ROLES: [&str; 2] = ["Alert.Read.All", "Machine.Read.All"];

fn env_or<T: FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{name}={text} is not a valid number")),
        Err(_) => Ok(default),
    }
}

fn guid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A field of /proc/self/status in kB (VmHWM = peak RSS, VmRSS = current), when the OS has it.
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time of the whole process (client and sandbox), from /proc/self/stat.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration that matters here.
    Some(Duration::from_millis(ticks * 10))
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(
        || "n/a".to_owned(),
        |kb| format!("{:.1} MiB", kb as f64 / 1024.0),
    )
}

fn scenario(tenants: usize, signature: &str) -> Result<Scenario, Box<dyn Error>> {
    let mut text =
        format!("app:\n  client_id: {CLIENT}\n  name: Bench\nsignature: {signature}\ntenants:\n");
    for n in 1..=tenants {
        writeln!(
            text,
            "  - name: Tenant {n}\n    id: {}\n    grants:\n      {MDE}: [{}]",
            guid(n),
            ROLES.join(", ")
        )?;
    }
    Ok(Scenario::from_yaml("bench.sandbox.yaml", &text)?)
}

fn manifest(tenants: usize) -> Manifest {
    let roles: std::collections::BTreeSet<String> = ROLES.iter().map(|r| r.to_string()).collect();
    Manifest {
        app: App {
            name: "Bench".to_owned(),
            client_id: CLIENT.parse().unwrap_or_else(|e| panic!("{CLIENT}: {e}")),
            redirect_uri: "https://portal.azure.com".to_owned(),
            credential: Credential::default(),
            home_tenant: None,
        },
        cloud: Cloud::Global,
        apis: vec![Api {
            key: "defender-for-endpoint".to_owned(),
            resource: MDE.to_owned(),
            resource_app_id: Some("fc780465-2017-40d4-a0c5-307022471b92".to_owned()),
            display_name: "WindowsDefenderATP".to_owned(),
            in_catalog: true,
            roles: roles.clone(),
        }],
        tenants: (1..=tenants)
            .map(|n| Tenant {
                name: format!("Tenant {n}"),
                id: TenantId::Guid(guid(n).parse().unwrap_or_else(|e| panic!("{n}: {e}"))),
                labels: Vec::new(),
                required: [("defender-for-endpoint".to_owned(), roles.clone())].into(),
            })
            .collect(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let tenants: usize = env_or("CONSENTRY_BENCH_TENANTS", 2000)?;
    let latency_ms: u64 = env_or("CONSENTRY_BENCH_LATENCY_MS", 100)?;
    let concurrency: usize = env_or("CONSENTRY_BENCH_CONCURRENCY", 64)?;
    let signature: String = env_or("CONSENTRY_BENCH_SIGNATURE", "placeholder".to_owned())?;
    let latency = Duration::from_millis(latency_ms);
    let credential_kind: String = env_or("CONSENTRY_BENCH_CREDENTIAL", "secret".to_owned())?;
    let secret = SecretString::from("bench-secret".to_owned());
    let mut scenario = scenario(tenants, &signature)?;
    let dir = tempfile::tempdir()?;
    let credential =
        match credential_kind.as_str() {
            "secret" => consentry::credential::AppCredential::from_secret(secret.clone()),
            "ps256" | "rs256" => {
                let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
                let cert = rcgen::CertificateParams::new(vec!["consentry-bench".to_owned()])?
                    .self_signed(&key)?;
                std::fs::write(
                    dir.path().join("bench.pem"),
                    format!("{}{}", key.serialize_pem(), cert.pem()),
                )?;
                scenario.app.certificates.push(
                    consentry::sandbox::RegisteredCertificate::from_pem(cert.pem()),
                );
                let spec = Credential::Certificate(consentry::model::CertificateSpec {
                    source: consentry::model::SecretSource::File("bench.pem".into()),
                    password: None,
                    signing: if credential_kind == "ps256" {
                        consentry::model::Signing::Ps256
                    } else {
                        consentry::model::Signing::Rs256
                    },
                });
                consentry::credential::AppCredential::load(&spec, CLIENT, dir.path(), &|_| None)?
            }
            other => {
                return Err(format!(
                    "CONSENTRY_BENCH_CREDENTIAL: secret, ps256 or rs256, not {other}"
                )
                .into());
            }
        };

    let sandbox = Sandbox::start(scenario, secret.clone(), "127.0.0.1:0".parse()?).await?;
    sandbox.set_latency(latency);
    let manifest = manifest(tenants);
    let mut options = Options::new(consentry::cloud::authority_host(
        Some(&sandbox.base_url()),
        Cloud::Global,
    )?);
    options.concurrency = concurrency;
    let rss_before = proc_status_kb("VmRSS");

    let cpu_before = cpu_time();
    let started = Instant::now();
    let report = verify::run(&manifest, &credential, &options, &NoProgress).await?;
    let wall = started.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let requests: usize = sandbox.requests_per_tenant().values().sum();
    sandbox.shutdown().await;

    let ok = report
        .summary
        .by_status
        .get(&Status::Ok)
        .copied()
        .unwrap_or(0);
    let ideal = latency.mul_f64(tenants as f64 / concurrency.max(1) as f64);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "verify: {tenants} tenants, {latency_ms} ms latency, concurrency {concurrency}, {signature} signatures, {credential_kind} credential"
    )?;
    writeln!(out, "  requests sent     {requests} ({ok} tenants ok)")?;
    writeln!(out, "  wall time         {:.3} s", wall.as_secs_f64())?;
    writeln!(
        out,
        "  ideal             {:.3} s (tenants × latency ÷ concurrency)",
        ideal.as_secs_f64()
    )?;
    if ideal.is_zero() {
        writeln!(out, "  ratio             n/a (no latency)")?;
    } else {
        writeln!(
            out,
            "  ratio             {:.2}× (target ≤ 1.30× with a secret, ≤ 1.20× with a certificate)",
            wall.as_secs_f64() / ideal.as_secs_f64()
        )?;
    }
    if let Some(cpu) = cpu {
        writeln!(
            out,
            "  CPU time          {:.3} s, {:.2} ms per request (client and in-process sandbox together)",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1000.0 / requests.max(1) as f64
        )?;
    }
    writeln!(
        out,
        "  peak RSS (VmHWM)  {} (RSS before the run: {}; includes the in-process sandbox)",
        mib(proc_status_kb("VmHWM")),
        mib(rss_before)
    )?;
    if ok != tenants {
        return Err(
            format!("only {ok} of {tenants} tenants were ok: the run is not comparable").into(),
        );
    }
    Ok(())
}
