//! Fuzzes `plan --state FILE`: the verify report read back ([`consentry::plan::parse_report`]),
//! checked against a fixed manifest ([`consentry::plan::check_state`]), planned from
//! ([`consentry::plan::plan`], with and without a base) and rendered in every plan format. The
//! report is a file on disk that anyone with write access to the pipeline may have edited. No
//! rendering may carry a raw control character (`sanitize::is_unsafe`) other than `\n` and `\t`.
#![no_main]

use std::sync::OnceLock;

use chrono::{TimeZone as _, Utc};
use libfuzzer_sys::fuzz_target;

use consentry::model::Manifest;
use consentry::plan;
use consentry::report::{PlanFormat, render_plan};

const MANIFEST: &str = include_str!("../../manifests/demo.yaml");

fn manifest() -> &'static Manifest {
    static MANIFEST_MODEL: OnceLock<Manifest> = OnceLock::new();
    MANIFEST_MODEL.get_or_init(|| {
        consentry::validate::check_str("demo.yaml", MANIFEST)
            .manifest
            .expect("demo manifest is valid")
    })
}

/// Whether `text` holds a character a terminal would obey (C0/C1 controls, DEL, bidi overrides)
/// other than a line break or tab: every human rendering and JSON report promises none.
fn raw_control(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| consentry::sanitize::is_unsafe(c) && c != '\n' && c != '\t')
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(report) = plan::parse_report(&text) else {
        return;
    };
    let manifest = manifest();
    let now = Utc.timestamp_opt(1_767_225_600, 0).unwrap();
    let _ = plan::check_state(manifest, &report, now, plan::DEFAULT_MAX_AGE);
    for base in [None, Some(manifest)] {
        let options = plan::Options {
            state: Some(&report),
            base,
            ..plan::Options::default()
        };
        let planned = plan::plan(manifest, &options);
        for format in [
            PlanFormat::Table,
            PlanFormat::Markdown,
            PlanFormat::Json,
            PlanFormat::Github,
        ] {
            let shown = render_plan(&planned, format);
            if let Some(c) = raw_control(&shown) {
                panic!("{format:?} plan shows a raw {:?}", c);
            }
        }
    }
});
