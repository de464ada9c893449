//! The sandbox's client authentication by assertion (reference §6): certificate-signed client
//! assertions and GitHub-style federated tokens, over loopback against the real server. The
//! assertions are built here with aws-lc-rs and rcgen certificates, as a client would.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a panic is a test failure with a message"
)]

use std::sync::LazyLock;
use std::time::Duration;

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding,
    RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consentry::sandbox::{
    FederatedCredential, GithubActions, RegisteredCertificate, Sandbox, SandboxError, Scenario,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const SECRET: &str = "sandbox-test-secret~4f9Qz";
const M365D: &str = "https://api.security.microsoft.com";
const FABRIKAM: &str = "20b52653-0cd6-4e02-83d7-9726d0726828";
const REPO: &str = "contoso/soc-connector";
const MAIN: &str = "repo:contoso/soc-connector:ref:refs/heads/main";
const EXCHANGE: &str = "api://AzureADTokenExchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An RSA key and a self-signed certificate for it, valid from `from` to `to` (years).
struct TestCert {
    key: aws_lc_rs::rsa::KeyPair,
    pem: String,
    der: Vec<u8>,
}

fn make_cert(from: i32, to: i32) -> TestCert {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let key = aws_lc_rs::rsa::KeyPair::from_pkcs8(&pair.serialize_der()).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["consentry-test".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(to, 1, 1);
    let cert = params.self_signed(&pair).unwrap();
    TestCert {
        key,
        pem: cert.pem(),
        der: cert.der().to_vec(),
    }
}

// RSA key generation costs tens of ms: each certificate is made once for the whole file.
static REGISTERED: LazyLock<TestCert> = LazyLock::new(|| make_cert(2020, 2099));
static UNREGISTERED: LazyLock<TestCert> = LazyLock::new(|| make_cert(2020, 2099));
static EXPIRED: LazyLock<TestCert> = LazyLock::new(|| make_cert(2019, 2021));

fn x5t(cert: &TestCert) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, &cert.der))
}

fn x5t_s256(cert: &TestCert) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, &cert.der))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signs `header`.`claims` with `key`: PS256 or RS256 as the header's `alg` says.
fn sign(key: &aws_lc_rs::rsa::KeyPair, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let encoding: &'static dyn RsaEncoding = match header["alg"].as_str() {
        Some("PS256") => &RSA_PSS_SHA256,
        _ => &RSA_PKCS1_SHA256,
    };
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        encoding,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The claims a client puts in a certificate assertion for `token_url`.
fn assertion_claims(token_url: &str) -> Value {
    let t = now();
    json!({
        "aud": token_url,
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": t,
        "iat": t,
        "exp": t + 600,
    })
}

fn ps256_header(cert: &TestCert) -> Value {
    json!({"alg": "PS256", "typ": "JWT", "x5t#S256": x5t_s256(cert)})
}

fn rs256_header(cert: &TestCert) -> Value {
    json!({"alg": "RS256", "typ": "JWT", "x5t": x5t(cert)})
}

fn base_scenario() -> Scenario {
    let text = format!(
        r#"
app:
  client_id: {CLIENT_ID}
  name: Contoso SOC Connector
tenants:
  - name: Fabrikam
    id: {FABRIKAM}
    domains: [fabrikam.onmicrosoft.com]
    grants:
      {M365D}: [Incident.Read.All]
"#
    );
    Scenario::from_yaml("credentials.yaml", &text).unwrap()
}

/// The base scenario with the registered (and the expired) certificate, GitHub's issuer and one
/// federated credential trusting it for `fic_subject`.
fn scenario(fic_subject: &str) -> Scenario {
    let mut s = base_scenario();
    s.app
        .certificates
        .push(RegisteredCertificate::from_pem(REGISTERED.pem.clone()));
    s.app
        .certificates
        .push(RegisteredCertificate::from_pem(EXPIRED.pem.clone()));
    s.github_actions = Some(GithubActions::new(REPO));
    s.app
        .federated_credentials
        .push(FederatedCredential::sandbox_github(
            "github-main",
            fic_subject,
        ));
    s
}

async fn start(scenario: Scenario) -> Sandbox {
    Sandbox::start(
        scenario,
        SecretString::from(SECRET),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn v2_url(sandbox: &Sandbox, tenant: &str) -> String {
    format!("{}/{tenant}/oauth2/v2.0/token", sandbox.base_url())
}

fn v1_url(sandbox: &Sandbox, tenant: &str) -> String {
    format!("{}/{tenant}/oauth2/token", sandbox.base_url())
}

/// Posts a client-credentials request for M365D authenticated by `assertion` to `url` (v1 or v2).
async fn present(url: &str, assertion: &str) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
        ("client_assertion_type", JWT_BEARER.to_owned()),
        ("client_assertion", assertion.to_owned()),
    ];
    if url.ends_with("/v2.0/token") {
        form.push(("scope", format!("{M365D}/.default")));
    } else {
        form.push(("resource", M365D.to_owned()));
    }
    client().post(url).form(&form).send().await.unwrap()
}

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A 200 with an access token; returns its claims.
async fn issued(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    payload(body["access_token"].as_str().unwrap())
}

/// An Entra error with `status`, `error` and `code`; returns the body.
async fn refused(response: reqwest::Response, status: u16, error: &str, code: u64) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (got, body["error"].as_str(), body["error_codes"][0].as_u64()),
        (status, Some(error), Some(code)),
        "{body}"
    );
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    body
}

/// Fetches a GitHub-style token from the sandbox's stand-in for `ACTIONS_ID_TOKEN_REQUEST_URL`,
/// exactly as a job does: the URL plus `&audience=…`, the bearer from the env.
async fn github_token(sandbox: &Sandbox, audience: &str) -> String {
    let env = sandbox.github_actions_env().unwrap();
    let url = format!("{}&audience={audience}", env.request_url);
    let response = client()
        .get(url)
        .header(
            "Authorization",
            format!("bearer {}", env.request_token.expose_secret()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["value"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn certificate_assertions_ps256_and_rs256_get_tokens_on_v1_and_v2() {
    let sandbox = start(scenario(MAIN)).await;
    for header in [ps256_header(&REGISTERED), rs256_header(&REGISTERED)] {
        for url in [
            v2_url(&sandbox, FABRIKAM),
            v1_url(&sandbox, "fabrikam.onmicrosoft.com"),
        ] {
            let jwt = sign(&REGISTERED.key, &header, &assertion_claims(&url));
            let claims = issued(present(&url, &jwt).await).await;
            assert_eq!(claims["tid"], FABRIKAM);
            assert_eq!(claims["appid"], CLIENT_ID);
            assert_eq!(claims["appidacr"], "2", "an assertion, not a secret");
            assert_eq!(claims["roles"], json!(["Incident.Read.All"]));
        }
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_unregistered_certificate_or_a_foreign_signature_is_700027() {
    let sandbox = start(scenario(MAIN)).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let jwt = sign(
        &UNREGISTERED.key,
        &ps256_header(&UNREGISTERED),
        &assertion_claims(&url),
    );
    let body = refused(present(&url, &jwt).await, 401, "invalid_client", 700027).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not registered"),
        "{body}"
    );
    // The registered certificate's thumbprint, but another key's signature.
    let jwt = sign(
        &UNREGISTERED.key,
        &ps256_header(&REGISTERED),
        &assertion_claims(&url),
    );
    let body = refused(present(&url, &jwt).await, 401, "invalid_client", 700027).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{body}"
    );
    // A registered certificate that expired.
    let jwt = sign(
        &EXPIRED.key,
        &rs256_header(&EXPIRED),
        &assertion_claims(&url),
    );
    let body = refused(present(&url, &jwt).await, 401, "invalid_client", 700027).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn mixing_algorithm_and_thumbprint_is_700027() {
    let sandbox = start(scenario(MAIN)).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let rs256_with_s256 = json!({"alg": "RS256", "typ": "JWT", "x5t#S256": x5t_s256(&REGISTERED)});
    let ps256_with_sha1 = json!({"alg": "PS256", "typ": "JWT", "x5t": x5t(&REGISTERED)});
    let no_thumbprint = json!({"alg": "PS256", "typ": "JWT"});
    let es256 = json!({"alg": "ES256", "typ": "JWT", "x5t#S256": x5t_s256(&REGISTERED)});
    for header in [rs256_with_s256, ps256_with_sha1, no_thumbprint, es256] {
        let jwt = sign(&REGISTERED.key, &header, &assertion_claims(&url));
        refused(present(&url, &jwt).await, 401, "invalid_client", 700027).await;
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn aud_must_be_exactly_the_token_url_called() {
    let sandbox = start(scenario(MAIN)).await;
    let called = v2_url(&sandbox, FABRIKAM);
    let base = sandbox.base_url();
    let wrong = [
        v1_url(&sandbox, FABRIKAM),                   // the other endpoint
        v2_url(&sandbox, "fabrikam.onmicrosoft.com"), // the same tenant, named otherwise
        format!("https://login.microsoftonline.com/{FABRIKAM}/oauth2/v2.0/token"),
        format!("{called}/"),
        base.clone(),
    ];
    for aud in wrong {
        let mut claims = assertion_claims(&called);
        claims["aud"] = json!(aud);
        let jwt = sign(&REGISTERED.key, &ps256_header(&REGISTERED), &claims);
        refused(present(&called, &jwt).await, 401, "invalid_client", 700023).await;
    }
    // The host as the client called it counts: `localhost` works when called as `localhost`.
    let port = base.rsplit(':').next().unwrap();
    let localhost = format!("http://localhost:{port}/{FABRIKAM}/oauth2/v2.0/token");
    let jwt = sign(
        &REGISTERED.key,
        &ps256_header(&REGISTERED),
        &assertion_claims(&localhost),
    );
    issued(present(&localhost, &jwt).await).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn iss_and_sub_must_be_the_client_id() {
    let sandbox = start(scenario(MAIN)).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let mut claims = assertion_claims(&url);
    claims["sub"] = json!("00000000-0000-4000-8000-000000000000");
    let jwt = sign(&REGISTERED.key, &ps256_header(&REGISTERED), &claims);
    refused(present(&url, &jwt).await, 401, "invalid_client", 700021).await;
    let mut claims = assertion_claims(&url);
    claims.as_object_mut().unwrap().remove("iss");
    let jwt = sign(&REGISTERED.key, &ps256_header(&REGISTERED), &claims);
    refused(present(&url, &jwt).await, 401, "invalid_client", 700021).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn assertions_outside_their_time_window_are_700024() {
    let sandbox = start(scenario(MAIN)).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let t = now();
    // Expired beyond the clock skew, not yet valid beyond it, valid for longer than 10 minutes.
    for (nbf, exp) in [(t - 1800, t - 1200), (t + 1200, t + 1500), (t, t + 3600)] {
        let mut claims = assertion_claims(&url);
        claims["nbf"] = json!(nbf);
        claims["iat"] = json!(nbf);
        claims["exp"] = json!(exp);
        let jwt = sign(&REGISTERED.key, &rs256_header(&REGISTERED), &claims);
        let body = refused(present(&url, &jwt).await, 401, "invalid_client", 700024).await;
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("valid time range")
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let sandbox = start(scenario(MAIN)).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let jwt = sign(
        &REGISTERED.key,
        &ps256_header(&REGISTERED),
        &assertion_claims(&url),
    );
    issued(present(&url, &jwt).await).await;
    let body = refused(present(&url, &jwt).await, 401, "invalid_client", 700024).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{body}"
    );
    // A new jti is a new assertion.
    let fresh = sign(
        &REGISTERED.key,
        &ps256_header(&REGISTERED),
        &assertion_claims(&url),
    );
    issued(present(&url, &fresh).await).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn secret_and_assertion_together_or_neither_or_no_type_are_refused() {
    let sandbox = start(scenario(MAIN)).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let jwt = sign(
        &REGISTERED.key,
        &ps256_header(&REGISTERED),
        &assertion_claims(&url),
    );
    let base = vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
        ("scope", format!("{M365D}/.default")),
    ];
    let mut both = base.clone();
    both.extend([
        ("client_secret", SECRET.to_owned()),
        ("client_assertion_type", JWT_BEARER.to_owned()),
        ("client_assertion", jwt.clone()),
    ]);
    let response = client().post(&url).form(&both).send().await.unwrap();
    refused(response, 401, "invalid_client", 7000216).await;
    let response = client().post(&url).form(&base).send().await.unwrap();
    refused(response, 401, "invalid_client", 7000216).await;
    let mut untyped = base.clone();
    untyped.push(("client_assertion", jwt.clone()));
    let response = client().post(&url).form(&untyped).send().await.unwrap();
    refused(response, 400, "invalid_request", 900144).await;
    let mut garbage = base.clone();
    garbage.extend([
        ("client_assertion_type", JWT_BEARER.to_owned()),
        ("client_assertion", "not.a.jwt".to_owned()),
    ]);
    let response = client().post(&url).form(&garbage).send().await.unwrap();
    refused(response, 401, "invalid_client", 50027).await;
    // The secret alone still works, and says so in appidacr.
    let mut secret = base.clone();
    secret.push(("client_secret", SECRET.to_owned()));
    let response = client().post(&url).form(&secret).send().await.unwrap();
    assert_eq!(issued(response).await["appidacr"], "1");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn github_token_happy_path_end_to_end() {
    let sandbox = start(scenario(MAIN)).await;
    let issuer = sandbox.github_issuer().unwrap();
    assert_eq!(issuer, format!("{}/_github", sandbox.base_url()));
    let token = github_token(&sandbox, EXCHANGE).await;
    let claims = payload(&token);
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["sub"], MAIN);
    assert_eq!(claims["aud"], EXCHANGE);
    assert_eq!(claims["repository"], REPO);
    assert_eq!(claims["ref"], "refs/heads/main");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert!(claims["jti"].is_string());

    // Discovery names the JWKS; the token verifies against it.
    let discovery: Value = client()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str());
    let jwks: Value = client()
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kid"], header["kid"]);
    let (input, signature) = token.rsplit_once('.').unwrap();
    let key = RsaPublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap(),
        e: URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap(),
    };
    key.verify(
        &RSA_PKCS1_2048_8192_SHA256,
        input.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .unwrap();

    // Presented as the client assertion, on v2 and v1, the same token twice (no replay rule).
    for url in [v2_url(&sandbox, FABRIKAM), v1_url(&sandbox, FABRIKAM)] {
        let claims = issued(present(&url, &token).await).await;
        assert_eq!(claims["appidacr"], "2");
        assert_eq!(claims["roles"], json!(["Incident.Read.All"]));
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_github_endpoint_wants_its_bearer() {
    let sandbox = start(scenario(MAIN)).await;
    let env = sandbox.github_actions_env().unwrap();
    let url = format!("{}&audience={EXCHANGE}", env.request_url);
    let cases = [
        None,
        Some("bearer wrong-token".to_owned()),
        Some(env.request_token.expose_secret().to_owned()), // no scheme
        Some(format!("Basic {}", env.request_token.expose_secret())),
    ];
    for authorization in cases {
        let mut request = client().get(&url);
        if let Some(value) = &authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{authorization:?}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("eyJ"), "no token without the bearer: {body}");
    }
    // The scheme is case-insensitive, as HTTP's are.
    let response = client()
        .get(&url)
        .header(
            "Authorization",
            format!("Bearer {}", env.request_token.expose_secret()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_github_token_with_the_wrong_subject_is_700213() {
    let sandbox = start(scenario(
        "repo:contoso/soc-connector:environment:production",
    ))
    .await;
    let token = github_token(&sandbox, EXCHANGE).await;
    let body = refused(
        present(&v2_url(&sandbox, FABRIKAM), &token).await,
        401,
        "invalid_client",
        700213,
    )
    .await;
    assert!(body["error_description"].as_str().unwrap().contains(MAIN));
    // Case matters.
    let sandbox2 = start(scenario(&MAIN.replace("contoso", "Contoso"))).await;
    let token = github_token(&sandbox2, EXCHANGE).await;
    refused(
        present(&v2_url(&sandbox2, FABRIKAM), &token).await,
        401,
        "invalid_client",
        700213,
    )
    .await;
    sandbox.shutdown().await;
    sandbox2.shutdown().await;
}

#[tokio::test]
async fn a_github_token_for_another_audience_is_700212() {
    let sandbox = start(scenario(MAIN)).await;
    for audience in ["api://SomethingElse", "https://github.com/contoso"] {
        let token = github_token(&sandbox, audience).await;
        refused(
            present(&v2_url(&sandbox, FABRIKAM), &token).await,
            401,
            "invalid_client",
            700212,
        )
        .await;
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_token_from_an_issuer_no_credential_names_is_700211() {
    // The app trusts GitHub's real issuer; the token comes from the sandbox's.
    let mut s = scenario(MAIN);
    s.app.federated_credentials[0].issuer =
        "https://token.actions.githubusercontent.com".to_owned();
    let sandbox = start(s).await;
    let token = github_token(&sandbox, EXCHANGE).await;
    let url = v2_url(&sandbox, FABRIKAM);
    refused(present(&url, &token).await, 401, "invalid_client", 700211).await;
    // A token some unknown issuer signed.
    let t = now();
    let forged = sign(
        &UNREGISTERED.key,
        &json!({"alg": "RS256", "typ": "JWT", "kid": "k"}),
        &json!({"iss": "https://issuer.example", "sub": MAIN, "aud": EXCHANGE, "iat": t, "exp": t + 300}),
    );
    refused(present(&url, &forged).await, 401, "invalid_client", 700211).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn no_federated_credential_at_all_is_70021() {
    let mut s = scenario(MAIN);
    s.app.federated_credentials.clear();
    let sandbox = start(s).await;
    let token = github_token(&sandbox, EXCHANGE).await;
    refused(
        present(&v2_url(&sandbox, FABRIKAM), &token).await,
        401,
        "invalid_client",
        70021,
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_entra_token_as_the_assertion_is_700229() {
    let sandbox = start(scenario(MAIN)).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
        ("client_secret", SECRET.to_owned()),
        ("scope", format!("{M365D}/.default")),
    ];
    let response = client().post(&url).form(&form).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap();
    refused(
        present(&url, access_token).await,
        401,
        "invalid_client",
        700229,
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_request_log_never_holds_an_assertion_bearer_or_token() {
    let sandbox = start(scenario(MAIN)).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let token = github_token(&sandbox, EXCHANGE).await;
    issued(present(&url, &token).await).await;
    let jwt = sign(
        &REGISTERED.key,
        &ps256_header(&REGISTERED),
        &assertion_claims(&url),
    );
    issued(present(&url, &jwt).await).await;
    let report = client()
        .get(format!("{}/_sandbox/requests", sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bearer = sandbox.github_actions_env().unwrap().request_token;
    for secret in [token.as_str(), jwt.as_str(), bearer.expose_secret()] {
        assert!(!report.contains(secret));
        // Not even a part of one (every JWT segment, the signature included).
        for part in secret.split('.') {
            assert!(!report.contains(part), "{part:.16}… leaked");
        }
    }
    assert!(!report.contains("audience"), "no query string: {report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(
        report["requests_per_tenant"],
        json!({ FABRIKAM: 2 }),
        "the issuer is no tenant"
    );
    assert!(
        report["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "/_github/token")
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn scenarios_with_impossible_credentials_are_refused_whole() {
    let mut s = base_scenario();
    s.app.certificates.push(RegisteredCertificate::from_pem(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ));
    s.app.certificates.push(RegisteredCertificate {
        file: None,
        pem: None,
    });
    s.app
        .federated_credentials
        .push(FederatedCredential::sandbox_github("github", MAIN)); // no github_actions section
    for i in 0..20 {
        let mut fic = FederatedCredential::sandbox_github(format!("more-{i}"), MAIN);
        fic.issuer = "https://token.actions.githubusercontent.com".to_owned();
        s.app.federated_credentials.push(fic);
    }
    let err = Sandbox::start(
        s,
        SecretString::from(SECRET),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    let SandboxError::Invalid { problems, .. } = err else {
        panic!("not a validation error: {err}")
    };
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains("certificates[0]"), "{problems:#?}");
    assert!(
        problems[1].contains("give `file` or `pem`"),
        "{problems:#?}"
    );
    assert!(problems[2].contains("at most 20"), "{problems:#?}");
    assert!(problems[3].contains("github_actions"), "{problems:#?}");
}

#[tokio::test]
async fn a_scenario_file_names_its_certificate_file_relative_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/app.pem"), &REGISTERED.pem).unwrap();
    let text = format!(
        r#"
app:
  client_id: {CLIENT_ID}
  certificates:
    - file: certs/app.pem
tenants:
  - {{ name: Fabrikam, id: {FABRIKAM}, grants: {{ {M365D}: [Incident.Read.All] }} }}
"#
    );
    let path = dir.path().join("s.sandbox.yaml");
    std::fs::write(&path, &text).unwrap();
    let sandbox = start(Scenario::from_path(&path).unwrap()).await;
    let url = v2_url(&sandbox, FABRIKAM);
    let jwt = sign(
        &REGISTERED.key,
        &rs256_header(&REGISTERED),
        &assertion_claims(&url),
    );
    issued(present(&url, &jwt).await).await;
    sandbox.shutdown().await;

    std::fs::remove_file(dir.path().join("certs/app.pem")).unwrap();
    let err = Scenario::from_path(&path).unwrap_err();
    assert!(err.to_string().contains("app.pem"), "{err}");
}
