//! The app's credential kinds end to end through the public API: loading from files and
//! environment variables as a manifest names them, what each sends, GitHub Actions' OIDC endpoint
//! played by a local server (fetch shared, cached, bounded), and that no key, password, assertion
//! or token reaches a Debug, an error, a report field or a log line.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers build keys, certificates and servers: a panic is a test failure"
)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use consentry::credential::{AppCredential, ClientAuth, CredentialError, CredentialKind};
use consentry::model::{CertificateSpec, Credential, FederatedSource, SecretSource, Signing};

const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const TOKEN_URL: &str =
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
const PFX_PASSWORD: &str = "pfx-PASSWORD-4b1e";

struct TestCert {
    key_pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
}

fn test_cert() -> &'static TestCert {
    static CERT: OnceLock<TestCert> = OnceLock::new();
    CERT.get_or_init(|| {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["consentry-test".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2045, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        TestCert {
            key_pkcs8: key.serialize_der(),
            cert_der: cert.der().to_vec(),
        }
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn pfx(cert: &TestCert, password: &str) -> Vec<u8> {
    let mut store = p12_keystore::KeyStore::new();
    let chain = p12_keystore::PrivateKeyChain::new(
        cert.key_pkcs8.clone(),
        [7u8; 20],
        [p12_keystore::Certificate::from_der(&cert.cert_der).unwrap()],
    );
    store.add_entry(
        "consentry",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    store.writer(password).write().unwrap()
}

/// A fragment of the private key's base64 that any leak would contain.
fn key_fragment() -> String {
    STANDARD.encode(&test_cert().key_pkcs8)[200..240].to_owned()
}

fn env_of(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    move |name| vars.get(name).cloned()
}

fn certificate(
    source: SecretSource,
    password: Option<SecretSource>,
    signing: Signing,
) -> Credential {
    Credential::Certificate(CertificateSpec {
        source,
        password,
        signing,
    })
}

fn claims(jwt: &str) -> (serde_json::Value, serde_json::Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    let decode = |s: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
    (decode(parts[0]), decode(parts[1]))
}

fn assertion(auth: &ClientAuth) -> String {
    let fields = auth.form_fields();
    assert_eq!(
        fields[0],
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
    );
    assert_eq!(fields[1].0, "client_assertion");
    fields[1].1.to_owned()
}

#[tokio::test]
async fn a_pem_file_signs_assertions_for_the_exact_token_url() {
    let dir = tempfile::tempdir().unwrap();
    let cert = test_cert();
    std::fs::write(
        dir.path().join("consentry.pem"),
        pem("PRIVATE KEY", &cert.key_pkcs8) + &pem("CERTIFICATE", &cert.cert_der),
    )
    .unwrap();
    let cred = AppCredential::load(
        &certificate(
            SecretSource::File("consentry.pem".into()),
            None,
            Signing::Ps256,
        ),
        CLIENT_ID,
        dir.path(),
        &|_| None,
    )
    .unwrap();
    let http = reqwest::Client::new();
    let url = url::Url::parse(TOKEN_URL).unwrap();
    let first = assertion(&cred.client_auth(&http, &url).await.unwrap());
    let second = assertion(&cred.client_auth(&http, &url).await.unwrap());
    let (header, c1) = claims(&first);
    let (_, c2) = claims(&second);
    assert_eq!(header["alg"], "PS256");
    assert_eq!(c1["aud"], TOKEN_URL);
    assert_eq!(
        (c1["iss"].as_str(), c1["sub"].as_str()),
        (Some(CLIENT_ID), Some(CLIENT_ID))
    );
    assert_ne!(c1["jti"], c2["jti"], "a fresh jti per request");
    let exp_minus_nbf = c1["exp"].as_i64().unwrap() - c1["nbf"].as_i64().unwrap();
    assert!(exp_minus_nbf > 0 && exp_minus_nbf <= 600, "{exp_minus_nbf}");

    let info = cred.info();
    assert_eq!(info.kind, CredentialKind::Certificate);
    assert_eq!(info.algorithm.as_deref(), Some("PS256"));
    assert_eq!(info.source.as_deref(), Some("file"));
    let thumbprint = info.thumbprint.clone().unwrap();
    assert_eq!(thumbprint.len(), 40);
    assert_eq!(
        consentry::credential::x5t_from_hex(&thumbprint).unwrap(),
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &cert.cert_der
        ))
    );
    assert!(cred.warnings().is_empty());
    // The report's view round-trips and carries no key material.
    let json = serde_json::to_string(&info).unwrap();
    assert_eq!(
        serde_json::from_str::<consentry::credential::CredentialInfo>(&json).unwrap(),
        info
    );
    assert!(!json.contains(&key_fragment()));
}

#[tokio::test]
async fn a_base64_pfx_in_an_environment_variable_with_its_password() {
    let cert = test_cert();
    let env = env_of(&[
        ("CERT_PFX", STANDARD.encode(pfx(cert, PFX_PASSWORD))),
        ("PFX_PASSWORD", format!("{PFX_PASSWORD}\n")),
    ]);
    let spec = certificate(
        SecretSource::Env("CERT_PFX".into()),
        Some(SecretSource::Env("PFX_PASSWORD".into())),
        Signing::Rs256,
    );
    let cred = AppCredential::load(&spec, CLIENT_ID, Path::new("."), &env).unwrap();
    let http = reqwest::Client::new();
    let auth = cred
        .client_auth(&http, &url::Url::parse(TOKEN_URL).unwrap())
        .await
        .unwrap();
    let (header, _) = claims(&assertion(&auth));
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5t"].as_str().unwrap().len(), 27);
    assert_eq!(cred.info().source.as_deref(), Some("env"));

    // Without its password source the encrypted PFX is a setup error that says what to add.
    let spec = certificate(SecretSource::Env("CERT_PFX".into()), None, Signing::Ps256);
    let err = AppCredential::load(&spec, CLIENT_ID, Path::new("."), &env).unwrap_err();
    assert!(
        matches!(err, CredentialError::PasswordNeeded { .. }),
        "{err}"
    );
    assert!(err.is_setup());
    assert!(
        err.to_string().contains("environment variable CERT_PFX"),
        "{err}"
    );
}

#[test]
fn a_cer_file_is_explained_as_the_public_half() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("consentry.cer"), &test_cert().cert_der).unwrap();
    let err = AppCredential::load(
        &certificate(
            SecretSource::File("consentry.cer".into()),
            None,
            Signing::Ps256,
        ),
        CLIENT_ID,
        dir.path(),
        &|_| None,
    )
    .unwrap_err();
    assert!(matches!(err, CredentialError::NoPrivateKey { .. }), "{err}");
    assert!(err.is_setup());
    assert!(err.to_string().contains("consentry.cer"), "{err}");
}

/// An unsigned JWT-shaped token with `exp` (the client reads `exp` only).
fn token(subject: &str, exp: i64) -> String {
    let enc = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        enc(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        enc(serde_json::json!({"sub": subject, "aud": "api://AzureADTokenExchange", "exp": exp})),
        URL_SAFE_NO_PAD.encode(format!("signature-of-{subject}"))
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A stand-in for GitHub's `ACTIONS_ID_TOKEN_REQUEST_URL`: counts requests, checks the bearer
/// token and the audience, and answers as `answer` says.
struct Github {
    url: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone, Copy)]
enum Answer {
    /// A token living `n` seconds.
    Lives(i64),
    /// HTTP 500.
    Fails,
    /// A body bigger than any token.
    Huge,
}

const REQUEST_TOKEN: &str = "gh-request-TOKEN-77af";

async fn github(answer: Answer) -> Github {
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};
    let hits = Arc::new(AtomicUsize::new(0));
    let state = hits.clone();
    let app = axum::Router::new()
        .route(
            "/_apis/oidc",
            axum::routing::get(
                move |State(hits): State<Arc<AtomicUsize>>,
                      Query(query): Query<HashMap<String, String>>,
                      headers: HeaderMap| async move {
                    let n = hits.fetch_add(1, Ordering::SeqCst);
                    // Slow enough that concurrent callers overlap the fetch.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
                        == Some(&format!("bearer {REQUEST_TOKEN}"));
                    if !authorized
                        || query.get("audience").map(String::as_str) != Some("api://AzureADTokenExchange")
                        || query.get("api-version").map(String::as_str) != Some("2.0")
                    {
                        return (StatusCode::UNAUTHORIZED, String::new());
                    }
                    match answer {
                        Answer::Lives(secs) => (
                            StatusCode::OK,
                            serde_json::json!({"count": 1, "value": token(&format!("gh-{n}"), now() + secs)}).to_string(),
                        ),
                        Answer::Fails => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
                        Answer::Huge => (StatusCode::OK, "x".repeat(200 * 1024)),
                    }
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Github {
        url: format!("http://{addr}/_apis/oidc?api-version=2.0"),
        hits,
        task,
    }
}

fn github_env(server: &Github) -> impl Fn(&str) -> Option<String> + use<> {
    env_of(&[
        ("ACTIONS_ID_TOKEN_REQUEST_URL", server.url.clone()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN.to_owned()),
    ])
}

fn load_github(server: &Github) -> AppCredential {
    AppCredential::load(
        &Credential::Federated(FederatedSource::Github),
        CLIENT_ID,
        Path::new("."),
        &github_env(server),
    )
    .unwrap()
}

#[tokio::test]
async fn concurrent_requests_share_one_github_fetch_while_the_token_is_fresh() {
    let server = github(Answer::Lives(300)).await;
    let cred = load_github(&server);
    let http = reqwest::Client::new();
    let url = url::Url::parse(TOKEN_URL).unwrap();
    let all = futures::future::join_all((0..50).map(|_| cred.client_auth(&http, &url))).await;
    let tokens: Vec<String> = all.into_iter().map(|a| assertion(&a.unwrap())).collect();
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "one fetch for 50 requests"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(claims(&tokens[0]).1["sub"], "gh-0");
    assert_eq!(cred.info().kind, CredentialKind::Federated);
    assert_eq!(cred.info().source.as_deref(), Some("github"));
    server.task.abort();
}

#[tokio::test]
async fn a_token_with_a_minute_or_less_left_is_not_presented_and_a_fresher_one_is_cached() {
    let server = github(Answer::Lives(45)).await;
    let cred = load_github(&server);
    let http = reqwest::Client::new();
    let url = url::Url::parse(TOKEN_URL).unwrap();
    // GitHub's token with 45 s left is already too stale to present: refused, not sent.
    let err = cred.client_auth(&http, &url).await.unwrap_err();
    assert!(
        matches!(err, CredentialError::ExternalTokenExpired { .. }),
        "{err}"
    );
    assert!(!err.is_setup());
    server.task.abort();

    let server = github(Answer::Lives(90)).await;
    let cred = load_github(&server);
    cred.client_auth(&http, &url).await.unwrap();
    cred.client_auth(&http, &url).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1, "90 s left: cached");
    server.task.abort();
}

#[tokio::test]
async fn a_failing_or_hostile_github_endpoint_is_asked_once_and_named() {
    for (answer, wanted) in [
        (Answer::Fails, "HTTP 500"),
        (Answer::Huge, "larger than any token"),
    ] {
        let server = github(answer).await;
        let cred = load_github(&server);
        let http = reqwest::Client::new();
        let url = url::Url::parse(TOKEN_URL).unwrap();
        let all = futures::future::join_all((0..20).map(|_| cred.client_auth(&http, &url))).await;
        for result in all {
            let err = result.unwrap_err();
            assert!(matches!(err, CredentialError::GithubFetch { .. }), "{err}");
            assert!(err.to_string().contains(wanted), "{err}");
            assert!(!err.is_setup());
        }
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);
        server.task.abort();
    }
}

#[test]
fn missing_github_variables_name_the_permission() {
    for env in [
        env_of(&[]),
        env_of(&[(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://x.example/oidc?a=1".to_owned(),
        )]),
    ] {
        let err = AppCredential::load(
            &Credential::Federated(FederatedSource::Github),
            CLIENT_ID,
            Path::new("."),
            &env,
        )
        .unwrap_err();
        assert!(err.is_setup());
        assert!(
            err.to_string().contains("permissions: id-token: write"),
            "{err}"
        );
    }
    // A plain-http URL off this machine would carry the request token in the clear.
    let err = AppCredential::load(
        &Credential::Federated(FederatedSource::Github),
        CLIENT_ID,
        Path::new("."),
        &env_of(&[
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "http://x.example/oidc?a=1".to_owned(),
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN.to_owned()),
        ]),
    )
    .unwrap_err();
    assert!(matches!(err, CredentialError::GithubUrl { .. }), "{err}");
}

#[tokio::test]
async fn kubernetes_and_file_tokens_are_re_read_for_every_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, token("first", now() + 3600) + "\n").unwrap();
    let http = reqwest::Client::new();
    let url = url::Url::parse(TOKEN_URL).unwrap();
    for credential in [
        Credential::Federated(FederatedSource::Kubernetes),
        Credential::Federated(FederatedSource::File("token".into())),
    ] {
        std::fs::write(&path, token("first", now() + 3600) + "\n").unwrap();
        let env = env_of(&[("AZURE_FEDERATED_TOKEN_FILE", path.display().to_string())]);
        let cred = AppCredential::load(&credential, CLIENT_ID, dir.path(), &env).unwrap();
        let sub = |auth: ClientAuth| claims(&assertion(&auth)).1["sub"].clone();
        assert_eq!(sub(cred.client_auth(&http, &url).await.unwrap()), "first");
        // The kubelet rotates the file: the next exchange presents the new token.
        std::fs::write(&path, token("second", now() + 3600)).unwrap();
        assert_eq!(sub(cred.client_auth(&http, &url).await.unwrap()), "second");
        // A stale file is refused before it is sent.
        std::fs::write(&path, token("stale", now() - 10)).unwrap();
        let err = cred.client_auth(&http, &url).await.unwrap_err();
        assert!(
            matches!(err, CredentialError::ExternalTokenExpired { .. }),
            "{err}"
        );
    }
    let err = AppCredential::load(
        &Credential::Federated(FederatedSource::Kubernetes),
        CLIENT_ID,
        dir.path(),
        &|_| None,
    )
    .unwrap_err();
    assert!(
        matches!(err, CredentialError::KubernetesEnvMissing),
        "{err}"
    );
}

#[test]
fn an_env_token_that_is_not_a_jwt_or_already_expired_is_a_setup_error() {
    for value in ["not-a-jwt".to_owned(), token("old", now() - 3600)] {
        let err = AppCredential::load(
            &Credential::Federated(FederatedSource::Env("CI_TOKEN".into())),
            CLIENT_ID,
            Path::new("."),
            &env_of(&[("CI_TOKEN", value.clone())]),
        )
        .unwrap_err();
        assert!(err.is_setup(), "{err}");
        assert!(err.to_string().contains("CI_TOKEN"), "{err}");
        assert!(!err.to_string().contains(&value[..8]), "{err}");
    }
}

#[tokio::test]
async fn identity_is_what_the_registration_must_list_and_never_the_token() {
    use consentry::credential::{ExternalIdentity, Identity};
    let enc = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let jwt = |claims: serde_json::Value| {
        format!(
            "{}.{}.c2ln",
            enc(serde_json::json!({"alg": "RS256"})),
            enc(claims)
        )
    };
    let exp = now() + 3600;
    let load = |value: String| {
        AppCredential::load(
            &Credential::Federated(FederatedSource::Env("CI_TOKEN".into())),
            CLIENT_ID,
            Path::new("."),
            &env_of(&[("CI_TOKEN", value)]),
        )
        .unwrap()
    };
    // `aud` as an array (OIDC allows both forms): every value is kept.
    let both = load(jwt(serde_json::json!({
        "iss": "https://issuer.example/", "sub": "system:serviceaccount:soc:consentry",
        "aud": ["api://AzureADTokenExchange", "other"], "exp": exp
    })));
    assert_eq!(
        both.identity(&Default::default()).await.unwrap(),
        Identity::Federated(ExternalIdentity {
            issuer: "https://issuer.example/".into(),
            subject: "system:serviceaccount:soc:consentry".into(),
            audiences: vec!["api://AzureADTokenExchange".into(), "other".into()],
        })
    );
    // No subject: nothing to match, said without the token.
    let no_sub = jwt(serde_json::json!({"iss": "https://issuer.example/", "aud": "x", "exp": exp}));
    let err = load(no_sub.clone())
        .identity(&Default::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("`sub`") && err.to_string().contains("CI_TOKEN"),
        "{err}"
    );
    assert!(!err.to_string().contains(&no_sub[..20]), "{err}");
    // A certificate is known by its SHA-1 thumbprint, as the portal shows it.
    let pem_text = format!(
        "{}{}",
        pem("PRIVATE KEY", &test_cert().key_pkcs8),
        pem("CERTIFICATE", &test_cert().cert_der)
    );
    let cert = AppCredential::load(
        &certificate(SecretSource::Env("CERT".into()), None, Signing::Ps256),
        CLIENT_ID,
        Path::new("."),
        &env_of(&[("CERT", pem_text)]),
    )
    .unwrap();
    // The SHA-1 of the certificate's DER, computed here, in upper-case hex as the portal shows it.
    let sha1 = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        &test_cert().cert_der,
    );
    let thumbprint: String = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(
        cert.identity(&Default::default()).await.unwrap(),
        Identity::Certificate { thumbprint }
    );
    assert!(cert.local_identity().is_some());
    assert!(
        both.local_identity().is_none(),
        "a federated token must be read"
    );
}

/// A `MakeWriter` that appends every log line to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

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
async fn no_key_password_assertion_or_token_in_debug_errors_info_or_trace_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let cert = test_cert();
    let http = reqwest::Client::new();
    let url = url::Url::parse(TOKEN_URL).unwrap();
    let mut outputs: Vec<String> = Vec::new();
    let mut planted: Vec<String> = vec![
        key_fragment(),
        PFX_PASSWORD.to_owned(),
        REQUEST_TOKEN.to_owned(),
    ];

    // Certificate from a PFX: Debug of the credential and of what it sends.
    let env = env_of(&[
        ("CERT_PFX", STANDARD.encode(pfx(cert, PFX_PASSWORD))),
        ("PFX_PASSWORD", PFX_PASSWORD.to_owned()),
        ("WRONG_PASSWORD", "wrong-PASSWORD-e3".to_owned()),
    ]);
    let spec = certificate(
        SecretSource::Env("CERT_PFX".into()),
        Some(SecretSource::Env("PFX_PASSWORD".into())),
        Signing::Ps256,
    );
    let cred = AppCredential::load(&spec, CLIENT_ID, Path::new("."), &env).unwrap();
    let auth = cred.client_auth(&http, &url).await.unwrap();
    let signed = assertion(&auth);
    planted.push(signed.rsplit('.').next().unwrap()[..40].to_owned());
    outputs.push(format!("{cred:?} {auth:?} {:?}", cred.info()));
    outputs.push(serde_json::to_string(&cred.info()).unwrap());
    let wrong = certificate(
        SecretSource::Env("CERT_PFX".into()),
        Some(SecretSource::Env("WRONG_PASSWORD".into())),
        Signing::Ps256,
    );
    let err = AppCredential::load(&wrong, CLIENT_ID, Path::new("."), &env).unwrap_err();
    planted.push("wrong-PASSWORD-e3".to_owned());
    outputs.push(format!("{err} {err:?}"));

    // GitHub: the fetched token and the request token.
    let server = github(Answer::Lives(300)).await;
    let fed = load_github(&server);
    let auth = fed.client_auth(&http, &url).await.unwrap();
    let external = assertion(&auth);
    planted.push(external.split('.').nth(1).unwrap().to_owned());
    outputs.push(format!("{fed:?} {auth:?}"));
    server.task.abort();

    outputs.push(String::from_utf8(captured.0.lock().unwrap().clone()).unwrap());
    for output in &outputs {
        for secret in &planted {
            assert!(
                !output.contains(secret.as_str()),
                "leaked {secret}:\n{output}"
            );
        }
    }
}

/// The binary, as a user runs it, with the credential variables cleared and `env` on top.
fn consentry(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_consentry"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env_remove("CONSENTRY_CERTIFICATE_PASSWORD")
        .env_remove("CONSENTRY_AUTHORITY_HOST")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_credential_setup_problem_exits_2_before_anything_is_sent() {
    // The default authority is Microsoft's: a request would fail differently (and must not be
    // made). Exit 2 with the fix shows the check ran first.
    let out = consentry(&["verify", "manifests/github-oidc.yaml"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ACTIONS_ID_TOKEN_REQUEST_URL"), "{stderr}");
    assert!(stderr.contains("permissions: id-token: write"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = consentry(&["verify", "manifests/certificate.yaml"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("CONSENTRY_CERTIFICATE_PASSWORD"),
        "{stderr}"
    );

    let out = consentry(
        &["verify", "manifests/certificate.yaml"],
        &[("CONSENTRY_CERTIFICATE_PASSWORD", "pw-NEVER-SHOWN")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("secrets/consentry.pem"), "{stderr}");
    assert!(!stderr.contains("pw-NEVER-SHOWN"), "{stderr}");
}
