//! The sandbox's signing key: RS256 JWTs like Entra's v1 access tokens, and the JWKS that matches.
//!
//! Entra signs tokens with an RSA key whose public half it publishes as an X.509 certificate: each
//! entry of its JWKS (`{authority}/common/discovery/keys`, `…/discovery/v2.0/keys`) carries `kty`,
//! `use`, `kid`, `x5t`, `n`, `e`, `x5c` (the certificate chain, standard base64 of the DER, not
//! url-safe, RFC 7517 §4.7) and, in the v2 documents, `issuer`. `x5t` is the base64url SHA-1
//! thumbprint of the certificate's DER (RFC 7517 §4.8) and Entra uses the same value as `kid`; a
//! token's header names its key by both (reference §3; Microsoft identity platform docs, "Signing
//! key rollover" and "Access tokens"). So the sandbox generates one RSA-2048 key and a self-signed
//! certificate for it at every start (nothing is written to disk), derives `kid` = `x5t` from that
//! certificate, and publishes it. Crypto is aws-lc-rs (via rcgen for the certificate), the library
//! rustls already uses.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;

use super::SandboxError;

/// The signing certificate's subject: says plainly whose certificate it is.
const SIGNING_SUBJECT: &str = "consentry sandbox token signing";

/// The key that signs sandbox tokens, with its certificate and identifiers.
pub(crate) struct SigningKey {
    key: RsaKeyPair,
    rng: SystemRandom,
    /// The self-signed certificate's DER, standard base64 (`x5c`).
    certificate: String,
    /// `kid` and `x5t`: base64url SHA-1 of the certificate's DER, as Entra's.
    kid: String,
}

// The private key must never reach a log: Debug shows the key id only.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// One JSON Web Key, fields in the order Entra's keys endpoints list them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Jwk {
    kty: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
    kid: String,
    x5t: String,
    n: String,
    e: String,
    x5c: Vec<String>,
    /// Only in the v2 keys document: the issuer (with `{tenantid}`) the key signs for.
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
}

/// The base64url SHA-1 of `der`: a certificate's `x5t`.
pub(crate) fn sha1_thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        der,
    ))
}

impl SigningKey {
    /// Generates a fresh RSA-2048 key and its self-signed certificate (CPU-bound: call it off the
    /// async runtime).
    pub(crate) fn generate() -> Result<SigningKey, SandboxError> {
        let key_error = |e: &dyn std::fmt::Display| SandboxError::Key(e.to_string());
        let pair =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(|e| key_error(&e))?;
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, SIGNING_SUBJECT);
        set_validity(&mut params);
        let certificate = params.self_signed(&pair).map_err(|e| key_error(&e))?;
        let der = certificate.der();
        let key = RsaKeyPair::from_pkcs8(pair.serialized_der()).map_err(|e| key_error(&e))?;
        Ok(SigningKey {
            key,
            rng: SystemRandom::new(),
            certificate: STANDARD.encode(der),
            kid: sha1_thumbprint(der),
        })
    }

    /// The key id (`kid` = `x5t`).
    #[cfg(test)]
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK; `issuer` for the v2 keys document.
    pub(crate) fn jwk(&self, issuer: Option<String>) -> Jwk {
        let public = self.key.public_key();
        Jwk {
            kty: "RSA",
            use_: "sig",
            kid: self.kid.clone(),
            x5t: self.kid.clone(),
            n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            x5c: vec![self.certificate.clone()],
            issuer,
        }
    }

    /// The header and payload segments, joined by a dot: what the signature covers.
    fn signing_input(&self, claims: &impl Serialize) -> Result<String, SandboxError> {
        // Entra's v1 header order.
        #[derive(Serialize)]
        struct Header<'a> {
            typ: &'a str,
            alg: &'a str,
            x5t: &'a str,
            kid: &'a str,
        }
        let header = serde_json::to_vec(&Header {
            typ: "JWT",
            alg: "RS256",
            x5t: &self.kid,
            kid: &self.kid,
        })
        .map_err(|e| SandboxError::Key(e.to_string()))?;
        let claims = serde_json::to_vec(claims).map_err(|e| SandboxError::Key(e.to_string()))?;
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        ))
    }

    /// A JWT shaped like [`SigningKey::sign_jwt`]'s whose signature is 256 random bytes: cheap,
    /// and never verifies (see `Signature::Placeholder`).
    pub(crate) fn placeholder_jwt(&self, claims: &impl Serialize) -> Result<String, SandboxError> {
        let mut signature = [0u8; 256];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut signature);
        Ok(format!(
            "{}.{}",
            self.signing_input(claims)?,
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// A compact RS256 JWT with a v1 header (`typ`, `alg`, `x5t`, `kid`) over `claims`.
    pub(crate) fn sign_jwt(&self, claims: &impl Serialize) -> Result<String, SandboxError> {
        let signing_input = self.signing_input(claims)?;
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| SandboxError::Key(e.to_string()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// From yesterday (clocks differ) to a year on: longer than any sandbox runs.
pub(crate) fn set_validity(params: &mut rcgen::CertificateParams) {
    use chrono::Datelike as _;
    let day = |d: chrono::DateTime<chrono::Utc>| {
        let month = u8::try_from(d.month()).unwrap_or(1);
        let day = u8::try_from(d.day()).unwrap_or(1);
        rcgen::date_time_ymd(d.year(), month, day)
    };
    let now = chrono::Utc::now();
    params.not_before = day(now - chrono::Duration::days(1));
    params.not_after = day(now + chrono::Duration::days(365));
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

    #[test]
    fn jwt_verifies_against_its_jwk_and_kid_is_the_certificate_thumbprint() {
        let key = SigningKey::generate().unwrap();
        assert_eq!(key.kid().len(), 27, "base64url of 20 bytes");
        let jwt = key.sign_jwt(&serde_json::json!({"a": 1})).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            format!(
                r#"{{"typ":"JWT","alg":"RS256","x5t":"{0}","kid":"{0}"}}"#,
                key.kid()
            )
        );

        let jwk = key.jwk(None);
        let der = STANDARD.decode(&jwk.x5c[0]).unwrap();
        assert_eq!(sha1_thumbprint(&der), key.kid());
        let public = RsaPublicKeyComponents {
            n: URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(),
            e: URL_SAFE_NO_PAD.decode(&jwk.e).unwrap(),
        };
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
            .unwrap();
        let tampered = format!("{}.{}x", parts[0], parts[1]);
        assert!(
            public
                .verify(&RSA_PKCS1_2048_8192_SHA256, tampered.as_bytes(), &signature)
                .is_err()
        );
        assert!(!format!("{key:?}").contains(&jwk.n));
        let v1 = serde_json::to_value(key.jwk(None)).unwrap();
        assert!(v1.get("issuer").is_none());
        let v2 = serde_json::to_value(key.jwk(Some("iss".to_owned()))).unwrap();
        assert_eq!(v2["issuer"], "iss");
    }

    #[test]
    fn thumbprints_match_the_reference_example() {
        // Reference §6: SHA-1 hex 84E05C1D… is x5t hOBcHZi846VCHSJbFAs26Go9VTQ; check the encoding
        // (not the hash) by encoding those bytes directly.
        let bytes: Vec<u8> = (0..20)
            .map(|i| {
                u8::from_str_radix(
                    &"84E05C1D98BCE3A5421D225B140B36E86A3D5534"[i * 2..i * 2 + 2],
                    16,
                )
                .unwrap()
            })
            .collect();
        assert_eq!(URL_SAFE_NO_PAD.encode(bytes), "hOBcHZi846VCHSJbFAs26Go9VTQ");
        // And the hash itself, against a known SHA-1 ("abc", FIPS 180-1 appendix A).
        assert_eq!(
            sha1_thumbprint(b"abc"),
            URL_SAFE_NO_PAD.encode([
                0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
                0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d,
            ])
        );
    }
}
