//! Whether a verify report may stand for the manifest's tenants (`plan --state`).
//!
//! A report is evidence about one app: a report made for another client id says nothing about
//! what the tenants granted this app, so it is refused rather than turned into a plan. A report is
//! also evidence at one moment: consents granted or revoked since are not in it, so an old one is
//! used with a warning.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::Manifest;
use crate::verify::report::Report;

/// How old a report may be before `plan --state` warns (`--max-age`'s default).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a report cannot stand for the manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The report was made for another app registration.
    #[error(
        "the verify report was made for client id {report}, the manifest names {manifest}: run \
         `consentry verify --report FILE` with this manifest, or plan with --base to compare \
         manifests"
    )]
    OtherApp {
        /// The report's client id.
        report: String,
        /// The manifest's client id.
        manifest: String,
    },
}

/// A report older than the allowed age: usable, but tenants may have changed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale {
    /// How old the report is.
    pub age: Duration,
    /// The allowed age.
    pub max_age: Duration,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the verify report is {} old (more than --max-age {}): consents granted or revoked \
             since are not in it; run `consentry verify --report FILE` again",
            human(self.age),
            human(self.max_age)
        )
    }
}

/// `3 days`, `5 hours`, `12 minutes`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s >= 86_400 {
        (s / 86_400, "day")
    } else if s >= 3600 {
        (s / 3600, "hour")
    } else {
        (s / 60, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Reads a `--state` file's text as a verify report: JSON, of this schema version, whole. The
/// error says what the text is not, for the caller to prefix with the file's name; it quotes
/// serde's position and expectation, never the file's content.
pub fn parse_report(text: &str) -> Result<Report, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("is not JSON: {e}"))?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(crate::verify::report::SCHEMA_VERSION)) {
        return Err(format!(
            "is not a consentry verify report with schema_version {} (write one with `consentry verify --report FILE`)",
            crate::verify::report::SCHEMA_VERSION
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("is not a consentry verify report: {e}"))
}

/// Checks that `report` may stand for `manifest` at `now`: an error for another app, a warning
/// (`Some`) when it is older than `max_age`. A report dated in the future is not stale.
pub fn check_state(
    manifest: &Manifest,
    report: &Report,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<Option<Stale>, StateError> {
    // A report names its app as text; one that is not this GUID is another app's.
    if uuid::Uuid::parse_str(&report.app.client_id).ok() != Some(manifest.app.client_id) {
        return Err(StateError::OtherApp {
            report: report.app.client_id.clone(),
            manifest: manifest.app.client_id.to_string(),
        });
    }
    let age = (now - report.generated_at).to_std().unwrap_or_default();
    Ok((age > max_age).then_some(Stale { age, max_age }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::{App, Credential};
    use crate::verify::report::{AppInfo, Summary};

    const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";

    fn manifest() -> Manifest {
        Manifest {
            app: App {
                name: "App".to_owned(),
                client_id: CLIENT.parse().unwrap(),
                redirect_uri: "https://portal.azure.com".to_owned(),
                credential: Credential::default(),
                home_tenant: None,
            },
            cloud: crate::cloud::Cloud::Global,
            apis: Vec::new(),
            tenants: Vec::new(),
        }
    }

    fn report(client_id: &str, generated_at: DateTime<Utc>) -> Report {
        Report {
            schema_version: crate::verify::report::SCHEMA_VERSION,
            generated_at,
            app: AppInfo {
                name: "App".to_owned(),
                client_id: client_id.to_owned(),
            },
            cloud: crate::cloud::Cloud::Global,
            fail_on_extra: false,
            credential: None,
            signatures: None,
            app_failure: None,
            elapsed_ms: 0,
            summary: Summary::default(),
            app_registration: None,
            tenants: Vec::new(),
        }
    }

    #[test]
    fn a_report_is_checked_for_its_app_and_its_age() {
        let now = Utc::now();
        let day = chrono::Duration::days(1);
        let fresh = report(&CLIENT.to_ascii_uppercase(), now - day);
        assert_eq!(
            check_state(&manifest(), &fresh, now, DEFAULT_MAX_AGE),
            Ok(None)
        );
        let old = report(CLIENT, now - day * 8);
        let stale = check_state(&manifest(), &old, now, DEFAULT_MAX_AGE);
        assert!(
            matches!(stale, Ok(Some(s)) if s.age > DEFAULT_MAX_AGE),
            "{stale:?}"
        );
        let future = report(CLIENT, now + day);
        assert_eq!(
            check_state(&manifest(), &future, now, DEFAULT_MAX_AGE),
            Ok(None)
        );
        let other = report("5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890", now);
        assert!(matches!(
            check_state(&manifest(), &other, now, DEFAULT_MAX_AGE),
            Err(StateError::OtherApp { .. })
        ));
    }

    #[test]
    fn a_state_file_is_read_whole_or_refused_for_what_it_is_not() {
        let written = report(CLIENT, Utc::now());
        let text = serde_json::to_string(&written).unwrap();
        assert_eq!(parse_report(&text), Ok(written));

        let not_json = parse_report("schema_version: 1").unwrap_err();
        assert!(not_json.starts_with("is not JSON"), "{not_json}");
        for other in [
            "{}",
            r#"{"schema_version":2}"#,
            r#"{"schema_version":"1"}"#,
            "[]",
        ] {
            let wrong = parse_report(other).unwrap_err();
            assert!(wrong.contains("schema_version 1"), "{other}: {wrong}");
        }
        let partial = parse_report(r#"{"schema_version":1}"#).unwrap_err();
        assert!(
            partial.starts_with("is not a consentry verify report:"),
            "{partial}"
        );
    }

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        assert_eq!(human(Duration::from_secs(8 * 86_400 + 5)), "8 days");
        assert_eq!(human(Duration::from_secs(86_400)), "1 day");
        assert_eq!(human(Duration::from_secs(7200)), "2 hours");
        assert_eq!(human(Duration::from_secs(600)), "10 minutes");
    }
}
