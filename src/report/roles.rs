//! The catalog listing of `consentry roles [API]`: what a manifest author can write, per API.

use std::fmt::Write as _;

use crate::catalog::{self, Api};
use crate::cloud::Cloud;

/// Every catalog API, or only `api`, as aligned text.
pub(super) fn render(api: Option<&Api>, cloud: Cloud) -> String {
    let apis: Vec<&Api> = match api {
        Some(api) => vec![api],
        None => catalog::APIS.iter().collect(),
    };
    let mut out = String::new();
    for (i, api) in apis.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        describe(&mut out, api, cloud);
    }
    out
}

fn describe(out: &mut String, api: &Api, cloud: Cloud) {
    let _ = writeln!(out, "{} ({})", api.alias, api.display_name);
    if !api.other_names.is_empty() {
        let _ = writeln!(out, "  also known as: {}", api.other_names.join(", "));
    }
    let _ = writeln!(out, "  app id:        {}", api.app_id);
    match api.resource(cloud) {
        Some(resource) => {
            let _ = writeln!(out, "  resource:      {resource} (cloud {cloud})");
        }
        None => {
            let _ = writeln!(out, "  resource:      not offered in cloud {cloud}");
        }
    }
    let _ = writeln!(out, "  application roles:");
    let width = api.roles.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for role in api.roles {
        let _ = writeln!(out, "    {:width$}  {}", role.name, role.description);
        if let Some(instead) = role.deprecated {
            let _ = writeln!(out, "    {:width$}  deprecated: {instead}", "");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_api_lists_its_roles_and_resource_for_the_cloud() {
        let text = render(catalog::api("microsoft-365-defender"), Cloud::GccHigh);
        assert!(text.starts_with("microsoft-365-defender (Microsoft Threat Protection)\n"));
        assert!(text.contains("https://api-gov.security.microsoft.us (cloud gcc-high)"));
        assert!(text.contains("Incident.Read.All"));
        assert!(text.contains("deprecated: the Defender XDR advanced-hunting API"));
        assert!(!text.contains("defender-for-endpoint"));
    }

    #[test]
    fn all_apis_and_missing_resources() {
        let text = render(None, Cloud::China);
        for api in catalog::APIS {
            assert!(text.contains(api.alias), "{}", api.alias);
        }
        assert!(text.contains("not offered in cloud china"));
    }
}
