//! The second validation pass: the meaning of a shaped manifest (ids, URLs, APIs, roles, tenants)
//! checked against the catalog, and the validated [`model::Manifest`] built when nothing is wrong.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use crate::catalog;
use crate::cloud::Cloud;
use crate::manifest::raw::{self, ApiSpec, Entries, Located};
use crate::manifest::tree::Span;
use crate::model;

use super::diagnostic::{Code, Diagnostic};
use super::ids::{self, TenantIdError};
use super::suggest;

/// An example variable name for the help of a badly named one.
fn example_env(what: &str) -> &'static str {
    match what {
        "certificate" => "CONSENTRY_CERTIFICATE",
        "password" => "CONSENTRY_CERTIFICATE_PASSWORD",
        "token" => "CONSENTRY_FEDERATED_TOKEN",
        _ => "CONSENTRY_CLIENT_SECRET",
    }
}

/// One API the manifest names, once resolved.
struct Known {
    /// The model key: the catalog alias, or the custom key.
    key: String,
    catalog: Option<&'static catalog::Api>,
    /// The custom resource as written (catalog APIs take theirs from the catalog).
    resource: Option<Located<String>>,
    /// Where it was first named.
    span: Span,
    /// App-wide roles (empty for APIs only tenants name).
    roles: BTreeSet<String>,
}

/// The rules pass: diagnostics so far and the APIs resolved so far (app-wide first, then the
/// ones tenants add, in order of first mention, as the model lists them).
pub(crate) struct Rules<'a> {
    file: &'a str,
    cloud: Cloud,
    diagnostics: Vec<Diagnostic>,
    apis: Vec<Known>,
}

impl<'a> Rules<'a> {
    pub(crate) fn new(file: &'a str) -> Self {
        Rules {
            file,
            cloud: Cloud::default(),
            diagnostics: Vec::new(),
            apis: Vec::new(),
        }
    }

    pub(crate) fn finish(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    fn error(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::error(code, self.file, span, message));
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Checks everything and returns the model pieces; the caller keeps the model only when no
    /// diagnostic is an error.
    /// `prior_errors`: whether the shape pass found errors (an API it dropped may be why a tenant
    /// seems to need nothing, so that warning is held back).
    pub(crate) fn check(
        &mut self,
        manifest: &raw::Manifest,
        prior_errors: bool,
    ) -> Option<model::Manifest> {
        if let Some(version) = &manifest.version
            && version.value != 1
        {
            self.push(
                Diagnostic::error(
                    Code::UnsupportedVersion,
                    self.file,
                    version.span,
                    format!(
                        "manifest version {} is not supported; this consentry reads version 1",
                        version.value
                    ),
                )
                .with_help(
                    "write `version: 1`, or use the consentry release that defines this version",
                ),
            );
        }
        self.cloud = manifest
            .cloud
            .as_ref()
            .map_or_else(Cloud::default, |c| c.value);
        let app = manifest.app.as_ref().and_then(|a| self.app(&a.value));

        if let Some(apis) = &manifest.apis {
            self.app_apis(&apis.value);
        }
        let app_wide: BTreeMap<String, BTreeSet<String>> = self
            .apis
            .iter()
            .filter(|a| !a.roles.is_empty())
            .map(|a| (a.key.clone(), a.roles.clone()))
            .collect();

        let clean = !prior_errors && self.error_count() == 0;
        let tenants = manifest
            .tenants
            .as_ref()
            .map(|t| self.tenants(&t.value, &app_wide, clean))
            .unwrap_or_default();

        let apis = self
            .apis
            .iter()
            .filter_map(|known| {
                let (resource, resource_app_id, display_name) = match known.catalog {
                    // The name written, when the manifest gave one of the API's names.
                    Some(api) => (
                        match &known.resource {
                            Some(named) => named.value.clone(),
                            None => api.resource(self.cloud)?.to_owned(),
                        },
                        Some(api.app_id.to_owned()),
                        api.display_name.to_owned(),
                    ),
                    None => (
                        known.resource.as_ref()?.value.clone(),
                        None,
                        known.key.clone(),
                    ),
                };
                Some(model::Api {
                    key: known.key.clone(),
                    resource,
                    resource_app_id,
                    display_name,
                    in_catalog: known.catalog.is_some(),
                    roles: known.roles.clone(),
                })
            })
            .collect();

        Some(model::Manifest {
            app: app?,
            cloud: self.cloud,
            apis,
            tenants: tenants.into_iter().collect::<Option<Vec<_>>>()?,
        })
    }

    fn nonempty(&mut self, value: &Located<String>, what: &str) -> bool {
        if value.value.trim().is_empty() {
            self.error(Code::EmptyValue, value.span, format!("{what} is empty"))
                .help = Some("fill it in, or remove it".into());
            false
        } else {
            true
        }
    }

    fn app(&mut self, app: &raw::App) -> Option<model::App> {
        let name = app.name.as_ref().filter(|n| self.nonempty(n, "`app.name`"));
        let client_id = app.client_id.as_ref().and_then(|id| {
            let guid = ids::guid(&id.value);
            if guid.is_none() {
                self.error(
                    Code::InvalidClientId,
                    id.span,
                    format!("`app.client_id` `{}` is not a GUID", id.value),
                )
                .help = Some(match ids::guid(id.value.trim()) {
                    Some(_) => format!(
                        "remove the spaces around the id: `client_id: {}`",
                        id.value.trim()
                    ),
                    None => "use the Application (client) ID from the app registration's Overview page, like 6731de76-14a6-49ae-97bc-6eba6914391e".into(),
                });
            }
            guid
        });
        let redirect_uri =
            app.redirect_uri
                .as_ref()
                .and_then(|uri| match ids::redirect_uri(&uri.value) {
                    Ok(()) => Some(uri.value.clone()),
                    Err(why) => {
                        self.error(
                            Code::InvalidRedirectUri,
                            uri.span,
                            format!("`app.redirect_uri` `{}` cannot be used: {why}", uri.value),
                        )
                        .help = Some(
                            "use an https URL registered on the app, e.g. https://portal.azure.com"
                                .into(),
                        );
                        None
                    }
                });
        // Checked like a customer tenant id: the Graph calls put it in the same URL position.
        let home_tenant = match &app.home_tenant {
            None => Some(None),
            Some(id) => self.tenant_id(id, "app.home_tenant").map(Some),
        };
        let credential = match &app.credential {
            None => Some(model::Credential::default()),
            Some(c) => self.credential(&c.value),
        };
        Some(model::App {
            name: name?.value.clone(),
            client_id: client_id?,
            redirect_uri: redirect_uri?,
            credential: credential?,
            home_tenant: home_tenant?,
        })
    }

    fn credential(&mut self, credential: &raw::Credential) -> Option<model::Credential> {
        // Values under `credential` are never quoted back: a secret may have been put there.
        match credential {
            raw::Credential::ClientSecret(source) => self
                .secret_source(&source.value, "app.credential.client_secret", "secret")
                .map(model::Credential::ClientSecret),
            raw::Credential::Certificate(spec) => {
                let spec = &spec.value;
                let path = "app.credential.certificate";
                let source = match (&spec.file, &spec.env) {
                    (Some(file), _) => {
                        self.public_half(file);
                        self.secret_source(
                            &raw::SecretSource::File(file.clone()),
                            path,
                            "certificate",
                        )?
                    }
                    (None, Some(env)) => self.secret_source(
                        &raw::SecretSource::Env(env.clone()),
                        path,
                        "certificate",
                    )?,
                    // The shape pass reported it.
                    (None, None) => return None,
                };
                let password = match &spec.password {
                    None => None,
                    Some(p) => Some(self.secret_source(
                        &p.value,
                        &format!("{path}.password"),
                        "password",
                    )?),
                };
                let signing = match spec.signing.as_ref().map(|s| s.value) {
                    None | Some(raw::Signing::Ps256) => model::Signing::Ps256,
                    Some(raw::Signing::Rs256) => model::Signing::Rs256,
                };
                Some(model::Credential::Certificate(model::CertificateSpec {
                    source,
                    password,
                    signing,
                }))
            }
            raw::Credential::Federated(source) => {
                let path = "app.credential.federated";
                let source = match &source.value {
                    raw::FederatedSource::Github(_) => model::FederatedSource::Github,
                    raw::FederatedSource::Kubernetes(_) => model::FederatedSource::Kubernetes,
                    raw::FederatedSource::File(file) => {
                        match self.secret_source(
                            &raw::SecretSource::File(file.clone()),
                            path,
                            "token",
                        )? {
                            model::SecretSource::File(p) => model::FederatedSource::File(p),
                            model::SecretSource::Env(_) => return None,
                        }
                    }
                    raw::FederatedSource::Env(name) => {
                        match self.secret_source(
                            &raw::SecretSource::Env(name.clone()),
                            path,
                            "token",
                        )? {
                            model::SecretSource::Env(n) => model::FederatedSource::Env(n),
                            model::SecretSource::File(_) => return None,
                        }
                    }
                };
                Some(model::Credential::Federated(source))
            }
        }
    }

    /// A `.cer`/`.crt`/`.der` file is, by convention, the certificate alone: the public half that
    /// is uploaded to the app registration. Loading would refuse it (no private key); saying so
    /// here saves a run. A warning, since a file can be misnamed.
    fn public_half(&mut self, file: &Located<String>) {
        let lower = file.value.to_ascii_lowercase();
        if [".cer", ".crt", ".der"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            self.push(
                Diagnostic::warning(
                    Code::InvalidCredential,
                    self.file,
                    file.span,
                    "`app.credential.certificate.file` names a .cer/.crt/.der file, which usually holds only the certificate (the public half uploaded to the app registration)",
                )
                .with_help("consentry needs the private key too: a PEM with the PRIVATE KEY block and the certificate (`cat consentry.key consentry.crt > consentry.pem`), or a .pfx/.p12"),
            );
        }
    }

    /// `env` must be a variable name, `file` not empty. `path` is the mapping holding the source;
    /// `what` what the source holds ("secret", "certificate", "password", "token").
    fn secret_source(
        &mut self,
        source: &raw::SecretSource,
        path: &str,
        what: &str,
    ) -> Option<model::SecretSource> {
        match source {
            raw::SecretSource::Env(name) => {
                if ids::env_name(&name.value) {
                    Some(model::SecretSource::Env(name.value.clone()))
                } else {
                    self.push(
                        Diagnostic::error(
                            Code::InvalidCredential,
                            self.file,
                            name.span,
                            format!("`{path}.env` is not an environment variable name"),
                        )
                        .with_help(format!("name the variable that holds the {what} (letters, digits and `_`, not starting with a digit), e.g. {}", example_env(what)))
                        .masked(),
                    );
                    None
                }
            }
            raw::SecretSource::File(file) => {
                if file.value.trim().is_empty() {
                    self.push(
                        Diagnostic::error(
                            Code::InvalidCredential,
                            self.file,
                            file.span,
                            format!("`{path}.file` is empty"),
                        )
                        .with_help(format!("name the file that holds the {what}"))
                        .masked(),
                    );
                    None
                } else {
                    Some(model::SecretSource::File(PathBuf::from(&file.value)))
                }
            }
        }
    }

    /// Resolves an API key: a catalog alias (or another name of one), or a custom API with a
    /// resource. Returns the index into `self.apis`.
    fn resolve(
        &mut self,
        key: &Located<String>,
        spec: &ApiSpec,
        path: &str,
        tenant_level: bool,
    ) -> Option<usize> {
        let name = key.value.as_str();
        let catalog_api = catalog::api(name).or_else(|| {
            let api = catalog::lookup(name)?;
            self.push(
                Diagnostic::warning(
                    Code::ApiAlias,
                    self.file,
                    key.span,
                    format!(
                        "`{name}` is another name of the catalog API `{}`",
                        api.alias
                    ),
                )
                .with_help(format!("write the key as `{}`", api.alias)),
            );
            Some(api)
        });
        if let Some(api) = catalog_api {
            // A resource that is one of the API's own names (its URI in a cloud, a service
            // principal name such as `https://api.securitycenter.windows.com`, its app id) is
            // accepted: Entra issues a token for any of them, so the name written is the one
            // requested, and the roles are still checked against the catalog API.
            let mut named = None;
            if let Some(resource) = &spec.resource {
                match catalog::resolve_resource(&resource.value) {
                    Some((owner, _)) if owner.alias == api.alias => named = Some(resource.clone()),
                    owner => {
                        let other = owner
                            .map(|(o, _)| format!(" (it is a name of `{}`)", o.alias))
                            .unwrap_or_default();
                        self.error(
                            Code::ResourceOnCatalogApi,
                            resource.span,
                            format!(
                                "`{path}.resource` `{}` is not a name of the catalog API `{}`{other}",
                                resource.value, api.alias
                            ),
                        )
                        .help = Some(format!(
                            "remove `resource` (the catalog knows `{}`'s resource in each cloud), or write one of its names: {}",
                            api.alias,
                            api_names(api)
                        ));
                    }
                }
            }
            if api.resource(self.cloud).is_none() {
                self.error(
                    Code::ApiNotInCloud,
                    key.span,
                    format!(
                        "`{}` is not offered in the `{}` cloud",
                        api.alias, self.cloud
                    ),
                )
                .help = Some(format!(
                    "remove `{}` from the manifest, or check `cloud`",
                    api.alias
                ));
            }
            if let Some(i) = self.apis.iter().position(|k| k.key == api.alias) {
                if tenant_level
                    && let Some(given) = &named
                    && self.apis[i]
                        .resource
                        .as_ref()
                        .is_none_or(|known| known.value != given.value)
                {
                    let first = self.apis[i].span;
                    self.push(
                        Diagnostic::error(
                            Code::ConflictingResource,
                            self.file,
                            given.span,
                            format!(
                                "`{path}.resource` differs from the resource `{}` already has",
                                api.alias
                            ),
                        )
                        .with_related(first, format!("`{}` is first named here", api.alias))
                        .with_help(
                            "an API has one resource per run; write the same `resource` where the API is first named",
                        ),
                    );
                }
                if !tenant_level {
                    let first = self.apis[i].span;
                    self.push(
                        Diagnostic::error(
                            Code::DuplicateApi,
                            self.file,
                            key.span,
                            format!("`{name}` names `{}` a second time", api.alias),
                        )
                        .with_related(first, format!("`{}` is first named here", api.alias))
                        .with_help("list each API once"),
                    );
                    return None;
                }
                return Some(i);
            }
            self.apis.push(Known {
                key: api.alias.to_owned(),
                catalog: Some(api),
                resource: named,
                span: key.span,
                roles: BTreeSet::new(),
            });
            return Some(self.apis.len() - 1);
        }

        // A custom API.
        let existing = self.apis.iter().position(|k| k.key == name);
        if let Some(i) = existing {
            if !tenant_level {
                let first = self.apis[i].span;
                self.push(
                    Diagnostic::error(
                        Code::DuplicateApi,
                        self.file,
                        key.span,
                        format!("`{name}` is named a second time"),
                    )
                    .with_related(first, format!("`{name}` is first named here")),
                );
                return None;
            }
            if let (Some(given), Some(known)) = (&spec.resource, &self.apis[i].resource)
                && given.value != known.value
            {
                let known_span = known.span;
                self.push(
                    Diagnostic::error(
                        Code::ConflictingResource,
                        self.file,
                        given.span,
                        format!("`{path}.resource` differs from the resource `{name}` already has"),
                    )
                    .with_related(known_span, format!("`{name}`'s resource is set here"))
                    .with_help(
                        "an API has one resource; remove `resource` here or make them equal",
                    ),
                );
            }
            return Some(i);
        }
        let Some(resource) = &spec.resource else {
            let names = catalog::APIS
                .iter()
                .flat_map(|a| std::iter::once(a.alias).chain(a.other_names.iter().copied()));
            let help = match suggest::nearest(name, names) {
                Some(s) => format!(
                    "did you mean `{}`? (an API outside the catalog needs `resource: api://…`)",
                    catalog::lookup(s).map_or(s, |a| a.alias)
                ),
                None => format!(
                    "catalog APIs: {}; an API outside the catalog needs `resource: api://…` or `https://…`",
                    catalog::APIS
                        .iter()
                        .map(|a| a.alias)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error(
                Code::UnknownApi,
                key.span,
                format!("`{name}` is not a catalog API and gives no `resource`"),
            )
            .help = Some(help);
            return None;
        };
        if let Err(why) = ids::resource(&resource.value) {
            self.error(
                Code::InvalidResource,
                resource.span,
                format!(
                    "`{path}.resource` `{}` is not a resource: {why}",
                    resource.value
                ),
            )
            .help = Some(
                "use the API's application ID URI (`api://…` or `https://…`) or its app id (GUID)"
                    .into(),
            );
        } else if let Some((api, canonical)) = catalog::resolve_resource(&resource.value) {
            // A name other than the API's URI in some cloud (a service principal name, the app
            // id) may stay: under the catalog key it is requested as written.
            let own_uri = canonical.eq_ignore_ascii_case(resource.value.trim_end_matches('/'));
            let help = if own_uri {
                format!("name it `{}` and remove `resource`", api.alias)
            } else {
                format!(
                    "name it `{}` (keep `resource` to request this name, or remove it to request `{canonical}`)",
                    api.alias
                )
            };
            self.push(
                Diagnostic::warning(
                    Code::CatalogResource,
                    self.file,
                    resource.span,
                    format!(
                        "`{}` is a name of the catalog API `{}`: its roles go unchecked under another key",
                        resource.value, api.alias
                    ),
                )
                .with_help(help),
            );
        }
        self.apis.push(Known {
            key: name.to_owned(),
            catalog: None,
            resource: Some(resource.clone()),
            span: key.span,
            roles: BTreeSet::new(),
        });
        Some(self.apis.len() - 1)
    }

    fn app_apis(&mut self, entries: &Entries<ApiSpec>) {
        for (key, spec) in &entries.0 {
            let path = format!("apis.{}", key.value);
            let Some(i) = self.resolve(key, spec, &path, false) else {
                continue;
            };
            if let Some(roles) = &spec.roles {
                let checked = self.roles(self.apis[i].catalog, &roles.value, &path);
                self.apis[i].roles = checked;
            }
        }
    }

    /// Checks one API's role list; returns the role names.
    fn roles(
        &mut self,
        api: Option<&'static catalog::Api>,
        roles: &[Located<String>],
        path: &str,
    ) -> BTreeSet<String> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut known: Vec<&Located<String>> = Vec::new();
        for role in roles {
            let name = role.value.as_str();
            if !self.nonempty(role, &format!("a role in `{path}.roles`")) {
                continue;
            }
            if let Some(first) = seen.get(name) {
                let first = *first;
                self.push(
                    Diagnostic::warning(
                        Code::DuplicateRole,
                        self.file,
                        role.span,
                        format!("`{name}` is listed twice in `{path}.roles`"),
                    )
                    .with_related(first, "first listed here")
                    .with_help("remove one of them"),
                );
                continue;
            }
            seen.insert(name, role.span);
            let Some(api) = api else {
                continue;
            };
            if let Some(found) = api.role(name) {
                known.push(role);
                if let Some(instead) = found.deprecated {
                    self.push(
                        Diagnostic::warning(
                            Code::DeprecatedRole,
                            self.file,
                            role.span,
                            format!("`{name}` of `{}` is being retired", api.alias),
                        )
                        .with_help(instead),
                    );
                }
            } else if let Some(suggestion) = delegated(api, name) {
                self.push(
                    Diagnostic::error(
                        Code::DelegatedScope,
                        self.file,
                        role.span,
                        format!(
                            "`{name}` is a delegated scope of `{}`; app-only tokens carry application permissions (app roles), never delegated scopes",
                            api.alias
                        ),
                    )
                    .with_help_opt(suggestion.map(|s| format!("use the application permission `{s}`"))),
                );
            } else {
                let elsewhere = catalog::APIS
                    .iter()
                    .find(|other| other.alias != api.alias && other.role(name).is_some());
                let help = match elsewhere {
                    Some(other) => format!(
                        "`{name}` is an application permission of `{}`: list it under that API",
                        other.alias
                    ),
                    None => suggest::did_you_mean(suggest::nearest(name, api.role_names()))
                        .unwrap_or_else(|| {
                            format!(
                                "`consentry roles {}` lists its application permissions",
                                api.alias
                            )
                        }),
                };
                self.push(
                    Diagnostic::error(
                        Code::UnknownRole,
                        self.file,
                        role.span,
                        format!("`{}` has no application permission `{name}`", api.alias),
                    )
                    .with_help(help),
                );
            }
        }
        // A Read role next to its ReadWrite twin.
        for role in &known {
            let Some(twin_name) = readwrite_twin(&role.value) else {
                continue;
            };
            if let Some(twin) = known.iter().find(|r| r.value == twin_name) {
                self.push(
                    Diagnostic::warning(
                        Code::ReadWithReadwrite,
                        self.file,
                        role.span,
                        format!("`{}` is listed next to `{twin_name}`, which already allows reading", role.value),
                    )
                    .with_related(twin.span, format!("`{twin_name}` is listed here"))
                    .with_help(format!(
                        "keep only `{twin_name}` if the app writes, or only `{}` if it only reads; keep both only if your code checks for `{}` itself, since a tenant that grants only `{twin_name}` has no `{}` in its token",
                        role.value, role.value, role.value
                    )),
                );
            }
        }
        seen.into_keys().map(str::to_owned).collect()
    }

    fn tenants(
        &mut self,
        tenants: &[Located<raw::Tenant>],
        app_wide: &BTreeMap<String, BTreeSet<String>>,
        clean: bool,
    ) -> Vec<Option<model::Tenant>> {
        let mut names: HashMap<String, (Span, usize)> = HashMap::new();
        let mut ids: HashMap<model::TenantId, (Span, usize)> = HashMap::new();
        let mut out = Vec::with_capacity(tenants.len());
        for (index, tenant) in tenants.iter().enumerate() {
            let t = &tenant.value;
            let path = format!("tenants[{index}]");
            let name = t
                .name
                .as_ref()
                .filter(|n| self.nonempty(n, &format!("`{path}.name`")));
            if let Some(name) = name {
                let folded = name.value.to_lowercase();
                if let Some((first, first_index)) = names.get(&folded) {
                    let (first, first_index) = (*first, *first_index);
                    self.push(
                        Diagnostic::error(
                            Code::DuplicateTenantName,
                            self.file,
                            name.span,
                            format!(
                                "tenant name `{}` is already used by tenants[{first_index}] (names are compared ignoring case)",
                                name.value
                            ),
                        )
                        .with_related(first, format!("tenants[{first_index}] is named here"))
                        .with_help("give each tenant its own name"),
                    );
                } else {
                    names.insert(folded, (name.span, index));
                }
            }
            let id =
                t.id.as_ref()
                    .and_then(|id| self.tenant_id(id, &format!("{path}.id")));
            if let (Some(id), Some(written)) = (&id, &t.id) {
                if let Some((first, first_index)) = ids.get(id) {
                    let (first, first_index) = (*first, *first_index);
                    self.push(
                        Diagnostic::error(
                            Code::DuplicateTenantId,
                            self.file,
                            written.span,
                            format!(
                                "tenant id `{}` is already used by tenants[{first_index}]",
                                written.value
                            ),
                        )
                        .with_related(first, format!("tenants[{first_index}] has this id"))
                        .with_help("each customer tenant appears once; merge the two entries"),
                    );
                } else {
                    ids.insert(id.clone(), (written.span, index));
                }
            }
            let mut required = app_wide.clone();
            let errors_before = self.error_count();
            if let Some(apis) = &t.apis {
                // Two keys for one API in the same tenant (`m365d` and its alias): which wins?
                let mut named_here: Vec<(usize, Span)> = Vec::new();
                for (key, spec) in &apis.value.0 {
                    let api_path = format!("{path}.apis.{}", key.value);
                    let Some(i) = self.resolve(key, spec, &api_path, true) else {
                        continue;
                    };
                    if let Some((_, first)) = named_here.iter().find(|(j, _)| *j == i) {
                        let first = *first;
                        let canonical = self.apis[i].key.clone();
                        self.push(
                            Diagnostic::error(
                                Code::DuplicateApi,
                                self.file,
                                key.span,
                                format!(
                                    "`{}` names `{canonical}` a second time in {path}",
                                    key.value
                                ),
                            )
                            .with_related(first, format!("`{canonical}` is first named here"))
                            .with_help("list each API once"),
                        );
                        continue;
                    }
                    named_here.push((i, key.span));
                    let Some(roles) = &spec.roles else {
                        continue;
                    };
                    let checked = self.roles(self.apis[i].catalog, &roles.value, &api_path);
                    let api_key = self.apis[i].key.clone();
                    if checked.is_empty() {
                        required.remove(&api_key);
                    } else {
                        required.insert(api_key, checked);
                    }
                }
            }
            if required.is_empty() && clean && self.error_count() == errors_before {
                let who = name.map_or_else(|| path.clone(), |n| format!("`{}`", n.value));
                self.push(
                    Diagnostic::warning(
                        Code::NothingRequired,
                        self.file,
                        tenant.span,
                        format!(
                            "tenant {who} needs no role: there is nothing for it to consent to"
                        ),
                    )
                    .with_help(
                        "give it roles under `apis` (here or app-wide), or remove the tenant",
                    ),
                );
            }
            let labels = t
                .labels
                .as_ref()
                .map(|l| l.value.iter().map(|s| s.value.clone()).collect())
                .unwrap_or_default();
            out.push(name.zip(id).map(|(name, id)| model::Tenant {
                name: name.value.clone(),
                id,
                labels,
                required,
            }));
        }
        out
    }

    fn tenant_id(&mut self, id: &Located<String>, field: &str) -> Option<model::TenantId> {
        match ids::tenant_id(&id.value) {
            Ok(parsed) => Some(parsed),
            Err(problem) => {
                let (message, help) = match problem {
                    TenantIdError::Reserved(reserved) => (
                        format!("`{field}` is `{reserved}`, which is not a tenant"),
                        "client credentials need one real tenant (AADSTS9001023 for `common`): use the customer's tenant ID (GUID) or a verified domain".to_owned(),
                    ),
                    TenantIdError::MalformedGuid => (
                        format!("`{field}` `{}` is not a valid GUID", id.value),
                        "a tenant ID has the form 8-4-4-4-12 hex digits, like 2d4a7b1c-6f0e-4b8a-9c3d-1e5f7a9b0c2d".to_owned(),
                    ),
                    TenantIdError::BadDomain(why) => (
                        format!("`{field}` `{}` is not a valid domain: {why}", id.value),
                        "use the tenant ID (GUID) or a verified domain like fabrikam.onmicrosoft.com".to_owned(),
                    ),
                    TenantIdError::Neither => (
                        format!("`{field}` `{}` is neither a tenant ID (GUID) nor a domain", id.value),
                        "use the tenant ID (GUID) or a verified domain like fabrikam.onmicrosoft.com".to_owned(),
                    ),
                };
                self.error(Code::InvalidTenantId, id.span, message).help = Some(help);
                None
            }
        }
    }
}

/// When `name` is a delegated scope of `api` (or `X` where `X.All` is a role), the application
/// permission to use instead, if one fits. Compared ignoring case.
/// An API's names a manifest may give as its `resource`, for a help line.
fn api_names(api: &catalog::Api) -> String {
    let mut names: Vec<&str> = Vec::new();
    for cloud in crate::cloud::Cloud::ALL {
        if let Some(uri) = api.resource(cloud)
            && !names.contains(&uri)
        {
            names.push(uri);
        }
    }
    names.extend(api.other_resources.iter().copied());
    names.push(api.app_id);
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn delegated(api: &catalog::Api, name: &str) -> Option<Option<&'static str>> {
    let with_all = format!("{name}.All");
    let role_for_all = api.role_names().find(|r| r.eq_ignore_ascii_case(&with_all));
    let is_scope = api
        .delegated_scopes
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name));
    if !is_scope && role_for_all.is_none() {
        return None;
    }
    Some(role_for_all.or_else(|| suggest::nearest(&with_all, api.role_names())))
}

/// The ReadWrite twin of a Read role (`Incident.Read.All` → `Incident.ReadWrite.All`).
fn readwrite_twin(role: &str) -> Option<String> {
    if let Some(i) = role.find(".Read.") {
        return Some(format!("{}.ReadWrite.{}", &role[..i], &role[i + 6..]));
    }
    role.strip_suffix(".Read")
        .map(|stem| format!("{stem}.ReadWrite"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegated_scopes_suggest_the_application_permission() {
        let m365d = catalog::MICROSOFT_365_DEFENDER;
        assert_eq!(
            delegated(&m365d, "Incident.Read"),
            Some(Some("Incident.Read.All"))
        );
        assert_eq!(
            delegated(&m365d, "incident.readwrite"),
            Some(Some("Incident.ReadWrite.All"))
        );
        assert_eq!(delegated(&m365d, "Incident.Read.All"), None);
        assert_eq!(delegated(&m365d, "Incidents.Read.All"), None);
        let mde = catalog::DEFENDER_FOR_ENDPOINT;
        assert_eq!(
            delegated(&mde, "RemediationTask.Read"),
            Some(Some("RemediationTasks.Read.All"))
        );
    }

    #[test]
    fn readwrite_twins() {
        assert_eq!(
            readwrite_twin("Incident.Read.All").as_deref(),
            Some("Incident.ReadWrite.All")
        );
        assert_eq!(readwrite_twin("Ti.Read").as_deref(), Some("Ti.ReadWrite"));
        assert_eq!(readwrite_twin("Machine.Isolate"), None);
        assert_eq!(readwrite_twin("Incident.ReadWrite.All"), None);
    }
}
