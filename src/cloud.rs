//! National clouds: which login host a manifest's `cloud` means (reference §2).
//!
//! Resource URIs per cloud live in the catalog; this module only knows the authorities, and which
//! authority URLs consentry accepts (`--authority-host`): every online client (token endpoint,
//! discovery, keys) asks this module, so none imports another's rules.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::{Host, Url};

/// The Microsoft cloud the app and its customer tenants live in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Commercial cloud (login.microsoftonline.com).
    #[default]
    Global,
    /// US Government Community Cloud: commercial login host, GCC Defender endpoints.
    Gcc,
    /// US Government GCC High (login.microsoftonline.us).
    GccHigh,
    /// US Department of Defense (login.microsoftonline.us).
    Dod,
    /// Azure China operated by 21Vianet (login.partner.microsoftonline.cn).
    China,
}

impl Cloud {
    /// Every cloud, in documentation order.
    pub const ALL: [Cloud; 5] = [
        Cloud::Global,
        Cloud::Gcc,
        Cloud::GccHigh,
        Cloud::Dod,
        Cloud::China,
    ];

    /// The manifest spelling (`gcc-high`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcc-high",
            Cloud::Dod => "dod",
            Cloud::China => "china",
        }
    }

    /// The login (authority) host, without a trailing slash. GCC uses the global host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global | Cloud::Gcc => "https://login.microsoftonline.com",
            Cloud::GccHigh | Cloud::Dod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.partner.microsoftonline.cn",
        }
    }
}

impl std::fmt::Display for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--authority-host` is not a URL consentry will send a credential to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--authority-host `{input}`: {reason}")]
pub struct AuthorityError {
    /// The value as given, any password in it masked.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Whether `url`'s host is loopback: 127.0.0.0/8, ::1 or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The authority to request tokens from: `input` (`--authority-host`), or the cloud's login host.
/// `https://` always; `http://` only for loopback hosts, so a secret never crosses a network in
/// the clear. No credentials, query or fragment.
pub fn authority_host(input: Option<&str>, cloud: Cloud) -> Result<Url, AuthorityError> {
    let text = input.map(str::trim).unwrap_or(cloud.authority_host());
    let parsed = Url::parse(text);
    // A password someone put in the URL must not come back in the error message.
    let shown = match &parsed {
        Ok(url) if url.password().is_some() => {
            let mut redacted = url.clone();
            let _ = redacted.set_password(Some("***"));
            redacted.to_string()
        }
        Ok(_) => text.to_owned(),
        // Unparseable: anything before an `@` may be a password; show only what follows it.
        Err(_) => match text.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => text.to_owned(),
        },
    };
    let refuse = |reason: &str| AuthorityError {
        input: shown.clone(),
        reason: reason.to_owned(),
    };
    let url = parsed.map_err(|e| refuse(&format!("not a URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(refuse(
                "plain http:// is accepted only for loopback hosts (127.0.0.1, ::1, localhost); use https://",
            ));
        }
        _ => {
            return Err(refuse(
                "only https:// URLs (or http:// on loopback) are accepted",
            ));
        }
    }
    if url.host().is_none() {
        return Err(refuse("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("the URL must not carry a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("the URL must not carry a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_host_rules() {
        assert_eq!(
            authority_host(None, Cloud::GccHigh).unwrap().as_str(),
            "https://login.microsoftonline.us/"
        );
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:1",
            "http://LOCALHOST:3000/",
            "https://login.example.test/prefix",
        ] {
            assert!(authority_host(Some(ok), Cloud::Global).is_ok(), "{ok}");
        }
        for bad in [
            "http://login.microsoftonline.com",
            "http://10.0.0.1",
            "http://localhost.evil.test",
            "ftp://127.0.0.1",
            "https://user:pw@login.microsoftonline.com",
            "https://user:pw@login.microsoftonline.com:badport",
            "https://login.microsoftonline.com/?x=1",
            "not a url",
        ] {
            let err = authority_host(Some(bad), Cloud::Global).unwrap_err();
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        let err = authority_host(Some("http://example.com"), Cloud::Global)
            .unwrap_err()
            .to_string();
        assert!(err.contains("loopback"), "{err}");
    }
}
