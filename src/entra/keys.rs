//! Optional signature checks of access tokens against the authority's published keys
//! (`--verify-signature`).
//!
//! Reference §3: tokens for Microsoft's own APIs are not meant to be validated by clients, but the
//! authority publishes its signing keys: the OpenID discovery document
//! (`{authority}/common/.well-known/openid-configuration`) names `jwks_uri`
//! (`{authority}/common/discovery/keys` for v1 tokens), whose keys are matched to a token by `kid`
//! (v1 headers also carry `x5t`). Tokens for Microsoft Graph carry a `nonce` header: Graph
//! rewrites the signed input, so they fail verification by design (Microsoft: "Access tokens in
//! the Microsoft identity platform", and the Graph team's note that Graph tokens are not for the
//! client to validate). Such a token is "not verifiable", never "invalid". An unsigned token
//! (`alg: none`) or a signature that does not verify is invalid.
//!
//! The keys are fetched once per run through the shared, bounded HTTP plumbing.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use crate::http::{self, RetryPolicy};

/// What a signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The signature verifies against a published key.
    Verified,
    /// The token cannot be verified by design (a `nonce` header); why.
    NotVerifiable(String),
    /// The token is not signed by the authority; why (never the token).
    Invalid(String),
}

/// One published RSA key.
#[derive(Debug, Clone)]
struct Key {
    kid: Option<String>,
    x5t: Option<String>,
    n: Vec<u8>,
    e: Vec<u8>,
}

/// The authority's signing keys, fetched on first use and kept for the run.
#[derive(Debug)]
pub struct KeySet {
    http: reqwest::Client,
    authority: Url,
    policy: RetryPolicy,
    keys: OnceCell<Result<Vec<Key>, String>>,
}

impl KeySet {
    /// Keys of `authority`, fetched with `http` (see [`crate::http::client`]).
    pub fn new(http: reqwest::Client, authority: Url, policy: RetryPolicy) -> Self {
        KeySet {
            http,
            authority,
            policy,
            keys: OnceCell::new(),
        }
    }

    async fn get_json(&self, url: Url) -> Result<Value, String> {
        let response = self
            .http
            .get(url.clone())
            .timeout(self.policy.timeout)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("cannot fetch {url}: {}", http::root_cause(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{url} answered HTTP {}", status.as_u16()));
        }
        let body = http::read_body(response, http::MAX_BODY)
            .await
            .map_err(|e| match e {
                http::BodyError::TooLarge { .. } => format!("{url}: response too large"),
                http::BodyError::Transport(e) => format!("{url}: {}", http::root_cause(&e)),
            })?;
        serde_json::from_slice(&body).map_err(|_| format!("{url} did not answer JSON"))
    }

    async fn fetch(&self) -> Result<Vec<Key>, String> {
        let mut discovery = self.authority.clone();
        if let Ok(mut segments) = discovery.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["common", ".well-known", "openid-configuration"]);
        }
        let document = self.get_json(discovery).await?;
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or("the discovery document names no jwks_uri")?;
        let jwks_uri = Url::parse(jwks_uri).map_err(|_| "jwks_uri is not a URL".to_owned())?;
        // Keys come from the authority that issued the token, never from a host a discovery
        // document points elsewhere.
        if jwks_uri.origin() != self.authority.origin() {
            return Err(format!(
                "jwks_uri {jwks_uri} is not on the authority {}",
                self.authority
            ));
        }
        let set = self.get_json(jwks_uri).await?;
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the key set has no keys")?;
        let text = |k: &Value, name: &str| k.get(name).and_then(Value::as_str).map(str::to_owned);
        let bytes = |k: &Value, name: &str| {
            k.get(name)
                .and_then(Value::as_str)
                .and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
        };
        Ok(keys
            .iter()
            .filter(|k| text(k, "kty").as_deref() == Some("RSA"))
            .filter_map(|k| {
                Some(Key {
                    kid: text(k, "kid"),
                    x5t: text(k, "x5t"),
                    n: bytes(k, "n")?,
                    e: bytes(k, "e")?,
                })
            })
            .collect())
    }

    /// Checks `token`'s signature; `header` is its decoded JOSE header.
    pub async fn check(&self, token: &str, header: &BTreeMap<String, Value>) -> SignatureCheck {
        if header.contains_key("nonce") {
            return SignatureCheck::NotVerifiable(
                "the token carries a `nonce` header (Microsoft Graph): not verifiable by design"
                    .to_owned(),
            );
        }
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != "RS256" {
            let alg = if alg.is_empty() || alg.eq_ignore_ascii_case("none") {
                "none (unsigned)".to_owned()
            } else {
                alg.chars().take(20).collect()
            };
            return SignatureCheck::Invalid(format!("`alg` is {alg}, not RS256"));
        }
        let token = token.trim();
        let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
        let Some((input, signature)) = token.rsplit_once('.') else {
            return SignatureCheck::Invalid("not a signed JWT".to_owned());
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')) else {
            return SignatureCheck::Invalid("the signature is not base64url".to_owned());
        };
        let keys = match self.keys.get_or_init(|| self.fetch()).await {
            Ok(keys) => keys,
            Err(why) => {
                return SignatureCheck::Invalid(format!(
                    "the authority's keys could not be read: {why}"
                ));
            }
        };
        let field = |name: &str| header.get(name).and_then(Value::as_str);
        let (kid, x5t) = (field("kid"), field("x5t"));
        let Some(key) = keys.iter().find(|k| {
            (kid.is_some() && k.kid.as_deref() == kid) || (x5t.is_some() && k.x5t.as_deref() == x5t)
        }) else {
            return SignatureCheck::Invalid(
                "no key the authority publishes matches the token's `kid`".to_owned(),
            );
        };
        let public = aws_lc_rs::signature::RsaPublicKeyComponents {
            n: &key.n,
            e: &key.e,
        };
        match public.verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            input.as_bytes(),
            &signature,
        ) {
            Ok(()) => SignatureCheck::Verified,
            Err(_) => SignatureCheck::Invalid(
                "the signature does not verify against the authority's key".to_owned(),
            ),
        }
    }
}
