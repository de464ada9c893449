//! Reading access tokens (reference §3): decode the JWT without checking its signature, check the
//! claims `verify` relies on, and render `consentry decode`.
//!
//! Tokens for Microsoft's own APIs are not meant to be validated by clients, so consentry decodes to
//! describe and never says "verified". A token is evidence only for the tenant, resource and app it
//! names; [`check`] says which claim disagrees, never echoing the token itself.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone as _, Utc};
use serde::Serialize;
use serde_json::Value;

/// Why a string could not be decoded as a JWT. Messages never quote the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Nothing was given.
    #[error("no token given (empty input)")]
    Empty,
    /// Five segments: an encrypted token, which only its audience can read.
    #[error(
        "this is an encrypted token (JWE, 5 segments): only the API it is meant for can read it"
    )]
    Encrypted,
    /// Not three dot-separated segments.
    #[error("not a JWT: expected 3 dot-separated segments (header.payload.signature), found {0}")]
    Segments(usize),
    /// A segment is not base64url.
    #[error("not a JWT: the {0} is not base64url")]
    Base64(&'static str),
    /// A segment is not a JSON object.
    #[error("not a JWT: the {0} is not a JSON object")]
    Json(&'static str),
}

/// A decoded token: header and claims exactly as they were, for rendering and checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The JOSE header (`alg`, `typ`, `kid`, `x5t`, ...).
    pub header: BTreeMap<String, Value>,
    /// The payload's claims.
    pub claims: BTreeMap<String, Value>,
}

/// Decodes a JWT's header and payload without checking its signature. Accepts a leading
/// `Bearer ` and surrounding whitespace, as people paste them.
pub fn decode(token: &str) -> Result<Decoded, JwtError> {
    let token = token.trim();
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim();
    if token.is_empty() {
        return Err(JwtError::Empty);
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err(JwtError::Encrypted),
        n => return Err(JwtError::Segments(n)),
    }
    Ok(Decoded {
        header: segment(parts[0], "header")?,
        claims: segment(parts[1], "payload")?,
    })
}

fn segment(text: &str, name: &'static str) -> Result<BTreeMap<String, Value>, JwtError> {
    // Some encoders pad; base64url in JWTs is defined without it.
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| JwtError::Base64(name))?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Json(name))
}

impl Decoded {
    /// A string claim.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A time claim (`exp`, `nbf`, `iat`) as seconds since the epoch. Accepts numbers and numeric
    /// strings.
    pub fn time_claim(&self, name: &str) -> Option<i64> {
        match self.claims.get(name)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The tenant the token is for (`tid`).
    pub fn tid(&self) -> Option<&str> {
        self.str_claim("tid")
    }

    /// The audience (`aud`). An array audience yields its first element.
    pub fn aud(&self) -> Option<&str> {
        match self.claims.get("aud")? {
            Value::String(s) => Some(s),
            Value::Array(items) => items.first().and_then(Value::as_str),
            _ => None,
        }
    }

    /// Every audience (`aud` is a string or an array of them); the strings only.
    pub fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The client the token was issued to: `appid` (v1 tokens) or `azp` (v2 tokens).
    pub fn client_id(&self) -> Option<&str> {
        self.str_claim("appid").or_else(|| self.str_claim("azp"))
    }

    /// The application roles, sorted and unique. An absent `roles` claim means none were granted.
    pub fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = match self.claims.get("roles") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        roles.sort();
        roles.dedup();
        roles
    }

    /// Whether the token carries a `roles` claim at all (`null` counts as absent).
    pub fn has_roles_claim(&self) -> bool {
        self.claims.get("roles").is_some_and(|v| !v.is_null())
    }

    /// Whether the token is expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.time_claim("exp")
            .is_some_and(|exp| exp <= now.timestamp())
    }

    /// Things a reader should notice, in a fixed order.
    pub fn warnings(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut warnings = Vec::new();
        match self.time_claim("exp") {
            Some(exp) if exp <= now.timestamp() => warnings.push(format!(
                "expired {} ago",
                human_duration(now.timestamp().saturating_sub(exp))
            )),
            None => warnings.push("no `exp` claim: the token does not say when it expires".into()),
            Some(_) => {}
        }
        if let Some(nbf) = self.time_claim("nbf")
            && nbf > now.timestamp()
        {
            warnings.push(format!(
                "not valid yet: `nbf` is {} from now",
                human_duration(nbf.saturating_sub(now.timestamp()))
            ));
        }
        if let (Some(iss), Some(tid)) = (self.str_claim("iss"), self.tid())
            && !iss.to_ascii_lowercase().contains(&tid.to_ascii_lowercase())
        {
            warnings.push(format!(
                "issuer and tenant disagree: `iss` is {iss} but `tid` is {tid}"
            ));
        }
        if self.claims.contains_key("scp") {
            warnings.push(
                "not an app-only token: it carries delegated scopes (`scp`), so it acts for a user"
                    .into(),
            );
        } else if let Some(idtyp) = self.str_claim("idtyp")
            && idtyp != "app"
        {
            warnings.push(format!("not an app-only token: `idtyp` is {idtyp}"));
        }
        if !self.has_roles_claim() && !self.claims.contains_key("scp") {
            warnings.push(
                "no `roles` claim: the app holds no application permission on this resource in this tenant"
                    .into(),
            );
        }
        if self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .is_some_and(|alg| alg.eq_ignore_ascii_case("none"))
        {
            warnings.push("unsigned token (`alg` is none)".into());
        }
        warnings
    }
}

/// What a token must say to be evidence for one tenant × API (reference §3).
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The tenant GUID, when the manifest gave one (for a domain, any `tid` is recorded instead).
    pub tenant_id: Option<uuid::Uuid>,
    /// The resource URI requested.
    pub resource: &'a str,
    /// The resource's app id, which v1 tokens may carry as `aud` instead.
    pub resource_app_id: Option<&'a str>,
    /// The app's client id.
    pub client_id: uuid::Uuid,
}

/// One claim that disagrees with what was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("claim `{claim}`: expected {expected}, got {got}")]
pub struct ClaimMismatch {
    /// The claim's name.
    pub claim: &'static str,
    /// What it should have said.
    pub expected: String,
    /// What it said (`none` when absent).
    pub got: String,
}

fn mismatch(claim: &'static str, expected: impl Into<String>, got: Option<&str>) -> ClaimMismatch {
    ClaimMismatch {
        claim,
        expected: expected.into(),
        got: got.unwrap_or("none").to_owned(),
    }
}

/// Whether a claim names the GUID `want` (any letter case; anything that is not a GUID does not).
fn same_guid(want: uuid::Uuid, claim: &str) -> bool {
    uuid::Uuid::parse_str(claim).is_ok_and(|got| got == want)
}

fn same_audience(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Whether `aud` and `resource` are two names of the same catalog API (its URI in a cloud, a
/// service principal name, its app id): Entra issues tokens for every service principal name of a
/// resource and sets `aud` to the name asked for, but a token for another name of the same API is
/// still a token for that API, with the same roles (see [`crate::catalog`]). Names of two
/// different APIs never agree.
fn same_api(aud: &str, resource: &str) -> bool {
    match (
        crate::catalog::resolve_resource(aud),
        crate::catalog::resolve_resource(resource),
    ) {
        (Some((a, _)), Some((b, _))) => a.alias == b.alias,
        _ => false,
    }
}

/// Checks `tid`, `aud`, `appid`/`azp` and `exp` against what was asked for. Every disagreement is
/// returned, in that order; an empty list means the token is evidence.
pub fn check(token: &Decoded, expected: &Expected<'_>, now: DateTime<Utc>) -> Vec<ClaimMismatch> {
    let mut problems = Vec::new();
    match (expected.tenant_id, token.tid()) {
        (Some(want), Some(got)) if same_guid(want, got) => {}
        (Some(want), got) => problems.push(mismatch("tid", want.to_string(), got)),
        (None, Some(_)) => {}
        (None, None) => problems.push(mismatch("tid", "a tenant id", None)),
    }
    let aud_ok = token.aud().is_some_and(|aud| {
        same_audience(aud, expected.resource)
            || expected
                .resource_app_id
                .is_some_and(|id| same_audience(aud, id))
            || same_api(aud, expected.resource)
    });
    if !aud_ok {
        let want = match expected.resource_app_id {
            Some(id) => format!("{} or {id}", expected.resource),
            None => expected.resource.to_owned(),
        };
        problems.push(mismatch("aud", want, token.aud()));
    }
    let client_ok = token
        .client_id()
        .is_some_and(|id| same_guid(expected.client_id, id));
    if !client_ok {
        let claim = if token.str_claim("appid").is_none() && token.str_claim("azp").is_some() {
            "azp"
        } else {
            "appid"
        };
        problems.push(mismatch(
            claim,
            expected.client_id.to_string(),
            token.client_id(),
        ));
    }
    if let Some(shape) = roles_shape_problem(token) {
        problems.push(ClaimMismatch {
            claim: "roles",
            expected: "an array of strings".to_owned(),
            got: shape,
        });
    }
    match token.time_claim("exp") {
        Some(exp) if exp > now.timestamp() => {}
        Some(exp) => problems.push(ClaimMismatch {
            claim: "exp",
            expected: format!("a time after {}", format_time(now.timestamp())),
            got: format!("{} (expired)", format_time(exp)),
        }),
        None => problems.push(mismatch("exp", "an expiry time", None)),
    }
    problems
}

/// What is wrong with the shape of `roles`, if anything. Entra sends an array of strings or no
/// claim (reference §3); anything else is not evidence of what was granted, so it must not be read
/// as "granted" (a string) or "nothing granted" (a number): the token is invalid. `null` counts as
/// absent. The value itself is never quoted: it may be huge or hostile.
fn roles_shape_problem(token: &Decoded) -> Option<String> {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    match token.claims.get("roles")? {
        Value::Null => None,
        Value::Array(items) => items
            .iter()
            .position(|v| !v.is_string())
            .map(|i| format!("an array whose entry {} is {}", i + 1, kind(&items[i]))),
        other => Some(kind(other).to_owned()),
    }
}

const TIME_CLAIMS: [&str; 4] = ["exp", "nbf", "iat", "auth_time"];

fn format_time(unix: i64) -> String {
    match Utc.timestamp_opt(unix, 0).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("{unix} (out of range)"),
    }
}

/// `3h 2m`, `59m 12s`, `12s`: coarse enough to read at a glance.
fn human_duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

fn relative(unix: i64, now: DateTime<Utc>, claim: &str) -> String {
    let delta = unix.saturating_sub(now.timestamp());
    match (claim, delta > 0) {
        ("exp", true) => format!("expires in {}", human_duration(delta)),
        ("exp", false) => format!("expired {} ago", human_duration(delta)),
        (_, true) => format!("in {}", human_duration(delta)),
        (_, false) => format!("{} ago", human_duration(delta)),
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

use crate::sanitize::one_line;

/// The human rendering of `consentry decode`: header, claims (times as dates), roles, warnings.
pub fn render_human(decoded: &Decoded, now: DateTime<Utc>) -> String {
    let mut out = String::from(
        "JWT, decoded (signature not checked: consentry describes tokens, it does not verify them)\n\nheader:\n",
    );
    for (key, value) in &decoded.header {
        out.push_str(&format!(
            "  {}: {}\n",
            one_line(key),
            one_line(&show(value))
        ));
    }
    out.push_str("\nclaims:\n");
    for (key, value) in &decoded.claims {
        if key == "roles" {
            continue;
        }
        let shown = match decoded.time_claim(key) {
            Some(unix) if TIME_CLAIMS.contains(&key.as_str()) => format!(
                "{unix} ({}, {})",
                format_time(unix),
                relative(unix, now, key)
            ),
            _ => show(value),
        };
        out.push_str(&format!("  {}: {}\n", one_line(key), one_line(&shown)));
    }
    let roles = decoded.roles();
    if decoded.has_roles_claim() {
        out.push_str(&format!("\nroles ({}):\n", roles.len()));
        for role in &roles {
            out.push_str(&format!("  {}\n", one_line(role)));
        }
    } else {
        out.push_str("\nroles: none (no `roles` claim)\n");
    }
    let warnings = decoded.warnings(now);
    if !warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for warning in warnings {
            out.push_str(&format!("  - {}\n", one_line(&warning)));
        }
    }
    // Claims are whatever the token's issuer wrote: nothing in them may reach the terminal raw.
    crate::sanitize::terminal(&out).into_owned()
}

#[derive(Serialize)]
struct TimeJson {
    unix: i64,
    utc: String,
    relative: String,
}

#[derive(Serialize)]
struct DecodedJson<'a> {
    signature: &'static str,
    header: &'a BTreeMap<String, Value>,
    claims: &'a BTreeMap<String, Value>,
    roles: Vec<String>,
    times: BTreeMap<&'static str, TimeJson>,
    expired: bool,
    warnings: Vec<String>,
}

/// The JSON rendering of `consentry decode --format json` (pretty-printed, keys sorted).
pub fn render_json(decoded: &Decoded, now: DateTime<Utc>) -> String {
    let times = TIME_CLAIMS
        .iter()
        .filter_map(|&claim| {
            decoded.time_claim(claim).map(|unix| {
                (
                    claim,
                    TimeJson {
                        unix,
                        utc: format_time(unix),
                        relative: relative(unix, now, claim),
                    },
                )
            })
        })
        .collect();
    let json = DecodedJson {
        signature: "not_checked",
        header: &decoded.header,
        claims: &decoded.claims,
        roles: decoded.roles(),
        times,
        expired: decoded.is_expired(now),
        warnings: decoded.warnings(now),
    };
    let mut text = crate::sanitize::to_json_pretty(&json).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn encode(header: &Value, claims: &Value) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    const TID: &str = "2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d";
    const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
    const RESOURCE: &str = "https://api.securitycenter.microsoft.com";
    const RESOURCE_APP: &str = "fc780465-2017-40d4-a0c5-307022471b92";

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_717_047_000, 0).unwrap()
    }

    fn v1_claims() -> Value {
        json!({"aud": RESOURCE, "iss": format!("https://sts.windows.net/{TID}/"),
            "iat": 1_717_046_428, "nbf": 1_717_046_428, "exp": 1_717_050_328, "appid": CLIENT,
            "appidacr": "1", "idtyp": "app", "roles": ["Machine.Read.All", "Alert.Read.All"],
            "tid": TID, "ver": "1.0"})
    }

    #[test]
    fn extreme_time_claims_render_without_overflow() {
        for exp in [
            json!(i64::MIN),
            json!(i64::MAX),
            json!(-1e300),
            json!(1e300),
        ] {
            let token = encode(
                &header(),
                &json!({"exp": exp, "nbf": exp, "iat": exp, "tid": TID}),
            );
            let decoded = decode(&token).unwrap();
            assert!(!render_human(&decoded, now()).is_empty());
            assert!(!render_json(&decoded, now()).is_empty());
            let _ = decoded.warnings(now());
        }
    }

    fn header() -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": "k1", "x5t": "k1"})
    }

    fn expected() -> Expected<'static> {
        Expected {
            tenant_id: uuid::Uuid::parse_str(TID).ok(),
            resource: RESOURCE,
            resource_app_id: Some(RESOURCE_APP),
            client_id: uuid::Uuid::parse_str(CLIENT).unwrap(),
        }
    }

    #[test]
    fn decodes_reference_token_and_reads_claims() {
        let d = decode(&format!("Bearer {}\n", encode(&header(), &v1_claims()))).unwrap();
        assert_eq!(d.tid(), Some(TID));
        assert_eq!(d.client_id(), Some(CLIENT));
        assert_eq!(d.roles(), ["Alert.Read.All", "Machine.Read.All"]);
        assert_eq!(d.time_claim("exp"), Some(1_717_050_328));
        assert!(check(&d, &expected(), now()).is_empty());
        assert!(d.warnings(now()).is_empty(), "{:?}", d.warnings(now()));
    }

    #[test]
    fn roles_that_are_not_an_array_of_strings_make_the_token_invalid() {
        let cases = [
            (json!("Machine.Read.All"), "a string"),
            (json!(42), "a number"),
            (json!({}), "an object"),
            (
                json!(["Machine.Read.All", null]),
                "an array whose entry 2 is null",
            ),
            (json!([["x"]]), "an array whose entry 1 is an array"),
            (json!(true), "a boolean"),
        ];
        for (roles, got) in cases {
            let mut claims = v1_claims();
            claims["roles"] = roles.clone();
            let d = decode(&encode(&header(), &claims)).unwrap();
            let problems = check(&d, &expected(), now());
            assert_eq!(
                problems,
                [ClaimMismatch {
                    claim: "roles",
                    expected: "an array of strings".into(),
                    got: got.into(),
                }],
                "{roles}"
            );
        }
        // Absent, null and empty are "nothing granted", not invalid.
        for roles in [None, Some(json!(null)), Some(json!([]))] {
            let mut claims = v1_claims();
            match roles {
                Some(r) => claims["roles"] = r,
                None => {
                    claims.as_object_mut().unwrap().remove("roles");
                }
            }
            let d = decode(&encode(&header(), &claims)).unwrap();
            assert!(check(&d, &expected(), now()).is_empty());
        }
    }

    #[test]
    fn garbage_is_a_clear_error_without_echoing_input() {
        assert_eq!(decode("  "), Err(JwtError::Empty));
        assert_eq!(decode("secret-garbage"), Err(JwtError::Segments(1)));
        assert_eq!(decode("a.b.c.d.e"), Err(JwtError::Encrypted));
        assert_eq!(decode("!!.e30.x"), Err(JwtError::Base64("header")));
        let not_json = format!("e30.{}.x", URL_SAFE_NO_PAD.encode("[1]"));
        assert_eq!(decode(&not_json), Err(JwtError::Json("payload")));
        let err = decode("secret-garbage.more").unwrap_err().to_string();
        assert!(!err.contains("secret-garbage"), "{err}");
    }

    #[test]
    fn absent_roles_means_none_and_v2_azp_is_the_client() {
        let mut claims = v1_claims();
        let obj = claims.as_object_mut().unwrap();
        obj.remove("roles");
        obj.remove("appid");
        obj.insert("azp".into(), json!(CLIENT));
        obj.insert("aud".into(), json!(format!("{RESOURCE_APP}/")));
        let d = decode(&encode(&header(), &claims)).unwrap();
        assert!(d.roles().is_empty());
        assert!(
            check(&d, &expected(), now()).is_empty(),
            "appid GUID aud with / is accepted"
        );
        assert!(d.warnings(now()).iter().any(|w| w.contains("no `roles`")));
    }

    #[test]
    fn each_lie_is_named_with_expected_and_got() {
        let cases = [
            ("tid", json!("00000000-0000-0000-0000-000000000001")),
            ("aud", json!("https://graph.microsoft.com")),
            ("appid", json!("00000000-0000-0000-0000-000000000002")),
            ("exp", json!(1_717_046_999)),
        ];
        for (claim, value) in cases {
            let mut claims = v1_claims();
            claims[claim] = value.clone();
            let d = decode(&encode(&header(), &claims)).unwrap();
            let problems = check(&d, &expected(), now());
            assert_eq!(problems.len(), 1, "{claim}: {problems:?}");
            assert_eq!(problems[0].claim, claim);
            let text = problems[0].to_string();
            assert!(
                text.starts_with(&format!("claim `{claim}`: expected ")),
                "{text}"
            );
            if claim != "exp" {
                assert!(
                    text.ends_with(&format!("got {}", value.as_str().unwrap())),
                    "{text}"
                );
            } else {
                assert!(text.contains("(expired)"), "{text}");
            }
        }
    }

    #[test]
    fn aud_may_be_any_name_of_the_requested_api_but_not_of_another() {
        let aliased = |aud: &str, requested: &str| {
            let mut claims = v1_claims();
            claims["aud"] = json!(aud);
            let d = decode(&encode(&header(), &claims)).unwrap();
            let expected = Expected {
                resource: requested,
                resource_app_id: None,
                ..expected()
            };
            check(&d, &expected, now())
        };
        for (aud, requested) in [
            // The how-to's Python sample and its curl sample, and the catalog URI, either way.
            ("https://api.securitycenter.windows.com", RESOURCE),
            (RESOURCE, "https://api.securitycenter.windows.com"),
            (
                "https://securitycenter.onmicrosoft.com/windowsatpservice",
                "https://api.securitycenter.windows.com/",
            ),
            (RESOURCE_APP, "https://api-eu.securitycenter.microsoft.com"),
        ] {
            assert!(aliased(aud, requested).is_empty(), "{aud} for {requested}");
        }
        for (aud, requested) in [
            // Defender XDR is another API; a URI outside the catalog only matches itself.
            ("https://api.security.microsoft.com", RESOURCE),
            (
                "https://api.securitycenter.windows.com",
                "api://9a8b7c6d-0000-0000-0000-000000000000",
            ),
        ] {
            let problems = aliased(aud, requested);
            assert_eq!(problems.len(), 1, "{aud} for {requested}");
            assert_eq!(problems[0].claim, "aud");
        }
    }

    #[test]
    fn domain_tenant_accepts_any_tid_but_not_none() {
        let d = decode(&encode(&header(), &v1_claims())).unwrap();
        let domain = Expected {
            tenant_id: None,
            ..expected()
        };
        assert!(check(&d, &domain, now()).is_empty());
        let mut claims = v1_claims();
        claims.as_object_mut().unwrap().remove("tid");
        let d = decode(&encode(&header(), &claims)).unwrap();
        assert_eq!(check(&d, &domain, now())[0].claim, "tid");
    }

    #[test]
    fn warnings_for_expired_foreign_issuer_and_delegated() {
        let mut claims = v1_claims();
        claims["exp"] = json!(1_717_046_000);
        claims["iss"] = json!("https://sts.windows.net/99999999-0000-0000-0000-000000000000/");
        claims["scp"] = json!("User.Read");
        let d = decode(&encode(&header(), &claims)).unwrap();
        let warnings = d.warnings(now());
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(warnings[0], "expired 16m 40s ago");
        assert!(warnings[1].starts_with("issuer and tenant disagree"));
        assert!(warnings[2].starts_with("not an app-only token"));
    }

    #[test]
    fn renders_human_and_json() {
        let d = decode(&encode(&header(), &v1_claims())).unwrap();
        let human = render_human(&d, now());
        assert!(human.contains("signature not checked"), "{human}");
        assert!(
            human.contains("  exp: 1717050328 (2024-05-30 06:25:28 UTC, expires in 55m 28s)\n"),
            "{human}"
        );
        assert!(human.contains("roles (2):\n  Alert.Read.All\n  Machine.Read.All\n"));
        assert!(!human.contains("verified "));
        let json: Value = serde_json::from_str(&render_json(&d, now())).unwrap();
        assert_eq!(json["signature"], "not_checked");
        assert_eq!(json["expired"], false);
        assert_eq!(json["roles"], json!(["Alert.Read.All", "Machine.Read.All"]));
        assert_eq!(json["times"]["exp"]["relative"], "expires in 55m 28s");
        assert_eq!(json["claims"]["tid"], TID);
    }

    #[test]
    fn hostile_claims_reach_neither_rendering_raw() {
        const NASTY: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{7f}\u{9b}\u{202e}";
        let mut claims = v1_claims();
        claims["roles"] = json!([format!("Role{NASTY}")]);
        claims["iss"] = json!(format!("https://sts.windows.net/{NASTY}/"));
        claims[format!("key{NASTY}")] = json!(format!("value{NASTY}\nsecond line"));
        let d = decode(&encode(&header(), &claims)).unwrap();
        let human = render_human(&d, now());
        let raw: Vec<char> = human
            .chars()
            .filter(|&c| c != '\n' && crate::sanitize::is_unsafe(c))
            .collect();
        assert!(raw.is_empty(), "{raw:?} in\n{human}");
        assert!(human.contains(r"Role\u{1b}]0;pwned\u{7}"), "{human}");
        assert!(human.contains(r"value\u{1b}"), "{human}");
        let text = render_json(&d, now());
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && crate::sanitize::is_unsafe(c))
        );
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["roles"], json!([format!("Role{NASTY}")]));
    }
}
