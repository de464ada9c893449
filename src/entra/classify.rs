//! What a token endpoint's answer means (reference §4): a token, a final failure of some [`Kind`],
//! or "try again". Pure functions over the HTTP status and body, so every case is unit-tested.

use serde::Deserialize;
use serde_json::Value;

use secrecy::SecretString;

use super::aadsts::{self, Disposition};
use super::{AccessToken, Kind, TokenError};

/// The longest excerpt of an unexpected body kept in a report.
const MAX_EXCERPT: usize = 200;

/// The fields of an Entra error body, each read on its own: a `null`, a number where a string was
/// expected or a Defender-style `{"error": {...}}` loses that one field, never the whole body, so
/// an AADSTS code in the description still classifies (and a rejected secret still stops the run).
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    error_codes: Vec<Value>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
}

impl ErrorBody {
    fn parse(body: &str) -> Option<ErrorBody> {
        let value: Value = serde_json::from_str(body).ok()?;
        let object = value.as_object()?;
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(ErrorBody {
            error: text("error"),
            error_description: text("error_description"),
            error_codes: object
                .get("error_codes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            trace_id: text("trace_id"),
            correlation_id: text("correlation_id"),
        })
    }
}

/// A number Entra may send as a JSON number (v2) or a string (v1). Lifetimes inform, they decide
/// nothing, so any other shape reads as unknown rather than discarding a valid token.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(u64),
    Float(f64),
    Text(String),
    Other(serde::de::IgnoredAny),
}

impl Number {
    fn get(&self) -> Option<u64> {
        match self {
            Number::Int(n) => Some(*n),
            // Finite and non-negative: `as` saturates at u64::MAX.
            Number::Float(f) if f.is_finite() && *f >= 0.0 => Some(*f as u64),
            Number::Text(s) => s.trim().parse().ok(),
            Number::Float(_) | Number::Other(_) => None,
        }
    }
}

// No Debug on purpose: it holds the token in the clear until it is wrapped.
#[derive(Deserialize)]
struct SuccessBody {
    access_token: String,
    token_type: Option<String>,
    expires_in: Option<Number>,
    ext_expires_in: Option<Number>,
}

/// Reads a 2xx body: v2 (numbers) or v1 (numbers as strings). The error never quotes a JSON body
/// or anything that looks like it carries a token; an HTML page is quoted by its first line.
pub(crate) fn parse_success(body: &str, content_type: &str) -> Result<AccessToken, String> {
    let parsed: SuccessBody = match serde_json::from_str(body) {
        Ok(parsed) => parsed,
        Err(_) if serde_json::from_str::<Value>(body).is_ok() => {
            return Err("the success answer is JSON without a usable access_token".to_owned());
        }
        Err(_) if body.contains("eyJ") => {
            return Err(format!(
                "the success answer is not JSON ({content_type}); not quoted, it may hold a token"
            ));
        }
        Err(_) => {
            return Err(format!(
                "the success answer is not JSON ({content_type}): {}",
                excerpt(body)
            ));
        }
    };
    if parsed.access_token.is_empty() {
        return Err("the success answer has an empty access_token".to_owned());
    }
    Ok(AccessToken {
        token_type: parsed.token_type.unwrap_or_else(|| "Bearer".to_owned()),
        expires_in: parsed.expires_in.as_ref().and_then(Number::get),
        ext_expires_in: parsed.ext_expires_in.as_ref().and_then(Number::get),
        token: SecretString::from(parsed.access_token),
    })
}

/// What a failed answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Retry, or final.
    pub disposition: Disposition,
    /// What Entra said, and its kind (for a retry, the kind it has if retries run out).
    pub error: TokenError,
}

/// The first line of an `error_description`: Entra separates the trace/correlation/timestamp
/// lines with `\r\n`, or with plain spaces.
fn first_line(text: &str) -> &str {
    let mut end = text.len();
    for separator in ["\r\n", "\n", " Trace ID:", " Trace ID :"] {
        if let Some(i) = text.find(separator) {
            end = end.min(i);
        }
    }
    text[..end].trim()
}

/// `AADSTS700016: Application ...` → (`700016`, `Application ...`).
fn split_code(description: &str) -> (Option<u32>, &str) {
    let Some(rest) = description.strip_prefix("AADSTS") else {
        return (None, description);
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let code = rest[..digits].parse().ok();
    let message = rest[digits..].trim_start_matches(':').trim_start();
    (code, if code.is_some() { message } else { description })
}

fn excerpt(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    match line {
        None => "(empty body)".to_owned(),
        Some(line) if line.chars().count() > MAX_EXCERPT => {
            let cut: String = line.chars().take(MAX_EXCERPT).collect();
            format!("{}…", hide_tokens(&cut))
        }
        Some(line) => hide_tokens(line),
    }
}

/// What a hostile server echoes (a token, an assertion) must not reach a report: every run of
/// base64url-and-dot characters that holds `eyJ` (the start of any base64url JSON object, so of
/// every JWT) is replaced.
fn hide_tokens(text: &str) -> String {
    if !text.contains("eyJ") {
        return text.to_owned();
    }
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.contains("eyJ") {
            out.push_str("[token hidden]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn hide(field: Option<String>) -> Option<String> {
    field.map(|f| hide_tokens(&f))
}

fn transient(http_status: u16) -> bool {
    http_status == 429 || http_status >= 500
}

/// Classifies an error answer: by `error_codes[0]`, then the `AADSTSnnnn` prefix of
/// `error_description`, then `error`, then the HTTP status. Never fails: a body that is not JSON
/// becomes `error` with the body's first line.
pub(crate) fn classify_error(http_status: u16, body: &str) -> Failure {
    let Some(parsed) = ErrorBody::parse(body) else {
        let (disposition, kind) = if http_status == 429 {
            (Disposition::Retry, Kind::Throttled)
        } else if transient(http_status) {
            (Disposition::Retry, Kind::Transient)
        } else {
            (Disposition::Final(Kind::Protocol), Kind::Protocol)
        };
        let mut error = TokenError::new(
            kind,
            format!("HTTP {http_status}, not an OAuth error: {}", excerpt(body)),
        );
        error.http_status = Some(http_status);
        return Failure { disposition, error };
    };
    let description = parsed.error_description.as_deref().unwrap_or("");
    let (prefix_code, message) = split_code(first_line(description));
    let listed = parsed.error_codes.first().and_then(|v| match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => aadsts::parse_code(s),
        _ => None,
    });
    let code = listed.or(prefix_code);
    let error = parsed
        .error
        .map(|e| hide_tokens(&e))
        .unwrap_or_else(|| "unknown_error".to_owned());
    let disposition = match code.and_then(aadsts::lookup_number) {
        Some(entry) => entry.disposition,
        None if transient(http_status) || error == "temporarily_unavailable" => Disposition::Retry,
        // Without a code we know, `invalid_client` still means the credential (HTTP 401).
        None if code.is_none() && error == "invalid_client" => {
            Disposition::Final(Kind::CredentialRejected)
        }
        None => Disposition::Final(Kind::Other),
    };
    let kind = match disposition {
        Disposition::Final(kind) => kind,
        // 90055 is throttling and 50196 a request loop: both mean "slower"; the rest are faults.
        Disposition::Retry if http_status == 429 || matches!(code, Some(90055 | 50196)) => {
            Kind::Throttled
        }
        Disposition::Retry => Kind::Transient,
    };
    let message = if message.is_empty() {
        format!("HTTP {http_status}, {error}")
    } else {
        hide_tokens(message)
    };
    Failure {
        disposition,
        error: TokenError {
            kind,
            code,
            error: Some(error),
            message,
            trace_id: hide(parsed.trace_id),
            correlation_id: hide(parsed.correlation_id),
            http_status: Some(http_status),
            request_id: None,
            request_ids: Vec::new(),
            attempts: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    const REFERENCE_BODY: &str = r#"{"error":"unauthorized_client",
 "error_description":"AADSTS700016: Application with identifier 'x' was not found in the directory 'Fabrikam'. This can happen if the application has not been installed.\r\nTrace ID: 0c1d\r\nCorrelation ID: 9e8f\r\nTimestamp: 2026-01-09 02:02:12Z",
 "error_codes":[700016],"timestamp":"2026-01-09 02:02:12Z","trace_id":"0c1d","correlation_id":"9e8f",
 "error_uri":"https://login.microsoftonline.com/error?code=700016"}"#;

    #[test]
    fn reference_error_body_is_not_consented_with_ids_kept() {
        let f = classify_error(400, REFERENCE_BODY);
        assert_eq!(f.disposition, Disposition::Final(Kind::NotConsented));
        assert_eq!(f.error.code_name().as_deref(), Some("AADSTS700016"));
        assert_eq!(f.error.error.as_deref(), Some("unauthorized_client"));
        assert_eq!(
            f.error.message,
            "Application with identifier 'x' was not found in the directory 'Fabrikam'. This can happen if the application has not been installed."
        );
        assert_eq!(f.error.trace_id.as_deref(), Some("0c1d"));
        assert_eq!(f.error.correlation_id.as_deref(), Some("9e8f"));
        assert_eq!(f.error.http_status, Some(400));
    }

    #[test]
    fn odd_field_shapes_lose_the_field_not_the_classification() {
        let odd = r#"{"error":null,"error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":null,"trace_id":7}"#;
        let f = classify_error(401, odd);
        assert_eq!(f.disposition, Disposition::Final(Kind::CredentialRejected));
        assert_eq!(f.error.code_name().as_deref(), Some("AADSTS7000215"));
        assert_eq!(f.error.trace_id, None);
    }

    #[test]
    fn odd_lifetimes_do_not_discard_a_token() {
        for lifetime in ["3599", "\"3599\"", "3599.0", "-1", "null", "{}"] {
            let body = format!(
                r#"{{"token_type":"Bearer","expires_in":{lifetime},"access_token":"a.b.c"}}"#
            );
            let token = parse_success(&body, "application/json")
                .unwrap_or_else(|e| panic!("{lifetime}: {e}"));
            assert_eq!(token.token.expose_secret(), "a.b.c");
        }
    }

    #[test]
    fn falls_back_to_description_prefix_then_error_field() {
        let spaces = r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found. Trace ID: 1 Correlation ID: 2 Timestamp: 3"}"#;
        let f = classify_error(400, spaces);
        assert_eq!(f.disposition, Disposition::Final(Kind::TenantNotFound));
        assert_eq!(f.error.code_name().as_deref(), Some("AADSTS90002"));
        assert_eq!(f.error.message, "Tenant 'x' not found.");

        let bare = r#"{"error":"invalid_client","error_description":"bad secret"}"#;
        let f = classify_error(401, bare);
        assert_eq!(f.disposition, Disposition::Final(Kind::CredentialRejected));
        assert_eq!(f.error.code, None);

        let codes_win =
            r#"{"error":"x","error_description":"AADSTS90002: no","error_codes":[7000215]}"#;
        assert_eq!(
            classify_error(401, codes_win).disposition,
            Disposition::Final(Kind::CredentialRejected)
        );
    }

    #[test]
    fn retryable_codes_and_statuses() {
        for code in [50196, 90055, 90033] {
            let body = format!(r#"{{"error":"temporarily_unavailable","error_codes":[{code}]}}"#);
            assert_eq!(classify_error(400, &body).disposition, Disposition::Retry);
        }
        let throttled = classify_error(429, "Too Many Requests");
        assert_eq!(throttled.disposition, Disposition::Retry);
        assert_eq!(throttled.error.kind, Kind::Throttled);
        assert_eq!(classify_error(503, "<html>").error.kind, Kind::Transient);
        assert_eq!(
            classify_error(503, "<html>").disposition,
            Disposition::Retry
        );
        assert_eq!(
            classify_error(500, r#"{"error":"server_error"}"#).disposition,
            Disposition::Retry
        );
    }

    #[test]
    fn unknown_codes_and_garbage_are_errors_with_raw_detail() {
        let body = r#"{"error":"invalid_request","error_description":"AADSTS9999999: Something new.\r\nTrace ID: t","error_codes":[9999999]}"#;
        let f = classify_error(400, body);
        assert_eq!(f.disposition, Disposition::Final(Kind::Other));
        assert_eq!(f.error.code_name().as_deref(), Some("AADSTS9999999"));
        assert_eq!(f.error.message, "Something new.");

        let f = classify_error(400, "\n  <html><body>Bad gateway</body></html>\nmore");
        assert_eq!(f.disposition, Disposition::Final(Kind::Protocol));
        assert_eq!(f.error.code, None);
        assert_eq!(f.error.error, None);
        assert_eq!(
            f.error.message,
            "HTTP 400, not an OAuth error: <html><body>Bad gateway</body></html>"
        );
        let long = "x".repeat(1000);
        assert!(classify_error(400, &long).error.message.chars().count() < 260);
        assert!(
            classify_error(400, "")
                .error
                .message
                .ends_with("(empty body)")
        );
        // Odd shapes of JSON never panic.
        for odd in ["[]", "null"] {
            let f = classify_error(400, odd);
            assert_eq!(f.disposition, Disposition::Final(Kind::Protocol), "{odd}");
        }
        for odd in [
            r#"{"error_codes":"x"}"#,
            r#"{"error_codes":[-1]}"#,
            "{\"error_description\":\"AADSTS\"}",
        ] {
            let f = classify_error(400, odd);
            assert_eq!(f.disposition, Disposition::Final(Kind::Other), "{odd}");
        }
    }

    #[test]
    fn echoed_tokens_are_hidden() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: bad client_assertion eyJa.eyJb.c2ln given","trace_id":"eyJx"}"#;
        let f = classify_error(401, body);
        assert_eq!(f.error.message, "bad client_assertion [token hidden] given");
        assert_eq!(f.error.trace_id.as_deref(), Some("[token hidden]"));
        let f = classify_error(502, "upstream said: token=eyJhb.c.d; bye");
        assert_eq!(
            f.error.message,
            "HTTP 502, not an OAuth error: upstream said: [token hidden]; bye"
        );
    }

    #[test]
    fn success_bodies_v2_and_v1() {
        let v2 = r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ.a.b"}"#;
        let t = parse_success(v2, "application/json").unwrap();
        assert_eq!(t.token.expose_secret(), "eyJ.a.b");
        assert_eq!((t.expires_in, t.ext_expires_in), (Some(3599), Some(3599)));
        let v1 = r#"{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":"1717050328","not_before":"1717046428","resource":"https://api.securitycenter.microsoft.com","access_token":"eyJ.c.d"}"#;
        let t = parse_success(v1, "application/json").unwrap();
        assert_eq!(t.expires_in, Some(3599));
        assert_eq!(t.token_type, "Bearer");
        let err = parse_success(r#"{"access_token":123,"leak":"eyJ.secret"}"#, "").unwrap_err();
        assert_eq!(
            err,
            "the success answer is JSON without a usable access_token"
        );
        let err = parse_success("token=eyJ.secret", "text/plain").unwrap_err();
        assert!(!err.contains("eyJ"), "{err}");
        let err = parse_success("<!DOCTYPE html>\n<html>", "text/html").unwrap_err();
        assert_eq!(
            err,
            "the success answer is not JSON (text/html): <!DOCTYPE html>"
        );
        assert!(parse_success(r#"{"access_token":""}"#, "").is_err());
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Looks like a token: what must never be quoted back.
        const PLANTED: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

        const SUCCESS_BODY: &str = r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}"#;

        /// A real body with a few bytes flipped, inserted or cut, and maybe the planted token
        /// spliced in somewhere.
        fn mutated(base: &'static str) -> impl Strategy<Value = String> {
            (
                proptest::collection::vec(
                    (any::<prop::sample::Index>(), any::<u8>(), 0u8..3),
                    0..8,
                ),
                proptest::option::of(any::<prop::sample::Index>()),
                proptest::option::of(any::<prop::sample::Index>()),
            )
                .prop_map(move |(edits, cut, plant)| {
                    let mut bytes = base.as_bytes().to_vec();
                    for (at, byte, op) in edits {
                        if bytes.is_empty() {
                            break;
                        }
                        let i = at.index(bytes.len());
                        match op {
                            0 => bytes[i] = byte,
                            1 => bytes.insert(i, byte),
                            _ => {
                                bytes.remove(i);
                            }
                        }
                    }
                    if let Some(cut) = cut
                        && !bytes.is_empty()
                    {
                        bytes.truncate(cut.index(bytes.len()));
                    }
                    let mut text = String::from_utf8_lossy(&bytes).into_owned();
                    if let Some(plant) = plant {
                        let mut i = plant.index(text.len() + 1);
                        while !text.is_char_boundary(i) {
                            i -= 1;
                        }
                        text.insert_str(i, &format!(" {PLANTED} "));
                    }
                    text
                })
        }

        fn body() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..512)
                    .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
                ".{0,300}",
                mutated(REFERENCE_BODY),
                mutated(SUCCESS_BODY),
            ]
        }

        fn shown(f: &Failure) -> String {
            let e = &f.error;
            format!(
                "{} {:?} {:?} {:?} {e}",
                e.message, e.error, e.trace_id, e.correlation_id
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn error_answers_classify_totally_and_quote_no_token(status in 100u16..600, body in body()) {
                let f = classify_error(status, &body);
                match f.disposition {
                    Disposition::Final(kind) => prop_assert_eq!(f.error.kind, kind),
                    Disposition::Retry => prop_assert!(
                        matches!(f.error.kind, Kind::Throttled | Kind::Transient),
                        "{:?}", f.error.kind
                    ),
                }
                prop_assert_eq!(f.error.http_status, Some(status));
                prop_assert!(!f.error.message.is_empty());
                prop_assert!(!shown(&f).contains("eyJ"), "{}", shown(&f));
            }

            #[test]
            fn success_answers_give_a_token_or_a_reason_that_quotes_none(body in body()) {
                match parse_success(&body, "application/json") {
                    Ok(token) => prop_assert!(!token.token.expose_secret().is_empty()),
                    Err(why) => prop_assert!(!why.contains("eyJ"), "{}", why),
                }
            }
        }
    }
}
