//! When to try a token request again: exponential backoff with jitter, or what `Retry-After` says
//! (capped), for throttling and transient failures (reference §4).
//!
//! Every wait is capped at [`MAX_RETRY_WAIT`] whatever the server asks: a hostile or broken
//! endpoint answering `Retry-After: 99999999999` (or a date in 2099) must not park a tenant for
//! hours. The run as a whole is bounded separately by `verify`'s deadline.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

/// The longest consentry waits between two attempts, whatever `Retry-After` says. Entra's
/// client-credentials throttling asks for seconds to a minute; a longer wait is better spent on a
/// later run.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// How hard the token client tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long one attempt may take, connection to last byte.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff; each further retry doubles it.
    pub backoff_base: Duration,
    /// The longest wait between attempts, whether computed or asked for by `Retry-After`; never
    /// more than [`MAX_RETRY_WAIT`].
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff_base: Duration::from_millis(500),
            max_retry_after: MAX_RETRY_WAIT,
        }
    }
}

/// The wait before retry number `retry` (0 for the first retry).
///
/// `Retry-After` wins when present (never earlier, up to 10% later): the server knows when it will
/// answer again, and Entra sends it for client-credentials throttling. Otherwise `base × 2^retry`, with "equal jitter" (half fixed,
/// half random) so that many tenants throttled at once do not come back in lockstep. `jitter` is a
/// number in `[0, 1)`; the caller supplies it so this stays a pure function.
pub fn delay(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let cap = policy.max_retry_after.min(MAX_RETRY_WAIT);
    let jitter = jitter.clamp(0.0, 1.0);
    if let Some(asked) = retry_after {
        // Never earlier than asked; up to 10% later, so tenants throttled together do not all
        // return in the same instant.
        // Clamp first: a hostile `Retry-After: 18446744073709551615` must not overflow Duration.
        let asked = asked.min(cap);
        return asked.saturating_add(asked.mul_f64(0.1 * jitter)).min(cap);
    }
    let exponential = policy
        .backoff_base
        .saturating_mul(2u32.saturating_pow(retry.min(16)))
        .min(cap);
    let half = exponential / 2;
    half + half.mul_f64(jitter)
}

/// Parses a `Retry-After` value: delay-seconds, or an HTTP date (RFC 9110 §10.2.3, read by
/// `httpdate` in all three historical forms) relative to `now`. A date in the past means now.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::from(now))
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_retry_after_is_capped_not_a_panic() {
        let policy = RetryPolicy::default();
        let huge = parse_retry_after("18446744073709551615", Utc::now());
        for jitter in [0.0, 0.5, 0.999] {
            assert_eq!(delay(&policy, 0, huge, jitter), policy.max_retry_after);
        }
    }
    use chrono::TimeZone as _;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            backoff_base: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(2),
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn exponential_with_equal_jitter_and_cap() {
        let p = policy();
        assert_eq!(delay(&p, 0, None, 0.0), Duration::from_millis(50));
        assert_eq!(delay(&p, 0, None, 0.5), Duration::from_millis(75));
        assert_eq!(delay(&p, 3, None, 0.0), Duration::from_millis(400));
        assert_eq!(delay(&p, 3, None, 0.5), Duration::from_millis(600));
        // 100ms × 2^10 is far past the 2s cap.
        assert_eq!(delay(&p, 10, None, 1.0), Duration::from_secs(2));
        assert_eq!(delay(&p, u32::MAX, None, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = policy();
        assert_eq!(
            delay(&p, 0, Some(Duration::from_secs(1)), 0.0),
            Duration::from_secs(1)
        );
        assert_eq!(
            delay(&p, 0, Some(Duration::from_secs(1)), 0.5),
            Duration::from_millis(1050)
        );
        assert_eq!(
            delay(&p, 0, Some(Duration::from_secs(60)), 0.0),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn a_huge_retry_after_waits_at_most_the_documented_bound() {
        let now = Utc.with_ymd_and_hms(2026, 1, 9, 2, 2, 12).unwrap();
        // Even a policy that allows more is held to the bound.
        let lax = RetryPolicy {
            max_retry_after: Duration::from_secs(3600),
            ..RetryPolicy::default()
        };
        for value in ["99999999999", "Thu, 01 Jan 2099 00:00:00 GMT"] {
            let asked = parse_retry_after(value, now);
            assert!(asked.unwrap() > Duration::from_secs(3600), "{value}");
            for jitter in [0.0, 0.999] {
                assert_eq!(delay(&lax, 0, asked, jitter), MAX_RETRY_WAIT, "{value}");
            }
        }
        assert_eq!(MAX_RETRY_WAIT, Duration::from_secs(60));
        assert_eq!(RetryPolicy::default().max_retry_after, MAX_RETRY_WAIT);
    }

    #[test]
    fn parses_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2026, 1, 9, 2, 2, 12).unwrap();
        assert_eq!(
            parse_retry_after(" 60 ", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Fri, 09 Jan 2026 02:02:42 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Fri, 09 Jan 2026 02:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        // The obsolete RFC 850 and asctime forms are HTTP dates too.
        assert_eq!(
            parse_retry_after("Friday, 09-Jan-26 02:02:42 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Fri Jan  9 02:02:42 2026", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
