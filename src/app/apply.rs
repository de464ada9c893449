//! The `apply` diff: the registration's `requiredResourceAccess` made to match the manifest,
//! Terraform-style. Pure: the current list, the wanted roles and the role ids in; the changes and
//! the complete new list (what `PATCH /applications/{id}` sends: the whole list replaces the old
//! one, reference §8) out.
//!
//! Without `prune`, only additions: other APIs, delegated scopes and roles the manifest does not
//! mention stay as they are. With `prune`, the list becomes exactly what the manifest implies.

use serde::Serialize;

use super::check::{Expected, resource_label};
use super::registration::{AccessKind, RequiredResourceAccess, ResourceAccess};
use super::roles::RoleIds;

/// One permission added, removed or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The manifest key or catalog alias of the resource (its app id when neither).
    pub api: String,
    /// The resource's app id.
    pub resource_app_id: String,
    /// The role's name when known.
    pub role: Option<String>,
    /// The permission id.
    pub id: uuid::Uuid,
    /// Role or Scope.
    #[serde(rename = "type")]
    pub kind: AccessKind,
}

/// What `apply` would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Whether removals were asked for.
    pub prune: bool,
    /// Permissions to add.
    pub add: Vec<Change>,
    /// Permissions to remove (only with `prune`).
    pub remove: Vec<Change>,
    /// Permissions the manifest does not mention, kept because `prune` is off.
    pub kept: Vec<Change>,
    /// The complete list after the change (what is sent).
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

impl Diff {
    /// Nothing to add and nothing to remove.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// A manifest role whose id is not known, so nothing can be written for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resolve the role id of `{role}` of `{api}`: {why}")]
pub struct Unresolved {
    /// The manifest key.
    pub api: String,
    /// The role.
    pub role: String,
    /// Why.
    pub why: String,
}

/// The `requiredResourceAccess` the manifest implies on its own, in manifest order, roles sorted
/// by name (what `consentry app required-access` prints). Every role must resolve.
pub fn desired(
    expected: &Expected,
    ids: &RoleIds,
) -> Result<Vec<RequiredResourceAccess>, Vec<Unresolved>> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for api in expected.apis.iter().filter(|a| !a.roles.is_empty()) {
        let Some(app_id) = api.resource_app_id.as_deref() else {
            missing.extend(api.roles.iter().map(|role| Unresolved {
                api: api.key.clone(),
                role: role.clone(),
                why: "the API is named by resource URI; give its application id (GUID) as `resource`".into(),
            }));
            continue;
        };
        let mut access = Vec::new();
        for role in &api.roles {
            match ids.id(app_id, role) {
                Some(id) => access.push(ResourceAccess {
                    id,
                    kind: AccessKind::Role,
                }),
                None => missing.push(Unresolved {
                    api: api.key.clone(),
                    role: role.clone(),
                    why: ids
                        .why_unresolved(app_id)
                        .unwrap_or("the resource's service principal has no such application role")
                        .to_owned(),
                }),
            }
        }
        out.push(RequiredResourceAccess {
            resource_app_id: app_id.to_ascii_lowercase(),
            resource_access: access,
        });
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

/// The difference between `current` and what the manifest wants (`desired`, from [`desired`]).
pub fn diff(
    current: &[RequiredResourceAccess],
    desired: &[RequiredResourceAccess],
    expected: &Expected,
    ids: &RoleIds,
    prune: bool,
) -> Diff {
    let change = |app_id: &str, access: &ResourceAccess| Change {
        api: resource_label(expected, app_id),
        resource_app_id: app_id.to_owned(),
        role: match access.kind {
            AccessKind::Role => ids.name(app_id, access.id).map(str::to_owned),
            AccessKind::Scope => None,
        },
        id: access.id,
        kind: access.kind,
    };
    let wanted = |app_id: &str, access: &ResourceAccess| {
        access.kind == AccessKind::Role
            && desired.iter().any(|d| {
                d.resource_app_id.eq_ignore_ascii_case(app_id)
                    && d.resource_access.iter().any(|a| a.id == access.id)
            })
    };
    let (mut add, mut remove, mut kept) = (Vec::new(), Vec::new(), Vec::new());
    // Keep (or prune) what is there, in its order, in its spelling.
    let mut result: Vec<RequiredResourceAccess> = Vec::new();
    for resource in current {
        let mut entry = RequiredResourceAccess {
            resource_app_id: resource.resource_app_id.clone(),
            resource_access: Vec::new(),
        };
        for access in &resource.resource_access {
            let duplicate = entry.resource_access.contains(access);
            if wanted(&resource.resource_app_id, access) {
                if !duplicate {
                    entry.resource_access.push(*access);
                }
            } else if prune {
                remove.push(change(&resource.resource_app_id, access));
            } else {
                kept.push(change(&resource.resource_app_id, access));
                if !duplicate {
                    entry.resource_access.push(*access);
                }
            }
        }
        // Two entries for one resource: merge, Graph keys the list by resource.
        match result.iter_mut().find(|r| {
            r.resource_app_id
                .eq_ignore_ascii_case(&entry.resource_app_id)
        }) {
            Some(existing) => {
                for access in entry.resource_access {
                    if !existing.resource_access.contains(&access) {
                        existing.resource_access.push(access);
                    }
                }
            }
            None => result.push(entry),
        }
    }
    // Then add what is missing.
    for resource in desired {
        for access in &resource.resource_access {
            let present = result.iter().any(|r| {
                r.resource_app_id
                    .eq_ignore_ascii_case(&resource.resource_app_id)
                    && r.resource_access.contains(access)
            });
            if present {
                continue;
            }
            add.push(change(&resource.resource_app_id, access));
            match result.iter_mut().find(|r| {
                r.resource_app_id
                    .eq_ignore_ascii_case(&resource.resource_app_id)
            }) {
                Some(existing) => existing.resource_access.push(*access),
                None => result.push(RequiredResourceAccess {
                    resource_app_id: resource.resource_app_id.clone(),
                    resource_access: vec![*access],
                }),
            }
        }
    }
    // A resource left with nothing requested is dropped: an empty entry means nothing to Graph.
    result.retain(|r| !r.resource_access.is_empty());
    Diff {
        prune,
        add,
        remove,
        kept,
        required_resource_access: result,
    }
}
