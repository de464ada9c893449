//! Fuzzes the sandbox scenario reader ([`consentry::sandbox::Scenario::from_yaml`]): a file users
//! write for `consentry sandbox`, parsed with serde-saphyr and checked. The error's message is
//! built too, as the CLI prints it.
//! Certificate `file:` entries are read relative to the working directory: run from `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

use consentry::sandbox::Scenario;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Scenario::from_yaml("fuzz.yaml", &text) {
        Ok(scenario) => {
            let _ = scenario.check();
            let _ = scenario.secret_env();
            for tenant in &scenario.tenants {
                let _ = scenario.tenant(&tenant.id);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
