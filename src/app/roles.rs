//! Role names ↔ role ids per resource: from the catalog offline (global ids only, see
//! [`crate::catalog`]), or online from each resource service principal's `appRoles`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::catalog;
use crate::cloud::Cloud;

/// The application roles of each resource, keyed by lowercase resource app id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleIds {
    known: BTreeMap<String, Vec<(String, uuid::Uuid)>>,
    /// Resources whose ids could not be learned, and why.
    unresolved: BTreeMap<String, String>,
}

/// One entry of a service principal's `appRoles` (Graph).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    /// The role id.
    pub id: uuid::Uuid,
    /// The role name (what tokens carry).
    #[serde(default)]
    pub value: Option<String>,
    /// `Application` marks an application permission.
    #[serde(default)]
    pub allowed_member_types: Vec<String>,
    /// Disabled roles cannot be granted.
    #[serde(default = "enabled")]
    pub is_enabled: bool,
}

fn enabled() -> bool {
    true
}

impl RoleIds {
    /// Ids from the catalog for `resource_app_ids` in `cloud`: catalog APIs in a cloud where the
    /// global ids hold are known; every other resource is recorded as unresolved with the reason.
    pub fn offline<'a>(cloud: Cloud, resource_app_ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut ids = RoleIds::default();
        for app_id in resource_app_ids {
            let key = app_id.to_ascii_lowercase();
            if ids.known.contains_key(&key) || ids.unresolved.contains_key(&key) {
                continue;
            }
            let api = catalog::APIS
                .iter()
                .find(|a| a.app_id.eq_ignore_ascii_case(app_id));
            let outcome = match (api, catalog::offline_ids_hold(cloud)) {
                (_, Err(e)) => Err(e.to_string()),
                (None, Ok(())) => {
                    Err(catalog::OfflineIdError::NotInCatalog(app_id.to_owned()).to_string())
                }
                (Some(api), Ok(())) => Ok(api
                    .roles
                    .iter()
                    .filter_map(|r| {
                        catalog::role_id_offline(api.app_id, r.name, cloud)
                            .ok()
                            .map(|id| (r.name.to_owned(), id))
                    })
                    .collect()),
            };
            match outcome {
                Ok(roles) => {
                    ids.known.insert(key, roles);
                }
                Err(why) => {
                    ids.unresolved.insert(key, why);
                }
            }
        }
        ids
    }

    /// Adds a resource's roles as its service principal lists them (only enabled application
    /// roles count).
    pub fn add_service_principal(&mut self, resource_app_id: &str, app_roles: &[AppRole]) {
        let key = resource_app_id.to_ascii_lowercase();
        self.unresolved.remove(&key);
        let roles = app_roles
            .iter()
            .filter(|r| r.is_enabled && r.allowed_member_types.iter().any(|t| t == "Application"))
            .filter_map(|r| r.value.clone().map(|v| (v, r.id)))
            .collect();
        self.known.insert(key, roles);
    }

    /// Records that a resource's roles could not be learned.
    pub fn mark_unresolved(&mut self, resource_app_id: &str, why: impl Into<String>) {
        let key = resource_app_id.to_ascii_lowercase();
        self.known.remove(&key);
        self.unresolved.insert(key, why.into());
    }

    /// Whether the resource's roles are known.
    pub fn knows(&self, resource_app_id: &str) -> bool {
        self.known
            .contains_key(&resource_app_id.to_ascii_lowercase())
    }

    /// Why the resource's roles are not known (`None` when they are, or nobody asked).
    pub fn why_unresolved(&self, resource_app_id: &str) -> Option<&str> {
        self.unresolved
            .get(&resource_app_id.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The id of role `name` of the resource.
    pub fn id(&self, resource_app_id: &str, name: &str) -> Option<uuid::Uuid> {
        self.known
            .get(&resource_app_id.to_ascii_lowercase())?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }

    /// The name of the resource's role with this id.
    pub fn name(&self, resource_app_id: &str, id: uuid::Uuid) -> Option<&str> {
        self.known
            .get(&resource_app_id.to_ascii_lowercase())?
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(n, _)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_ids_come_from_the_catalog_and_refuse_the_rest() {
        let custom = "11111111-2222-3333-4444-555555555555";
        let ids = RoleIds::offline(
            Cloud::Global,
            [catalog::MICROSOFT_365_DEFENDER.app_id, custom],
        );
        let id = ids
            .id(catalog::MICROSOFT_365_DEFENDER.app_id, "Incident.Read.All")
            .unwrap();
        assert_eq!(
            ids.name(&catalog::MICROSOFT_365_DEFENDER.app_id.to_uppercase(), id),
            Some("Incident.Read.All")
        );
        assert!(
            ids.why_unresolved(custom)
                .unwrap()
                .contains("not in the built-in catalog")
        );
        let high = RoleIds::offline(Cloud::GccHigh, [catalog::MICROSOFT_GRAPH.app_id]);
        assert!(!high.knows(catalog::MICROSOFT_GRAPH.app_id));
        assert!(
            high.why_unresolved(catalog::MICROSOFT_GRAPH.app_id)
                .unwrap()
                .contains("gcc-high")
        );
    }

    #[test]
    fn service_principal_roles_replace_catalog_guesses_and_skip_delegated_or_disabled() {
        let mut ids = RoleIds::offline(Cloud::GccHigh, [catalog::MICROSOFT_GRAPH.app_id]);
        let id = uuid::Uuid::parse_str("64c33fcb-e6aa-490d-bed5-6016a9ef8f6d").unwrap();
        let roles = vec![
            AppRole {
                id,
                value: Some("SecurityAlert.Read.All".into()),
                allowed_member_types: vec!["Application".into()],
                is_enabled: true,
            },
            AppRole {
                id: uuid::Uuid::nil(),
                value: Some("User.Read".into()),
                allowed_member_types: vec!["User".into()],
                is_enabled: true,
            },
            AppRole {
                id: uuid::Uuid::from_u128(7),
                value: Some("Old.Role".into()),
                allowed_member_types: vec!["Application".into()],
                is_enabled: false,
            },
        ];
        ids.add_service_principal(catalog::MICROSOFT_GRAPH.app_id, &roles);
        assert_eq!(
            ids.id(catalog::MICROSOFT_GRAPH.app_id, "SecurityAlert.Read.All"),
            Some(id)
        );
        assert_eq!(ids.id(catalog::MICROSOFT_GRAPH.app_id, "User.Read"), None);
        assert_eq!(ids.id(catalog::MICROSOFT_GRAPH.app_id, "Old.Role"), None);
        assert!(
            ids.why_unresolved(catalog::MICROSOFT_GRAPH.app_id)
                .is_none()
        );
    }
}
