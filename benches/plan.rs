//! Measures the offline path on a large partner: validate + plan + render for N tenants (default
//! 5,000; `CONSENTRY_BENCH_TENANTS` to change). Prints figures; asserts nothing, because speed is
//! measured, not asserted.

use std::fmt::Write as _;
use std::time::Instant;

use consentry::consent::LinkStyle;
use consentry::report::{self, PlanFormat};
use consentry::{plan, validate};

fn manifest(tenants: usize) -> String {
    let mut text = String::from(
        "version: 1\napp:\n  name: Bench\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\n\
         apis:\n  microsoft-365-defender:\n    roles: [Incident.Read.All]\n  defender-for-endpoint:\n    roles: [Machine.Read.All, Alert.Read.All]\ntenants:\n",
    );
    for i in 0..tenants {
        let _ = writeln!(
            text,
            "  - name: Customer {i}\n    id: {i:08x}-0000-4000-8000-{i:012x}\n    labels: [bench]"
        );
    }
    text
}

/// Inputs that were once quadratic or worse; their timings live here, not in test assertions.
#[expect(
    clippy::print_stdout,
    clippy::disallowed_macros,
    reason = "a benchmark prints its figures"
)]
fn hostile_inputs() {
    let mut warnings = String::from(
        "version: 1\napp:\n  name: Contoso\n  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e\n  redirect_uri: https://portal.azure.com\ntenants:\n",
    );
    for i in 0..5_000 {
        let _ = writeln!(
            warnings,
            "  - name: Customer {i}\n    id: 2d4a7b1c-6f0e-4b8a-9c3d-{i:012x}\n    apis:\n      m365d: {{roles: [Incident.Read.All]}}"
        );
    }
    let mut keys = String::from("version: 1\napis:\n");
    for i in 0..50_000 {
        let _ = writeln!(keys, "  k{i}: {{}}");
    }
    let bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
    let deep = format!("{}x{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    println!("hostile and pathological inputs (validate + render, one run each)");
    for (name, text) in [
        ("5,000 warnings", warnings.as_str()),
        ("50,000-key mapping", keys.as_str()),
        ("alias bomb", bomb),
        ("10^6 nested [", deep.as_str()),
    ] {
        let t0 = Instant::now();
        let checked = validate::check_str("hostile.yaml", text);
        let rendered = validate::render_human(&checked, false);
        let elapsed = t0.elapsed();
        println!(
            "  {name:<20} {:>8.1} ms  ({} diagnostics, {} KiB rendered)",
            elapsed.as_secs_f64() * 1e3,
            checked.diagnostics.len(),
            rendered.len() / 1024
        );
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[expect(
    clippy::print_stdout,
    clippy::disallowed_macros,
    reason = "a benchmark prints its figures"
)]
fn main() {
    let tenants: usize = std::env::var("CONSENTRY_BENCH_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let text = manifest(tenants);
    let runs = 5;
    let mut best = [f64::MAX; 3];
    for _ in 0..runs {
        let t0 = Instant::now();
        let checked = validate::check_str("bench.yaml", &text);
        let t1 = Instant::now();
        let Some(manifest) = checked.manifest.as_ref() else {
            println!(
                "the generated manifest does not validate:\n{}",
                validate::render_human(&checked, false)
            );
            return;
        };
        let plan = plan::plan(
            manifest,
            &plan::Options {
                link_style: LinkStyle::Tenant,
                base: Some(manifest),
                state: None,
            },
        );
        let t2 = Instant::now();
        let rendered = report::render_plan(&plan, PlanFormat::Markdown).len()
            + report::render_plan(&plan, PlanFormat::Json).len();
        let t3 = Instant::now();
        std::hint::black_box(rendered);
        for (slot, d) in best.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
            *slot = slot.min(d.as_secs_f64());
        }
    }
    println!(
        "plan bench: {tenants} tenants, {} KiB manifest, best of {runs}",
        text.len() / 1024
    );
    println!("  validate        {:>8.1} ms", best[0] * 1e3);
    println!("  plan (--base)   {:>8.1} ms", best[1] * 1e3);
    println!("  render md+json  {:>8.1} ms", best[2] * 1e3);
    println!(
        "  total           {:>8.1} ms",
        best.iter().sum::<f64>() * 1e3
    );
    hostile_inputs();
    if let Some(kib) = peak_rss_kib() {
        println!("  peak RSS        {:>8.1} MiB", kib as f64 / 1024.0);
    }
}
