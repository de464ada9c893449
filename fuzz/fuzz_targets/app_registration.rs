//! Fuzzes `consentry app check --from FILE`: the registration export (a Graph application object
//! or `{"value":[...]}` list, [`consentry::app::registration::parse`]) and the check of it against
//! a fixed manifest ([`consentry::app::check`]), rendered in every format. The check must hold for
//! any registration Graph (or a hand-edited export) can produce, and no rendering may carry a raw
//! control character (`sanitize::is_unsafe`) other than `\n` and `\t`.
#![no_main]

use std::sync::OnceLock;

use chrono::{TimeZone as _, Utc};
use libfuzzer_sys::fuzz_target;

use consentry::app::{self, CheckOptions, CheckReport, ConfiguredCredential, Expected, Subject};
use consentry::report::{AppFormat, render_app_check};

const MANIFEST: &str = include_str!("../../manifests/demo.yaml");

fn expected() -> &'static Expected {
    static EXPECTED: OnceLock<Expected> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let checked = consentry::validate::check_str("demo.yaml", MANIFEST);
        Expected::from_manifest(checked.manifest.as_ref().expect("demo manifest is valid"))
    })
}

/// Whether `text` holds a character a terminal would obey (C0/C1 controls, DEL, bidi overrides)
/// other than a line break or tab: every human rendering and JSON report promises none.
fn raw_control(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| consentry::sanitize::is_unsafe(c) && c != '\n' && c != '\t')
}

fuzz_target!(|data: &[u8]| {
    let Ok(registration) = app::registration::parse("fuzz.json", data) else {
        return;
    };
    let options = CheckOptions {
        now: Utc.timestamp_opt(1_767_225_600, 0).unwrap(),
        expiry_warning: chrono::Duration::days(30),
    };
    // The manifest's view (a secret), then the views a certificate or federated credential give,
    // which compare the registration's key and federated credentials.
    let mut expected = expected().clone();
    for credential in [
        ConfiguredCredential::Secret,
        ConfiguredCredential::Unknown,
        ConfiguredCredential::Certificate {
            thumbprint: "9F3C2B1A0E8D7C6B5A4F3E2D1C0B9A8F7E6D5C4B".to_owned(),
        },
        ConfiguredCredential::Federated {
            issuer: "https://token.actions.githubusercontent.com".to_owned(),
            subject: "repo:contoso/consent:ref:refs/heads/main".to_owned(),
            audiences: vec!["api://AzureADTokenExchange".to_owned()],
        },
    ] {
        expected.credential = credential;
        let ids = app::offline_ids(consentry::cloud::Cloud::Global, &expected, &registration);
        let findings = app::check(&registration, &expected, &ids, &options);
        let report = CheckReport::new(
            Subject {
                name: "demo".to_owned(),
                client_id: expected.client_id.clone(),
                source: "file fuzz.json".to_owned(),
            },
            findings,
        );
        for format in [AppFormat::Table, AppFormat::Markdown, AppFormat::Json] {
            let shown = render_app_check(&report, format);
            if let Some(c) = raw_control(&shown) {
                panic!("{format:?} app check shows a raw {:?}", c);
            }
        }
    }
});
