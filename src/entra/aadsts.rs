//! The AADSTS error codes consentry understands (reference §4): what each means for a partner,
//! which kind of failure it is, and what to do about it.
//!
//! The credential codes of certificates and workload identity federation come from reference §6
//! (Microsoft: "Microsoft identity platform application authentication certificate credentials"
//! and "Workload identity federation: considerations and troubleshooting"): 700027 no registered
//! certificate matches or the signature is invalid; 700023 the assertion's `aud` is not the token
//! endpoint that was called (the certificate-credentials page requires `aud` to be exactly that
//! endpoint's URL); 700024 the assertion is outside its time window; 70021 no federated identity credential matches, which Microsoft also reports for a few
//! minutes right after a credential is added, while it propagates; 700211 / 700212 / 700213 no
//! match on issuer / audience / subject; 700229 an Entra-issued token was presented as the
//! external token. Each stops the run as `credential_rejected`, like a wrong secret.
//!
//! One table serves both the token client's error classification and `consentry explain`, so the
//! advice a partner reads in a report is the advice `explain` prints.

use super::Kind;

/// What the token client does when Entra answers with a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// A final answer about the tenant, of this kind.
    Final(Kind),
    /// Throttling or a transient fault: retry with backoff (and report `error` if retries run out).
    Retry,
}

/// One AADSTS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The number after `AADSTS`.
    pub code: u32,
    /// What Entra means by it, in a sentence.
    pub meaning: &'static str,
    /// What consentry does with it.
    pub disposition: Disposition,
    /// What to tell the partner.
    pub advice: &'static str,
}

impl Entry {
    /// `AADSTS` followed by the number, as reports spell it.
    pub fn name(&self) -> String {
        format!("AADSTS{}", self.code)
    }
}

const NOT_CONSENTED: &str = "Send this tenant its admin-consent link (`consentry plan`) and have a Global \
Administrator approve it. If the tenant did consent, check the tenant id and the app's client id.";

const CREDENTIAL: &str = "Fix the app's credential in the home tenant (a new client secret or \
certificate on the app registration, and in the secret source the manifest names). This affects \
every tenant, so no tenant was checked after it.";

const ASSERTION_TIME: &str = "The assertion was outside its validity window or was already used. \
For a certificate, check this machine's clock (consentry signs with it, valid 10 minutes from now); \
for a federated token, it expired before it was presented: fetch a fresh one (GitHub's last about \
5 minutes). This affects every tenant, so no tenant was checked after it.";

const ASSERTION_AUDIENCE: &str = "The client assertion names another token endpoint as its \
audience (`aud` must be exactly the URL called): if a proxy or a rewritten --authority-host sits \
between consentry and the identity platform, point consentry at the endpoint itself. This affects \
every tenant, so no tenant was checked after it.";

const CERTIFICATE_UNKNOWN: &str = "The certificate consentry signs with is not registered on the \
app (or has expired there): upload its public part (.cer or .pem) under the app registration's \
Certificates & secrets and compare the thumbprint with the report's credential section, or point \
the manifest at the registered certificate. This affects every tenant, so no tenant was checked \
after it.";

const FIC_ISSUER: &str = "No federated identity credential on the app trusts the token's issuer: \
add one whose issuer is exactly the token's `iss` (GitHub Actions: \
https://token.actions.githubusercontent.com). This affects every tenant, so no tenant was checked \
after it.";

const FIC_AUDIENCE: &str = "The app's federated identity credential does not list the token's \
audience: set its audience to exactly api://AzureADTokenExchange (what consentry asks GitHub \
for). This affects every tenant, so no tenant was checked after it.";

const FIC_SUBJECT: &str = "The app's federated identity credential does not match the token's \
subject: set its subject to exactly the token's `sub`, case-sensitive (GitHub: \
repo:ORG/REPO:ref:refs/heads/BRANCH, repo:ORG/REPO:environment:NAME for a job with an \
environment, repo:ORG/REPO:pull_request). This affects every tenant, so no tenant was checked \
after it.";

const TENANT: &str = "Check the tenant id (GUID or verified domain) in the manifest, and that the \
manifest's `cloud` is the tenant's national cloud.";

const REQUEST_SHAPE: &str = "consentry sent a request Entra refuses. Please report it as a bug, \
with the trace and correlation ids.";

const fn entry(code: u32, meaning: &'static str, kind: Kind, advice: &'static str) -> Entry {
    Entry {
        code,
        meaning,
        disposition: Disposition::Final(kind),
        advice,
    }
}

const fn retry(code: u32, meaning: &'static str, advice: &'static str) -> Entry {
    Entry {
        code,
        meaning,
        disposition: Disposition::Retry,
        advice,
    }
}

/// Every code consentry knows, sorted by number.
pub const TABLE: &[Entry] = &[
    retry(
        50196,
        "Entra detected a request loop: the same request was sent too often in a short time.",
        "consentry retries with backoff; if it persists, run again later or lower --concurrency.",
    ),
    entry(
        53003,
        "Access was blocked by a Conditional Access policy in the customer's tenant.",
        Kind::Blocked,
        "Ask the customer to exclude the app's service principal from the Conditional Access policy \
that blocks it (workload identity policies apply to app-only sign-ins).",
    ),
    entry(
        65001,
        "Consent was not given for the app in this tenant.",
        Kind::NotConsented,
        NOT_CONSENTED,
    ),
    entry(
        70021,
        "No federated identity credential on the app matches the presented assertion.",
        Kind::CredentialRejected,
        "Check the app's federated identity credentials (issuer, subject and audience must match the \
external token exactly; they are case-sensitive). If the federated credential was added minutes \
ago, Entra may still be propagating it: wait a few minutes and run again. This affects every \
tenant, so no tenant was checked after it.",
    ),
    entry(
        90002,
        "The tenant was not found: it does not exist, or has no active subscription.",
        Kind::TenantNotFound,
        TENANT,
    ),
    retry(
        90033,
        "A transient error occurred in Entra.",
        "consentry retries with backoff; if it persists, run again later.",
    ),
    entry(
        90038,
        "The tenant belongs to another national cloud than the one asked.",
        Kind::TenantNotFound,
        TENANT,
    ),
    retry(
        90055,
        "Entra is throttling requests from this app.",
        "consentry retries honouring Retry-After; if it persists, lower --concurrency.",
    ),
    entry(
        500011,
        "The resource API has no service principal in the tenant.",
        Kind::ResourceMissing,
        "The tenant has not provisioned that Defender service (no licence, or never opened the \
portal), or the resource URI or cloud is wrong. Ask the customer to activate the service, then \
consent again.",
    ),
    entry(
        700011,
        "The app was not found in the tenant's directory.",
        Kind::NotConsented,
        NOT_CONSENTED,
    ),
    entry(
        700016,
        "The app has no service principal in the tenant: it was never consented there.",
        Kind::NotConsented,
        NOT_CONSENTED,
    ),
    entry(
        700022,
        "The request named more than one resource; client credentials allow one per request.",
        Kind::Other,
        REQUEST_SHAPE,
    ),
    entry(
        700023,
        "The client assertion's audience is not the token endpoint that was called.",
        Kind::CredentialRejected,
        ASSERTION_AUDIENCE,
    ),
    entry(
        700024,
        "The client assertion is outside its validity window (expired or not yet valid).",
        Kind::CredentialRejected,
        ASSERTION_TIME,
    ),
    entry(
        700027,
        "The client assertion's signature does not match any certificate registered on the app.",
        Kind::CredentialRejected,
        CERTIFICATE_UNKNOWN,
    ),
    entry(
        700211,
        "No federated identity credential on the app matches the assertion's issuer.",
        Kind::CredentialRejected,
        FIC_ISSUER,
    ),
    entry(
        700212,
        "No federated identity credential on the app matches the assertion's audience.",
        Kind::CredentialRejected,
        FIC_AUDIENCE,
    ),
    entry(
        700213,
        "No federated identity credential on the app matches the assertion's subject.",
        Kind::CredentialRejected,
        FIC_SUBJECT,
    ),
    entry(
        700229,
        "The external token given as a federated assertion was issued by Entra ID itself, which \
federation does not accept.",
        Kind::CredentialRejected,
        CREDENTIAL,
    ),
    entry(
        900023,
        "The tenant identifier is malformed: neither a GUID nor a domain.",
        Kind::TenantNotFound,
        TENANT,
    ),
    entry(
        901002,
        "The v2 endpoint refused a `resource` parameter (v2 wants `scope`).",
        Kind::Other,
        REQUEST_SHAPE,
    ),
    entry(
        1002012,
        "The scope is not valid: client credentials need `{resource}/.default`.",
        Kind::Other,
        REQUEST_SHAPE,
    ),
    entry(
        7000112,
        "The app (or the resource) is disabled in the tenant.",
        Kind::Disabled,
        "The customer disabled the enterprise app (Enterprise applications → Properties → \
\"Enabled for users to sign in?\"). Ask them to enable it again.",
    ),
    entry(
        7000215,
        "The client secret is not valid for this app.",
        Kind::CredentialRejected,
        CREDENTIAL,
    ),
    entry(
        7000218,
        "The request carried no client secret or assertion.",
        Kind::CredentialRejected,
        CREDENTIAL,
    ),
    entry(
        7000222,
        "The client secret has expired.",
        Kind::CredentialRejected,
        CREDENTIAL,
    ),
    entry(
        7002137,
        "The federated assertion's audience does not match the app's federated credential.",
        Kind::CredentialRejected,
        FIC_AUDIENCE,
    ),
    entry(
        7002138,
        "The federated assertion was rejected (invalid or expired token from the external issuer).",
        Kind::CredentialRejected,
        CREDENTIAL,
    ),
    entry(
        9001023,
        "The `common` (or `organizations`) endpoint was used for client credentials; a tenant is required.",
        Kind::Other,
        REQUEST_SHAPE,
    ),
];

/// Parses `AADSTS700016`, `aadsts700016` or `700016` into the number. Text pasted from an error
/// (`AADSTS700016: Application with identifier ...`) is read up to its first colon.
pub fn parse_code(input: &str) -> Option<u32> {
    let input = input.split(':').next().unwrap_or(input).trim();
    let digits = match input.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case("aadsts") => &input[6..],
        _ => input,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The entry for a code written as `AADSTS700016` or `700016`, when consentry knows it.
pub fn lookup(code: &str) -> Option<&'static Entry> {
    parse_code(code).and_then(lookup_number)
}

/// The entry for a code number.
pub fn lookup_number(code: u32) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.code == code)
}

/// What `consentry explain` prints for a known code.
pub fn render_explain(entry: &Entry) -> String {
    let outcome = match entry.disposition {
        Disposition::Final(kind) => format!("verify reports the tenant as `{}`", kind.as_str()),
        Disposition::Retry => "verify retries with backoff; `error` if retries run out".to_owned(),
    };
    format!(
        "{name}\n  meaning: {meaning}\n  consentry: {outcome}\n  what to do: {advice}\n  docs: https://login.microsoftonline.com/error?code={code}\n",
        name = entry.name(),
        meaning = entry.meaning,
        advice = entry.advice,
        code = entry.code,
    )
}

/// What `consentry explain` prints for a well-formed code that is not in [`TABLE`]: not an error,
/// since Entra adds codes; the code is kept and Microsoft's lookup page says what it means.
pub fn render_unknown(code: u32) -> String {
    format!(
        "AADSTS{code}\n  not in consentry's table.\n  consentry: verify reports it as `error` with \
         Entra's own message, trace and correlation ids\n  what to do: look it up on Microsoft's \
         error lookup page below; keep the code and the trace and correlation ids from the report \
         for a support case\n  docs: https://login.microsoftonline.com/error?code={code}\n"
    )
}

/// What `consentry explain --list` prints: every known code with its meaning, one per line.
pub fn render_list() -> String {
    let mut out = String::new();
    for entry in TABLE {
        out.push_str(&format!("{:<14} {}\n", entry.name(), entry.meaning));
    }
    out
}

/// Why `explain` has nothing to say about its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    /// Not an AADSTS code at all.
    #[error("`{0}` is not an AADSTS code: write it as AADSTS700016 or 700016")]
    NotACode(String),
    /// A well-formed code consentry does not know.
    #[error(
        "AADSTS{0} is not in consentry's table; Microsoft describes it at https://login.microsoftonline.com/error?code={0} (verify reports it as `error` with Entra's own message)"
    )]
    Unknown(u32),
}

/// `consentry explain INPUT`: the rendered entry, or a clear error for malformed or unknown codes.
pub fn explain(input: &str) -> Result<String, ExplainError> {
    let code = parse_code(input).ok_or_else(|| {
        // The input is echoed back: clipped, and with control characters escaped, since it may
        // have been pasted from anywhere.
        let clipped: String = input.chars().take(40).collect();
        ExplainError::NotACode(crate::sanitize::one_line(&clipped).into_owned())
    })?;
    lookup_number(code)
        .map(render_explain)
        .ok_or(ExplainError::Unknown(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_accepts_both_spellings() {
        assert_eq!(lookup("AADSTS700016").map(|e| e.code), Some(700016));
        assert_eq!(lookup("aadsts700016").map(|e| e.code), Some(700016));
        assert_eq!(lookup(" 700016 ").map(|e| e.code), Some(700016));
        assert_eq!(lookup("AADSTS").map(|e| e.code), None);
        assert_eq!(lookup("70001x").map(|e| e.code), None);
        assert_eq!(lookup("123").map(|e| e.code), None);
    }

    #[test]
    fn table_is_sorted_unique_and_covers_reference_section_4() {
        let codes: Vec<u32> = TABLE.iter().map(|e| e.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted, "TABLE must be sorted and unique");
        let expect = [
            (700016, Disposition::Final(Kind::NotConsented)),
            (700011, Disposition::Final(Kind::NotConsented)),
            (65001, Disposition::Final(Kind::NotConsented)),
            (7000112, Disposition::Final(Kind::Disabled)),
            (500011, Disposition::Final(Kind::ResourceMissing)),
            (90002, Disposition::Final(Kind::TenantNotFound)),
            (900023, Disposition::Final(Kind::TenantNotFound)),
            (90038, Disposition::Final(Kind::TenantNotFound)),
            (53003, Disposition::Final(Kind::Blocked)),
            (50196, Disposition::Retry),
            (90055, Disposition::Retry),
            (90033, Disposition::Retry),
        ];
        for (code, disposition) in expect {
            assert_eq!(
                lookup_number(code).map(|e| e.disposition),
                Some(disposition)
            );
        }
        for code in [
            7000215, 7000222, 700027, 700023, 700024, 7000218, 70021, 700211, 700212, 700213,
            700229, 7002137, 7002138,
        ] {
            assert_eq!(
                lookup_number(code).map(|e| e.disposition),
                Some(Disposition::Final(Kind::CredentialRejected)),
                "{code}"
            );
        }
    }

    #[test]
    fn codes_pasted_from_an_error_parse() {
        assert_eq!(parse_code("AADSTS700016:"), Some(700016));
        assert_eq!(parse_code("  aadsts700016 "), Some(700016));
        assert_eq!(
            parse_code("AADSTS700016: Application with identifier 'x' was not found"),
            Some(700016)
        );
        assert_eq!(parse_code(":700016"), None);
        assert_eq!(parse_code("AADSTS"), None);
    }

    #[test]
    fn the_list_names_every_code_once() {
        let list = render_list();
        assert_eq!(list.lines().count(), TABLE.len());
        assert!(list.contains("AADSTS700016 "), "{list}");
        assert!(render_unknown(123456).contains("error?code=123456"));
    }

    #[test]
    fn explain_renders_known_and_refuses_unknown_clearly() {
        let text = explain("AADSTS7000112").unwrap();
        assert!(text.starts_with("AADSTS7000112\n"), "{text}");
        assert!(text.contains("`disabled`"), "{text}");
        assert_eq!(explain("999999"), Err(ExplainError::Unknown(999999)));
        assert!(
            ExplainError::Unknown(999999)
                .to_string()
                .contains("error?code=999999")
        );
        assert!(matches!(explain("hello"), Err(ExplainError::NotACode(_))));
        assert!(matches!(
            explain("99999999999999999999999"),
            Err(ExplainError::NotACode(_))
        ));
    }

    #[test]
    fn a_pasted_escape_sequence_is_not_echoed_raw() {
        let error = explain("\u{1b}]0;pwned\u{7}AADSTS")
            .unwrap_err()
            .to_string();
        assert!(!error.chars().any(crate::sanitize::is_unsafe), "{error:?}");
        assert!(error.contains(r"\u{1b}]0;pwned\u{7}"), "{error}");
    }
}
