//! Signing keys and JWS creation/verification (T11, T17, T19, T20, V5).
//!
//! Every signature is made and checked by a library: `openidconnect`'s RSA signing key, `p256`
//! (ES256) and `ed25519-dalek` (EdDSA); verification goes through `openidconnect`'s
//! `CoreJsonWebKey`. Only the JOSE framing (base64url of header and payload) is done here, so
//! the header can carry `typ: JWT` and the payload ZITADEL's claim set and order.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKey as _, JsonWebKeyId, PrivateSigningKey as _};
use rand::RngCore as _;
use rsa::pkcs1::{EncodeRsaPrivateKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest as _, Sha256, Sha512};

use crate::profile::SigningAlg;

enum Signer {
    Rsa(Box<CoreRsaPrivateSigningKey>),
    Es256(Box<p256::ecdsa::SigningKey>),
    EdDsa(Box<ed25519_dalek::SigningKey>),
}

/// One key pair of the instance.
pub(crate) struct Key {
    pub kid: String,
    pub alg: SigningAlg,
    signer: Signer,
    jwk: serde_json::Value,
    verifier: CoreJsonWebKey,
}

/// A numeric-string key id like ZITADEL's (T11: `"318114136414260984"`).
fn numeric_id() -> String {
    let n = 300_000_000_000_000_000u64 + rand::rngs::OsRng.next_u64() % 99_999_999_999_999_999;
    n.to_string()
}

impl Key {
    /// Generates a key (RSA is slow: run it on a blocking thread).
    pub fn generate(alg: SigningAlg) -> Result<Key, String> {
        let kid = numeric_id();
        let (signer, jwk) = match alg {
            SigningAlg::Rs256 => {
                let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                    .map_err(|e| e.to_string())?;
                let public = private.to_public_key();
                let jwk = serde_json::json!({
                    "use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256",
                    "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                    "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
                });
                let pem = private
                    .to_pkcs1_pem(LineEnding::LF)
                    .map_err(|e| e.to_string())?;
                let key =
                    CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.clone())))?;
                (Signer::Rsa(Box::new(key)), jwk)
            }
            SigningAlg::Es256 => {
                let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
                let point = key.verifying_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err("P-256 point without coordinates".into());
                };
                let jwk = serde_json::json!({
                    "use": "sig", "kty": "EC", "kid": kid, "crv": "P-256", "alg": "ES256",
                    "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                });
                (Signer::Es256(Box::new(key)), jwk)
            }
            SigningAlg::EdDsa => {
                let mut seed = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut seed);
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                let jwk = serde_json::json!({
                    "use": "sig", "kty": "OKP", "kid": kid, "crv": "Ed25519", "alg": "EdDSA",
                    "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
                });
                (Signer::EdDsa(Box::new(key)), jwk)
            }
        };
        let verifier: CoreJsonWebKey =
            serde_json::from_value(jwk.clone()).map_err(|e| e.to_string())?;
        Ok(Key {
            kid,
            alg,
            signer,
            jwk,
            verifier,
        })
    }

    fn core_alg(&self) -> CoreJwsSigningAlgorithm {
        match self.alg {
            SigningAlg::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            SigningAlg::Es256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            SigningAlg::EdDsa => CoreJwsSigningAlgorithm::EdDsa,
        }
    }

    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        match &self.signer {
            Signer::Rsa(k) => k.sign(&self.core_alg(), msg).map_err(|e| e.to_string()),
            Signer::Es256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(msg);
                Ok(sig.to_bytes().to_vec())
            }
            Signer::EdDsa(k) => {
                use ed25519_dalek::Signer as _;
                Ok(k.sign(msg).to_bytes().to_vec())
            }
        }
    }

    /// A compact JWS of `payload_json` with header `{"alg","kid","typ":"JWT"}` (T11).
    pub fn sign_jwt(&self, payload_json: &str) -> Result<String, String> {
        let header = serde_json::json!({"alg": self.alg.name(), "kid": self.kid, "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload_json)
        );
        let sig = self.sign_bytes(input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// `at_hash` (T17): left half of SHA-256 (RS256/ES256) or SHA-512 (EdDSA), base64url.
    pub fn at_hash(&self, access_token: &str) -> String {
        let digest: Vec<u8> = match self.alg {
            SigningAlg::EdDsa => Sha512::digest(access_token.as_bytes()).to_vec(),
            _ => Sha256::digest(access_token.as_bytes()).to_vec(),
        };
        URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
    }
}

/// The instance's keys: in the JWKS order (active first, then the next key, then older keys
/// kept for verification).
pub(crate) struct KeySet {
    pub keys: Vec<Key>,
    pub active: String,
}

impl KeySet {
    pub fn active(&self) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == self.active)
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
    }

    /// Verifies a compact JWS made with one of the keys still in the set; returns its payload.
    /// Expiry is not checked (V5: expired `id_token_hint`s are accepted).
    pub fn verify(&self, jws: &str) -> Option<serde_json::Value> {
        let mut parts = jws.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        let kid = header.get("kid")?.as_str()?;
        let key = self.keys.iter().find(|k| k.kid == kid)?;
        if header.get("alg")?.as_str()? != key.alg.name() {
            return None;
        }
        let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
        key.verifier
            .verify_signature(&key.core_alg(), format!("{h}.{p}").as_bytes(), &sig)
            .ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
    }
}

/// Go's `encoding/json` escaping (T18, U4): `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`. Safe
/// on any JSON text: these characters only occur inside strings.
pub(crate) fn go_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}
