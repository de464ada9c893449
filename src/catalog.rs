//! The built-in catalog of resource APIs and their application permissions (reference §1).
//!
//! The manifest's `apis` keys are catalog aliases; validation checks roles against this table and
//! `consentry roles` prints it.
//!
//! Role ids. An app registration's `requiredResourceAccess` names roles by id, not by name, so
//! `consentry app` needs them. Each role's id is the `id` of the matching entry (same `value`) in
//! the resource service principal's `appRoles` (Graph `GET /servicePrincipals(appId='…')`,
//! reference §8). The ids below are the global cloud's, from Microsoft's permission references
//! (microsoft-graph-docs-contrib `permissions-reference.md`; defender-docs pages that list the
//! WindowsDefenderATP and Microsoft Threat Protection application permissions), reference §1.
//! Microsoft Graph's ids are documented to differ in the US sovereign clouds (GCC High, DoD: for
//! example `SecurityAlert.Read.All`); whether the Defender APIs' ids differ there is not
//! documented. So [`role_id_offline`] answers only for the clouds that share the global directory
//! (global and GCC, whose tenants sign in at the global login host) and only for catalog APIs;
//! everything else must be resolved online, by value, from the service principal's `appRoles`.
//!
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
    /// The role's id in the global cloud (the `id` in `requiredResourceAccess`).
    pub global_id: &'static str,
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

const fn role(global_id: &'static str, name: &'static str, description: &'static str) -> Role {
    Role {
        global_id,
        name,
        description,
        deprecated: None,
    }
}

const fn retiring(
    global_id: &'static str,
    name: &'static str,
    description: &'static str,
    instead: &'static str,
) -> Role {
    Role {
        global_id,
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
            "7734e8e5-8dde-42fc-b5ae-6eafea078693",
            "AdvancedHunting.Read.All",
            "Run advanced hunting queries",
            "the Defender XDR advanced-hunting API is being retired (2026): request microsoft-graph ThreatHunting.Read.All",
        ),
        role(
            "a7deff90-e2f5-4e4e-83a3-2c74e7002e28",
            "CustomDetections.ReadWrite.All",
            "Read and write custom detection rules",
        ),
        role(
            "a9790345-4595-42e4-971a-ccdc79f19b7c",
            "Incident.Read.All",
            "Read all incidents",
        ),
        role(
            "8d90f441-09cf-4fdc-ab45-e874fa3a28e8",
            "Incident.ReadWrite.All",
            "Read and write all incidents",
        ),
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
        role(
            "93489bf5-0fbc-4f2d-b901-33f2fe08ff05",
            "AdvancedQuery.Read.All",
            "Run advanced queries",
        ),
        role(
            "71fe6b80-7034-4028-9ed8-0f316df9c3ff",
            "Alert.Read.All",
            "Read all alerts",
        ),
        role(
            "0f7000ec-157b-497f-b70e-ef0b0584f140",
            "Alert.ReadWrite.All",
            "Read and write all alerts",
        ),
        role(
            "84ddd701-5fac-4c30-b0ad-aa73a67bea1a",
            "Event.Write",
            "Write timeline events",
        ),
        role(
            "8788f1a9-beca-4e26-ba58-10513f3b896f",
            "File.Read.All",
            "Read file profiles",
        ),
        role(
            "7c6f6912-60e9-4fcd-bb2a-c25bc35e8c59",
            "IntegrationConfiguration.ReadWrite",
            "Read and write integration settings",
        ),
        role(
            "47bf842d-354b-49ef-b741-3a6dd815bc13",
            "Ip.Read.All",
            "Read IP address profiles",
        ),
        role(
            "41d209c7-2511-4fc9-b899-8008a3976f09",
            "Library.Manage",
            "Manage the live response library",
        ),
        role(
            "15405ab2-2103-4a3c-ad80-e829841cedcc",
            "Machine.CollectForensics",
            "Collect forensics from machines",
        ),
        role(
            "7e4e1300-e1b9-4102-88ba-f0cb6e6d5974",
            "Machine.Isolate",
            "Isolate machines",
        ),
        role(
            "1629b959-c0af-42a1-92f0-f6162060bdf1",
            "Machine.LiveResponse",
            "Run live response on machines",
        ),
        role(
            "594435bf-36dd-4548-83bd-1bdafe157d7a",
            "Machine.Offboard",
            "Offboard machines",
        ),
        role(
            "ea8291d3-4b9a-44b5-bc3a-6cea3026dc79",
            "Machine.Read.All",
            "Read all machine profiles",
        ),
        role(
            "aa027352-232b-4ed4-b963-a705fc4d6d2c",
            "Machine.ReadWrite.All",
            "Read and write all machine information",
        ),
        role(
            "96b6b35d-074d-4e2d-b167-8d68d9269648",
            "Machine.RestrictExecution",
            "Restrict code execution on machines",
        ),
        role(
            "a86d9824-b2b6-45f8-b042-16bc4922ed4e",
            "Machine.Scan",
            "Scan machines",
        ),
        role(
            "96e72b5e-7e68-4171-aad1-3937599e4751",
            "Machine.StopAndQuarantine",
            "Stop and quarantine files",
        ),
        role(
            "6a33eedf-ba73-4e5a-821b-f057ef63853a",
            "RemediationTasks.Read.All",
            "Read remediation tasks",
        ),
        role(
            "02b005dd-f804-43b4-8fc7-078460413f74",
            "Score.Read.All",
            "Read threat and vulnerability scores",
        ),
        role(
            "e870c0c1-c1a2-41ca-948e-a33912d2d3f0",
            "SecurityBaselinesAssessment.Read.All",
            "Read security baseline assessments",
        ),
        role(
            "227f2ea0-c2c2-4428-b7af-9ff40f1a720e",
            "SecurityConfiguration.Read.All",
            "Read security configurations",
        ),
        role(
            "e5e05709-32a3-4c85-89c8-67596eb94f24",
            "SecurityConfiguration.ReadWrite.All",
            "Read and write security configurations",
        ),
        role(
            "6443965c-7dd2-4cfd-b38f-bb7772bee163",
            "SecurityRecommendation.Read.All",
            "Read security recommendations",
        ),
        role(
            "37f71c98-d198-41ae-964d-2c49aab74926",
            "Software.Read.All",
            "Read software inventory",
        ),
        role(
            "528ca142-c849-4a5b-935e-10b8b9c38a84",
            "Ti.Read.All",
            "Read all indicators",
        ),
        role(
            "a8bc2240-f96a-46a1-bad5-6a960b7327a1",
            "Ti.ReadWrite",
            "Read and write indicators this app owns",
        ),
        role(
            "fc511a58-3adf-4d71-af24-00f13e35e479",
            "Ti.ReadWrite.All",
            "Read and write all indicators",
        ),
        role(
            "721af526-ffa8-42d7-9b84-1a56244dd99d",
            "Url.Read.All",
            "Read URL profiles",
        ),
        role(
            "a833834a-4cf1-4732-8acf-bbcfa13fb610",
            "User.Read.All",
            "Read user profiles",
        ),
        role(
            "41269fc5-d04d-4bfd-bce7-43a51cea049a",
            "Vulnerability.Read.All",
            "Read vulnerability information",
        ),
        role(
            "f820e656-f1d1-4cb8-a566-31d18eeecb40",
            "readonly",
            "Legacy portal role: read-only access",
        ),
        role(
            "2261fd4a-5f23-4b74-9e4d-f4ac92dc86a2",
            "secop",
            "Legacy portal role: security operations",
        ),
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
        role(
            "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
            "Application.Read.All",
            "Read all applications",
        ),
        role(
            "472e4a4d-bb4a-4026-98d1-0b0d74cb74a5",
            "SecurityAlert.Read.All",
            "Read all security alerts",
        ),
        role(
            "ed4fca05-be46-441f-9803-1873825f8fdb",
            "SecurityAlert.ReadWrite.All",
            "Read and write all security alerts",
        ),
        retiring(
            "bf394140-e372-4bf9-a898-299cfc7564e5",
            "SecurityEvents.Read.All",
            "Read security events (legacy /security/alerts v1)",
            "Graph /security/alerts (v1) is being retired (2026): request SecurityAlert.Read.All",
        ),
        role(
            "45cc0394-e837-488b-a098-1918f48d186c",
            "SecurityIncident.Read.All",
            "Read all security incidents",
        ),
        role(
            "34bf0e97-1971-4929-b999-9e2442d941d7",
            "SecurityIncident.ReadWrite.All",
            "Read and write all security incidents",
        ),
        role(
            "dd98c7f5-2d42-42d3-a0e4-633161547251",
            "ThreatHunting.Read.All",
            "Run hunting queries",
        ),
        role(
            "21792b6c-c986-4ffc-85de-df9da54b52fa",
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

/// Why a role id cannot be known without asking Graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfflineIdError {
    /// The cloud's role ids are not the global ones (or not known to be).
    #[error(
        "role ids in the {0} cloud may differ from the global cloud's; they can only be resolved online from the resource's service principal"
    )]
    Cloud(Cloud),
    /// The resource is not a catalog API.
    #[error(
        "`{0}` is not in the built-in catalog; its role ids can only be resolved online from its service principal"
    )]
    NotInCatalog(String),
    /// The catalog API has no role by that name.
    #[error("`{api}` has no application role `{role}`")]
    UnknownRole {
        /// The API's alias.
        api: &'static str,
        /// The role name.
        role: String,
    },
}

/// Whether the catalog's (global) role ids hold in `cloud`: only where tenants live in the global
/// directory (see the module docs).
pub fn offline_ids_hold(cloud: Cloud) -> Result<(), OfflineIdError> {
    match cloud {
        Cloud::Global | Cloud::Gcc => Ok(()),
        other => Err(OfflineIdError::Cloud(other)),
    }
}

/// The id of role `role` of the API whose resource app id is `resource_app_id`, from the catalog,
/// for `cloud`. Refuses (rather than guesses) for other clouds and for APIs outside the catalog.
pub fn role_id_offline(
    resource_app_id: &str,
    role: &str,
    cloud: Cloud,
) -> Result<uuid::Uuid, OfflineIdError> {
    offline_ids_hold(cloud)?;
    let api = APIS
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(resource_app_id))
        .ok_or_else(|| OfflineIdError::NotInCatalog(resource_app_id.to_owned()))?;
    let found = api.role(role).ok_or_else(|| OfflineIdError::UnknownRole {
        api: api.alias,
        role: role.to_owned(),
    })?;
    parse_id(found.global_id, api.alias, role)
}

/// The name of the role with id `id` of the API whose app id is `resource_app_id` (catalog, global
/// ids), under the same conditions as [`role_id_offline`]; `Ok(None)` when the catalog API has no
/// role with that id.
pub fn role_name_offline(
    resource_app_id: &str,
    id: uuid::Uuid,
    cloud: Cloud,
) -> Result<Option<&'static str>, OfflineIdError> {
    offline_ids_hold(cloud)?;
    let api = APIS
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(resource_app_id))
        .ok_or_else(|| OfflineIdError::NotInCatalog(resource_app_id.to_owned()))?;
    Ok(api
        .roles
        .iter()
        .find(|r| uuid::Uuid::parse_str(r.global_id).ok() == Some(id))
        .map(|r| r.name))
}

fn parse_id(id: &str, api: &'static str, role: &str) -> Result<uuid::Uuid, OfflineIdError> {
    // The table is a constant checked by a test; a typo there surfaces as "unknown role", never a
    // panic.
    uuid::Uuid::parse_str(id).map_err(|_| OfflineIdError::UnknownRole {
        api,
        role: role.to_owned(),
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
    fn every_role_id_is_a_distinct_guid() {
        let mut seen = HashSet::new();
        for api in APIS {
            for role in api.roles {
                let id = uuid::Uuid::parse_str(role.global_id).unwrap();
                assert!(seen.insert(id), "{} {}", api.alias, role.name);
            }
        }
        assert_eq!(seen.len(), 44);
    }

    #[test]
    fn role_ids_resolve_offline_only_where_they_hold() {
        let id = role_id_offline(
            MICROSOFT_365_DEFENDER.app_id,
            "Incident.Read.All",
            Cloud::Global,
        )
        .unwrap();
        assert_eq!(id.to_string(), "a9790345-4595-42e4-971a-ccdc79f19b7c");
        assert_eq!(
            role_name_offline(MICROSOFT_365_DEFENDER.app_id, id, Cloud::Gcc).unwrap(),
            Some("Incident.Read.All")
        );
        assert_eq!(
            role_id_offline(
                MICROSOFT_GRAPH.app_id,
                "SecurityAlert.Read.All",
                Cloud::GccHigh
            ),
            Err(OfflineIdError::Cloud(Cloud::GccHigh))
        );
        assert!(matches!(
            role_id_offline(
                "11111111-2222-3333-4444-555555555555",
                "Read",
                Cloud::Global
            ),
            Err(OfflineIdError::NotInCatalog(_))
        ));
        assert!(matches!(
            role_id_offline(
                DEFENDER_FOR_ENDPOINT.app_id,
                "Incidents.Read.All",
                Cloud::Global
            ),
            Err(OfflineIdError::UnknownRole { .. })
        ));
        assert_eq!(
            role_name_offline(DEFENDER_FOR_ENDPOINT.app_id, id, Cloud::Global).unwrap(),
            None,
            "an MTP id is not an MDE role"
        );
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
