//! Fuzzes `consentry decode` and what `verify` reads from a token: [`consentry::jwt::decode`], the
//! claim accessors, [`consentry::jwt::check`] and both renderings. A hostile server signs nothing
//! consentry checks, so every claim is attacker-chosen.
//! Input: when it starts with `{`, it is the payload's JSON, wrapped here into a token (so the
//! fuzzer spends its time on claims, not on base64); otherwise it is the token text as pasted.
//! No rendering may carry a raw control character (`sanitize::is_unsafe`) other than `\n`, `\t`.
#![no_main]

use chrono::{TimeZone as _, Utc};
use libfuzzer_sys::fuzz_target;

use consentry::jwt::{self, Expected};

/// base64url without padding, as JWTs are written.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Whether `text` holds a character a terminal would obey (C0/C1 controls, DEL, bidi overrides)
/// other than a line break or tab: every human rendering and JSON report promises none.
fn raw_control(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| consentry::sanitize::is_unsafe(c) && c != '\n' && c != '\t')
}

fuzz_target!(|data: &[u8]| {
    let token = if data.first() == Some(&b'{') {
        format!(
            "{}.{}.c2ln",
            b64url(br#"{"alg":"RS256","typ":"JWT","kid":"k"}"#),
            b64url(data)
        )
    } else {
        String::from_utf8_lossy(data).into_owned()
    };
    let Ok(decoded) = jwt::decode(&token) else {
        return;
    };
    let now = Utc.timestamp_opt(1_767_225_600, 0).unwrap();
    let _ = decoded.roles();
    let _ = decoded.has_roles_claim();
    let _ = decoded.tid();
    let _ = decoded.aud();
    let _ = decoded.client_id();
    let _ = decoded.is_expired(now);
    let _ = decoded.warnings(now);
    for claim in ["exp", "nbf", "iat", "auth_time"] {
        let _ = decoded.time_claim(claim);
    }
    let expected = Expected {
        tenant_id: Some(uuid::Uuid::from_u128(
            0x7c1f_52a4_0d3e_4b8f_9a61_2e0b_d5c3_1a47,
        )),
        resource: "https://api.securitycenter.microsoft.com",
        resource_app_id: Some("fc780465-2017-40d4-a0c5-307022471b92"),
        client_id: uuid::Uuid::from_u128(0x6731_de76_14a6_49ae_97bc_6eba_6914_391e),
    };
    let _ = jwt::check(&decoded, &expected, now);
    for shown in [
        jwt::render_human(&decoded, now),
        jwt::render_json(&decoded, now),
    ] {
        if let Some(c) = raw_control(&shown) {
            panic!("decode shows a raw {:?}", c);
        }
    }
});
