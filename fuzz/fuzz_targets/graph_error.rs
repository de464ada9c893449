//! Fuzzes the reading of Microsoft Graph's error answers ([`consentry::graph::GraphError::from_answer`])
//! and every message built from one (`Display`, `explain` for reads and writes). A hostile or
//! broken Graph chooses status, body and `request-id` header.
//! Input: two bytes of HTTP status (big-endian), one byte of header length `n`, `n` bytes of the
//! `request-id` header (none when `n` is 0), then the body bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

use consentry::graph::GraphError;
use consentry::graph::client::GraphFailure;

fuzz_target!(|data: &[u8]| {
    let (status, rest) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => return,
    };
    let (header, body) = match rest {
        [0, body @ ..] => (None, body),
        [n, rest @ ..] if rest.len() >= usize::from(*n) => {
            let (header, body) = rest.split_at(usize::from(*n));
            (Some(String::from_utf8_lossy(header).into_owned()), body)
        }
        _ => (None, rest),
    };
    let error = GraphError::from_answer(status, header.as_deref(), body);
    let _ = error.advice(false);
    let _ = error.advice(true);
    let failure = GraphFailure::Answer(error);
    let _ = failure.to_string();
    let _ = failure.explain(false);
    let _ = failure.explain(true);
    let _ = failure.is_not_found();
});
