//! The sandbox's signing key: RS256 JWTs like Entra's v1 access tokens, and the JWKS that matches.
//!
//! One RSA-2048 key is generated per sandbox start; nothing is written to disk.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs8::EncodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

use super::SandboxError;

/// The DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2, note 1). sha2 is built without its `oid`
/// feature, so the PKCS#1 v1.5 padding is given the prefix by hand instead of by type.
pub(crate) const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The key that signs sandbox tokens, with its identifiers.
pub(crate) struct SigningKey {
    key: RsaPrivateKey,
    /// `kid` and `x5t` header value. Entra's is the SHA-1 thumbprint of its certificate; the sandbox
    /// has no certificate, so it hashes the public key's DER (SubjectPublicKeyInfo) instead.
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

/// One JSON Web Key, as Entra's discovery/keys endpoints list it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Jwk {
    kty: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
    kid: String,
    x5t: String,
    n: String,
    e: String,
}

impl SigningKey {
    /// Generates a fresh RSA-2048 key (CPU-bound: call it off the async runtime).
    pub(crate) fn generate() -> Result<SigningKey, SandboxError> {
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .map_err(|e| SandboxError::Key(e.to_string()))?;
        let der = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| SandboxError::Key(e.to_string()))?;
        let kid = URL_SAFE_NO_PAD.encode(Sha1::digest(der.as_bytes()));
        Ok(SigningKey { key, kid })
    }

    /// The key id (`kid` = `x5t`).
    #[cfg(test)]
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK.
    pub(crate) fn jwk(&self) -> Jwk {
        Jwk {
            kty: "RSA",
            use_: "sig",
            kid: self.kid.clone(),
            x5t: self.kid.clone(),
            n: URL_SAFE_NO_PAD.encode(self.key.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(self.key.e().to_bytes_be()),
        }
    }

    /// The header and payload segments, joined by a dot: what the signature covers.
    fn signing_input(&self, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": "RS256",
            "x5t": self.kid,
            "kid": self.kid,
        });
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    /// A JWT shaped like [`SigningKey::sign_jwt`]'s whose signature is 256 random bytes: cheap,
    /// and never verifies (see `Signature::Placeholder`).
    pub(crate) fn placeholder_jwt(&self, claims: &serde_json::Value) -> String {
        let mut signature = [0u8; 256];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut signature);
        format!(
            "{}.{}",
            self.signing_input(claims),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// A compact RS256 JWT with a v1 header (`typ`, `alg`, `x5t`, `kid`) over `claims`.
    pub(crate) fn sign_jwt(&self, claims: &serde_json::Value) -> Result<String, SandboxError> {
        let signing_input = self.signing_input(claims);
        let signature = self
            .key
            .sign(
                Pkcs1v15Sign::new_unprefixed(),
                &digest_info(signing_input.as_bytes()),
            )
            .map_err(|e| SandboxError::Key(e.to_string()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// The DER DigestInfo of SHA-256(`message`): what PKCS#1 v1.5 pads and signs.
pub(crate) fn digest_info(message: &[u8]) -> Vec<u8> {
    let mut out = SHA256_DIGEST_INFO.to_vec();
    out.extend_from_slice(&Sha256::digest(message));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::{BigUint, RsaPublicKey};

    #[test]
    fn jwt_verifies_against_its_jwk_and_kid_is_a_sha1_thumbprint() {
        let key = SigningKey::generate().unwrap();
        assert_eq!(key.kid().len(), 27, "base64url of 20 bytes");
        let jwt = key.sign_jwt(&serde_json::json!({"a": 1})).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], key.kid());

        let jwk = key.jwk();
        let public = RsaPublicKey::new(
            BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(&jwk.n).unwrap()),
            BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(&jwk.e).unwrap()),
        )
        .unwrap();
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(
                Pkcs1v15Sign::new_unprefixed(),
                &digest_info(signed.as_bytes()),
                &signature,
            )
            .unwrap();
        let tampered = format!("{}.{}x", parts[0], parts[1]);
        assert!(
            public
                .verify(
                    Pkcs1v15Sign::new_unprefixed(),
                    &digest_info(tampered.as_bytes()),
                    &signature
                )
                .is_err()
        );
        assert!(!format!("{key:?}").contains(&jwk.n));
    }
}
