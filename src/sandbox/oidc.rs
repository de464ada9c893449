//! The sandbox's own OIDC issuer, playing GitHub Actions' so workload identity federation can be
//! rehearsed end to end without GitHub (reference §6).
//!
//! What it stands in for, as GitHub documents it ("Configuring OpenID Connect in cloud providers",
//! "About security hardening with OpenID Connect", docs.github.com) and Microsoft repeats
//! ("Workload identity federation", learn.microsoft.com):
//! - A job with `permissions: id-token: write` gets two environment variables:
//!   `ACTIONS_ID_TOKEN_REQUEST_URL`, a URL that already carries a query string (so callers append
//!   `&audience=…`), and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, sent as `Authorization: bearer …`. The
//!   answer is JSON whose `value` is the token. Without `audience` GitHub uses the repository
//!   owner's URL (`https://github.com/OWNER`).
//! - The token is an RS256 JWT from `https://token.actions.githubusercontent.com` with `sub` like
//!   `repo:ORG/REPO:ref:refs/heads/BRANCH`, `aud` the requested audience, claims describing the run
//!   (`repository`, `ref`, `sha`, `workflow`, `event_name`, `job_workflow_ref`, `run_id`, …), and
//!   `exp − iat = 300`: it lives five minutes.
//! - Entra checks it against the issuer's keys, found through `{issuer}/.well-known/openid-configuration`
//!   and the `jwks_uri` it names.
//!
//! Here the issuer is `{sandbox}/_github` (plain http on loopback: it never leaves the machine),
//! the request URL `{sandbox}/_github/token?api-version=2.0`, and the key a fresh RSA-2048 pair per
//! start. The request log keeps method, path and status only: never the bearer or a token.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaPublicKeyComponents,
};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;

use super::SandboxError;
use super::scenario::GithubActions;

/// The path prefix the issuer lives under.
pub(crate) const PREFIX: &str = "/_github";
/// GitHub's token lifetime: `exp − iat` (reference §6).
pub(crate) const TOKEN_LIFETIME: i64 = 300;

/// The issuer: its key, its URL, the workflow it describes and the bearer it accepts.
pub(crate) struct GithubIssuer {
    key: KeyPair,
    kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
    url: String,
    settings: GithubActions,
    request_token: SecretString,
}

// The private key and the request token stay out of Debug.
impl std::fmt::Debug for GithubIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubIssuer")
            .field("url", &self.url)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl GithubIssuer {
    /// Generates the issuer's RSA-2048 key (CPU-bound: call it off the async runtime).
    pub(crate) fn generate(
        settings: GithubActions,
        base_url: &str,
        request_token: SecretString,
    ) -> Result<GithubIssuer, SandboxError> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| SandboxError::Key(format!("issuer key: {e}")))?;
        let public = key.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        // GitHub's kid is a key thumbprint too; this one hashes the PKCS#1 public key.
        let kid = hex_upper(digest(&SHA256, public.as_ref()).as_ref());
        Ok(GithubIssuer {
            key,
            kid,
            n,
            e,
            url: format!("{base_url}{PREFIX}"),
            settings,
            request_token,
        })
    }

    /// The `iss` of its tokens (and what a federated credential's `issuer: sandbox` means).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The stand-in for `ACTIONS_ID_TOKEN_REQUEST_URL` (with a query string, as GitHub's has).
    pub(crate) fn request_url(&self) -> String {
        format!("{}/token?api-version=2.0", self.url)
    }

    /// The stand-in for `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub(crate) fn request_token(&self) -> &SecretString {
        &self.request_token
    }

    /// Whether `headers` carry `Authorization: bearer <request token>` (scheme case-insensitive).
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, token)) = value.split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer")
            && super::server::same_secret(
                token.trim().as_bytes(),
                self.request_token.expose_secret().as_bytes(),
            )
    }

    /// The claims GitHub puts in a job's token, for `audience`, issued at `now`.
    pub(crate) fn claims(&self, audience: &str, now: i64) -> serde_json::Value {
        let s = &self.settings;
        let owner = s.repository.split('/').next().unwrap_or_default();
        // Stable ids and hashes, so a rehearsal reads the same run to run.
        let id = |what: &str| {
            let d = digest(&SHA256, format!("{what}|{}", s.repository).as_bytes());
            let mut b = [0u8; 4];
            b.copy_from_slice(&d.as_ref()[..4]);
            (u32::from_be_bytes(b) % 900_000_000 + 100_000_000).to_string()
        };
        let sha = hex_lower(
            &digest(
                &SHA256,
                format!("{}|{}", s.repository, s.git_ref).as_bytes(),
            )
            .as_ref()[..20],
        );
        let workflow_ref = format!(
            "{}/.github/workflows/consent.yml@{}",
            s.repository, s.git_ref
        );
        let ref_type = if s.git_ref.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        };
        json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "sub": s.subject(),
            "aud": audience,
            "ref": s.git_ref,
            "sha": sha,
            "repository": s.repository,
            "repository_owner": owner,
            "repository_owner_id": id("owner"),
            "repository_id": id("repository"),
            "repository_visibility": "private",
            "run_id": id("run"),
            "run_number": "1",
            "run_attempt": "1",
            "actor": "consentry-sandbox",
            "actor_id": id("actor"),
            "workflow": "consent",
            "event_name": "push",
            "ref_type": ref_type,
            "workflow_ref": workflow_ref,
            "workflow_sha": sha,
            "job_workflow_ref": workflow_ref,
            "job_workflow_sha": sha,
            "runner_environment": "github-hosted",
            "iss": self.url,
            "nbf": now,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
        })
    }

    /// An RS256 JWT over `claims`, header `{typ, alg, kid}` (CPU-bound: a few ms).
    pub(crate) fn sign(&self, claims: &serde_json::Value) -> Result<String, SandboxError> {
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| SandboxError::Key(format!("issuer signature: {e}")))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Whether `signature` is this issuer's RS256 signature of `input` under key `kid`.
    pub(crate) fn verifies(&self, kid: Option<&str>, input: &[u8], signature: &[u8]) -> bool {
        kid == Some(self.kid.as_str())
            && RsaPublicKeyComponents {
                n: &self.n,
                e: &self.e,
            }
            .verify(&RSA_PKCS1_2048_8192_SHA256, input, signature)
            .is_ok()
    }

    fn discovery(&self) -> serde_json::Value {
        json!({
            "issuer": self.url,
            "jwks_uri": format!("{}/.well-known/jwks", self.url),
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha",
                "repository", "repository_id", "repository_owner", "repository_owner_id",
                "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow",
                "workflow_ref", "workflow_sha", "head_ref", "base_ref", "event_name", "ref_type",
                "environment", "job_workflow_ref", "job_workflow_sha", "runner_environment"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        })
    }

    fn jwks(&self) -> serde_json::Value {
        json!({"keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        }]})
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The issuer's routes, to be nested under [`PREFIX`].
pub(crate) fn router<S>(issuer: Arc<GithubIssuer>) -> Router<S> {
    Router::new()
        .route("/token", get(token))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks", get(jwks))
        .with_state(issuer)
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// The stand-in for `ACTIONS_ID_TOKEN_REQUEST_URL`: a fresh token per call.
async fn token(
    State(issuer): State<Arc<GithubIssuer>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !issuer.authorized(&headers) {
        return json(
            StatusCode::UNAUTHORIZED,
            &json!({"message": "missing or invalid bearer: send Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN"}),
        );
    }
    let params: HashMap<String, String> = query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let audience = match params.get("audience").filter(|a| !a.is_empty()) {
        Some(a) => a.clone(),
        None => {
            let owner = issuer
                .settings
                .repository
                .split('/')
                .next()
                .unwrap_or_default();
            format!("https://github.com/{owner}")
        }
    };
    let claims = issuer.claims(&audience, chrono::Utc::now().timestamp());
    let signer = Arc::clone(&issuer);
    match tokio::task::spawn_blocking(move || signer.sign(&claims)).await {
        Ok(Ok(jwt)) => json(StatusCode::OK, &json!({ "value": jwt })),
        Ok(Err(error)) => {
            tracing::error!(%error, "sandbox issuer could not sign");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"message": "signing failed"}),
            )
        }
        Err(error) => {
            tracing::error!(%error, "sandbox issuer signing task failed");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"message": "signing failed"}),
            )
        }
    }
}

async fn discovery(State(issuer): State<Arc<GithubIssuer>>) -> Response {
    json(StatusCode::OK, &issuer.discovery())
}

async fn jwks(State(issuer): State<Arc<GithubIssuer>>) -> Response {
    json(StatusCode::OK, &issuer.jwks())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_githubs_claims_and_verify_only_with_this_key() {
        let issuer = GithubIssuer::generate(
            GithubActions::new("contoso/soc-connector"),
            "http://127.0.0.1:1",
            SecretString::from("bearer-value"),
        )
        .unwrap();
        let claims = issuer.claims("api://AzureADTokenExchange", 1_000);
        assert_eq!(
            claims["sub"],
            "repo:contoso/soc-connector:ref:refs/heads/main"
        );
        assert_eq!(claims["iss"], "http://127.0.0.1:1/_github");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
        let jwt = issuer.sign(&claims).unwrap();
        let (input, signature) = jwt.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!(issuer.verifies(Some(&issuer.kid), input.as_bytes(), &signature));
        assert!(!issuer.verifies(Some("other"), input.as_bytes(), &signature));
        assert!(!issuer.verifies(Some(&issuer.kid), b"tampered", &signature));
        assert!(!format!("{issuer:?}").contains("bearer-value"));
    }
}
