//! When to try a token request again: exponential backoff with jitter, or what `Retry-After` says
//! (capped), for throttling and transient failures (reference §4).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How hard the token client tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long one attempt may take, connection to last byte.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff; each further retry doubles it.
    pub backoff_base: Duration,
    /// The longest wait between attempts, whether computed or asked for by `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff_base: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(120),
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
    let cap = policy.max_retry_after;
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

/// Parses a `Retry-After` value: delay-seconds, or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
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
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
