//! Admin-consent links, the one thing `plan` hands each customer's Global Administrator
//! (reference §5).

use url::form_urlencoded;

use crate::cloud::Cloud;

/// Which form of admin-consent link to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LinkStyle {
    /// `{authority}/{tenant}/adminconsent?...`: pinned to the tenant, so an admin cannot consent in
    /// the wrong one.
    #[default]
    Tenant,
    /// The seed how-to's `/common/oauth2/authorize?prompt=consent...` form, not tenant-pinned.
    Legacy,
}

/// The admin-consent link for `tenant` (GUID or domain) on `cloud`'s login host.
pub fn admin_consent_url(
    cloud: Cloud,
    tenant: &str,
    client_id: &str,
    redirect_uri: &str,
    style: LinkStyle,
) -> String {
    let authority = cloud.authority_host();
    match style {
        LinkStyle::Tenant => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri)
                .finish();
            let tenant: String = url::form_urlencoded::byte_serialize(tenant.as_bytes()).collect();
            format!("{authority}/{tenant}/adminconsent?{query}")
        }
        LinkStyle::Legacy => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("prompt", "consent")
                .append_pair("client_id", client_id)
                .append_pair("response_type", "code")
                .append_pair("sso_reload", "true")
                .finish();
            format!("{authority}/common/oauth2/authorize?{query}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";

    #[test]
    fn tenant_pinned_link_on_every_cloud() {
        let expected = [
            (Cloud::Global, "https://login.microsoftonline.com"),
            (Cloud::Gcc, "https://login.microsoftonline.com"),
            (Cloud::GccHigh, "https://login.microsoftonline.us"),
            (Cloud::Dod, "https://login.microsoftonline.us"),
            (Cloud::China, "https://login.partner.microsoftonline.cn"),
        ];
        for (cloud, host) in expected {
            let url = admin_consent_url(
                cloud,
                "fabrikam.onmicrosoft.com",
                CLIENT,
                "https://portal.azure.com",
                LinkStyle::Tenant,
            );
            assert_eq!(
                url,
                format!(
                    "{host}/fabrikam.onmicrosoft.com/adminconsent?client_id={CLIENT}&redirect_uri=https%3A%2F%2Fportal.azure.com"
                )
            );
        }
    }

    #[test]
    fn legacy_link_is_the_seed_form() {
        let url = admin_consent_url(
            Cloud::Global,
            "ignored",
            CLIENT,
            "https://portal.azure.com",
            LinkStyle::Legacy,
        );
        assert_eq!(
            url,
            format!(
                "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id={CLIENT}&response_type=code&sso_reload=true"
            )
        );
        let gov = admin_consent_url(
            Cloud::GccHigh,
            "ignored",
            CLIENT,
            "https://x",
            LinkStyle::Legacy,
        );
        assert!(gov.starts_with("https://login.microsoftonline.us/common/oauth2/authorize?"));
    }

    #[test]
    fn odd_redirect_uris_are_encoded_and_round_trip() {
        let odd = "https://partner.example/consent/done?tenant=a b&x=1#frag/ü";
        let url = admin_consent_url(
            Cloud::Global,
            "2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d",
            CLIENT,
            odd,
            LinkStyle::Tenant,
        );
        let parsed = url::Url::parse(&url).unwrap();
        assert_eq!(
            parsed.fragment(),
            None,
            "a # in the redirect must not end the link"
        );
        let redirect = parsed
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .unwrap()
            .1;
        assert_eq!(redirect, odd);
        assert!(!url.contains(' '));
        assert!(
            url.contains("%26x%3D1"),
            "& inside the redirect is encoded: {url}"
        );
    }
}
