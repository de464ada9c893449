//! What the suites that run the binary against an in-process sandbox share: the secret the
//! sandbox accepts, and the sandbox itself on a runtime of its own (the binary is a blocking child
//! process, so the sandbox must not live on the test's thread).
#![expect(
    clippy::unwrap_used,
    reason = "a test helper: a sandbox that cannot start is a test failure"
)]

use consentry::sandbox::{Sandbox, Scenario};
use secrecy::SecretString;

/// The client secret the sandbox accepts; planted so leak checks can look for it.
pub const SECRET: &str = "planted-s3cret-Zq8~vX.42";

/// A sandbox running in this test process, on its own runtime, for the binary to talk to. Shut
/// down when dropped.
pub struct Running {
    pub runtime: tokio::runtime::Runtime,
    pub sandbox: Option<Sandbox>,
    pub url: String,
}

impl Running {
    /// Starts a sandbox playing `scenario_yaml`, accepting [`SECRET`], on a free loopback port.
    pub fn start(scenario_yaml: &str) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let scenario = Scenario::from_yaml("test.sandbox.yaml", scenario_yaml).unwrap();
        let sandbox = runtime
            .block_on(Sandbox::start(
                scenario,
                SecretString::from(SECRET),
                "127.0.0.1:0".parse().unwrap(),
            ))
            .unwrap();
        let url = sandbox.base_url();
        Running {
            runtime,
            sandbox: Some(sandbox),
            url,
        }
    }

    /// Token requests answered so far, all tenants together.
    pub fn total_requests(&self) -> usize {
        self.sandbox
            .as_ref()
            .unwrap()
            .requests_per_tenant()
            .values()
            .sum()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.sandbox.take() {
            self.runtime.block_on(s.shutdown());
        }
    }
}
