//! Measures what a certificate credential costs per token request: signing one client assertion
//! (PS256 and RS256, 2048- and 3072-bit RSA keys), through the same `client_auth` the token client
//! calls. Prints figures; asserts nothing, because speed is measured, not asserted. The signing
//! itself is aws-lc (C, always optimised), so `cargo test --bench credential` gives the same figure
//! as `cargo bench --bench credential` without a release build.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use consentry::credential::AppCredential;
use consentry::model::{CertificateSpec, Credential, SecretSource, Signing};

const ROUNDS: u32 = 500;

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[expect(
    clippy::print_stdout,
    clippy::disallowed_macros,
    clippy::unwrap_used,
    reason = "a benchmark prints its figures; a failed setup is a failed benchmark"
)]
fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let url = url::Url::parse(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
    )
    .unwrap();
    for (bits, alg) in [
        (2048, &rcgen::PKCS_RSA_SHA256),
        (3072, &rcgen::PKCS_RSA_SHA384),
    ] {
        let key = if bits == 2048 {
            rcgen::KeyPair::generate_for(alg).unwrap()
        } else {
            // rcgen generates 2048-bit keys; a 3072-bit one comes from aws-lc-rs directly.
            let generated =
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa3072).unwrap();
            let der =
                aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&generated)
                    .unwrap();
            rcgen::KeyPair::try_from(der.as_ref()).unwrap()
        };
        let cert = rcgen::CertificateParams::new(vec!["bench".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let text = pem("PRIVATE KEY", &key.serialize_der()) + &pem("CERTIFICATE", cert.der());
        for signing in [Signing::Ps256, Signing::Rs256] {
            let spec = Credential::Certificate(CertificateSpec {
                source: SecretSource::Env("PEM".into()),
                password: None,
                signing,
            });
            let credential = AppCredential::load(
                &spec,
                "6731de76-14a6-49ae-97bc-6eba6914391e",
                std::path::Path::new("."),
                &|_| Some(text.clone()),
            )
            .unwrap();
            let start = Instant::now();
            runtime.block_on(async {
                for _ in 0..ROUNDS {
                    credential.client_auth(&http, &url).await.unwrap();
                }
            });
            let per = start.elapsed().as_secs_f64() * 1000.0 / f64::from(ROUNDS);
            println!(
                "client assertion {} RSA-{bits}: {per:.3} ms per token request, one thread, wall clock ({ROUNDS} signed)",
                signing.alg()
            );
        }
    }
}
