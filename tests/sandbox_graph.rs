//! The sandbox's Microsoft Graph (reference §8) over loopback: reading the registration three ways,
//! its federated credentials and resource service principals, bearer tokens that may read or write,
//! Graph's error bodies and request ids, 404, 429, and a PATCH that changes what the token endpoint
//! grants next.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns panic as test failures"
)]

use std::time::Duration;

use consentry::sandbox::{Sandbox, Scenario};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

const SECRET: &str = "sandbox-graph-s3cret";
const CLIENT_ID: &str = "5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890";
const OBJECT_ID: &str = "0f6e4c2a-8b1d-4e3f-9a5c-7d2b1e0f3a4c";
const TENANT: &str = "7b500f41-1b86-42be-b006-bffbd7a67b9f";
const M365D_APP: &str = "8ee8fdad-f234-4243-8f3b-15c294843740";
const READ: &str = "graph-read-token";
const WRITE: &str = "graph-write-token";

fn scenario(throttle: &str) -> Scenario {
    let text = format!(
        r#"
app: {{ client_id: {CLIENT_ID} }}
tenants:
  - name: Fabrikam
    id: {TENANT}
    grants:
      https://api.security.microsoft.com: [Incident.Read.All, AdvancedHunting.Read.All]
graph:
  read_tokens: [{READ}]
  write_tokens: [{WRITE}]
  {throttle}
  application:
    id: {OBJECT_ID}
    appId: {CLIENT_ID}
    signInAudience: AzureADMultipleOrgs
    requiredResourceAccess:
      - resourceAppId: {M365D_APP}
        resourceAccess:
          - {{ id: a9790345-4595-42e4-971a-ccdc79f19b7c, type: Role }}
  federated_identity_credentials:
    - {{ name: ci, issuer: "https://token.actions.githubusercontent.com", subject: "repo:bluefin/consentry:ref:refs/heads/main", audiences: [api://AzureADTokenExchange] }}
  service_principals:
    11111111-2222-4333-8444-555555555555: {{ Custom.Read: 44444444-3333-4222-8111-000000000000 }}
"#
    );
    Scenario::from_yaml("graph.yaml", &text).unwrap()
}

async fn start(throttle: &str) -> Sandbox {
    Sandbox::start(
        scenario(throttle),
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

async fn get(
    sandbox: &Sandbox,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = client().get(format!("{}/v1.0/{path}", sandbox.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

async fn patch(sandbox: &Sandbox, token: &str, body: &Value) -> (StatusCode, Value) {
    let response = client()
        .patch(format!(
            "{}/v1.0/applications/{OBJECT_ID}",
            sandbox.base_url()
        ))
        .bearer_auth(token)
        .header("client-request-id", "2f0c6a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The roles claim of a fresh app-only token for the Defender XDR API in the tenant.
async fn granted_roles(sandbox: &Sandbox) -> Vec<String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
        ("scope", "https://api.security.microsoft.com/.default"),
    ];
    let answer: Value = client()
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", sandbox.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let decoded = consentry::jwt::decode(answer["access_token"].as_str().unwrap()).unwrap();
    decoded
        .claims
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| r.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_application_is_found_by_app_id_object_id_and_filter() {
    let sandbox = start("").await;
    let by_app_id = get(
        &sandbox,
        &format!("applications(appId='{CLIENT_ID}')"),
        Some(READ),
    )
    .await;
    assert_eq!(by_app_id.0, StatusCode::OK);
    assert_eq!(by_app_id.2["id"], OBJECT_ID);
    assert!(by_app_id.1.contains_key("request-id"));
    let encoded = get(
        &sandbox,
        &format!("applications(appId=%27{CLIENT_ID}%27)"),
        Some(READ),
    )
    .await;
    assert_eq!(encoded.2, by_app_id.2);
    let by_object = get(&sandbox, &format!("applications/{OBJECT_ID}"), Some(WRITE)).await;
    assert_eq!(by_object.2, by_app_id.2);
    let filtered = get(
        &sandbox,
        &format!("applications?$filter=appId eq '{CLIENT_ID}'"),
        Some(READ),
    )
    .await;
    assert_eq!(filtered.2, json!({"value": [by_app_id.2]}));
    let none = get(
        &sandbox,
        "applications?$filter=appId eq '00000000-0000-4000-8000-000000000000'",
        Some(READ),
    )
    .await;
    assert_eq!((none.0, none.2), (StatusCode::OK, json!({"value": []})));
    // The registration, read from the sandbox, is what `app check` reads.
    let registration =
        consentry::app::registration::parse("graph", by_app_id.2.to_string().as_bytes()).unwrap();
    assert_eq!(registration.required_resource_access.len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn federated_credentials_and_service_principals_are_served() {
    let sandbox = start("").await;
    let fics = get(
        &sandbox,
        &format!("applications(appId='{CLIENT_ID}')/federatedIdentityCredentials"),
        Some(READ),
    )
    .await;
    assert_eq!(fics.0, StatusCode::OK);
    assert_eq!(
        fics.2["value"][0]["subject"],
        "repo:bluefin/consentry:ref:refs/heads/main"
    );
    let sp = get(
        &sandbox,
        &format!("servicePrincipals(appId='{M365D_APP}')?$select=id,appId,appRoles"),
        Some(READ),
    )
    .await;
    assert_eq!(sp.0, StatusCode::OK);
    let roles: Vec<consentry::app::roles::AppRole> =
        serde_json::from_value(sp.2["appRoles"].clone()).unwrap();
    let incident = roles
        .iter()
        .find(|r| r.value.as_deref() == Some("Incident.Read.All"))
        .unwrap();
    assert_eq!(
        incident.id.to_string(),
        "a9790345-4595-42e4-971a-ccdc79f19b7c",
        "catalog ids by default"
    );
    let custom = get(
        &sandbox,
        "servicePrincipals(appId='11111111-2222-4333-8444-555555555555')",
        Some(READ),
    )
    .await;
    assert_eq!(
        custom.2["appRoles"][0]["id"], "44444444-3333-4222-8111-000000000000",
        "scenario ids"
    );
    let unknown_sp = get(
        &sandbox,
        "servicePrincipals(appId='99999999-2222-4333-8444-555555555555')",
        Some(READ),
    )
    .await;
    assert_eq!(unknown_sp.0, StatusCode::NOT_FOUND);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn tokens_are_checked_and_errors_look_like_graphs() {
    let sandbox = start("").await;
    let path = format!("applications(appId='{CLIENT_ID}')");
    for token in [None, Some("someone-elses-token")] {
        let (status, headers, body) = get(&sandbox, &path, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
        assert_eq!(
            body["error"]["innerError"]["request-id"].as_str(),
            headers.get("request-id").and_then(|v| v.to_str().ok())
        );
    }
    let missing = get(
        &sandbox,
        "applications(appId='00000000-0000-4000-8000-000000000000')",
        Some(READ),
    )
    .await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);
    assert_eq!(missing.2["error"]["code"], "Request_ResourceNotFound");

    let (status, body) = patch(&sandbox, READ, &json!({"requiredResourceAccess": []})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "2f0c6a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
    );
    assert!(
        body["error"]["innerError"]["date"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );
    // The refused PATCH changed nothing.
    let after = get(&sandbox, &path, Some(READ)).await;
    assert_eq!(
        after.2["requiredResourceAccess"][0]["resourceAccess"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, _) = patch(&sandbox, WRITE, &json!({"displayName": "renamed"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_patch_replaces_the_list_and_changes_what_the_next_consent_grants() {
    let sandbox = start("").await;
    // The tenant would grant both roles, but the registration requests only Incident.Read.All.
    assert_eq!(granted_roles(&sandbox).await, vec!["Incident.Read.All"]);
    let list = json!([{"resourceAppId": M365D_APP, "resourceAccess": [
        {"id": "a9790345-4595-42e4-971a-ccdc79f19b7c", "type": "Role"},
        {"id": "7734e8e5-8dde-42fc-b5ae-6eafea078693", "type": "Role"}]}]);
    let (status, _) = patch(&sandbox, WRITE, &json!({"requiredResourceAccess": list})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let read = get(&sandbox, &format!("applications/{OBJECT_ID}"), Some(READ)).await;
    assert_eq!(read.2["requiredResourceAccess"], list);
    assert_eq!(
        granted_roles(&sandbox).await,
        vec!["AdvancedHunting.Read.All", "Incident.Read.All"]
    );
    // The whole list is replaced: an empty one takes every role away.
    let (status, _) = patch(&sandbox, WRITE, &json!({"requiredResourceAccess": []})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(granted_roles(&sandbox).await.is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_then_serves() {
    let sandbox = start("throttle: { times: 1, retry_after: 7 }").await;
    let path = format!("applications(appId='{CLIENT_ID}')");
    let (status, headers, body) = get(&sandbox, &path, Some(READ)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(get(&sandbox, &path, Some(READ)).await.0, StatusCode::OK);
    sandbox.shutdown().await;
}

#[test]
fn a_graph_section_without_ids_is_refused_whole() {
    let text = "app: { client_id: 5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890 }\ngraph:\n  application: { displayName: x }\n  service_principals: { a: { R: not-a-guid } }\n";
    let error = Scenario::from_yaml("g.yaml", text).unwrap_err().to_string();
    assert!(error.contains("graph.application.id"), "{error}");
    assert!(error.contains("graph.application.appId"), "{error}");
    assert!(error.contains("not a GUID"), "{error}");
}
