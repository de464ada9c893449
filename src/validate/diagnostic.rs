//! The diagnostics type: one problem found in a manifest, with a stable code, a location, the
//! places it relates to and, where known, the fix.

use serde::Serialize;

use crate::manifest::tree::Span;

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $code:literal,)*) => {
        /// A stable, kebab-case name for each kind of problem. Scripts match on these; never
        /// rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Code {
            /// Every code, in one list (a test keeps their strings unique).
            pub const ALL: &[Code] = &[$(Code::$variant,)*];

            /// The code as printed and serialized.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }
        }
    };
}

codes! {
    /// The path does not exist.
    FileNotFound => "file-not-found",
    /// The path exists but cannot be read as a file.
    UnreadableFile => "unreadable-file",
    /// Bigger than the size cap.
    FileTooLarge => "file-too-large",
    /// Not UTF-8.
    NotUtf8 => "not-utf8",
    /// Nothing but whitespace and comments.
    EmptyFile => "empty-file",
    /// Not valid YAML.
    YamlSyntax => "yaml-syntax",
    /// Nested deeper than the cap.
    TooDeep => "too-deep",
    /// Aliases expand beyond the cap.
    AliasBomb => "alias-bomb",
    /// Another parser budget was exceeded.
    TooComplex => "too-complex",
    /// A mapping names the same key twice.
    DuplicateKey => "duplicate-key",
    /// A field the format does not have.
    UnknownField => "unknown-field",
    /// A required field is absent.
    MissingField => "missing-field",
    /// A value of the wrong type (a list where a string belongs, ...).
    InvalidType => "invalid-type",
    /// A required text is empty.
    EmptyValue => "empty-value",
    /// `version` is not 1.
    UnsupportedVersion => "unsupported-version",
    /// `cloud` is not one of the known clouds.
    UnknownCloud => "unknown-cloud",
    /// `app.client_id` is not a GUID.
    InvalidClientId => "invalid-client-id",
    /// `app.redirect_uri` is not an https URL (or http on localhost).
    InvalidRedirectUri => "invalid-redirect-uri",
    /// A client secret is written in the manifest.
    InlineSecret => "inline-secret",
    /// The credential names its source badly (empty, not a variable name, both env and file).
    InvalidCredential => "invalid-credential",
    /// An API key that is neither in the catalog nor gives a `resource`.
    UnknownApi => "unknown-api",
    /// An API key written with one of the catalog's other names.
    ApiAlias => "api-alias",
    /// Two keys name the same catalog API.
    DuplicateApi => "duplicate-api",
    /// A catalog API that the manifest's cloud does not offer.
    ApiNotInCloud => "api-not-in-cloud",
    /// `resource` on a catalog API (the catalog knows it).
    ResourceOnCatalogApi => "resource-on-catalog-api",
    /// A custom API's `resource` is not a URI or GUID.
    InvalidResource => "invalid-resource",
    /// A tenant gives another `resource` for an API the app level already names.
    ConflictingResource => "conflicting-resource",
    /// A custom API whose `resource` is a catalog API's.
    CatalogResource => "catalog-resource",
    /// A role the API does not have.
    UnknownRole => "unknown-role",
    /// A delegated scope where an application role is needed.
    DelegatedScope => "delegated-scope",
    /// A role listed twice for the same API.
    DuplicateRole => "duplicate-role",
    /// A Read role next to its ReadWrite twin.
    ReadWithReadwrite => "read-with-readwrite",
    /// A role (or its API) being retired.
    DeprecatedRole => "deprecated-role",
    /// A tenant id that is neither a GUID nor a domain, or a reserved name.
    InvalidTenantId => "invalid-tenant-id",
    /// Two tenants with the same name.
    DuplicateTenantName => "duplicate-tenant-name",
    /// Two tenants with the same id.
    DuplicateTenantId => "duplicate-tenant-id",
    /// A tenant that, after its overrides, needs no role at all.
    NothingRequired => "nothing-required",
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a problem is: errors make `validate` fail (exit 2) and block `plan`/`verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The manifest cannot be used.
    Error,
    /// The manifest works but probably not as intended.
    Warning,
}

/// Another place a diagnostic refers to (the first of two duplicates, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    /// What is there.
    pub message: String,
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    #[serde(skip)]
    pub(crate) span: Span,
}

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable kebab-case code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<u32>,
    /// 1-based column (characters), when the problem has a place in the file.
    pub column: Option<u32>,
    /// The fix, when known ("did you mean …").
    pub help: Option<String>,
    /// Other places involved.
    pub related: Vec<Related>,
    /// Byte offset and length of the primary place, for snippets.
    #[serde(skip)]
    pub span: Option<Span>,
    /// The primary place holds a secret: render it without its source text.
    #[serde(skip)]
    pub mask_source: bool,
}

impl Diagnostic {
    /// A problem with no place in the file (it could not be read).
    pub fn file_level(code: Code, file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            file: file.to_owned(),
            line: None,
            column: None,
            help: None,
            related: Vec::new(),
            span: None,
            mask_source: false,
        }
    }

    /// An error at `span`.
    pub fn error(code: Code, file: &str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic::at(code, Severity::Error, file, span, message)
    }

    /// A warning at `span`.
    pub fn warning(code: Code, file: &str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic::at(code, Severity::Warning, file, span, message)
    }

    fn at(
        code: Code,
        severity: Severity,
        file: &str,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        let located = span.line > 0;
        Diagnostic {
            code,
            severity,
            message: message.into(),
            file: file.to_owned(),
            line: located.then_some(span.line),
            column: located.then_some(span.column),
            help: None,
            related: Vec::new(),
            span: located.then_some(span),
            mask_source: false,
        }
    }

    /// Adds the fix.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds an optional fix.
    #[must_use]
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Names another place.
    #[must_use]
    pub fn with_related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related {
            message: message.into(),
            file: self.file.clone(),
            line: span.line,
            column: span.column,
            span,
        });
        self
    }

    /// Marks the primary place as holding a secret.
    #[must_use]
    pub fn masked(mut self) -> Self {
        self.mask_source = true;
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case_and_serialize_as_written() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                !s.is_empty()
                    && !s.starts_with('-')
                    && !s.ends_with('-')
                    && !s.contains("--")
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{s} is not kebab-case"
            );
            assert_eq!(serde_json::to_value(code).unwrap(), s);
        }
    }

    #[test]
    fn the_briefed_codes_exist() {
        for wanted in [
            "yaml-syntax",
            "unknown-field",
            "missing-field",
            "unsupported-version",
            "invalid-client-id",
            "invalid-tenant-id",
            "duplicate-tenant-name",
            "duplicate-tenant-id",
            "invalid-redirect-uri",
            "unknown-role",
            "delegated-scope",
            "unknown-api",
            "api-not-in-cloud",
            "inline-secret",
            "duplicate-role",
            "read-with-readwrite",
            "deprecated-role",
            "file-too-large",
            "not-utf8",
            "empty-file",
            "file-not-found",
            "too-deep",
            "alias-bomb",
        ] {
            assert!(
                Code::ALL.iter().any(|c| c.as_str() == wanted),
                "{wanted} missing"
            );
        }
    }
}
