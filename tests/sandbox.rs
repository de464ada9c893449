//! Protocol tests of the sandbox identity platform: reqwest over 127.0.0.1 against the real server,
//! asserting the wire shapes of reference §2–§4 (statuses, headers, JSON fields, JWTs, JWKS).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a panic is a test failure with a message"
)]

use std::time::{Duration, Instant};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use consentry::sandbox::{Options, Sandbox, SandboxError, Scenario, Tls};
use secrecy::SecretString;
use serde_json::Value;

const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const SECRET: &str = "sandbox-test-secret~4f9Qz";
const M365D: &str = "https://api.security.microsoft.com";
const MDE: &str = "https://api.securitycenter.microsoft.com";
const GRAPH: &str = "https://graph.microsoft.com";

const FABRIKAM: &str = "20b52653-0cd6-4e02-83d7-9726d0726828";
const NORTHWIND: &str = "b3a4f54c-0496-4a60-82db-5871e6f2f23d";
const TAILSPIN: &str = "1b3ccbcc-e3f9-4ecb-b386-95da386b099c";
const WINGTIP: &str = "ab481ae0-9dc8-413e-8f7c-099c41ccc405";
const ADATUM: &str = "817f2060-cd9a-4abf-9e81-357dd8d47687";
const LITWARE: &str = "64e45903-e154-4b7c-a819-fb01b58d88ef";
const PROSEWARE: &str = "591a89d0-1d2f-415c-b42d-98ac41aa7308";
const FOURTH_COFFEE: &str = "2ca6a945-57e7-4f1d-b738-8ddb08c68d38";
const WOODGROVE: &str = "bdf08b11-a673-4030-9d2d-a7377123b120";
const ALPINE: &str = "8fd2b5ba-d498-45d4-922b-f8db14bbd69a";
const TREY: &str = "1e2c43c0-67b2-4064-b896-3f3022163801";
const COHO: &str = "1491871c-c7d9-4bb7-a705-4866309e3786";
const RELECLOUD: &str = "de13deda-4b31-4920-a02a-e9a599d1610f";
const LAMNA: &str = "3730a066-9656-441e-ac44-88bb0040b8e2";
const MARGIE: &str = "8a329e18-7bde-4c40-b96b-97720d03b98f";
const HUMONGOUS: &str = "b2039120-ed7b-4f43-8669-9e5e45315db2";
const SLOW: &str = "17b2f8be-4d81-4b1d-9ce9-239c56c6045c";

fn scenario() -> Scenario {
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
      {M365D}: [Incident.Read.All, AdvancedHunting.Read.All]
      {MDE}/: [Machine.Read.All]
  - name: Northwind Traders
    id: {NORTHWIND}
    aud: app_id
    grants:
      {M365D}: [Incident.Read.All]
  - {{ name: Tailspin Toys, id: {TAILSPIN}, failure: not_consented }}
  - {{ name: Wingtip Toys, id: {WINGTIP}, failure: disabled }}
  - {{ name: Adatum, id: {ADATUM}, missing_resources: [{MDE}] }}
  - name: Litware
    id: {LITWARE}
    throttle: {{ times: 2, retry_after: 7 }}
    grants: {{ {M365D}: [Incident.Read.All] }}
  - {{ name: Proseware, id: {PROSEWARE}, throttle: {{ times: 1, body: text }} }}
  - {{ name: Fourth Coffee, id: {FOURTH_COFFEE}, transient: {{ times: 2, status: 502 }} }}
  - {{ name: Woodgrove Bank, id: {WOODGROVE}, failure: hang }}
  - {{ name: Alpine Ski House, id: {ALPINE}, failure: not_json }}
  - {{ name: Trey Research, id: {TREY}, lie: other_tid }}
  - {{ name: Coho Winery, id: {COHO}, lie: other_aud }}
  - {{ name: Relecloud, id: {RELECLOUD}, lie: other_appid }}
  - {{ name: Lamna Healthcare, id: {LAMNA}, lie: expired }}
  - {{ name: Margie's Travel, id: {MARGIE}, failure: {{ aadsts: {{ code: 53003 }} }} }}
  - name: Humongous Insurance
    id: {HUMONGOUS}
    failure: {{ aadsts: {{ code: 4242, error: interaction_required, message: Something new. }} }}
  - {{ name: Slow Co, id: {SLOW}, latency_ms: 500 }}
"#
    );
    Scenario::from_yaml("test-scenario.yaml", &text).unwrap()
}

async fn start() -> Sandbox {
    Sandbox::start(
        scenario(),
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

/// A token request's form fields.
type Form = Vec<(&'static str, String)>;

/// A correct v2 client-credentials form for `resource`.
fn v2_form(resource: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
        ("client_secret", SECRET.to_owned()),
        ("scope", format!("{resource}/.default")),
    ]
}

fn v1_form(resource: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
        ("client_secret", SECRET.to_owned()),
        ("resource", resource.to_owned()),
    ]
}

fn with(
    mut form: Vec<(&'static str, String)>,
    name: &'static str,
    value: Option<&str>,
) -> Vec<(&'static str, String)> {
    form.retain(|(k, _)| *k != name);
    if let Some(v) = value {
        form.push((name, v.to_owned()));
    }
    form
}

async fn post(sandbox: &Sandbox, path: &str, form: &[(&'static str, String)]) -> reqwest::Response {
    client()
        .post(format!("{}{path}", sandbox.base_url()))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn token_v2(sandbox: &Sandbox, tenant: &str, resource: &str) -> reqwest::Response {
    post(
        sandbox,
        &format!("/{tenant}/oauth2/v2.0/token"),
        &v2_form(resource),
    )
    .await
}

fn segment(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// (header, claims) of a compact JWT.
fn decode(jwt: &str) -> (Value, Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    (segment(parts[0]), segment(parts[1]))
}

async fn claims_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    decode(body["access_token"].as_str().unwrap()).1
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Checks an AADSTS error answer against reference §4 and returns its body.
async fn assert_aadsts_shape(
    response: reqwest::Response,
    status: u16,
    error: &str,
    code: u64,
) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let request_id = response.headers()["x-ms-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "correlation_id",
        "error",
        "error_codes",
        "error_description",
        "error_uri",
        "timestamp",
        "trace_id",
    ];
    expected.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, expected);
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], serde_json::json!([code]), "{body}");
    let trace = body["trace_id"].as_str().unwrap();
    let correlation = body["correlation_id"].as_str().unwrap();
    let timestamp = body["timestamp"].as_str().unwrap();
    assert_eq!(trace, request_id);
    assert!(uuid::Uuid::parse_str(trace).is_ok());
    assert!(uuid::Uuid::parse_str(correlation).is_ok());
    assert!(
        chrono::NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%d %H:%M:%SZ").is_ok(),
        "{timestamp}"
    );
    let description = body["error_description"].as_str().unwrap();
    let prefix = format!("AADSTS{code}: ");
    assert!(description.starts_with(&prefix), "{description}");
    let tail =
        format!("\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}");
    assert!(description.ends_with(&tail), "{description:?}");
    body
}

/// `scheme://host:port` of the URL a response answered.
fn origin_of(response: &reqwest::Response) -> String {
    let url = response.url();
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap(),
        url.port().unwrap()
    )
}

/// [`assert_aadsts`], and `error_uri` names the host the client used (as Entra's names its own).
async fn assert_aadsts(response: reqwest::Response, status: u16, error: &str, code: u64) -> Value {
    let origin = origin_of(&response);
    let body = assert_aadsts_shape(response, status, error, code).await;
    assert_eq!(body["error_uri"], format!("{origin}/error?code={code}"));
    body
}

fn message(body: &Value) -> &str {
    body["error_description"]
        .as_str()
        .unwrap()
        .split("\r\n")
        .next()
        .unwrap()
}

#[tokio::test]
async fn v2_success_is_a_signed_v1_token_with_the_granted_roles() {
    let sandbox = start().await;
    let before = now();
    let response = token_v2(&sandbox, FABRIKAM, M365D).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store, no-cache");
    assert!(headers.contains_key("x-ms-request-id"));
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        ["access_token", "expires_in", "ext_expires_in", "token_type"]
    );
    assert_eq!(body["token_type"], "Bearer");
    let expires_in = body["expires_in"]
        .as_i64()
        .expect("v2 numbers are JSON numbers");
    assert!(
        (3599..=5399).contains(&expires_in),
        "60–90 min: {expires_in}"
    );
    assert_eq!(body["ext_expires_in"], expires_in);

    let jwt = body["access_token"].as_str().unwrap();
    let (header, claims) = decode(jwt);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], header["x5t"]);
    assert_eq!(header["kid"].as_str().unwrap().len(), 27);

    assert_eq!(claims["aud"], M365D);
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{FABRIKAM}/")
    );
    assert_eq!(claims["idp"], claims["iss"]);
    assert_eq!(claims["tid"], FABRIKAM);
    assert_eq!(claims["appid"], CLIENT_ID);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["oid"], claims["sub"]);
    assert!(uuid::Uuid::parse_str(claims["oid"].as_str().unwrap()).is_ok());
    assert_eq!(
        claims["roles"],
        serde_json::json!(["AdvancedHunting.Read.All", "Incident.Read.All"])
    );
    // Backdated five minutes, as Entra does; `expires_in` counts from the moment of issue.
    let iat = claims["iat"].as_i64().unwrap();
    assert!(iat >= before - 300 && iat <= now() - 300, "{iat}");
    assert_eq!(claims["nbf"], iat);
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 300 + expires_in);
    assert_eq!(claims["uti"].as_str().unwrap().len(), 22);
    assert!(
        URL_SAFE_NO_PAD
            .decode(claims["uti"].as_str().unwrap())
            .is_ok()
    );
    assert!(claims["aio"].as_str().is_some_and(|a| !a.is_empty()));
    let rh = claims["rh"].as_str().unwrap();
    assert!(rh.starts_with("0.") && rh.ends_with('.'), "{rh}");

    // The same object id on every request: it is the tenant's service principal.
    let again = claims_of(token_v2(&sandbox, FABRIKAM, MDE).await).await;
    assert_eq!(again["oid"], claims["oid"]);
    assert_eq!(again["aud"], MDE);
    assert_eq!(again["roles"], serde_json::json!(["Machine.Read.All"]));
    sandbox.shutdown().await;
}

/// RSASSA-PKCS1-v1_5 with SHA-256 verified from a JWK's `n` and `e`, as a relying party would.
fn verify_rs256(jwt: &str, jwk: &Value) -> bool {
    let key = RsaPublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap(),
        e: URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap(),
    };
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    key.verify(
        &RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .is_ok()
}

/// The base64url SHA-1 of `der` (a certificate's `x5t`, RFC 7517 §4.8).
fn sha1_thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        der,
    ))
}

#[tokio::test]
async fn tokens_verify_against_the_served_jwks_and_discovery_matches() {
    let sandbox = start().await;
    let base = sandbox.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(!base.ends_with('/'));
    let body: Value = token_v2(&sandbox, FABRIKAM, M365D)
        .await
        .json()
        .await
        .unwrap();
    let jwt = body["access_token"].as_str().unwrap();
    let kid = decode(jwt).0["kid"].clone();

    for path in [
        "/common/discovery/keys".to_owned(),
        format!("/{FABRIKAM}/discovery/v2.0/keys"),
    ] {
        let jwks: Value = client()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{jwks}");
        let jwk = &keys[0];
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], kid);
        assert_eq!(jwk["x5t"], kid);
        // The published certificate is the one the thumbprint names (standard base64, not url-safe).
        let x5c = jwk["x5c"].as_array().unwrap();
        assert_eq!(x5c.len(), 1);
        let der = STANDARD.decode(x5c[0].as_str().unwrap()).unwrap();
        assert_eq!(sha1_thumbprint(&der), kid.as_str().unwrap());
        // v2 keys name the issuer they sign for; v1 keys do not.
        if path.contains("v2.0") {
            assert_eq!(
                jwk["issuer"],
                format!("https://login.microsoftonline.com/{FABRIKAM}/v2.0")
            );
        } else {
            assert!(jwk.get("issuer").is_none(), "{jwk}");
        }
        assert!(verify_rs256(jwt, jwk), "{path}");
        // A token altered after signing must not verify.
        let (h, rest) = jwt.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD.encode(r#"{"roles":["Machine.Isolate"]}"#);
        assert!(!verify_rs256(&format!("{h}.{forged_claims}.{sig}"), jwk));
    }

    let v1: Value = client()
        .get(format!(
            "{base}/fabrikam.onmicrosoft.com/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1["issuer"], format!("https://sts.windows.net/{FABRIKAM}/"));
    assert_eq!(
        decode(jwt).1["iss"],
        v1["issuer"],
        "tokens carry the v1 issuer"
    );
    assert_eq!(
        v1["token_endpoint"],
        format!("{base}/fabrikam.onmicrosoft.com/oauth2/token")
    );
    assert_eq!(v1["jwks_uri"], format!("{base}/common/discovery/keys"));

    let v2: Value = client()
        .get(format!(
            "{base}/{FABRIKAM}/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v2["issuer"],
        format!("https://login.microsoftonline.com/{FABRIKAM}/v2.0")
    );
    assert_eq!(
        v2["token_endpoint"],
        format!("{base}/{FABRIKAM}/oauth2/v2.0/token")
    );
    assert_eq!(
        v2["jwks_uri"],
        format!("{base}/{FABRIKAM}/discovery/v2.0/keys")
    );

    let unknown = client()
        .get(format!(
            "{base}/nowhere.example/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    assert_aadsts(unknown, 400, "invalid_request", 90002).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn v1_success_has_numbers_as_strings_and_the_resource() {
    let sandbox = start().await;
    let before = now();
    let response = post(
        &sandbox,
        "/fabrikam.onmicrosoft.com/oauth2/token",
        &v1_form(MDE),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "access_token",
            "expires_in",
            "expires_on",
            "ext_expires_in",
            "not_before",
            "resource",
            "token_type"
        ]
    );
    let expires_in: i64 = body["expires_in"]
        .as_str()
        .expect("v1 numbers are JSON strings")
        .parse()
        .unwrap();
    assert!((3599..=5399).contains(&expires_in), "{expires_in}");
    assert_eq!(body["ext_expires_in"], expires_in.to_string());
    assert_eq!(body["resource"], MDE);
    let not_before: i64 = body["not_before"].as_str().unwrap().parse().unwrap();
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    assert!(not_before >= before - 300 && not_before <= now() - 300);
    assert_eq!(expires_on, not_before + 300 + expires_in);
    let claims = decode(body["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["nbf"], not_before);
    assert_eq!(claims["exp"], expires_on);
    assert_eq!(
        claims["tid"], FABRIKAM,
        "a domain tenant's token carries its GUID"
    );
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["roles"], serde_json::json!(["Machine.Read.All"]));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn nothing_granted_means_no_roles_claim_and_aud_can_be_the_app_id() {
    let sandbox = start().await;
    let claims = claims_of(token_v2(&sandbox, NORTHWIND, MDE).await).await;
    assert!(claims.get("roles").is_none(), "{claims}");
    assert_eq!(claims["aud"], "fc780465-2017-40d4-a0c5-307022471b92");
    let claims = claims_of(token_v2(&sandbox, NORTHWIND, M365D).await).await;
    assert_eq!(claims["aud"], "8ee8fdad-f234-4243-8f3b-15c294843740");
    assert_eq!(claims["roles"], serde_json::json!(["Incident.Read.All"]));
    // Graph is a known resource; consented, nothing granted.
    let claims = claims_of(token_v2(&sandbox, FABRIKAM, GRAPH).await).await;
    assert!(claims.get("roles").is_none(), "{claims}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn request_checks_answer_as_entra_does() {
    let sandbox = start().await;
    let v2 = format!("/{FABRIKAM}/oauth2/v2.0/token");
    let v1 = format!("/{FABRIKAM}/oauth2/token");
    let form = v2_form(M365D);
    let cases: Vec<(String, Form, u16, &str, u64, &str)> = vec![
        (
            v2.clone(),
            with(form.clone(), "grant_type", Some("password")),
            400,
            "unsupported_grant_type",
            70003,
            "unsupported grant type 'password'",
        ),
        (
            v2.clone(),
            with(form.clone(), "grant_type", None),
            400,
            "invalid_request",
            900144,
            "'grant_type'",
        ),
        (
            "/common/oauth2/v2.0/token".to_owned(),
            form.clone(),
            400,
            "invalid_request",
            9001023,
            "/common or /consumers",
        ),
        (
            "/organizations/oauth2/token".to_owned(),
            v1_form(M365D),
            400,
            "invalid_request",
            9001023,
            "/organizations",
        ),
        (
            "/consumers/oauth2/v2.0/token".to_owned(),
            form.clone(),
            400,
            "invalid_request",
            9001023,
            "/common or /consumers",
        ),
        (
            "/northwind.example/oauth2/v2.0/token".to_owned(),
            form.clone(),
            400,
            "invalid_request",
            90002,
            "Tenant 'northwind.example' not found",
        ),
        (
            "/c0ffee00-0000-4000-8000-000000000000/oauth2/token".to_owned(),
            v1_form(M365D),
            400,
            "invalid_request",
            90002,
            "not found",
        ),
        (
            "/fabrikam/oauth2/v2.0/token".to_owned(),
            form.clone(),
            400,
            "invalid_request",
            900023,
            "'fabrikam' is neither a valid DNS name",
        ),
        (
            v2.clone(),
            with(form.clone(), "scope", Some(M365D)),
            400,
            "invalid_scope",
            1002012,
            "/.default suffixed",
        ),
        (
            v2.clone(),
            with(
                form.clone(),
                "scope",
                Some(&format!("{M365D}/.default {GRAPH}/.default")),
            ),
            400,
            "invalid_scope",
            700022,
            "more than one resource",
        ),
        (
            v2.clone(),
            with(form.clone(), "resource", Some(M365D)),
            400,
            "invalid_request",
            901002,
            "'resource' request parameter is not supported",
        ),
        (
            v2.clone(),
            with(form.clone(), "scope", None),
            400,
            "invalid_request",
            900144,
            "'scope'",
        ),
        (
            v1.clone(),
            with(v1_form(M365D), "resource", None),
            400,
            "invalid_request",
            900144,
            "'resource'",
        ),
        (
            v2.clone(),
            with(
                form.clone(),
                "client_id",
                Some("00000000-1111-4222-8333-444444444444"),
            ),
            400,
            "unauthorized_client",
            700016,
            "Application with identifier '00000000-1111-4222-8333-444444444444' was not found in the directory 'Fabrikam'",
        ),
        (
            v2.clone(),
            with(form.clone(), "client_secret", None),
            401,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required",
        ),
        (
            v2.clone(),
            with(
                with(
                    with(form.clone(), "client_secret", None),
                    "client_assertion_type",
                    Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ),
                "client_assertion",
                Some("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
            ),
            401,
            "invalid_client",
            700027,
            "The key was not found",
        ),
        (
            v2.clone(),
            with(form.clone(), "client_secret", Some("wrong-secret")),
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided",
        ),
        (
            v1.clone(),
            with(v1_form(M365D), "client_secret", Some(&format!("{SECRET}x"))),
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided",
        ),
        (
            v2.clone(),
            v2_form("api://9a8b7c6d-0000-0000-0000-000000000000"),
            400,
            "invalid_resource",
            500011,
            "The resource principal named api://9a8b7c6d-0000-0000-0000-000000000000 was not found in the tenant named Fabrikam",
        ),
    ];
    for (path, form, status, error, code, needle) in cases {
        let response = post(&sandbox, &path, &form).await;
        let body = assert_aadsts_shape(response, status, error, code).await;
        assert!(
            message(&body).contains(needle),
            "{path} {code}: {}",
            message(&body)
        );
    }

    let response = client()
        .get(format!("{}{v2}", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    let body = assert_aadsts(response, 400, "invalid_request", 900561).await;
    assert!(message(&body).contains("Received a GET request"));

    // A JSON body is not a form: Entra sees no grant_type.
    let response = client()
        .post(format!("{}{v2}", sandbox.base_url()))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_aadsts(response, 400, "invalid_request", 900144).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn tenant_failures_carry_the_directory_name() {
    let sandbox = start().await;
    let body = assert_aadsts(
        token_v2(&sandbox, TAILSPIN, M365D).await,
        400,
        "unauthorized_client",
        700016,
    )
    .await;
    assert!(message(&body).contains(&format!(
        "Application with identifier '{CLIENT_ID}' was not found in the directory 'Tailspin Toys'"
    )));
    // Not consented wins over a wrong secret: Entra finds no app to check the secret against.
    let response = post(
        &sandbox,
        &format!("/{TAILSPIN}/oauth2/v2.0/token"),
        &with(v2_form(M365D), "client_secret", Some("wrong")),
    )
    .await;
    assert_aadsts(response, 400, "unauthorized_client", 700016).await;

    let body = assert_aadsts(
        token_v2(&sandbox, WINGTIP, M365D).await,
        400,
        "unauthorized_client",
        7000112,
    )
    .await;
    assert_eq!(
        message(&body),
        format!("AADSTS7000112: Application '{CLIENT_ID}'(Contoso SOC Connector) is disabled.")
    );

    // Resource missing is per resource: the tenant still answers for the others.
    let body = assert_aadsts(
        token_v2(&sandbox, ADATUM, MDE).await,
        400,
        "invalid_resource",
        500011,
    )
    .await;
    assert!(message(&body).contains(&format!(
        "The resource principal named {MDE} was not found in the tenant named Adatum"
    )));
    assert_eq!(token_v2(&sandbox, ADATUM, M365D).await.status(), 200);

    let body = assert_aadsts(
        token_v2(&sandbox, MARGIE, M365D).await,
        400,
        "invalid_grant",
        53003,
    )
    .await;
    assert!(message(&body).contains("Conditional Access"));
    let body = assert_aadsts(
        token_v2(&sandbox, HUMONGOUS, M365D).await,
        400,
        "interaction_required",
        4242,
    )
    .await;
    assert_eq!(message(&body), "AADSTS4242: Something new.");
    // A wrong secret is still a wrong secret in a tenant with a custom failure.
    let response = post(
        &sandbox,
        &format!("/{MARGIE}/oauth2/v2.0/token"),
        &with(v2_form(M365D), "client_secret", Some("wrong")),
    )
    .await;
    assert_aadsts(response, 401, "invalid_client", 7000215).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn correlation_id_echoes_the_client_request_id() {
    let sandbox = start().await;
    let id = "5d3c1b2a-9f8e-4d7c-8b6a-1234567890ab";
    let response = client()
        .post(format!(
            "{}/{TAILSPIN}/oauth2/v2.0/token",
            sandbox.base_url()
        ))
        .header("client-request-id", id)
        .form(&v2_form(M365D))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["client-request-id"], id);
    let body = assert_aadsts(response, 400, "unauthorized_client", 700016).await;
    assert_eq!(body["correlation_id"], id);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn throttling_counts_per_tenant_and_resource_then_succeeds() {
    let sandbox = start().await;
    for _ in 0..2 {
        let response = token_v2(&sandbox, LITWARE, M365D).await;
        assert_eq!(response.headers()["retry-after"], "7");
        assert_aadsts(response, 429, "temporarily_unavailable", 90055).await;
    }
    let claims = claims_of(token_v2(&sandbox, LITWARE, M365D).await).await;
    assert_eq!(claims["roles"], serde_json::json!(["Incident.Read.All"]));
    assert_eq!(token_v2(&sandbox, LITWARE, M365D).await.status(), 200);
    // Another resource has its own counter.
    assert_eq!(token_v2(&sandbox, LITWARE, MDE).await.status(), 429);

    // Plain-text 429, Entra's default Retry-After.
    let response = token_v2(&sandbox, PROSEWARE, M365D).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "60");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(token_v2(&sandbox, PROSEWARE, M365D).await.status(), 200);

    let counts = sandbox.requests_per_tenant();
    assert_eq!(counts[LITWARE], 5);
    assert_eq!(counts[PROSEWARE], 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn transient_errors_then_success() {
    let sandbox = start().await;
    for _ in 0..2 {
        let response = token_v2(&sandbox, FOURTH_COFFEE, M365D).await;
        assert_aadsts(response, 502, "temporarily_unavailable", 90033).await;
    }
    assert_eq!(token_v2(&sandbox, FOURTH_COFFEE, M365D).await.status(), 200);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_body_that_is_not_json() {
    let sandbox = start().await;
    let response = token_v2(&sandbox, ALPINE, M365D).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(serde_json::from_str::<Value>(&text).is_err());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn tokens_that_lie() {
    let sandbox = start().await;
    let claims = claims_of(token_v2(&sandbox, TREY, M365D).await).await;
    let tid = claims["tid"].as_str().unwrap();
    assert_ne!(tid, TREY);
    assert!(uuid::Uuid::parse_str(tid).is_ok());
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{tid}/"));
    assert_eq!(claims["aud"], M365D);

    let claims = claims_of(token_v2(&sandbox, COHO, M365D).await).await;
    assert_ne!(claims["aud"], M365D);
    assert_ne!(claims["aud"], "8ee8fdad-f234-4243-8f3b-15c294843740");
    assert_eq!(claims["tid"], COHO);
    let claims = claims_of(token_v2(&sandbox, COHO, GRAPH).await).await;
    assert_ne!(claims["aud"], GRAPH);

    let claims = claims_of(token_v2(&sandbox, RELECLOUD, M365D).await).await;
    assert_ne!(claims["appid"], CLIENT_ID);
    assert_eq!(claims["tid"], RELECLOUD);

    let claims = claims_of(token_v2(&sandbox, LAMNA, M365D).await).await;
    assert!(claims["exp"].as_i64().unwrap() < now(), "{claims}");
    assert_eq!(claims["tid"], LAMNA);
    assert_eq!(claims["appid"], CLIENT_ID);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn latency_global_and_per_tenant() {
    let sandbox = start().await;
    // Lower bounds prove a delay was added; "not delayed" is shown relative to a delayed request
    // (not against a wall-clock limit), so a slow machine cannot fail it.
    let started = Instant::now();
    assert_eq!(token_v2(&sandbox, SLOW, M365D).await.status(), 200);
    let slow = started.elapsed();
    assert!(slow >= Duration::from_millis(500));

    let started = Instant::now();
    assert_eq!(token_v2(&sandbox, FABRIKAM, M365D).await.status(), 200);
    assert!(started.elapsed() < slow, "only the slow tenant is delayed");
    sandbox.set_latency(Duration::from_millis(1_000));
    let started = Instant::now();
    assert_eq!(token_v2(&sandbox, FABRIKAM, M365D).await.status(), 200);
    let delayed = started.elapsed();
    assert!(delayed >= Duration::from_millis(1_000));
    // The inspection endpoint is not slowed down.
    let started = Instant::now();
    let served = client()
        .get(format!("{}/_sandbox/requests", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert!(
        started.elapsed() < delayed,
        "the inspection endpoint skips the global latency"
    );
    sandbox.set_latency(Duration::ZERO);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_hanging_tenant_never_answers_and_shutdown_still_returns() {
    let sandbox = start().await;
    let result = client()
        .post(format!(
            "{}/{WOODGROVE}/oauth2/v2.0/token",
            sandbox.base_url()
        ))
        .timeout(Duration::from_millis(400))
        .form(&v2_form(M365D))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    // The client gave up: the log says so with status 0 once the server notices.
    let mut logged = None;
    for _ in 0..50 {
        logged = sandbox.request_log().into_iter().next();
        if logged.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logged = logged.expect("the abandoned request is logged");
    assert_eq!(logged.status, 0);
    assert_eq!(logged.tenant.as_deref(), Some(WOODGROVE));
    assert_eq!(sandbox.requests_per_tenant()[WOODGROVE], 1);
    // Another request left hanging while the sandbox stops.
    let url = format!("{}/{WOODGROVE}/oauth2/v2.0/token", sandbox.base_url());
    let pending =
        tokio::spawn(async move { client().post(url).form(&v2_form(M365D)).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Liveness, not speed: shutdown must not wait for the hanging request to end (it never would).
    let stopped = tokio::time::timeout(Duration::from_secs(60), sandbox.shutdown()).await;
    assert!(stopped.is_ok(), "shutdown waited on a hanging request");
    let _ = pending.await;
}

#[tokio::test]
async fn counts_and_log_are_served_and_hold_no_secret() {
    let sandbox = start().await;
    token_v2(&sandbox, FABRIKAM, M365D).await;
    post(
        &sandbox,
        "/Fabrikam.onmicrosoft.com/oauth2/token",
        &v1_form(MDE),
    )
    .await;
    token_v2(&sandbox, TAILSPIN, M365D).await;
    client()
        .get(format!("{}/common/discovery/keys", sandbox.base_url()))
        .send()
        .await
        .unwrap();

    let counts = sandbox.requests_per_tenant();
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert_eq!(counts[FABRIKAM], 1);
    assert_eq!(counts["fabrikam.onmicrosoft.com"], 1);
    assert_eq!(counts[TAILSPIN], 1);

    let log = sandbox.request_log();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, format!("/{FABRIKAM}/oauth2/v2.0/token"));
    assert_eq!(log[0].tenant.as_deref(), Some(FABRIKAM));
    assert_eq!(log[0].status, 200);
    assert_eq!(log[2].status, 400);
    assert_eq!(log[3].tenant.as_deref(), Some("common"));

    let served: Value = client()
        .get(format!("{}/_sandbox/requests", sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["requests_per_tenant"][FABRIKAM], 1);
    assert_eq!(served["log"].as_array().unwrap().len(), 4);
    assert_eq!(
        served["log"][1]["path"],
        "/Fabrikam.onmicrosoft.com/oauth2/token"
    );
    assert!(!served.to_string().contains(SECRET));
    assert!(!format!("{log:?}").contains(SECRET));
    assert!(!format!("{sandbox:?}").contains(SECRET));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn only_loopback_listens() {
    for addr in ["0.0.0.0:0", "192.0.2.1:0"] {
        let err = Sandbox::start(
            scenario(),
            SecretString::from(SECRET),
            addr.parse().unwrap(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SandboxError::NotLoopback(_)), "{err}");
    }
}

/// The demo's manifest and scenario agree, and between them show every status verify reports.
#[tokio::test]
async fn demo_scenario_shows_every_status() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let scenario = Scenario::from_path(&root.join("demo.sandbox.yaml")).unwrap();
    assert_eq!(scenario.secret_env(), "CONSENTRY_CLIENT_SECRET");
    let manifest: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(root.join("demo.yaml")).unwrap()).unwrap();
    let client_id = manifest["app"]["client_id"].as_str().unwrap().to_owned();
    assert_eq!(scenario.app.client_id, client_id);
    let sandbox = Sandbox::start(
        scenario,
        SecretString::from(SECRET),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let resources = [
        (
            "microsoft-365-defender",
            M365D,
            "8ee8fdad-f234-4243-8f3b-15c294843740",
        ),
        (
            "defender-for-endpoint",
            MDE,
            "fc780465-2017-40d4-a0c5-307022471b92",
        ),
    ];
    let mut seen = Vec::new();
    for tenant in manifest["tenants"].as_array().unwrap() {
        let name = tenant["name"].as_str().unwrap();
        let id = tenant["id"].as_str().unwrap();
        let mut statuses = Vec::new();
        for (alias, resource, app_id) in resources {
            let required = tenant["apis"][alias]["roles"]
                .as_array()
                .or(manifest["apis"][alias]["roles"].as_array())
                .unwrap();
            let mut required: Vec<&str> = required.iter().map(|r| r.as_str().unwrap()).collect();
            required.sort_unstable();
            let form = with(v2_form(resource), "client_id", Some(&client_id));
            // Retry throttling and outages as verify does (without the waiting).
            let mut response = None;
            for _ in 0..4 {
                let r = post(&sandbox, &format!("/{id}/oauth2/v2.0/token"), &form).await;
                if r.status() != 429 && !r.status().is_server_error() {
                    response = Some(r);
                    break;
                }
            }
            let response = response.unwrap();
            let status = if response.status() == 200 {
                let claims = claims_of(response).await;
                let tid_ok = id.contains('.') || claims["tid"] == id;
                let aud_ok = claims["aud"] == resource || claims["aud"] == app_id;
                let granted: Vec<&str> = claims["roles"]
                    .as_array()
                    .map(|r| r.iter().map(|r| r.as_str().unwrap()).collect())
                    .unwrap_or_default();
                if !tid_ok || !aud_ok || claims["appid"] != client_id.as_str() {
                    "invalid_token"
                } else if required.iter().any(|r| !granted.contains(r)) {
                    "missing_roles"
                } else if granted.iter().any(|g| !required.contains(g)) {
                    "extra"
                } else {
                    "ok"
                }
            } else {
                let body: Value = response.json().await.unwrap();
                match body["error_codes"][0].as_u64().unwrap() {
                    700016 => "not_consented",
                    7000112 => "disabled",
                    500011 => "resource_missing",
                    90002 => "tenant_not_found",
                    _ => "error",
                }
            };
            statuses.push(status);
        }
        seen.push(format!("{name}: {}", statuses.join(" ")));
    }
    assert_eq!(
        seen,
        [
            "Fabrikam: ok ok",
            "Northwind Traders: ok ok",
            "Wide World Importers: ok ok",
            "Tailspin Toys: ok ok",
            "Contoso Pharmaceuticals: ok missing_roles",
            "Adventure Works: extra extra",
            "Litware: not_consented not_consented",
            "Wingtip Toys: disabled disabled",
            "Adatum Corporation: ok resource_missing",
            "Proseware: tenant_not_found tenant_not_found",
            "Trey Research: invalid_token invalid_token",
            "Margie's Travel: error error",
            "Coho Winery: ok ok",
            "Fourth Coffee: ok ok",
        ]
    );
    let counts = sandbox.requests_per_tenant();
    assert_eq!(
        counts["bc7ee00a-1915-47c2-a573-3ef170353f54"], 6,
        "2 throttled + 1 per API"
    );
    assert_eq!(
        counts["778791f3-a2e9-4435-89f4-f9e7cbf8dcff"], 4,
        "1 outage + 1 per API"
    );
    assert_eq!(counts["northwindtraders.onmicrosoft.com"], 2);
    sandbox.shutdown().await;
}

/// A `MakeWriter` that appends every log line to a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_at_trace_level_hold_no_secret_and_no_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Global, not a thread-local default: tracing caches callsite interest across threads, so a
    // scoped subscriber misses events when other tests run at the same time. Other tests' logs
    // land here too, and must not leak either.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sandbox = start().await;
    let body: Value = token_v2(&sandbox, FABRIKAM, M365D)
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let planted_wrong = "planted-wrong-secret-9c1d";
    let response = post(
        &sandbox,
        &format!("/{FABRIKAM}/oauth2/v2.0/token"),
        &with(v2_form(M365D), "client_secret", Some(planted_wrong)),
    )
    .await;
    assert_eq!(response.status(), 401);
    sandbox.shutdown().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("sandbox request"), "{logs}");
    assert!(logs.contains("status=401"), "{logs}");
    for needle in [SECRET, planted_wrong, token.as_str()] {
        assert!(!logs.contains(needle), "{needle} leaked into the logs");
    }
    // Neither the JWT's signature nor its payload, in any form.
    let (_, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    assert!(!logs.contains(payload) && !logs.contains(signature));
}

/// Snapshots live in the top-level `snapshots/` folder; the sandbox's port reads `[PORT]`.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => true,
            filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")],
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// Replaces every occurrence of each value with its placeholder.
fn scrub(text: String, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .filter(|(value, _)| !value.is_empty())
        .fold(text, |text, (value, placeholder)| {
            text.replace(value, placeholder)
        })
}

async fn get_json(url: String) -> Value {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

#[tokio::test]
async fn wire_shapes_snapshot() {
    let sandbox = start().await;
    let base = sandbox.base_url();

    let body: Value = token_v2(&sandbox, TAILSPIN, M365D)
        .await
        .json()
        .await
        .unwrap();
    let error = scrub(
        pretty(&body),
        &[
            (body["trace_id"].as_str().unwrap(), "[TRACE_ID]"),
            (body["correlation_id"].as_str().unwrap(), "[CORRELATION_ID]"),
            (body["timestamp"].as_str().unwrap(), "[TIMESTAMP]"),
        ],
    );
    snapshot!("error_700016", error);

    let body: Value = post(
        &sandbox,
        &format!("/{FABRIKAM}/oauth2/token"),
        &v1_form(M365D),
    )
    .await
    .json()
    .await
    .unwrap();
    let jwt = body["access_token"].as_str().unwrap();
    let (header, _) = decode(jwt);
    // The payload as sent, claim order included (a Value would sort the keys).
    let payload: serde_json::Map<String, Value> = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let claims = Value::Object(payload.clone());
    let raw_payload = String::from_utf8(
        URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let iat = claims["iat"].to_string();
    let exp = claims["exp"].to_string();
    let expires_in = body["expires_in"].as_str().unwrap().to_owned();
    let text = format!(
        "{}\n--- header\n{}\n--- claims (as sent)\n{}",
        pretty(&body),
        pretty(&header),
        raw_payload,
    );
    let kid = header["kid"].as_str().unwrap().to_owned();
    let volatile = [
        (jwt, "[JWT]"),
        (kid.as_str(), "[KID]"),
        (claims["uti"].as_str().unwrap(), "[UTI]"),
        (claims["aio"].as_str().unwrap(), "[AIO]"),
        (iat.as_str(), "[IAT]"),
        (exp.as_str(), "[EXP]"),
        (expires_in.as_str(), "[EXPIRES_IN]"),
    ];
    snapshot!("token_v1", scrub(text, &volatile));

    // Keys: the certificate, modulus and thumbprint change every start.
    let mut keys = String::new();
    for path in [
        "/common/discovery/keys".to_owned(),
        format!("/{FABRIKAM}/discovery/v2.0/keys"),
    ] {
        let jwks = get_json(format!("{base}{path}")).await;
        let jwk = &jwks["keys"][0];
        let text = scrub(
            pretty(&jwks),
            &[
                (jwk["x5c"][0].as_str().unwrap(), "[CERTIFICATE]"),
                (jwk["n"].as_str().unwrap(), "[MODULUS]"),
                (kid.as_str(), "[KID]"),
            ],
        );
        keys.push_str(&format!("--- GET {path}\n{text}\n"));
    }
    snapshot!("jwks", keys);

    let mut discovery = String::new();
    for path in [
        format!("/{FABRIKAM}/.well-known/openid-configuration"),
        format!("/{FABRIKAM}/v2.0/.well-known/openid-configuration"),
        "/common/v2.0/.well-known/openid-configuration".to_owned(),
        format!(
            "/common/discovery/instance?api-version=1.1&authorization_endpoint={base}/{FABRIKAM}/oauth2/v2.0/authorize"
        ),
    ] {
        let document = get_json(format!("{base}{path}")).await;
        discovery.push_str(&format!("--- GET {path}\n{}\n", pretty(&document)));
    }
    snapshot!("discovery", discovery);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn placeholder_signatures_keep_the_token_shape_but_never_verify() {
    let mut scenario = scenario();
    assert_eq!(scenario.signature, consentry::sandbox::Signature::Rs256);
    scenario.signature = consentry::sandbox::Signature::Placeholder;
    let sandbox = Sandbox::start(
        scenario,
        SecretString::from(SECRET),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let body: Value = token_v2(&sandbox, FABRIKAM, M365D)
        .await
        .json()
        .await
        .unwrap();
    let jwt = body["access_token"].as_str().unwrap();
    let (header, claims) = decode(jwt);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["tid"], FABRIKAM);
    assert_eq!(
        claims["roles"],
        serde_json::json!(["AdvancedHunting.Read.All", "Incident.Read.All"])
    );
    let signature = URL_SAFE_NO_PAD
        .decode(jwt.rsplit_once('.').unwrap().1)
        .unwrap();
    assert_eq!(signature.len(), 256);
    let jwks: Value = client()
        .get(format!("{}/common/discovery/keys", sandbox.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!verify_rs256(jwt, &jwks["keys"][0]));
    sandbox.shutdown().await;
}

/// A sandbox on HTTPS with a generated CA, and a client that trusts that CA only.
async fn start_tls() -> (Sandbox, reqwest::Client) {
    let sandbox = Sandbox::start_with(
        scenario(),
        SecretString::from(SECRET),
        Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: Tls::Generate,
        },
    )
    .await
    .unwrap();
    let ca = reqwest::Certificate::from_pem(sandbox.ca_pem().unwrap().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_certs_only([ca])
        .build()
        .unwrap();
    (sandbox, client)
}

#[tokio::test]
async fn tls_serves_tokens_and_discovery_to_a_client_trusting_the_generated_ca() {
    let (sandbox, trusting) = start_tls().await;
    let base = sandbox.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let pem = sandbox.ca_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(
        !pem.contains("PRIVATE KEY"),
        "only the certificate is handed out"
    );

    let response = trusting
        .post(format!("{base}/{FABRIKAM}/oauth2/v2.0/token"))
        .form(&v2_form(M365D))
        .send()
        .await
        .unwrap();
    let claims = claims_of(response).await;
    assert_eq!(claims["tid"], FABRIKAM);

    // Every name of this machine is in the certificate, and discovery answers with the name used.
    let port = sandbox.base_url().rsplit(':').next().unwrap().to_owned();
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{port}/{FABRIKAM}/v2.0/.well-known/openid-configuration");
        let discovery: Value = trusting
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            discovery["token_endpoint"],
            format!("https://{host}:{port}/{FABRIKAM}/oauth2/v2.0/token")
        );
        assert_eq!(
            discovery["jwks_uri"],
            format!("https://{host}:{port}/{FABRIKAM}/discovery/v2.0/keys")
        );
    }
    let response = trusting
        .post(format!("{base}/{TAILSPIN}/oauth2/v2.0/token"))
        .form(&v2_form(M365D))
        .send()
        .await
        .unwrap();
    let body = assert_aadsts(response, 400, "unauthorized_client", 700016).await;
    assert!(
        body["error_uri"].as_str().unwrap().starts_with("https://"),
        "{body}"
    );

    // A client that does not trust the CA is refused at the handshake: nothing is sent.
    let untrusting = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let err = untrusting
        .post(format!("{base}/{FABRIKAM}/oauth2/v2.0/token"))
        .form(&v2_form(M365D))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    // Plain HTTP to the TLS port gets no answer either.
    assert!(
        client()
            .get(format!("http://127.0.0.1:{port}/common/discovery/keys"))
            .send()
            .await
            .is_err()
    );
    assert_eq!(sandbox.requests_per_tenant()[FABRIKAM], 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn tls_with_a_certificate_brought_as_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let options = |cert: &std::path::Path, key: &std::path::Path| Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Tls::Files {
            cert: cert.to_owned(),
            key: key.to_owned(),
        },
    };
    let sandbox = Sandbox::start_with(
        scenario(),
        SecretString::from(SECRET),
        options(&cert_path, &key_path),
    )
    .await
    .unwrap();
    assert!(sandbox.ca_pem().is_none());
    let port = sandbox.base_url().rsplit(':').next().unwrap().to_owned();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let keys: Value = client
        .get(format!("https://localhost:{port}/common/discovery/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    sandbox.shutdown().await;

    // A key file that is not a key, and a missing file: clear errors naming the file.
    let err = Sandbox::start_with(
        scenario(),
        SecretString::from(SECRET),
        options(&cert_path, &cert_path),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SandboxError::Tls(_)), "{err}");
    assert!(err.to_string().contains("cert.pem"), "{err}");
    let err = Sandbox::start_with(
        scenario(),
        SecretString::from(SECRET),
        options(&dir.path().join("absent.pem"), &key_path),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("absent.pem"), "{err}");
}

#[tokio::test]
async fn instance_discovery_answers_in_entra_shape() {
    let sandbox = start().await;
    let base = sandbox.base_url();
    let authorize = format!("{base}/{FABRIKAM}/oauth2/v2.0/authorize");
    let url = url::Url::parse_with_params(
        &format!("{base}/common/discovery/instance"),
        [
            ("api-version", "1.1"),
            ("authorization_endpoint", authorize.as_str()),
        ],
    )
    .unwrap();
    let body: Value = client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let host = base.trim_start_matches("http://");
    assert_eq!(
        body,
        serde_json::json!({
            "tenant_discovery_endpoint": format!("{base}/{FABRIKAM}/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        })
    );
    // The discovery endpoint it names exists.
    let discovery = client()
        .get(body["tenant_discovery_endpoint"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), 200);
    // No authorization endpoint: the common one.
    let body: Value = client()
        .get(format!("{base}/common/discovery/instance?api-version=1.1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["tenant_discovery_endpoint"],
        format!("{base}/common/v2.0/.well-known/openid-configuration")
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn urls_follow_the_host_header_and_ignore_a_hostile_one() {
    let sandbox = start().await;
    let base = sandbox.base_url();
    let get = |host: &'static str| {
        client()
            .get(format!(
                "{base}/{FABRIKAM}/.well-known/openid-configuration"
            ))
            .header("host", host)
            .send()
    };
    let body: Value = get("login.example.test:8443")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["token_endpoint"],
        format!("http://login.example.test:8443/{FABRIKAM}/oauth2/token")
    );
    let body: Value = get("evil\"/x?y").await.unwrap().json().await.unwrap();
    assert_eq!(
        body["token_endpoint"],
        format!("{base}/{FABRIKAM}/oauth2/token"),
        "a Host that is not host[:port] falls back to the listen address"
    );
    sandbox.shutdown().await;
}

/// `Authorization: Basic` with the url-encoded id and secret (RFC 6749 §2.3.1).
fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

#[tokio::test]
async fn client_secret_basic_is_accepted_on_v1_and_v2() {
    let sandbox = start().await;
    let base = sandbox.base_url();
    let without_secret = |form: Form| with(with(form, "client_secret", None), "client_id", None);
    for (path, form) in [
        (
            format!("/{FABRIKAM}/oauth2/v2.0/token"),
            without_secret(v2_form(M365D)),
        ),
        (
            format!("/{FABRIKAM}/oauth2/token"),
            without_secret(v1_form(M365D)),
        ),
    ] {
        let response = client()
            .post(format!("{base}{path}"))
            .header("authorization", basic(CLIENT_ID, SECRET))
            .form(&form)
            .send()
            .await
            .unwrap();
        let claims = claims_of(response).await;
        assert_eq!(claims["appid"], CLIENT_ID, "{path}");
    }
    // A wrong secret in the header is a wrong secret.
    let response = client()
        .post(format!("{base}/{FABRIKAM}/oauth2/v2.0/token"))
        .header("authorization", basic(CLIENT_ID, "wrong"))
        .form(&without_secret(v2_form(M365D)))
        .send()
        .await
        .unwrap();
    assert_aadsts(response, 401, "invalid_client", 7000215).await;
    // Another client in the header than in the body is not this app.
    let response = client()
        .post(format!("{base}/{FABRIKAM}/oauth2/v2.0/token"))
        .header(
            "authorization",
            basic("00000000-0000-0000-0000-000000000001", SECRET),
        )
        .form(&with(v2_form(M365D), "client_secret", None))
        .send()
        .await
        .unwrap();
    assert_aadsts(response, 400, "unauthorized_client", 700016).await;
    // Garbage after Basic is no credential.
    let response = client()
        .post(format!("{base}/{FABRIKAM}/oauth2/v2.0/token"))
        .header("authorization", "Basic %%%")
        .form(&with(v2_form(M365D), "client_secret", None))
        .send()
        .await
        .unwrap();
    assert_aadsts(response, 401, "invalid_client", 7000216).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn resource_aliases_get_tokens_for_the_name_asked() {
    let sandbox = start().await;
    // The how-to's Python sample: v1, its own name for Defender for Endpoint.
    let legacy = "https://api.securitycenter.windows.com";
    let response = post(
        &sandbox,
        &format!("/{FABRIKAM}/oauth2/token"),
        &v1_form(legacy),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["resource"], legacy);
    let claims = decode(body["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["aud"], legacy, "aud is the name asked for");
    assert_eq!(
        claims["roles"],
        serde_json::json!(["Machine.Read.All"]),
        "granted on the API, whatever its name"
    );
    // The curl sample's name, with a trailing slash, on v2.
    let curl = "https://securitycenter.onmicrosoft.com/windowsatpservice/";
    let claims = claims_of(token_v2(&sandbox, FABRIKAM, curl).await).await;
    assert_eq!(claims["aud"], curl);
    // A regional name of Defender XDR; an app_id tenant gets the app id whatever the name.
    let claims =
        claims_of(token_v2(&sandbox, NORTHWIND, "https://api-eu.security.microsoft.com").await)
            .await;
    assert_eq!(claims["aud"], "8ee8fdad-f234-4243-8f3b-15c294843740");
    // A missing resource is missing under every name.
    let response = token_v2(&sandbox, ADATUM, legacy).await;
    assert_aadsts(response, 400, "invalid_resource", 500011).await;
    // A look-alike is no alias.
    let response = token_v2(
        &sandbox,
        FABRIKAM,
        "https://api.securitycenter.windows.com.example",
    )
    .await;
    assert_aadsts(response, 400, "invalid_resource", 500011).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn request_log_keeps_headers_and_redacts_credentials() {
    let sandbox = start().await;
    let base = sandbox.base_url();
    let id = "5d3c1b2a-9f8e-4d7c-8b6a-1234567890ab";
    let assertion = "eyJhbGciOiJSUzI1NiJ9.planted-assertion.sig";
    client()
        .post(format!("{base}/{FABRIKAM}/oauth2/v2.0/token"))
        .header("client-request-id", id)
        .header("user-agent", "rehearsal/1.0")
        .header("authorization", basic(CLIENT_ID, SECRET))
        .header("cookie", format!("session={SECRET}"))
        .header("x-client-secret", SECRET)
        .header("client_assertion", assertion)
        .form(&with(v2_form(M365D), "client_secret", None))
        .send()
        .await
        .unwrap();
    let log = sandbox.request_log();
    let headers = &log[0].headers;
    assert_eq!(headers["client-request-id"], id);
    assert_eq!(headers["user-agent"], "rehearsal/1.0");
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    for name in [
        "authorization",
        "cookie",
        "x-client-secret",
        "client_assertion",
    ] {
        assert_eq!(headers[name], "[REDACTED]", "{name}");
    }
    let served = client()
        .get(format!("{base}/_sandbox/requests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let basic_value = basic(CLIENT_ID, SECRET);
    let encoded = basic_value.trim_start_matches("Basic ");
    for needle in [SECRET, encoded, assertion] {
        assert!(!served.contains(needle), "{needle} in {served}");
        assert!(!format!("{log:?}").contains(needle), "{needle}");
    }
    assert!(served.contains("rehearsal/1.0"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn claims_come_in_entras_order() {
    let sandbox = start().await;
    let body: Value = token_v2(&sandbox, FABRIKAM, M365D)
        .await
        .json()
        .await
        .unwrap();
    let jwt = body["access_token"].as_str().unwrap();
    let payload = String::from_utf8(
        URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let order = [
        "aud", "iss", "iat", "nbf", "exp", "aio", "appid", "appidacr", "idp", "idtyp", "oid", "rh",
        "sub", "roles", "tid", "uti", "ver",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|c| {
            payload
                .find(&format!("\"{c}\":"))
                .unwrap_or_else(|| panic!("{c}: {payload}"))
        })
        .collect();
    let mut sorted = positions.clone();
    sorted.sort_unstable();
    assert_eq!(positions, sorted, "{payload}");
    let header = String::from_utf8(
        URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        header.starts_with(r#"{"typ":"JWT","alg":"RS256","x5t":"#),
        "{header}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_command_serves_tls_and_writes_its_ca() {
    use std::io::{BufRead as _, Read as _};
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("sandbox-ca.pem");
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/demo.sandbox.yaml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args(["sandbox", "--tls", "--scenario"])
        .arg(&scenario)
        .arg("--tls-ca-out")
        .arg(&ca_path)
        .env("CONSENTRY_CLIENT_SECRET", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut base = String::new();
    let read = tokio::task::spawn_blocking(move || stdout.read_line(&mut base).map(|_| base));
    let base = tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the sandbox printed its URL")
        .unwrap()
        .unwrap();
    let base = base.trim().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let pem = std::fs::read_to_string(&ca_path).unwrap();
    let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = trusting
        .post(format!("{base}/fabrikam.onmicrosoft.com/oauth2/token"))
        .form(&with(
            v1_form("https://api.securitycenter.windows.com"),
            "client_id",
            Some("5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890"),
        ))
        .send()
        .await
        .unwrap();
    let claims = claims_of(response).await;
    assert_eq!(claims["aud"], "https://api.securitycenter.windows.com");
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains(&ca_path.display().to_string()), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
}

/// `docker stop` and service managers send SIGTERM: the sandbox stops as on Ctrl-C, exits 0, and
/// removes the temp file it wrote its CA to.
#[test]
fn the_sandbox_command_stops_cleanly_on_sigterm_and_removes_its_temp_ca() {
    use std::io::BufRead as _;
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/demo.sandbox.yaml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args(["sandbox", "--tls", "--listen", "127.0.0.1:0", "--scenario"])
        .arg(&scenario)
        .env("CONSENTRY_CLIENT_SECRET", SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (lines, seen) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let mut line = String::new();
        while stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
            let _ = lines.send(line.clone());
            all.push_str(&line);
            line.clear();
        }
        all
    });
    let mut ca = None;
    while ca.is_none() {
        let line = seen
            .recv_timeout(Duration::from_secs(60))
            .expect("the sandbox names its CA file");
        ca = line
            .strip_prefix("sandbox CA certificate: ")
            .and_then(|rest| rest.split(" (").next())
            .map(std::path::PathBuf::from);
    }
    let ca = ca.unwrap();
    assert!(ca.is_file(), "{}", ca.display());
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let said = reader.join().unwrap();
    assert_eq!(exit.code(), Some(0), "{said}");
    assert!(said.contains("sandbox stopping (SIGTERM)"), "{said}");
    assert!(
        !ca.exists(),
        "the temp CA file {} is still there",
        ca.display()
    );
}

/// consentry's own token client against the HTTPS sandbox, trusting the generated CA through
/// `SSL_CERT_FILE` (the system trust store's override), and refusing it without. Linux only: there
/// the platform verifier reads the system roots through rustls-native-certs, which honours
/// `SSL_CERT_FILE`; macOS and Windows ask the OS trust store, which does not.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn consentry_verify_gets_tokens_over_tls_when_the_ca_is_trusted() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let sandbox = Sandbox::start_with(
        Scenario::from_path(&root.join("demo.sandbox.yaml")).unwrap(),
        SecretString::from(SECRET),
        Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: Tls::Generate,
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sandbox.ca_pem().unwrap()).unwrap();
    let verify = |trust: Option<&std::path::Path>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_consentry"));
        command
            .args(["verify", "--format", "json", "--retries", "0", "--tenant"])
            .args([
                "Fabrikam",
                "--tenant",
                "Northwind Traders",
                "--authority-host",
            ])
            .arg(sandbox.base_url())
            .arg(root.join("demo.yaml"))
            .env("CONSENTRY_CLIENT_SECRET", SECRET)
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        if let Some(path) = trust {
            command.env("SSL_CERT_FILE", path);
        }
        command
    };
    let output = tokio::task::spawn_blocking({
        let mut command = verify(Some(&ca));
        move || command.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let statuses: Vec<&str> = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "ok"], "{stdout}");
    let counted: usize = sandbox.requests_per_tenant().values().sum();
    assert_eq!(counted, 4, "two tenants × two APIs, over TLS");

    // Without the CA nothing is trusted: no token request reaches the sandbox.
    let output = tokio::task::spawn_blocking({
        let mut command = verify(None);
        move || command.output().unwrap()
    })
    .await
    .unwrap();
    assert_ne!(output.status.code(), Some(0));
    let counted_after: usize = sandbox.requests_per_tenant().values().sum();
    assert_eq!(counted_after, counted);
    sandbox.shutdown().await;
}

#[test]
fn the_ca_output_never_replaces_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.sandbox.yaml");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/demo.sandbox.yaml"),
    )
    .unwrap();
    std::fs::write(&scenario, &text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_consentry"))
        .args(["sandbox", "--tls", "--scenario"])
        .arg(&scenario)
        .arg("--tls-ca-out")
        .arg(dir.path().join(".").join("s.sandbox.yaml"))
        .env("CONSENTRY_CLIENT_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("one of the sandbox's inputs"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&scenario).unwrap(), text);
}
