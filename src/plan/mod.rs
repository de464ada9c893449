//! `plan`: what each customer tenant must do, as pure data (manifest → plan → report).
//!
//! Offline. The action of a tenant comes from comparing the current manifest with what was known
//! before: nothing (every tenant consents), the previous manifest (`--base`, what CI has on the
//! target branch), or the last `verify` report (`--state`, what the tenants really granted).
//!
//! Matching a tenant across manifests or against a report: by id, case-insensitively (for a report,
//! also by the tenant GUID its token named, so a tenant rewritten from domain to GUID still matches),
//! then by name. A tenant matched only by name had its id changed: it is planned as `consent`,
//! because consenting again is harmless while a missed consent is not, and the reason names the old
//! id so a human can tell a typo fix from a customer moving to another directory.
//!
//! Three kinds of roles to grant are kept apart, because they call for different words to a
//! customer: `new_roles` are roles the manifest really added (since the base manifest, or since the
//! manifest the report was made from), `missing_roles` were required before and are still not
//! granted, and `withheld_roles` are roles added app-wide that a tenant's own `apis` override keeps
//! away from it (a silent gap unless someone says so).

mod matching;
mod state;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cloud::Cloud;
use crate::consent::{LinkStyle, admin_consent_url};
use crate::model::{Manifest, Tenant};
use crate::verify::report::{AppInfo, Report, Status, TenantReport};

use matching::{Index, Match};
pub use state::{DEFAULT_MAX_AGE, Stale, StateError, check_state, parse_report};

/// The plan's JSON format version. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// What a tenant must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The app registration does not request a role the tenant lacks: no consent can grant it
    /// until `consentry app apply` adds it; then the tenant re-consents.
    BlockedByApp,
    /// The tenant's admin must grant admin consent (first time, or to a new app).
    Consent,
    /// Consented before, but the app now needs roles the tenant has not granted: consent again.
    Reconsent,
    /// The tenant left the manifest: remove the app from it.
    Offboard,
    /// The last `verify` could not get a usable answer: a human must look.
    Investigate,
    /// Nothing to do.
    None,
}

impl Action {
    /// Every action, in the order summaries list them.
    pub const ALL: [Action; 6] = [
        Action::BlockedByApp,
        Action::Consent,
        Action::Reconsent,
        Action::Offboard,
        Action::Investigate,
        Action::None,
    ];

    /// The snake_case name used in plans.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::BlockedByApp => "blocked_by_app",
            Action::Consent => "consent",
            Action::Reconsent => "reconsent",
            Action::Offboard => "offboard",
            Action::Investigate => "investigate",
            Action::None => "none",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Required (or new) roles per API key, sorted.
pub type Roles = BTreeMap<String, Vec<String>>;

/// What every tenant must do. Its JSON form is documented and stable (`schema_version` 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The app the tenants consent to.
    pub app: AppInfo,
    /// The manifest's cloud (it decides the login host of every link).
    pub cloud: Cloud,
    /// How many tenants take each action.
    pub summary: PlanSummary,
    /// The manifest's tenants in manifest order, then the tenants to offboard.
    pub tenants: Vec<PlannedTenant>,
}

/// How many tenants take each action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Tenants waiting for the app registration to request a role (`consentry app apply`).
    /// Written only when some are, so plans without `verify --app` keep their shape.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub blocked_by_app: usize,
    /// Tenants that must consent.
    pub consent: usize,
    /// Tenants that must consent again.
    pub reconsent: usize,
    /// Tenants to remove the app from.
    pub offboard: usize,
    /// Tenants a human must look at.
    pub investigate: usize,
    /// Tenants with nothing to do.
    pub none: usize,
    /// All tenants in the plan.
    pub tenants: usize,
}

impl Plan {
    /// Keeps only the tenants `keep` accepts (`plan --tenant/--label`) and counts them again.
    pub fn retain(&mut self, keep: impl Fn(&PlannedTenant) -> bool) {
        self.tenants.retain(|t| keep(t));
        let mut summary = PlanSummary::default();
        for t in &self.tenants {
            summary.add(t.action);
        }
        self.summary = summary;
    }

    /// Whether any tenant has something to do (`plan --detailed-exitcode` exits 4).
    pub fn has_pending(&self) -> bool {
        self.tenants.iter().any(|t| t.action != Action::None)
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl PlanSummary {
    /// The count for one action.
    pub fn count(&self, action: Action) -> usize {
        match action {
            Action::BlockedByApp => self.blocked_by_app,
            Action::Consent => self.consent,
            Action::Reconsent => self.reconsent,
            Action::Offboard => self.offboard,
            Action::Investigate => self.investigate,
            Action::None => self.none,
        }
    }

    fn add(&mut self, action: Action) {
        let slot = match action {
            Action::BlockedByApp => &mut self.blocked_by_app,
            Action::Consent => &mut self.consent,
            Action::Reconsent => &mut self.reconsent,
            Action::Offboard => &mut self.offboard,
            Action::Investigate => &mut self.investigate,
            Action::None => &mut self.none,
        };
        *slot += 1;
        self.tenants += 1;
    }
}

/// One tenant's line in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTenant {
    /// The partner's name for the customer.
    pub name: String,
    /// The tenant GUID or verified domain.
    pub id: String,
    /// The manifest's labels.
    pub labels: Vec<String>,
    /// What the tenant must do.
    pub action: Action,
    /// The admin-consent link (absent for `offboard`).
    pub consent_url: Option<String>,
    /// Roles the current manifest requires, per API (empty for `offboard`).
    pub required: Roles,
    /// For `reconsent`: roles the manifest added (since the base manifest, or since the manifest
    /// the verify report was made from) that the tenant has not granted yet, per API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_roles: Option<Roles>,
    /// For `reconsent` from a verify report: roles that were already required then and are still
    /// not granted, per API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_roles: Option<Roles>,
    /// With `--base`: roles added app-wide since the base manifest that this tenant's own `apis`
    /// override keeps away from it, per API. Not an action; a human decides whether it is meant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld_roles: Option<Roles>,
    /// Why, in a sentence a human reads.
    pub reason: String,
}

/// What the plan compares the manifest with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Which form of admin-consent link to build.
    pub link_style: LinkStyle,
    /// The previous manifest (`--base`).
    pub base: Option<&'a Manifest>,
    /// The last `verify` report (`--state`). When both are given, the report decides each tenant's
    /// action (it is evidence, the base is only intent) and tenants gone from either are offboarded.
    pub state: Option<&'a Report>,
}

/// Plans every tenant of `manifest`: manifest order, then tenants to offboard (base order, then
/// report order).
pub fn plan(manifest: &Manifest, options: &Options) -> Plan {
    let client_id = &manifest.app.client_id;
    let base_app_changed = options
        .base
        .filter(|b| b.app.client_id != *client_id)
        .map(|b| b.app.client_id.to_string());
    // A report names its app as text; one that is not this GUID is another app.
    let state_app_changed = options
        .state
        .filter(|s| uuid::Uuid::parse_str(&s.app.client_id).ok() != Some(*client_id))
        .map(|s| s.app.client_id.clone());
    let app_changed = state_app_changed.or(base_app_changed);

    let mut base_index = options.base.map(|b| {
        Index::new(
            b.tenants
                .iter()
                .map(|t| (vec![t.id.as_str().into_owned()], t.name.as_str())),
        )
    });
    let mut state_index = options.state.map(|s| {
        Index::new(s.tenants.iter().map(|t| {
            let mut ids = vec![t.id.as_str()];
            ids.extend(t.tenant_id.as_deref());
            (ids, t.name.as_str())
        }))
    });

    // Exact id matches are taken before any name fallback, so a name can never steal a tenant that
    // another entry names by id.
    let base_matches = base_index.as_mut().map(|index| match_all(index, manifest));
    let state_matches = state_index.as_mut().map(|index| match_all(index, manifest));

    let mut tenants = Vec::with_capacity(manifest.tenants.len());
    for (i, tenant) in manifest.tenants.iter().enumerate() {
        let required = roles_of(&tenant.required);
        let decision = if let Some(old) = &app_changed {
            Decision::plain(
                Action::Consent,
                format!(
                    "The app changed (client id {old} → {client_id}): every tenant must consent to \
                     the new app."
                ),
            )
        } else if let (Some(report), Some(matches)) = (options.state, &state_matches) {
            match matches[i] {
                Some(m) => blocked_by_app(
                    from_state(tenant, &report.tenants[m.index], m.by_name),
                    report,
                ),
                None => Decision::plain(
                    Action::Consent,
                    format!(
                        "Not in the last verify report ({}): send the admin-consent link.",
                        report.generated_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                ),
            }
        } else if let (Some(base), Some(matches)) = (options.base, &base_matches) {
            match matches[i] {
                Some(m) => from_base(tenant, &base.tenants[m.index], m.by_name)
                    .withholding(withheld(manifest, base, tenant)),
                None => Decision::plain(
                    Action::Consent,
                    "New tenant: send the admin-consent link.".to_owned(),
                ),
            }
        } else {
            Decision::plain(
                Action::Consent,
                "Nothing known yet (no base manifest or verify report): send the admin-consent \
                 link."
                    .to_owned(),
            )
        };
        tenants.push(PlannedTenant {
            name: tenant.name.clone(),
            id: tenant.id.to_string(),
            labels: tenant.labels.clone(),
            action: decision.action,
            consent_url: Some(admin_consent_url(
                manifest.cloud,
                &tenant.id.as_str(),
                &client_id.to_string(),
                &manifest.app.redirect_uri,
                options.link_style,
            )),
            required,
            new_roles: decision.new_roles,
            missing_roles: decision.missing_roles,
            withheld_roles: decision.withheld_roles,
            reason: decision.reason,
        });
    }

    let app_name = &manifest.app.name;
    let mut offboarded: BTreeSet<String> = BTreeSet::new();
    if let (Some(base), Some(index)) = (options.base, &base_index) {
        for i in index.unused() {
            let gone = &base.tenants[i];
            offboarded.insert(gone.id.as_str().to_ascii_lowercase());
            tenants.push(offboard(
                &gone.name,
                &gone.id.as_str(),
                gone.labels.clone(),
                app_name,
                "previous manifest",
            ));
        }
    }
    if let (Some(report), Some(index)) = (options.state, &state_index) {
        for i in index.unused() {
            let gone = &report.tenants[i];
            if offboarded.insert(gone.id.to_ascii_lowercase()) {
                tenants.push(offboard(
                    &gone.name,
                    &gone.id,
                    gone.labels.clone(),
                    app_name,
                    "last verify report",
                ));
            }
        }
    }

    let mut summary = PlanSummary::default();
    for t in &tenants {
        summary.add(t.action);
    }
    Plan {
        schema_version: SCHEMA_VERSION,
        app: AppInfo {
            name: manifest.app.name.clone(),
            client_id: client_id.to_string(),
        },
        cloud: manifest.cloud,
        summary,
        tenants,
    }
}

/// Matches every manifest tenant: all exact id matches first, then names for the rest.
fn match_all(index: &mut Index, manifest: &Manifest) -> Vec<Option<Match>> {
    let mut matches: Vec<Option<Match>> = manifest
        .tenants
        .iter()
        .map(|t| index.take_by_id(&t.id.as_str()))
        .collect();
    for (slot, tenant) in matches.iter_mut().zip(&manifest.tenants) {
        if slot.is_none() {
            *slot = index.take_by_name(&tenant.name);
        }
    }
    matches
}

/// An action with its reason.
struct Decision {
    action: Action,
    new_roles: Option<Roles>,
    missing_roles: Option<Roles>,
    withheld_roles: Option<Roles>,
    reason: String,
}

impl Decision {
    fn plain(action: Action, reason: String) -> Self {
        Decision {
            action,
            new_roles: None,
            missing_roles: None,
            withheld_roles: None,
            reason,
        }
    }

    fn reconsent(new_roles: Roles, missing_roles: Roles, reason: String) -> Self {
        Decision {
            action: Action::Reconsent,
            new_roles: Some(new_roles).filter(|r| !r.is_empty()),
            missing_roles: Some(missing_roles).filter(|r| !r.is_empty()),
            withheld_roles: None,
            reason,
        }
    }

    /// Adds the roles a per-tenant override keeps away, and says so in the reason.
    fn withholding(mut self, withheld: Roles) -> Self {
        if !withheld.is_empty() {
            self.reason.push_str(&format!(
                " Its own `apis` override keeps {} away from it although the app now needs them \
                 app-wide: add them to its override if it should grant them.",
                describe(&withheld)
            ));
            self.withheld_roles = Some(withheld);
        }
        self
    }
}

/// Roles added to the app-wide `apis` since `base` that `tenant` does not require: its per-tenant
/// override (or an empty list) keeps them away from it.
fn withheld(manifest: &Manifest, base: &Manifest, tenant: &Tenant) -> Roles {
    let mut out = Roles::new();
    for api in &manifest.apis {
        let before = base.api(&api.key).map(|b| &b.roles);
        let here = tenant.required.get(&api.key);
        let kept_away: Vec<String> = api
            .roles
            .iter()
            .filter(|r| !before.is_some_and(|b| b.contains(*r)))
            .filter(|r| !here.is_some_and(|h| h.contains(*r)))
            .cloned()
            .collect();
        if !kept_away.is_empty() {
            out.insert(api.key.clone(), kept_away);
        }
    }
    out
}

fn offboard(name: &str, id: &str, labels: Vec<String>, app: &str, seen_in: &str) -> PlannedTenant {
    PlannedTenant {
        name: name.to_owned(),
        id: id.to_owned(),
        labels,
        action: Action::Offboard,
        consent_url: None,
        required: Roles::new(),
        new_roles: None,
        missing_roles: None,
        withheld_roles: None,
        reason: format!(
            "No longer in the manifest (it is in the {seen_in}): have the tenant's admin delete the \
             {app} enterprise application (Entra admin center → Enterprise applications) to revoke \
             its access."
        ),
    }
}

/// The action against the previous manifest's entry for the same tenant.
fn from_base(tenant: &Tenant, old: &Tenant, by_name: bool) -> Decision {
    if by_name {
        return id_changed(&old.id.to_string(), tenant);
    }
    let mut grown = Roles::new();
    let mut dropped = Roles::new();
    for api in keys(&tenant.required, &old.required) {
        let now = tenant.required.get(api);
        let before = old.required.get(api);
        let added = difference(now, before);
        if !added.is_empty() {
            grown.insert(api.clone(), added);
        }
        let removed = difference(before, now);
        if !removed.is_empty() {
            dropped.insert(api.clone(), removed);
        }
    }
    if !grown.is_empty() {
        let reason = format!(
            "The app now needs {}: the tenant's admin must consent again (same link).",
            describe(&grown)
        );
        return Decision::reconsent(grown, Roles::new(), reason);
    }
    if dropped.is_empty() {
        Decision::plain(
            Action::None,
            "Required roles unchanged since the previous manifest.".to_owned(),
        )
    } else {
        Decision::plain(
            Action::None,
            format!(
                "No longer needed: {}. Nothing to consent; drop them from the app registration \
                 for least privilege.",
                describe(&dropped)
            ),
        )
    }
}

/// The action against what the last `verify` saw for the same tenant. Computed from the current
/// manifest's required roles and the report's `granted`, not from the report's status alone: the
/// manifest may have grown since the report was made.
fn from_state(tenant: &Tenant, seen: &TenantReport, by_name: bool) -> Decision {
    if by_name {
        return id_changed(&seen.id, tenant);
    }
    let said = || {
        let code = seen
            .error
            .as_ref()
            .and_then(|e| e.code.as_deref())
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        let hint = seen
            .hint
            .clone()
            .unwrap_or_else(|| default_hint(seen.status).to_owned());
        format!("Last verify: {}{code}. {hint}", seen.status)
    };
    match seen.status {
        Status::NotConsented => return Decision::plain(Action::Consent, said()),
        // Extra roles are not something consent fixes: the roles still decide the action.
        Status::Ok | Status::ExtraRoles | Status::MissingRoles => {}
        Status::InvalidToken
        | Status::Disabled
        | Status::ResourceMissing
        | Status::TenantNotFound
        | Status::CredentialRejected
        | Status::NotChecked
        | Status::Error => return Decision::plain(Action::Investigate, said()),
    }
    // A role not granted is "new" only when the report's run did not require it: the manifest
    // added it since. Otherwise it was asked for before and is still missing.
    let mut new = Roles::new();
    let mut missing = Roles::new();
    for (api, required) in &tenant.required {
        let seen_api = seen.apis.iter().filter(|a| &a.api == api);
        let granted: BTreeSet<&str> = seen_api
            .clone()
            .flat_map(|a| a.granted.iter().map(String::as_str))
            .collect();
        let required_then: BTreeSet<&str> = seen_api
            .flat_map(|a| a.required.iter().map(String::as_str))
            .collect();
        let (was_required, added): (Vec<String>, Vec<String>) = required
            .iter()
            .filter(|r| !granted.contains(r.as_str()))
            .cloned()
            .partition(|r| required_then.contains(r.as_str()));
        if !added.is_empty() {
            new.insert(api.clone(), added);
        }
        if !was_required.is_empty() {
            missing.insert(api.clone(), was_required);
        }
    }
    if new.is_empty() && missing.is_empty() {
        return Decision::plain(
            Action::None,
            "The last verify saw every required role granted.".to_owned(),
        );
    }
    let mut said = Vec::new();
    if !new.is_empty() {
        said.push(format!(
            "the app now needs {}, added since that verify",
            describe(&new)
        ));
    }
    if !missing.is_empty() {
        said.push(format!(
            "the last verify did not see {} granted",
            describe(&missing)
        ));
    }
    let reason = format!(
        "Consented, but {}: the tenant's admin must consent again (same link; a grant made \
         minutes before that verify may not have shown yet).",
        said.join(", and ")
    );
    Decision::reconsent(new, missing, reason)
}

/// A re-consent that cannot succeed: the roles the tenant lacks include one the app registration
/// does not request (the report's `app_registration`, from `verify --app`), so the registration
/// must be fixed first (reference §8).
fn blocked_by_app(decision: Decision, report: &Report) -> Decision {
    let Some(section) = &report.app_registration else {
        return decision;
    };
    if decision.action != Action::Reconsent {
        return decision;
    }
    let lacking = decision
        .new_roles
        .iter()
        .chain(decision.missing_roles.iter())
        .flatten()
        .flat_map(|(api, roles)| roles.iter().map(move |r| (api, r)));
    let blocked: Vec<String> = lacking
        .filter(|(api, role)| section.blocks(api, role))
        .map(|(api, role)| format!("{api} {role}"))
        .collect();
    if blocked.is_empty() {
        return decision;
    }
    Decision {
        action: Action::BlockedByApp,
        reason: format!(
            "The app registration does not request {}: run `consentry app apply`, then send the consent link again.",
            blocked.join(", ")
        ),
        ..decision
    }
}

fn id_changed(old_id: &str, tenant: &Tenant) -> Decision {
    Decision::plain(
        Action::Consent,
        format!(
            "Id changed from {old_id} to {}: if this is another directory it has not consented; \
             consenting again is harmless. Offboard {old_id} if the customer moved.",
            tenant.id
        ),
    )
}

/// What to say for a status when the report carries no hint.
fn default_hint(status: Status) -> &'static str {
    match status {
        Status::Ok => "Every required role is granted.",
        Status::ExtraRoles => {
            "Every required role is granted, and roles the manifest does not require as well."
        }
        Status::MissingRoles => "Some required roles are not granted.",
        Status::InvalidToken => {
            "The token did not match the tenant, API or app asked for; check the tenant id and cloud."
        }
        Status::NotConsented => "Send the tenant's admin-consent link.",
        Status::Disabled => "The customer disabled the enterprise app; ask them to enable it.",
        Status::ResourceMissing => {
            "The tenant has not provisioned this Defender service, or the cloud is wrong."
        }
        Status::TenantNotFound => "Check the tenant id and the cloud.",
        Status::CredentialRejected => {
            "The app's own credential was rejected; fix it in the home tenant and verify again."
        }
        Status::NotChecked => {
            "The last verify was stopped before checking this tenant; run verify again."
        }
        Status::Error => "Verify could not determine this tenant's state; run verify again.",
    }
}

fn roles_of(required: &BTreeMap<String, BTreeSet<String>>) -> Roles {
    required
        .iter()
        .map(|(api, roles)| (api.clone(), roles.iter().cloned().collect()))
        .collect()
}

/// Every API key in either map, sorted, once.
fn keys<'m>(
    a: &'m BTreeMap<String, BTreeSet<String>>,
    b: &'m BTreeMap<String, BTreeSet<String>>,
) -> BTreeSet<&'m String> {
    a.keys().chain(b.keys()).collect()
}

/// Roles in `a` and not in `b`, sorted.
fn difference(a: Option<&BTreeSet<String>>, b: Option<&BTreeSet<String>>) -> Vec<String> {
    a.into_iter()
        .flatten()
        .filter(|r| !b.is_some_and(|b| b.contains(*r)))
        .cloned()
        .collect()
}

/// `A, B (api); C (api2)` for reasons.
fn describe(roles: &Roles) -> String {
    roles
        .iter()
        .map(|(api, roles)| format!("{} ({api})", roles.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
