//! The first validation pass: the spanned YAML tree into the raw manifest types, reporting every
//! shape problem (unknown or missing fields, wrong types, duplicate keys) instead of stopping at
//! the first one as serde would.

use std::collections::HashMap;

use crate::cloud::Cloud;
use crate::manifest::raw::{
    ApiSpec, App, CertificateSpec, Credential, Entries, FederatedSource, Located, Manifest,
    NoOptions, SecretSource, Signing, Tenant,
};
use crate::manifest::tree::{Node, Span, Value};

use super::diagnostic::{Code, Diagnostic};
use super::suggest;

/// Fields of the top level, in the order the format documents them.
pub(crate) const MANIFEST_FIELDS: &[&str] = &["version", "app", "cloud", "apis", "tenants"];
/// Fields of `app`.
pub(crate) const APP_FIELDS: &[&str] = &[
    "name",
    "client_id",
    "redirect_uri",
    "credential",
    "home_tenant",
];
/// Credential kinds (keys of `app.credential`).
pub(crate) const CREDENTIAL_KINDS: &[&str] = &["client_secret", "certificate", "federated"];
/// Secret sources (keys of `client_secret` and of a certificate's `password`).
pub(crate) const SECRET_SOURCES: &[&str] = &["env", "file"];
/// Fields of `certificate`.
pub(crate) const CERTIFICATE_FIELDS: &[&str] = &["file", "env", "password", "signing"];
/// Values of `certificate.signing`.
pub(crate) const SIGNING_ALGORITHMS: &[&str] = &["ps256", "rs256"];
/// Federated token sources (keys of `federated`).
pub(crate) const FEDERATED_SOURCES: &[&str] = &["github", "kubernetes", "file", "env"];
/// Fields of one API entry.
pub(crate) const API_FIELDS: &[&str] = &["resource", "roles"];
/// Fields of one tenant.
pub(crate) const TENANT_FIELDS: &[&str] = &["name", "id", "labels", "apis"];
/// The fields the format requires, per level (the schema marks the same ones).
pub(crate) const MANIFEST_REQUIRED: &[&str] = &["version", "app", "tenants"];
pub(crate) const APP_REQUIRED: &[&str] = &["name", "client_id", "redirect_uri"];
pub(crate) const API_REQUIRED: &[&str] = &["roles"];
pub(crate) const TENANT_REQUIRED: &[&str] = &["name", "id"];

/// Walks a tree, collecting diagnostics.
pub(crate) struct Shaper<'a> {
    file: &'a str,
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
}

/// A mapping's known fields: name, where the key is written, value.
type Fields<'n> = Vec<(&'n str, Span, &'n Node)>;

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

fn describe(path: &str) -> String {
    if path.is_empty() {
        "the manifest".to_owned()
    } else {
        format!("`{path}`")
    }
}

/// Whether text written for a certificate is the key or certificate itself rather than a path.
pub(crate) fn looks_like_key_material(text: &str) -> bool {
    text.contains("-----BEGIN")
        || text.contains("PRIVATE KEY")
        || text.contains('\n')
        || text.len() > 512
}

/// Whether text written for a federated source is a token itself (a JWT's base64url header).
pub(crate) fn looks_like_token(text: &str) -> bool {
    text.trim_start().starts_with("eyJ") || text.matches('.').count() == 2 && text.len() > 100
}

/// The value of a field, when present and not null (null means absent for optional fields).
fn field<'n>(fields: &Fields<'n>, name: &str) -> Option<&'n Node> {
    fields
        .iter()
        .find(|(k, _, _)| *k == name)
        .map(|(_, _, v)| *v)
        .filter(|v| v.value != Value::Null)
}

/// Where a field's key is written.
fn key_span(fields: &Fields<'_>, name: &str) -> Span {
    fields
        .iter()
        .find(|(k, _, _)| *k == name)
        .map_or_else(Span::default, |(_, span, _)| *span)
}

impl<'a> Shaper<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Shaper {
            file,
            text,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn finish(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Pushes a diagnostic about a key or value under `path`; under `app.credential` its line is
    /// hidden in snippets, since whatever is written there may be a secret.
    fn push_at(&mut self, path: &str, diagnostic: Diagnostic) {
        if path.starts_with("app.credential") {
            self.push(diagnostic.masked());
        } else {
            self.push(diagnostic);
        }
    }

    fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        let diagnostic = Diagnostic::error(
            Code::InvalidType,
            self.file,
            node.span,
            format!(
                "{} must be {expected}, found {}",
                describe(path),
                node.value.kind()
            ),
        )
        .with_help(type_fix(node, path, expected));
        self.push_at(path, diagnostic);
    }

    /// The string entries of a mapping with duplicate keys reported (the first one is kept).
    fn entries<'n>(&mut self, node: &'n Node, path: &str) -> Option<Vec<(&'n Node, &'n Node)>> {
        let Value::Map(pairs) = &node.value else {
            self.wrong_type(node, path, "a mapping");
            return None;
        };
        let mut kept: Vec<(&'n Node, &'n Node)> = Vec::with_capacity(pairs.len());
        // A hostile mapping may have 100,000 keys: look duplicates up, do not scan for them.
        let mut seen: HashMap<&'n str, Span> = HashMap::with_capacity(pairs.len());
        for (key, value) in pairs {
            let Value::Str(name) = &key.value else {
                self.push_at(
                    path,
                    Diagnostic::error(
                        Code::InvalidType,
                        self.file,
                        key.span,
                        format!(
                            "keys in {} must be names, found {}",
                            describe(path),
                            key.value.kind()
                        ),
                    )
                    .with_help("quote the key if it is meant as a name"),
                );
                continue;
            };
            if let Some(first) = seen.get(name.as_str()).copied() {
                self.push_at(
                    path,
                    Diagnostic::error(
                        Code::DuplicateKey,
                        self.file,
                        key.span,
                        format!("`{name}` appears twice in {}", describe(path)),
                    )
                    .with_related(first, format!("`{name}` first appears here"))
                    .with_help("keep one of them; YAML does not merge repeated keys"),
                );
                continue;
            }
            seen.insert(name, key.span);
            kept.push((key, value));
        }
        Some(kept)
    }

    /// A mapping with a fixed set of fields: unknown ones and missing required ones are reported.
    /// `owner` is where a missing field is reported: the key that holds this mapping.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        owner: Span,
        path: &str,
        known: &[&str],
        required: &[&str],
    ) -> Option<Fields<'n>> {
        let entries = self.entries(node, path)?;
        let mut fields = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                continue;
            };
            if known.contains(&name.as_str()) {
                fields.push((name.as_str(), key.span, value));
            } else {
                let help = match suggest::nearest(name, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("{} allows: {}", describe(path), known.join(", ")),
                };
                self.push_at(
                    path,
                    Diagnostic::error(
                        Code::UnknownField,
                        self.file,
                        key.span,
                        format!("unknown field `{name}` in {}", describe(path)),
                    )
                    .with_help(help),
                );
            }
        }
        for name in required {
            if field(&fields, name).is_none() {
                let present_but_null = fields
                    .iter()
                    .find(|(k, _, _)| k == name)
                    .map(|(_, _, v)| *v);
                let span = present_but_null.map_or(owner, |v| v.span);
                self.push_at(
                    path,
                    Diagnostic::error(
                        Code::MissingField,
                        self.file,
                        span,
                        if present_but_null.is_some() {
                            format!("`{}` has no value", join(path, name))
                        } else {
                            format!("{} is missing `{name}`", describe(path))
                        },
                    )
                    .with_help(if *name == "version" && path.is_empty() {
                        "add `version: 1` as the first line".to_owned()
                    } else {
                        format!("add `{name}: …`")
                    }),
                );
            }
        }
        Some(fields)
    }

    /// The node's text exactly as written in the file.
    fn written(&self, node: &Node) -> &'a str {
        self.text
            .get(node.span.offset..node.span.offset + node.span.len)
            .unwrap_or_default()
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<Located<String>> {
        match &node.value {
            Value::Str(s) => Some(Located::new(s.clone(), node.span)),
            // A name like `2024` or a label like `true` is text to the user: keep what was written.
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                let written = Some(self.written(node))
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| match &node.value {
                        Value::Bool(b) => b.to_string(),
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        _ => String::new(),
                    });
                Some(Located::new(written, node.span))
            }
            _ => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    fn strings(&mut self, node: &Node, path: &str) -> Option<Located<Vec<Located<String>>>> {
        let Value::Seq(items) = &node.value else {
            let d = Diagnostic::error(
                Code::InvalidType,
                self.file,
                node.span,
                format!(
                    "{} must be a list, found {}",
                    describe(path),
                    node.value.kind()
                ),
            )
            .with_help("write a list, e.g. `[A, B]` or one `- A` per line");
            self.push(d);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = self.string(item, &format!("{path}[{i}]")) {
                out.push(s);
            }
        }
        Some(Located::new(out, node.span))
    }

    /// The whole manifest.
    pub(crate) fn manifest(&mut self, root: &Node) -> Manifest {
        let mut manifest = Manifest {
            version: None,
            app: None,
            cloud: None,
            apis: None,
            tenants: None,
        };
        let Some(fields) = self.fields(root, root.span, "", MANIFEST_FIELDS, MANIFEST_REQUIRED)
        else {
            return manifest;
        };
        manifest.version = field(&fields, "version").and_then(|n| self.version(n));
        manifest.app = field(&fields, "app").and_then(|n| self.app(n, key_span(&fields, "app")));
        manifest.cloud = field(&fields, "cloud").and_then(|n| self.cloud(n));
        manifest.apis = field(&fields, "apis").and_then(|n| self.apis(n, "apis"));
        manifest.tenants = field(&fields, "tenants").and_then(|n| self.tenants(n));
        manifest
    }

    fn version(&mut self, node: &Node) -> Option<Located<u64>> {
        match &node.value {
            Value::Int(v) => match u64::try_from(*v) {
                Ok(v) => Some(Located::new(v, node.span)),
                Err(_) => {
                    self.push(
                        Diagnostic::error(
                            Code::UnsupportedVersion,
                            self.file,
                            node.span,
                            format!(
                                "manifest version {v} does not exist; consentry reads version 1"
                            ),
                        )
                        .with_help("write `version: 1`"),
                    );
                    None
                }
            },
            Value::Str(_) | Value::Float(_) => {
                self.push(
                    Diagnostic::error(
                        Code::InvalidType,
                        self.file,
                        node.span,
                        format!(
                            "`version` must be the integer 1, found {} (`{}`)",
                            node.value.kind(),
                            self.written(node)
                        ),
                    )
                    .with_help("write `version: 1` (no quotes, no decimals)"),
                );
                None
            }
            _ => {
                self.wrong_type(node, "version", "the integer 1");
                None
            }
        }
    }

    fn cloud(&mut self, node: &Node) -> Option<Located<Cloud>> {
        let name = self.string(node, "cloud")?;
        match Cloud::ALL.iter().find(|c| c.as_str() == name.value) {
            Some(cloud) => Some(Located::new(*cloud, node.span)),
            None => {
                let names: Vec<&str> = Cloud::ALL.iter().map(|c| c.as_str()).collect();
                let help =
                    suggest::did_you_mean(suggest::nearest(&name.value, names.iter().copied()))
                        .unwrap_or_else(|| format!("clouds: {}", names.join(", ")));
                self.push(
                    Diagnostic::error(
                        Code::UnknownCloud,
                        self.file,
                        node.span,
                        format!("unknown cloud `{}`", name.value),
                    )
                    .with_help(help),
                );
                None
            }
        }
    }

    fn app(&mut self, node: &Node, owner: Span) -> Option<Located<App>> {
        let fields = self.fields(node, owner, "app", APP_FIELDS, APP_REQUIRED)?;
        Some(Located::new(
            App {
                name: field(&fields, "name").and_then(|n| self.string(n, "app.name")),
                client_id: field(&fields, "client_id")
                    .and_then(|n| self.string(n, "app.client_id")),
                redirect_uri: field(&fields, "redirect_uri")
                    .and_then(|n| self.string(n, "app.redirect_uri")),
                credential: field(&fields, "credential")
                    .and_then(|n| self.credential(n, key_span(&fields, "credential"))),
                home_tenant: field(&fields, "home_tenant")
                    .and_then(|n| self.string(n, "app.home_tenant")),
            },
            node.span,
        ))
    }

    fn credential(&mut self, node: &Node, owner: Span) -> Option<Located<Credential>> {
        let path = "app.credential";
        if !matches!(node.value, Value::Map(_) | Value::Seq(_)) {
            self.inline_secret(node, path);
            return None;
        }
        let fields = self.fields(node, owner, path, CREDENTIAL_KINDS, &[])?;
        let credential = match fields.as_slice() {
            [] => {
                self.push(
                    Diagnostic::error(
                        Code::MissingField,
                        self.file,
                        node.span,
                        format!("`{path}` names no credential"),
                    )
                    .with_help("write one kind: `client_secret: {env: NAME}`, `certificate: {file: PATH}` or `federated: {github: {}}`; or remove `credential` to use CONSENTRY_CLIENT_SECRET"),
                );
                return None;
            }
            [(kind, key, value)] => match *kind {
                "client_secret" => self
                    .secret_source(value, *key, "app.credential.client_secret")
                    .map(Credential::ClientSecret),
                "certificate" => self.certificate(value, *key).map(Credential::Certificate),
                _ => self.federated(value, *key).map(Credential::Federated),
            },
            [(first, _, _), (second, key, _), ..] => {
                self.push(
                    Diagnostic::error(
                        Code::InvalidCredential,
                        self.file,
                        *key,
                        format!("`{path}` names both `{first}` and `{second}`; an app signs in with exactly one credential"),
                    )
                    .with_help("keep the kind the app registration is set up for and remove the other")
                    .masked(),
                );
                return None;
            }
        };
        credential.map(|c| Located::new(c, node.span))
    }

    /// `{env: NAME}` or `{file: PATH}`: where a secret (a client secret, a password) is read
    /// from. A scalar here is the secret itself.
    fn secret_source(
        &mut self,
        secret: &Node,
        owner: Span,
        path: &str,
    ) -> Option<Located<SecretSource>> {
        match &secret.value {
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                self.inline_secret(secret, path);
                None
            }
            Value::Map(_) => {
                let sources = self.fields(secret, owner, path, SECRET_SOURCES, &[])?;
                let present: Vec<(&str, &Node)> = sources
                    .iter()
                    .filter(|(_, _, v)| v.value != Value::Null)
                    .map(|(k, _, v)| (*k, *v))
                    .collect();
                let field = path.rsplit('.').next().unwrap_or(path);
                match present.as_slice() {
                    [] => {
                        self.push(
                            Diagnostic::error(
                                Code::MissingField,
                                self.file,
                                secret.span,
                                format!("`{path}` needs `env` or `file`"),
                            )
                            .with_help(format!(
                                "write `{field}: {{env: NAME}}` or `{field}: {{file: PATH}}`"
                            )),
                        );
                        None
                    }
                    [(kind, value)] => {
                        let Value::Str(text) = &value.value else {
                            self.wrong_type(value, &join(path, kind), "a string");
                            return None;
                        };
                        let text = Located::new(text.clone(), value.span);
                        let source = if *kind == "env" {
                            SecretSource::Env(text)
                        } else {
                            SecretSource::File(text)
                        };
                        Some(Located::new(source, secret.span))
                    }
                    [_, (_, second), ..] => {
                        self.push(
                            Diagnostic::error(
                                Code::InvalidCredential,
                                self.file,
                                second.span,
                                format!("`{path}` gives both `env` and `file`"),
                            )
                            .with_help("keep one source")
                            .masked(),
                        );
                        None
                    }
                }
            }
            _ => {
                self.wrong_type(secret, path, "a mapping with `env` or `file`");
                None
            }
        }
    }

    /// `certificate: {file | env, password?, signing?}`.
    fn certificate(&mut self, node: &Node, owner: Span) -> Option<Located<CertificateSpec>> {
        let path = "app.credential.certificate";
        if let Value::Str(text) = &node.value {
            if looks_like_key_material(text) {
                self.inline_material(
                    node,
                    path,
                    "holds a key or certificate itself",
                    "put the PEM (private key and certificate) or PFX in a file outside the repository and write `certificate: {file: PATH}` (or `{env: NAME}`); then replace the certificate, since its private key has been stored in this file",
                );
            } else {
                self.push(
                    Diagnostic::error(
                        Code::InvalidType,
                        self.file,
                        node.span,
                        format!("`{path}` must be a mapping with `file` or `env`"),
                    )
                    .with_help("write `certificate: {file: PATH}` (a PEM with key and certificate, or a .pfx/.p12)")
                    .masked(),
                );
            }
            return None;
        }
        let fields = self.fields(node, owner, path, CERTIFICATE_FIELDS, &[])?;
        let mut file = field(&fields, "file").and_then(|n| self.string(n, &join(path, "file")));
        let mut env = field(&fields, "env").and_then(|n| self.string(n, &join(path, "env")));
        for (name, value) in [("file", &mut file), ("env", &mut env)] {
            if value
                .as_ref()
                .is_some_and(|v| looks_like_key_material(&v.value))
            {
                let node = field(&fields, name).unwrap_or(node);
                self.inline_material(
                    node,
                    &join(path, name),
                    "holds a key or certificate itself",
                    "put the PEM (private key and certificate) or PFX in a file outside the repository and name the file (or the environment variable) here; then replace the certificate, since its private key has been stored in this file",
                );
                *value = None;
            }
        }
        // Every part is checked before any is refused, so one run shows every mistake.
        let password = match fields.iter().find(|(k, _, _)| *k == "password") {
            Some((_, key, value)) if value.value != Value::Null => {
                Some(self.secret_source(value, *key, &join(path, "password")))
            }
            _ => None,
        };
        let signing = field(&fields, "signing").map(|n| self.signing(n, &join(path, "signing")));
        let written = |name| field(&fields, name).is_some();
        if written("file") && written("env") {
            self.push(
                Diagnostic::error(
                    Code::InvalidCredential,
                    self.file,
                    key_span(&fields, "env"),
                    format!("`{path}` gives both `file` and `env`"),
                )
                .with_help("keep one source")
                .masked(),
            );
            return None;
        }
        if !written("file") && !written("env") {
            self.push(
                Diagnostic::error(
                    Code::MissingField,
                    self.file,
                    owner,
                    format!("`{path}` needs `file` or `env`"),
                )
                .with_help("write `certificate: {file: PATH}` (a PEM with key and certificate, or a .pfx/.p12) or `certificate: {env: NAME}`"),
            );
            return None;
        }
        // A wrong type or inline material was reported above.
        if file.is_none() && env.is_none() {
            return None;
        }
        let password = match password {
            None => None,
            Some(p) => Some(p?),
        };
        let signing = match signing {
            None => None,
            Some(s) => Some(s?),
        };
        Some(Located::new(
            CertificateSpec {
                file,
                env,
                password,
                signing,
            },
            node.span,
        ))
    }

    fn signing(&mut self, node: &Node, path: &str) -> Option<Located<Signing>> {
        let name = self.string(node, path)?;
        match name.value.as_str() {
            "ps256" => Some(Located::new(Signing::Ps256, node.span)),
            "rs256" => Some(Located::new(Signing::Rs256, node.span)),
            other => {
                let help = suggest::did_you_mean(suggest::nearest(
                    other,
                    SIGNING_ALGORITHMS.iter().copied(),
                ))
                .unwrap_or_else(|| "write `ps256` (the default) or `rs256`".to_owned());
                self.push(
                    Diagnostic::error(
                        Code::InvalidCredential,
                        self.file,
                        node.span,
                        format!("`{path}` must be `ps256` or `rs256`"),
                    )
                    .with_help(help)
                    .masked(),
                );
                None
            }
        }
    }

    /// `federated: {github: {} | kubernetes: {} | file: PATH | env: NAME}`.
    fn federated(&mut self, node: &Node, owner: Span) -> Option<Located<FederatedSource>> {
        let path = "app.credential.federated";
        if let Value::Str(text) = &node.value {
            if let Some(source) = FEDERATED_SOURCES
                .iter()
                .find(|s| s.eq_ignore_ascii_case(text.trim()))
            {
                self.push(
                    Diagnostic::error(
                        Code::InvalidType,
                        self.file,
                        node.span,
                        format!("`{path}` must be a mapping naming the token's source"),
                    )
                    .with_help(match *source {
                        "github" | "kubernetes" => format!("write `federated: {{{source}: {{}}}}`"),
                        _ => format!("write `federated: {{{source}: …}}`"),
                    }),
                );
            } else {
                self.inline_material(
                    node,
                    path,
                    "holds a token itself",
                    "federated tokens live minutes and are fetched at run time: write `federated: {github: {}}` (GitHub Actions), `{kubernetes: {}}`, `{file: PATH}` or `{env: NAME}`",
                );
            }
            return None;
        }
        let fields = self.fields(node, owner, path, FEDERATED_SOURCES, &[])?;
        let (name, _, value) = match fields.as_slice() {
            [] => {
                self.push(
                    Diagnostic::error(
                        Code::MissingField,
                        self.file,
                        node.span,
                        format!("`{path}` names no token source"),
                    )
                    .with_help("write `federated: {github: {}}` (GitHub Actions), `{kubernetes: {}}`, `{file: PATH}` or `{env: NAME}`"),
                );
                return None;
            }
            [one] => *one,
            [(first, _, _), (second, key, _), ..] => {
                self.push(
                    Diagnostic::error(
                        Code::InvalidCredential,
                        self.file,
                        *key,
                        format!("`{path}` names both `{first}` and `{second}`"),
                    )
                    .with_help("keep one token source")
                    .masked(),
                );
                return None;
            }
        };
        let sub = join(path, name);
        let source = match name {
            "github" | "kubernetes" => {
                match &value.value {
                    Value::Null => {}
                    Value::Map(pairs) if pairs.is_empty() => {}
                    Value::Map(pairs) => {
                        for (k, _) in pairs {
                            self.push(
                                Diagnostic::error(
                                    Code::UnknownField,
                                    self.file,
                                    k.span,
                                    format!("`{sub}` takes no options"),
                                )
                                .with_help(format!("write `{name}: {{}}`"))
                                .masked(),
                            );
                        }
                        return None;
                    }
                    _ => {
                        self.wrong_type(value, &sub, "an empty mapping `{}`");
                        return None;
                    }
                }
                let options = Located::new(NoOptions {}, value.span);
                if name == "github" {
                    FederatedSource::Github(options)
                } else {
                    FederatedSource::Kubernetes(options)
                }
            }
            _ => {
                let Value::Str(text) = &value.value else {
                    self.wrong_type(value, &sub, "a string");
                    return None;
                };
                if looks_like_token(text) {
                    self.inline_material(
                        value,
                        &sub,
                        "holds a token itself",
                        "name the file or environment variable the token is put in at run time; a token written here is stale within minutes",
                    );
                    return None;
                }
                let text = Located::new(text.clone(), value.span);
                if name == "file" {
                    FederatedSource::File(text)
                } else {
                    FederatedSource::Env(text)
                }
            }
        };
        Some(Located::new(source, node.span))
    }

    /// Key material or a token written where the manifest names its source. Never echoed.
    fn inline_material(&mut self, node: &Node, path: &str, what: &str, help: &str) {
        self.push(
            Diagnostic::error(
                Code::InlineSecret,
                self.file,
                node.span,
                format!("`{path}` {what}; the manifest may only say where it is read from"),
            )
            .with_help(help)
            .masked(),
        );
    }

    /// A scalar where the manifest names a secret's source: the secret itself. Never echo the
    /// value: not in the message, the help, nor (see `masked`) any snippet.
    fn inline_secret(&mut self, node: &Node, path: &str) {
        self.push(
            Diagnostic::error(
                Code::InlineSecret,
                self.file,
                node.span,
                format!("`{path}` holds the secret itself; the manifest may only say where the secret is read from"),
            )
            .with_help(if path.ends_with(".password") {
                "put the password in an environment variable or a file outside the repository and write `password: {env: NAME}` or `password: {file: PATH}`; then change the password, since it has been stored in this file"
            } else {
                "put the secret in an environment variable or a file outside the repository and write `client_secret: {env: CONSENTRY_CLIENT_SECRET}` or `client_secret: {file: PATH}`; then rotate the secret, since it has been stored in this file"
            })
            .masked(),
        );
    }

    fn apis(&mut self, node: &Node, path: &str) -> Option<Located<Entries<ApiSpec>>> {
        let entries = self.entries(node, path)?;
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                continue;
            };
            let api_path = join(path, name);
            let Some(fields) = self.fields(value, key.span, &api_path, API_FIELDS, API_REQUIRED)
            else {
                continue;
            };
            let spec = ApiSpec {
                resource: field(&fields, "resource")
                    .and_then(|n| self.string(n, &join(&api_path, "resource"))),
                roles: field(&fields, "roles")
                    .and_then(|n| self.strings(n, &join(&api_path, "roles"))),
            };
            out.push((Located::new(name.clone(), key.span), spec));
        }
        Some(Located::new(Entries(out), node.span))
    }

    fn tenants(&mut self, node: &Node) -> Option<Located<Vec<Located<Tenant>>>> {
        let Value::Seq(items) = &node.value else {
            self.wrong_type(node, "tenants", "a list");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("tenants[{i}]");
            let Some(fields) = self.fields(item, item.span, &path, TENANT_FIELDS, TENANT_REQUIRED)
            else {
                continue;
            };
            let tenant = Tenant {
                name: field(&fields, "name").and_then(|n| self.string(n, &join(&path, "name"))),
                id: field(&fields, "id").and_then(|n| self.string(n, &join(&path, "id"))),
                labels: field(&fields, "labels")
                    .and_then(|n| self.strings(n, &join(&path, "labels"))),
                apis: field(&fields, "apis").and_then(|n| self.apis(n, &join(&path, "apis"))),
            };
            out.push(Located::new(tenant, item.span));
        }
        Some(Located::new(out, node.span))
    }
}

/// The concrete fix for a value of the wrong type at `path`, for the mistakes people make most:
/// `apis` written as a list, an id in braces, `roles` dedented to the level of its API.
fn type_fix(node: &Node, path: &str, expected: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or(path);
    let parent = path.rsplit_once('.').map_or("", |(parent, _)| parent);
    let apis_level = parent == "apis" || parent.ends_with(".apis");
    match &node.value {
        Value::Seq(_) if path == "apis" || path.ends_with(".apis") => {
            "`apis` maps each API to its roles: write `microsoft-365-defender:` (no `-`), and under it, two spaces deeper, `roles: [Incident.Read.All]`".to_owned()
        }
        // `{11111111-…}` is a YAML flow mapping with one key and no value.
        // Whatever is written under the credential may be a secret: never quote it back.
        Value::Map(_) if path.starts_with("app.credential") => {
            format!("write {expected} here (a `{{…}}` is a YAML mapping: remove the braces)")
        }
        Value::Map(pairs) if expected.starts_with("a string") => match pairs.as_slice() {
            [(key, value)] if matches!(value.value, Value::Null) => match &key.value {
                Value::Str(inner) => format!("remove the braces: `{last}: {inner}` (YAML reads `{{…}}` as a mapping)"),
                _ => "remove the braces: YAML reads `{…}` as a mapping".to_owned(),
            },
            _ => format!("write {expected} here, e.g. `{last}: value`"),
        },
        _ if apis_level && last == "roles" => {
            "`roles` belongs to an API: indent it two spaces deeper than the API's name above it".to_owned()
        }
        Value::Null if apis_level => {
            format!("give `{last}` its roles on the next line, two spaces deeper: `roles: [Incident.Read.All]` (if a `roles:` line follows, indent it)")
        }
        Value::Null => format!("give `{last}` a value: {expected}"),
        _ => format!("write {expected} here"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn properties(schema: &serde_json::Value) -> BTreeSet<String> {
        schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn set(fields: &[&str]) -> BTreeSet<String> {
        fields.iter().map(|s| (*s).to_owned()).collect()
    }

    fn variants(schema: &serde_json::Value) -> BTreeSet<String> {
        schema["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(properties)
            .collect()
    }

    #[test]
    fn the_decoder_knows_exactly_the_schema_fields() {
        let schema = crate::manifest::json_schema();
        let defs = &schema["definitions"];
        assert_eq!(properties(&schema), set(MANIFEST_FIELDS));
        assert_eq!(properties(&schema["properties"]["app"]), set(APP_FIELDS));
        assert_eq!(properties(&defs["ApiSpec"]), set(API_FIELDS));
        assert_eq!(properties(&defs["Tenant"]), set(TENANT_FIELDS));
        assert_eq!(variants(&defs["Credential"]), set(CREDENTIAL_KINDS));
        assert_eq!(variants(&defs["SecretSource"]), set(SECRET_SOURCES));
        assert_eq!(
            properties(&defs["CertificateSpec"]),
            set(CERTIFICATE_FIELDS)
        );
        assert_eq!(variants(&defs["FederatedSource"]), set(FEDERATED_SOURCES));
        let signing: BTreeSet<String> = defs["Signing"]["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["const"].as_str().map(str::to_owned))
            .chain(
                defs["Signing"]["enum"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned)),
            )
            .collect();
        assert_eq!(signing, set(SIGNING_ALGORITHMS));
    }

    #[test]
    fn required_fields_match_the_schema() {
        let schema = crate::manifest::json_schema();
        let required = |s: &serde_json::Value| -> BTreeSet<String> {
            s["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(required(&schema), set(MANIFEST_REQUIRED));
        assert_eq!(required(&schema["properties"]["app"]), set(APP_REQUIRED));
        assert_eq!(
            required(&schema["definitions"]["Tenant"]),
            set(TENANT_REQUIRED)
        );
        assert_eq!(
            required(&schema["definitions"]["ApiSpec"]),
            set(API_REQUIRED)
        );
    }
}
