//! The built-in catalog of resource APIs and their application permissions (reference §1).
//!
//! The manifest's `apis` keys are catalog aliases; validation checks roles against this table and
//! `consentry roles` prints it. Role GUIDs are deliberately absent: they differ between clouds and
//! are resolved at run time when they are ever needed.
//!
//! A resource answers to more than one URI. Entra issues a token for any of its service principal
//! names (`servicePrincipalNames` of the resource's service principal) as well as for its app id,
//! and the token's `aud` is the name that was asked for. Microsoft's own Defender samples ask for
//! `https://api.securitycenter.windows.com` (Python, PowerShell) and
//! `https://securitycenter.onmicrosoft.com/windowsatpservice` (curl), and the regional hosts
//! (`api-us.`, `api-eu.`, `api-uk.`) are names of the same resources. Each [`Api`] lists them in
//! `other_resources`; [`resolve_resource`] maps any of them (case-insensitive, with or without a
//! trailing `/`) to the API and its canonical URI. Sources: the Defender for Endpoint "Create an
//! app to access Microsoft Defender for Endpoint without a user" and Defender XDR "Create an app to
//! access Microsoft Defender XDR without a user" how-tos (their samples and the regional endpoint
//! lists), and the resource service principals' names as listed in reference §1.

use crate::cloud::Cloud;

/// When the catalog's APIs and roles were last checked against Microsoft's documentation (shown by
/// `consentry --version`, so a report can be traced to the role names it was checked against).
pub const CATALOG_DATE: &str = "2026-11-24";

/// One application permission (app role) of a resource API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// The exact string that appears in a token's `roles` claim.
    pub name: &'static str,
    /// What the role allows, in a few words.
    pub description: &'static str,
    /// When the role (or the API behind it) is being retired: what to use instead.
    pub deprecated: Option<&'static str>,
}

/// One resource API an app can request application permissions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Api {
    /// The manifest key (`microsoft-365-defender`).
    pub alias: &'static str,
    /// Other names users write for it; accepted with a warning pointing at `alias`.
    pub other_names: &'static [&'static str],
    /// The service principal's display name in Entra.
    pub display_name: &'static str,
    /// The resource's application (client) id, the same in every cloud.
    pub app_id: &'static str,
    /// Delegated scopes of this API: wrong in an app-only manifest, caught with a clear message.
    pub delegated_scopes: &'static [&'static str],
    /// The application roles.
    pub roles: &'static [Role],
    resources: [Option<&'static str>; 5],
    /// Other resource URIs Entra accepts for this API (regional hosts, legacy names), each the
    /// token's `aud` when asked for; the canonical one is the global `resources` entry.
    pub other_resources: &'static [&'static str],
}

impl Api {
    /// The resource URI to request in `cloud` (the token's `aud`), or `None` when the API is not
    /// offered there.
    pub fn resource(&self, cloud: Cloud) -> Option<&'static str> {
        let index = Cloud::ALL.iter().position(|c| *c == cloud).unwrap_or(0);
        self.resources[index]
    }

    /// The role with exactly this name.
    pub fn role(&self, name: &str) -> Option<&'static Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The role names.
    pub fn role_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.roles.iter().map(|r| r.name)
    }
}

const fn role(name: &'static str, description: &'static str) -> Role {
    Role {
        name,
        description,
        deprecated: None,
    }
}

const fn retiring(name: &'static str, description: &'static str, instead: &'static str) -> Role {
    Role {
        name,
        description,
        deprecated: Some(instead),
    }
}

/// Microsoft 365 Defender (Defender XDR), service principal "Microsoft Threat Protection".
pub const MICROSOFT_365_DEFENDER: Api = Api {
    alias: "microsoft-365-defender",
    other_names: &["defender-xdr", "microsoft-threat-protection", "m365d"],
    display_name: "Microsoft Threat Protection",
    app_id: "8ee8fdad-f234-4243-8f3b-15c294843740",
    delegated_scopes: &[
        "AdvancedHunting.Read",
        "Incident.Read",
        "Incident.ReadWrite",
    ],
    roles: &[
        retiring(
            "AdvancedHunting.Read.All",
            "Run advanced hunting queries",
            "the Defender XDR advanced-hunting API is being retired (2026): request microsoft-graph ThreatHunting.Read.All",
        ),
        role(
            "CustomDetections.ReadWrite.All",
            "Read and write custom detection rules",
        ),
        role("Incident.Read.All", "Read all incidents"),
        role("Incident.ReadWrite.All", "Read and write all incidents"),
    ],
    resources: [
        Some("https://api.security.microsoft.com"),
        Some("https://api-gcc.security.microsoft.us"),
        Some("https://api-gov.security.microsoft.us"),
        Some("https://api-gov.security.microsoft.us"),
        None,
    ],
    other_resources: &[
        "https://api-us.security.microsoft.com",
        "https://api-eu.security.microsoft.com",
        "https://api-uk.security.microsoft.com",
        "https://security.microsoft.com/mtp",
    ],
};

/// Microsoft Defender for Endpoint, service principal "WindowsDefenderATP".
pub const DEFENDER_FOR_ENDPOINT: Api = Api {
    alias: "defender-for-endpoint",
    other_names: &["mde", "windowsdefenderatp", "windows-defender-atp"],
    display_name: "WindowsDefenderATP",
    app_id: "fc780465-2017-40d4-a0c5-307022471b92",
    delegated_scopes: &[
        "AdvancedQuery.Read",
        "Alert.Read",
        "Alert.ReadWrite",
        "File.Read",
        "Ip.Read",
        "Machine.Read",
        "Machine.ReadWrite",
        "RemediationTask.Read",
        "Score.Read",
        "SecurityConfiguration.Read",
        "SecurityRecommendation.Read",
        "Software.Read",
        "Ti.Read",
        "Url.Read",
        "User.Read",
        "Vulnerability.Read",
    ],
    roles: &[
        role("AdvancedQuery.Read.All", "Run advanced queries"),
        role("Alert.Read.All", "Read all alerts"),
        role("Alert.ReadWrite.All", "Read and write all alerts"),
        role("Event.Write", "Write timeline events"),
        role("File.Read.All", "Read file profiles"),
        role(
            "IntegrationConfiguration.ReadWrite",
            "Read and write integration settings",
        ),
        role("Ip.Read.All", "Read IP address profiles"),
        role("Library.Manage", "Manage the live response library"),
        role(
            "Machine.CollectForensics",
            "Collect forensics from machines",
        ),
        role("Machine.Isolate", "Isolate machines"),
        role("Machine.LiveResponse", "Run live response on machines"),
        role("Machine.Offboard", "Offboard machines"),
        role("Machine.Read.All", "Read all machine profiles"),
        role(
            "Machine.ReadWrite.All",
            "Read and write all machine information",
        ),
        role(
            "Machine.RestrictExecution",
            "Restrict code execution on machines",
        ),
        role("Machine.Scan", "Scan machines"),
        role("Machine.StopAndQuarantine", "Stop and quarantine files"),
        role("RemediationTasks.Read.All", "Read remediation tasks"),
        role("Score.Read.All", "Read threat and vulnerability scores"),
        role(
            "SecurityBaselinesAssessment.Read.All",
            "Read security baseline assessments",
        ),
        role(
            "SecurityConfiguration.Read.All",
            "Read security configurations",
        ),
        role(
            "SecurityConfiguration.ReadWrite.All",
            "Read and write security configurations",
        ),
        role(
            "SecurityRecommendation.Read.All",
            "Read security recommendations",
        ),
        role("Software.Read.All", "Read software inventory"),
        role("Ti.Read.All", "Read all indicators"),
        role("Ti.ReadWrite", "Read and write indicators this app owns"),
        role("Ti.ReadWrite.All", "Read and write all indicators"),
        role("Url.Read.All", "Read URL profiles"),
        role("User.Read.All", "Read user profiles"),
        role("Vulnerability.Read.All", "Read vulnerability information"),
        role("readonly", "Legacy portal role: read-only access"),
        role("secop", "Legacy portal role: security operations"),
    ],
    resources: [
        Some("https://api.securitycenter.microsoft.com"),
        Some("https://api-gcc.securitycenter.microsoft.us"),
        Some("https://api-gov.securitycenter.microsoft.us"),
        Some("https://api-gov.securitycenter.microsoft.us"),
        None,
    ],
    other_resources: &[
        "https://api-us.securitycenter.microsoft.com",
        "https://api-eu.securitycenter.microsoft.com",
        "https://api-uk.securitycenter.microsoft.com",
        "https://api.securitycenter.windows.com",
        "https://api.securitycenter.windows.us",
        "https://securitycenter.onmicrosoft.com/windowsatpservice",
        "https://securitycenter.microsoft.com/mtp",
        "https://securityoperations.microsoft.com",
    ],
};

/// Microsoft Graph, security subset (the migration target of the Defender APIs).
pub const MICROSOFT_GRAPH: Api = Api {
    alias: "microsoft-graph",
    other_names: &["graph", "ms-graph"],
    display_name: "Microsoft Graph",
    app_id: "00000003-0000-0000-c000-000000000000",
    delegated_scopes: &[
        "SecurityIncident.Read",
        "SecurityAlert.Read",
        "ThreatHunting.Read",
        "SecurityEvents.Read",
    ],
    roles: &[
        role("Application.Read.All", "Read all applications"),
        role("SecurityAlert.Read.All", "Read all security alerts"),
        role(
            "SecurityAlert.ReadWrite.All",
            "Read and write all security alerts",
        ),
        retiring(
            "SecurityEvents.Read.All",
            "Read security events (legacy /security/alerts v1)",
            "Graph /security/alerts (v1) is being retired (2026): request SecurityAlert.Read.All",
        ),
        role("SecurityIncident.Read.All", "Read all security incidents"),
        role(
            "SecurityIncident.ReadWrite.All",
            "Read and write all security incidents",
        ),
        role("ThreatHunting.Read.All", "Run hunting queries"),
        role(
            "ThreatIndicators.ReadWrite.OwnedBy",
            "Manage threat indicators this app creates",
        ),
    ],
    resources: [
        Some("https://graph.microsoft.com"),
        Some("https://graph.microsoft.com"),
        Some("https://graph.microsoft.us"),
        Some("https://dod-graph.microsoft.us"),
        Some("https://microsoftgraph.chinacloudapi.cn"),
    ],
    other_resources: &[],
};

/// Every catalog API, in documentation order.
pub const APIS: &[Api] = &[
    MICROSOFT_365_DEFENDER,
    DEFENDER_FOR_ENDPOINT,
    MICROSOFT_GRAPH,
];

/// The API with this alias (exact).
pub fn api(alias: &str) -> Option<&'static Api> {
    APIS.iter().find(|a| a.alias == alias)
}

/// The API that `name` names: its alias or one of its other names, case-insensitive.
pub fn lookup(name: &str) -> Option<&'static Api> {
    APIS.iter().find(|a| {
        a.alias.eq_ignore_ascii_case(name)
            || a.other_names.iter().any(|n| n.eq_ignore_ascii_case(name))
    })
}

/// The catalog API whose resource URI (in any cloud) or app id is `resource`, ignoring a trailing `/`.
pub fn by_resource(resource: &str) -> Option<&'static Api> {
    let resource = resource.trim_end_matches('/');
    APIS.iter().find(|a| {
        a.app_id.eq_ignore_ascii_case(resource)
            || a.resources
                .iter()
                .flatten()
                .any(|r| r.eq_ignore_ascii_case(resource))
    })
}

/// The catalog API that `resource` names, and the canonical URI for that name: any resource URI of
/// the API (in any cloud: canonical is itself), any of its `other_resources` or its app id
/// (canonical: the global URI). Case-insensitive; a trailing `/` is ignored.
pub fn resolve_resource(resource: &str) -> Option<(&'static Api, &'static str)> {
    let trimmed = resource.trim_end_matches('/');
    APIS.iter().find_map(|api| {
        let global = api.resource(Cloud::Global)?;
        if let Some(own) = api
            .resources
            .iter()
            .flatten()
            .find(|r| r.eq_ignore_ascii_case(trimmed))
        {
            return Some((api, *own));
        }
        let alias = api.app_id.eq_ignore_ascii_case(trimmed)
            || api
                .other_resources
                .iter()
                .any(|r| r.eq_ignore_ascii_case(trimmed));
        alias.then_some((api, global))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn aliases_and_other_names_are_unique() {
        let mut seen = HashSet::new();
        for api in APIS {
            assert!(seen.insert(api.alias.to_ascii_lowercase()), "{}", api.alias);
            for name in api.other_names {
                assert!(seen.insert(name.to_ascii_lowercase()), "{name}");
            }
        }
    }

    #[test]
    fn roles_are_unique_and_sorted_within_each_api() {
        for api in APIS {
            let names: Vec<_> = api.role_names().collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted, "{} roles out of order", api.alias);
            let unique: HashSet<_> = names.iter().collect();
            assert_eq!(
                unique.len(),
                names.len(),
                "{} has a duplicate role",
                api.alias
            );
        }
    }

    #[test]
    fn the_reference_roles_are_present() {
        let m365d = api("microsoft-365-defender").unwrap();
        assert!(m365d.role("Incident.Read.All").is_some());
        assert!(
            m365d.role("Incidents.Read.All").is_none(),
            "the screenshot typo is not a role"
        );
        let mde = api("defender-for-endpoint").unwrap();
        assert_eq!(mde.roles.len(), 32);
        assert!(mde.role("Vulnerability.Read.All").is_some());
        let graph = api("microsoft-graph").unwrap();
        assert!(graph.role("ThreatHunting.Read.All").is_some());
    }

    #[test]
    fn resources_follow_the_cloud() {
        assert_eq!(
            MICROSOFT_365_DEFENDER.resource(Cloud::Global),
            Some("https://api.security.microsoft.com")
        );
        assert_eq!(
            DEFENDER_FOR_ENDPOINT.resource(Cloud::Gcc),
            Some("https://api-gcc.securitycenter.microsoft.us")
        );
        assert_eq!(
            MICROSOFT_GRAPH.resource(Cloud::Dod),
            Some("https://dod-graph.microsoft.us")
        );
        assert_eq!(MICROSOFT_365_DEFENDER.resource(Cloud::China), None);
    }

    #[test]
    fn lookups_accept_other_names_and_resources() {
        assert_eq!(
            lookup("Defender-XDR").map(|a| a.alias),
            Some("microsoft-365-defender")
        );
        assert_eq!(
            by_resource("https://api.securitycenter.microsoft.com/").map(|a| a.alias),
            Some("defender-for-endpoint")
        );
        assert_eq!(
            by_resource("8ee8fdad-f234-4243-8f3b-15c294843740").map(|a| a.alias),
            Some("microsoft-365-defender")
        );
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn every_resource_name_resolves_to_its_api() {
        let cases = [
            (
                "https://api.securitycenter.windows.com",
                "defender-for-endpoint",
                "https://api.securitycenter.microsoft.com",
            ),
            (
                "https://securitycenter.onmicrosoft.com/windowsatpservice/",
                "defender-for-endpoint",
                "https://api.securitycenter.microsoft.com",
            ),
            (
                "HTTPS://API-EU.SECURITY.MICROSOFT.COM",
                "microsoft-365-defender",
                "https://api.security.microsoft.com",
            ),
            (
                "https://api-gcc.securitycenter.microsoft.us",
                "defender-for-endpoint",
                "https://api-gcc.securitycenter.microsoft.us",
            ),
            (
                "fc780465-2017-40d4-a0c5-307022471b92",
                "defender-for-endpoint",
                "https://api.securitycenter.microsoft.com",
            ),
            (
                "https://dod-graph.microsoft.us/",
                "microsoft-graph",
                "https://dod-graph.microsoft.us",
            ),
        ];
        for (resource, alias, canonical) in cases {
            let (api, found) = resolve_resource(resource).unwrap();
            assert_eq!((api.alias, found), (alias, canonical), "{resource}");
        }
        for unknown in [
            "https://api.securitycenter.windows.com.evil.example",
            "https://securitycenter.onmicrosoft.com",
            "api://nobody",
            "",
        ] {
            assert!(resolve_resource(unknown).is_none(), "{unknown}");
        }
    }

    #[test]
    fn resource_names_belong_to_one_api_only() {
        let mut seen = HashSet::new();
        for api in APIS {
            let own: HashSet<&str> = api.resources.iter().flatten().copied().collect();
            for name in own.iter().chain(api.other_resources).chain([&api.app_id]) {
                assert!(
                    seen.insert(name.to_ascii_lowercase()),
                    "{name} is named twice"
                );
                assert!(!name.ends_with('/'), "{name}: stored without a trailing /");
            }
        }
    }

    #[test]
    fn delegated_scopes_are_not_roles() {
        for api in APIS {
            for scope in api.delegated_scopes {
                assert!(api.role(scope).is_none(), "{scope}");
            }
        }
    }
}
