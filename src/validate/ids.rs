//! Pure checks of identifiers and URLs: GUIDs, tenant ids, redirect URIs, resource URIs,
//! environment variable names. Each returns the normalised value or why it is wrong.

use crate::model::TenantId;

/// The tenant names Entra accepts on some endpoints but client credentials refuse
/// (AADSTS9001023 for `common`): they are not one tenant.
const RESERVED_TENANTS: [&str; 3] = ["common", "organizations", "consumers"];

/// The lowercase form of an 8-4-4-4-12 hex GUID, or `None`.
pub fn guid(text: &str) -> Option<uuid::Uuid> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    // Only the 8-4-4-4-12 form Entra shows: uuid also reads braces, URNs and bare hex, which a
    // manifest should not (the help says "remove the braces").
    let ok = bytes.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    if ok {
        uuid::Uuid::parse_str(text).ok()
    } else {
        None
    }
}

/// Whether `text` looks like an attempt at a GUID (hex digits and dashes only), so a malformed
/// one is reported as such rather than as a bad domain.
pub fn looks_like_guid(text: &str) -> bool {
    text.contains('-')
        && text.len() >= 20
        && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Why a tenant id is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantIdError {
    /// `common`, `organizations` or `consumers`.
    Reserved(&'static str),
    /// Hex and dashes, but not 8-4-4-4-12.
    MalformedGuid,
    /// Has a dot but is not a valid DNS name: why.
    BadDomain(String),
    /// Neither a GUID nor a domain.
    Neither,
}

/// Parses a tenant id: a GUID or a DNS name with at least one dot, both lowercased.
pub fn tenant_id(text: &str) -> Result<TenantId, TenantIdError> {
    if let Some(g) = guid(text) {
        return Ok(TenantId::Guid(g));
    }
    if let Some(reserved) = RESERVED_TENANTS
        .iter()
        .find(|r| r.eq_ignore_ascii_case(text))
    {
        return Err(TenantIdError::Reserved(reserved));
    }
    if looks_like_guid(text) {
        return Err(TenantIdError::MalformedGuid);
    }
    if !text.contains('.') {
        return Err(TenantIdError::Neither);
    }
    domain(text)
        .map(TenantId::Domain)
        .map_err(TenantIdError::BadDomain)
}

/// A DNS name with at least one dot, lowercased: labels of 1-63 characters of `a-z`, `0-9` and
/// `-`, not starting or ending with `-`, 253 characters at most, not an IP address.
pub fn domain(text: &str) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    if lower.len() > 253 {
        return Err("a domain name is at most 253 characters".into());
    }
    if !lower.contains('.') {
        return Err("a verified domain has at least one dot".into());
    }
    for label in lower.split('.') {
        if label.is_empty() {
            return Err(
                "it has an empty label (two dots in a row, or a leading/trailing dot)".into(),
            );
        }
        if label.len() > 63 {
            return Err(format!("the label `{label}` is longer than 63 characters"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!(
                "`{bad}` is not allowed in a domain name (letters, digits and `-` only)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the label `{label}` starts or ends with `-`"));
        }
    }
    if lower
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("an IP address is not a tenant domain".into());
    }
    Ok(lower)
}

/// Checks a redirect URI: an absolute https URL, or http only on localhost / 127.0.0.1 / [::1]
/// (Entra's own rule); no fragment.
pub fn redirect_uri(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("it is not an absolute URL ({e})"))?;
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" if !host.is_empty() => {}
        "http" if matches!(host, "localhost" | "127.0.0.1" | "[::1]") => {}
        "http" => {
            return Err(
                "http is allowed only for localhost, 127.0.0.1 and [::1]; use https".into(),
            );
        }
        other => return Err(format!("the scheme is `{other}`; it must be https")),
    }
    if url.fragment().is_some() {
        return Err("a redirect URI cannot contain a fragment (`#…`)".into());
    }
    Ok(())
}

/// Checks a custom API's resource: a URI with a scheme and something after it (`api://…`,
/// `https://…`), or a GUID.
pub fn resource(text: &str) -> Result<(), String> {
    if guid(text).is_some() {
        return Ok(());
    }
    match url::Url::parse(text) {
        Ok(url) if url.scheme() == "https" || url.scheme() == "api" => {
            if url.host_str().is_some_and(|h| !h.is_empty()) {
                Ok(())
            } else {
                Err("the URI has no host or app id after the scheme".into())
            }
        }
        Ok(url) => Err(format!(
            "the scheme is `{}`; a resource is `api://…`, `https://…` or the API's app id (GUID)",
            url.scheme()
        )),
        Err(_) => Err("it is neither a URI (`api://…`, `https://…`) nor a GUID".into()),
    }
}

/// Whether `name` is a portable environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_strict_and_lowercased() {
        assert_eq!(
            guid("6731DE76-14a6-49ae-97bc-6eba6914391e").map(|g| g.to_string()),
            Some("6731de76-14a6-49ae-97bc-6eba6914391e".to_owned())
        );
        assert_eq!(guid("6731de7614a649ae97bc6eba6914391e"), None);
        assert_eq!(guid("{6731de76-14a6-49ae-97bc-6eba6914391e}"), None);
        assert_eq!(guid("6731de76-14a6-49ae-97bc-6eba6914391g"), None);
        assert_eq!(guid("6731de76-14a6-49ae-97bc6-eba6914391e"), None);
        assert_eq!(guid(""), None);
    }

    #[test]
    fn tenant_ids_are_guids_or_domains() {
        assert_eq!(
            tenant_id("2D4A7B1C-6f0e-4b8a-9c3d-1e5f7a9b0c2d"),
            Ok(TenantId::Guid(
                "2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d".parse().unwrap()
            ))
        );
        assert_eq!(
            tenant_id("Northwind.onmicrosoft.com"),
            Ok(TenantId::Domain("northwind.onmicrosoft.com".into()))
        );
        assert_eq!(tenant_id("Common"), Err(TenantIdError::Reserved("common")));
        assert_eq!(
            tenant_id("organizations"),
            Err(TenantIdError::Reserved("organizations"))
        );
        assert_eq!(
            tenant_id("2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2"),
            Err(TenantIdError::MalformedGuid)
        );
        assert_eq!(tenant_id("fabrikam"), Err(TenantIdError::Neither));
        assert!(matches!(
            tenant_id("fab_rikam.com"),
            Err(TenantIdError::BadDomain(_))
        ));
    }

    #[test]
    fn domains_follow_dns_label_rules() {
        assert!(domain("a.b").is_ok());
        assert!(domain("x-1.contoso.co.uk").is_ok());
        assert!(domain("-x.com").is_err());
        assert!(domain("x-.com").is_err());
        assert!(domain("x..com").is_err());
        assert!(domain(".x.com").is_err());
        assert!(domain("x.com.").is_err());
        assert!(domain(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(domain(&format!("{}.com", "a".repeat(63))).is_ok());
        assert!(domain("10.0.0.1").is_err());
        assert!(domain("exämple.com").is_err());
        assert!(domain("nodot").is_err());
    }

    #[test]
    fn redirect_uris_are_https_or_local_http() {
        assert!(redirect_uri("https://portal.azure.com").is_ok());
        assert!(redirect_uri("https://example.com/cb?x=1").is_ok());
        assert!(redirect_uri("http://localhost:8400/callback").is_ok());
        assert!(redirect_uri("http://127.0.0.1/").is_ok());
        assert!(redirect_uri("http://[::1]:9000").is_ok());
        assert!(redirect_uri("http://portal.azure.com").is_err());
        assert!(redirect_uri("ftp://x.com").is_err());
        assert!(redirect_uri("portal.azure.com").is_err());
        assert!(redirect_uri("/callback").is_err());
        assert!(redirect_uri("https://x.com/#frag").is_err());
    }

    #[test]
    fn resources_are_uris_or_guids() {
        assert!(resource("api://9a8b7c6d-0000-0000-0000-000000000000").is_ok());
        assert!(resource("https://api.partner.example").is_ok());
        assert!(resource("9a8b7c6d-0000-0000-0000-000000000000").is_ok());
        assert!(resource("partner-api").is_err());
        assert!(resource("ftp://x").is_err());
        assert!(resource("api://").is_err());
    }

    #[test]
    fn env_names_are_portable() {
        assert!(env_name("CONSENTRY_CLIENT_SECRET"));
        assert!(env_name("_x1"));
        assert!(!env_name(""));
        assert!(!env_name("1X"));
        assert!(!env_name("MY-VAR"));
        assert!(!env_name("a b"));
    }
}
