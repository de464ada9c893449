//! The token endpoints' client authentication by assertion: certificate-signed client assertions
//! and federated (external) tokens, checked as Entra checks them (reference §4, §6).
//!
//! The facts it follows (Microsoft identity platform docs: "Microsoft identity platform application
//! authentication certificate credentials", "Workload identity federation", "Microsoft Entra
//! authentication and authorization error codes", learn.microsoft.com; behaviour seen in MSAL's
//! issue trackers where the docs are silent):
//! - Instead of `client_secret` the form carries `client_assertion_type =
//!   urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and `client_assertion` (a JWT), on v1
//!   and v2 alike. Neither secret nor assertion: AADSTS7000216.
//! - Certificate assertion: header `alg` PS256 (RSASSA-PSS, SHA-256) with `x5t#S256`, the base64url
//!   SHA-256 of the registered certificate's DER, or the older RS256 (PKCS#1 v1.5) with `x5t`, its
//!   SHA-1. The thumbprint picks the registered certificate; none registered with it, a signature
//!   that does not verify, or an algorithm paired with the other thumbprint (RS256 with `x5t#S256`
//!   is reported to fail so) is AADSTS700027; an expired registered key too ("The key used is
//!   expired"). Claims: `aud` exactly the token URL the client called (tenant segment as sent;
//!   otherwise AADSTS700023, "audience claim does not match"), `iss` = `sub` = the client id
//!   (otherwise AADSTS700021), `nbf`…`exp` around now, at most 10 minutes long (otherwise
//!   AADSTS700024, "not within its valid time range"), and a fresh `jti`: Entra refuses a replayed
//!   assertion, which the reference files under AADSTS700024 as well.
//! - Federated token: Entra finds the app's federated identity credentials (FICs) by the token's
//!   `iss` (none: AADSTS700211), verifies the RS256 signature with the issuer's published keys,
//!   checks the time window (AADSTS700024), then `sub` (AADSTS700213) and `aud` (AADSTS700212) —
//!   each compared exactly and case-sensitively. An app with no FIC at all: AADSTS70021. A token
//!   Entra itself issued cannot be the external token: AADSTS700229.
//! - Every one of these answers is `invalid_client`, HTTP 401, so a client treats them as a
//!   rejected credential.
//!
//! The sandbox's own choices where Microsoft documents nothing: 5 minutes of clock skew on `nbf` and
//! `exp` (the default of Microsoft's token-validation libraries); a malformed assertion is
//! AADSTS50027 ("invalid JWT"); a secret *and* an assertion in one request is refused as
//! `invalid_client` (Entra's code for it is undocumented); the replay cache holds
//! [`REPLAY_CAPACITY`] `jti`s, each only until its assertion expires; and the sandbox can verify
//! federated tokens of its own issuer only (`{base}/_github`), since it fetches nothing from the
//! network.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey,
};
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::aadsts::AadError;
use super::oidc::GithubIssuer;
use super::scenario::{FederatedCredential, SANDBOX_ISSUER, ScenarioApp};
use super::server::same_secret;

/// `client_assertion_type` for a JWT assertion (RFC 7523).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew allowed on `nbf` and `exp`, in seconds.
const SKEW: i64 = 300;
/// The longest certificate assertion accepted, `exp − nbf`, in seconds (reference §6: ≤ 10 min).
const MAX_ASSERTION_LIFETIME: i64 = 600;
/// A JWT longer than this is not an assertion (certificate ones are ~1 KiB, GitHub's ~1.5 KiB).
const MAX_ASSERTION_LEN: usize = 16 * 1024;
/// How many `jti`s the replay cache remembers at most.
pub(crate) const REPLAY_CAPACITY: usize = 100_000;

/// A certificate registered on the app, reduced to what assertion checks need.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredKey {
    sha1: Vec<u8>,
    sha256: Vec<u8>,
    /// The RSA public key, PKCS#1 DER (what aws-lc-rs verifies with).
    rsa_public: Vec<u8>,
    not_after: i64,
}

impl RegisteredKey {
    /// Reads the first `CERTIFICATE` block of `pem` (other blocks, a private key included, are
    /// skipped). Only RSA certificates can sign PS256/RS256 assertions.
    pub(crate) fn from_pem(pem: &str) -> Result<RegisteredKey, String> {
        let mut der = None;
        for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let block = block.map_err(|e| format!("not PEM: {e}"))?;
            if block.label == "CERTIFICATE" {
                der = Some(block.contents);
                break;
            }
        }
        let der = der.ok_or("no CERTIFICATE block in the PEM")?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let spki = cert.public_key();
        if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
            return Err(format!(
                "the certificate's key is not RSA ({}): Entra's PS256/RS256 assertions need an RSA key",
                spki.algorithm.algorithm
            ));
        }
        Ok(RegisteredKey {
            sha1: digest(&SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref().to_vec(),
            sha256: digest(&SHA256, &der).as_ref().to_vec(),
            rsa_public: spki.subject_public_key.data.to_vec(),
            not_after: cert.validity().not_after.timestamp(),
        })
    }

    /// The SHA-1 thumbprint in hex, as the portal shows it.
    pub(crate) fn sha1_hex(&self) -> String {
        hex(&self.sha1)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Which kind of assertion authenticated the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Certificate,
    Federated,
}

/// How the client authenticated, for the token's `appidacr` (reference §3: 1 secret, 2 assertion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    Secret,
    Assertion(Kind),
}

/// The token URL as the client called it: the sandbox's scheme, the `Host` the client sent, the
/// tenant segment as sent. A certificate assertion's `aud` must be exactly this.
pub(crate) fn called_url(base_url: &str, headers: &HeaderMap, tenant: &str, v2: bool) -> String {
    let (scheme, own_host) = base_url.split_once("://").unwrap_or(("http", base_url));
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(own_host);
    let path = if v2 {
        "oauth2/v2.0/token"
    } else {
        "oauth2/token"
    };
    format!("{scheme}://{host}/{tenant}/{path}")
}

/// A form value, empty counting as absent (as Entra does).
fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    form.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// `jti`s seen, oldest first, each forgotten once its assertion expired (+ skew) or when
/// [`REPLAY_CAPACITY`] newer ones arrived: memory stays bounded whatever a client sends.
#[derive(Debug, Default)]
struct ReplayCache {
    seen: HashSet<String>,
    order: VecDeque<(i64, String)>,
}

impl ReplayCache {
    /// Records `jti` (remembered until `until`); `false` when it is already remembered.
    fn first_use(&mut self, jti: &str, until: i64, now: i64) -> bool {
        // Entries arrive roughly in expiry order (assertions live at most ~10 min), so expired
        // ones gather at the front.
        while let Some((exp, _)) = self.order.front() {
            if *exp >= now && self.order.len() < REPLAY_CAPACITY {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if !self.seen.insert(jti.to_owned()) {
            return false;
        }
        self.order.push_back((until, jti.to_owned()));
        true
    }
}

/// The app's registered assertion credentials and what checking them needs.
#[derive(Debug)]
pub(crate) struct Verifier {
    client_id: String,
    keys: Vec<RegisteredKey>,
    fics: Vec<FederatedCredential>,
    issuer: Option<Arc<GithubIssuer>>,
    replay: Mutex<ReplayCache>,
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    x5t: Option<String>,
    #[serde(rename = "x5t#S256")]
    x5t_s256: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Audience,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    jti: Option<String>,
}

/// `aud`: one string or a list.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

impl Audience {
    fn values(&self) -> Vec<&str> {
        match self {
            Audience::One(a) => vec![a.as_str()],
            Audience::Many(list) => list.iter().map(String::as_str).collect(),
            Audience::None => Vec::new(),
        }
    }
}

/// A decoded compact JWT: what its signature covers, the signature, header and claims.
struct Jwt<'a> {
    input: &'a str,
    signature: Vec<u8>,
    header: Header,
    claims: Claims,
}

fn decode(jwt: &str) -> Option<Jwt<'_>> {
    if jwt.len() > MAX_ASSERTION_LEN {
        return None;
    }
    let (input, signature) = jwt.rsplit_once('.')?;
    let (header, claims) = input.split_once('.')?;
    let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    Some(Jwt {
        input,
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
        header,
        claims,
    })
}

/// Seconds since the epoch, whole (JWT times may be written with a fraction).
fn seconds(t: f64) -> i64 {
    t as i64
}

fn invalid_client(code: u32, message: String) -> AadError {
    AadError::new("invalid_client", code, message)
}

fn malformed(why: &str) -> AadError {
    invalid_client(
        50027,
        format!("JWT token is invalid or malformed. [Reason - {why}]"),
    )
}

fn key_not_found(client_id: &str, thumbprint: &str) -> AadError {
    invalid_client(
        700027,
        format!(
            "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
        ),
    )
}

fn bad_signature(reason: &str) -> AadError {
    invalid_client(
        700027,
        format!("Client assertion failed signature validation. [Reason - {reason}]"),
    )
}

fn out_of_time(detail: &str) -> AadError {
    invalid_client(
        700024,
        format!("Client assertion is not within its valid time range. {detail}"),
    )
}

impl Verifier {
    /// The app's certificates and federated credentials (`issuer: sandbox` resolved to `issuer`).
    /// The scenario was checked, so every certificate parses; one that does not is skipped.
    pub(crate) fn new(app: &ScenarioApp, issuer: Option<Arc<GithubIssuer>>) -> Verifier {
        let keys = app
            .certificates
            .iter()
            .filter_map(|c| c.pem.as_deref())
            .filter_map(|pem| RegisteredKey::from_pem(pem).ok())
            .collect();
        let fics = app
            .federated_credentials
            .iter()
            .map(|fic| {
                let mut fic = fic.clone();
                if fic.issuer == SANDBOX_ISSUER
                    && let Some(issuer) = &issuer
                {
                    fic.issuer = issuer.url().to_owned();
                }
                fic
            })
            .collect();
        Verifier {
            client_id: app.client_id.clone(),
            keys,
            fics,
            issuer,
            replay: Mutex::new(ReplayCache::default()),
        }
    }

    /// What Graph shows of these on the application (reference §8): `keyCredentials` (the
    /// SHA-1 thumbprint as base64 `customKeyIdentifier`, as Graph's JSON has it) and the
    /// `federatedIdentityCredentials` list, so Graph and sign-in describe one registration.
    pub(crate) fn graph_view(&self) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
        use base64::engine::general_purpose::STANDARD;
        let keys = self
            .keys
            .iter()
            .map(|key| {
                serde_json::json!({
                    "customKeyIdentifier": STANDARD.encode(&key.sha1),
                    "displayName": format!("sandbox certificate {}", key.sha1_hex()),
                    "type": "AsymmetricX509Cert",
                    "usage": "Verify",
                    "endDateTime": chrono::DateTime::from_timestamp(key.not_after, 0)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                })
            })
            .collect();
        let fics = self
            .fics
            .iter()
            .map(|fic| {
                serde_json::json!({
                    "name": fic.name,
                    "issuer": fic.issuer,
                    "subject": fic.subject,
                    "audiences": fic.audiences,
                })
            })
            .collect();
        (keys, fics)
    }

    /// The sandbox issuer's URL, when the scenario plays GitHub.
    pub(crate) fn issuer_url(&self) -> Option<&str> {
        self.issuer.as_deref().map(GithubIssuer::url)
    }

    /// Client authentication: exactly one of `client_secret` (compared with `secret`) or a client
    /// assertion of type [`JWT_BEARER`] (reference §6).
    pub(crate) fn authenticate(
        &self,
        form: &HashMap<String, String>,
        secret: &SecretString,
        token_url: &str,
        now: i64,
    ) -> Result<Credential, AadError> {
        match (field(form, "client_secret"), field(form, "client_assertion")) {
            (None, None) => Err(AadError::credential_missing()),
            (Some(_), Some(_)) => Err(invalid_client(
                7000216,
                "Only one of 'client_assertion' or 'client_secret' may be presented for the 'client_credentials' grant type.".to_owned(),
            )),
            (Some(sent), None) => {
                if same_secret(sent.as_bytes(), secret.expose_secret().as_bytes()) {
                    Ok(Credential::Secret)
                } else {
                    Err(AadError::wrong_secret(&self.client_id))
                }
            }
            (None, Some(jwt)) => match field(form, "client_assertion_type") {
                Some(JWT_BEARER) => self.check(jwt, token_url, now).map(Credential::Assertion),
                Some(_) => Err(AadError::new(
                    "invalid_request",
                    900144,
                    format!("The request body must contain the following parameter: 'client_assertion_type' with the value '{JWT_BEARER}'."),
                )),
                None => Err(AadError::missing_parameter("client_assertion_type")),
            },
        }
    }

    /// Checks one `client_assertion` sent to `token_url` (the URL as the client called it) at
    /// `now`. The assertion is never logged or echoed: only claims that identify, never sign.
    pub(crate) fn check(
        &self,
        assertion: &str,
        token_url: &str,
        now: i64,
    ) -> Result<Kind, AadError> {
        let jwt = decode(assertion)
            .ok_or_else(|| malformed("not a compact JWS with JSON header and claims"))?;
        // A certificate assertion is issued by the app itself (one without `iss` is taken for a
        // broken one); anything else is an external token.
        match jwt.claims.iss.as_deref() {
            Some(iss) if !iss.eq_ignore_ascii_case(&self.client_id) => {
                self.check_federated(&jwt, iss, now)?;
                Ok(Kind::Federated)
            }
            _ => {
                self.check_certificate(&jwt, token_url, now)?;
                Ok(Kind::Certificate)
            }
        }
    }

    fn check_certificate(&self, jwt: &Jwt<'_>, token_url: &str, now: i64) -> Result<(), AadError> {
        let h = &jwt.header;
        let (thumbprint, by_sha256, params): (
            &str,
            bool,
            &'static aws_lc_rs::signature::RsaParameters,
        ) = match (h.alg.as_deref(), &h.x5t_s256, &h.x5t) {
            (Some("PS256"), Some(t), _) => (t, true, &RSA_PSS_2048_8192_SHA256),
            (Some("RS256"), _, Some(t)) => (t, false, &RSA_PKCS1_2048_8192_SHA256),
            (Some("PS256"), None, Some(_)) => {
                return Err(bad_signature(
                    "PS256 needs the x5t#S256 thumbprint; x5t goes with RS256",
                ));
            }
            (Some("RS256"), Some(_), None) => {
                return Err(bad_signature(
                    "RS256 needs the x5t thumbprint; x5t#S256 goes with PS256",
                ));
            }
            (Some("PS256" | "RS256"), None, None) => {
                return Err(bad_signature(
                    "The key was not found: the header names no x5t#S256 or x5t thumbprint.",
                ));
            }
            (alg, _, _) => {
                return Err(bad_signature(&format!(
                    "'{}' is not a supported algorithm (PS256 or RS256)",
                    alg.unwrap_or("none")
                )));
            }
        };
        let digest = URL_SAFE_NO_PAD.decode(thumbprint).unwrap_or_default();
        let key = self
            .keys
            .iter()
            .find(|k| {
                if by_sha256 {
                    k.sha256 == digest
                } else {
                    k.sha1 == digest
                }
            })
            .ok_or_else(|| key_not_found(&self.client_id, &hex(&digest)))?;
        if key.not_after < now {
            return Err(bad_signature("The key used is expired."));
        }
        UnparsedPublicKey::new(params, &key.rsa_public)
            .verify(jwt.input.as_bytes(), &jwt.signature)
            .map_err(|_| bad_signature("The signature does not verify with the registered key."))?;

        let c = &jwt.claims;
        let is_client = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case(&self.client_id))
        };
        if !is_client(&c.iss) || !is_client(&c.sub) {
            return Err(invalid_client(
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.".to_owned(),
            ));
        }
        if c.aud.values() != [token_url] {
            return Err(invalid_client(
                700023,
                format!(
                    "Client assertion audience claim does not match Realm issuer. [Reason - the audience must be exactly the token endpoint called, '{token_url}'.]"
                ),
            ));
        }
        let exp = c
            .exp
            .map(seconds)
            .ok_or_else(|| out_of_time("It has no exp."))?;
        let nbf = c
            .nbf
            .or(c.iat)
            .map(seconds)
            .ok_or_else(|| out_of_time("It has no nbf."))?;
        check_window(nbf, exp, now)?;
        if exp - nbf > MAX_ASSERTION_LIFETIME {
            return Err(out_of_time(&format!(
                "It is valid for {} s; at most {MAX_ASSERTION_LIFETIME} s is accepted.",
                exp - nbf
            )));
        }
        let jti = c
            .jti
            .as_deref()
            .filter(|j| !j.is_empty())
            .ok_or_else(|| malformed("no jti claim"))?;
        let mut replay = self.replay.lock().unwrap_or_else(|p| p.into_inner());
        if !replay.first_use(jti, exp + SKEW, now) {
            return Err(out_of_time(
                "The assertion was already used (its jti was seen before): build a new one per request.",
            ));
        }
        Ok(())
    }

    fn check_federated(&self, jwt: &Jwt<'_>, iss: &str, now: i64) -> Result<(), AadError> {
        if is_entra_issuer(iss) {
            return Err(invalid_client(
                700229,
                format!(
                    "Tokens issued by Microsoft Entra ID ('{iss}') cannot be used as a federated identity credential assertion."
                ),
            ));
        }
        let c = &jwt.claims;
        let sub = c.sub.as_deref().unwrap_or_default();
        let aud = c.aud.values();
        if self.fics.is_empty() {
            return Err(invalid_client(
                70021,
                format!(
                    "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{}'.",
                    aud.join(",")
                ),
            ));
        }
        let by_issuer: Vec<&FederatedCredential> =
            self.fics.iter().filter(|f| f.issuer == iss).collect();
        if by_issuer.is_empty() {
            return Err(invalid_client(
                700211,
                format!(
                    "No matching federated identity record found for presented assertion issuer '{iss}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion."
                ),
            ));
        }
        let ours = self.issuer.as_ref().filter(|i| i.url() == iss);
        let Some(issuer) = ours else {
            return Err(bad_signature(&format!(
                "the sandbox cannot fetch keys for issuer '{iss}': it verifies tokens of its own issuer only"
            )));
        };
        if jwt.header.alg.as_deref() != Some("RS256") {
            return Err(bad_signature("external tokens must be RS256-signed"));
        }
        if !issuer.verifies(
            jwt.header.kid.as_deref(),
            jwt.input.as_bytes(),
            &jwt.signature,
        ) {
            return Err(bad_signature(
                "The signature does not verify with the issuer's keys.",
            ));
        }
        let exp = c
            .exp
            .map(seconds)
            .ok_or_else(|| out_of_time("It has no exp."))?;
        let nbf = c.nbf.or(c.iat).map(seconds).unwrap_or(i64::MIN);
        check_window(nbf, exp, now)?;
        let by_subject: Vec<&&FederatedCredential> =
            by_issuer.iter().filter(|f| f.subject == sub).collect();
        if by_subject.is_empty() {
            return Err(invalid_client(
                700213,
                format!(
                    "No matching federated identity record found for presented assertion subject '{sub}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion."
                ),
            ));
        }
        if !by_subject
            .iter()
            .any(|f| f.audiences.iter().any(|a| aud.contains(&a.as_str())))
        {
            return Err(invalid_client(
                700212,
                format!(
                    "No matching federated identity record found for presented assertion audience '{}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
                    aud.join(",")
                ),
            ));
        }
        Ok(())
    }
}

/// `nbf` ≤ now ≤ `exp`, each with [`SKEW`].
fn check_window(nbf: i64, exp: i64, now: i64) -> Result<(), AadError> {
    let at = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0).map_or_else(
            || t.to_string(),
            |d| d.format("%Y-%m-%d %H:%M:%SZ").to_string(),
        )
    };
    if exp.saturating_add(SKEW) < now {
        return Err(out_of_time(&format!(
            "Current time: {}, expiry time of assertion {}.",
            at(now),
            at(exp)
        )));
    }
    if nbf.saturating_sub(SKEW) > now {
        return Err(out_of_time(&format!(
            "Current time: {}, assertion valid from {}.",
            at(now),
            at(nbf)
        )));
    }
    Ok(())
}

/// Issuers of Entra's own tokens (reference §3): v1 `sts.windows.net`, v2 `login.microsoftonline.com`
/// and the national clouds' hosts.
fn is_entra_issuer(iss: &str) -> bool {
    let Ok(url) = url::Url::parse(iss) else {
        return false;
    };
    matches!(
        url.host_str().map(str::to_ascii_lowercase).as_deref(),
        Some(
            "sts.windows.net"
                | "login.microsoftonline.com"
                | "login.windows.net"
                | "login.microsoft.com"
                | "login.microsoftonline.us"
                | "sts.chinacloudapi.cn"
                | "login.partner.microsoftonline.cn"
                | "login.chinacloudapi.cn"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_cache_forgets_expired_jtis_and_stays_bounded() {
        let mut cache = ReplayCache::default();
        assert!(cache.first_use("a", 100, 0));
        assert!(!cache.first_use("a", 100, 50));
        // After expiry the jti is forgotten (the time check refuses such an assertion anyway).
        assert!(cache.first_use("b", 300, 150));
        assert!(!cache.seen.contains("a"));
        for i in 0..REPLAY_CAPACITY + 10 {
            cache.first_use(&i.to_string(), 10_000, 200);
        }
        assert!(cache.seen.len() <= REPLAY_CAPACITY);
        assert!(cache.order.len() <= REPLAY_CAPACITY);
        assert!(!cache.first_use(&(REPLAY_CAPACITY + 9).to_string(), 10_000, 200));
    }

    #[test]
    fn entra_issuers_are_recognised() {
        assert!(is_entra_issuer(
            "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
        ));
        assert!(is_entra_issuer("https://login.microsoftonline.com/x/v2.0"));
        assert!(!is_entra_issuer(
            "https://token.actions.githubusercontent.com"
        ));
        assert!(!is_entra_issuer("not a url"));
    }

    #[test]
    fn window_allows_skew_only() {
        assert!(check_window(1000, 1300, 1100).is_ok());
        assert!(check_window(1000, 1300, 1300 + SKEW).is_ok());
        assert_eq!(
            check_window(1000, 1300, 1301 + SKEW).unwrap_err().code,
            700024
        );
        assert_eq!(
            check_window(2000 + SKEW, 2300, 1999).unwrap_err().code,
            700024
        );
    }

    #[test]
    fn an_expired_federated_token_is_700024_even_when_everything_else_matches() {
        use crate::sandbox::scenario::{FederatedCredential, GithubActions, ScenarioApp};
        use secrecy::SecretString;
        let issuer = Arc::new(
            GithubIssuer::generate(
                GithubActions::new("contoso/soc"),
                "http://127.0.0.1:9",
                SecretString::from("t"),
            )
            .unwrap(),
        );
        let app = ScenarioApp {
            client_id: "6731de76-14a6-49ae-97bc-6eba6914391e".to_owned(),
            name: None,
            secret_env: None,
            certificates: Vec::new(),
            federated_credentials: vec![FederatedCredential::sandbox_github(
                "main",
                "repo:contoso/soc:ref:refs/heads/main",
            )],
        };
        let verifier = Verifier::new(&app, Some(Arc::clone(&issuer)));
        let now = 1_800_000_000;
        let fresh = issuer
            .sign(&issuer.claims("api://AzureADTokenExchange", now))
            .unwrap();
        assert_eq!(
            verifier.check(&fresh, "unused", now).unwrap(),
            Kind::Federated
        );
        // GitHub's tokens live 5 minutes; with the skew, 10 minutes later it is stale.
        let stale = now + oidc_lifetime() + SKEW + 1;
        assert_eq!(
            verifier.check(&fresh, "unused", stale).unwrap_err().code,
            700024
        );
        // Tampered claims fail the signature before anything else.
        let (head, rest) = fresh.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let mut claims = issuer.claims("api://AzureADTokenExchange", now);
        claims["sub"] = serde_json::json!("repo:contoso/soc:ref:refs/heads/evil");
        let forged = format!(
            "{head}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        assert_eq!(
            verifier.check(&forged, "unused", now).unwrap_err().code,
            700027
        );
    }

    fn oidc_lifetime() -> i64 {
        super::super::oidc::TOKEN_LIFETIME
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bad in ["", "a.b", "a.b.c", "..", &"x".repeat(MAX_ASSERTION_LEN + 1)] {
            assert!(decode(bad).is_none(), "{bad:.20}");
        }
    }
}
