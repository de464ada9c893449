//! Fuzzes the token endpoint's answer readers (a hostile server writes these bodies): the 2xx body
//! (v1 and v2 token responses) and the error body (AADSTS codes, `error_description`, ids).
//! Input: two bytes of HTTP status (big-endian), then the body as text. Besides panics, a finding
//! is any `eyJ` (the start of every JWT) in what a report would show: an echoed token or assertion
//! must never reach one.
#![no_main]

use libfuzzer_sys::fuzz_target;

use consentry::entra::fuzzing::{classify_error, parse_success};

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => (400, data),
    };
    let body = String::from_utf8_lossy(body);

    match parse_success(&body, "application/json") {
        Ok(token) => {
            // The token itself is wrapped; nothing else in Debug may show it.
            let shown = format!("{token:?}");
            assert!(!shown.contains("eyJ") || token.token_type.contains("eyJ"));
        }
        // The message names the finding, never the text, which would hold the token.
        Err(why) => assert!(!why.contains("eyJ"), "a token is quoted in a refusal"),
    }

    let (_disposition, error) = classify_error(status, &body);
    let shown = format!(
        "{error} {:?} {:?} {:?} {:?}",
        error.error,
        error.trace_id,
        error.correlation_id,
        error.code_name()
    );
    assert!(!shown.contains("eyJ"), "token quoted in a classified error");
});
