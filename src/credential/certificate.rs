//! Certificate credentials: loading the private key and its certificate, and signing a client
//! assertion for every token request.
//!
//! What Entra expects (reference §6, from Microsoft's "Microsoft identity platform application
//! authentication certificate credentials",
//! <https://learn.microsoft.com/entra/identity-platform/certificate-credentials>):
//! - the form carries `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//!   and `client_assertion` = a JWT signed with the certificate's private key;
//! - header `alg` `PS256` (RSASSA-PSS, SHA-256) with `x5t#S256` = base64url of the SHA-256 of the
//!   certificate's DER, the current documented form; or the older `RS256` (PKCS#1 v1.5) with `x5t`
//!   = base64url of the SHA-1 of the DER. `typ` `JWT`. The two are not mixed (RS256 with
//!   `x5t#S256` is reported to fail with AADSTS700027);
//! - claims `aud` = the exact token endpoint URL the request goes to, `iss` = `sub` = the client
//!   id, `jti` a fresh GUID per assertion (Entra refuses a replay), `nbf` = `iat` = now, `exp` at
//!   most 10 minutes later (Microsoft's example uses 10 minutes; this module uses 10);
//! - the portal and `customKeyIdentifier` show the SHA-1 thumbprint as hex: the example SHA-1
//!   `84E05C1D98BCE3A5421D225B140B36E86A3D5534` is `x5t` `hOBcHZi846VCHSJbFAs26Go9VTQ`.
//!
//! Files: PEM (an unencrypted PKCS#8 `PRIVATE KEY`, a PKCS#1 `RSA PRIVATE KEY` or a
//! password-encrypted PKCS#8 `ENCRYPTED PRIVATE KEY`, plus the certificate; the certificate whose
//! public key matches the private key is the one used, so chain order does not matter) or
//! PFX/.p12 (DER, or base64 in an environment variable). Only RSA keys: those are what PS256 and
//! RS256 sign with.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret as _, SecretString};

use super::CredentialError;
use crate::model::Signing;

/// How long an assertion is valid: Entra takes up to 10 minutes after `nbf`.
pub const ASSERTION_LIFETIME_SECS: i64 = 10 * 60;

/// A certificate expiring sooner than this gets a warning.
pub const EXPIRY_WARNING_SECS: i64 = 30 * 24 * 60 * 60;

/// The `rsaEncryption` OID: the only key algorithm PS256/RS256 sign with.
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// A loaded certificate credential: the private key (never shown) and the public certificate's
/// facts.
pub(crate) struct Certificate {
    key: RsaKeyPair,
    signing: Signing,
    rng: SystemRandom,
    /// The certificate's DER (public).
    der: Vec<u8>,
    sha1: [u8; 20],
    sha256: [u8; 32],
    not_before: i64,
    not_after: i64,
    subject: String,
    /// The base64url JOSE header, the same for every assertion.
    header: String,
    /// Where it was read from, for messages ("file PATH", "environment variable NAME").
    place: String,
}

/// The key and certificates found in a file, before they are matched.
struct Material {
    key: Option<PrivateKey>,
    certificates: Vec<Vec<u8>>,
}

enum PrivateKey {
    Pkcs8(Zeroizing<Vec<u8>>),
    Pkcs1(Zeroizing<Vec<u8>>),
}

impl Certificate {
    /// Builds the credential from the file's bytes. `password` is the PFX or encrypted key's
    /// password, when the manifest names one; `now` is Unix seconds (a parameter so tests can
    /// move the clock).
    pub(crate) fn from_bytes(
        bytes: &[u8],
        password: Option<&SecretString>,
        signing: Signing,
        place: String,
        now: i64,
    ) -> Result<Certificate, CredentialError> {
        let material = if looks_like_pem(bytes) {
            pem_material(bytes, password, &place)?
        } else {
            der_material(bytes, password, &place)?
        };
        let Some(key) = material.key else {
            return Err(if material.certificates.is_empty() {
                CredentialError::NotACertificate { place }
            } else {
                CredentialError::NoPrivateKey { place }
            });
        };
        if material.certificates.is_empty() {
            return Err(CredentialError::NoCertificate { place });
        }
        let key = rsa_key(&key, &place)?;
        let public = key.public_key().as_ref().to_vec();
        let mut leaf = None;
        for der in &material.certificates {
            let parsed = parse_certificate(der, &place)?;
            if parsed.public_key == public {
                leaf = Some((der.clone(), parsed));
                break;
            }
        }
        let Some((der, parsed)) = leaf else {
            return Err(CredentialError::KeyMismatch {
                place,
                certificates: material.certificates.len(),
            });
        };
        let sha1 = sha1_of(&der);
        let sha256 = sha256_of(&der);
        let certificate = Certificate {
            key,
            signing,
            rng: SystemRandom::new(),
            header: header(signing, &sha1, &sha256),
            der,
            sha1,
            sha256,
            not_before: parsed.not_before,
            not_after: parsed.not_after,
            subject: parsed.subject,
            place,
        };
        certificate.check_validity(now)?;
        Ok(certificate)
    }

    /// An expired or not-yet-valid certificate is refused before anything is sent: Entra would
    /// refuse every assertion it signs.
    fn check_validity(&self, now: i64) -> Result<(), CredentialError> {
        if now < self.not_before {
            return Err(CredentialError::CertificateNotYetValid {
                thumbprint: self.thumbprint_sha1(),
                not_before: rfc3339(self.not_before),
            });
        }
        if now > self.not_after {
            return Err(CredentialError::CertificateExpired {
                thumbprint: self.thumbprint_sha1(),
                not_after: rfc3339(self.not_after),
            });
        }
        Ok(())
    }

    /// A signed client assertion for one request to `audience` (the exact token URL).
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
    ) -> Result<SecretString, CredentialError> {
        // A run that outlives the certificate stops here rather than sending assertions Entra
        // refuses.
        if now > self.not_after {
            return Err(CredentialError::CertificateExpiredDuringRun {
                thumbprint: self.thumbprint_sha1(),
                not_after: rfc3339(self.not_after),
            });
        }
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let mut jwt = String::with_capacity(1024);
        jwt.push_str(&self.header);
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let padding = match self.signing {
            Signing::Ps256 => &RSA_PSS_SHA256,
            Signing::Rs256 => &RSA_PKCS1_SHA256,
        };
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(padding, &self.rng, jwt.as_bytes(), &mut signature)
            .map_err(|_| CredentialError::Signing {
                place: self.place.clone(),
            })?;
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(&signature));
        Ok(SecretString::from(jwt))
    }

    pub(crate) fn signing(&self) -> Signing {
        self.signing
    }

    /// SHA-1 thumbprint, upper-case hex (the portal's form).
    pub(crate) fn thumbprint_sha1(&self) -> String {
        hex_upper(&self.sha1)
    }

    /// SHA-256 thumbprint, upper-case hex.
    pub(crate) fn thumbprint_sha256(&self) -> String {
        hex_upper(&self.sha256)
    }

    pub(crate) fn not_after(&self) -> i64 {
        self.not_after
    }

    pub(crate) fn subject(&self) -> &str {
        &self.subject
    }

    /// The certificate's DER (public): what the app registration holds.
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    /// A warning when the certificate expires within [`EXPIRY_WARNING_SECS`] of `now`.
    pub(crate) fn expiry_warning(&self, now: i64) -> Option<String> {
        let left = self.not_after - now;
        (left < EXPIRY_WARNING_SECS).then(|| {
            format!(
                "the certificate {} ({}) expires in {} days, on {}: create a new one and add it to the app registration before then",
                self.thumbprint_sha1(),
                self.subject,
                left.max(0) / 86_400,
                rfc3339(self.not_after)
            )
        })
    }
}

/// `x5t` (SHA-1) for RS256, `x5t#S256` (SHA-256) for PS256, as reference §6 pairs them.
fn header(signing: Signing, sha1: &[u8; 20], sha256: &[u8; 32]) -> String {
    let header = match signing {
        Signing::Ps256 => serde_json::json!({
            "alg": "PS256", "typ": "JWT", "x5t#S256": URL_SAFE_NO_PAD.encode(sha256),
        }),
        Signing::Rs256 => serde_json::json!({
            "alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(sha1),
        }),
    };
    URL_SAFE_NO_PAD.encode(header.to_string())
}

/// base64url of a thumbprint given in hex (as the portal shows it): how `x5t` is derived.
pub fn x5t_from_hex(hex: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    bytes.map(|b| URL_SAFE_NO_PAD.encode(b))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Environment variables hold PEM text as it is, or a PFX in base64 (a variable cannot hold
/// binary).
pub(crate) fn env_bytes(value: &SecretString) -> Option<Zeroizing<Vec<u8>>> {
    let text = value.expose_secret();
    if text.contains("-----BEGIN ") {
        return Some(Zeroizing::new(text.as_bytes().to_vec()));
    }
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    STANDARD.decode(compact.as_bytes()).ok().map(Zeroizing::new)
}

/// One PEM block: its label, whether it has RFC 1421 headers, and its DER (`Err` when the base64
/// is broken or the END line is missing).
type PemBlock = (String, bool, Result<Zeroizing<Vec<u8>>, ()>);

/// The PEM blocks of `text`. Text around the blocks (OpenSSL's "Bag Attributes" lines) is
/// ignored.
fn pem_blocks(text: &str) -> Vec<PemBlock> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].trim().to_owned();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            blocks.push((label, false, Err(())));
            break;
        };
        let body = &body_start[..end];
        // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`): the legacy OpenSSL
        // encryption, which this reader does not do.
        let headers = body.lines().any(|line| line.contains(':'));
        let base64: Zeroizing<String> = Zeroizing::new(
            body.lines()
                .filter(|line| !line.contains(':'))
                .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
                .collect(),
        );
        let der = STANDARD
            .decode(base64.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| ());
        blocks.push((label, headers, der));
        rest = &body_start[end + end_marker.len()..];
    }
    blocks
}

fn pem_material(
    bytes: &[u8],
    password: Option<&SecretString>,
    place: &str,
) -> Result<Material, CredentialError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CredentialError::Unreadable {
        place: place.to_owned(),
        reason: "it looks like PEM but is not text".to_owned(),
    })?;
    let mut material = Material {
        key: None,
        certificates: Vec::new(),
    };
    let mut keys = 0;
    for (label, headers, der) in pem_blocks(text) {
        let der = der.map_err(|()| CredentialError::Unreadable {
            place: place.to_owned(),
            reason: format!("its `{label}` PEM block is not valid base64 or has no END line"),
        })?;
        let key = match label.as_str() {
            "CERTIFICATE" => {
                material.certificates.push(der.to_vec());
                continue;
            }
            "RSA PRIVATE KEY" if headers => {
                return Err(CredentialError::LegacyEncryptedKey {
                    place: place.to_owned(),
                });
            }
            "RSA PRIVATE KEY" => PrivateKey::Pkcs1(der),
            "PRIVATE KEY" => PrivateKey::Pkcs8(der),
            "ENCRYPTED PRIVATE KEY" => decrypt_pkcs8(&der, password, place)?,
            "EC PRIVATE KEY" => {
                return Err(CredentialError::NotRsa {
                    place: place.to_owned(),
                });
            }
            // Requests, CRLs, public keys and parameters are not part of the credential.
            _ => continue,
        };
        keys += 1;
        material.key = Some(key);
    }
    if keys > 1 {
        return Err(CredentialError::Unreadable {
            place: place.to_owned(),
            reason: format!(
                "it holds {keys} private keys; keep the one whose certificate is registered on the app"
            ),
        });
    }
    Ok(material)
}

fn decrypt_pkcs8(
    der: &[u8],
    password: Option<&SecretString>,
    place: &str,
) -> Result<PrivateKey, CredentialError> {
    let Some(password) = password else {
        return Err(CredentialError::PasswordNeeded {
            place: place.to_owned(),
        });
    };
    let encrypted =
        pkcs8::EncryptedPrivateKeyInfo::try_from(der).map_err(|_| CredentialError::Unreadable {
            place: place.to_owned(),
            reason: "its ENCRYPTED PRIVATE KEY block is not an encrypted PKCS#8 key".to_owned(),
        })?;
    match encrypted.decrypt(password.expose_secret().as_bytes()) {
        Ok(document) => Ok(PrivateKey::Pkcs8(Zeroizing::new(
            document.as_bytes().to_vec(),
        ))),
        Err(pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::DecryptFailed)) => {
            Err(CredentialError::WrongPassword {
                place: place.to_owned(),
            })
        }
        Err(pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. }
            | pkcs8::pkcs5::Error::NoPbes1CryptSupport,
        )) => Err(CredentialError::UnsupportedKeyEncryption {
            place: place.to_owned(),
        }),
        // A wrong password usually shows as padding that does not check out, or as garbage
        // where the key's DER should be.
        Err(_) => Err(CredentialError::WrongPassword {
            place: place.to_owned(),
        }),
    }
}

fn der_material(
    bytes: &[u8],
    password: Option<&SecretString>,
    place: &str,
) -> Result<Material, CredentialError> {
    // A `.cer`/`.crt` in DER: the public half only.
    if x509_parser::parse_x509_certificate(bytes).is_ok() {
        return Ok(Material {
            key: None,
            certificates: vec![bytes.to_vec()],
        });
    }
    let given: Option<&str> = password.map(|p| p.expose_secret());
    let store = match p12_keystore::KeyStore::from_pkcs12(bytes, given.unwrap_or("")) {
        Ok(store) => store,
        Err(p12_keystore::error::Error::MacError(_)) => {
            return Err(match given {
                None => CredentialError::PasswordNeeded {
                    place: place.to_owned(),
                },
                Some(_) => CredentialError::WrongPassword {
                    place: place.to_owned(),
                },
            });
        }
        Err(p12_keystore::error::Error::DerError(_)) if given.is_none() => {
            return Err(CredentialError::NotACertificate {
                place: place.to_owned(),
            });
        }
        Err(e) => {
            return Err(match given {
                // An encrypted PFX without a MAC fails inside its encrypted bags.
                None => CredentialError::PasswordNeeded {
                    place: place.to_owned(),
                },
                Some(_) => CredentialError::Unreadable {
                    place: place.to_owned(),
                    reason: format!(
                        "it is not a PFX/.p12 consentry can read ({e}), or the password is wrong"
                    ),
                },
            });
        }
    };
    let mut material = Material {
        key: None,
        certificates: Vec::new(),
    };
    for (_, entry) in store.entries() {
        match entry {
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => {
                if material.key.is_none() {
                    material.key = Some(PrivateKey::Pkcs8(Zeroizing::new(chain.key().to_vec())));
                }
                material
                    .certificates
                    .extend(chain.chain().iter().map(|c| c.as_der().to_vec()));
            }
            p12_keystore::KeyStoreEntry::Certificate(c) => {
                material.certificates.push(c.as_der().to_vec());
            }
            p12_keystore::KeyStoreEntry::Secret(_) => {}
        }
    }
    Ok(material)
}

fn rsa_key(key: &PrivateKey, place: &str) -> Result<RsaKeyPair, CredentialError> {
    let rejected = |why: aws_lc_rs::error::KeyRejected| CredentialError::Unreadable {
        place: place.to_owned(),
        reason: format!(
            "its private key cannot be used ({why}); an RSA key of 2048 bits or more is needed"
        ),
    };
    match key {
        PrivateKey::Pkcs8(der) => {
            let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).map_err(|_| {
                CredentialError::Unreadable {
                    place: place.to_owned(),
                    reason: "its PRIVATE KEY block is not a PKCS#8 key".to_owned(),
                }
            })?;
            if info.algorithm.oid.to_string() != RSA_ENCRYPTION {
                return Err(CredentialError::NotRsa {
                    place: place.to_owned(),
                });
            }
            RsaKeyPair::from_pkcs8(der).map_err(rejected)
        }
        PrivateKey::Pkcs1(der) => RsaKeyPair::from_der(der).map_err(rejected),
    }
}

struct Parsed {
    public_key: Vec<u8>,
    not_before: i64,
    not_after: i64,
    subject: String,
}

fn parse_certificate(der: &[u8], place: &str) -> Result<Parsed, CredentialError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| CredentialError::Unreadable {
            place: place.to_owned(),
            reason: format!("a certificate in it cannot be parsed ({e})"),
        })?;
    Ok(Parsed {
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        subject: cert.subject().to_string(),
    })
}

/// SHA-1 of a certificate's DER: the `x5t` thumbprint (reference §6). Not a security use: it
/// names the certificate, as Entra and the portal do.
fn sha1_of(der: &[u8]) -> [u8; 20] {
    let mut out = [0; 20];
    out.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref(),
    );
    out
}

/// SHA-256 of a certificate's DER: the `x5t#S256` thumbprint (reference §6).
fn sha256_of(der: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref());
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// 2026-06-01, inside the test certificates' validity.
    pub(crate) const NOW: i64 = 1_780_272_000;

    /// A test RSA key (generated once per test binary: RSA keygen is slow) and a certificate for
    /// it valid 2020–2040.
    pub(crate) struct TestCert {
        pub(crate) key_pkcs8: Vec<u8>,
        pub(crate) cert_der: Vec<u8>,
    }

    fn make(not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> TestCert {
        static KEY: OnceLock<Vec<u8>> = OnceLock::new();
        let pkcs8 = KEY.get_or_init(|| {
            rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
                .unwrap()
                .serialize_der()
        });
        cert_for(pkcs8, not_before, not_after)
    }

    fn cert_for(pkcs8: &[u8], not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> TestCert {
        let key = rcgen::KeyPair::try_from(pkcs8).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["consentry-test".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let cert = params.self_signed(&key).unwrap();
        TestCert {
            key_pkcs8: pkcs8.to_vec(),
            cert_der: cert.der().to_vec(),
        }
    }

    pub(crate) fn test_cert() -> TestCert {
        make((2020, 1, 1), (2040, 1, 1))
    }

    pub(crate) fn pem(label: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    pub(crate) fn pem_bundle(cert: &TestCert) -> String {
        pem("PRIVATE KEY", &cert.key_pkcs8) + &pem("CERTIFICATE", &cert.cert_der)
    }

    pub(crate) fn pfx(cert: &TestCert, password: &str) -> Vec<u8> {
        let mut store = p12_keystore::KeyStore::new();
        let chain = p12_keystore::PrivateKeyChain::new(
            cert.key_pkcs8.clone(),
            [1u8; 20],
            [p12_keystore::Certificate::from_der(&cert.cert_der).unwrap()],
        );
        store.add_entry(
            "consentry",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        store.writer(password).write().unwrap()
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn load(
        bytes: &[u8],
        password: Option<&str>,
        signing: Signing,
    ) -> Result<Certificate, CredentialError> {
        Certificate::from_bytes(
            bytes,
            password.map(secret).as_ref(),
            signing,
            "file test.pem".to_owned(),
            NOW,
        )
    }

    /// The header and claims of a JWT, and whether its signature verifies with `cert_der`'s key.
    pub(crate) fn open(jwt: &str, cert_der: &[u8]) -> (serde_json::Value, serde_json::Value, bool) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der).unwrap();
        let public = cert.public_key().subject_public_key.data.to_vec();
        let algorithm: &dyn aws_lc_rs::signature::VerificationAlgorithm =
            match header["alg"].as_str().unwrap() {
                "PS256" => &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256,
                "RS256" => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                other => panic!("alg {other}"),
            };
        let signed = format!("{}.{}", parts[0], parts[1]);
        let ok = aws_lc_rs::signature::UnparsedPublicKey::new(algorithm, &public)
            .verify(signed.as_bytes(), &signature)
            .is_ok();
        (header, claims, ok)
    }

    #[test]
    fn x5t_of_the_reference_example() {
        assert_eq!(
            x5t_from_hex("84E05C1D98BCE3A5421D225B140B36E86A3D5534").as_deref(),
            Some("hOBcHZi846VCHSJbFAs26Go9VTQ")
        );
        assert_eq!(x5t_from_hex("8Z"), None);
    }

    #[test]
    fn ps256_assertion_has_the_documented_header_and_claims_and_verifies() {
        let cert = test_cert();
        let loaded = load(pem_bundle(&cert).as_bytes(), None, Signing::Ps256).unwrap();
        let aud = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
        let client = "11111111-2222-3333-4444-555555555555";
        let jwt = loaded.assertion(client, aud, NOW).unwrap();
        let (header, claims, verified) = open(jwt.expose_secret(), &cert.cert_der);
        assert!(
            verified,
            "PS256 signature must verify with the certificate's key"
        );
        let x5t_s256 = URL_SAFE_NO_PAD.encode(sha256_of(&cert.cert_der));
        assert_eq!(x5t_s256.len(), 43);
        assert_eq!(
            header,
            serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": x5t_s256})
        );
        assert_eq!(claims["aud"], aud);
        assert_eq!(claims["iss"], client);
        assert_eq!(claims["sub"], client);
        assert_eq!(claims["nbf"], NOW);
        assert_eq!(claims["iat"], NOW);
        assert_eq!(claims["exp"], NOW + 600);
        let jti = claims["jti"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(jti).is_ok(), "{jti}");
        // A tampered payload does not verify: the check above can fail.
        let mut parts: Vec<String> = jwt.expose_secret().split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string().replace(client, "x"));
        assert!(!open(&parts.join("."), &cert.cert_der).2);
    }

    #[test]
    fn rs256_assertion_uses_x5t_sha1_and_verifies() {
        let cert = test_cert();
        let loaded = load(pem_bundle(&cert).as_bytes(), None, Signing::Rs256).unwrap();
        let jwt = loaded
            .assertion("c", "https://h/t/oauth2/v2.0/token", NOW)
            .unwrap();
        let (header, _, verified) = open(jwt.expose_secret(), &cert.cert_der);
        assert!(verified);
        let x5t = URL_SAFE_NO_PAD.encode(sha1_of(&cert.cert_der));
        assert_eq!(x5t.len(), 27);
        assert_eq!(
            header,
            serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": x5t})
        );
        assert_eq!(
            loaded.thumbprint_sha1(),
            hex_upper(&sha1_of(&cert.cert_der))
        );
        assert_eq!(x5t_from_hex(&loaded.thumbprint_sha1()).unwrap(), x5t);
    }

    #[test]
    fn every_assertion_gets_a_fresh_jti() {
        let cert = test_cert();
        let loaded = load(pem_bundle(&cert).as_bytes(), None, Signing::Ps256).unwrap();
        let jti = |_| {
            let jwt = loaded.assertion("c", "https://h/t", NOW).unwrap();
            open(jwt.expose_secret(), &cert.cert_der).1["jti"].clone()
        };
        let seen: std::collections::HashSet<String> = (0..20)
            .map(jti)
            .map(|j| j.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(seen.len(), 20);
    }

    #[test]
    fn pkcs1_keys_chain_order_and_openssl_bag_attributes_are_read() {
        let cert = test_cert();
        let info = pkcs8::PrivateKeyInfo::try_from(cert.key_pkcs8.as_slice()).unwrap();
        let other = cert_for(
            &rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .unwrap()
                .serialize_der(),
            (2020, 1, 1),
            (2040, 1, 1),
        );
        // An issuer certificate first, the leaf after it, text around the blocks.
        let text = format!(
            "Bag Attributes\n    friendlyName: x\n{}{}{}",
            pem("CERTIFICATE", &other.cert_der),
            pem("RSA PRIVATE KEY", info.private_key),
            pem("CERTIFICATE", &cert.cert_der).replace('\n', "\r\n"),
        );
        let loaded = load(text.as_bytes(), None, Signing::Ps256).unwrap();
        assert_eq!(loaded.der(), cert.cert_der.as_slice());
    }

    #[test]
    fn encrypted_pkcs8_needs_its_password() {
        let cert = test_cert();
        let encrypted = pkcs8::PrivateKeyInfo::try_from(cert.key_pkcs8.as_slice())
            .unwrap()
            .encrypt(rand::rngs::OsRng, "correct horse")
            .unwrap();
        let text = pem("ENCRYPTED PRIVATE KEY", encrypted.as_bytes())
            + &pem("CERTIFICATE", &cert.cert_der);
        assert!(load(text.as_bytes(), Some("correct horse"), Signing::Ps256).is_ok());
        let err = load(text.as_bytes(), None, Signing::Ps256).err().unwrap();
        assert!(
            matches!(err, CredentialError::PasswordNeeded { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("password: {env: NAME}"), "{err}");
        let err = load(text.as_bytes(), Some("wrong"), Signing::Ps256)
            .err()
            .unwrap();
        assert!(
            matches!(err, CredentialError::WrongPassword { .. }),
            "{err}"
        );
        assert!(!err.to_string().contains("wrong"), "{err}");
    }

    #[test]
    fn pfx_with_and_without_a_password() {
        let cert = test_cert();
        let protected = pfx(&cert, "pfx-pass");
        let loaded = load(&protected, Some("pfx-pass"), Signing::Ps256).unwrap();
        assert_eq!(loaded.der(), cert.cert_der.as_slice());
        let err = load(&protected, None, Signing::Ps256).err().unwrap();
        assert!(
            matches!(err, CredentialError::PasswordNeeded { .. }),
            "{err}"
        );
        let err = load(&protected, Some("nope"), Signing::Ps256)
            .err()
            .unwrap();
        assert!(
            matches!(err, CredentialError::WrongPassword { .. }),
            "{err}"
        );
        assert!(load(&pfx(&cert, ""), None, Signing::Ps256).is_ok());
    }

    #[test]
    fn a_certificate_without_its_key_is_explained() {
        let cert = test_cert();
        for bytes in [
            pem("CERTIFICATE", &cert.cert_der).into_bytes(),
            cert.cert_der.clone(),
        ] {
            let err = load(&bytes, None, Signing::Ps256).err().unwrap();
            assert!(matches!(err, CredentialError::NoPrivateKey { .. }), "{err}");
            assert!(err.to_string().contains(".cer/.crt"), "{err}");
            assert!(err.is_setup());
        }
        let err = load(
            pem("PRIVATE KEY", &cert.key_pkcs8).as_bytes(),
            None,
            Signing::Ps256,
        )
        .err()
        .unwrap();
        assert!(
            matches!(err, CredentialError::NoCertificate { .. }),
            "{err}"
        );
        let err = load(b"hello", None, Signing::Ps256).err().unwrap();
        assert!(
            matches!(err, CredentialError::NotACertificate { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_key_with_someone_elses_certificate_is_refused() {
        let cert = test_cert();
        let other_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
            .unwrap()
            .serialize_der();
        let other = cert_for(&other_key, (2020, 1, 1), (2040, 1, 1));
        let text = pem("PRIVATE KEY", &cert.key_pkcs8) + &pem("CERTIFICATE", &other.cert_der);
        let err = load(text.as_bytes(), None, Signing::Ps256).err().unwrap();
        assert!(
            matches!(
                err,
                CredentialError::KeyMismatch {
                    certificates: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn an_ec_key_is_not_rsa() {
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_der();
        let cert = cert_for(&ec, (2020, 1, 1), (2040, 1, 1));
        let err = load(pem_bundle(&cert).as_bytes(), None, Signing::Ps256)
            .err()
            .unwrap();
        assert!(matches!(err, CredentialError::NotRsa { .. }), "{err}");
    }

    #[test]
    fn validity_is_checked_before_anything_is_sent() {
        let expired = make((2020, 1, 1), (2025, 1, 1));
        let err = load(pem_bundle(&expired).as_bytes(), None, Signing::Ps256)
            .err()
            .unwrap();
        assert!(
            matches!(err, CredentialError::CertificateExpired { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("2025-01-01"), "{err}");
        assert!(err.is_setup());
        let future = make((2030, 1, 1), (2040, 1, 1));
        let err = load(pem_bundle(&future).as_bytes(), None, Signing::Ps256)
            .err()
            .unwrap();
        assert!(
            matches!(err, CredentialError::CertificateNotYetValid { .. }),
            "{err}"
        );

        let soon = make((2020, 1, 1), (2026, 6, 21));
        let loaded = load(pem_bundle(&soon).as_bytes(), None, Signing::Ps256).unwrap();
        let warning = loaded.expiry_warning(NOW).unwrap();
        assert!(warning.contains("expires in 20 days"), "{warning}");
        assert!(warning.contains(&loaded.thumbprint_sha1()), "{warning}");
        assert_eq!(test_cert_loaded().expiry_warning(NOW), None);
        // Mid-run expiry stops signing.
        let err = loaded
            .assertion("c", "https://h/t", NOW + 30 * 86_400)
            .err()
            .unwrap();
        assert!(
            matches!(err, CredentialError::CertificateExpiredDuringRun { .. }),
            "{err}"
        );
        assert!(!err.is_setup());
    }

    fn test_cert_loaded() -> Certificate {
        load(pem_bundle(&test_cert()).as_bytes(), None, Signing::Ps256).unwrap()
    }

    #[test]
    fn legacy_encrypted_pem_gets_the_conversion_command() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = load(text.as_bytes(), None, Signing::Ps256).err().unwrap();
        assert!(
            matches!(err, CredentialError::LegacyEncryptedKey { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
    }
}
